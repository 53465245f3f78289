//! The examples of `crates/keyless/examples`, run as a user would run them, against the real
//! peers: Debian's smbd (encryption required) with tickets from the MIT KDC, python3-kdcproxy,
//! and the Azure identity and kerbticket emulators. Their output is checked against what the
//! servers hold and what MIT's klist reads.
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_testbed::{AzureEmulator, MitKdc, PyKdcProxy, SmbMode, Smbd};
use sha2::{Digest, Sha256};
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

/// The example's binary, built by `cargo test` beside this test (built here when a narrower
/// `cargo test --test examples` left it out).
fn example(name: &str) -> PathBuf {
    let dir = std::env::current_exe().unwrap().parent().unwrap().parent().unwrap().join("examples");
    let exe = dir.join(name);
    if !exe.exists() {
        let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
        let built = Command::new(cargo).args(["build", "-p", "keyless", "--example", name]).status().unwrap();
        assert!(built.success(), "cargo build --example {name}");
    }
    exe
}

fn run(name: &str, args: &[&str], env: &[(&str, OsString)], stdin: &str) -> Output {
    let mut child = Command::new(example(name))
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v)))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(
        out.status.success(),
        "{name} {args:?}: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn sha256(path: &Path) -> Vec<u8> {
    Sha256::digest(std::fs::read(path).unwrap()).to_vec()
}

/// The host Kerberos names the share by (the KDC's cifs principal).
fn share_host(kdc: &MitKdc) -> String {
    kdc.service.trim_start_matches("cifs/").split('@').next().unwrap().to_string()
}

#[test]
fn upload_a_tree_then_list_it_recursively_with_the_default_cache() {
    let Some(kdc) = MitKdc::start() else { return };
    let Some(smbd) = Smbd::start(&kdc.dir, SmbMode::Encrypt, Some(&kdc)) else { return };
    let cache = kdc.dir.join("cc");
    kdc.mit_kinit(&cache);
    let mut env = kdc.client_env();
    env.push(("KRB5CCNAME", format!("FILE:{}", cache.display()).into()));

    // A tree with nested directories, an empty file and one of several MiB.
    let local = kdc.dir.join("photos");
    let files: [(&str, usize); 4] =
        [("a.txt", 5), ("2026/summer/beach.raw", 3_000_017), ("2026/empty", 0), ("z/notes €.md", 70_001)];
    for (path, size) in files {
        let p = local.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, (0..size).map(|i| (i * 31 + i / 4093) as u8).collect::<Vec<u8>>()).unwrap();
    }
    let url = format!("smb://{}:{}/{}/backup/photos", share_host(&kdc), smbd.port, smbd.share);
    let out = run("upload_tree", &[local.to_str().unwrap(), &url, "--ip", "127.0.0.1"], &env, "");
    let total: usize = files.iter().map(|f| f.1).sum();
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.contains(&format!("uploaded {total} bytes")), "{said}");
    let bar = String::from_utf8_lossy(&out.stderr);
    assert!(bar.contains("100.0%") && bar.contains('#'), "a progress bar: {bar}");
    for (path, _) in files {
        let on_server = smbd.share_path.join("backup/photos").join(path);
        assert_eq!(sha256(&on_server), sha256(&local.join(path)), "{path}: smbd holds the same bytes");
    }

    let out = run("list_recursive", &[&url, "--ip", "127.0.0.1"], &env, "");
    let mut listed: Vec<String> = String::from_utf8_lossy(&out.stdout).lines().map(|l| l.trim().to_string()).collect();
    listed.sort();
    let mut want: Vec<String> = files.iter().map(|(p, size)| format!("{size} backup/photos/{p}")).collect();
    want.extend(["2026", "2026/summer", "z"].map(|d| format!("- backup/photos/{d}/")));
    want.sort();
    let listed: Vec<String> = listed.iter().map(|l| l.split_whitespace().collect::<Vec<_>>().join(" ")).collect();
    assert_eq!(listed, want);
    // The service ticket the library got with the cache's TGT went back into the cache.
    let klist = Command::new("klist")
        .args(["-c", &format!("FILE:{}", cache.display())])
        .envs(kdc.client_env())
        .output()
        .unwrap();
    assert!(String::from_utf8_lossy(&klist.stdout).contains(&kdc.service), "klist shows the cifs ticket");
}

