//! SMB2 header and Direct TCP framing on arbitrary bytes (see keyless_smb::fuzzing::header).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_smb::fuzzing::header(data));
