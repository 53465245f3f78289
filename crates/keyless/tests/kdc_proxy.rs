//! MS-KKDCP: keyless through Debian's python3-kdcproxy, MIT kinit through `keyless kdc-proxy`,
//! keyless through its own proxy, a cloud-trust realm reachable only through a proxy, and bad
//! proxies giving one clear error each.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_testbed::{MitKdc, PyKdcProxy, TestCert, free_port, require, wait_for_tcp};
use std::io::Write;
use std::path::Path;
use std::process::{Child, Command, Output, Stdio};

fn run_with(env: &[(&str, &Path)], program: &str, args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
        .env_remove("KRB5CCNAME")
        .env_remove("SSL_CERT_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

fn ok(out: Output, what: &str) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

const KEYLESS: &str = env!("CARGO_BIN_EXE_keyless");

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
        let cert = TestCert::new(&kdc.dir, &format!("ours-{}", free_port()), &["127.0.0.1", "localhost"]).unwrap();
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
