//! The `capture`, `inspect_files` and `inspect_tls` fuzz targets' seeds replay without a panic, and the
//! committed Samba captures decode without a MALFORMED record.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::path::Path;

#[test]
fn fuzz_seeds_replay() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/capture");
    for seed in std::fs::read_dir(&dir).unwrap() {
        keyless_inspect::fuzzing::capture(&std::fs::read(seed.unwrap().path()).unwrap());
    }
}

#[test]
fn file_rebuilder_seeds_replay() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/inspect_files");
    for seed in std::fs::read_dir(&dir).unwrap() {
        keyless_inspect::fuzzing::files(&std::fs::read(seed.unwrap().path()).unwrap());
    }
}

#[test]
fn tls_reader_seeds_replay() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/inspect_tls");
    for seed in std::fs::read_dir(&dir).unwrap() {
        keyless_inspect::fuzzing::tls(&std::fs::read(seed.unwrap().path()).unwrap());
    }
}

#[test]
fn committed_captures_decode() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/captures/samba");
    for file in keyless_testbed::pcap::capture_files(&dir) {
        let c = keyless_capture::parse(&std::fs::read(&file).unwrap(), &keyless_capture::Ports::default()).unwrap();
        let records = keyless_inspect::inspect(&c, &keyless_inspect::Secrets::default());
        assert!(records.len() > 20 && records.iter().all(|r| r.broken.is_none()), "{}", file.display());
    }
}
