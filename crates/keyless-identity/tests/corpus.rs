//! The committed fuzz corpus of the service answers, replayed through the fuzz entry point
//! (no input may panic), and its seeds read as what they are.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::path::Path;

#[test]
fn corpus_replays_without_panics() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/identity_answers");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        let data = std::fs::read(entry.unwrap().path()).unwrap();
        keyless_identity::fuzzing::service_answers(&data);
        n += 1;
    }
    assert!(n >= 6, "the seeds are there ({n})");
    let imds = std::fs::read(dir.join("imds-ok.json")).unwrap();
    assert_eq!(
        keyless_identity::AccessToken::from_reply(&imds, 0, "seed").unwrap().audience.as_deref(),
        Some("https://storage.azure.com")
    );
}
