//! NTLMSSP CHALLENGE/AUTHENTICATE messages and AV pairs on arbitrary bytes (see keyless_gss::fuzzing::ntlmssp).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_gss::fuzzing::ntlmssp(data));
