//! Debian's sssd-kcm on a socket of the test's own. Its database paths are compiled in
//! (`/var/lib/sss/db`, `/var/lib/sss/secrets`), so it runs in a mount namespace of its own
//! with empty tmpfs over both: the machine's own sssd data is never touched. Needs root.

use crate::ScratchDir;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// A running sssd_kcm, stopped by PID on drop.
pub struct SssdKcm {
    /// The socket clients connect to.
    pub socket: PathBuf,
    process: Child,
}

const BINARY: &str = "/usr/libexec/sssd/sssd_kcm";

impl SssdKcm {
    /// Starts it in `dir`; `None` (a skip, or a failure under CI) when sssd-kcm, unshare or
    /// root is missing.
    pub fn start(dir: &ScratchDir) -> Option<Self> {
        let missing = if !std::path::Path::new(BINARY).exists() {
            Some("sssd-kcm")
        } else if crate::require(&["unshare", "sssd"]).is_none() {
            return None;
        } else if !is_root() {
            Some("root (sssd_kcm's database paths are fixed; the test mounts over them)")
        } else {
            None
        };
        if let Some(what) = missing {
            let msg = format!("missing {what}: run `cargo xtask deps` as root (CI installs it)");
            assert!(std::env::var_os("CI").is_none(), "{msg}");
            eprintln!("skipped: {msg}");
            return None;
        }
        let socket = dir.join("kcm.sock");
        let conf = dir.join("sssd.conf");
        std::fs::write(&conf, format!("[sssd]\nservices = kcm\n[kcm]\nsocket_path = {}\n", socket.display())).unwrap();
        let _ = std::fs::set_permissions(&conf, std::os::unix::fs::PermissionsExt::from_mode(0o600));
        let log = std::fs::File::create(dir.join("sssd_kcm.log")).unwrap();
        let script = format!(
            "mount -t tmpfs tmpfs /var/lib/sss/db && mount -t tmpfs tmpfs /var/lib/sss/secrets && \
             sssd -c {conf} --genconf-section=kcm && exec {BINARY} --uid 0 --gid 0 --logger=stderr",
            conf = conf.display()
        );
        // unshare and sh exec in place: the child's PID is sssd_kcm's.
        let process = Command::new("unshare")
            .args(["-m", "--propagation", "private", "sh", "-c", &script])
            .stdout(Stdio::from(log.try_clone().unwrap()))
            .stderr(Stdio::from(log))
            .spawn()
            .unwrap();
        let mut kcm = Self { socket, process };
        let deadline = std::time::Instant::now() + std::time::Duration::from_secs(15);
        while !kcm.socket.exists() {
            if let Ok(Some(status)) = kcm.process.try_wait() {
                panic!(
                    "sssd_kcm exited ({status}): {}",
                    std::fs::read_to_string(dir.join("sssd_kcm.log")).unwrap_or_default()
                );
            }
            assert!(std::time::Instant::now() < deadline, "sssd_kcm made no socket in 15 s");
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        Some(kcm)
    }
}

/// Whether this process's effective uid is 0.
fn is_root() -> bool {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status.lines().find_map(|l| l.strip_prefix("Uid:")).and_then(|v| v.split_whitespace().nth(1)) == Some("0")
}

impl Drop for SssdKcm {
    fn drop(&mut self) {
        crate::stop(&mut self.process);
    }
}
