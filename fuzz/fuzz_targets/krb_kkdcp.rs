//! MS-KKDCP KDC-PROXY-MESSAGE codec, client and proxy side (see keyless_krb::fuzzing::kkdcp).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_krb::fuzzing::kkdcp(data));
