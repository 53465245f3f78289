//! The client against Debian's Samba `smbd` on loopback: NTLMv2 and Kerberos sessions, signing
//! (3.1.1 AES-GMAC), an encryption-required share, every dialect forced in turn, files of
//! 0 B, 1 B and 1 MiB + 1 with Unicode names round-tripped and compared with what smbd stored,
//! and the errors a user meets.
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_client::{Auth, Blocking, Client, ClientBuilder, Error, ErrorKind};
use keyless_smb::{Dialect, NtStatus};
use keyless_testbed::{MitKdc, ScratchDir, SmbMode, Smbd};

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(f)
}

fn ntlm(smbd: &Smbd, password: &str) -> Auth {
    Auth::Ntlm { user: smbd.user.clone(), domain: String::new(), password: password.to_string().into() }
}

fn builder(smbd: &Smbd) -> ClientBuilder {
    Client::builder("127.0.0.1").port(smbd.port)
}

/// Connects to `smbd` as alice, NTLMv2 with her password.
async fn open(smbd: &Smbd, builder: ClientBuilder) -> Result<Client, Error> {
    builder.auth(ntlm(smbd, &smbd.password)).connect().await
}

/// Bytes that are not all the same (so an offset error shows).
fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 7 + i / 251) as u8).collect()
}

async fn round_trips(client: &Client, smbd: &Smbd) {
    let share = client.tree(&smbd.share).await.unwrap();
    share.mkdir("docs").await.unwrap();
    for (name, len) in [("empty.bin", 0), ("one.bin", 1), ("résumé €.bin", (1 << 20) + 1)] {
        let data = pattern(len);
        let path = format!("docs/{name}");
        assert_eq!(share.put(&path, &mut &data[..]).await.unwrap(), len as u64);
        assert_eq!(std::fs::read(smbd.share_path.join("docs").join(name)).unwrap(), data, "smbd stored {name}");
        let mut back = Vec::new();
        assert_eq!(share.get(&path, &mut back).await.unwrap(), len as u64);
        assert!(back == data, "{name} came back different");
        let meta = share.stat(&path).await.unwrap();
        assert_eq!((meta.size, meta.is_dir), (len as u64, false));
    }
    let mut names: Vec<String> = share.list("docs").await.unwrap().into_iter().map(|m| m.name).collect();
    names.sort();
    assert_eq!(names, ["empty.bin", "one.bin", "résumé €.bin"]);
    share.set_size("docs/one.bin", 5000).await.unwrap();
    assert_eq!(std::fs::metadata(smbd.share_path.join("docs/one.bin")).unwrap().len(), 5000);
    let filetime = 133_000_000_000_000_000u64; // 2022-06-18
    share.set_times("docs/one.bin", None, Some(filetime)).await.unwrap();
    let mtime = std::fs::metadata(smbd.share_path.join("docs/one.bin")).unwrap().modified().unwrap();
    let unix = mtime.duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
    assert_eq!(unix, filetime / 10_000_000 - 11_644_473_600, "the new modification time is on disk");
    share.flush("docs/one.bin").await.unwrap();
    share.rename("docs/one.bin", "docs/two.bin").await.unwrap();
    let gone = share.stat("docs/one.bin").await.unwrap_err();
    assert_eq!(gone.status(), Some(NtStatus::OBJECT_NAME_NOT_FOUND), "{gone}");
    assert_eq!(gone.kind(), ErrorKind::NotFound, "{gone}");
    for name in ["empty.bin", "two.bin", "résumé €.bin"] {
        share.remove(&format!("docs/{name}")).await.unwrap();
    }
    share.rmdir("docs").await.unwrap();
    assert!(share.list("").await.unwrap().is_empty());
    share.disconnect().await.unwrap();
}

