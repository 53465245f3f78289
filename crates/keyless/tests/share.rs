//! The facade's share handle against Debian's smbd (encryption required), with each kind of
//! credential a program may hold: a keytab, a Kerberos password, an NTLM password, a cache.
//! What the library writes, smbd stores byte for byte, and what smbd holds, it reads back.
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless::kerberos::Kerberos;
use keyless::{Client, Credentials, ErrorKind, Progress};
use keyless_testbed::{MitKdc, SmbMode, Smbd};
use tokio::io::{AsyncReadExt, AsyncSeekExt, AsyncWriteExt};

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

/// The host Kerberos names the share by (the KDC's cifs principal).
fn share_host(kdc: &MitKdc) -> String {
    kdc.service.trim_start_matches("cifs/").split('@').next().unwrap().to_string()
}

fn kerberos(kdc: &MitKdc) -> Kerberos {
    let conf = keyless::kerberos::Krb5Conf::parse(&std::fs::read_to_string(&kdc.krb5_conf).unwrap()).unwrap();
    Kerberos::with_config(conf)
}

#[test]
fn files_and_trees_both_ways_with_a_keytab() {
    let Some(kdc) = MitKdc::start() else { return };
    let Some(smbd) = Smbd::start(&kdc.dir, SmbMode::Encrypt, Some(&kdc)) else { return };
    let client = Client::builder()
        .credentials(Credentials::keytab(&kdc.user_keytab, Some(&kdc.user)))
        .kerberos(kerberos(&kdc))
        .address("127.0.0.1")
        .require_encryption(true)
        .build()
        .unwrap();
    let url = format!("smb://{}:{}/{}", share_host(&kdc), smbd.port, smbd.share);
    runtime().block_on(async {
        let share = client.share(&url).await.unwrap();
        // A file through the tokio traits: written, sought, read back.
        share.create_dir_all("a/b").await.unwrap();
        let mut f = share.create("a/b/notes.txt").await.unwrap();
        f.write_all(b"first line\nsecond line\n").await.unwrap();
        f.shutdown().await.unwrap();
        assert_eq!(std::fs::read(smbd.share_path.join("a/b/notes.txt")).unwrap(), b"first line\nsecond line\n");
        let mut f = share.open("a/b/notes.txt").await.unwrap();
        f.seek(std::io::SeekFrom::Start(11)).await.unwrap();
        let mut rest = String::new();
        f.read_to_string(&mut rest).await.unwrap();
        assert_eq!(rest, "second line\n");
        assert_eq!(share.metadata("a/b/notes.txt").await.unwrap().size, 23);

        // A tree up and down, with progress that ends at the total.
        let local = kdc.dir.join("tree");
        for (path, size) in [("x.bin", 1_500_000usize), ("d/y.bin", 70_000), ("d/e/z.bin", 0)] {
            std::fs::create_dir_all(local.join(path).parent().unwrap()).unwrap();
            std::fs::write(local.join(path), (0..size).map(|i| (i % 251) as u8).collect::<Vec<u8>>()).unwrap();
        }
        let mut last = (0, 0);
        let mut seen = |p: Progress<'_>| last = (p.done, p.total);
        let sent = share.upload(&local, "up", Some(&mut seen)).await.unwrap();
        assert_eq!((sent, last), (1_570_000, (1_570_000, 1_570_000)));
        let back = kdc.dir.join("back");
        assert_eq!(share.download("up", &back, None).await.unwrap(), 1_570_000);
        for path in ["x.bin", "d/y.bin", "d/e/z.bin"] {
            let want = std::fs::read(local.join(path)).unwrap();
            assert!(std::fs::read(smbd.share_path.join("up").join(path)).unwrap() == want, "{path} on smbd");
            assert!(std::fs::read(back.join(path)).unwrap() == want, "{path} downloaded");
        }
        let walked: Vec<String> = share.walk("up").await.unwrap().into_iter().map(|e| e.path).collect();
        assert_eq!(walked.len(), 5, "{walked:?}");
        assert!(
            walked.iter().position(|p| p == "up/d").unwrap() < walked.iter().position(|p| p == "up/d/e/z.bin").unwrap()
        );

        // read_dir as a stream, rename, remove; errors sorted by kind.
        let mut names = Vec::new();
        let mut entries = share.read_dir("up/d");
        while let Some(e) = entries.next().await {
            names.push(e.unwrap().name);
        }
        names.sort();
        assert_eq!(names, ["e", "y.bin"]);
        share.rename("up/x.bin", "up/renamed.bin").await.unwrap();
        assert!(smbd.share_path.join("up/renamed.bin").exists() && !smbd.share_path.join("up/x.bin").exists());
        share.remove("up/renamed.bin").await.unwrap();
        assert_eq!(share.metadata("up/renamed.bin").await.unwrap_err().kind(), ErrorKind::NotFound);
        assert_eq!(share.remove_dir("up/d").await.unwrap_err().kind(), ErrorKind::DirectoryNotEmpty);
        assert_eq!(share.create_dir("a").await.unwrap_err().kind(), ErrorKind::AlreadyExists);
        let missing = client.share(&format!("{url}-nope")).await.unwrap_err();
        assert_eq!(missing.kind(), ErrorKind::NotFound, "{missing}");
    });
}

