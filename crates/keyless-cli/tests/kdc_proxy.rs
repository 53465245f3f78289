//! MS-KKDCP: keyless through Debian's python3-kdcproxy, MIT kinit through `keyless kdc-proxy`,
//! keyless through its own proxy, a cloud-trust realm reachable only through a proxy, and bad
//! proxies giving one clear error each.
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use common::KEYLESS;
use keyless_testbed::{MitKdc, PyKdcProxy, TestCert, free_port, require, wait_for_tcp};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

mod common;

fn run_with(env: &[(&str, &Path)], program: &str, args: &[&str], stdin: &str) -> Output {
    common::run(program, args, env.iter().copied(), stdin)
}

fn ok(out: Output, what: &str) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

/// A client krb5.conf whose realms are reached only through `url`, trusting `ca`.
fn proxied_conf(kdc: &MitKdc, url: &str, ca: &Path, extra: &str) -> std::path::PathBuf {
    let path = kdc.dir.join(&format!("krb5-proxy-{}.conf", free_port()));
    let mut text = format!(
        "[libdefaults]\n default_realm = {}\n dns_lookup_kdc = false\n dns_canonicalize_hostname = false\n rdns = false\n allow_rc4 = true\n[realms]\n",
        kdc.realms[0].name
    );
    for r in &kdc.realms {
        text += &format!(" {} = {{\n  kdc = {url}\n  http_anchors = FILE:{}\n }}\n", r.name, ca.display());
    }
    text += extra;
    std::fs::write(&path, text).unwrap();
    path
}

/// `keyless kdc-proxy` serving every realm of `kdc`; stopped by PID on drop.
struct OurProxy {
    url: String,
    cert: TestCert,
    child: Child,
}

impl OurProxy {
    fn start(kdc: &MitKdc) -> Self {
        Self::start_with(
            kdc,
            TestCert::new(&kdc.dir, &format!("ours-{}", free_port()), &["127.0.0.1", "localhost"]).unwrap(),
        )
    }

    fn start_with(kdc: &MitKdc, cert: TestCert) -> Self {
        let port = free_port();
        let listen = format!("127.0.0.1:{port}");
        let mut args =
            vec!["kdc-proxy".to_string(), "--listen".into(), listen, "--cert".into(), cert.cert.display().to_string()];
        args.extend(["--key".into(), cert.key.display().to_string()]);
        for r in &kdc.realms {
            args.extend(["--realm".into(), format!("{}=127.0.0.1:{}", r.name, r.port)]);
        }
        let child = Command::new(KEYLESS).args(&args).stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        wait_for_tcp(port, "keyless kdc-proxy");
        Self { url: format!("https://127.0.0.1:{port}/KdcProxy"), cert, child }
    }
}

impl Drop for OurProxy {
    fn drop(&mut self) {
        keyless_testbed::stop(&mut self.child);
    }
}

fn kinit_kvno(conf: &Path, kdc: &MitKdc, cc: &str, extra_args: &[&str], service: &str) -> String {
    let env = [("KRB5_CONFIG", conf)];
    let mut args = vec!["kinit", "-c", cc];
    args.extend_from_slice(extra_args);
    args.push(&kdc.user);
    ok(run_with(&env, KEYLESS, &args, &format!("{}\n", kdc.password)), "keyless kinit via proxy");
    ok(run_with(&env, KEYLESS, &["kvno", "-c", cc, service], ""), "keyless kvno via proxy")
}