#[test]
fn ntlm_signed_session_round_trips_files() {
    let scratch = ScratchDir::new("client-ntlm");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };
    block_on(async {
        let client = open(&smbd, builder(&smbd)).await.unwrap_or_else(|e| panic!("{e}\n{}", smbd.log()));
        let info = client.session().info();
        assert_eq!(info.negotiated.dialect, Dialect::SMB_311);
        assert_eq!(info.negotiated.signing, keyless_crypto::SigningAlgorithm::AesGmac);
        assert!(!info.encrypted);
        round_trips(&client, &smbd).await;
        client.session().echo().await.unwrap();
        client.session().logoff().await;
        let e = client.session().echo().await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Closed, "{e}");
    });
}

#[test]
fn encryption_required_share() {
    let scratch = ScratchDir::new("client-encrypt");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Encrypt, None) else { return };
    block_on(async {
        let client = open(&smbd, builder(&smbd)).await.unwrap_or_else(|e| panic!("{e}\n{}", smbd.log()));
        assert!(client.session().info().negotiated.cipher.is_some());
        assert!(client.session().encrypted(), "smbd requires encryption for the session");
        round_trips(&client, &smbd).await;
    });
}

#[test]
fn every_dialect_in_turn() {
    let scratch = ScratchDir::new("client-dialects");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };
    for dialect in [Dialect::SMB_202, Dialect::SMB_21, Dialect::SMB_30, Dialect::SMB_302, Dialect::SMB_311] {
        block_on(async {
            let client =
                open(&smbd, builder(&smbd).dialects(&[dialect])).await.unwrap_or_else(|e| panic!("{dialect}: {e}"));
            assert_eq!(client.session().info().negotiated.dialect, dialect);
            client.tree(&smbd.share).await.unwrap().disconnect().await.unwrap();
            let smb3 = !matches!(dialect, Dialect::SMB_202 | Dialect::SMB_21);
            assert_eq!(
                client.session().info().validated,
                smb3,
                "{dialect}: FSCTL for 3.0/3.0.2, preauth for 3.1.1, none for 2.x"
            );
            let share = client.tree(&smbd.share).await.unwrap();
            let data = pattern(200_000);
            share.put("d.bin", &mut &data[..]).await.unwrap();
            let mut back = Vec::new();
            share.get("d.bin", &mut back).await.unwrap();
            assert!(back == data, "{dialect}");
            share.remove("d.bin").await.unwrap();
        });
    }
}

