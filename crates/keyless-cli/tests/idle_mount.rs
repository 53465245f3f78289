//! A Kerberos mount left idle: the MIT KDC issues 2-minute service tickets, nothing touches
//! the mount for 10 minutes, and it still works afterwards. The session was authenticated
//! again with fresh tickets (from the cache's TGT) while idle, not on the next request, and
//! the ECHO keepalive kept the connection. Ten minutes of wall time: `cargo xtask ci` runs it
//! beside the fuzz targets (`cargo test -p keyless --test idle_mount -- --ignored`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use common::mount::{Unmount, can_mount};
use keyless_testbed::{MitKdc, SmbMode, Smbd};
use std::time::Duration;

mod common;

const IDLE: Duration = Duration::from_secs(600);

#[test]
#[ignore = "10 minutes idle: cargo xtask ci runs it beside the fuzz targets"]
fn an_idle_mount_outlives_two_minute_tickets() {
    if !can_mount() {
        return;
    }
    let Some(kdc) = MitKdc::start() else { return };
    let out = kdc.kadmin("EXAMPLE.TEST", &format!("modprinc -maxlife \"2 minutes\" {}", kdc.service));
    assert!(out.contains("modified"), "{out}");
    let Some(smbd) = Smbd::start(&kdc.dir, SmbMode::Encrypt, Some(&kdc)) else { return };
    let ccache = kdc.dir.join("alice.ccache");
    kdc.mit_kinit(&ccache);
    let mnt = kdc.dir.join("mnt");
    std::fs::create_dir(&mnt).unwrap();
    let log = kdc.dir.join("mount.log");
    let url = format!("smb://files.example.test/{}", smbd.share);
    let port = smbd.port.to_string();
    let args = [
        "mount",
        &url,
        mnt.to_str().unwrap(),
        "--auth",
        "krb5",
        "-c",
        ccache.to_str().unwrap(),
        "--ip",
        "127.0.0.1",
        "--port",
        &port,
        "--log",
        log.to_str().unwrap(),
    ];
    let out = common::run(common::KEYLESS, &args, kdc.client_env(), "");
    assert!(out.status.success(), "mount: {}", String::from_utf8_lossy(&out.stderr));
    let _unmount = Unmount(mnt.clone());
    std::fs::write(mnt.join("before.txt"), "written before\n").unwrap();
    let before = kdc.log("EXAMPLE.TEST").matches("TGS_REQ").count();
    std::thread::sleep(IDLE);
    let renewals = kdc.log("EXAMPLE.TEST").matches("TGS_REQ").count() - before;
    let log = std::fs::read_to_string(&log).unwrap_or_default();
    // 2-minute tickets are renewed 30 s before their end: four or more while idle.
    assert!(renewals >= 4, "{renewals} TGS requests in 10 idle minutes; the mount's log:\n{log}");
    assert_eq!(std::fs::read_to_string(mnt.join("before.txt")).unwrap(), "written before\n");
    std::fs::write(mnt.join("after.txt"), "written after\n").unwrap();
    assert_eq!(std::fs::read_to_string(smbd.share_path.join("after.txt")).unwrap(), "written after\n");
    assert!(!log.contains("failed"), "the mount's log:\n{log}");
}
