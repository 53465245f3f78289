//! SMB2 SESSION_SETUP request/response on arbitrary bytes (see keyless_smb::fuzzing::session_setup).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_smb::fuzzing::session_setup(data));
