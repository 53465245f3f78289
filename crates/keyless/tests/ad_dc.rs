//! Kerberos to SMB against Samba as an Active Directory DC (its KDC issues the tickets, its
//! smbd validates them and their PAC): `keyless kinit` as a domain user, then `keyless put`,
//! `ls` and `get` on a share of the DC with that ticket alone; and the errors for a service the
//! domain does not know and for no ticket at all.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_testbed::{AD_IP, AdDc, ScratchDir};
use std::process::Output;

mod common;

fn keyless(dc: &AdDc, args: &[&str], stdin: &str) -> Output {
    common::run(common::KEYLESS, args, dc.client_env(), stdin)
}

fn ok(out: Output, what: &str, dc: &AdDc) -> String {
    assert!(out.status.success(), "{what}: {}\n{}", String::from_utf8_lossy(&out.stderr), dc.log());
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn kerberos_from_an_ad_dc_to_its_share() {
    let scratch = ScratchDir::new("ad-dc");
    let Some(dc) = AdDc::start(&scratch) else { return };
    let cc = format!("FILE:{}", scratch.join("cc").display());
    ok(keyless(&dc, &["kinit", "-c", &cc, &dc.user], &format!("{}\n", dc.password)), "kinit alice", &dc);
    let base = format!("smb://{}/{}", dc.host, dc.share);
    let local = scratch.join("from-keyless.txt");
    std::fs::write(&local, "written through an AD ticket\n").unwrap();
    let common = ["-c", &cc, "--ip", AD_IP];
    ok(keyless(&dc, &[&["put", local.to_str().unwrap(), &format!("{base}/")][..], &common].concat(), ""), "put", &dc);
    assert_eq!(
        std::fs::read_to_string(dc.share_path.join("from-keyless.txt")).unwrap(),
        "written through an AD ticket\n"
    );
    let listing = ok(keyless(&dc, &[&["ls", &format!("{base}/")][..], &common].concat(), ""), "ls", &dc);
    assert!(listing.contains("from-keyless.txt"), "{listing}");
    let back =
        ok(keyless(&dc, &[&["get", &format!("{base}/from-keyless.txt"), "-"][..], &common].concat(), ""), "get", &dc);
    assert_eq!(back, "written through an AD ticket\n");
    let tickets = ok(keyless(&dc, &["klist", "-c", &cc], ""), "klist", &dc);
    assert!(tickets.contains("cifs/dc1.ad.example.test@AD.EXAMPLE.TEST"), "{tickets}");

    // A service the domain does not know: one line naming it.
    let out =
        keyless(&dc, &[&["ls", &format!("{base}/"), "--spn", "cifs/nosuch.ad.example.test"][..], &common].concat(), "");
    let line = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
    assert!(!out.status.success() && line.lines().count() == 1, "{line}");
    assert!(line.contains("nosuch"), "{line}");
    // An expired ticket: a 5-second TGT, then nothing valid left; one line saying what to do.
    let short = format!("FILE:{}", scratch.join("cc-short").display());
    ok(keyless(&dc, &["kinit", "-l", "5s", "-c", &short, &dc.user], &format!("{}\n", dc.password)), "kinit -l 5s", &dc);
    std::thread::sleep(std::time::Duration::from_secs(6));
    let out = keyless(&dc, &[&["ls", &format!("{base}/")][..], &["-c", &short, "--ip", AD_IP][..]].concat(), "");
    let line = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
    assert!(!out.status.success() && line.lines().count() == 1, "{line}");
    assert!(line.contains("no valid ticket") && line.contains("keyless kinit"), "{line}");
    // A wrong password at kinit: one line.
    let out = keyless(&dc, &["kinit", "-c", &format!("FILE:{}", scratch.join("cc2").display()), &dc.user], "wrong\n");
    let line = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
    assert!(!out.status.success() && line.lines().count() == 1, "{line}");
}
