//! The other SMB2 message decoders (TREE_CONNECT, CLOSE, FLUSH, ...) on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_smb::fuzzing::messages(data));
