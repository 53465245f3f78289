//! `--auth oauth`, `oauth-ticket`, `storage-key` and `token` end to end: tokens from the Azure
//! endpoint emulators of the test harness (IMDS, workload identity, ARM), REAL service tickets
//! from the MIT KDC behind the emulated kerbticket endpoint, and Debian's smbd (SMB 3.1.1,
//! encryption required) validating them. MIT klist and kvno read the ccache keyless writes.
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_testbed::{AzureEmulator, MitKdc, SmbMode, Smbd};
use std::ffi::OsString;
use std::process::Output;

mod common;

use common::{fails, ok};

struct Setup {
    kdc: MitKdc,
    smbd: Smbd,
    azure: AzureEmulator,
}

fn setup() -> Option<Setup> {
    let kdc = MitKdc::start()?;
    let smbd = Smbd::start(&kdc.dir, SmbMode::Encrypt, Some(&kdc))?;
    let azure = AzureEmulator::start(&kdc, (&smbd.user, &smbd.password), 1)?;
    Some(Setup { kdc, smbd, azure })
}

impl Setup {
    /// The share as Azure would name it (`files.example.test`, the host of the cifs
    /// principal), reached at smbd's loopback port.
    fn url(&self, path: &str) -> String {
        format!("smb://files.example.test/{}/{path}", self.smbd.share)
    }

