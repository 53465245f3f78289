//! `keyless ls/stat/get/put/mv/rm/mkdir/rmdir` against Debian's Samba `smbd` on loopback, with
//! NTLMv2 from a password file and with Kerberos from a `keyless kinit` cache (MIT KDC); what
//! keyless writes, smbd stores byte for byte (and what smbd holds, keyless reads back); and the
//! one-line errors a user meets.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_testbed::{MitKdc, ScratchDir, SmbMode, Smbd};
use std::process::{Command, Output};

mod common;

use common::{fails, ok};

fn keyless(args: &[&str], env: &[(&str, std::ffi::OsString)], stdin: &str) -> Output {
    common::run(common::KEYLESS, args, env.iter().map(|(k, v)| (*k, v)), stdin)
}

/// The share's URL, and the NTLM arguments (alice, her password in a file) a command takes.
fn ntlm(scratch: &ScratchDir, smbd: &Smbd) -> (String, Vec<String>) {
    let pw = scratch.join("pw");
    std::fs::write(&pw, format!("{}\n", smbd.password)).unwrap();
    let auth = ["--auth", "ntlm", "--user", "alice", "--password-file", pw.to_str().unwrap()];
    (format!("smb://127.0.0.1:{}/{}", smbd.port, smbd.share), auth.map(String::from).to_vec())
}

