//! DFS through the file commands, against two Samba smbd on port 445 of their own loopback
//! addresses (127.0.0.2 the namespace server, 127.0.0.3 the target), named in /etc/hosts for
//! the test, with Kerberos from the MIT KDC (a `cifs/` key for each). The namespace links to the
//! target's share, to a target that does not answer followed by the real one, and to a second
//! namespace on the target. Samba's smbclient follows the same link as a control.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_testbed::{LoopbackHosts, MitKdc, SmbMode, Smbd};

mod common;

/// One estate at a time: they all listen on 127.0.0.2:445 and 127.0.0.3:445.
static ONE_AT_A_TIME: std::sync::Mutex<()> = std::sync::Mutex::new(());

/// Fields drop in order: the servers and the names go before the turn is handed on.
struct Estate {
    namespace: Smbd,
    target: Smbd,
    /// The first target of the failover link (stopped by the test).
    first: Option<Smbd>,
    kdc: MitKdc,
    _hosts: LoopbackHosts,
    cache: String,
    _turn: std::sync::MutexGuard<'static, ()>,
}

/// Root is needed for port 445 and /etc/hosts; elsewhere the test is skipped.
fn estate() -> Option<Estate> {
    let turn = ONE_AT_A_TIME.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
    let hosts = LoopbackHosts::add(&[
        ("127.0.0.2", "ns.example.test"),
        ("127.0.0.3", "files2.example.test"),
        ("127.0.0.4", "first.example.test"),
        ("127.0.0.5", "gone.example.test"),
    ])?;
    if std::net::TcpListener::bind("127.0.0.2:445").is_err() {
        assert!(std::env::var_os("CI").is_none(), "CI runs as root: 127.0.0.2:445 must be free");
        eprintln!("skipped: cannot listen on 127.0.0.2:445 (not root, or taken)");
        return None;
    }
    let kdc = MitKdc::start()?;
    let realm = kdc.realms[0].name.clone();
    for host in ["ns.example.test", "files2.example.test", "first.example.test"] {
        kdc.kadmin(&realm, &format!("addprinc +requires_preauth +no_auth_data_required -randkey cifs/{host}"));
        kdc.kadmin(&realm, &format!("ktadd -k {} cifs/{host}", kdc.service_keytab.display()));
    }
    let namespace = Smbd::start_on(&kdc.dir, SmbMode::Encrypt, Some(&kdc), "127.0.0.2", 445)?;
    let target = Smbd::start_on(&kdc.dir, SmbMode::Encrypt, Some(&kdc), "127.0.0.3", 445)?;
    let first = Smbd::start_on(&kdc.dir, SmbMode::Encrypt, Some(&kdc), "127.0.0.4", 445)?;
    target.add_dfs_root("inner", &[("deep", &["files2.example.test\\share"])]);
    namespace.add_dfs_root(
        "dfs",
        &[
            ("link", &["files2.example.test\\share"]),
            ("failover", &["first.example.test\\share", "files2.example.test\\share"]),
            ("nested", &["files2.example.test\\inner"]),
            // A link whose target is itself: a loop.
            ("loop", &["ns.example.test\\dfs\\loop"]),
            ("nowhere", &["gone.example.test\\share"]),
        ],
    );
    let cache = format!("FILE:{}", kdc.dir.join("dfs.ccache").display());
    kdc.mit_kinit(&kdc.dir.join("dfs.ccache"));
    Some(Estate { namespace, target, first: Some(first), kdc, _hosts: hosts, cache, _turn: turn })
}

impl Estate {
    fn keyless(&self, args: &[&str]) -> std::process::Output {
        let mut all: Vec<&str> = args.to_vec();
        all.extend(["-c", &self.cache]);
        common::run(common::KEYLESS, &all, self.kdc.client_env(), "")
    }
}

fn sha256(path: &std::path::Path) -> String {
    let out = std::process::Command::new("sha256sum").arg(path).output().unwrap();
    String::from_utf8_lossy(&out.stdout).split_whitespace().next().unwrap_or("").to_string()
}

