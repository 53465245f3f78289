//! keyless-gss parser on arbitrary bytes: must never panic (see keyless_gss::fuzzing::cifs_upcall).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_gss::fuzzing::cifs_upcall(data));
