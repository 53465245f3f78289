//! Kerberos decrypt and checksum verification on arbitrary key, usage and ciphertext.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_crypto::fuzzing::krb_decrypt(data));
