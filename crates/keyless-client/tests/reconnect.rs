//! A connection that drops in the middle of a transfer, against Debian's smbd: a proxy cuts the
//! first TCP connection after some megabytes. keyless opened the file durable (DH2Q under a
//! lease), so it connects again, reclaims the open (DH2C), sends again or asks again for what
//! was in flight, and the file ends up whole: no byte lost, none written twice elsewhere.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_client::{Auth, Connection, Options};
use keyless_testbed::{ScratchDir, SmbMode, Smbd};
use sha2::{Digest, Sha256};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const LEN: usize = 40 << 20;

/// A proxy to `server` that cuts its first connection (both directions at once) when
/// `cut_after` bytes have crossed it either way; later connections pass untouched. Returns
/// its port and the count of connections it accepted.
async fn cutting_proxy(server: u16, cut_after: usize) -> (u16, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let count = accepted.clone();
    tokio::spawn(async move {
        loop {
            let Ok((client, _)) = listener.accept().await else { return };
            let first = count.fetch_add(1, Ordering::SeqCst) == 0;
            let upstream = TcpStream::connect(("127.0.0.1", server)).await.unwrap();
            let limit = if first { cut_after } else { usize::MAX };
            tokio::spawn(relay(client, upstream, limit));
        }
    });
    (port, accepted)
}

/// Moves bytes both ways until either side closes or `limit` bytes have passed; then both
/// sockets are dropped.
async fn relay(client: TcpStream, server: TcpStream, limit: usize) {
    let (mut cr, mut cw) = client.into_split();
    let (mut sr, mut sw) = server.into_split();
    let (mut a, mut b) = (vec![0u8; 65_536], vec![0u8; 65_536]);
    let mut passed = 0usize;
    while passed < limit {
        let n = tokio::select! {
            r = cr.read(&mut a) => match r { Ok(0) | Err(_) => break, Ok(n) => { if sw.write_all(&a[..n]).await.is_err() { break } n } },
            r = sr.read(&mut b) => match r { Ok(0) | Err(_) => break, Ok(n) => { if cw.write_all(&b[..n]).await.is_err() { break } n } },
        };
        passed += n;
    }
}

fn data() -> Vec<u8> {
    (0..LEN).map(|i| (i as u64).wrapping_mul(2_654_435_761).to_le_bytes()[3]).collect()
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

async fn connect(smbd: &Smbd, port: u16) -> Connection {
    let auth = Auth::Ntlm { user: smbd.user.clone(), domain: String::new(), password: smbd.password.clone().into() };
    Connection::connect(("127.0.0.1", port), Options::new("127.0.0.1"), &auth).await.unwrap()
}

#[test]
fn put_and_get_survive_a_dropped_connection() {
    let scratch = ScratchDir::new("client-reconnect");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Encrypt, None) else { return };
    let data = data();
    rt().block_on(async {
        // Cut halfway through the upload.
        let (port, accepted) = cutting_proxy(smbd.port, LEN / 2).await;
        let mut conn = connect(&smbd, port).await;
        let mut share = conn.tree_connect(&smbd.share).await.unwrap();
        let sent = share.put_seekable("whole.bin", &mut std::io::Cursor::new(&data)).await;
        assert_eq!(sent.unwrap_or_else(|e| panic!("{e}\n{}", smbd.log())), LEN as u64);
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "one reconnection");
        let stored = std::fs::read(smbd.share_path.join("whole.bin")).unwrap();
        assert_eq!(stored.len(), LEN);
        assert!(Sha256::digest(&stored) == Sha256::digest(&data), "what smbd stored is what was sent");

        // Cut halfway through the download (the READ answers carry the bytes).
        let (port, accepted) = cutting_proxy(smbd.port, LEN / 2).await;
        let mut conn = connect(&smbd, port).await;
        let mut share = conn.tree_connect(&smbd.share).await.unwrap();
        let mut back = Vec::new();
        assert_eq!(share.get("whole.bin", &mut back).await.unwrap(), LEN as u64);
        assert_eq!(accepted.load(Ordering::SeqCst), 2, "one reconnection");
        assert!(back == data, "what came back is what was stored");
        // The connection goes on serving after the transfer.
        assert_eq!(share.stat("whole.bin").await.unwrap().size, LEN as u64);
    });
}

/// A stream cannot be sent again: the cut ends the upload with one clear line, no hang.
#[test]
fn a_stream_upload_cut_short_fails_clearly() {
    let scratch = ScratchDir::new("client-reconnect-stream");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };
    let data = data();
    rt().block_on(async {
        let (port, accepted) = cutting_proxy(smbd.port, LEN / 4).await;
        let mut conn = connect(&smbd, port).await;
        let mut share = conn.tree_connect(&smbd.share).await.unwrap();
        let e = share.put("stream.bin", &mut &data[..]).await.unwrap_err();
        assert!(e.to_string().contains("SMB server"), "{e}");
        assert_eq!(accepted.load(Ordering::SeqCst), 1);
    });
}
