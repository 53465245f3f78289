//! DFS referrals asked of Debian's Samba smbd serving a DFS root (`msdfs root = yes`): the
//! root's own referral, a link's with its two targets in the configured order, a nested path
//! under the link, and a path in no namespace; the answers go through the referral cache; and
//! tshark reads the exchange, the EX form (with a site) that Samba refuses among it.
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_client::dfs::ReferralCache;
use keyless_client::{Auth, Client};
use keyless_smb::NtStatus;
use keyless_smb::dfs::{SERVER_TYPE_ROOT, Target};
use keyless_testbed::{ScratchDir, SmbMode, Smbd};
use std::time::Instant;

#[test]
fn smbd_answers_root_and_link_referrals() {
    let scratch = ScratchDir::new("client-dfs");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Encrypt, None) else { return };
    smbd.add_dfs_root("dfs", &[("link", &["files2.example.test\\share", "files3.example.test\\other"])]);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let auth =
            Auth::Ntlm { user: smbd.user.clone(), domain: String::new(), password: smbd.password.clone().into() };
        let client = Client::builder("127.0.0.1").port(smbd.port).auth(auth).connect().await.unwrap();
        let session = client.session();

        let root = session.dfs_referral("\\127.0.0.1\\dfs").await.unwrap();
        assert_eq!(root.entries.len(), 1, "{root:?}");
        assert_eq!(root.entries[0].server_type, SERVER_TYPE_ROOT);
        let Target::Path { address, .. } = &root.entries[0].target else { panic!("{root:?}") };
        assert_eq!(address, "\\127.0.0.1\\dfs");

        let path = "\\127.0.0.1\\dfs\\link\\sub\\file.txt";
        let link = session.dfs_referral(path).await.unwrap();
        let mut cache = ReferralCache::default();
        let now = Instant::now();
        let resolved = cache.insert(path, &link, now).unwrap();
        assert_eq!(resolved.targets, ["\\files2.example.test\\share", "\\files3.example.test\\other"]);
        assert_eq!(resolved.rest, "\\sub\\file.txt");
        assert!(!resolved.root);
        assert!(link.entries.iter().all(|e| e.ttl > 0), "{link:?}");
        assert_eq!(cache.lookup("\\127.0.0.1\\DFS\\link\\other", now).unwrap().rest, "\\other");

        // The root share says it is DFS; a path through its link is answered
        // STATUS_PATH_NOT_COVERED, which is what sends a client to ask for the referral.
        let tree = client.tree("dfs").await.unwrap();
        assert!(tree.is_dfs());
        for crossing in [tree.stat("link/sub").await.unwrap_err(), tree.list("link").await.unwrap_err()] {
            assert_eq!(crossing.status(), Some(NtStatus::PATH_NOT_COVERED), "{crossing}");
        }

        // A share that is no DFS root: STATUS_NOT_FOUND (MS-DFSC 3.2.5.5), by name.
        let none = session.dfs_referral("\\127.0.0.1\\share\\x").await.unwrap_err();
        assert_eq!(none.status(), Some(NtStatus(0xC000_0225)), "{none}");
        assert_eq!(none.to_string(), "IOCTL failed with STATUS_NOT_FOUND");
    });
}

