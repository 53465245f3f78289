//! `keyless kinit/klist/kvno/kdestroy/keytab` against a real MIT KDC and MIT's own tools
//! (kinit, klist, kvno, ktutil) on the same files, both ways.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_testbed::{ENCTYPES, MitKdc, require};
use std::path::Path;
use std::process::Output;

mod common;

/// Runs a program with the KDC's client environment and `stdin` fed in.
fn run_with(kdc: &MitKdc, program: &str, args: &[&str], stdin: &str) -> Output {
    common::run(program, args, kdc.client_env(), stdin)
}

fn keyless(kdc: &MitKdc, args: &[&str], stdin: &str) -> Output {
    run_with(kdc, common::KEYLESS, args, stdin)
}

fn ok(out: Output, what: &str) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

fn mit_tools() -> Option<()> {
    require(&["kinit", "klist", "kvno", "ktutil", "kdestroy"])
}

#[test]
fn keyless_kinit_cache_is_read_by_mit_klist_and_kvno() {
    let (Some(kdc), Some(())) = (MitKdc::start(), mit_tools()) else { return };
    let cc = kdc.dir.join("cc-keyless");
    let ccname = format!("FILE:{}", cc.display());
    ok(keyless(&kdc, &["kinit", "-c", &ccname, &kdc.user], &format!("{}\n", kdc.password)), "keyless kinit");
    let mode = std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(&cc).unwrap().permissions());
    assert_eq!(mode & 0o777, 0o600, "cache mode");
    let listed = ok(run_with(&kdc, "klist", &["-c", &ccname], ""), "MIT klist");
    assert!(listed.contains("Default principal: alice@EXAMPLE.TEST"), "{listed}");
    assert!(listed.contains("krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"), "{listed}");
    ok(run_with(&kdc, "kvno", &["-c", &ccname, &kdc.service], ""), "MIT kvno with our cache");
    let listed = ok(run_with(&kdc, "klist", &["-c", &ccname], ""), "MIT klist");
    assert!(listed.contains(&kdc.service), "{listed}");
    // And our klist reads what MIT added.
    let ours = ok(keyless(&kdc, &["klist", "-e", "-c", &ccname], ""), "keyless klist");
    assert!(ours.contains(&kdc.service) && ours.contains("Etype (skey, tkt)"), "{ours}");
    ok(run_with(&kdc, "kdestroy", &["-c", &ccname], ""), "MIT kdestroy on our cache");
    assert!(!cc.exists(), "MIT kdestroy removed it");
}

#[test]
fn mit_kinit_cache_is_used_by_keyless_kvno() {
    let (Some(kdc), Some(())) = (MitKdc::start(), mit_tools()) else { return };
    let ccname = format!("FILE:{}", kdc.dir.join("cc-mit").display());
    ok(run_with(&kdc, "kinit", &["-c", &ccname, &kdc.user], &format!("{}\n", kdc.password)), "MIT kinit");
    let out =
        ok(keyless(&kdc, &["kvno", "-c", &ccname, &kdc.service, "cifs/arcfour-hmac.example.test"], ""), "keyless kvno");
    assert!(out.contains(&format!("{}: kvno = ", kdc.service)), "{out}");
    let listed = ok(run_with(&kdc, "klist", &["-e", "-c", &ccname], ""), "MIT klist");
    assert!(listed.contains(&kdc.service), "{listed}");
    assert!(listed.contains("cifs/arcfour-hmac.example.test@EXAMPLE.TEST"), "{listed}");
    assert!(listed.contains("krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"), "MIT's config entries and TGT kept:\n{listed}");
    ok(keyless(&kdc, &["kdestroy", "-c", &ccname], ""), "keyless kdestroy");
    assert!(!kdc.dir.join("cc-mit").exists());
}