/// `require_signing(false)`, as smbclient and cifs.ko by default: against an smbd that does not
/// require signing, files round-trip while only what MS-SMB2 3.2.4.1.1 wants signed is (the
/// TREE_CONNECT, and 3.0.x's VALIDATE_NEGOTIATE) and the rest goes unsigned both ways (answers
/// to signed requests come signed, and are verified); an smbd that requires signing still gets
/// every request signed.
#[test]
fn signing_only_where_required() {
    use keyless_smb::Command;
    use keyless_smb::header::{Header, flags};
    let scratch = ScratchDir::new("client-signing");
    let Some(plain) = Smbd::start(&scratch, SmbMode::Plain, None) else { return };
    let scratch2 = ScratchDir::new("client-signing-mandatory");
    let mandatory = Smbd::start(&scratch2, SmbMode::Signing, None).unwrap();
    let runs = [
        (&plain, Dialect::SMB_311),
        (&plain, Dialect::SMB_302),
        (&plain, Dialect::SMB_30),
        (&mandatory, Dialect::SMB_311),
    ];
    for (smbd, dialect) in runs {
        let required = std::ptr::eq(smbd, &mandatory);
        let (info, frames) = block_on(async {
            let b = builder(smbd).require_signing(false).dialects(&[dialect]).record(true);
            let client = open(smbd, b).await.unwrap_or_else(|e| panic!("{dialect}: {e}"));
            round_trips(&client, smbd).await;
            (client.session().info(), client.session().transcript())
        });
        assert_eq!(info.negotiated.dialect, dialect);
        assert_eq!(info.signed, required, "{dialect}: signed throughout only where smbd requires it");
        assert!(info.validated, "{dialect}: the negotiation is still protected");
        // (sent, command) of every signed and every unsigned message after SESSION_SETUP.
        let (mut signed, mut unsigned) = (Vec::new(), Vec::new());
        for (sent, payload) in &frames {
            for m in keyless_smb::compound::messages(payload) {
                let h = Header::parse(m.unwrap()).unwrap();
                if matches!(h.command(), Command::NEGOTIATE | Command::SESSION_SETUP) {
                    continue;
                }
                let to = if h.flags() & flags::SIGNED != 0 { &mut signed } else { &mut unsigned };
                to.push((*sent, h.command()));
            }
        }
        if required {
            assert!(unsigned.iter().all(|(sent, _)| !sent), "{dialect}: every request signed: {unsigned:?}");
            continue;
        }
        let mut must: Vec<Command> = vec![Command::TREE_CONNECT];
        if dialect != Dialect::SMB_311 {
            must.push(Command::IOCTL); // VALIDATE_NEGOTIATE
        }
        for sent in [true, false] {
            let mut got: Vec<Command> = Vec::new();
            for (_, c) in signed.iter().filter(|s| s.0 == sent) {
                if !got.contains(c) {
                    got.push(*c);
                }
            }
            assert_eq!(got, must, "{dialect}: signed {}", if sent { "requests" } else { "answers" });
            for c in [Command::CREATE, Command::WRITE, Command::READ, Command::CLOSE] {
                assert!(unsigned.contains(&(sent, c)), "{dialect}: {c:?} unsigned: {unsigned:?}");
            }
        }
    }
}

#[test]
fn mistakes_give_one_clear_line() {
    let scratch = ScratchDir::new("client-errors");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };
    block_on(async {
        let e = builder(&smbd).auth(ntlm(&smbd, "wrong")).connect().await.unwrap_err();
        assert_eq!(e.status(), Some(NtStatus::LOGON_FAILURE));
        assert_eq!(e.kind(), ErrorKind::AuthenticationFailed);
        assert_eq!(e.to_string(), "SESSION_SETUP failed with STATUS_LOGON_FAILURE");
        let client = open(&smbd, builder(&smbd)).await.unwrap();
        let e = client.tree("nosuchshare").await.unwrap_err();
        assert_eq!(e.to_string(), "TREE_CONNECT failed with STATUS_BAD_NETWORK_NAME");
        assert_eq!(e.kind(), ErrorKind::NotFound);
        let e = open(&smbd, builder(&smbd).dialects(&[Dialect::SMB_21]).require_encryption(true)).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::Incompatible, "{e}");
        let closed = keyless_testbed::free_port();
        let e =
            Client::builder("127.0.0.1").port(closed).auth(ntlm(&smbd, &smbd.password)).connect().await.unwrap_err();
        assert!(e.to_string().starts_with("connecting to the SMB server: "), "{e}");
        assert_eq!(e.kind(), ErrorKind::Network);
        // The chain of causes is kept: the OS error under the client's.
        assert!(std::error::Error::source(&e).is_some());
    });
}

#[test]
fn kerberos_session_with_mit_kdc() {
    let Some(kdc) = MitKdc::start() else { return };
    let Some(smbd) = Smbd::start(&kdc.dir, SmbMode::Encrypt, Some(&kdc)) else { return };
    let mut dir = keyless_net::transport::KdcDirectory::new();
    dir.add("EXAMPLE.TEST", keyless_net::transport::KdcAddr::parse(&kdc.kdc_addr()).unwrap());
    let creds = keyless_net::Credentials::Password {
        client: keyless_krb::Principal::parse(&kdc.user, None).unwrap(),
        password: zeroize::Zeroizing::new(kdc.password.clone()),
    };
    let spn = keyless_krb::Principal::parse(&kdc.service, None).unwrap();
    block_on(async {
        let ticket = creds.service_ticket(&spn, &dir).await.unwrap();
        let client = builder(&smbd)
            .auth(Auth::Kerberos(ticket))
            .connect()
            .await
            .unwrap_or_else(|e| panic!("{e}\n{}", smbd.log()));
        assert!(client.session().encrypted());
        let share = client.tree(&smbd.share).await.unwrap();
        let data = pattern(70_000);
        share.put("k.bin", &mut &data[..]).await.unwrap();
        let mut back = Vec::new();
        share.get("k.bin", &mut back).await.unwrap();
        assert!(back == data);
    });
}

