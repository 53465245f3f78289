//! DFS referrals asked of Debian's Samba smbd serving a DFS root (`msdfs root = yes`): the
//! root's own referral, a link's with its two targets in the configured order, a nested path
//! under the link, and a path in no namespace; the answers go through the referral cache; and
//! tshark reads the exchange.

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
    smbd.add_dfs_root("dfs", &[("link", &["files2.example.test\\share"])]);
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    let frames = rt.block_on(async {
        let auth =
            Auth::Ntlm { user: smbd.user.clone(), domain: String::new(), password: smbd.password.clone().into() };
        let client = Client::builder("127.0.0.1").port(smbd.port).auth(auth).record(true).connect().await.unwrap();
        client.session().dfs_referral("\\127.0.0.1\\dfs\\link\\x").await.unwrap();
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
}
