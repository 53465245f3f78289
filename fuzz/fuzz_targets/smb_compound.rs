//! SMB2 compound chain walk: every message of a chain through every decoder on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_smb::fuzzing::compound(data));
