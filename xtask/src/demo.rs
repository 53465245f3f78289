//! `cargo xtask demo`: the three ways keyless reaches a share without a storage account key,
//! each against real peers on loopback (MIT KDC, Samba smbd with encryption required, keyless's
//! own KDC proxy) and the testbed's Azure emulators, with a caption of what a real deployment
//! has in their place. Everything it starts is stopped by PID when it ends.

use keyless_testbed::{AzureEmulator, MitKdc, SmbMode, Smbd, TestCert, free_port, wait_for_tcp};
use std::ffi::OsString;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

/// Debian packages the demo needs, and nothing the tests alone need.
pub const PACKAGES: &[&str] =
    &["krb5-kdc", "krb5-admin-server", "krb5-user", "samba", "libnss-wrapper", "fuse3", "openssl", "python3"];

/// How big a demo: the README's (a 256 MiB transfer) or CI's (16 MiB, the debug build).
pub struct Size {
    pub transfer_mib: u32,
}

/// Runs commands for the audience: the command line, a caption, its output as it comes.
struct Stage<'a> {
    exe: &'a str,
    env: Vec<(&'static str, OsString)>,
}

impl Stage<'_> {
    fn show(&self, caption: &str, program: &str, args: &[&str]) -> Result<(), String> {
        self.show_with(caption, program, args, None, &[])
    }

    fn show_with(
        &self,
        caption: &str,
        program: &str,
        args: &[&str],
        stdin: Option<&str>,
        env: &[(&'static str, OsString)],
    ) -> Result<(), String> {
        let shown = if program == self.exe { "keyless" } else { program };
        eprintln!("\n$ {shown} {}", args.iter().map(|a| shorten(a)).collect::<Vec<_>>().join(" "));
        if !caption.is_empty() {
            eprintln!("  # {caption}");
        }
        let mut cmd = Command::new(program);
        cmd.args(args).env_remove("KRB5CCNAME").envs(self.env.iter().cloned()).envs(env.iter().cloned());
        if stdin.is_some() {
            cmd.stdin(Stdio::piped());
        }
        let mut child = cmd.spawn().map_err(|e| format!("{program}: {e}"))?;
        if let (Some(text), Some(mut pipe)) = (stdin, child.stdin.take()) {
            use std::io::Write;
            pipe.write_all(text.as_bytes()).map_err(|e| e.to_string())?;
        }
        let status = child.wait().map_err(|e| e.to_string())?;
        if status.success() { Ok(()) } else { Err(format!("{shown} {} failed ({status})", args.join(" "))) }
    }
}

/// Scratch paths are long; the audience needs their last part.
fn shorten(arg: &str) -> String {
    match arg.find("/tmp/keyless-") {
        Some(at) => {
            let (head, path) = arg.split_at(at);
            let tail = path.splitn(4, '/').nth(3).unwrap_or(path);
            format!("{head}$DEMO/{tail}")
        }
        None => arg.to_string(),
    }
}

fn header(text: &str) {
    eprintln!("\n==================================================================================");
    eprintln!("{text}");
    eprintln!("==================================================================================");
}

/// The demo, with keyless at `exe`.
pub fn run(exe: &str, size: &Size) -> Result<(), String> {
    let started = Instant::now();
    let kdc = MitKdc::start().ok_or("MIT krb5 is not installed (cargo xtask demo installs it)")?;
    let smbd = Smbd::start(&kdc.dir, SmbMode::Encrypt, Some(&kdc)).ok_or("Samba is not installed")?;
    eprintln!(
        "\n(on loopback, in {}: an MIT KDC for EXAMPLE.TEST, Samba smbd on port {} with signing",
        kdc.dir.path().display(),
        smbd.port
    );
    eprintln!(" mandatory and encryption required; they stop when the demo ends)");
    let stage = Stage { exe, env: kdc.client_env() };
    // The share is named as clients would name it; --ip reaches it on loopback.
    let share = format!("smb://files.example.test/{}/", smbd.share);
    let reach = ["--ip".to_string(), "127.0.0.1".into(), "--port".into(), smbd.port.to_string()];
    let fuse =
        Path::new("/dev/fuse").exists() && Command::new("id").arg("-u").output().is_ok_and(|o| o.stdout == b"0\n");

    active_directory(&stage, &kdc, &share, &reach, fuse, size)?;
    entra_kerberos(&stage, &kdc, &share, &reach)?;
    managed_identity(&stage, &kdc, &smbd, &share, &reach, fuse)?;

    drop(smbd);
    drop(kdc);
    eprintln!(
        "\ndemo: done in {:.0} s; smbd, the KDC, the proxy and the emulators are stopped, their directory removed",
        started.elapsed().as_secs_f64()
    );
    Ok(())
}

fn with(args: &[&str], more: &[String]) -> Vec<String> {
    args.iter().map(|s| s.to_string()).chain(more.iter().cloned()).collect()
}

fn strs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

/// (a) A domain user's password, a TGT, and the share.
fn active_directory(
    stage: &Stage,
    kdc: &MitKdc,
    share: &str,
    reach: &[String],
    fuse: bool,
    size: &Size,
) -> Result<(), String> {
    header(
        "(a) Active Directory: a user's Kerberos ticket opens the share\n    (a real deployment: your domain controllers are the KDC, your file server or Azure Files\n     joined to AD DS is smbd)",
    );
    let cc = format!("FILE:{}", kdc.dir.join("ad.ccache").display());
    let exe = stage.exe;
    stage.show_with(
        "password pre-authentication; the password comes from stdin here",
        exe,
        &["kinit", "-c", &cc, &kdc.user],
        Some(&format!("{}\n", kdc.password)),
        &[],
    )?;
    stage.show("the TGT", exe, &["klist", "-c", &cc])?;
    let c = ["-c".to_string(), cc.clone()];
    let local = kdc.dir.join("hello.txt");
    std::fs::write(&local, "Hello from keyless: Kerberos to SMB, no storage account key.\n")
        .map_err(|e| e.to_string())?;
    let local = local.display().to_string();
    stage.show(
        "upload; the ticket for cifs/files.example.test comes through the TGT",
        exe,
        &strs(&with(&["put", &local, share], &[&c[..], reach].concat())),
    )?;
    stage.show("list the share", exe, &strs(&with(&["ls", share], &[&c[..], reach].concat())))?;
    stage.show(
        "read it back to stdout",
        exe,
        &strs(&with(&["get", &format!("{share}hello.txt"), "-"], &[&c[..], reach].concat())),
    )?;
    let big = kdc.dir.join("video.bin");
    let mib = size.transfer_mib;
    let data: Vec<u8> = (0..mib << 20).map(|i| (i.wrapping_mul(7) ^ (i >> 12)) as u8).collect();
    std::fs::write(&big, data).map_err(|e| e.to_string())?;
    let big = big.display().to_string();
    stage.show(
        &format!("{mib} MiB up, encrypted (progress shows on a terminal)"),
        exe,
        &strs(&with(&["put", &big, share], &[&c[..], reach].concat())),
    )?;
    let copy = kdc.dir.join("video-copy.bin").display().to_string();
    stage.show(
        "and back",
        exe,
        &strs(&with(&["get", &format!("{share}video.bin"), &copy], &[&c[..], reach].concat())),
    )?;
    stage.show("the same bytes", "cmp", &[&big, &copy])?;
    if fuse {
        let mnt = kdc.dir.join("mnt-ad");
        std::fs::create_dir_all(&mnt).map_err(|e| e.to_string())?;
        let mnt = mnt.display().to_string();
        stage.show(
            "the share as a directory (FUSE)",
            exe,
            &strs(&with(&["mount", share, &mnt], &[&c[..], reach].concat())),
        )?;
        let shown = stage
            .show("real tools on the mount", "ls", &["-l", &mnt])
            .and_then(|()| stage.show("", "cat", &[&format!("{mnt}/hello.txt")]));
        stage.show("", exe, &["umount", &mnt])?;
        shown?;
    } else {
        eprintln!("\n(mount skipped: FUSE mounts need root and /dev/fuse)");
    }
    stage.show("the tickets used: the TGT and cifs/files.example.test", exe, &["klist", "-c", &cc])?;
    Ok(())
}

/// (b) A cloud TGT handed over at sign-in, a service ticket through a KDC proxy over HTTPS.
fn entra_kerberos(stage: &Stage, kdc: &MitKdc, share: &str, reach: &[String]) -> Result<(), String> {
    header(
        "(b) Microsoft Entra Kerberos: a cloud TGT, then a ticket through a KDC proxy over HTTPS\n    (a real deployment: Entra ID hands the TGT to the client at sign-in, and\n     https://login.microsoftonline.com/<tenant>/kerberos is the proxy)",
    );
    // The TGT as Entra hands it out: a KRB-CRED (tgt_cloud's messageBuffer). The loopback
    // KDC makes it here, out of sight of keyless.
    let signin = kdc.dir.join("signin.ccache");
    kdc.mit_kinit(&signin);
    let held = keyless_krb::ccache::CCache::read(&signin).map_err(|e| e.to_string())?;
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let tgt = held.find_tgt(&held.principal.realm, now).ok_or("no TGT from the sign-in stand-in")?;
    let krb_cred = keyless_krb::krb_cred::encode_unencrypted(&[tgt]).map_err(|e| e.to_string())?;
    let tgt_file = kdc.dir.join("tgt_cloud.krbcred");
    std::fs::write(&tgt_file, krb_cred).map_err(|e| e.to_string())?;
    let _ = std::fs::remove_file(&signin);

    // keyless's own KDC proxy, with the self-signed certificate `openssl req -x509` makes.
    let cert = TestCert::self_signed(&kdc.dir, "proxy", &["127.0.0.1"]).ok_or("openssl is not installed")?;
    let port = free_port();
    let realm = &kdc.realms[0];
    let mut proxy = Command::new(stage.exe)
        .args(["kdc-proxy", "--listen", &format!("127.0.0.1:{port}"), "--cert"])
        .arg(&cert.cert)
        .arg("--key")
        .arg(&cert.key)
        .args(["--realm", &format!("{}=127.0.0.1:{}", realm.name, realm.port)])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    wait_for_tcp(port, "keyless kdc-proxy");
    let shown = (|| {
        let url = format!("https://127.0.0.1:{port}/00000000-0000-0000-0000-000000000000/kerberos");
        let conf = kdc.dir.join("krb5-entra.conf");
        std::fs::write(
            &conf,
            format!(
                "[libdefaults]\n default_realm = {r}\n dns_canonicalize_hostname = false\n rdns = false\n[realms]\n {r} = {{\n  kdc = {url}\n  http_anchors = FILE:{}\n }}\n[domain_realm]\n .example.test = {r}\n",
                cert.cert.display(),
                r = realm.name
            ),
        )
        .map_err(|e| e.to_string())?;
        eprintln!("\n  krb5.conf of this client: {} = {{ kdc = {} }} (no port 88 anywhere)", realm.name, shorten(&url));
        let env = [("KRB5_CONFIG", conf.into_os_string())];
        let cc = format!("FILE:{}", kdc.dir.join("entra.ccache").display());
        let exe = stage.exe;
        stage.show_with(
            "the cloud TGT as Entra hands it out (a KRB-CRED), into a cache",
            exe,
            &["import", "--krb-cred", &tgt_file.display().to_string(), "-c", &cc],
            None,
            &env,
        )?;
        let c = ["-c".to_string(), cc.clone()];
        stage.show_with(
            "the service ticket comes through the proxy over HTTPS, then the share",
            exe,
            &strs(&with(&["ls", share], &[&c[..], reach].concat())),
            None,
            &env,
        )?;
        stage.show_with("", exe, &["klist", "-c", &cc], None, &env)
    })();
    keyless_testbed::stop(&mut proxy);
    shown
}

/// (c) A managed identity's token traded for a ticket; a mount with no key, password or cache.
fn managed_identity(
    stage: &Stage,
    kdc: &MitKdc,
    smbd: &Smbd,
    share: &str,
    reach: &[String],
    fuse: bool,
) -> Result<(), String> {
    header(
        "(c) A managed identity: an IMDS token traded for a ticket, no key, password or cache\n    (a real deployment: the VM's IMDS and Azure Files' kerbticket endpoint; here the testbed's\n     EMULATORS of both, whose tickets come from the loopback KDC)",
    );
    let azure = AzureEmulator::start(kdc, (&smbd.user, &smbd.password), 1).ok_or("python3 is not installed")?;
    let oauth = [
        "--auth".to_string(),
        "oauth".into(),
        "--imds-endpoint".into(),
        azure.http.clone(),
        "--file-endpoint".into(),
        azure.https.clone(),
        "--ca-file".into(),
        azure.cert.ca.display().to_string(),
    ];
    let none: [(&'static str, OsString); 1] = [("KRB5CCNAME", kdc.dir.join("no-such-cache").into_os_string())];
    let exe = stage.exe;
    stage.show(
        "the identity's token for https://storage.azure.com (shown only with --raw)",
        exe,
        &["token", "--imds-endpoint", &azure.http],
    )?;
    stage.show(
        "the walk from this machine to the share, one link per line",
        exe,
        &strs(&with(&["doctor", share], &[&oauth[..], reach].concat())),
    )?;
    if fuse {
        let mnt = kdc.dir.join("mnt-mi");
        std::fs::create_dir_all(&mnt).map_err(|e| e.to_string())?;
        let mnt = mnt.display().to_string();
        stage.show_with(
            "the share mounted with the identity alone",
            exe,
            &strs(&with(&["mount", share, &mnt], &[&oauth[..], reach].concat())),
            None,
            &none,
        )?;
        let shown =
            stage.show("", "ls", &["-l", &mnt]).and_then(|()| stage.show("", "cat", &[&format!("{mnt}/hello.txt")]));
        stage.show("", exe, &["umount", &mnt])?;
        shown?;
    } else {
        stage.show_with(
            "the share with the identity alone (a mount needs root and /dev/fuse)",
            exe,
            &strs(&with(&["ls", share], &[&oauth[..], reach].concat())),
            None,
            &none,
        )?;
    }
    drop(azure);
    Ok(())
}