#[test]
fn the_commands_follow_links_to_other_servers() {
    let Some(mut e) = estate() else { return };
    let local = e.kdc.dir.join("report.bin");
    std::fs::write(&local, (0..300_000u32).map(|i| (i * 13 % 251) as u8).collect::<Vec<u8>>()).unwrap();
    let local_s = local.to_str().unwrap();

    common::ok(e.keyless(&["put", local_s, "smb://ns.example.test/dfs/link/"]), "put through the link");
    let stored = e.target.share_path.join("report.bin");
    assert_eq!(sha256(&stored), sha256(&local), "the target's disk holds the bytes");

    let listing = common::ok(e.keyless(&["ls", "smb://ns.example.test/dfs/link/"]), "ls through the link");
    assert!(listing.contains("report.bin"), "{listing}");
    // With a site named, the same (Samba refuses the EX form that carries it; the plain one serves).
    let in_site = e.keyless(&["ls", "smb://ns.example.test/dfs/link/", "--dfs-site", "Site-A"]);
    assert_eq!(common::ok(in_site, "ls with --dfs-site"), listing);
    let back = e.kdc.dir.join("back.bin");
    common::ok(e.keyless(&["get", "smb://ns.example.test/dfs/link/report.bin", back.to_str().unwrap()]), "get");
    assert_eq!(sha256(&back), sha256(&local));

    let stat = common::ok(e.keyless(&["stat", "smb://ns.example.test/dfs/link/report.bin"]), "stat");
    assert!(stat.contains("DFS: at \\\\files2.example.test\\share\\report.bin"), "{stat}");

    // A second service ticket, for the target, is in the cache beside the namespace's.
    let klist = common::ok(common::run("klist", &["-c", &e.cache], e.kdc.client_env(), ""), "klist");
    assert!(klist.contains("cifs/ns.example.test@") && klist.contains("cifs/files2.example.test@"), "{klist}");

    // Two targets: the first serves while it runs; stopped, the second one does.
    std::fs::write(e.first.as_ref().unwrap().share_path.join("on-first.txt"), "1").unwrap();
    let served = common::ok(e.keyless(&["ls", "smb://ns.example.test/dfs/failover/"]), "ls, the first target");
    assert!(served.contains("on-first.txt") && !served.contains("report.bin"), "{served}");
    drop(e.first.take());
    let failover = common::ok(e.keyless(&["ls", "smb://ns.example.test/dfs/failover/"]), "ls, failing over");
    assert!(failover.contains("report.bin") && !failover.contains("on-first.txt"), "{failover}");

    // A link to a namespace on the target, whose link leads to the share: two referrals.
    let nested = common::ok(e.keyless(&["stat", "smb://ns.example.test/dfs/nested/deep/report.bin"]), "nested");
    assert!(nested.contains("DFS: at \\\\files2.example.test\\share\\report.bin"), "{nested}");

    // mkdir, mv within the target, rm, all through the link.
    common::ok(e.keyless(&["mkdir", "smb://ns.example.test/dfs/link/dir"]), "mkdir");
    common::ok(
        e.keyless(&["mv", "smb://ns.example.test/dfs/link/report.bin", "smb://ns.example.test/dfs/link/dir/r.bin"]),
        "mv",
    );
    assert!(e.target.share_path.join("dir/r.bin").exists());
    // Across the namespace's own share and the target: refused in one line.
    std::fs::write(e.namespace.dir.join("dfs-dfs/here.txt"), "in the root\n").unwrap();
    let across = common::fails(
        e.keyless(&["mv", "smb://ns.example.test/dfs/here.txt", "smb://ns.example.test/dfs/link/here.txt"]),
        "mv across shares",
    );
    assert!(across.contains("are on different shares"), "{across}");
    common::ok(e.keyless(&["rm", "smb://ns.example.test/dfs/link/dir/r.bin"]), "rm");
    assert!(!e.target.share_path.join("dir/r.bin").exists());

    // -r walks through links met below the URL, both ways.
    let tree = e.kdc.dir.join("tree");
    std::fs::create_dir_all(tree.join("sub")).unwrap();
    std::fs::write(tree.join("sub/deep.txt"), "deep\n").unwrap();
    common::ok(e.keyless(&["put", "-r", tree.to_str().unwrap(), "smb://ns.example.test/dfs/nested/deep/"]), "put -r");
    assert_eq!(std::fs::read_to_string(e.target.share_path.join("tree/sub/deep.txt")).unwrap(), "deep\n");
    let whole = e.kdc.dir.join("whole");
    // (nested/ is a namespace whose link deep/ is met below the URL.)
    common::ok(e.keyless(&["get", "-r", "smb://ns.example.test/dfs/nested/", whole.to_str().unwrap()]), "get -r");
    assert_eq!(std::fs::read_to_string(whole.join("deep/tree/sub/deep.txt")).unwrap(), "deep\n");

    // A file in the namespace's own share, under no link, is read there.
    let root_file = common::ok(e.keyless(&["get", "smb://ns.example.test/dfs/here.txt", "-"]), "get from the root");
    assert_eq!(root_file, "in the root\n");

    // A loop of links ends at the bound, and a link whose only target is dead says so: one
    // line each.
    let looped = common::fails(e.keyless(&["ls", "smb://ns.example.test/dfs/loop/"]), "ls on a loop");
    assert!(looped.contains("more than 8 referrals"), "{looped}");
    let dead = common::fails(e.keyless(&["ls", "smb://ns.example.test/dfs/nowhere/"]), "ls on a dead link");
    assert!(dead.contains("no target of \\ns.example.test\\dfs\\nowhere answered"), "{dead}");

    // smbclient (Kerberos, the same cache) follows the same link: the same names, the same bytes.
    std::fs::write(e.target.share_path.join("control.txt"), "x").unwrap();
    std::fs::write(
        e.target.share_path.join("control.bin"),
        (0..70_000u32).map(|i| (i % 253) as u8).collect::<Vec<u8>>(),
    )
    .unwrap();
    let theirs_copy = e.kdc.dir.join("smbclient-copy.bin");
    let commands = format!("ls link\\*; get link\\control.bin {}", theirs_copy.display());
    let theirs = std::process::Command::new("smbclient")
        .args(["-s", "/dev/null", "//ns.example.test/dfs", "--use-kerberos=required", "-c", &commands])
        .envs(e.kdc.client_env())
        .env("KRB5CCNAME", &e.cache)
        .env("HOME", e.kdc.dir.path())
        .output()
        .unwrap();
    let theirs = String::from_utf8_lossy(&theirs.stdout).into_owned();
    let mut their_names: Vec<&str> = theirs
        .lines()
        .filter(|l| l.starts_with("  ") && !l.contains("blocks of size"))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| *n != "." && *n != "..")
        .collect();
    let ours = common::ok(e.keyless(&["ls", "smb://ns.example.test/dfs/link/"]), "ls");
    let mut our_names: Vec<&str> = ours.lines().filter_map(|l| l.split_whitespace().last()).collect();
    their_names.sort_unstable();
    our_names.sort_unstable();
    assert_eq!(our_names, their_names, "keyless {ours:?}, smbclient {theirs:?}");
    let our_copy = e.kdc.dir.join("keyless-copy.bin");
    common::ok(e.keyless(&["get", "smb://ns.example.test/dfs/link/control.bin", our_copy.to_str().unwrap()]), "get");
    assert_eq!(sha256(&our_copy), sha256(&theirs_copy));
    assert_eq!(sha256(&our_copy), sha256(&e.target.share_path.join("control.bin")));
}

