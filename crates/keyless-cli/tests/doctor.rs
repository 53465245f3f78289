//! `keyless doctor` against the loopback peers (MIT KDC, smbd with encryption required, the
//! Azure emulators), one fault injected per case: each gives its own diagnosis line and the
//! exit status of its link; with no fault every line is ok.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_testbed::{AzureEmulator, MitKdc, SmbMode, Smbd};
use std::ffi::OsString;
use std::path::PathBuf;

mod common;

struct Setup {
    kdc: MitKdc,
    smbd: Smbd,
    cache: PathBuf,
}

fn setup(mode: SmbMode) -> Option<Setup> {
    let kdc = MitKdc::start()?;
    let smbd = Smbd::start(&kdc.dir, mode, Some(&kdc))?;
    let cache = kdc.dir.join("doctor.ccache");
    kdc.mit_kinit(&cache);
    Some(Setup { kdc, smbd, cache })
}

/// What doctor printed, and its exit status.
struct Diagnosis {
    code: i32,
    text: String,
}

impl Diagnosis {
    /// The line of `link`.
    fn line(&self, link: &str) -> &str {
        self.text
            .lines()
            .find(|l| l.split_whitespace().nth(1) == Some(link))
            .unwrap_or_else(|| panic!("no {link} line in:\n{}", self.text))
    }

    fn failed(&self, link: &str, code: i32, says: &str) {
        let line = self.line(link);
        eprintln!("{line}");
        assert!(line.starts_with("FAIL"), "{link} should fail:\n{}", self.text);
        assert!(line.contains(says), "{link}: expected {says:?} in:\n{}", self.text);
        assert_eq!(self.code, code, "exit status:\n{}", self.text);
    }
}

impl Setup {
    fn url(&self) -> String {
        format!("smb://files.example.test/{}", self.smbd.share)
    }