/// tshark reads keyless's referral request and smbd's answer (a signed session, recorded by the
/// client) without a malformed frame, with the level, path and targets keyless sent and read.
#[test]
fn tshark_reads_the_referral_exchange() {
    let scratch = ScratchDir::new("client-dfs-tshark");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };
    let root_dir = smbd.add_dfs_root("dfs", &[("link", &["files2.example.test\\share"])]);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let frames = rt.block_on(async {
        let auth =
            Auth::Ntlm { user: smbd.user.clone(), domain: String::new(), password: smbd.password.clone().into() };
        let client = Client::builder("127.0.0.1").port(smbd.port).auth(auth).record(true).connect().await.unwrap();
        client.session().dfs_referral("\\127.0.0.1\\dfs\\link\\x").await.unwrap();
        // With the client's site named: the EX form first (SMB 3.1.1 offers it), which Samba
        // refuses; the plain form then, and alone from then on.
        for path in ["\\127.0.0.1\\dfs\\link\\y", "\\127.0.0.1\\dfs\\link\\z"] {
            let answer = client.session().dfs_referral_in_site(path, Some("Site-A")).await.unwrap();
            assert_eq!(answer.entries.len(), 1, "{answer:?}");
        }
        // A CREATE on the DFS share: the DFS flag, and the name as a DFS path.
        let root = client.tree("dfs").await.unwrap();
        root.mkdir("made-here").await.unwrap();
        client.session().transcript()
    });
    let framed: Vec<Vec<u8>> = frames
        .iter()
        .map(|(_, p)| {
            let mut f = Vec::new();
            keyless_smb::framing::write_frame_header(p.len(), &mut f).unwrap();
            f.extend_from_slice(p);
            f
        })
        .collect();
    let fields = ["smb.max_referral_level", "smb.file", "smb.dfs.num_referrals", "smb.dfs.referral.node"];
    let Some(d) = keyless_testbed::tshark::dissect(&scratch, &framed, &fields) else { return };
    // Samba's SPNEGO hint in its NEGOTIATE response is the one frame tshark's BER reader dislikes.
    let bad: Vec<&str> = d
        .verbose
        .split("\n\nFrame ")
        .filter(|f| f.contains("Malformed") && !f.contains("Negotiate Protocol Response"))
        .collect();
    assert!(bad.is_empty(), "malformed frames: {bad:?}");
    let rows: Vec<&String> = d.fields.iter().filter(|l| !l.trim().is_empty()).collect();
    assert!(rows.iter().any(|l| l.starts_with("4\t\\127.0.0.1\\dfs\\link\\x")), "{rows:?}");
    assert!(rows.iter().any(|l| l.ends_with("1\t\\files2.example.test\\share")), "{rows:?}");
    let creates = keyless_testbed::tshark::dissect(&scratch, &framed, &["smb2.flags.dfs", "smb2.filename"]).unwrap();
    let made: Vec<&String> = creates.fields.iter().filter(|l| l.contains("made-here")).collect();
    assert!(!made.is_empty() && made.iter().all(|l| l.starts_with("1\t127.0.0.1\\dfs\\made-here")), "{made:?}");
    assert!(root_dir.join("made-here").is_dir());
    // One EX request, refused with STATUS_FS_DRIVER_REQUIRED; both paths then asked plainly.
    let ioctls =
        keyless_testbed::tshark::dissect(&scratch, &framed, &["smb2.ioctl.function", "smb2.nt_status", "smb.file"])
            .unwrap();
    let rows: Vec<&str> = ioctls.fields.iter().map(String::as_str).filter(|l| !l.trim().is_empty()).collect();
    let ex = rows.iter().position(|l| l.starts_with("0x000601b0")).expect("an EX request");
    assert_eq!(rows.iter().filter(|l| l.starts_with("0x000601b0")).count(), 1, "{rows:?}");
    assert_eq!(rows[ex + 1], "\t0xc000019c\t", "{rows:?}");
    for path in ["y", "z"] {
        assert!(rows.contains(&format!("0x00060194\t\t\\127.0.0.1\\dfs\\link\\{path}").as_str()), "{rows:?}");
    }
}

