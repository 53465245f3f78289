//! Connections that drop in the middle of transfers, against Debian's smbd: the testbed's
//! proxy cuts the TCP connection. keyless opened the file durable (DH2Q under a lease), so it
//! connects again, reclaims the open (DH2C), sends again what was in flight (with the replay
//! flag), and the file ends up whole: no byte lost, none written twice elsewhere. The caller
//! sees a delay, not an error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock

use keyless_client::{Auth, Blocking, Client};
use keyless_testbed::{CuttingProxy, ScratchDir, SmbMode, Smbd};
use sha2::{Digest, Sha256};
use std::time::{Duration, Instant, SystemTime};

const LEN: usize = 40 << 20;

fn data() -> Vec<u8> {
    (0..LEN).map(|i| (i as u64).wrapping_mul(2_654_435_761).to_le_bytes()[3]).collect()
}

/// The connections a cut transfer took: the first, its reconnection, and under a loaded
/// machine perhaps one more (smbd may still hold the old session when the first reconnection
/// asks for it, and the client tries again); never a storm.
fn reconnected(accepted: usize) {
    assert!((2..=3).contains(&accepted), "{accepted} connections for one cut");
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

async fn connect(smbd: &Smbd, port: u16) -> Client {
    let auth = Auth::Ntlm { user: smbd.user.clone(), domain: String::new(), password: smbd.password.clone().into() };
    Client::builder("127.0.0.1").port(port).auth(auth).connect().await.unwrap()
}

#[test]
fn put_and_get_survive_a_dropped_connection() {
    let scratch = ScratchDir::new("client-reconnect");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Encrypt, None) else { return };
    let data = data();
    rt().block_on(async {
        // Cut halfway through the upload.
        let proxy = CuttingProxy::cutting_first_after(smbd.port, LEN / 2);
        let client = connect(&smbd, proxy.port).await;
        let share = client.tree(&smbd.share).await.unwrap();
        let sent = share.put("whole.bin", &mut Blocking(std::io::Cursor::new(&data))).await;
        assert_eq!(sent.unwrap_or_else(|e| panic!("{e}\n{}", smbd.log())), LEN as u64);
        reconnected(proxy.accepted());
        let stored = std::fs::read(smbd.share_path.join("whole.bin")).unwrap();
        assert_eq!(stored.len(), LEN);
        assert!(Sha256::digest(&stored) == Sha256::digest(&data), "what smbd stored is what was sent");
        // The uploading program ends. (While its connection lives, smbd 4.17 may still hold a
        // lease of a reclaim it refused, one nobody can break: another client's open of the
        // file would wait ~30 s for it.)
        client.session().logoff().await;

        // Cut halfway through the download (the READ answers carry the bytes).
        let proxy = CuttingProxy::cutting_first_after(smbd.port, LEN / 2);
        let client = connect(&smbd, proxy.port).await;
        let share = client.tree(&smbd.share).await.unwrap();
        let mut back = Vec::new();
        assert_eq!(share.get("whole.bin", &mut back).await.unwrap(), LEN as u64);
        reconnected(proxy.accepted());
        assert!(back == data, "what came back is what was stored");
        // The connection goes on serving after the transfer.
        assert_eq!(share.stat("whole.bin").await.unwrap().size, LEN as u64);
    });
}

/// A stream cannot be read again, and need not be: what was in flight is kept until the
/// server acknowledged it, and sent again on the next connection.
#[test]
fn a_stream_upload_survives_a_cut() {
    let scratch = ScratchDir::new("client-reconnect-stream");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };
    let data = data();
    rt().block_on(async {
        let proxy = CuttingProxy::cutting_first_after(smbd.port, LEN / 4);
        let client = connect(&smbd, proxy.port).await;
        let share = client.tree(&smbd.share).await.unwrap();
        assert_eq!(share.put("stream.bin", &mut &data[..]).await.unwrap(), LEN as u64);
        reconnected(proxy.accepted());
        let stored = std::fs::read(smbd.share_path.join("stream.bin")).unwrap();
        assert!(Sha256::digest(&stored) == Sha256::digest(&data), "what smbd stored is what was sent");
    });
}