#[test]
fn keyless_through_python_kdcproxy() {
    let Some(kdc) = MitKdc::start() else { return };
    let Some(proxy) = PyKdcProxy::start(&kdc.dir, &[("EXAMPLE.TEST", kdc.realms[0].port)]) else { return };
    // From krb5.conf: kdc = https://..., http_anchors = FILE:...
    let conf = proxied_conf(&kdc, &proxy.url, &proxy.cert.ca, "");
    let cc = format!("FILE:{}", kdc.dir.join("cc-py").display());
    let out = kinit_kvno(&conf, &kdc, &cc, &[], &kdc.service);
    assert!(out.contains("cifs/files.example.test@EXAMPLE.TEST: kvno = "), "{out}");
    // From the command line: --kdc https://... --ca-file, with krb5.conf knowing no KDC at all.
    let bare = kdc.dir.join("krb5-bare.conf");
    std::fs::write(&bare, "[libdefaults]\n default_realm = EXAMPLE.TEST\n allow_rc4 = true\n").unwrap();
    let env = [("KRB5_CONFIG", bare.as_path())];
    let cc2 = format!("FILE:{}", kdc.dir.join("cc-py2").display());
    let ca = proxy.cert.ca.display().to_string();
    ok(
        run_with(
            &env,
            KEYLESS,
            &["kinit", "-c", &cc2, "--kdc", &proxy.url, "--ca-file", &ca, &kdc.user],
            &format!("{}\n", kdc.password),
        ),
        "keyless kinit --kdc https",
    );
}

#[test]
fn mit_kinit_and_keyless_through_keyless_kdc_proxy() {
    let Some(kdc) = MitKdc::start() else { return };
    let Some(()) = require(&["kinit", "kvno", "klist"]) else { return };
    let proxy = OurProxy::start(&kdc);
    let conf = proxied_conf(&kdc, &proxy.url, &proxy.cert.ca, "");
    let env = [("KRB5_CONFIG", conf.as_path())];
    let cc = format!("FILE:{}", kdc.dir.join("cc-mit-ours").display());
    let out = run_with(&env, "kinit", &["-c", &cc, &kdc.user], &format!("{}\n", kdc.password));
    assert!(
        out.status.success(),
        "MIT kinit through keyless kdc-proxy (needs krb5-k5tls): {}",
        String::from_utf8_lossy(&out.stderr)
    );
    ok(run_with(&env, "kvno", &["-c", &cc, &kdc.service], ""), "MIT kvno through keyless kdc-proxy");
    let cc2 = format!("FILE:{}", kdc.dir.join("cc-ours-ours").display());
    let out = kinit_kvno(&conf, &kdc, &cc2, &[], &kdc.service);
    assert!(out.contains("kvno = "), "{out}");
}

#[test]
fn a_self_signed_proxy_is_trusted_by_its_file_and_refused_otherwise() {
    let Some(kdc) = MitKdc::start() else { return };
    let Some(()) = require(&["kinit"]) else { return };
    // OpenSSL's default `req -x509`: self-signed and CA:TRUE, which WebPKI refuses as a server's.
    let proxy = OurProxy::start_with(&kdc, TestCert::self_signed(&kdc.dir, "self", &["127.0.0.1"]).unwrap());
    let conf = proxied_conf(&kdc, &proxy.url, &proxy.cert.ca, "");
    let cc = format!("FILE:{}", kdc.dir.join("cc-self-signed").display());
    let out = kinit_kvno(&conf, &kdc, &cc, &[], &kdc.service);
    assert!(out.contains("kvno = "), "{out}");
    // MIT agrees that trusting the file trusts the server.
    let mit_cc = format!("FILE:{}", kdc.dir.join("cc-self-signed-mit").display());
    let out = run_with(
        &[("KRB5_CONFIG", conf.as_path())],
        "kinit",
        &["-c", &mit_cc, &kdc.user],
        &format!("{}\n", kdc.password),
    );
    assert!(out.status.success(), "MIT kinit: {}", String::from_utf8_lossy(&out.stderr));

    // Not named as trusted, or named but for another host: one line, no cache.
    let other = TestCert::new(&kdc.dir, "other", &["127.0.0.1"]).unwrap();
    let wrong_name =
        OurProxy::start_with(&kdc, TestCert::self_signed(&kdc.dir, "self-wrong", &["wrong.example"]).unwrap());
    for (url, ca, expect) in [
        (&proxy.url, &other.ca, "invalid peer certificate"),
        (&wrong_name.url, &wrong_name.cert.ca, "not valid for name"),
    ] {
        let conf = proxied_conf(&kdc, url, ca, "");
        let cc = kdc.dir.join("cc-self-refused");
        let out = run_with(
            &[("KRB5_CONFIG", conf.as_path())],
            KEYLESS,
            &["kinit", "-c", &format!("FILE:{}", cc.display()), &kdc.user],
            &format!("{}\n", kdc.password),
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url}: succeeded");
        assert_eq!(err.lines().count(), 1, "{url}: one line expected:\n{err}");
        assert!(err.contains("TLS with KDC proxy") && err.contains(expect), "{url}: expected {expect:?} in:\n{err}");
        assert!(!cc.exists(), "{url}: a cache was written");
    }
}