/// A proxy that holds the session's signing key (read from smbd's log, as only a test can)
/// rewrites smbd's referral answer and signs it again: what a hostile or broken DFS server
/// could say reaches the client, which says in one line what is wrong with it.
#[test]
fn rewritten_referrals_are_refused_clearly() {
    use keyless_client::dfs::Unusable;
    use keyless_crypto::{Signer, SigningAlgorithm, SigningKey};
    use keyless_smb::dfs::ReferralResponse;
    use keyless_smb::header::Header;
    use keyless_smb::ioctl::{CtlCode, IoctlResponse};
    use keyless_smb::{Command, Message};
    use std::sync::Arc;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    let scratch = ScratchDir::new("client-dfs-hostile");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };
    smbd.add_dfs_root("dfs", &[("link", &["files2.example.test\\share"])]);
    let smbd = Arc::new(smbd);

    type Rewrite = fn(&[u8]) -> Vec<u8>;
    let cases: [(&str, Rewrite); 3] = [
        ("zero targets", |_| ReferralResponse { path_consumed: 0, flags: 2, entries: Vec::new() }.to_bytes().unwrap()),
        ("truncated", |out| out[..out.len() - 20].to_vec()),
        ("oversized entry", |out| {
            let mut o = out.to_vec();
            o[10..12].copy_from_slice(&0xFFF0u16.to_le_bytes()); // the first entry's Size
            o
        }),
    ];
    for (case, rewrite) in cases {
        let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        let outcome = rt.block_on(async {
            let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
            let port = listener.local_addr().unwrap().port();
            let server = Arc::clone(&smbd);
            tokio::spawn(async move {
                let (client, _) = listener.accept().await.unwrap();
                let upstream = tokio::net::TcpStream::connect(("127.0.0.1", server.port)).await.unwrap();
                let (mut cr, mut cw) = client.into_split();
                let (mut sr, mut sw) = upstream.into_split();
                tokio::spawn(async move { tokio::io::copy(&mut cr, &mut sw).await });
                loop {
                    let mut head = [0u8; 4];
                    if sr.read_exact(&mut head).await.is_err() {
                        return;
                    }
                    let len = usize::from(head[1]) << 16 | usize::from(head[2]) << 8 | usize::from(head[3]);
                    let mut p = vec![0u8; len];
                    sr.read_exact(&mut p).await.unwrap();
                    let h = Header::parse(&p).unwrap();
                    if h.command() == Command::IOCTL && h.status() == NtStatus::SUCCESS {
                        let r = IoctlResponse::parse(&p).unwrap();
                        if r.ctl_code == CtlCode::DFS_GET_REFERRALS {
                            let output = rewrite(r.output);
                            let mut q = IoctlResponse { output: &output, ..r }.to_vec(&h.fields()).unwrap();
                            let key = server.logged_keys("Signing Key").pop().unwrap(); // this session's: the last
                            let key: Vec<u8> =
                                (0..32).step_by(2).map(|i| u8::from_str_radix(&key[i..i + 2], 16).unwrap()).collect();
                            let signer = Signer::new(
                                SigningAlgorithm::AesGmac,
                                &SigningKey::from_bytes(key.try_into().unwrap()),
                            );
                            signer.sign(&mut q).unwrap();
                            p = q;
                        }
                    }
                    let mut frame = Vec::new();
                    keyless_smb::framing::write_frame_header(p.len(), &mut frame).unwrap();
                    frame.extend_from_slice(&p);
                    cw.write_all(&frame).await.unwrap();
                }
            });
            let auth =
                Auth::Ntlm { user: smbd.user.clone(), domain: String::new(), password: smbd.password.clone().into() };
            let client = Client::builder("127.0.0.1").port(port).auth(auth).connect().await.unwrap();
            let path = "\\127.0.0.1\\dfs\\link\\x";
            match client.session().dfs_referral(path).await {
                Ok(answer) => ReferralCache::default()
                    .insert(path, &answer, Instant::now())
                    .map(|_| ())
                    .map_err(|u| u.to_string()),
                Err(e) => Err(e.to_string()),
            }
        });
        let said = outcome.expect_err(case);
        match case {
            "zero targets" => assert_eq!(said, Unusable::NoTarget.to_string()),
            _ => assert!(said.starts_with("the server sent a malformed message (DFS_REFERRAL"), "{case}: {said}"),
        }
        assert_eq!(said.lines().count(), 1, "{case}: {said}");
    }
}
