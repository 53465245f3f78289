//! One client shared by many tasks, futures dropped part-way, and a peer that goes silent,
//! against Debian's smbd: what an embedding program (an axum handler, a backup agent) does.
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_client::{Auth, Client, ClientBuilder, File, Session, Tree};
use keyless_smb::Command;
use keyless_smb::header::Header;
use keyless_testbed::{CuttingProxy, Dumpcap, ScratchDir, SmbMode, Smbd};
use std::time::{Duration, Instant};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

fn builder(smbd: &Smbd, port: u16) -> ClientBuilder {
    let auth = Auth::Ntlm { user: smbd.user.clone(), domain: String::new(), password: smbd.password.clone().into() };
    Client::builder("127.0.0.1").port(port).auth(auth)
}

/// Bytes that differ from file to file and offset to offset.
fn pattern(seed: usize, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i.wrapping_mul(31) ^ seed.wrapping_mul(977) ^ (i >> 12)) as u8).collect()
}

/// Compile-time: the handles are `Clone + Send + Sync` and the public futures are `Send`, so a
/// program can share a client between tasks and call it from any `Send` context.
#[allow(dead_code, reason = "checked by the compiler, never run")]
fn handles_and_futures_are_send(client: Client, session: Session, tree: Tree, mut file: File) {
    fn handle<T: Clone + Send + Sync + 'static>(_: &T) {}
    fn future<T: Send>(_: T) {}
    handle(&client);
    handle(&session);
    handle(&tree);
    handle(&file);
    future(Client::builder("host").connect());
    future(client.tree("share"));
    future(session.echo());
    future(session.logoff());
    future(tree.stat("path"));
    future(tree.list("path"));
    future(tree.get("path", &mut tokio::io::sink()));
    future(tree.put("path", &mut tokio::io::empty()));
    future(tree.open("path", true, keyless_client::OpenHow::Always));
    future(tree.mkdir("path"));
    future(tree.watch("path", Duration::from_secs(1)));
    future(file.read_at(0, 1, &mut Vec::new()));
    future(file.write_at(0, b"x"));
    future(file.metadata());
    future(tokio::io::AsyncReadExt::read(&mut file, &mut [0u8; 4]));
    future(tree.list_stream("path").next());
}

/// 32 tasks share one client, each copying its own file up and down at once: one TCP
/// connection and one SESSION_SETUP exchange carry all of it (read from a capture of the
/// session), and every file comes back as it went.
#[test]
fn thirty_two_tasks_share_one_connection() {
    let scratch = ScratchDir::new("client-sharing");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Encrypt, None) else { return };
    let Some(capture) = Dumpcap::start(&scratch, "sharing", &format!("tcp port {}", smbd.port)) else { return };
    rt().block_on(async {
        let client = builder(&smbd, smbd.port).connect().await.unwrap();
        let tree = client.tree(&smbd.share).await.unwrap();
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let tree = tree.clone();
                tokio::spawn(async move {
                    let data = pattern(i, 1_000_000 + i * 4099);
                    let name = format!("task-{i}.bin");
                    assert_eq!(tree.put(&name, &mut &data[..]).await.unwrap(), data.len() as u64);
                    let mut back = Vec::new();
                    tree.get(&name, &mut back).await.unwrap();
                    assert!(back == data, "task {i} read back other bytes");
                    (name, data)
                })
            })
            .collect();
        for t in tasks {
            let (name, data) = t.await.unwrap();
            assert!(std::fs::read(smbd.share_path.join(&name)).unwrap() == data, "smbd stored {name}");
        }
        client.session().logoff().await;
    });
    let file = capture.stop();
    let c = keyless_testbed::pcap::read_capture(&file, smbd.port).unwrap();
    assert_eq!(c.connections.len(), 1, "one TCP connection: {:?}", c.connections);
    let setups = c
        .messages
        .iter()
        .filter(|m| m.to_server)
        .filter(|m| Header::parse(&m.payload).is_ok_and(|h| h.command() == Command::SESSION_SETUP))
        .count();
    assert_eq!(setups, 2, "one NTLM SESSION_SETUP exchange (two legs), then everything encrypted");
}

/// Futures dropped at any point (a timeout, a `select!`) leave the connection in step: each
/// abandoned request is cancelled or its answer discarded, and the same client then copies a
/// file byte for byte.
#[test]
fn dropped_futures_leave_the_connection_usable() {
    let scratch = ScratchDir::new("client-cancel");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };
    let data = pattern(7, 24 << 20);
    std::fs::write(smbd.share_path.join("source.bin"), &data).unwrap();
    rt().block_on(async {
        let client = builder(&smbd, smbd.port).connect().await.unwrap();
        let tree = client.tree(&smbd.share).await.unwrap();
        let mut dropped = 0;
        for ms in [1u64, 3, 7, 15, 30, 60] {
            let cut = Duration::from_millis(ms);
            let mut sink = tokio::io::sink();
            dropped += u32::from(tokio::time::timeout(cut, tree.get("source.bin", &mut sink)).await.is_err());
            let mut source = &data[..];
            let put = tree.put("upload.bin", &mut source);
            dropped += u32::from(tokio::time::timeout(cut, put).await.is_err());
            dropped += u32::from(tokio::time::timeout(cut, tree.list("")).await.is_err());
            dropped += u32::from(tokio::time::timeout(cut, tree.stat("source.bin")).await.is_err());
            let watch = tree.watch("", Duration::from_secs(5));
            dropped += u32::from(tokio::time::timeout(cut, watch).await.is_err());
        }
        assert!(dropped >= 10, "only {dropped} operations were cut short");
        // The same connection serves whole operations afterwards.
        let mut back = Vec::new();
        assert_eq!(tree.get("source.bin", &mut back).await.unwrap(), data.len() as u64);
        assert!(back == data, "what came back after the cancellations is the file");
        assert_eq!(tree.put("after.bin", &mut &data[..]).await.unwrap(), data.len() as u64);
        assert!(std::fs::read(smbd.share_path.join("after.bin")).unwrap() == data);
        let names: Vec<String> = tree.list("").await.unwrap().into_iter().map(|m| m.name).collect();
        assert!(names.contains(&"after.bin".to_string()), "{names:?}");
        client.session().echo().await.unwrap();
    });
}

/// A peer that stops answering is noticed by the keepalive ECHO within keepalive + timeout, and
/// the session goes on on a new connection: the caller sees a delay, not an error.
#[test]
fn a_silent_peer_is_noticed_and_replaced() {
    let scratch = ScratchDir::new("client-keepalive");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };
    let proxy = CuttingProxy::start(smbd.port);
    rt().block_on(async {
        let client = builder(&smbd, proxy.port)
            .keepalive(Some(Duration::from_secs(1)))
            .timeout(Duration::from_secs(2))
            .connect()
            .await
            .unwrap();
        let tree = client.tree(&smbd.share).await.unwrap();
        tree.put("k.txt", &mut &b"kept"[..]).await.unwrap();
        // The connection dies silently (nothing is written to or read from it).
        proxy.freeze();
        let started = Instant::now();
        while proxy.accepted() < 2 {
            assert!(started.elapsed() < Duration::from_secs(10), "the dead peer was not noticed");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        let noticed = started.elapsed();
        assert!(noticed <= Duration::from_secs(5), "noticed after {noticed:?} (keepalive 1 s + timeout 2 s)");
        let mut back = Vec::new();
        tree.get("k.txt", &mut back).await.unwrap();
        assert_eq!(back, b"kept");
    });
}
