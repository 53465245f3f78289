//! Connections that drop in the middle of transfers, against Debian's smbd: the testbed's
//! proxy cuts the TCP connection. keyless opened the file durable (DH2Q under a lease), so it
//! connects again, reclaims the open (DH2C), sends again what was in flight (with the replay
//! flag), and the file ends up whole: no byte lost, none written twice elsewhere. The caller
//! sees a delay, not an error.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_client::{Auth, Blocking, Client};
use keyless_testbed::{CuttingProxy, ScratchDir, SmbMode, Smbd};
use sha2::{Digest, Sha256};

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
