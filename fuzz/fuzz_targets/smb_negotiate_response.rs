//! SMB2 NEGOTIATE response and its negotiate contexts on arbitrary bytes (see keyless_smb::fuzzing).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_smb::fuzzing::negotiate_response(data));