#[test]
fn cloud_trust_referral_reaches_the_cloud_realm_only_through_the_proxy() {
    const CLOUD: &str = "KERBEROS.MICROSOFTONLINE.COM";
    // The on-premises KDC refers *.file.core.windows.net to the cloud realm, as AD does with a
    // cloud trust; the client has no [domain_realm] mapping and no direct route to the cloud KDC.
    let Some(kdc) = MitKdc::start_realms_with(&["ONPREM.TEST", CLOUD], &[(".file.core.windows.net", CLOUD)]) else {
        return;
    };
    kdc.kadmin(CLOUD, "addprinc +no_auth_data_required -randkey cifs/acct.file.core.windows.net");
    let proxy = OurProxy::start(&kdc);
    let conf = kdc.dir.join("krb5-cloud.conf");
    std::fs::write(
        &conf,
        format!(
            "[libdefaults]\n default_realm = ONPREM.TEST\n dns_canonicalize_hostname = false\n rdns = false\n allow_rc4 = true\n\
             [realms]\n ONPREM.TEST = {{\n  kdc = 127.0.0.1:{}\n }}\n {CLOUD} = {{\n  kdc = {}\n  http_anchors = FILE:{}\n }}\n",
            kdc.realm("ONPREM.TEST").port,
            proxy.url,
            proxy.cert.ca.display()
        ),
    )
    .unwrap();
    let cc = format!("FILE:{}", kdc.dir.join("cc-cloud").display());
    let out = kinit_kvno(&conf, &kdc, &cc, &[], "cifs/acct.file.core.windows.net");
    assert!(out.contains(&format!("cifs/acct.file.core.windows.net@{CLOUD}: kvno = ")), "{out}");
    let listed = ok(run_with(&[("KRB5_CONFIG", conf.as_path())], KEYLESS, &["klist", "-c", &cc], ""), "klist");
    assert!(listed.contains(&format!("krbtgt/{CLOUD}@ONPREM.TEST")), "the referral TGT is cached:\n{listed}");
}

/// An HTTPS server that answers every request with the same raw bytes (status line included).
fn fake_proxy(kdc: &MitKdc, cert: &TestCert, answer: &'static [u8]) -> String {
    use rustls::pki_types::pem::PemObject;
    let chain = rustls::pki_types::CertificateDer::pem_file_iter(&cert.cert).unwrap().map(Result::unwrap).collect();
    let key = rustls::pki_types::PrivateKeyDer::from_pem_file(&cert.key).unwrap();
    let tls = std::sync::Arc::new(
        rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(rustls::crypto::ring::default_provider()))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_no_client_auth()
            .with_single_cert(chain, key)
            .unwrap(),
    );
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    listener.set_nonblocking(true).unwrap();
    let _ = kdc;
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            use tokio::io::AsyncWriteExt;
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let acceptor = tokio_rustls::TlsAcceptor::from(tls);
            while let Ok((tcp, _)) = listener.accept().await {
                let Ok(mut s) = acceptor.accept(tcp).await else { continue };
                let _ = keyless_net::http::read_message(&mut s, 1 << 20, false).await;
                let _ = s.write_all(answer).await;
                let _ = s.shutdown().await;
            }
        });
    });
    format!("https://127.0.0.1:{port}/KdcProxy")
}

