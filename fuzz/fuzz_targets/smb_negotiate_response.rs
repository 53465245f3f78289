//! NEGOTIATE request and response decode (with every negotiate context) on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_smb::fuzzing::negotiate_response(data));
