//! keyless-krb parser on arbitrary bytes: must never panic (see keyless_krb::fuzzing::keyring_payload).
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_krb::fuzzing::keyring_payload(data));