#[test]
fn bad_proxies_give_one_clear_line_and_no_cache() {
    let Some(kdc) = MitKdc::start() else { return };
    let cert = TestCert::new(&kdc.dir, "fake", &["127.0.0.1"]).unwrap();
    let wrong_host = TestCert::new(&kdc.dir, "wrong", &["wrong.example"]).unwrap();
    let real = PyKdcProxy::start(&kdc.dir, &[("EXAMPLE.TEST", kdc.realms[0].port)]);
    let cases: Vec<(String, &Path, &str)> = vec![
        (
            fake_proxy(
                &kdc,
                &cert,
                b"HTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nContent-Length: 9\r\n\r\n<h1>x</h1",
            ),
            &cert.ca,
            "answered HTTP 404: Not Found (text/html)",
        ),
        (
            fake_proxy(
                &kdc,
                &cert,
                b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\r\n<html></html>",
            ),
            &cert.ca,
            "not a KDC proxy answer",
        ),
        (
            fake_proxy(&kdc, &cert, b"HTTP/1.1 200 OK\r\nContent-Length: 500\r\n\r\n0\x82"),
            &cert.ca,
            "closed before the answer was complete",
        ),
        // A well-formed KDC-PROXY-MESSAGE whose Kerberos message is junk.
        (
            fake_proxy(
                &kdc,
                &cert,
                b"HTTP/1.1 200 OK\r\nContent-Length: 13\r\n\r\n\x30\x0b\xa0\x09\x04\x07\x00\x00\x00\x03junk",
            ),
            &cert.ca,
            "malformed KDC reply",
        ),
        (fake_proxy(&kdc, &wrong_host, b"HTTP/1.1 500 x\r\n\r\n"), &wrong_host.ca, "TLS with KDC proxy"),
    ];
    let mut cases = cases;
    if let Some(real) = &real {
        // The real proxy, but its CA not trusted.
        cases.push((real.url.clone(), &cert.ca, "TLS with KDC proxy"));
    }
    for (url, ca, expect) in &cases {
        let conf = proxied_conf(&kdc, url, ca, "");
        let cc = kdc.dir.join("cc-bad");
        let out = run_with(
            &[("KRB5_CONFIG", conf.as_path())],
            KEYLESS,
            &["kinit", "-c", &format!("FILE:{}", cc.display()), &kdc.user],
            "x\n",
        );
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{url}: succeeded");
        assert_eq!(err.lines().count(), 1, "{url}: one line expected:\n{err}");
        assert!(err.contains(expect), "{url}: expected {expect:?} in:\n{err}");
        assert!(!cc.exists(), "{url}: a cache was written");
    }
}

