//! Samba as an Active Directory domain controller on 127.0.0.2 (recipe and pitfalls in
//! `shared/docs/peers.md` 4a): a throwaway domain AD.EXAMPLE.TEST provisioned in the scratch
//! directory, user alice, a writable share on the DC's own smbd (which validates the PAC), and a
//! krb5.conf for clients. One per machine: the DC's smbd talks to winbindd through the fixed
//! `/run/samba/winbindd` pipe, so tests that use it live in one test function.

use crate::{ScratchDir, require};
use std::net::TcpStream;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// The DC's address: on `lo` without configuration (127/8), apart from 127.0.0.1's peers.
pub const AD_IP: &str = "127.0.0.2";

/// A running Samba AD DC.
#[derive(Debug)]
pub struct AdDc {
    /// Its directory.
    pub dir: PathBuf,
    /// The realm, AD.EXAMPLE.TEST.
    pub realm: String,
    /// The DC's host name, whose `cifs/` SPN the domain registers: dc1.ad.example.test.
    pub host: String,
    /// The share on the DC.
    pub share: String,
    /// The share's directory.
    pub share_path: PathBuf,
    /// The user, `alice@AD.EXAMPLE.TEST`.
    pub user: String,
    /// Her password.
    pub password: String,
    /// krb5.conf for clients (KDC at 127.0.0.2:88).
    pub krb5_conf: PathBuf,
    process: Child,
}

fn samba_tool(conf: &std::path::Path, args: &[&str]) {
    let out = Command::new("samba-tool").args(args).arg("-s").arg(conf).output().unwrap();
    assert!(out.status.success(), "samba-tool {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

fn listening(port: u16) -> bool {
    TcpStream::connect_timeout(&format!("{AD_IP}:{port}").parse().unwrap(), Duration::from_millis(200)).is_ok()
}

impl AdDc {
    /// Provisions and starts the DC (4-5 s), or `None` when Samba's AD packages are missing.
    pub fn start(scratch: &ScratchDir) -> Option<Self> {
        require(&["samba", "samba-tool"])?;
        if !std::path::Path::new("/usr/share/samba/setup/ad-schema").exists() {
            require(&["samba-ad-provision (package samba-ad-provision)"])?;
        }
        assert!(!listening(88), "another KDC (an AD DC?) already listens on {AD_IP}:88");
        let dir = scratch.join("ad");
        let share_path = dir.join("share");
        std::fs::create_dir_all(&share_path).unwrap();
        for p in [scratch.path(), dir.as_path(), &share_path] {
            std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        }
        let empty = scratch.join("empty-smb.conf");
        std::fs::write(&empty, "").unwrap();
        let d = dir.display();
        let out = Command::new("samba-tool")
            .args(["domain", "provision", "-s"])
            .arg(&empty)
            .arg(format!("--targetdir={d}"))
            .args([
                "--realm=AD.EXAMPLE.TEST",
                "--domain=ADTEST",
                "--adminpass=Admin-Passw0rd!",
                "--server-role=dc",
                "--dns-backend=NONE",
                "--use-rfc2307",
                "--host-name=dc1",
                &format!("--host-ip={AD_IP}"),
                &format!("--option=interfaces={AD_IP}/8"),
                "--option=bind interfaces only=yes",
                "--option=disable netbios=yes",
                "--option=server services=s3fs rpc ldap cldap kdc drepl winbindd kcc",
                &format!("--option=log file={d}/log/log.%m"),
                &format!("--option=pid directory={d}/run"),
                &format!("--option=ncalrpc dir={d}/run/ncalrpc"),
                &format!("--option=ntp signd socket directory={d}/run/ntp_signd"),
            ])
            .output()
            .unwrap();
        assert!(out.status.success(), "samba-tool domain provision: {}", String::from_utf8_lossy(&out.stderr));
        let conf = dir.join("etc/smb.conf");
        let mut text = std::fs::read_to_string(&conf).unwrap();
        text += &format!("\n[share]\n    path = {}\n    read only = no\n", share_path.display());
        std::fs::write(&conf, text).unwrap();
        let log = std::fs::File::create(dir.join("samba.out")).unwrap();
        let process = Command::new("samba")
            .args(["--foreground", "-M", "single", "-s"])
            .arg(&conf)
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let deadline = Instant::now() + Duration::from_secs(30);
        while !(listening(88) && listening(445)) {
            assert!(Instant::now() < deadline, "the AD DC did not listen on {AD_IP}:88 and :445 within 30 s");
            std::thread::sleep(Duration::from_millis(50));
        }
        let password = "Alice-Passw0rd!".to_string();
        samba_tool(&conf, &["user", "add", "alice", &password]);
        let krb5_conf = dir.join("krb5-client.conf");
        std::fs::write(
            &krb5_conf,
            format!(
                "[libdefaults]\n    default_realm = AD.EXAMPLE.TEST\n    dns_lookup_kdc = false\n    dns_lookup_realm = false\n    rdns = false\n\
                 [realms]\n    AD.EXAMPLE.TEST = {{\n        kdc = {AD_IP}:88\n    }}\n\
                 [domain_realm]\n    .ad.example.test = AD.EXAMPLE.TEST\n    ad.example.test = AD.EXAMPLE.TEST\n"
            ),
        )
        .unwrap();
        Some(Self {
            dir,
            realm: "AD.EXAMPLE.TEST".into(),
            host: "dc1.ad.example.test".into(),
            share: "share".into(),
            share_path,
            user: "alice@AD.EXAMPLE.TEST".into(),
            password,
            krb5_conf,
            process,
        })
    }

    /// Runs `samba-tool ARGS` against this domain's database; its output.
    pub fn samba_tool(&self, args: &[&str]) -> String {
        let out = Command::new("samba-tool").args(args).arg("-s").arg(self.dir.join("etc/smb.conf")).output().unwrap();
        assert!(out.status.success(), "samba-tool {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Environment for Kerberos clients of this domain.
    pub fn client_env(&self) -> Vec<(&'static str, std::ffi::OsString)> {
        vec![("KRB5_CONFIG", self.krb5_conf.clone().into()), ("KRB5RCACHEDIR", self.dir.clone().into())]
    }

    /// The DC's logs (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("samba.out")).unwrap_or_default()
    }
}

impl Drop for AdDc {
    fn drop(&mut self) {
        // SIGTERM to the samba root process stops its smbd and winbindd too.
        crate::stop(&mut self.process);
    }
}
