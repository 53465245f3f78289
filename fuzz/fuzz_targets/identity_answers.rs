//! The answers of Azure's token, kerbticket and ARM endpoints (JSON, base64, the KRB-CRED
//! inside, error bodies in JSON and XML): errors, never panics.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_identity::fuzzing::service_answers(data));
