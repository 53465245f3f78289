//! The mount tests' helpers: whether this machine can mount, a share mounted against smbd
//! (directly or through a proxy), and shell one-liners.

use super::run;
use keyless_testbed::{ScratchDir, SmbMode, Smbd};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub fn can_mount() -> bool {
    let root = run("id", &["-u"], Vec::<(&str, &str)>::new(), "").stdout == b"0\n";
    let ok = root && Path::new("/dev/fuse").exists();
    if !ok {
        let msg = "FUSE mounts need root and /dev/fuse";
        assert!(std::env::var_os("CI").is_none(), "{msg}");
        eprintln!("skipped: {msg}");
    }
    ok
}

pub struct Mounted {
    pub scratch: ScratchDir,
    pub smbd: Smbd,
    pub mnt: PathBuf,
}

impl Mounted {
    /// smbd (encryption required) and the share mounted with `-o options`.
    pub fn start(options: &str) -> Option<Self> {
        let (scratch, smbd) = Self::server(SmbMode::Encrypt)?;
        let port = smbd.port;
        Some(Self::mount(scratch, smbd, port, options))
    }

    /// A scratch directory and smbd in `mode`, when this machine can mount.
    pub fn server(mode: SmbMode) -> Option<(ScratchDir, Smbd)> {
        if !can_mount() {
            return None;
        }
        let scratch = ScratchDir::new("mount");
        let smbd = Smbd::start(&scratch, mode, None)?;
        Some((scratch, smbd))
    }

    /// The share of `smbd` mounted through `port` (smbd's, or a proxy's), as alice.
    pub fn mount(scratch: ScratchDir, smbd: Smbd, port: u16, options: &str) -> Self {
        let pw = scratch.join("pw");
        std::fs::write(&pw, format!("{}\n", smbd.password)).unwrap();
        let mnt = scratch.join("mnt");
        std::fs::create_dir(&mnt).unwrap();
        let log = scratch.join("mount.log");
        let url = format!("smb://127.0.0.1:{port}/{}", smbd.share);
        let out = run(
            super::KEYLESS,
            &["mount", &url, mnt.to_str().unwrap(), "--auth", "ntlm", "--user", "alice"]
                .iter()
                .chain(&["--password-file", pw.to_str().unwrap(), "-o", options, "--log", log.to_str().unwrap()])
                .copied()
                .collect::<Vec<_>>(),
            Vec::<(&str, &str)>::new(),
            "",
        );
        assert!(out.status.success(), "mount: {}", String::from_utf8_lossy(&out.stderr));
        Self { scratch, smbd, mnt }
    }

    pub fn at(&self, rel: &str) -> PathBuf {
        self.mnt.join(rel)
    }

    pub fn server_path(&self, rel: &str) -> PathBuf {
        self.smbd.share_path.join(rel)
    }

    /// What the mount logged so far (`--log`).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.scratch.join("mount.log")).unwrap_or_default()
    }

    pub fn umount(&self) -> Output {
        run(super::KEYLESS, &["umount", self.mnt.to_str().unwrap()], Vec::<(&str, &str)>::new(), "")
    }
}

impl Drop for Mounted {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.mnt).output();
    }
}

/// A test program `cargo xtask deps` installs (skipped, or failed under CI, without it).
pub fn tool(name: &str) -> Option<PathBuf> {
    keyless_testbed::require(&[name])?;
    keyless_testbed::find_program(name)
}

pub fn sh(script: &str) -> String {
    let out = Command::new("sh").args(["-ec", script]).output().unwrap();
    assert!(out.status.success(), "{script}: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

pub fn sha256(path: &Path) -> String {
    sh(&format!("sha256sum '{}'", path.display())).split(' ').next().unwrap().to_string()
}

/// Unmounts (lazily) when dropped.
pub struct Unmount(pub PathBuf);

impl Drop for Unmount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).output();
    }
}
