//! SMB2 TRANSFORM_HEADER and COMPRESSION_TRANSFORM_HEADER decode and re-encode on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_smb::fuzzing::transform(data));
