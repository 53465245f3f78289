//! Debian's own kernel (with cifs.ko) booted under QEMU, for tests of the kernel cifs client.
//!
//! The kernel package is downloaded once and unpacked under `target/kernel-vm/` (its XZ
//! bzImage turned into an ELF vmlinux, booted through its PVH note: seconds saved under TCG).
//! Each test builds a busybox initramfs holding cifs.ko and what it needs, the cifs and keyutils
//! tools, keyless, the files it names and a `/init` script, and boots it with user networking
//! that reaches nothing (`restrict=on`) but the loopback ports it forwards, each on its own
//! connection (`guestfwd ... -cmd:`). The guest prints `@@ `-lines on its serial console and
//! powers off; QEMU is stopped by PID if it does not.
//!
//! TCG only: this machine's /dev/kvm is a software one that hangs stock kernels.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// The guest's address for the host's forwarded ports.
pub const HOST_ALIAS: &str = "10.0.2.100";

/// Modules to load, with their dependencies resolved from the kernel tree: virtio networking,
/// cifs, and the crypto cifs asks for at mount time (its soft dependencies).
const MODULES: &[&str] = &[
    "virtio_pci",
    "virtio_net",
    "nls_utf8",
    "gf128mul",
    "ghash_generic",
    "ctr",
    "seqiv",
    "gcm",
    "ccm",
    "sha512",
    "cmac",
    "ecb",
    "des_generic",
    "cifs",
];

/// A kernel and a QEMU ready to boot.
#[derive(Debug, Clone)]
pub struct KernelVm {
    /// `uname -r` of the guest.
    pub version: String,
    root: PathBuf,
    qemu: PathBuf,
}

/// What a guest printed, and how it ended.
#[derive(Debug)]
pub struct GuestRun {
    /// The whole serial console.
    pub console: String,
    /// How long QEMU ran.
    pub took: Duration,
}

impl GuestRun {
    /// The `@@ `-lines the guest's script printed, without the marker.
    pub fn reports(&self) -> Vec<&str> {
        self.console.lines().filter_map(|l| l.split_once("@@ ").map(|(_, r)| r.trim_end())).collect()
    }

    /// The value of `@@ key=value`, the last one printed.
    pub fn value(&self, key: &str) -> Option<&str> {
        self.reports().into_iter().rev().find_map(|r| r.strip_prefix(key)?.strip_prefix('='))
    }
}

/// A file of the host to put into the guest, or text.
pub enum GuestFile<'a> {
    /// Copied from the host.
    Copy(&'a Path),
    /// Written with this content.
    Text(String),
}

impl KernelVm {
    /// Prepares (once per machine) and returns the kernel and QEMU; `None` with a skip message,
    /// or a panic under CI, when something cannot be had.
    pub fn prepare() -> Option<Self> {
        // Tests of one binary run in threads: the first prepares, the others wait for it.
        static PREPARED: std::sync::Mutex<Option<KernelVm>> = std::sync::Mutex::new(None);
        let mut prepared = PREPARED.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        if let Some(vm) = prepared.as_ref() {
            return Some(vm.clone());
        }
        let vm = Self::prepare_once()?;
        *prepared = Some(vm.clone());
        Some(vm)
    }

    fn prepare_once() -> Option<Self> {
        let missing: Vec<&str> =
            ["busybox", "mount.cifs", "cifs.upcall", "request-key", "keyctl", "modprobe", "depmod", "cpio", "xz"]
                .into_iter()
                .filter(|p| crate::find_program(p).is_none() && !Path::new(&format!("/sbin/{p}")).exists())
                .collect();
        if !missing.is_empty() {
            return skip(&format!("missing {missing:?}"));
        }
        // Under the workspace's target directory: kept between runs, ignored by git.
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../target/kernel-vm");
        std::fs::create_dir_all(&root).ok()?;
        let version = match std::fs::read_to_string(root.join("KVER")) {
            Ok(v) => v.trim().to_string(),
            Err(_) => match fetch_kernel(&root) {
                Ok(v) => v,
                Err(e) => return skip(&e),
            },
        };
        let qemu = match find_qemu(&root) {
            Ok(q) => q,
            Err(e) => return skip(&e),
        };
        Some(Self { version, root, qemu })
    }