#[test]
fn keyless_kdc_proxy_survives_a_flood_and_refuses_other_realms() {
    let Some(kdc) = MitKdc::start() else { return };
    let proxy = OurProxy::start(&kdc);
    let port: u16 = proxy.url.trim_start_matches("https://127.0.0.1:").trim_end_matches("/KdcProxy").parse().unwrap();
    // Bounded junk on loopback: raw bytes instead of TLS, connections closed at once, and over
    // TLS an oversized request, a GET, garbage bodies and a realm the proxy does not serve.
    for i in 0..60u32 {
        if let Ok(mut s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            let _ = s.write_all(&vec![(i % 251) as u8; 300 + i as usize * 37]);
        }
    }
    let ca = proxy.cert.ca.clone();
    let tls_request = |request: Vec<u8>| -> String {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async {
            use tokio::io::{AsyncReadExt, AsyncWriteExt};
            let mut roots = rustls::RootCertStore::empty();
            use rustls_pki_types::pem::PemObject;
            for c in rustls_pki_types::CertificateDer::pem_file_iter(&ca).unwrap() {
                roots.add(c.unwrap()).unwrap();
            }
            let config = rustls::ClientConfig::builder_with_provider(std::sync::Arc::new(
                rustls::crypto::ring::default_provider(),
            ))
            .with_safe_default_protocol_versions()
            .unwrap()
            .with_root_certificates(roots)
            .with_no_client_auth();
            let tcp = tokio::net::TcpStream::connect(("127.0.0.1", port)).await.unwrap();
            let name = rustls_pki_types::ServerName::try_from("127.0.0.1").unwrap();
            let mut s = tokio_rustls::TlsConnector::from(std::sync::Arc::new(config)).connect(name, tcp).await.unwrap();
            let _ = s.write_all(&request).await;
            let mut answer = Vec::new();
            let _ = s.read_to_end(&mut answer).await;
            String::from_utf8_lossy(&answer).lines().next().unwrap_or("").to_string()
        })
    };
    let post = |body: &[u8]| {
        let mut r =
            format!("POST /KdcProxy HTTP/1.1\r\nHost: x\r\nContent-Length: {}\r\n\r\n", body.len()).into_bytes();
        r.extend_from_slice(body);
        r
    };
    assert!(tls_request(b"POST / HTTP/1.1\r\nContent-Length: 99999999\r\n\r\n".to_vec()).contains(" 400 "));
    assert!(tls_request(b"GET / HTTP/1.1\r\nContent-Length: 0\r\n\r\n".to_vec()).contains(" 405 "));
    for i in 0..40u8 {
        assert!(tls_request(post(&vec![i; 10 + usize::from(i) * 13])).contains(" 400 "), "garbage body {i}");
    }
    let other_realm = keyless_krb::kkdcp::wrap_request(b"\x6a\x00", "EVIL.EXAMPLE").unwrap();
    let answer = tls_request(post(&other_realm));
    assert!(answer.contains(" 400 "), "other realm: {answer}");
    // Still serving the real thing.
    let conf = proxied_conf(&kdc, &proxy.url, &proxy.cert.ca, "");
    let cc = format!("FILE:{}", kdc.dir.join("cc-after-flood").display());
    let out = kinit_kvno(&conf, &kdc, &cc, &[], &kdc.service);
    assert!(out.contains("kvno = "), "{out}");
}

/// Keeps a copy of each KDC reply an exchange gets.
struct Recording<'a, E> {
    inner: &'a mut E,
    replies: Vec<Vec<u8>>,
}

impl<E: keyless_net::transport::Exchange> keyless_net::transport::Exchange for Recording<'_, E> {
    fn handle_reply(
        &mut self,
        reply: &[u8],
        now: std::time::SystemTime,
        rng: &mut dyn keyless_krb::RandomSource,
    ) -> Result<keyless_krb::Step, keyless_krb::Error> {
        self.replies.push(reply.to_vec());
        self.inner.handle_reply(reply, now, rng)
    }
}