/// `klist -k -t -e -K` lines as (principal, enctype, key) triples.
fn mit_keys(kdc: &MitKdc, keytab: &Path) -> Vec<String> {
    let text = ok(run_with(kdc, "klist", &["-k", "-e", "-K", &keytab.display().to_string()], ""), "MIT klist -k");
    let mut lines: Vec<String> = text
        .lines()
        .filter(|l| l.contains("(0x"))
        .map(|l| l.split_whitespace().skip(1).collect::<Vec<_>>().join(" "))
        .collect();
    lines.sort();
    lines
}

#[test]
fn keytab_add_derives_the_keys_mit_ktutil_derives() {
    let (Some(kdc), Some(())) = (MitKdc::start(), mit_tools()) else { return };
    for salt in [None, Some("SALT.EXAMPLEsomething-else")] {
        let ours = kdc.dir.join("ours.keytab");
        let theirs = kdc.dir.join("theirs.keytab");
        let _ = std::fs::remove_file(&ours);
        let _ = std::fs::remove_file(&theirs);
        let mut script = String::new();
        for (enctype, _) in ENCTYPES {
            let mut args = vec!["keytab", "add", "-k", ours.to_str().unwrap(), "--enctypes", enctype, "--kvno", "3"];
            if let Some(s) = salt {
                args.extend(["--salt", s]);
            }
            args.push("bob@EXAMPLE.TEST");
            ok(keyless(&kdc, &args, "bob-Passw0rd\n"), "keyless keytab add");
            let salt_arg = salt.map(|s| format!(" -s {s}")).unwrap_or_default();
            script += &format!("addent -password -p bob@EXAMPLE.TEST -k 3 -e {enctype}{salt_arg}\nbob-Passw0rd\n");
        }
        script += &format!("wkt {}\nquit\n", theirs.display());
        ok(run_with(&kdc, "ktutil", &[], &script), "MIT ktutil");
        let (a, b) = (mit_keys(&kdc, &ours), mit_keys(&kdc, &theirs));
        assert_eq!(a.len(), ENCTYPES.len(), "{a:?}");
        assert_eq!(a, b, "salt {salt:?}");
    }
}

/// `keyless keytab add --key ENCTYPE:HEX` and `--nt-hash`: the keys kadmin exported for alice,
/// as MIT's klist shows them, make a keytab MIT lists the same and `keyless kinit -k` gets a
/// TGT with; her RC4-HMAC key given as the NT hash it is lands as that key.
#[test]
fn keytab_add_takes_raw_keys_and_nt_hashes() {
    let (Some(kdc), Some(())) = (MitKdc::start(), mit_tools()) else { return };
    let exported = mit_keys(&kdc, &kdc.user_keytab);
    let raw = kdc.dir.join("raw.keytab");
    let mut args: Vec<String> =
        ["keytab", "add", "-k", raw.to_str().unwrap(), "--kvno", "2"].into_iter().map(String::from).collect();
    let mut rc4 = None;
    for line in &exported {
        // "TIMESTAMP TIME PRINCIPAL (ENCTYPE) (0xHEX)"
        let etype = line.split(" (").nth(1).unwrap().trim_end_matches(')').trim_start_matches("DEPRECATED:");
        let hex = line.rsplit_once("(0x").unwrap().1.trim_end_matches(')');
        if etype == "arcfour-hmac" {
            rc4 = Some(hex.to_string());
        } else {
            args.extend(["--key".to_string(), format!("{etype}:{hex}")]);
        }
    }
    args.push(kdc.user.clone());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    ok(keyless(&kdc, &args, ""), "keyless keytab add --key");
    let rc4 = rc4.expect("kadmin exported an arcfour-hmac key");
    let add = ["keytab", "add", "-k", raw.to_str().unwrap(), "--kvno", "2", "--nt-hash", &rc4, &kdc.user];
    ok(keyless(&kdc, &add, ""), "keyless keytab add --nt-hash");
    let strip_time = |lines: Vec<String>| -> Vec<String> {
        let mut l: Vec<String> =
            lines.iter().map(|l| l.split_whitespace().skip(2).collect::<Vec<_>>().join(" ")).collect();
        l.sort();
        l
    };
    assert_eq!(strip_time(mit_keys(&kdc, &raw)), strip_time(exported), "MIT lists the keys given");
    let ccname = format!("FILE:{}", kdc.dir.join("cc-raw").display());
    ok(keyless(&kdc, &["kinit", "-c", &ccname, "-k", "-t", raw.to_str().unwrap(), &kdc.user], ""), "kinit -k");
    let listed = ok(keyless(&kdc, &["klist", "-c", &ccname], ""), "keyless klist");
    assert!(listed.contains("krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"), "{listed}");
    // A key of the wrong length: one line naming it.
    let out = keyless(&kdc, &["keytab", "add", "-k", raw.to_str().unwrap(), "--key", "aes256-cts:0011", &kdc.user], "");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success() && err.lines().count() == 1 && err.contains("--key"), "{err}");
}

