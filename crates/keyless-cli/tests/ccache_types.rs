//! DIR, KEYRING and KCM credential caches against MIT's own tools, both ways: MIT `kinit`
//! writes, keyless reads and adds; keyless writes, MIT `klist`/`kvno` read; `kswitch` by either
//! agrees on the primary; `kdestroy -A` empties a collection. KEYRING uses this machine's
//! kernel keyrings; KCM a Debian sssd-kcm the harness starts in its own mount namespace.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_testbed::{MitKdc, SssdKcm, require};
use std::process::Output;

mod common;

/// A krb5.conf like the KDC's with `default_ccache_name = spec` (and more [libdefaults]
/// lines), as a distribution configures it; the environment for tools to use it.
fn with_default_cache(kdc: &MitKdc, spec: &str, more: &str) -> Vec<(&'static str, std::ffi::OsString)> {
    let mut env = kdc.client_env();
    let conf_path = env.iter().find(|(k, _)| *k == "KRB5_CONFIG").map(|(_, v)| v.clone()).unwrap();
    let conf: String = std::fs::read_to_string(conf_path)
        .unwrap()
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("default_ccache_name") {
                format!("    default_ccache_name = {spec}\n{more}")
            } else {
                format!("{l}\n")
            }
        })
        .collect();
    let path = kdc.dir.join(&format!("krb5-{}.conf", spec.replace(['/', ':', '%', '{', '}'], "_")));
    std::fs::write(&path, conf).unwrap();
    env.retain(|(k, _)| *k != "KRB5_CONFIG");
    env.push(("KRB5_CONFIG", path.into_os_string()));
    env
}

fn ok(out: Output, what: &str) -> String {
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{what} failed:\n{text}");
    text
}

fn mit_tools() -> Option<()> {
    require(&["kinit", "klist", "kvno", "kswitch", "kdestroy"])
}

/// A second client principal, bob, with the same password as alice.
fn add_bob(kdc: &MitKdc) {
    kdc.kadmin(&kdc.realms[0].name, &format!("addprinc +requires_preauth -pw {} bob", kdc.password));
}

