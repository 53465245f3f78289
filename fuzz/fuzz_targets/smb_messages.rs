//! Every SMB2 message decoder (CREATE, IOCTL, QUERY_DIRECTORY, ...) and the payloads inside, on arbitrary bytes.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_smb::fuzzing::messages(data));