#[test]
fn every_credential_kind_reaches_the_share_and_failures_say_what() {
    let Some(kdc) = MitKdc::start() else { return };
    let Some(smbd) = Smbd::start(&kdc.dir, SmbMode::Encrypt, Some(&kdc)) else { return };
    std::fs::write(smbd.share_path.join("hello.txt"), b"hello").unwrap();
    let url = format!("smb://{}:{}/{}", share_host(&kdc), smbd.port, smbd.share);
    let cache = kdc.dir.join("cc");
    kdc.mit_kinit(&cache);
    let cache = format!("FILE:{}", cache.display());
    let kinds = [
        ("Kerberos password", Credentials::kerberos_password(&kdc.user, kdc.password.clone().into())),
        ("NTLM password", Credentials::password(&smbd.user, smbd.password.clone().into())),
        ("credential cache", Credentials::ccache(&cache)),
    ];
    let rt = runtime();
    for (what, credentials) in kinds {
        let client = Client::builder().credentials(credentials).kerberos(kerberos(&kdc)).address("127.0.0.1").build();
        let got = rt.block_on(async {
            let share = client.unwrap().share(&url).await?;
            let mut text = String::new();
            share.open("hello.txt").await?.read_to_string(&mut text).await.unwrap();
            Ok::<_, keyless::Error>(text)
        });
        assert_eq!(got.unwrap_or_else(|e| panic!("{what}: {e}")), "hello", "{what}");
    }
    // The debug form names the kind, never the secret.
    let shown = format!("{:?}", Credentials::password("alice", "s3cret-pw".to_string().into()));
    assert!(!shown.contains("s3cret-pw"), "{shown}");

    // Failures: a wrong password, an empty cache, a keytab without the user's keys.
    let wrong = Client::builder()
        .credentials(Credentials::kerberos_password(&kdc.user, "wrong".to_string().into()))
        .kerberos(kerberos(&kdc))
        .address("127.0.0.1")
        .build()
        .unwrap();
    let e = rt.block_on(wrong.share(&url)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationFailed, "{e}");
    assert!(e.to_string().starts_with("a ticket for cifs/"), "{e}");
    let empty = format!("FILE:{}", kdc.dir.join("empty").display());
    let none = Client::builder().credentials(Credentials::ccache(&empty)).kerberos(kerberos(&kdc)).build().unwrap();
    let e = rt.block_on(none.share(&url)).unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AuthenticationFailed, "{e}");
    let other = Client::builder()
        .credentials(Credentials::keytab(&kdc.service_keytab, Some(&kdc.user)))
        .kerberos(kerberos(&kdc))
        .build()
        .unwrap();
    let e = rt.block_on(other.share(&url)).unwrap_err();
    assert!(e.to_string().contains(&kdc.user), "{e}");
}

/// Sessions with several servers are made side by side: a server that never answers holds up
/// only the callers waiting for it, and callers of one server share the one session it makes.
#[test]
fn a_silent_server_holds_up_no_other() {
    let Some(kdc) = MitKdc::start() else { return };
    let Some(smbd) = Smbd::start(&kdc.dir, SmbMode::Encrypt, Some(&kdc)) else { return };
    // The kernel accepts its connections; nothing ever answers on them.
    let silent = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let silent_port = silent.local_addr().unwrap().port();
    let client = Client::builder()
        .credentials(Credentials::keytab(&kdc.user_keytab, Some(&kdc.user)))
        .kerberos(kerberos(&kdc))
        .address("127.0.0.1")
        .timeout(std::time::Duration::from_secs(20))
        .build()
        .unwrap();
    let host = share_host(&kdc);
    let url = format!("smb://{host}:{}/{}", smbd.port, smbd.share);
    runtime().block_on(async {
        let waiting = {
            let (client, url) = (client.clone(), format!("smb://{host}:{silent_port}/share"));
            tokio::spawn(async move { client.share(&url).await.map(|_| ()) })
        };
        tokio::time::sleep(std::time::Duration::from_millis(300)).await;
        let started = std::time::Instant::now();
        let callers: Vec<_> = (0..4)
            .map(|i| {
                let (client, url) = (client.clone(), url.clone());
                tokio::spawn(async move {
                    let share = client.share(&url).await?;
                    let mut f = share.create(&format!("caller-{i}.txt")).await?;
                    f.write_all(b"here").await.unwrap();
                    f.shutdown().await.unwrap();
                    Ok::<(), keyless::Error>(())
                })
            })
            .collect();
        for c in callers {
            c.await.unwrap().unwrap();
        }
        let took = started.elapsed();
        assert!(took.as_secs() < 10, "the working server's callers waited {took:?}");
        assert!(!waiting.is_finished(), "the silent server's caller is still waiting");
        waiting.abort();
    });
    assert_eq!(smbd.logged_keys("Session Id").len(), 1, "one session for four callers");
    for i in 0..4 {
        assert_eq!(std::fs::read(smbd.share_path.join(format!("caller-{i}.txt"))).unwrap(), b"here");
    }
}
