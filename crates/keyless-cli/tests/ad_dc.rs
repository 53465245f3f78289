//! Kerberos to SMB against Samba as an Active Directory DC (its KDC issues the tickets, its
//! smbd validates them and their PAC): `keyless kinit` as a domain user, then `keyless put`,
//! `ls` and `get` on a share of the DC with that ticket alone; and the errors for a service the
//! domain does not know and for no ticket at all. Then the domain's own DFS namespaces
//! (`\\ad.example.test\sysvol`, `\\ADTEST\netlogon`): no server has those names, the DC's
//! referrals say where they are. And the PAC in the tickets, as keyless inspect reads it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_testbed::{AD_IP, AdDc, LoopbackHosts, ScratchDir};
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
    domain_namespaces(&dc, &scratch, &cc);
    pac_of_the_dc_tickets(&dc, &scratch);
}

/// `keyless inspect` on a capture of alice's Kerberos and SMB with the DC, given the keys of
/// the DC's account and of krbtgt (exported by samba-tool): the PAC in her service ticket
/// names her with the SID samba-tool gives her, her groups (a group made for the test among
/// them, as wbinfo lists them), and both its checksums verify.
fn pac_of_the_dc_tickets(dc: &AdDc, scratch: &ScratchDir) {
    if keyless_testbed::require(&["dumpcap", "wbinfo"]).is_none() {
        return;
    }
    dc.samba_tool(&["group", "add", "keyless-readers"]);
    dc.samba_tool(&["group", "addmembers", "keyless-readers", "alice"]);
    let object_sid = |kind: &str, name: &str| -> String {
        let shown = dc.samba_tool(&[kind, "show", name, "--attributes=objectSid"]);
        shown.lines().find_map(|l| l.strip_prefix("objectSid: ")).unwrap().trim().to_string()
    };
    let (alice_sid, readers_sid) = (object_sid("user", "alice"), object_sid("group", "keyless-readers"));
    let keytab = scratch.join("dc-and-krbtgt.keytab");
    for principal in ["DC1$", "krbtgt"] {
        dc.samba_tool(&["domain", "exportkeytab", keytab.to_str().unwrap(), &format!("--principal={principal}")]);
    }

    // A fresh ticket, issued after alice joined the group.
    let cc = format!("FILE:{}", scratch.join("cc-pac").display());
    let rec = keyless_testbed::Dumpcap::start(scratch, "ad-pac", &format!("host {AD_IP}")).unwrap();
    ok(keyless(dc, &["kinit", "-c", &cc, &dc.user], &format!("{}\n", dc.password)), "kinit alice", dc);
    let url = format!("smb://{}/{}/", dc.host, dc.share);
    ok(keyless(dc, &["ls", &url, "-c", &cc, "--ip", AD_IP], ""), "ls with a fresh ticket", dc);
    let capture = rec.stop();

    let out = std::process::Command::new(common::KEYLESS)
        .args(["inspect", capture.to_str().unwrap(), "--json", "--keytab", keytab.to_str().unwrap()])
        .output()
        .unwrap();
    let records: Vec<serde_json::Value> =
        String::from_utf8_lossy(&out.stdout).lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    let pac = records
        .iter()
        .map(|r| &r["fields"])
        .find(|f| f["pac_user"].is_string() && f["carried_in"] == "SESSION_SETUP")
        .unwrap_or_else(|| panic!("no PAC in the SMB ticket: {}", String::from_utf8_lossy(&out.stderr)));
    assert_eq!(pac["pac_user"], "alice", "{pac}");
    assert_eq!(pac["pac_user_sid"], alice_sid.as_str(), "{pac}");
    assert_eq!(pac["pac_logon_domain"], "ADTEST", "{pac}");
    assert_eq!(pac["pac_upn"], "alice@ad.example.test", "{pac}");
    assert_eq!(pac["pac_server_checksum"], "good", "{pac}");
    assert_eq!(pac["pac_kdc_checksum"], "good", "{pac}");
    let groups: Vec<&str> = pac["pac_group_sids"].as_array().unwrap().iter().filter_map(|g| g.as_str()).collect();
    let domain_users = format!("{}-513", alice_sid.rsplit_once('-').unwrap().0);
    assert!(groups.contains(&readers_sid.as_str()) && groups.contains(&domain_users.as_str()), "{groups:?}");
    // Without krbtgt's key the KDC's checksum is said to be unchecked, not good.
    let dc_only = scratch.join("dc.keytab");
    dc.samba_tool(&["domain", "exportkeytab", dc_only.to_str().unwrap(), "--principal=DC1$"]);
    let out = std::process::Command::new(common::KEYLESS)
        .args(["inspect", capture.to_str().unwrap(), "--json", "--keytab", dc_only.to_str().unwrap()])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains(r#""pac_kdc_checksum":"not checked (no krbtgt key given)""#), "{text}");
    assert!(text.contains(r#""pac_server_checksum":"good""#), "{text}");
    // winbind's view of her groups holds every domain group the PAC gives.
    let wb = std::process::Command::new("wbinfo").args(["--user-sids", &alice_sid]).output().unwrap();
    let listed = String::from_utf8_lossy(&wb.stdout);
    assert!(wb.status.success(), "wbinfo: {}", String::from_utf8_lossy(&wb.stderr));
    let domain = alice_sid.rsplit_once('-').unwrap().0;
    for g in groups.iter().filter(|g| g.starts_with(domain)) {
        assert!(listed.lines().any(|l| l.trim() == *g), "{g} not in wbinfo's {listed}");
    }
}

/// `smb://ad.example.test/sysvol` and `smb://ADTEST/netlogon`: the domain's names, resolved by
/// the DC's domain, DC and root referrals (MS-DFSC 3.1.4), to the DC's own shares. keyless finds
/// the DC as the realm's KDC, which krb5.conf names here (an address would give Kerberos no
/// name to ask a ticket for).
fn domain_namespaces(dc: &AdDc, scratch: &ScratchDir, cc: &str) {
    let Some(_hosts) = LoopbackHosts::add(&[(AD_IP, "dc1.ad.example.test"), (AD_IP, "dc1")]) else { return };
    let by_address = std::fs::read_to_string(&dc.krb5_conf).unwrap();
    let named = scratch.join("krb5-kdc-named.conf");
    std::fs::write(&named, by_address.replace(&format!("kdc = {AD_IP}:88"), "kdc = dc1.ad.example.test:88")).unwrap();
    let env = |conf: &std::path::Path| {
        vec![("KRB5_CONFIG", conf.as_os_str().to_owned()), ("KRB5RCACHEDIR", dc.dir.clone().into_os_string())]
    };
    let run = |args: &[&str]| common::run(common::KEYLESS, &[args, &["-c", cc]].concat(), env(&named), "");

    let listing = ok(run(&["ls", "smb://ad.example.test/sysvol/"]), "ls the domain's sysvol", dc);
    assert!(listing.contains("ad.example.test"), "{listing}");
    let stat = ok(run(&["stat", "smb://ad.example.test/sysvol/ad.example.test"]), "stat in the domain's sysvol", dc);
    assert!(stat.contains("\\dc1.ad.example.test\\sysvol\\ad.example.test"), "{stat}");
    let policy = "ad.example.test/Policies/{31B2F340-016D-11D2-945F-00C04FB984F9}/GPT.INI";
    let on_disk = std::fs::read_to_string(dc.dir.join("state/sysvol").join(policy)).unwrap();
    let got = ok(run(&["get", &format!("smb://ad.example.test/sysvol/{policy}"), "-"]), "get from sysvol", dc);
    assert_eq!(got, on_disk);
    // The NetBIOS name: a domain because the DC's domain referral lists it; its DCs by their
    // NetBIOS names too.
    std::fs::write(dc.dir.join("state/sysvol/ad.example.test/scripts/logon.cmd"), "echo hello\r\n").unwrap();
    let netlogon = ok(run(&["ls", "smb://ADTEST/netlogon/"]), "ls the domain's netlogon by NetBIOS name", dc);
    assert!(netlogon.contains("logon.cmd"), "{netlogon}");
    let stat = ok(run(&["stat", "smb://ADTEST/netlogon"]), "stat the domain's netlogon", dc);
    assert!(stat.to_ascii_lowercase().contains("\\dc1\\netlogon"), "{stat}\n{netlogon}");
    // Tickets for the DC only: none for a service named after the domain.
    let tickets = ok(keyless(dc, &["klist", "-c", cc], ""), "klist", dc).to_ascii_lowercase();
    assert!(tickets.contains("cifs/dc1@") || tickets.contains("cifs/dc1.ad.example.test@"), "{tickets}");
    assert!(!tickets.contains("cifs/ad.example.test@") && !tickets.contains("cifs/adtest@"), "{tickets}");

    // Mounted: the same namespace walked by find, read by cat.
    if common::mount::can_mount() {
        let mnt = scratch.join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let mnt_s = mnt.to_str().unwrap();
        ok(run(&["mount", "smb://ad.example.test/sysvol", mnt_s]), "mount the domain's sysvol", dc);
        let _unmount = common::mount::Unmount(mnt.clone());
        let found = common::mount::sh(&format!("cd {mnt_s} && find . -name GPT.INI | sort"));
        assert!(found.lines().any(|l| l == format!("./{policy}")), "{found}");
        assert_eq!(std::fs::read_to_string(mnt.join(policy)).unwrap(), on_disk);
        common::mount::sh(&format!("df {mnt_s}"));
    }

    // A realm's KDC known by address only: no DC to ask, said in one line.
    let out = common::run(common::KEYLESS, &["ls", "smb://ad.example.test/sysvol/", "-c", cc], env(&dc.krb5_conf), "");
    let line = String::from_utf8_lossy(&out.stderr).trim_end().to_string();
    assert!(!out.status.success() && line.lines().count() == 1, "{line}");
    assert!(line.contains("kdc = dc1.ad.example.test"), "{line}");
}