#[test]
fn ntlm_file_commands_round_trip() {
    let scratch = ScratchDir::new("cli-smb");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Encrypt, None) else { return };
    let (base, auth) = ntlm(&scratch, &smbd);
    let auth: Vec<&str> = auth.iter().map(String::as_str).collect();
    let run = |args: &[&str]| keyless(&[args, &auth[..]].concat(), &[], "");

    let local = scratch.join("report 2026 €.bin");
    let data: Vec<u8> = (0..(1 << 20) + 1).map(|i: usize| (i * 13 + i / 977) as u8).collect();
    std::fs::write(&local, &data).unwrap();
    ok(run(&["mkdir", &format!("{base}/docs")]), "mkdir");
    ok(run(&["put", local.to_str().unwrap(), &format!("{base}/docs/")]), "put");
    assert!(std::fs::read(smbd.share_path.join("docs/report 2026 €.bin")).unwrap() == data, "smbd stored the bytes");
    let listing = ok(run(&["ls", &format!("{base}/docs")]), "ls");
    assert!(listing.contains("1048577") && listing.contains("report 2026 €.bin"), "{listing}");
    let back = scratch.join("back.bin");
    ok(run(&["get", &format!("{base}/docs/report 2026 €.bin"), back.to_str().unwrap()]), "get");
    assert!(std::fs::read(&back).unwrap() == data, "get returns the bytes");
    // What smbd holds (written behind keyless's back), keyless reads.
    std::fs::write(smbd.share_path.join("docs/from-samba.txt"), b"written by smbd's side\n").unwrap();
    let out = ok(run(&["get", &format!("{base}/docs/from-samba.txt"), "-"]), "get to stdout");
    assert_eq!(out, "written by smbd's side\n");
    // Into a FIFO (as into /dev/null): written as it is, never replaced by a renamed file.
    let fifo = scratch.join("pipe");
    assert!(Command::new("mkfifo").arg(&fifo).status().unwrap().success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    ok(run(&["get", &format!("{base}/docs/from-samba.txt"), fifo.to_str().unwrap()]), "get into a FIFO");
    use std::os::unix::fs::FileTypeExt;
    assert!(std::fs::metadata(&fifo).unwrap().file_type().is_fifo(), "the FIFO is still a FIFO");
    assert_eq!(reader.join().unwrap(), b"written by smbd's side\n");
    // Interop with Samba's own client, both ways, byte for byte.
    let conf = scratch.join("client.conf");
    let d = scratch.path().display();
    std::fs::write(
        &conf,
        format!(
            "[global]\n  lock directory = {d}\n  cache directory = {d}\n  state directory = {d}\n  private dir = {d}\n"
        ),
    )
    .unwrap();
    let smbclient = |cmd: &str| {
        let out = Command::new("smbclient")
            .args(["-s", conf.to_str().unwrap(), &format!("//127.0.0.1/{}", smbd.share), "-p", &smbd.port.to_string()])
            .args(["-U", &format!("alice%{}", smbd.password), "--option=client smb encrypt=required", "-c", cmd])
            .output()
            .unwrap();
        assert!(out.status.success(), "smbclient {cmd}: {}", String::from_utf8_lossy(&out.stderr));
    };
    let via_smbclient = scratch.join("via-smbclient.bin");
    smbclient(&format!("get \"docs/report 2026 €.bin\" {}", via_smbclient.display()));
    assert!(std::fs::read(&via_smbclient).unwrap() == data, "smbclient reads what keyless put");
    let theirs = scratch.join("theirs.bin");
    let their_data: Vec<u8> = (0..300_001).map(|i: usize| (i * 101) as u8).collect();
    std::fs::write(&theirs, &their_data).unwrap();
    smbclient(&format!("put {} docs/theirs.bin", theirs.display()));
    let got = scratch.join("got-theirs.bin");
    ok(run(&["get", &format!("{base}/docs/theirs.bin"), got.to_str().unwrap()]), "get what smbclient put");
    assert!(std::fs::read(&got).unwrap() == their_data, "keyless reads what smbclient put");
    ok(run(&["rm", &format!("{base}/docs/theirs.bin")]), "rm");

    // Trees with -r: up, and back down elsewhere, the same files.
    let tree = scratch.join("tree");
    std::fs::create_dir_all(tree.join("sub/deeper")).unwrap();
    std::fs::write(tree.join("top.txt"), "top").unwrap();
    std::fs::write(tree.join("sub/mid.bin"), &data[..70_000]).unwrap();
    std::fs::write(tree.join("sub/deeper/ünï.txt"), "deep").unwrap();
    let line = fails(run(&["put", tree.to_str().unwrap(), &format!("{base}/")]), "put of a directory without -r");
    assert!(line.contains("use -r"), "{line}");
    ok(run(&["put", "-r", tree.to_str().unwrap(), &format!("{base}/docs/")]), "put -r");
    let down = scratch.join("down");
    ok(run(&["get", "-r", &format!("{base}/docs/tree"), down.to_str().unwrap()]), "get -r");
    for f in ["top.txt", "sub/mid.bin", "sub/deeper/ünï.txt"] {
        assert_eq!(std::fs::read(down.join(f)).unwrap(), std::fs::read(tree.join(f)).unwrap(), "{f}");
    }
    for f in ["sub/deeper/ünï.txt", "sub/mid.bin", "top.txt"] {
        ok(run(&["rm", &format!("{base}/docs/tree/{f}")]), "rm");
    }
    for d in ["sub/deeper", "sub", ""] {
        ok(run(&["rmdir", &format!("{base}/docs/tree/{d}")]), "rmdir");
    }

    // On a terminal (script(1) gives it one), put and get show progress with the rate.
    let tty_file = scratch.join("tty.bin");
    std::fs::write(&tty_file, &data).unwrap();
    let size = data.len();
    for (verb, from, to) in [
        ("put", tty_file.display().to_string(), format!("{base}/docs/tty.bin")),
        ("get", format!("{base}/docs/tty.bin"), scratch.join("tty-back.bin").display().to_string()),
    ] {
        let cmd = format!("{} {verb} {from} {to} {}", common::KEYLESS, auth.join(" "));
        let out = Command::new("script").args(["-qec", &cmd, "/dev/null"]).output().unwrap();
        let shown = String::from_utf8_lossy(&out.stdout);
        assert!(out.status.success(), "{verb} on a terminal: {shown}");
        assert!(shown.contains(&format!("tty.bin 100.0% {size} / {size} ")) && shown.contains(" MB/s"), "{shown:?}");
    }
    assert!(std::fs::read(scratch.join("tty-back.bin")).unwrap() == std::fs::read(&tty_file).unwrap());
    ok(run(&["rm", &format!("{base}/docs/tty.bin")]), "rm");

    ok(run(&["mv", &format!("{base}/docs/from-samba.txt"), "docs/renamed.txt"]), "mv");
    let stat = ok(run(&["stat", &format!("{base}/docs/renamed.txt")]), "stat");
    assert!(stat.contains("23 bytes, file"), "{stat}");
    for f in ["renamed.txt", "report 2026 €.bin"] {
        ok(run(&["rm", &format!("{base}/docs/{f}")]), "rm");
    }
    // A directory with something in it stays, with one line saying so.
    std::fs::create_dir(smbd.share_path.join("docs/full")).unwrap();
    std::fs::write(smbd.share_path.join("docs/full/x"), "x").unwrap();
    let e = fails(run(&["rmdir", &format!("{base}/docs/full")]), "rmdir of a full directory");
    assert!(e.contains("STATUS_DIRECTORY_NOT_EMPTY"), "{e}");
    assert!(smbd.share_path.join("docs/full/x").exists());
    std::fs::remove_dir_all(smbd.share_path.join("docs/full")).unwrap();
    ok(run(&["rmdir", &format!("{base}/docs")]), "rmdir");
    assert!(!smbd.share_path.join("docs").exists());

    // Mistakes: one line each, and no partial download left behind.
    let line = fails(keyless(&["ls", &base, "--auth", "ntlm", "--user", "alice"], &[], "wrong\n"), "wrong password");
    assert!(
        line.starts_with("keyless ls: 127.0.0.1:")
            && line.contains("STATUS_LOGON_FAILURE: wrong user name or password"),
        "{line}"
    );
    let line = fails(run(&["ls", &format!("smb://127.0.0.1:{}/nosuch", smbd.port)]), "missing share");
    assert!(line.ends_with("STATUS_BAD_NETWORK_NAME: no share of that name on this server"), "{line}");
    let target = scratch.join("never.bin");
    let line = fails(run(&["get", &format!("{base}/absent.bin"), target.to_str().unwrap()]), "missing file");
    assert!(line.ends_with("no such file or directory"), "{line}");
    assert!(
        !target.exists()
            && std::fs::read_dir(scratch.path()).unwrap().all(|e| !e
                .unwrap()
                .file_name()
                .to_string_lossy()
                .contains("partial"))
    );
    let line = fails(keyless(&["ls", "http://x/y"], &[], ""), "bad URL");
    assert!(line.contains("not an SMB URL"), "{line}");
}

