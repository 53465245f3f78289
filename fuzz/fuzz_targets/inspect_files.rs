//! keyless inspect's file rebuilder (`--export-files`) on SMB2 messages as a capture would
//! hand them over: pieces land inside the files they name, names stay below the directory,
//! never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_inspect::fuzzing::files(data));