    fn kernel_tree(&self) -> PathBuf {
        self.root.join("kernel")
    }

    /// Builds an initramfs in `dir` with `init` as its `/init` script and `files` at their
    /// guest paths; `binaries` (host file, guest path) are copied with the shared libraries
    /// they load, as are mount.cifs, cifs.upcall, request-key and keyctl.
    pub fn initramfs(
        &self,
        dir: &Path,
        init: &str,
        binaries: &[(&Path, &str)],
        files: &[(&str, GuestFile<'_>)],
    ) -> PathBuf {
        let r = dir.join("initramfs-root");
        let _ = std::fs::remove_dir_all(&r);
        let modules_dir = format!("lib/modules/{}", self.version);
        for d in [
            "bin",
            "sbin",
            "usr/bin",
            "usr/sbin",
            "etc",
            "proc",
            "sys",
            "dev",
            "tmp",
            "mnt",
            "root",
            "run",
            "var/log",
            &modules_dir,
        ] {
            std::fs::create_dir_all(r.join(d)).unwrap();
        }
        // /tmp as on any system: everyone writes, the sticky bit keeps files their owners'.
        std::fs::set_permissions(r.join("tmp"), std::os::unix::fs::PermissionsExt::from_mode(0o1777)).unwrap();
        std::fs::copy(busybox(), r.join("bin/busybox")).unwrap();
        // The host's busybox lists the applets, not the fresh copy: another test thread's fork
        // can still hold the copy's write descriptor, and exec would fail with ETXTBSY.
        let applets = Command::new(busybox()).arg("--list").output().unwrap();
        for a in String::from_utf8_lossy(&applets.stdout).lines() {
            let _ = std::os::unix::fs::symlink("busybox", r.join("bin").join(a));
        }
        // The modules' closure, in load order.
        let tree = self.kernel_tree();
        let mut list = Vec::<String>::new();
        for m in MODULES {
            let out = Command::new("modprobe")
                .args(["-d", tree.to_str().unwrap(), "-S", &self.version, "--show-depends", m])
                .output()
                .unwrap();
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                if let Some(path) = line.strip_prefix("insmod ").map(|l| l.split_whitespace().next().unwrap_or("")) {
                    let rel =
                        path.strip_prefix(tree.to_str().unwrap()).unwrap_or(path).trim_start_matches('/').to_string();
                    if !list.contains(&rel) {
                        let to = r.join(&rel);
                        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
                        std::fs::copy(path, &to).unwrap();
                        list.push(rel);
                    }
                }
            }
        }
        let mut modlist: String = list.iter().map(|l| format!("/{l}\n")).collect();
        if modlist.is_empty() {
            modlist.push('\n');
        }
        std::fs::write(r.join("modlist"), modlist).unwrap();
        for tool in ["mount.cifs", "cifs.upcall", "request-key", "keyctl"] {
            let host = crate::find_program(tool).unwrap_or_else(|| PathBuf::from(format!("/sbin/{tool}")));
            copy_with_libraries(&host, &host.to_string_lossy(), &r);
        }
        // The kernel runs /sbin/request-key by that path; the guest's /sbin is no link to /usr.
        if !r.join("sbin/request-key").exists() {
            std::fs::copy(
                crate::find_program("request-key").unwrap_or_else(|| "/sbin/request-key".into()),
                r.join("sbin/request-key"),
            )
            .unwrap();
        }
        for (host, guest) in binaries {
            copy_with_libraries(host, guest, &r);
        }
        std::fs::write(r.join("etc/nsswitch.conf"), "hosts: files\npasswd: files\ngroup: files\n").unwrap();
        for (at, file) in files {
            let to = r.join(at.trim_start_matches('/'));
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            match file {
                GuestFile::Copy(from) => {
                    std::fs::copy(from, &to).unwrap_or_else(|e| panic!("{}: {e}", from.display()));
                }
                GuestFile::Text(t) => std::fs::write(&to, t).unwrap(),
            }
        }
        std::fs::write(r.join("init"), init).unwrap();
        std::fs::set_permissions(r.join("init"), std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
        let out = dir.join("initramfs.cpio.gz");
        let status = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "cd '{}' && find . -print0 | cpio --null -o -H newc --quiet | gzip -1 > '{}'",
                r.display(),
                out.display()
            ))
            .status()
            .unwrap();
        assert!(status.success(), "cpio");
        let _ = std::fs::remove_dir_all(&r);
        out
    }

