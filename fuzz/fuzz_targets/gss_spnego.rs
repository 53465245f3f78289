//! GSS-API framing and SPNEGO tokens on arbitrary bytes (see keyless_gss::fuzzing::spnego).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_gss::fuzzing::spnego(data));
