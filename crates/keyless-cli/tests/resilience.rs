//! What a dropped connection does to a user, against Debian's smbd: the testbed's proxy cuts
//! every TCP connection every 5 seconds (and after a few hundred MiB, so a fast copy is cut
//! too) during `keyless put` and `get` of 1 GiB and during fio on the mount; smbd restarts
//! under a mounted share with a file open. Each time nothing fails, and what the server holds
//! is exactly what was written: no byte lost, none written twice elsewhere.
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use common::mount::{Mounted, sh, sha256};
use keyless_testbed::{CuttingProxy, ScratchDir, SmbMode, Smbd};
use std::process::Command;
use std::time::{Duration, Instant};

mod common;

/// A proxy to `smbd` cutting every connection every 5 s and after 300 MiB.
fn cutting(smbd: &Smbd) -> CuttingProxy {
    let mut proxy = CuttingProxy::start(smbd.port);
    proxy.cut_each_after(300 << 20);
    proxy.cut_every(Duration::from_secs(5));
    proxy
}

#[test]
fn cli_put_and_get_of_1_gib_survive_cuts() {
    let scratch = ScratchDir::new("resilience-cli");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Encrypt, None) else { return };
    let proxy = cutting(&smbd);
    let local = scratch.join("local.bin");
    sh(&format!("head -c 1073741824 /dev/urandom > '{}'", local.display()));
    let want = sha256(&local);
    let pw = scratch.join("pw");
    std::fs::write(&pw, format!("{}\n", smbd.password)).unwrap();
    let url = format!("smb://127.0.0.1:{}/{}/big.bin", proxy.port, smbd.share);
    let auth = ["--auth", "ntlm", "--user", "alice", "--password-file", pw.to_str().unwrap()];
    let run = |args: &[&str]| {
        let out = common::run(common::KEYLESS, &[args, &auth].concat(), Vec::<(&str, &str)>::new(), "");
        common::ok(out, &args.join(" "));
    };
    run(&["put", local.to_str().unwrap(), &url]);
    assert_eq!(sha256(&smbd.share_path.join("big.bin")), want, "smbd holds what was sent");
    let cuts_during_put = proxy.cuts();
    assert!(cuts_during_put >= 2, "the upload was cut {cuts_during_put} times");
    let back = scratch.join("back.bin");
    run(&["get", &url, back.to_str().unwrap()]);
    assert_eq!(sha256(&back), want, "what came back is what was stored");
    assert!(proxy.cuts() >= cuts_during_put + 2, "the download was cut {} times", proxy.cuts() - cuts_during_put);
}

/// fio writes through the mount sequentially and at random offsets, two jobs at once, and
/// checks every block's crc32c, for 60 s while the proxy cuts the connection every 5 s; then
/// fio checks the server's copy of its files with the same patterns (verify_only).
#[test]
fn fio_on_the_mount_survives_cuts_every_5_seconds() {
    if keyless_testbed::require(&["fio"]).is_none() {
        return;
    }
    let Some((scratch, smbd)) = Mounted::server(SmbMode::Encrypt) else { return };
    let proxy = cutting(&smbd);
    let m = Mounted::mount(scratch, smbd, proxy.port, "cache=1");
    let job = |dir: &std::path::Path, extra: &str| {
        format!(
            "[global]\ndirectory={}\nioengine=psync\nverify=crc32c\nverify_fatal=1\ndo_verify=1\nrandrepeat=1\n{extra}\
             [sequential]\nrw=write\nbs=1M\nsize=96M\nstonewall\n\
             [random]\nrw=randwrite\nbsrange=4k-256k\nsize=24M\nstonewall\n\
             [two-at-once]\nrw=randwrite\nbs=64k\nsize=12M\nnumjobs=2\nstonewall\n",
            dir.display()
        )
    };
    let jobs = m.scratch.join("verify.fio");
    std::fs::write(&jobs, job(&m.mnt, "")).unwrap();
    let started = Instant::now();
    let mut rounds = 0;
    while started.elapsed() < Duration::from_secs(60) {
        let out =
            Command::new("fio").current_dir(m.scratch.path()).arg("--output-format=terse").arg(&jobs).output().unwrap();
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "fio round {rounds}: {text}{}", String::from_utf8_lossy(&out.stderr));
        for job in text.lines().map(|l| l.split(';').collect::<Vec<_>>()).filter(|f| f.len() > 6) {
            assert_eq!(job[4], "0", "{} failed in round {rounds}: {text}", job[2]);
        }
        rounds += 1;
    }
    assert!(proxy.cuts() >= 10, "only {} cuts in {rounds} rounds", proxy.cuts());
    // The server's copy, read by fio on the server's side: every block is the last one written.
    let server_jobs = m.scratch.join("server.fio");
    std::fs::write(&server_jobs, job(&m.smbd.share_path, "verify_only=1\n")).unwrap();
    let out = Command::new("fio")
        .current_dir(m.scratch.path())
        .arg("--output-format=terse")
        .arg(&server_jobs)
        .output()
        .unwrap();
    assert!(out.status.success(), "fio on smbd's copy: {}", String::from_utf8_lossy(&out.stdout));
    let log = m.log();
    assert!(log.matches("connected again").count() >= 10, "the mount's log: {log}");
    assert!(!log.contains("lost after a reconnection"), "{log}");
}

/// smbd restarts (every connection dropped, its durable handles forgotten) while a program
/// has a file open for writing and another for reading on the mount: the mount connects
/// again, opens the files again by name, and both programs go on without an error.
#[test]
fn the_mount_resumes_after_smbd_restarts() {
    let Some(mut m) = Mounted::start("cache=1") else { return };
    let data: Vec<u8> = (0..8 << 20).map(|i: u32| (i.wrapping_mul(2_654_435_761) >> 13) as u8).collect();
    std::fs::write(m.server_path("read.bin"), &data).unwrap();
    // A writer holding its file open across the restart, and a reader doing the same (at a
    // random place, past the read-ahead, so the second read needs the server).
    let restarted = m.scratch.join("restarted");
    let script = format!(
        "exec 3>'{w}'; exec 4<'{r}'; echo before >&3; head -c 1048576 <&4 | wc -c; \
         while [ ! -e '{flag}' ]; do sleep 0.1; done; \
         echo after >&3; dd bs=1M skip=6 count=1 status=none <&4 | wc -c; exec 3>&-; exec 4<&-",
        w = m.at("written.txt").display(),
        r = m.at("read.bin").display(),
        flag = restarted.display()
    );
    let program = std::thread::spawn(move || Command::new("sh").args(["-ec", &script]).output());
    std::thread::sleep(Duration::from_millis(1000));
    m.smbd.restart();
    std::fs::write(&restarted, "").unwrap();
    let out = program.join().unwrap().unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "the program failed: {text}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(text.split_whitespace().collect::<Vec<_>>(), ["1048576", "1048576"], "{text}");
    assert_eq!(std::fs::read_to_string(m.server_path("written.txt")).unwrap(), "before\nafter\n");
    assert!(m.log().contains("connected again"), "{}", m.log());
    // New operations work too.
    sh(&format!("echo new > '{}'", m.at("new.txt").display()));
    assert_eq!(std::fs::read_to_string(m.server_path("new.txt")).unwrap(), "new\n");
    assert_eq!(sha256(&m.at("read.bin")), sha256(&m.server_path("read.bin")));
}