#[test]
fn kinit_with_a_kadmin_exported_keytab() {
    let Some(kdc) = MitKdc::start() else { return };
    let ccname = format!("FILE:{}", kdc.dir.join("cc-kt").display());
    let kt = kdc.user_keytab.display().to_string();
    ok(keyless(&kdc, &["kinit", "-c", &ccname, "-k", "-t", &kt, &kdc.user], ""), "keyless kinit -k");
    let ours = ok(keyless(&kdc, &["klist", "-c", &ccname], ""), "keyless klist");
    assert!(ours.contains("krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"), "{ours}");
}

/// Fails with exactly one line on stderr and writes no cache.
fn fails_cleanly(kdc: &MitKdc, args: &[&str], stdin: &str, expect: &str) {
    let cc = kdc.dir.join("cc-fail");
    let _ = std::fs::remove_file(&cc);
    let ccname = format!("FILE:{}", cc.display());
    let mut full = vec!["kinit", "-c", &ccname];
    full.extend_from_slice(args);
    let out = keyless(kdc, &full, stdin);
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{args:?} succeeded");
    assert_eq!(err.lines().count(), 1, "one line expected:\n{err}");
    assert!(err.contains(expect), "{args:?}: {err}");
    assert!(!cc.exists(), "a failed kinit wrote a cache");
}

#[test]
fn kinit_errors_are_one_clear_line() {
    let Some(kdc) = MitKdc::start() else { return };
    fails_cleanly(&kdc, &[&kdc.user], "wrong-password\n", "wrong password");
    fails_cleanly(&kdc, &["nobody@EXAMPLE.TEST"], "x\n", "unknown to the KDC");
    let dead = format!("127.0.0.1:{}", keyless_testbed::free_port());
    fails_cleanly(&kdc, &["--kdc", &dead, "alice@NO.SUCH.REALM"], "x\n", "cannot reach any KDC");
    fails_cleanly(&kdc, &["alice@NO.SUCH.REALM"], "x\n", "no KDC known for realm NO.SUCH.REALM");
}

#[test]
fn kvno_follows_a_cross_realm_trust() {
    let (Some(kdc), Some(())) = (MitKdc::start_realms(&["A.TEST", "B.TEST"]), mit_tools()) else { return };
    let ccname = format!("FILE:{}", kdc.dir.join("cc-x").display());
    ok(keyless(&kdc, &["kinit", "-c", &ccname, &kdc.user], &format!("{}\n", kdc.password)), "keyless kinit");
    let out = ok(keyless(&kdc, &["kvno", "-c", &ccname, "cifs/files.b.test"], ""), "keyless kvno cross-realm");
    assert!(out.contains("cifs/files.b.test@B.TEST: kvno = "), "{out}");
    let listed = ok(run_with(&kdc, "klist", &["-c", &ccname], ""), "MIT klist");
    assert!(listed.contains("krbtgt/B.TEST@A.TEST") && listed.contains("cifs/files.b.test@B.TEST"), "{listed}");
}