#[test]
fn entra_shape_imported_cloud_tgt_gets_a_files_ticket_through_the_proxy() {
    use keyless_krb::{AsExchange, AsOptions, ClientSecret, Principal};
    use keyless_net::OsRandom;
    const CLOUD: &str = "KERBEROS.MICROSOFTONLINE.COM";
    let Some(kdc) = MitKdc::start_realms(&[CLOUD]) else { return };
    kdc.kadmin(CLOUD, "addprinc +no_auth_data_required -randkey cifs/acct.file.core.windows.net");
    let proxy = OurProxy::start(&kdc);
    // Entra's proxy URL shape: https://login.microsoftonline.com/<tenant-id>/kerberos.
    let url = proxy.url.replace("/KdcProxy", "/00000000-0000-0000-0000-000000000000/kerberos");

    // "Sign-in": Entra hands the client an AS-REP and the key that opens it (here: alice's
    // aes256 key, as the MIT realm plays Entra). keyless only ever sees those bytes.
    let alice = Principal::parse(&kdc.user, None).unwrap();
    let mut opts = AsOptions::new(alice.clone());
    opts.etypes = vec![keyless_crypto::EncType::AES256_CTS_HMAC_SHA1_96];
    let mut dir = keyless_net::transport::KdcDirectory::new();
    dir.add(CLOUD, keyless_net::transport::KdcAddr::parse(&kdc.kdc_addr()).unwrap());
    let secret = ClientSecret::Password(zeroize::Zeroizing::new(kdc.password.clone()));
    let (tgt, as_rep) = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let mut rng = OsRandom;
        let (mut ex, first) = AsExchange::start(opts, secret, std::time::SystemTime::now(), &mut rng).unwrap();
        let mut rec = Recording { inner: &mut ex, replies: Vec::new() };
        let tgt =
            keyless_net::transport::run(&dir, &mut rec, first, &mut rng, &std::time::SystemTime::now).await.unwrap();
        (tgt, rec.replies.pop().unwrap())
    });
    let client_key = keyless_crypto::for_etype(keyless_crypto::EncType::AES256_CTS_HMAC_SHA1_96)
        .unwrap()
        .string_to_key(kdc.password.as_bytes(), format!("{CLOUD}alice").as_bytes(), None)
        .unwrap();
    use base64::Engine;
    let b64 = |b: &[u8]| base64::engine::general_purpose::STANDARD.encode(b);
    std::fs::write(kdc.dir.join("messageBuffer.b64"), b64(&as_rep)).unwrap();
    std::fs::write(kdc.dir.join("clientKey.b64"), b64(client_key.expose_bytes())).unwrap();
    std::fs::write(kdc.dir.join("tgt.krbcred"), keyless_krb::krb_cred::encode_unencrypted(&[tgt]).unwrap()).unwrap();

    // The client knows the cloud realm only through the proxy and [domain_realm].
    let conf = kdc.dir.join("krb5-entra.conf");
    std::fs::write(
        &conf,
        format!(
            "[libdefaults]\n dns_canonicalize_hostname = false\n rdns = false\n[realms]\n {CLOUD} = {{\n  kdc = {url}\n  http_anchors = FILE:{}\n }}\n\
             [domain_realm]\n .file.core.windows.net = {CLOUD}\n",
            proxy.cert.ca.display()
        ),
    )
    .unwrap();
    let env = [("KRB5_CONFIG", conf.as_path())];
    for (tag, args) in [
        (
            "as-rep",
            vec![
                "--as-rep".to_string(),
                kdc.dir.join("messageBuffer.b64").display().to_string(),
                "--key-file".into(),
                kdc.dir.join("clientKey.b64").display().to_string(),
            ],
        ),
        ("krb-cred", vec!["--krb-cred".to_string(), kdc.dir.join("tgt.krbcred").display().to_string()]),
    ] {
        let cc = format!("FILE:{}", kdc.dir.join(&format!("cc-entra-{tag}")).display());
        let mut import = vec!["import".to_string(), "-c".into(), cc.clone()];
        import.extend(args);
        let import: Vec<&str> = import.iter().map(String::as_str).collect();
        let out = ok(run_with(&env, KEYLESS, &import, ""), "keyless import");
        assert!(out.contains(&format!("imported krbtgt/{CLOUD}@{CLOUD} for alice@{CLOUD}")), "{out}");
        let out = ok(
            run_with(&env, KEYLESS, &["kvno", "-c", &cc, "cifs/acct.file.core.windows.net"], ""),
            "keyless kvno (Entra)",
        );
        assert!(out.contains(&format!("cifs/acct.file.core.windows.net@{CLOUD}: kvno = ")), "{tag}: {out}");
    }
}