    fn doctor(&self, extra: &[&str], env: &[(&'static str, OsString)]) -> Diagnosis {
        self.doctor_with_cache(&self.cache, extra, env)
    }

    fn doctor_with_cache(
        &self,
        cache: &std::path::Path,
        extra: &[&str],
        env: &[(&'static str, OsString)],
    ) -> Diagnosis {
        let cache = format!("FILE:{}", cache.display());
        let port = self.smbd.port.to_string();
        let mut args = vec!["doctor", self.url_str(), "--ip", "127.0.0.1", "--port", &port, "-c", &cache];
        args.extend_from_slice(extra);
        let mut all = self.kdc.client_env();
        all.extend(env.iter().cloned());
        doctor(&args, all)
    }

    fn url_str(&self) -> &'static str {
        Box::leak(self.url().into_boxed_str())
    }
}

fn doctor(args: &[&str], env: Vec<(&'static str, OsString)>) -> Diagnosis {
    let out = common::run(common::KEYLESS, args, env, "");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.stderr.is_empty(), "doctor wrote to stderr: {}", String::from_utf8_lossy(&out.stderr));
    Diagnosis { code: out.status.code().unwrap_or(-1), text }
}

#[test]
fn with_no_fault_every_line_is_ok() {
    let Some(s) = setup(SmbMode::Encrypt) else { return };
    let d = s.doctor(&[], &[]);
    eprintln!("{}", d.text);
    assert_eq!(d.code, 0, "{}", d.text);
    for link in ["name", "tcp", "negotiate", "clock", "realm", "cache", "tgt", "kdc", "ticket", "session"] {
        assert!(d.line(link).starts_with("ok "), "{link}:\n{}", d.text);
    }
    assert!(d.line("negotiate").contains("SMB 3.1.1"), "{}", d.text);
    assert!(d.line("session").contains("encrypted"), "{}", d.text);
    // With a password instead of Kerberos: no Kerberos links, and the session as the commands
    // open it.
    let pw = s.kdc.dir.join("ntlm-password");
    std::fs::write(&pw, format!("{}\n", s.smbd.password)).unwrap();
    let d = s.doctor(&["--auth", "ntlm", "-U", &s.smbd.user, "--password-file", pw.to_str().unwrap()], &[]);
    assert_eq!(d.code, 0, "{}", d.text);
    assert!(d.line("session").starts_with("ok ") && d.line("cache").starts_with("skip "), "{}", d.text);

    // The doctor looks and does not touch: no service ticket was added to the cache.
    let klist = common::ok(
        common::run("klist", &["-c", &format!("FILE:{}", s.cache.display())], s.kdc.client_env(), ""),
        "klist",
    );
    assert!(!klist.contains("cifs/"), "{klist}");
}

#[test]
fn a_stopped_kdc() {
    let Some(mut s) = setup(SmbMode::Encrypt) else { return };
    s.kdc.stop_kdcs();
    s.doctor(&[], &[]).failed("kdc", 17, "no KDC of EXAMPLE.TEST answered");
}

#[test]
fn a_clock_two_hours_ahead() {
    const LIB: &str = "/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1";
    if !std::path::Path::new(LIB).exists() {
        assert!(std::env::var_os("CI").is_none(), "libfaketime is not installed: run cargo xtask deps");
        eprintln!("skipped: libfaketime is not installed");
        return;
    }
    let Some(s) = setup(SmbMode::Encrypt) else { return };
    let env =
        [("LD_PRELOAD", OsString::from(LIB)), ("FAKETIME", "+2h".into()), ("FAKETIME_DONT_FAKE_MONOTONIC", "1".into())];
    let d = s.doctor(&[], &env);
    d.failed("clock", 13, "this machine's clock is 2 h 0 min ahead of");
}

#[test]
fn a_wrong_realm_mapping() {
    let Some(s) = setup(SmbMode::Encrypt) else { return };
    let conf = s.kdc.dir.join("krb5-wrong-realm.conf");
    let text = std::fs::read_to_string(&s.kdc.krb5_conf).unwrap();
    std::fs::write(&conf, format!("{text}    files.example.test = WRONG.TEST\n")).unwrap();
    let d = s.doctor(&[], &[("KRB5_CONFIG", conf.into_os_string())]);
    d.failed("realm", 14, "krb5.conf maps files.example.test to WRONG.TEST, a realm whose KDCs it does not name");
    assert!(d.line("realm").contains("(files.example.test = EXAMPLE.TEST)"), "{}", d.text);
}

#[test]
fn no_cache_and_an_expired_ticket() {
    let Some(s) = setup(SmbMode::Encrypt) else { return };
    let none = s.kdc.dir.join("no-such.ccache");
    s.doctor_with_cache(&none, &[], &[]).failed("cache", 15, "no credential cache at FILE:");
    let short = s.kdc.dir.join("short.ccache");
    s.kdc.mit_kinit_with(&short, &["-l", "3s"]);
    std::thread::sleep(std::time::Duration::from_secs(4));
    s.doctor_with_cache(&short, &[], &[]).failed("tgt", 16, "the TGT for alice@EXAMPLE.TEST in FILE:");
}

#[test]
fn a_service_principal_the_kdc_does_not_know() {
    let Some(s) = setup(SmbMode::Encrypt) else { return };
    let d = s.doctor(&["--spn", "cifs/nosuch.example.test"], &[]);
    d.failed("ticket", 18, "knows no cifs/nosuch.example.test@EXAMPLE.TEST (KDC_ERR_S_PRINCIPAL_UNKNOWN)");
}

#[test]
fn a_server_of_smb_2_only() {
    let Some(s) = setup(SmbMode::Only("SMB2_10")) else { return };
    s.doctor(&[], &[]).failed("negotiate", 12, "the server offers only SMB 2.1");
}

#[test]
fn a_server_demanding_encryption_over_smb_2() {
    let Some(s) = setup(SmbMode::EncryptOnly("SMB2_10")) else { return };
    let d = s.doctor(&["--allow-smb2"], &[]);
    d.failed("session", 22, "it demands encryption, which SMB 2 cannot give");
    assert!(d.line("negotiate").starts_with("ok"), "{}", d.text);
}

#[test]
fn a_missing_request_key_rule() {
    let Some(s) = setup(SmbMode::Encrypt) else { return };
    let rules = s.kdc.dir.join("request-key.d");
    std::fs::create_dir_all(&rules).unwrap();
    std::fs::write(rules.join("cifs.idmap.conf"), "create cifs.idmap * * /usr/sbin/cifs.idmap %k\n").unwrap();
    let d = s.doctor(&["--kernel", "--request-key-conf", rules.to_str().unwrap()], &[]);
    d.failed("request-key", 23, "no request-key rule for cifs.spnego");
    assert!(d.line("request-key").contains("keyless cifs-upcall --install"), "{}", d.text);
    // With the rule, the line names the program it runs.
    std::fs::write(
        rules.join("keyless-cifs.spnego.conf"),
        format!("create cifs.spnego * * {} cifs-upcall %k\n", common::KEYLESS),
    )
    .unwrap();
    let d = s.doctor(&["--kernel", "--request-key-conf", rules.to_str().unwrap()], &[]);
    assert!(d.line("request-key").starts_with("ok") && d.line("upcall").starts_with("ok"), "{}", d.text);
}

/// The SMB OAuth path: the emulated IMDS and kerbticket endpoint, the real KDC's tickets.
struct OAuth {
    s: Setup,
    azure: AzureEmulator,
}

impl OAuth {
    fn start() -> Option<Self> {
        let s = setup(SmbMode::Encrypt)?;
        let azure = AzureEmulator::start(&s.kdc, (&s.smbd.user, &s.smbd.password), 1)?;
        Some(Self { s, azure })
    }

    fn doctor(&self, extra: &[&str]) -> Diagnosis {
        let mut args =
            vec!["--auth", "oauth", "--imds-endpoint", &self.azure.http, "--file-endpoint", &self.azure.https];
        args.extend(["--ca-file", self.azure.cert.ca.to_str().unwrap()]);
        args.extend_from_slice(extra);
        self.s.doctor(&args, &[])
    }
}

#[test]
fn the_oauth_path_and_its_faults() {
    let Some(o) = OAuth::start() else { return };
    let d = o.doctor(&[]);
    assert_eq!(d.code, 0, "{}", d.text);
    for link in ["name", "tcp", "negotiate", "clock", "identity", "token", "kerbticket", "session"] {
        assert!(d.line(link).starts_with("ok "), "{link}:\n{}", d.text);
    }

    o.azure.set_imds_mode("no_identity");
    o.doctor(&[]).failed("identity", 19, "has no managed identity to give a token for");
    o.azure.set_imds_mode("ok");

    o.azure.script("kerbticket", &[403]);
    o.doctor(&[]).failed("kerbticket", 21, "the identity may not use SMB on this account");

    o.azure.set_kerbticket_mode("oauth_disabled");
    let d = o.doctor(&[]);
    d.failed("kerbticket", 21, "SMB OAuth is not enabled on the storage account");
    assert!(d.line("kerbticket").contains("-EnableSmbOAuth"), "{}", d.text);
    o.azure.set_kerbticket_mode("ok");

    let token = o.s.kdc.dir.join("wrong-audience.token");
    std::fs::write(&token, o.azure.token("https://storage.azure.com/", 600)).unwrap();
    let d = o.doctor(&["--token-file", token.to_str().unwrap()]);
    d.failed("token", 20, "https://storage.azure.com/");
    assert!(!d.text.contains(&std::fs::read_to_string(&token).unwrap()[..20]), "the token is never printed");
}

#[test]
fn json_says_the_same() {
    let Some(s) = setup(SmbMode::Only("SMB2_10")) else { return };
    let d = s.doctor(&["--json"], &[]);
    assert_eq!(d.code, 12);
    let v: serde_json::Value = serde_json::from_str(&d.text).unwrap();
    assert_eq!(v["exit"], 12);
    let negotiate = v["links"].as_array().unwrap().iter().find(|l| l["link"] == "negotiate").unwrap();
    assert_eq!(negotiate["status"], "fail");
    assert!(negotiate["detail"].as_str().unwrap().contains("SMB 2.1"));
}