/// The namespace mounted: `find` walks through the links into the target's share, `cp -r`
/// copies out of and into a link, and a rename across shares is EXDEV, which `mv` turns into a
/// copy.
#[test]
fn the_mount_walks_through_links() {
    if !common::mount::can_mount() {
        return;
    }
    let Some(mut e) = estate() else { return };
    std::fs::create_dir_all(e.target.share_path.join("tree/sub")).unwrap();
    std::fs::write(e.target.share_path.join("tree/sub/a.txt"), "alpha\n").unwrap();
    std::fs::write(e.target.share_path.join("tree/b.bin"), vec![7u8; 200_000]).unwrap();
    std::fs::write(e.namespace.dir.join("dfs-dfs/top.txt"), "top\n").unwrap();
    let mnt = e.kdc.dir.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let mnt_s = mnt.to_str().unwrap();
    let log = e.kdc.dir.join("mount.log");
    common::ok(
        e.keyless(&["mount", "smb://ns.example.test/dfs", mnt_s, "--log", log.to_str().unwrap()]),
        "mount the namespace",
    );
    let _unmount = common::mount::Unmount(mnt.clone());

    let found = common::mount::sh(&format!("cd {mnt_s} && find . -type f | sort"));
    for path in ["./top.txt", "./link/tree/sub/a.txt", "./link/tree/b.bin", "./nested/deep/tree/sub/a.txt"] {
        assert!(
            found.lines().any(|l| l == path),
            "{path} not in:\n{found}\nlog: {}",
            std::fs::read_to_string(&log).unwrap_or_default()
        );
    }
    let copy = e.kdc.dir.join("copy");
    common::mount::sh(&format!("cp -r {mnt_s}/link/tree {}", copy.display()));
    assert_eq!(std::fs::read_to_string(copy.join("sub/a.txt")).unwrap(), "alpha\n");
    assert_eq!(std::fs::read(copy.join("b.bin")).unwrap(), vec![7u8; 200_000]);
    common::mount::sh(&format!("cp -r {} {mnt_s}/link/copied", copy.display()));
    assert_eq!(std::fs::read_to_string(e.target.share_path.join("copied/sub/a.txt")).unwrap(), "alpha\n");

    // The root's own file moved into the link: a rename across shares, done by mv as a copy.
    common::mount::sh(&format!("mv {mnt_s}/top.txt {mnt_s}/link/top.txt"));
    assert_eq!(std::fs::read_to_string(e.target.share_path.join("top.txt")).unwrap(), "top\n");
    assert!(!e.namespace.dir.join("dfs-dfs/top.txt").exists());

    // The target the mount is using dies: the link's next target serves from then on.
    std::fs::write(e.first.as_ref().unwrap().share_path.join("on-first.txt"), "1").unwrap();
    let served = common::mount::sh(&format!("ls {mnt_s}/failover/"));
    assert!(served.contains("on-first.txt"), "{served}");
    drop(e.first.take());
    let after = common::mount::sh(&format!("ls {mnt_s}/failover/"));
    assert!(after.contains("copied") && !after.contains("on-first.txt"), "{after}");
}
