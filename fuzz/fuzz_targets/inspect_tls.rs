//! keyless inspect's TLS record reader (`--tls-keylog`): handshakes, TLS 1.2 and 1.3 record
//! decryption with a key log keyed to the input's own ClientHello, HTTP and KKDCP bodies;
//! never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_inspect::fuzzing::tls(data));