/// tshark reads a whole signed session of ours (negotiate to logoff, files of every size) and
/// finds nothing malformed; the commands come in the order we sent them.
#[test]
fn tshark_reads_a_whole_session() {
    let scratch = ScratchDir::new("client-tshark");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };
    let frames = block_on(async {
        // Frames text2pcap can hold.
        let client = open(&smbd, builder(&smbd).record(true).max_io(65_536)).await.unwrap();
        round_trips(&client, &smbd).await;
        client.session().transcript()
    });
    assert!(frames.len() > 40, "{}", frames.len());
    // stat went out as one compound: CREATE, QUERY_INFO, CLOSE in one frame.
    let chains: Vec<usize> = frames
        .iter()
        .filter(|(sent, _)| *sent)
        .map(|(_, p)| keyless_smb::compound::messages(p).count())
        .filter(|&n| n > 1)
        .collect();
    assert!(chains.contains(&3), "a 3-request compound was sent: {chains:?}");
    let framed: Vec<Vec<u8>> = frames
        .iter()
        .map(|(_, p)| {
            let mut f = Vec::new();
            keyless_smb::framing::write_frame_header(p.len(), &mut f).unwrap();
            f.extend_from_slice(p);
            f
        })
        .collect();
    let Some(d) = keyless_testbed::tshark::dissect(&scratch, &framed, &["smb2.cmd", "smb2.flags.response"]) else {
        return;
    };
    // Samba's own SPNEGO hint carries a negHints field tshark's BER reader dislikes; that frame is
    // the server's, not ours, so count only what we sent.
    let ours_bad: Vec<&str> = d
        .verbose
        .split("\n\nFrame ")
        .filter(|f| f.contains("Malformed") && !f.contains("Negotiate Protocol Response"))
        .collect();
    assert!(ours_bad.is_empty(), "malformed frames: {ours_bad:?}");
    assert!(d.malformed <= 1, "{}", d.malformed);
    let cmds: Vec<&str> = d.fields.iter().map(|l| l.split('\t').next().unwrap()).collect();
    assert_eq!(&cmds[..4], ["0", "0", "1", "1"], "NEGOTIATE then SESSION_SETUP: {cmds:?}");
    assert!(
        cmds.contains(&"9") && cmds.contains(&"8") && cmds.contains(&"14"),
        "WRITE, READ, QUERY_DIRECTORY: {cmds:?}"
    );
}

/// A pseudo-random stream of `len` bytes, hashed as it is read.
struct Source {
    left: u64,
    state: u64,
    hash: sha2::Sha256,
}

impl std::io::Read for Source {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        use sha2::Digest;
        let n = buf.len().min(self.left as usize);
        for b in &mut buf[..n] {
            self.state = self.state.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
            *b = (self.state >> 56) as u8;
        }
        self.hash.update(&buf[..n]);
        self.left -= n as u64;
        Ok(n)
    }
}