/// What an embedding program does with an open file: `AsyncWrite`, `AsyncSeek` and `AsyncRead`
/// on one `File` while the connection is cut under it. The open is reclaimed, the position
/// kept, and the file reads back as written, on both sides.
#[test]
fn an_open_file_keeps_working_across_a_cut() {
    use std::io::SeekFrom;
    use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};
    let scratch = ScratchDir::new("client-reconnect-file");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Encrypt, None) else { return };
    let data = data();
    rt().block_on(async {
        let proxy = CuttingProxy::cutting_first_after(smbd.port, LEN / 2);
        let client = connect(&smbd, proxy.port).await;
        let share = client.tree(&smbd.share).await.unwrap();
        let mut file = share.open("open.bin", true, keyless_client::OpenHow::New).await.unwrap();
        for piece in data.chunks(3 << 20) {
            file.write_all(piece).await.unwrap_or_else(|e| panic!("{e}\n{}", smbd.log()));
        }
        reconnected(proxy.accepted());

        assert_eq!(file.seek(SeekFrom::End(-4096)).await.unwrap(), (LEN - 4096) as u64);
        let mut tail = vec![0u8; 4096];
        file.read_exact(&mut tail).await.unwrap();
        assert!(tail == data[LEN - 4096..], "the last 4 KiB, found from the end the server reports");
        assert_eq!(file.read(&mut [0u8; 16]).await.unwrap(), 0, "end of file");

        file.rewind().await.unwrap();
        let mut back = Vec::new();
        assert_eq!(file.read_to_end(&mut back).await.unwrap(), LEN);
        assert!(back == data, "what the open file reads is what it was given");
        file.close().await.unwrap();
        let stored = std::fs::read(smbd.share_path.join("open.bin")).unwrap();
        assert!(Sha256::digest(&stored) == Sha256::digest(&data), "what smbd stored is what was written");
    });
}

/// smbd refuses to hand back a durable open whose file changed while it was disconnected (and
/// 4.17 leaves behind the entry it rewrote for the reclaim, with the open's lease). The open is
/// opened again by name under its own lease, at once rather than after a break nobody answers,
/// and goes on: what was written before and after the cut is all there.
#[test]
fn a_refused_reclaim_is_reopened_at_once() {
    use tokio::io::AsyncWriteExt;
    let scratch = ScratchDir::new("client-reclaim-refused");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Encrypt, None) else { return };
    rt().block_on(async {
        let proxy = CuttingProxy::start(smbd.port);
        let before = smbd.forks();
        let client = connect(&smbd, proxy.port).await;
        let share = client.tree(&smbd.share).await.unwrap();
        let mut file = share.open("refused.bin", true, keyless_client::OpenHow::New).await.unwrap();
        file.write_all(&[1; 4096]).await.unwrap();

        // The network goes, and stays away until smbd has ended the connection's process,
        // saving the open's state; then the file changes.
        let serving: Vec<u32> = smbd.forks().into_iter().filter(|p| !before.contains(p)).collect();
        assert!(!serving.is_empty(), "smbd forked no process for the connection");
        proxy.hold();
        proxy.cut();
        let gone = Instant::now();
        while serving.iter().any(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists()) {
            assert!(gone.elapsed().as_secs() < 20, "smbd's process for the cut connection did not end");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let path = smbd.share_path.join("refused.bin");
        let later = SystemTime::now() + Duration::from_secs(60);
        std::fs::File::options().write(true).open(&path).unwrap().set_modified(later).unwrap();
        proxy.release();

        let resumed = Instant::now();
        file.write_all(&[2; 4096]).await.unwrap_or_else(|e| panic!("{e}\n{}", smbd.log()));
        file.close().await.unwrap();
        assert!(smbd.log().contains("denying durable reconnect"), "smbd refused the reclaim:\n{}", smbd.log());
        let waited = resumed.elapsed();
        assert!(waited.as_secs() < 5, "the reopen waited {waited:?}");
        let stored = std::fs::read(&path).unwrap();
        assert!(stored[..4096] == [1; 4096] && stored[4096..] == [2; 4096], "both writes are in the file");
    });
}
