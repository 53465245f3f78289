//! The PAC of Active Directory and Samba tickets (MS-PAC): buffers, NDR logon information,
//! client and UPN buffers, checksums; errors, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_krb::fuzzing::pac(data));