#[test]
fn kinit_through_a_kdc_proxy_then_decode_the_ticket_and_an_smb2_message() {
    let Some(kdc) = MitKdc::start() else { return };
    let realm = kdc.realms[0].name.clone();
    let Some(proxy) = PyKdcProxy::start(&kdc.dir, &[(&realm, kdc.realms[0].port)]) else { return };
    // A krb5.conf that knows no KDC of the realm: the proxy is the only way.
    let conf = kdc.dir.join("proxy-only.conf");
    std::fs::write(&conf, format!("[libdefaults]\n  default_realm = {realm}\n  dns_lookup_kdc = false\n")).unwrap();
    let env =
        [("KRB5_CONFIG", conf.clone().into_os_string()), ("SSL_CERT_FILE", proxy.cert.ca.clone().into_os_string())];
    let cache = format!("FILE:{}", kdc.dir.join("proxied.cc").display());
    let out = run("kinit_proxy", &[&kdc.user, &proxy.url, &cache], &env, &format!("{}\n", kdc.password));
    let krbtgt = format!("krbtgt/{realm}@{realm}");
    assert!(String::from_utf8_lossy(&out.stdout).contains(&krbtgt), "{}", String::from_utf8_lossy(&out.stdout));
    let klist = Command::new("klist").args(["-e", "-c", &cache]).envs(kdc.client_env()).output().unwrap();
    let klist = String::from_utf8_lossy(&klist.stdout).into_owned();
    assert!(klist.contains(&krbtgt) && klist.contains(&kdc.user), "MIT klist reads the cache: {klist}");

    // The TGT's ticket, as bytes out of the cache, decoded by the example.
    let held = keyless::kerberos::ccache::CCache::parse(&std::fs::read(kdc.dir.join("proxied.cc")).unwrap()).unwrap();
    let tgt = held.credentials().find(|c| c.server.is_krbtgt()).unwrap();
    let ticket = kdc.dir.join("tgt.der");
    std::fs::write(&ticket, &tgt.ticket).unwrap();
    let out = run("decode", &["ticket", ticket.to_str().unwrap()], &[], "");
    let said = String::from_utf8_lossy(&out.stdout);
    // klist -e: "Etype (skey, tkt): <session key's>, <ticket's>".
    let tkt_etype =
        klist.lines().find_map(|l| l.trim().strip_prefix("Etype (skey, tkt): ")).unwrap().split(", ").nth(1).unwrap();
    assert!(said.contains(&format!("Ticket for {krbtgt} enctype={tkt_etype}")), "{said} vs klist's {tkt_etype}");

    // MS-SMB2's NEGOTIATE response of the 3.1.1 key-derivation example (testdata/ms-smb2).
    let kat = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/ms-smb2/preauth.kat"))
        .unwrap();
    let hex = kat
        .split("name = smb311_anatomy_master_2_negotiate_response")
        .nth(1)
        .and_then(|rest| rest.lines().find_map(|l| l.strip_prefix("packet = ")))
        .unwrap();
    let bytes: Vec<u8> = (0..hex.len()).step_by(2).map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap()).collect();
    let message = kdc.dir.join("negotiate.bin");
    std::fs::write(&message, bytes).unwrap();
    let out = run("decode", &["smb2", message.to_str().unwrap()], &[], "");
    let said = String::from_utf8_lossy(&out.stdout);
    assert!(said.starts_with("SMB2 NEGOTIATE response message_id=1 credits=1 status=STATUS_SUCCESS"), "{said}");
}

#[test]
fn axum_streams_a_file_with_a_managed_identity() {
    let Some(kdc) = MitKdc::start() else { return };
    let Some(smbd) = Smbd::start(&kdc.dir, SmbMode::Encrypt, Some(&kdc)) else { return };
    let Some(azure) = AzureEmulator::start(&kdc, (&smbd.user, &smbd.password), 1) else { return };
    let data: Vec<u8> = (0..2_500_003u32).map(|i| (i * 7 + i / 251) as u8).collect();
    std::fs::create_dir_all(smbd.share_path.join("reports")).unwrap();
    std::fs::write(smbd.share_path.join("reports/2026.bin"), &data).unwrap();

    let url = format!("smb://{}:{}/{}", share_host(&kdc), smbd.port, smbd.share);
    let mut server = Command::new(example("axum_stream"))
        .args([&url, "127.0.0.1:0", "--ip", "127.0.0.1", "--file-endpoint", &azure.https])
        .envs(kdc.client_env())
        .env("AZURE_POD_IDENTITY_AUTHORITY_HOST", &azure.http)
        .env("SSL_CERT_FILE", &azure.cert.ca)
        .env_remove("KRB5CCNAME")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut first = String::new();
    BufReader::new(server.stdout.take().unwrap()).read_line(&mut first).unwrap();
    let served = first.trim().rsplit("http://").next().unwrap().to_string();
    let get = |path: &str| {
        let mut s = std::net::TcpStream::connect(&served)
            .unwrap_or_else(|e| panic!("{served}: {e}; the example said {first:?}"));
        write!(s, "GET {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n").unwrap();
        let mut answer = Vec::new();
        s.read_to_end(&mut answer).unwrap();
        let end = answer.windows(4).position(|w| w == b"\r\n\r\n").unwrap();
        (String::from_utf8_lossy(&answer[..end]).into_owned(), answer[end + 4..].to_vec())
    };
    let (head, body) = get("/files/reports/2026.bin");
    let _ = server.kill();
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    assert!(head.to_ascii_lowercase().contains(&format!("content-length: {}", data.len())), "{head}");
    assert!(body == data, "the answer carries the file's bytes ({} of {})", body.len(), data.len());
    let _ = server.wait();
}