/// `--signing if-required` against an smbd that does not require signing: put and get move the
/// bytes (the requests go unsigned; `keyless-client`'s tests look at the wire), and `doctor`
/// says the session is neither signed nor encrypted; the default still signs.
#[test]
fn signing_if_required() {
    let scratch = ScratchDir::new("cli-signing");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Plain, None) else { return };
    let (base, auth) = ntlm(&scratch, &smbd);
    let auth: Vec<&str> = auth.iter().map(String::as_str).collect();
    let run = |args: &[&str]| keyless(&[args, &auth[..]].concat(), &[], "");
    let local = scratch.join("plain.bin");
    let data: Vec<u8> = (0..3 << 20).map(|i: usize| (i * 11 + i / 4001) as u8).collect();
    std::fs::write(&local, &data).unwrap();
    ok(run(&["put", "--signing", "if-required", local.to_str().unwrap(), &format!("{base}/plain.bin")]), "put");
    assert!(std::fs::read(smbd.share_path.join("plain.bin")).unwrap() == data, "smbd stored the bytes");
    let back = scratch.join("back.bin");
    ok(run(&["get", "--signing", "if-required", &format!("{base}/plain.bin"), back.to_str().unwrap()]), "get");
    assert!(std::fs::read(&back).unwrap() == data, "get returns the bytes");
    let out = keyless(&[&["doctor", &base, "--signing", "if-required"], &auth[..]].concat(), &[], "");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("neither signed nor encrypted"), "{text}");
    let out = keyless(&[&["doctor", &base], &auth[..]].concat(), &[], "");
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(text.contains("signed, not encrypted"), "{text}");
    let bad = run(&["ls", "--signing", "sometimes", &base]);
    let why = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success() && why.contains("possible values: always, if-required"), "{why}");
}

#[test]
fn kerberos_from_keyless_kinit() {
    let Some(kdc) = MitKdc::start() else { return };
    let Some(smbd) = Smbd::start(&kdc.dir, SmbMode::Signing, Some(&kdc)) else { return };
    let env = kdc.client_env();
    let cc = format!("FILE:{}", kdc.dir.join("cc").display());
    ok(keyless(&["kinit", "-c", &cc, &kdc.user], &env, &format!("{}\n", kdc.password)), "kinit");
    // The URL names the SPN's host; --ip says where it really is.
    let host = kdc.service.trim_start_matches("cifs/").split('@').next().unwrap().to_string();
    let url = format!("smb://{host}:{}/{}/", smbd.port, smbd.share);
    std::fs::write(smbd.share_path.join("kerberos.txt"), b"hello").unwrap();
    let out =
        ok(keyless(&["ls", &url, "--auth", "krb5", "-c", &cc, "--ip", "127.0.0.1"], &env, ""), "ls with Kerberos");
    assert!(out.contains("kerberos.txt"), "{out}");
    // The service ticket went into the cache.
    let listed = ok(keyless(&["klist", "-c", &cc], &env, ""), "klist");
    assert!(listed.contains(&kdc.service), "{listed}");
    // No ticket and no --user: one line that says what to do.
    let empty = format!("FILE:{}", kdc.dir.join("none").display());
    let line = fails(keyless(&["ls", &url, "-c", &empty, "--ip", "127.0.0.1"], &env, ""), "no ticket");
    assert!(line.contains("keyless kinit") && line.contains("--user"), "{line}");
}