    /// Boots `initrd` with guest `HOST_ALIAS:port` forwarded to host `127.0.0.1:port` for each
    /// `(guest, host)` pair; returns when the guest powers off, or after `limit` (then QEMU is
    /// killed and the console so far returned).
    pub fn boot(&self, initrd: &Path, forwards: &[(u16, u16)], limit: Duration) -> GuestRun {
        let mut netdev = "user,id=n0,restrict=on".to_string();
        for (guest, host) in forwards {
            netdev += &format!(",guestfwd=tcp:{HOST_ALIAS}:{guest}-cmd:{} nc 127.0.0.1 {host}", busybox().display());
        }
        let kernel = self.kernel_tree().join(format!("boot/vmlinux-{}", self.version));
        let started = Instant::now();
        let mut child = Command::new(&self.qemu)
            .args(["-accel", "tcg", "-cpu", "max", "-M", "q35", "-m", "256", "-smp", "1"])
            .args(["-nodefaults", "-no-user-config", "-display", "none", "-serial", "stdio", "-no-reboot"])
            .arg("-kernel")
            .arg(&kernel)
            .arg("-initrd")
            .arg(initrd)
            .args(["-append", "console=ttyS0 panic=-1 quiet"])
            .args(["-netdev", &netdev, "-device", "virtio-net-pci,netdev=n0,romfile="])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap_or_else(|e| panic!("{}: {e}", self.qemu.display()));
        let mut stdout = child.stdout.take().unwrap();
        let reader = std::thread::spawn(move || {
            let mut s = Vec::new();
            let _ = std::io::Read::read_to_end(&mut stdout, &mut s);
            s
        });
        while started.elapsed() < limit {
            if let Ok(Some(_)) = child.try_wait() {
                break;
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        if !matches!(child.try_wait(), Ok(Some(_))) {
            crate::stop(&mut child);
        }
        let console = String::from_utf8_lossy(&reader.join().unwrap_or_default()).into_owned();
        GuestRun { console, took: started.elapsed() }
    }
}

fn skip<T>(why: &str) -> Option<T> {
    let msg = format!("kernel VM unavailable: {why}; run `cargo xtask deps` (CI installs it)");
    assert!(std::env::var_os("CI").is_none(), "{msg}");
    eprintln!("skipped: {msg}");
    None
}

fn busybox() -> PathBuf {
    ["/bin/busybox", "/usr/bin/busybox"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists())
        .unwrap_or_else(|| "/bin/busybox".into())
}

/// Copies `bin` (following links) to `at` under `root`, with what `ldd` says it loads (at
/// their own paths).
fn copy_with_libraries(bin: &Path, at: &str, root: &Path) {
    let to = root.join(at.trim_start_matches('/'));
    std::fs::create_dir_all(to.parent().unwrap()).unwrap();
    std::fs::copy(bin, &to).unwrap_or_else(|e| panic!("{}: {e}", bin.display()));
    let mut all = Vec::new();
    let ldd = Command::new("ldd").arg(bin).output().unwrap();
    for line in String::from_utf8_lossy(&ldd.stdout).lines() {
        let path = match line.split_once("=>") {
            Some((_, right)) => right.split_whitespace().next().unwrap_or(""),
            None => line.split_whitespace().next().unwrap_or(""),
        };
        if path.starts_with('/') {
            all.push(PathBuf::from(path));
        }
    }
    for p in all {
        let to = root.join(p.strip_prefix("/").unwrap());
        if !to.exists() {
            std::fs::create_dir_all(to.parent().unwrap()).unwrap();
            std::fs::copy(&p, &to).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
        }
    }
}

/// Downloads the kernel `linux-image-amd64` points at, unpacks it, runs depmod, and extracts an
/// ELF vmlinux from its bzImage; returns its version.
fn fetch_kernel(root: &Path) -> Result<String, String> {
    let depends = run_text("apt-cache", &["depends", "linux-image-amd64"], root)?;
    let package = depends
        .lines()
        .find_map(|l| l.trim().strip_prefix("Depends: linux-image-"))
        .map(|v| format!("linux-image-{v}"))
        .ok_or("apt-cache names no kernel for linux-image-amd64")?;
    let version = package.trim_start_matches("linux-image-").to_string();
    let debs = root.join("debs");
    std::fs::create_dir_all(&debs).map_err(|e| e.to_string())?;
    run_text("apt-get", &["download", "-qq", &package], &debs)?;
    let deb = std::fs::read_dir(&debs)
        .map_err(|e| e.to_string())?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .find(|p| p.file_name().is_some_and(|n| n.to_string_lossy().starts_with(&format!("{package}_"))))
        .ok_or("the kernel package did not download")?;
    let tree = root.join("kernel");
    let _ = std::fs::remove_dir_all(&tree);
    run_text("dpkg", &["-x", deb.to_str().unwrap(), tree.to_str().unwrap()], root)?;
    run_text("depmod", &["-b", tree.to_str().unwrap(), &version], root)?;
    let bz = std::fs::read(tree.join(format!("boot/vmlinuz-{version}"))).map_err(|e| e.to_string())?;
    let magic = b"\xfd7zXZ\x00";
    let at = bz.windows(magic.len()).position(|w| w == magic).ok_or("no XZ stream in the bzImage")?;
    let vmlinux = tree.join(format!("boot/vmlinux-{version}"));
    let mut xz = Command::new("xz")
        .args(["-dc", "--single-stream"])
        .stdin(Stdio::piped())
        .stdout(std::fs::File::create(&vmlinux).map_err(|e| e.to_string())?)
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| e.to_string())?;
    let _ = std::io::Write::write_all(xz.stdin.as_mut().unwrap(), &bz[at..]);
    drop(xz.stdin.take());
    let _ = xz.wait();
    if std::fs::metadata(&vmlinux).map(|m| m.len()).unwrap_or(0) < 1 << 20 {
        return Err("extracting vmlinux failed".into());
    }
    std::fs::write(root.join("KVER"), &version).map_err(|e| e.to_string())?;
    Ok(version)
}

/// qemu-system-x86_64 from the system, else unpacked under `root/qemu` from Debian's packages
/// (a machine whose qemu-utils comes from backports cannot install it without removals).
fn find_qemu(root: &Path) -> Result<PathBuf, String> {
    if let Some(q) = crate::find_program("qemu-system-x86_64") {
        return Ok(q);
    }
    let unpacked = root.join("qemu/usr/bin/qemu-system-x86_64");
    if unpacked.exists() {
        return Ok(unpacked);
    }
    let debs = root.join("qemu-debs");
    std::fs::create_dir_all(&debs).map_err(|e| e.to_string())?;
    run_text("apt-get", &["download", "-qq", "qemu-system-x86", "qemu-system-common", "qemu-system-data"], &debs)?;
    for deb in std::fs::read_dir(&debs).map_err(|e| e.to_string())?.filter_map(Result::ok) {
        run_text("dpkg", &["-x", deb.path().to_str().unwrap(), root.join("qemu").to_str().unwrap()], root)?;
    }
    // QEMU looks for its firmware next to itself.
    let share = root.join("qemu/usr/share");
    let _ = std::os::unix::fs::symlink("/usr/share/seabios", share.join("seabios"));
    let _ = std::fs::create_dir_all(root.join("qemu/usr/lib"));
    let _ = std::os::unix::fs::symlink("/usr/lib/ipxe", root.join("qemu/usr/lib/ipxe"));
    if unpacked.exists() { Ok(unpacked) } else { Err("qemu-system-x86 could not be unpacked".into()) }
}

fn run_text(program: &str, args: &[&str], dir: &Path) -> Result<String, String> {
    let out = Command::new(program).args(args).current_dir(dir).output().map_err(|e| format!("{program}: {e}"))?;
    if !out.status.success() {
        return Err(format!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr).trim()));
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}
