//! Samba `smbd` standalone on loopback (recipe and pitfalls in `shared/docs/peers.md` 3, 4b):
//! a throwaway config, user alice through nss_wrapper (no account on the machine), NTLMv2 only,
//! signing mandatory, and Kerberos with a dedicated keytab when an MIT KDC is given. Its log
//! holds each SMB 3.x session's keys (`debug encryption`), for the tests of `keyless inspect`. Started
//! without `--no-process-group` (so stopping it kills nothing else) and with `_NO_WINBINDD=1`.

use crate::{MitKdc, ScratchDir, free_port, require};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Where Debian puts nss_wrapper.
const NSS_WRAPPER: &str = "/usr/lib/x86_64-linux-gnu/libnss_wrapper.so";

/// How the server is configured.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SmbMode {
    /// SMB2_02 and up, signing mandatory.
    Signing,
    /// SMB3_11 only, signing mandatory, encryption required.
    Encrypt,
    /// As `Encrypt`, with only this cipher allowed (`AES-128-GCM`, `AES-256-GCM`, ...).
    EncryptWith(&'static str),
    /// Signing mandatory, this one protocol only (`SMB2_10`, `SMB3_00`, `SMB3_02`, `SMB3_11`).
    Only(&'static str),
    /// As `Only`, with encryption required (which SMB 2.x cannot give).
    EncryptOnly(&'static str),
    /// SMB2_02 and up, signing only when the client asks (to measure unsigned clients).
    Plain,
}

/// A running smbd.
#[derive(Debug)]
pub struct Smbd {
    /// Its directory.
    pub dir: PathBuf,
    /// The loopback address it listens on (127.0.0.1 unless started with `start_on`).
    pub ip: String,
    /// TCP port on `ip`.
    pub port: u16,
    /// Share name.
    pub share: String,
    /// The share's directory.
    pub share_path: PathBuf,
    /// User and password (NTLM).
    pub user: String,
    /// The password.
    pub password: String,
    /// smb.conf.
    pub conf: PathBuf,
    process: Child,
    /// The environment smbd runs with (nss_wrapper, the KDC's krb5.conf).
    env: Vec<(&'static str, std::ffi::OsString)>,
}

impl Smbd {
    /// Starts smbd in `scratch`; with a KDC it also accepts that realm's Kerberos tickets for the
    /// principals in the KDC's service keytab.
    pub fn start(scratch: &ScratchDir, mode: SmbMode, kdc: Option<&MitKdc>) -> Option<Self> {
        Self::start_on(scratch, mode, kdc, "127.0.0.1", free_port())
    }

    /// [`Smbd::start`] listening on `ip` and `port` only (`bind interfaces only`): several
    /// servers on port 445 at loopback addresses of their own (127.0.0.2, ...), as DFS
    /// targets are reached. Port 445 needs root.
    pub fn start_on(scratch: &ScratchDir, mode: SmbMode, kdc: Option<&MitKdc>, ip: &str, port: u16) -> Option<Self> {
        require(&["smbd", "smbpasswd"])?;
        if !Path::new(NSS_WRAPPER).exists() {
            require(&["libnss_wrapper.so (package libnss-wrapper)"])?;
        }
        let dir = scratch.join(&format!("samba-{}", free_port()));
        for sub in ["lock", "state", "cache", "private", "run", "ncalrpc", "bind-dns", "log", "share"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // smbd switches to the user's uid for file access: every parent must be traversable.
        for p in [scratch.path(), dir.as_path(), &dir.join("share")] {
            std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        }
        // smbd also needs its guest account (nobody) to exist, even with guests refused.
        std::fs::write(
            dir.join("passwd"),
            "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\nalice:x:2000:2000:alice:/tmp:/bin/false\nazurefileclient:x:2001:2000:kerbticket client:/tmp:/bin/false\n",
        )
        .unwrap();
        std::fs::write(dir.join("group"), "root:x:0:\nnogroup:x:65534:\nalice:x:2000:\n").unwrap();
        let d = dir.display();
        let mut conf = format!(
            "[global]
    server role = standalone server
    workgroup = TESTGROUP
    netbios name = FILESRV
    interfaces = {ip}
    bind interfaces only = yes
    smb ports = {port}
    disable netbios = yes
    lock directory = {d}/lock
    state directory = {d}/state
    cache directory = {d}/cache
    private dir = {d}/private
    pid directory = {d}/run
    ncalrpc dir = {d}/ncalrpc
    binddns dir = {d}/bind-dns
    log file = {d}/log/log.%m
    max log size = 0
    log level = 1
    passdb backend = tdbsam:{d}/private/passdb.tdb
    security = user
    map to guest = never
    load printers = no
    printing = bsd
    printcap name = /dev/null
    disable spoolss = yes
    ntlm auth = ntlmv2-only
    debug encryption = yes
    server signing = {}
",
            if mode == SmbMode::Plain { "auto" } else { "mandatory" }
        );
        conf += &match mode {
            SmbMode::Signing | SmbMode::Plain => "    server min protocol = SMB2_02\n".to_string(),
            SmbMode::Encrypt => "    server min protocol = SMB3_11\n    smb encrypt = required\n".to_string(),
            SmbMode::Only(protocol) => {
                format!("    server min protocol = {protocol}\n    server max protocol = {protocol}\n")
            }
            SmbMode::EncryptOnly(protocol) => format!(
                "    server min protocol = {protocol}\n    server max protocol = {protocol}\n    smb encrypt = required\n"
            ),
            SmbMode::EncryptWith(cipher) => format!(
                "    server min protocol = SMB3_11\n    smb encrypt = required\n    server smb3 encryption algorithms = {cipher}\n"
            ),
        };
        if let Some(kdc) = kdc {
            conf += &format!(
                "    realm = {}\n    kerberos method = dedicated keytab\n    dedicated keytab file = FILE:{}\n",
                kdc.realms[0].name,
                kdc.service_keytab.display()
            );
        }
        // Durable handles need smbd's own share modes and locks, not the kernel's.
        conf += "    kernel oplocks = no\n    kernel share modes = no\n    posix locking = no\n";
        conf +=
            &format!("[share]\n    path = {d}/share\n    read only = no\n    valid users = alice azurefileclient\n");
        let conf_path = dir.join("smb.conf");
        std::fs::write(&conf_path, conf).unwrap();
        let password = "alice-Passw0rd".to_string();
        let env = Self::env_for(&dir, kdc);
        let mut pw = Command::new("smbpasswd");
        pw.args(["-c", conf_path.to_str().unwrap(), "-s", "-a", "alice"])
            .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())));
        let mut child = pw.stdin(Stdio::piped()).stdout(Stdio::piped()).stderr(Stdio::piped()).spawn().unwrap();
        std::io::Write::write_all(&mut child.stdin.take().unwrap(), format!("{password}\n{password}\n").as_bytes())
            .unwrap();
        let out = child.wait_with_output().unwrap();
        assert!(out.status.success(), "smbpasswd: {}", String::from_utf8_lossy(&out.stderr));
        let process = Self::spawn(&dir, &conf_path, &env);
        crate::wait_for_tcp_at(ip, port, "smbd");
        Some(Self {
            share_path: dir.join("share"),
            dir,
            ip: ip.to_string(),
            port,
            share: "share".into(),
            user: "alice".into(),
            password,
            conf: conf_path,
            process,
            env,
        })
    }

    /// smbd in the foreground, its output appended to `smbd.out`.
    fn spawn(dir: &Path, conf: &Path, env: &[(&'static str, std::ffi::OsString)]) -> Child {
        let log = std::fs::OpenOptions::new().create(true).append(true).open(dir.join("smbd.out")).unwrap();
        Command::new("smbd")
            .args(["--foreground", "--debug-stdout", &format!("--configfile={}", conf.display())])
            .envs(env.iter().map(|(k, v)| (*k, v.as_os_str())))
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap()
    }

    /// Stops smbd and every process it forked for a client (so every connection drops at
    /// once), and starts it again on the same port, with the same configuration and files;
    /// returns once it listens again.
    pub fn restart(&mut self) {
        for pid in self.forks() {
            let _ = Command::new("kill").args(["-KILL", &pid.to_string()]).status();
        }
        crate::stop(&mut self.process);
        self.process = Self::spawn(&self.dir, &self.conf, &self.env);
        crate::wait_for_tcp_at(&self.ip, self.port, "smbd");
    }

    /// The processes this smbd forked (one per client connection, its scavenger): a fork
    /// has the same command line, naming our smb.conf.
    pub fn forks(&self) -> Vec<u32> {
        let ours = format!("--configfile={}", self.conf.display());
        std::fs::read_dir("/proc")
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| {
                let pid: u32 = e.file_name().to_string_lossy().parse().ok()?;
                let cmdline = std::fs::read(e.path().join("cmdline")).ok()?;
                let cmdline = String::from_utf8_lossy(&cmdline).replace('\0', " ");
                (pid != self.process.id() && cmdline.contains(&ours)).then_some(pid)
            })
            .collect()
    }

    fn env_for(dir: &Path, kdc: Option<&MitKdc>) -> Vec<(&'static str, std::ffi::OsString)> {
        let mut env: Vec<(&'static str, std::ffi::OsString)> = vec![
            ("LD_PRELOAD", NSS_WRAPPER.into()),
            ("NSS_WRAPPER_PASSWD", dir.join("passwd").into()),
            ("NSS_WRAPPER_GROUP", dir.join("group").into()),
            ("_NO_WINBINDD", "1".into()),
        ];
        if let Some(kdc) = kdc {
            env.push(("KRB5_CONFIG", kdc.krb5_conf.clone().into()));
            env.push(("KRB5RCACHEDIR", dir.into()));
        }
        env
    }

    /// Adds a share `name` that is an MS-DFS root (`msdfs root = yes`) with `links` (link
    /// name, targets as `server\\share` in the order a referral lists them), and has smbd
    /// reload its configuration (new connections see the share). Returns the root's
    /// directory.
    pub fn add_dfs_root(&self, name: &str, links: &[(&str, &[&str])]) -> PathBuf {
        let root = self.dir.join(format!("dfs-{name}"));
        std::fs::create_dir_all(&root).unwrap();
        std::fs::set_permissions(&root, std::os::unix::fs::PermissionsExt::from_mode(0o777)).unwrap();
        for (link, targets) in links {
            std::os::unix::fs::symlink(format!("msdfs:{}", targets.join(",")), root.join(link)).unwrap();
        }
        let share = format!(
            "[{name}]\n    path = {}\n    msdfs root = yes\n    read only = no\n    valid users = alice azurefileclient\n",
            root.display()
        );
        let mut conf = std::fs::read_to_string(&self.conf).unwrap();
        conf.push_str(&share);
        std::fs::write(&self.conf, conf).unwrap();
        let _ = Command::new("kill").args(["-HUP", &self.process.id().to_string()]).status();
        // smbd reloads between accepting connections; give it the moment it takes.
        std::thread::sleep(std::time::Duration::from_millis(500));
        root
    }

    /// The smbd log (for failure messages).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("smbd.out")).unwrap_or_default()
    }

    /// What smbd's `debug encryption` (on in its smb.conf; 3.x sessions only) dumped under
    /// `label` ("Session Id", "Session Key", "Signing Key", "ServerIn Key", "ServerOut Key")
    /// for each session in turn: its hex dump lines as one lowercase hex string.
    pub fn logged_keys(&self, label: &str) -> Vec<String> {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        let mut found = Vec::new();
        for (at, _) in lines.iter().enumerate().filter(|(_, l)| l.starts_with(label)) {
            let dump = lines[at + 1..].iter().take_while(|l| l.trim_start().starts_with("[00"));
            let mut out = String::new();
            for line in std::iter::once(&lines[at]).chain(dump) {
                let Some((_, bytes)) = line.split_once(']') else { continue };
                // Samba's dump_data puts byte k at a fixed column (" XX", two more spaces
                // after the eighth); the bytes as text follow, and may look like hex pairs.
                for k in 0..16 {
                    let at = 1 + 3 * k + if k >= 8 { 2 } else { 0 };
                    match bytes.get(at..at + 2) {
                        Some(t) if t.bytes().all(|b| b.is_ascii_hexdigit()) => out.push_str(&t.to_lowercase()),
                        _ => break,
                    }
                }
            }
            found.push(out);
        }
        found
    }

    /// [`Self::logged_keys`] of the first session.
    pub fn logged_key(&self, label: &str) -> Option<String> {
        self.logged_keys(label).into_iter().next()
    }

    /// Each session as `keyless inspect --session-key` takes it (`0xID=KEY`), from the log.
    pub fn logged_session_keys(&self) -> Vec<String> {
        let ids = self.logged_keys("Session Id");
        let keys = self.logged_keys("Session Key");
        ids.iter()
            .zip(keys)
            .filter_map(|(id, key)| {
                let bytes: Vec<u8> =
                    (0..id.len()).step_by(2).filter_map(|i| u8::from_str_radix(id.get(i..i + 2)?, 16).ok()).collect();
                Some(format!("{:#018x}={key}", u64::from_le_bytes(bytes.try_into().ok()?)))
            })
            .collect()
    }

    /// The first of [`Self::logged_session_keys`].
    pub fn logged_session_key(&self) -> Option<String> {
        self.logged_session_keys().into_iter().next()
    }
}

impl Drop for Smbd {
    fn drop(&mut self) {
        crate::stop(&mut self.process);
        // smbd may have started samba-dcerpcd on demand; it records its pid in our run dir.
        if let Ok(pid) = std::fs::read_to_string(self.dir.join("run/samba-dcerpcd.pid")) {
            let pid = pid.trim();
            let cmdline = std::fs::read_to_string(format!("/proc/{pid}/cmdline")).unwrap_or_default();
            if cmdline.contains(&self.dir.display().to_string()) {
                let _ = Command::new("kill").arg(pid).status();
            }
        }
    }
}