/// The whole exchange for one collection `spec` (a name of the collection, no subsidiary):
/// MIT kinit alice, keyless kvno and klist; keyless kinit bob makes a second cache; both
/// `klist -l` list both; `kswitch` by either side moves the primary for the other; kdestroy -A.
fn both_ways(kdc: &MitKdc, env: &[(&'static str, std::ffi::OsString)], spec: &str) {
    let pw = format!("{}\n", kdc.password);
    let run = |program: &str, args: &[&str], stdin: &str| common::run(program, args, env.to_vec(), stdin);
    let keyless = |args: &[&str], stdin: &str| run(common::KEYLESS, args, stdin);

    ok(run("kinit", &["-c", spec, "alice"], &pw), "MIT kinit alice");
    let listed = ok(keyless(&["klist", "-c", spec], ""), "keyless klist");
    assert!(listed.contains("Default principal: alice@EXAMPLE.TEST"), "{listed}");
    let out = ok(keyless(&["kvno", "-c", spec, &kdc.service], ""), "keyless kvno");
    assert!(out.contains("kvno = "), "{out}");
    let mit = ok(run("klist", &["-c", spec], ""), "MIT klist after keyless kvno");
    assert!(mit.contains(&kdc.service) && mit.contains("krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"), "{mit}");
    ok(run("kvno", &["-c", spec, &kdc.service], ""), "MIT kvno on the same cache");

    // A second principal in the same collection: a new cache, made primary; alice's stays.
    ok(keyless(&["kinit", "-c", spec, "bob"], &pw), "keyless kinit bob");
    let mit = ok(run("klist", &["-c", spec], ""), "MIT klist of the primary");
    assert!(mit.contains("Default principal: bob@EXAMPLE.TEST"), "keyless made bob's cache primary:\n{mit}");
    let mit_l = ok(run("klist", &["-l"], ""), "MIT klist -l");
    let ours_l = ok(keyless(&["klist", "-l"], ""), "keyless klist -l");
    for listing in [&mit_l, &ours_l] {
        assert!(listing.contains("alice@EXAMPLE.TEST") && listing.contains("bob@EXAMPLE.TEST"), "{listing}");
    }
    let first_line = |l: &str| l.lines().nth(2).unwrap_or_default().to_string();
    assert!(first_line(&mit_l).starts_with("bob@"), "MIT lists bob's (primary) first:\n{mit_l}");
    assert_eq!(first_line(&mit_l), first_line(&ours_l), "same primary, same name:\n{mit_l}\n{ours_l}");

    // kswitch by keyless, seen by MIT; then by MIT, seen by keyless.
    ok(keyless(&["kswitch", "-p", "alice"], ""), "keyless kswitch -p alice");
    let mit = ok(run("klist", &[], ""), "MIT klist after keyless kswitch");
    assert!(mit.contains("Default principal: alice@EXAMPLE.TEST"), "{mit}");
    ok(run("kswitch", &["-p", "bob"], ""), "MIT kswitch -p bob");
    let ours = ok(keyless(&["klist"], ""), "keyless klist after MIT kswitch");
    assert!(ours.contains("Default principal: bob@EXAMPLE.TEST"), "{ours}");

    // -A shows both; kdestroy -A leaves none, for MIT too.
    let all = ok(keyless(&["klist", "-A"], ""), "keyless klist -A");
    assert_eq!(all.matches("Ticket cache:").count(), 2, "{all}");
    ok(keyless(&["kdestroy", "-A"], ""), "keyless kdestroy -A");
    let after = run("klist", &["-l"], "");
    let text = String::from_utf8_lossy(&after.stdout);
    assert!(!text.contains("alice@") && !text.contains("bob@"), "MIT still sees caches:\n{text}");
}

#[test]
fn dir_collection_both_ways() {
    let (Some(kdc), Some(())) = (MitKdc::start(), mit_tools()) else { return };
    add_bob(&kdc);
    let dir = kdc.dir.join("ccdir");
    let spec = format!("DIR:{}", dir.display());
    let env = with_default_cache(&kdc, &spec, "");
    both_ways(&kdc, &env, &spec);
    // Files and the directory are the owner's only.
    ok(common::run(common::KEYLESS, &["kinit", "-c", &spec, "alice"], env, &format!("{}\n", kdc.password)), "kinit");
    let mode = |p: &std::path::Path| {
        std::os::unix::fs::PermissionsExt::mode(&std::fs::metadata(p).unwrap().permissions()) & 0o777
    };
    let primary = std::fs::read_to_string(dir.join("primary")).unwrap();
    assert_eq!(mode(&dir.join(primary.trim())), 0o600);
    assert_eq!(mode(&dir), 0o700);
}

#[test]
fn keyring_collection_both_ways() {
    let (Some(kdc), Some(())) = (MitKdc::start(), mit_tools()) else { return };
    add_bob(&kdc);
    // A user-keyring collection of its own, so parallel tests do not meet.
    let spec = format!("KEYRING:user:keyless-test-{}", std::process::id());
    both_ways(&kdc, &with_default_cache(&kdc, &spec, ""), &spec);
    // MIT leaves the emptied collection keyring; this test's own goes.
    if require(&["keyctl"]).is_some() {
        let _ = common::run(
            "keyctl",
            &["unlink", &format!("%keyring:_krb_keyless-test-{}", std::process::id()), "@u"],
            Vec::<(String, String)>::new(),
            "",
        );
    }
}

#[test]
fn persistent_keyring_as_fedora_configures_it() {
    let (Some(kdc), Some(())) = (MitKdc::start(), mit_tools()) else { return };
    // default_ccache_name as Fedora and RHEL ship it.
    let e = with_default_cache(&kdc, "KEYRING:persistent:%{uid}", "");
    let pw = format!("{}\n", kdc.password);
    let out = common::run(common::KEYLESS, &["kinit", "alice"], e.clone(), &pw);
    ok(out, "keyless kinit into the persistent keyring");
    let mit = ok(common::run("klist", &[], e.clone(), ""), "MIT klist");
    assert!(mit.contains("Ticket cache: KEYRING:persistent:") && mit.contains("alice@EXAMPLE.TEST"), "{mit}");
    let ours = ok(common::run(common::KEYLESS, &["klist"], e.clone(), ""), "keyless klist");
    let name_line = |t: &str| t.lines().next().unwrap_or_default().to_string();
    assert_eq!(name_line(&mit), name_line(&ours), "same cache name:\n{mit}\n{ours}");
    ok(common::run(common::KEYLESS, &["kdestroy"], e, ""), "keyless kdestroy");
}

#[test]
fn kcm_collection_both_ways() {
    let (Some(kdc), Some(())) = (MitKdc::start(), mit_tools()) else { return };
    let Some(kcm) = SssdKcm::start(&kdc.dir) else { return };
    add_bob(&kdc);
    // MIT finds the daemon through krb5.conf's kcm_socket; keyless too.
    let env = with_default_cache(&kdc, "KCM:", &format!("    kcm_socket = {}\n", kcm.socket.display()));
    both_ways(&kdc, &env, "KCM:");
}

/// Runs `program` as uid/gid 65534 (nobody) with `env`.
fn as_nobody(program: &str, args: &[&str], env: &[(&'static str, std::ffi::OsString)]) -> Output {
    let mut all = vec!["--reuid=65534", "--regid=65534", "--clear-groups", program];
    all.extend_from_slice(args);
    common::run("setpriv", &all, env.to_vec(), "")
}

/// One line on stderr, naming the cache, and a failure status.
fn refused(out: &Output, cache: &str) -> String {
    let err = String::from_utf8_lossy(&out.stderr).to_string();
    assert!(!out.status.success() && err.lines().count() == 1 && err.contains(cache), "{err}");
    err
}

#[test]
fn another_uid_cannot_read_kcm_or_persistent_caches() {
    let (Some(kdc), Some(())) = (MitKdc::start(), mit_tools()) else { return };
    let Some(kcm) = SssdKcm::start(&kdc.dir) else { return };
    if require(&["setpriv"]).is_none() {
        return;
    }
    let pw = format!("{}\n", kdc.password);
    let env = with_default_cache(&kdc, "KCM:", &format!("    kcm_socket = {}\n", kcm.socket.display()));
    ok(common::run(common::KEYLESS, &["kinit", "alice"], env.clone(), &pw), "keyless kinit into KCM");
    let listed = ok(common::run(common::KEYLESS, &["klist"], env.clone(), ""), "keyless klist");
    let name = listed.lines().next().unwrap().trim_start_matches("Ticket cache: ").to_string();
    let err = refused(&as_nobody(common::KEYLESS, &["klist", "-c", &name], &env), &name);
    assert!(err.contains("no credentials cache found"), "{err}");

    let env = with_default_cache(&kdc, "KEYRING:persistent:%{uid}", "");
    ok(
        common::run(common::KEYLESS, &["kinit", "alice"], env.clone(), &pw),
        "keyless kinit into the persistent keyring",
    );
    let err =
        refused(&as_nobody(common::KEYLESS, &["klist", "-c", "KEYRING:persistent:0"], &env), "KEYRING:persistent:0");
    assert!(err.contains("uid 0"), "{err}");
    ok(common::run(common::KEYLESS, &["kdestroy"], env, ""), "keyless kdestroy");
}

#[test]
fn mit_and_keyless_writing_one_cache_leave_it_readable() {
    let (Some(kdc), Some(())) = (MitKdc::start(), mit_tools()) else { return };
    let pw = format!("{}\n", kdc.password);
    for spec in [
        format!("FILE:{}", kdc.dir.join("shared-cc").display()),
        format!("KEYRING:process:shared-{}", std::process::id()),
    ] {
        // A process keyring lives as long as its process: share one through the session instead.
        let spec = spec.replace("KEYRING:process:", "KEYRING:session:");
        let env = with_default_cache(&kdc, &spec, "");
        ok(common::run("kinit", &["alice"], env.clone(), &pw), "MIT kinit");
        let services = ["cifs/arcfour-hmac.example.test", &kdc.service];
        std::thread::scope(|s| {
            let mit = s.spawn(|| {
                for _ in 0..10 {
                    ok(common::run("kvno", &[services[1]], env.clone(), ""), "MIT kvno");
                }
            });
            for _ in 0..10 {
                ok(common::run(common::KEYLESS, &["kvno", services[0]], env.clone(), ""), "keyless kvno");
            }
            mit.join().unwrap();
        });
        let mit = ok(common::run("klist", &[], env.clone(), ""), "MIT klist");
        let ours = ok(common::run(common::KEYLESS, &["klist"], env.clone(), ""), "keyless klist");
        for l in [&mit, &ours] {
            assert!(
                l.contains("krbtgt/EXAMPLE.TEST@EXAMPLE.TEST") && l.contains("Default principal: alice@"),
                "{spec}:\n{l}"
            );
        }
        ok(common::run(common::KEYLESS, &["kdestroy"], env, ""), "keyless kdestroy");
    }
}

/// Every type reaches smbd: MIT kinit, then `keyless ls --auth krb5`; keyless kinit, then
/// `smbclient --use-kerberos=required` (MIT `kvno` for KCM), taking the ticket from the cache.
#[test]
fn every_type_reaches_smbd_both_ways() {
    use keyless_testbed::{SmbMode, Smbd};
    let (Some(kdc), Some(())) = (MitKdc::start(), mit_tools()) else { return };
    let Some(smbd) = Smbd::start(&kdc.dir, SmbMode::Signing, Some(&kdc)) else { return };
    let Some(kcm) = SssdKcm::start(&kdc.dir) else { return };
    std::fs::write(smbd.share_path.join("typed.txt"), b"hello").unwrap();
    let host = kdc.service.trim_start_matches("cifs/").split('@').next().unwrap().to_string();
    let url = format!("smb://{host}:{}/{}/", smbd.port, smbd.share);
    let pw = format!("{}\n", kdc.password);
    let kcm_socket = format!("    kcm_socket = {}\n", kcm.socket.display());
    let specs = [
        (format!("DIR:{}", kdc.dir.join("smb-dir").display()), String::new()),
        (format!("KEYRING:session:smb-{}", std::process::id()), String::new()),
        ("KCM:".to_string(), kcm_socket),
    ];
    for (spec, more) in &specs {
        let env = with_default_cache(&kdc, spec, more);
        ok(common::run("kinit", &["alice"], env.clone(), &pw), "MIT kinit");
        let out = ok(
            common::run(common::KEYLESS, &["ls", &url, "--auth", "krb5", "--ip", "127.0.0.1"], env.clone(), ""),
            "keyless ls",
        );
        assert!(out.contains("typed.txt"), "{spec}: {out}");
        ok(common::run("kdestroy", &["-A"], env.clone(), ""), "MIT kdestroy -A");

        ok(common::run(common::KEYLESS, &["kinit", "alice"], env.clone(), &pw), "keyless kinit");
        if spec.starts_with("KCM") {
            // Debian's smbclient runs Samba's bundled Heimdal, built without KCM's IPC (no
            // `org.h5l.kcm` in libkrb5-samba4.so): it finds no credentials in any KCM cache, not
            // even MIT kinit's, with sssd-kcm on its default socket too. MIT's kvno stands in.
            ok(common::run("kvno", &[&kdc.service], env.clone(), ""), "MIT kvno with keyless's KCM cache");
            ok(common::run(common::KEYLESS, &["kdestroy", "-A"], env, ""), "keyless kdestroy -A");
            continue;
        }
        let mut smbclient_env = env.clone();
        smbclient_env.push(("HOME", kdc.dir.path().into()));
        let port = smbd.port.to_string();
        let share = format!("//{host}/{}", smbd.share);
        let args = ["-s", "/dev/null", &share, "-I", "127.0.0.1", "-p", &port, "--use-kerberos=required", "-c", "ls"];
        let out = common::run("smbclient", &args, smbclient_env, "");
        let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
        assert!(out.status.success() && text.contains("typed.txt"), "{spec}: smbclient with keyless's cache:\n{text}");
        ok(common::run(common::KEYLESS, &["kdestroy", "-A"], env, ""), "keyless kdestroy -A");
    }
}

/// The mount takes its ticket from a KEYRING or KCM cache (krb5.conf's default), and files
/// written through it land on smbd.
#[test]
fn the_mount_uses_keyring_and_kcm_caches() {
    use keyless_testbed::{SmbMode, Smbd};
    if !common::mount::can_mount() {
        return;
    }
    let (Some(kdc), Some(())) = (MitKdc::start(), mit_tools()) else { return };
    let Some(smbd) = Smbd::start(&kdc.dir, SmbMode::Signing, Some(&kdc)) else { return };
    let Some(kcm) = SssdKcm::start(&kdc.dir) else { return };
    let pw = format!("{}\n", kdc.password);
    let url = format!("smb://files.example.test/{}", smbd.share);
    let port = smbd.port.to_string();
    let kcm_socket = format!("    kcm_socket = {}\n", kcm.socket.display());
    for (i, (spec, more)) in
        [(format!("KEYRING:user:mount-{}", std::process::id()), String::new()), ("KCM:".to_string(), kcm_socket)]
            .iter()
            .enumerate()
    {
        let env = with_default_cache(&kdc, spec, more);
        ok(common::run("kinit", &["alice"], env.clone(), &pw), "MIT kinit");
        let mnt = kdc.dir.join(&format!("mnt{i}"));
        std::fs::create_dir(&mnt).unwrap();
        let args = ["mount", &url, mnt.to_str().unwrap(), "--auth", "krb5", "--ip", "127.0.0.1", "--port", &port];
        ok(common::run(common::KEYLESS, &args, env.clone(), ""), "keyless mount");
        let _unmount = common::mount::Unmount(mnt.clone());
        let name = format!("through-{i}.txt");
        std::fs::write(mnt.join(&name), spec.as_bytes()).unwrap();
        assert_eq!(std::fs::read(smbd.share_path.join(&name)).unwrap(), spec.as_bytes());
        ok(common::run("kdestroy", &["-A"], env, ""), "MIT kdestroy -A");
    }
}

/// With no KCM daemon, one line that says so and what to start.
#[test]
fn no_kcm_daemon_is_one_clear_line() {
    let (Some(kdc), Some(())) = (MitKdc::start(), mit_tools()) else { return };
    let absent = kdc.dir.join("no-kcm.sock");
    let env = with_default_cache(&kdc, "KCM:", &format!("    kcm_socket = {}\n", absent.display()));
    let out = common::run(common::KEYLESS, &["klist"], env, "");
    let err = refused(&out, &absent.display().to_string());
    assert!(err.contains("no KCM daemon at") && err.contains("sssd-kcm"), "{err}");
}

/// Legacy `KEYRING:name` caches (no anchor), both ways.
#[test]
fn legacy_keyring_names_both_ways() {
    let (Some(kdc), Some(())) = (MitKdc::start(), mit_tools()) else { return };
    let pw = format!("{}\n", kdc.password);
    let env = kdc.client_env();
    let run = |program: &str, args: &[&str], stdin: &str| common::run(program, args, env.clone(), stdin);
    let mit_made = format!("KEYRING:legacy-mit-{}", std::process::id());
    ok(run("kinit", &["-c", &mit_made, "alice"], &pw), "MIT kinit");
    let ours = ok(run(common::KEYLESS, &["klist", "-c", &mit_made], ""), "keyless klist");
    let mit = ok(run("klist", &["-c", &mit_made], ""), "MIT klist");
    let first = |t: &str| t.lines().next().unwrap_or_default().to_string();
    assert_eq!(first(&ours), first(&mit), "the same name as MIT prints it");
    assert!(ours.contains("alice@EXAMPLE.TEST"), "{ours}");
    ok(run(common::KEYLESS, &["kvno", "-c", &mit_made, &kdc.service], ""), "keyless kvno");
    let mit = ok(run("klist", &["-c", &mit_made], ""), "MIT klist");
    assert!(mit.contains(&kdc.service), "{mit}");
    ok(run(common::KEYLESS, &["kdestroy", "-c", &mit_made], ""), "keyless kdestroy");
    assert!(!run("klist", &["-c", &mit_made], "").status.success(), "MIT still finds the destroyed cache");

    let ours_made = format!("KEYRING:legacy-keyless-{}", std::process::id());
    ok(run(common::KEYLESS, &["kinit", "-c", &ours_made, "alice"], &pw), "keyless kinit");
    let mit = ok(run("klist", &["-c", &ours_made], ""), "MIT klist");
    let ours = ok(run(common::KEYLESS, &["klist", "-c", &ours_made], ""), "keyless klist");
    assert_eq!(first(&ours), first(&mit), "the same name as MIT prints it");
    assert!(mit.contains("alice@EXAMPLE.TEST"), "{mit}");
    ok(run("kvno", &["-c", &ours_made, &kdc.service], ""), "MIT kvno");
    ok(run("kdestroy", &["-c", &ours_made], ""), "MIT kdestroy");
}
