//! Capture files (pcap, pcapng) through the link, IP, TCP/UDP layers, stream reassembly,
//! message framing and keyless inspect's SMB2 and Kerberos decoders and renderers: a format
//! error, notes or MALFORMED records, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_inspect::fuzzing::capture(data));
