//! Capture files (pcap, pcapng) through the link, IP, TCP/UDP layers, stream reassembly and
//! message framing: a format error or notes, never a panic.
#![no_main]

libfuzzer_sys::fuzz_target!(|data: &[u8]| keyless_capture::fuzz(data));