/// A sink that only hashes.
struct Sink(sha2::Sha256, u64);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        sha2::Digest::update(&mut self.0, buf);
        self.1 += buf.len() as u64;
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// 256 MiB each way on an encrypted share, streamed (bounded memory) and compared by SHA-256 with
/// what smbd stored.
#[test]
fn large_file_streams_both_ways() {
    use sha2::Digest;
    let scratch = ScratchDir::new("client-large");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Encrypt, None) else { return };
    let len = 256u64 << 20;
    block_on(async {
        let client = open(&smbd, builder(&smbd)).await.unwrap();
        let share = client.tree(&smbd.share).await.unwrap();
        let source = Source { left: len, state: 42, hash: sha2::Sha256::new() };
        let mut source = Blocking(source);
        assert_eq!(share.put("big.bin", &mut source).await.unwrap(), len);
        let source = source.0;
        let sent = source.hash.finalize();
        let mut sink = Blocking(Sink(sha2::Sha256::new(), 0));
        assert_eq!(share.get("big.bin", &mut sink).await.unwrap(), len);
        let sink = sink.0;
        assert_eq!(sink.1, len);
        assert_eq!(sink.0.finalize(), sent, "what came back is what went");
        let mut stored = Sink(sha2::Sha256::new(), 0);
        std::io::copy(&mut std::fs::File::open(smbd.share_path.join("big.bin")).unwrap(), &mut stored).unwrap();
        assert_eq!(stored.0.finalize(), sent, "what smbd stored is what went");
        share.remove("big.bin").await.unwrap();
    });
}

/// Each cipher forced in turn by the server's configuration: the client follows it, encrypts,
/// and the data survives.
#[test]
fn every_cipher_in_turn() {
    use keyless_crypto::Cipher;
    for (name, cipher) in [
        ("AES-128-CCM", Cipher::Aes128Ccm),
        ("AES-128-GCM", Cipher::Aes128Gcm),
        ("AES-256-CCM", Cipher::Aes256Ccm),
        ("AES-256-GCM", Cipher::Aes256Gcm),
    ] {
        let scratch = ScratchDir::new("client-cipher");
        let Some(smbd) = Smbd::start(&scratch, SmbMode::EncryptWith(name), None) else { return };
        block_on(async {
            let client = open(&smbd, builder(&smbd)).await.unwrap_or_else(|e| panic!("{name}: {e}\n{}", smbd.log()));
            assert_eq!(client.session().info().negotiated.cipher, Some(cipher), "{name}");
            assert!(client.session().encrypted());
            let share = client.tree(&smbd.share).await.unwrap();
            let data = pattern(3 << 20);
            share.put("c.bin", &mut &data[..]).await.unwrap();
            assert!(std::fs::read(smbd.share_path.join("c.bin")).unwrap() == data, "{name}");
            let mut back = Vec::new();
            share.get("c.bin", &mut back).await.unwrap();
            assert!(back == data, "{name}");
        });
    }
}

/// CHANGE_NOTIFY goes asynchronous (STATUS_PENDING); a change in the directory completes it, and
/// without one keyless cancels it and gets STATUS_CANCELLED.
#[test]
fn watch_completes_on_change_and_cancels_without() {
    let scratch = ScratchDir::new("client-watch");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Encrypt, None) else { return };
    block_on(async {
        let client = open(&smbd, builder(&smbd)).await.unwrap();
        let share = client.tree(&smbd.share).await.unwrap();
        assert!(share.watch("", std::time::Duration::from_millis(300)).await.unwrap().is_empty(), "nothing changed");
        let dir = smbd.share_path.clone();
        let writer = std::thread::spawn(move || {
            std::thread::sleep(std::time::Duration::from_millis(300));
            std::fs::write(dir.join("new.txt"), b"x").unwrap();
        });
        let changes = share.watch("", std::time::Duration::from_millis(1500)).await.unwrap();
        writer.join().unwrap();
        assert!(changes.iter().any(|c| c.file_name == "new.txt" && c.action == 1), "{changes:?}");
        // The connection is still in step afterwards.
        assert_eq!(share.stat("new.txt").await.unwrap().size, 1);
    });
}

