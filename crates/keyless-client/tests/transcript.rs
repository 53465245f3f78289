//! The core with no network: the committed smbclient↔smbd captures (testdata/captures/samba,
//! signed and encrypted) play the server's side to the sans-IO core, with a fixed clock and
//! seeded randomness. The core negotiates, authenticates (its AUTHENTICATE is checked against
//! the password as smbd would), derives its keys through the preauth hash, verifies every
//! signature or opens every TRANSFORM of the played answers, and hands each request the answer
//! smbd gave smbclient. Twice with one seed, the bytes it sends are the same.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_client::fuzzing::{PlainFrame, late_frame_after_loss, open_recording, play};
use keyless_smb::header::Header;
use keyless_smb::{Command, NtStatus};
use std::path::Path;

const PASSWORD: &str = "alice-Passw0rd";

fn recording(name: &str) -> Vec<PlainFrame> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/captures/samba").join(name);
    let frames = keyless_testbed::pcap::smb_frames(&path, 445).unwrap();
    let frames: Vec<(bool, Vec<u8>)> = frames.into_iter().map(|f| (f.to_server, f.payload.into_owned())).collect();
    open_recording(&frames, PASSWORD).unwrap()
}

/// What smbd answered smbclient after the handshake, request by request.
fn recorded_answers(recording: &[PlainFrame]) -> Vec<(Command, NtStatus)> {
    let mut out = Vec::new();
    let mut handshake = true;
    for f in recording.iter().filter(|f| !f.to_server) {
        for m in &f.messages {
            let h = Header::parse(m).unwrap();
            handshake &= matches!(h.command(), Command::NEGOTIATE | Command::SESSION_SETUP);
            let interim = h.status() == NtStatus::PENDING && h.is_async();
            if !handshake && !interim {
                out.push((h.command(), h.status()));
            }
        }
    }
    out
}

fn plays_the_whole_session(name: &str) {
    let rec = recording(name);
    let want = recorded_answers(&rec);
    assert!(want.len() > 30, "{name}: {} answers", want.len());
    let first = play(rec.clone(), PASSWORD, "alice", PASSWORD, 42).unwrap_or_else(|e| panic!("{name}: {e}"));
    assert!(first.failures.is_empty(), "{name}: {:?}", first.failures);
    assert_eq!(first.answers, want, "{name}: every request got smbd's answer");
    for command in [Command::CREATE, Command::WRITE, Command::READ, Command::QUERY_DIRECTORY, Command::CLOSE] {
        assert!(first.answers.iter().any(|(c, _)| *c == command), "{name}: no {command}");
    }
    let again = play(rec.clone(), PASSWORD, "alice", PASSWORD, 42).unwrap();
    assert_eq!(first.sent, again.sent, "{name}: one seed, one clock: the same bytes");
    let other = play(rec, PASSWORD, "alice", PASSWORD, 43).unwrap();
    assert_ne!(first.sent, other.sent, "{name}: randomness reaches the wire (salt, challenge, keys)");
    assert_eq!(other.answers, want);
}

#[test]
fn signed_smbclient_session_drives_the_core() {
    plays_the_whole_session("smbclient-smbd-signed.pcap");
}

#[test]
fn encrypted_smbclient_session_drives_the_core() {
    plays_the_whole_session("smbclient-smbd-encrypted.pcap");
}

/// A frame of a connection already reported lost (its reader had read it) belongs to no
/// session: the core drops it, and the request waiting for the next connection still waits.
#[test]
fn a_late_frame_of_a_lost_connection_is_dropped() {
    for name in ["smbclient-smbd-signed.pcap", "smbclient-smbd-encrypted.pcap"] {
        let said = late_frame_after_loss(recording(name), 6).unwrap();
        assert!(said.is_empty(), "{name}: {said:?}");
    }
}

/// A wrong password: the core's AUTHENTICATE does not verify, as smbd would find.
#[test]
fn a_wrong_password_does_not_verify() {
    let rec = recording("smbclient-smbd-signed.pcap");
    let e = play(rec, PASSWORD, "alice", "not-the-password", 1).unwrap_err();
    assert_eq!(e, "the NTLM response of \"alice\" does not verify: not that user's password");
}

/// The fuzz target's committed seeds (fuzz/corpus/smb_client_core) run under `cargo test`
/// too. With `KEYLESS_WRITE_SEEDS=1` they are written first: for states along the session,
/// the recorded server frames that follow.
#[test]
fn fuzz_seeds_replay() {
    let rec = recording("smbclient-smbd-signed.pcap");
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/smb_client_core");
    if std::env::var_os("KEYLESS_WRITE_SEEDS").is_some() {
        std::fs::create_dir_all(&dir).unwrap();
        let answers: Vec<&Vec<u8>> = rec.iter().filter(|f| !f.to_server).flat_map(|f| &f.messages).collect();
        for state in [0u8, 1, 3, 5, 9, 20] {
            let mut seed = vec![state];
            for m in answers.iter().skip(usize::from(state)).take(4) {
                seed.extend_from_slice(&(m.len() as u16).to_le_bytes());
                seed.extend_from_slice(m);
            }
            std::fs::write(dir.join(format!("state-{state}")), seed).unwrap();
        }
    }
    let seeds = std::fs::read_dir(&dir).unwrap().count();
    assert!(seeds >= 6, "{seeds} seeds in {}", dir.display());
    for seed in std::fs::read_dir(&dir).unwrap() {
        keyless_client::fuzzing::hostile_server(&rec, &std::fs::read(seed.unwrap().path()).unwrap());
    }
}