    fn endpoints(&self) -> Vec<String> {
        [
            "--ip",
            "127.0.0.1",
            "--port",
            &self.smbd.port.to_string(),
            "--imds-endpoint",
            &self.azure.http,
            "--file-endpoint",
            &self.azure.https,
            "--ca-file",
            self.azure.cert.ca.to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect()
    }

    fn env(&self) -> Vec<(&'static str, OsString)> {
        self.kdc.client_env()
    }

    fn keyless(&self, args: &[&str], extra_env: &[(&'static str, String)]) -> Output {
        let mut env = self.env();
        env.extend(extra_env.iter().map(|(k, v)| (*k, OsString::from(v))));
        common::run(common::KEYLESS, args, env, "")
    }
}

/// IMDS token -> kerbticket -> Kerberos SESSION_SETUP -> put and get, byte for byte.
#[test]
fn auth_oauth_puts_and_gets_through_a_real_ticket() {
    let Some(s) = setup() else { return };
    let e = s.endpoints();
    let e: Vec<&str> = e.iter().map(String::as_str).collect();
    let local = s.kdc.dir.join("upload.bin");
    let data: Vec<u8> = (0..3_000_001u32).map(|i| (i * 7 + i / 251) as u8).collect();
    std::fs::write(&local, &data).unwrap();
    let remote = s.url("mi.bin");
    let put = [&["put", local.to_str().unwrap(), &remote, "--auth", "oauth"], &e[..]].concat();
    ok(s.keyless(&put, &[]), "put --auth oauth");
    assert!(std::fs::read(s.smbd.share_path.join("mi.bin")).unwrap() == data, "smbd stored the bytes");
    let back = s.kdc.dir.join("back.bin");
    let get = [&["get", &remote, back.to_str().unwrap(), "--auth", "oauth"], &e[..]].concat();
    ok(s.keyless(&get, &[]), "get --auth oauth");
    assert!(std::fs::read(&back).unwrap() == data, "get returns the bytes");
    // No ccache was needed or written.
    assert!(!s.kdc.dir.join("krb5cc").exists());
    // The same with AKS workload identity found in the environment.
    let root = s.url("");
    let ls = [&["ls", &root, "--auth", "oauth"], &e[..]].concat();
    let listing = ok(s.keyless(&ls, &s.azure.workload_env()), "ls --auth oauth (workload identity)");
    assert!(listing.contains("mi.bin"), "{listing}");
    let log = s.azure.requests();
    assert!(log.contains(r#""endpoint": "entra""#), "the workload identity path was taken: {log}");
    assert_eq!(log.matches(r#""endpoint": "kerbticket""#).count(), 3, "{log}");
}

/// `oauth-ticket` writes an MIT FILE ccache with the service ticket and no TGT: MIT klist
/// lists it, MIT kvno finds the ticket in it, and `keyless ls` uses it as any cache.
#[test]
fn oauth_ticket_writes_a_ccache_mit_tools_read() {
    let Some(s) = setup() else { return };
    let cache = s.kdc.dir.join("azfiles.ccache");
    let cache_arg = format!("FILE:{}", cache.display());
    let args = [
        "oauth-ticket",
        "https://files.example.test/",
        "-c",
        &cache_arg,
        "--imds-endpoint",
        &s.azure.http,
        "--file-endpoint",
        &s.azure.https,
        "--ca-file",
        s.azure.cert.ca.to_str().unwrap(),
    ];
    let out = ok(s.keyless(&args, &[]), "oauth-ticket");
    assert!(
        out.starts_with(
            "stored a ticket for cifs/files.example.test@EXAMPLE.TEST (client azurefileclient@EXAMPLE.TEST)"
        ),
        "{out}"
    );
    let klist = ok(common::run("klist", &["-c", &cache_arg], s.env(), ""), "MIT klist");
    assert!(klist.contains("Default principal: azurefileclient@EXAMPLE.TEST"), "{klist}");
    assert!(klist.contains("cifs/files.example.test@EXAMPLE.TEST") && !klist.contains("krbtgt/"), "{klist}");
    let kvno =
        ok(common::run("kvno", &["-c", &cache_arg, "cifs/files.example.test@EXAMPLE.TEST"], s.env(), ""), "MIT kvno");
    assert!(kvno.contains("cifs/files.example.test@EXAMPLE.TEST: kvno = "), "{kvno}");
    let ls =
        ["ls", &s.url(""), "--auth", "krb5", "-c", &cache_arg, "--ip", "127.0.0.1", "--port", &s.smbd.port.to_string()];
    ok(s.keyless(&ls, &[]), "ls with the oauth-ticket ccache");
    // A cache of someone else is not overwritten.
    let alice = s.kdc.dir.join("alice.ccache");
    s.kdc.mit_kinit(&alice);
    let theirs = format!("FILE:{}", alice.display());
    let mut other = args;
    other[3] = &theirs;
    let e = fails(s.keyless(&other, &[]), "oauth-ticket into alice's cache");
    assert!(e.contains("holds the tickets of alice@EXAMPLE.TEST") && e.contains("give another cache with -c"), "{e}");
    // Collections too: a DIR and a KEYRING collection get a cache of the ticket's client.
    for collection in [
        format!("DIR:{}", s.kdc.dir.join("oauth-dir").display()),
        format!("KEYRING:session:oauth-{}", std::process::id()),
    ] {
        let mut into = args;
        into[3] = &collection;
        ok(s.keyless(&into, &[]), "oauth-ticket into a collection");
        let klist = ok(common::run("klist", &["-c", &collection], s.env(), ""), "MIT klist of the collection");
        assert!(klist.contains("Default principal: azurefileclient@EXAMPLE.TEST"), "{collection}: {klist}");
        ok(common::run("kdestroy", &["-A", "-c", &collection], s.env(), ""), "MIT kdestroy -A");
    }
    // And sssd-kcm, found through krb5.conf's kcm_socket.
    let Some(kcm) = keyless_testbed::SssdKcm::start(&s.kdc.dir) else { return };
    let krb5_config = s.env().into_iter().find(|(k, _)| *k == "KRB5_CONFIG").unwrap().1;
    let conf = std::fs::read_to_string(krb5_config)
        .unwrap()
        .replace("[libdefaults]", &format!("[libdefaults]\n    kcm_socket = {}", kcm.socket.display()));
    let conf_path = s.kdc.dir.join("krb5-kcm.conf");
    std::fs::write(&conf_path, conf).unwrap();
    let kcm_env = [("KRB5_CONFIG", conf_path.to_string_lossy().into_owned())];
    let mut into = args;
    into[3] = "KCM:";
    ok(s.keyless(&into, &kcm_env), "oauth-ticket into sssd-kcm");
    let mut env = s.env();
    env.retain(|(k, _)| *k != "KRB5_CONFIG");
    env.push(("KRB5_CONFIG", conf_path.into_os_string()));
    let klist = ok(common::run("klist", &["-c", "KCM:"], env.clone(), ""), "MIT klist of KCM");
    assert!(klist.contains("Default principal: azurefileclient@EXAMPLE.TEST"), "{klist}");
    let kvno = ok(common::run("kvno", &["-c", "KCM:", "cifs/files.example.test@EXAMPLE.TEST"], env, ""), "MIT kvno");
    assert!(kvno.contains("kvno = "), "{kvno}");
}

/// `--refresh` keeps the ccache fresh: with 8-second tickets, new ones land before the old end.
#[test]
fn oauth_ticket_refresh_renews_before_the_end() {
    let Some(s) = setup() else { return };
    let out = s.kdc.kadmin("EXAMPLE.TEST", &format!("modprinc -maxlife \"8 seconds\" {}", s.kdc.service));
    assert!(out.contains("modified"), "{out}");
    let cache = s.kdc.dir.join("refresh.ccache");
    let mut child = std::process::Command::new(common::KEYLESS)
        .args(["oauth-ticket", "https://files.example.test/", "-c", cache.to_str().unwrap(), "--refresh"])
        .args(["--imds-endpoint", &s.azure.http, "--file-endpoint", &s.azure.https])
        .args(["--ca-file", s.azure.cert.ca.to_str().unwrap()])
        .envs(s.env())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let end_of = |c: &std::path::Path| {
        keyless_krb::ccache::CCache::read(c).ok().and_then(|c| c.credentials().map(|t| t.end_time).max())
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let mut ends = Vec::new();
    while ends.len() < 3 && std::time::Instant::now() < deadline {
        if let Some(end) = end_of(&cache)
            && ends.last() != Some(&end)
        {
            // Each new ticket arrived while the one before was still valid.
            let now = keyless_krb::time::unix_seconds(std::time::SystemTime::now());
            assert!(ends.last().is_none_or(|prev| now <= *prev), "renewed after the end");
            ends.push(end);
        }
        std::thread::sleep(std::time::Duration::from_millis(200));
    }
    keyless_testbed::stop(&mut child);
    assert_eq!(ends.len(), 3, "three tickets in turn, got ends {ends:?}");
    // One token (valid an hour) bought every ticket: it is kept, not asked for each time.
    let log = s.azure.requests();
    assert_eq!(log.matches(r#""endpoint": "imds""#).count(), 1, "{log}");
    assert!(log.matches(r#""endpoint": "kerbticket""#).count() >= 3, "{log}");
}

/// Each way it can fail gives one line, and no ccache is left behind.
#[test]
fn oauth_failures_are_one_line_and_leave_no_cache() {
    let Some(s) = setup() else { return };
    let cache = s.kdc.dir.join("never.ccache");
    let base = |file_endpoint: &str, imds: &str| -> Vec<String> {
        [
            "oauth-ticket",
            "https://files.example.test/",
            "-c",
            cache.to_str().unwrap(),
            "--imds-endpoint",
            imds,
            "--file-endpoint",
            file_endpoint,
            "--ca-file",
            s.azure.cert.ca.to_str().unwrap(),
        ]
        .iter()
        .map(|a| a.to_string())
        .collect()
    };
    let run = |args: Vec<String>, env: &[(&'static str, String)]| {
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        fails(s.keyless(&a, env), "oauth-ticket")
    };
    let closed = format!("http://127.0.0.1:{}", keyless_testbed::free_port());
    let e = run(base(&s.azure.https, &closed), &[]);
    assert!(
        e.starts_with(&format!(
            "keyless oauth-ticket: IMDS at {closed}/metadata/identity/oauth2/token did not answer:"
        )),
        "{e}"
    );
    assert!(e.contains("elsewhere give --token-file"), "{e}");
    s.azure.script("kerbticket", &[403]);
    let e = run(base(&s.azure.https, &s.azure.http), &[]);
    assert!(
        e.contains("answered HTTP 403: AuthorizationPermissionMismatch")
            && e.contains("Storage File Data SMB MI Admin"),
        "{e}"
    );
    s.azure.set_kerbticket_mode("garbage");
    let e = run(base(&s.azure.https, &s.azure.http), &[]);
    assert!(e.contains("the kerbticket answer is malformed: its KRB-CRED"), "{e}");
    s.azure.set_kerbticket_mode("ok");
    // A token of the wrong audience or expired, given on stdin: refused before it is sent.
    for (aud, life, says) in [
        ("https://storage.azure.com/", 600, "is for audience https://storage.azure.com/"),
        ("https://storage.azure.com", -5, "the token expired at"),
    ] {
        let token = s.azure.token(aud, life);
        let mut args = base(&s.azure.https, &s.azure.http);
        args.extend(["--token-file".to_string(), "-".to_string()]);
        let a: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = common::run(common::KEYLESS, &a, s.env(), &token);
        let e = fails(out, "oauth-ticket with a given token");
        assert!(e.contains(says), "{e}");
        assert!(!e.contains(&token[..20]), "the token is never printed");
    }
    assert!(!cache.exists(), "no cache left behind");
    assert!(
        std::fs::read_dir(s.kdc.dir.path()).unwrap().all(|f| !f
            .unwrap()
            .file_name()
            .to_string_lossy()
            .starts_with("never.ccache"))
    );
}

/// A kerbticket endpoint serving a self-signed CA:TRUE certificate (OpenSSL's `req -x509`):
/// trusted when `--ca-file` names that very certificate, refused in one line otherwise.
#[test]
fn oauth_ticket_trusts_a_self_signed_endpoint_named_by_file() {
    let Some(kdc) = MitKdc::start() else { return };
    let cert = keyless_testbed::TestCert::self_signed(&kdc.dir, "azure-self", &["127.0.0.1"]).unwrap();
    let other = keyless_testbed::TestCert::new(&kdc.dir, "azure-other", &["127.0.0.1"]).unwrap();
    let Some(azure) = AzureEmulator::start_with_cert(&kdc, ("user", "key"), 1, cert) else { return };
    let cache = kdc.dir.join("self-signed.ccache");
    let args = |ca: &std::path::Path| -> Vec<String> {
        ["oauth-ticket", "https://files.example.test/", "-c", cache.to_str().unwrap()]
            .into_iter()
            .chain(["--imds-endpoint", &azure.http, "--file-endpoint", &azure.https, "--ca-file", ca.to_str().unwrap()])
            .map(str::to_string)
            .collect()
    };
    let run = |ca: &std::path::Path| {
        let a = args(ca);
        common::run(common::KEYLESS, &a.iter().map(String::as_str).collect::<Vec<_>>(), kdc.client_env(), "")
    };
    let e = fails(run(&other.ca), "oauth-ticket, the endpoint's certificate not trusted");
    assert!(e.contains("invalid peer certificate"), "{e}");
    assert!(!cache.exists(), "no cache left behind");
    ok(run(&azure.cert.ca), "oauth-ticket, the endpoint's own certificate trusted");
    assert!(cache.exists());
}

/// The storage-key path: an ARM token from IMDS buys the account key, which NTLMv2 uses as
/// `Azure\<account>`; the key is shown only with --raw.
#[test]
fn storage_key_from_arm_opens_the_share_with_ntlm() {
    let Some(s) = setup() else { return };
    let (sub, rg, account) = s.azure.arm_account.clone();
    let arm =
        ["--subscription", &sub, "--resource-group", &rg, "--account", &account, "--arm-endpoint", &s.azure.https];
    let common_args = ["--imds-endpoint", &s.azure.http, "--ca-file", s.azure.cert.ca.to_str().unwrap()];
    std::fs::write(s.smbd.share_path.join("keyed.txt"), "via the account key\n").unwrap();
    let (root, port) = (s.url(""), s.smbd.port.to_string());
    let ls =
        [&["ls", &root, "--auth", "storage-key", "--ip", "127.0.0.1", "--port", &port], &arm[..], &common_args[..]]
            .concat();
    let listing = ok(s.keyless(&ls, &[]), "ls --auth storage-key");
    assert!(listing.contains("keyed.txt"), "{listing}");
    let show = ok(s.keyless(&[&["storage-key"], &arm[..], &common_args[..]].concat(), &[]), "storage-key");
    assert!(show.contains("alice key1 FULL") && !show.contains(&s.smbd.password), "{show}");
    let raw =
        ok(s.keyless(&[&["storage-key", "--raw"], &arm[..], &common_args[..]].concat(), &[]), "storage-key --raw");
    assert_eq!(raw.trim(), s.smbd.password);
    let token = ok(s.keyless(&[&["token"], &common_args[..]].concat(), &[]), "token");
    assert!(
        token.starts_with("a token for https://storage.azure.com from IMDS at") && token.contains("only with --raw"),
        "{token}"
    );
}