/// Each dialect forced by the server's configuration while keyless offers them all: keyless
/// follows, and on 3.0/3.0.2 validates the negotiation.
#[test]
fn every_dialect_forced_by_the_server() {
    for (protocol, dialect) in [
        ("SMB2_10", Dialect::SMB_21),
        ("SMB3_00", Dialect::SMB_30),
        ("SMB3_02", Dialect::SMB_302),
        ("SMB3_11", Dialect::SMB_311),
    ] {
        let scratch = ScratchDir::new("client-server-dialect");
        let Some(smbd) = Smbd::start(&scratch, SmbMode::Only(protocol), None) else { return };
        block_on(async {
            if dialect == Dialect::SMB_21 {
                // SMB 2 only when asked for: the default offer is SMB 3.
                let e = open(&smbd, builder(&smbd)).await.unwrap_err();
                assert!(e.to_string().contains("no common dialect") || e.status().is_some(), "{e}");
            }
            let all = keyless_client::negotiate::DIALECTS;
            let client = open(&smbd, builder(&smbd).dialects(&all))
                .await
                .unwrap_or_else(|e| panic!("{protocol}: {e}\n{}", smbd.log()));
            assert_eq!(client.session().info().negotiated.dialect, dialect, "{protocol}");
            let share = client.tree(&smbd.share).await.unwrap();
            let data = pattern(300_000);
            share.put("p.bin", &mut &data[..]).await.unwrap();
            let mut back = Vec::new();
            share.get("p.bin", &mut back).await.unwrap();
            assert!(back == data, "{protocol}");
            share.disconnect().await.unwrap();
            assert_eq!(client.session().info().validated, dialect != Dialect::SMB_21, "{protocol}");
        });
    }
}

/// A reader of `.0` bytes that takes 100 ms for each MiB, so an upload stays open for a while.
struct Slow(usize, usize);

impl std::io::Read for Slow {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        if self.1.is_multiple_of(1 << 20) && self.1 < self.0 {
            std::thread::sleep(std::time::Duration::from_millis(100));
        }
        let to_boundary = (1 << 20) - self.1 % (1 << 20);
        let n = buf.len().min(self.0 - self.1).min(to_boundary);
        buf[..n].fill(b'x');
        self.1 += n;
        Ok(n)
    }
}

/// While keyless uploads under a read-write-handle lease, another client opens the file: smbd
/// breaks the lease and keyless acknowledges at once, so the other client gets the file while
/// the upload goes on (not after it, or after smbd's 35-second break timeout).
#[test]
fn a_lease_break_is_acknowledged_at_once() {
    let scratch = ScratchDir::new("client-lease");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };
    block_on(async {
        let (port, share_name) = (smbd.port, smbd.share.clone());
        let auth = ntlm(&smbd, &smbd.password);
        let upload = {
            let (auth, share_name) = (auth.clone(), share_name.clone());
            std::thread::spawn(move || {
                block_on(async move {
                    let client = Client::builder("127.0.0.1").port(port).auth(auth).connect().await.unwrap();
                    let share = client.tree(&share_name).await.unwrap();
                    let sent =
                        share.put("leased.bin", &mut Blocking(Slow(60 << 20, 0))).await.map_err(|e| e.to_string());
                    (sent, std::time::Instant::now())
                })
            })
        };
        tokio::time::sleep(std::time::Duration::from_millis(2500)).await;
        let client = Client::builder("127.0.0.1").port(port).auth(auth).connect().await.unwrap();
        let share = client.tree(&share_name).await.unwrap();
        let mut seen = Vec::new();
        share.get("leased.bin", &mut seen).await.unwrap();
        let read_at = std::time::Instant::now();
        let (sent, uploaded_at) = upload.join().unwrap();
        assert_eq!(sent, Ok(60 << 20));
        assert!(!seen.is_empty() && seen.len() < 60 << 20, "{} bytes", seen.len());
        assert!(read_at < uploaded_at, "the second client waited for the upload to end");
    });
}
