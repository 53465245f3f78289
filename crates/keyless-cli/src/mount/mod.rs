//! `keyless mount` and `keyless umount`: a share as a directory through FUSE (`/dev/fuse`),
//! with every authentication the file commands have. Without `--foreground` the mount runs
//! in a background process of its own and the command returns once the directory is mounted.

mod errno;
mod fs;
mod inodes;
mod options;

use crate::cmd::smb::Connect;
use crate::context::{Failure, runtime};
use options::MountOptions;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// `keyless mount`.
#[derive(clap::Args)]
pub struct MountArgs {
    #[command(flatten)]
    connect: Connect,
    /// smb://host/share[/dir]
    url: String,
    /// Where to mount it (an existing directory).
    mountpoint: PathBuf,
    /// Stay in the foreground (for systemd, or to watch the log).
    #[arg(long)]
    foreground: bool,
    /// Mount options: ro, uid=, gid=, file_mode=, dir_mode=, cache=SECONDS|none, allow_other, noperm.
    #[arg(short = 'o', value_name = "OPTIONS")]
    options: Vec<String>,
    /// Append the mount's log (renewals, failures) to this file.
    #[arg(long, value_name = "FILE")]
    log: Option<PathBuf>,
}

/// Options `mount(8)` passes on to every helper (and systemd's `x-` ones): not ours.
const MOUNT8_OPTIONS: &[&str] = &[
    "defaults",
    "auto",
    "noauto",
    "user",
    "users",
    "nouser",
    "owner",
    "group",
    "_netdev",
    "nofail",
    "rw",
    "dev",
    "nodev",
    "suid",
    "nosuid",
    "exec",
    "noexec",
    "atime",
    "noatime",
    "relatime",
    "strictatime",
    "sync",
    "async",
];

/// Options that are `keyless mount` flags, spelled with `_` in fstab (`password_file=`).
const FLAG_OPTIONS: &[&str] = &[
    "auth",
    "user",
    "password_file",
    "spn",
    "ip",
    "port",
    "kdc",
    "ca_file",
    "identity_source",
    "client_id",
    "object_id",
    "resource_id",
    "token_file",
    "imds_endpoint",
    "file_endpoint",
    "subscription",
    "resource_group",
    "account",
    "arm_endpoint",
    "log",
];

/// Whether we run as `/sbin/mount.keyless`.
pub fn called_as_helper(args: &[String]) -> bool {
    args.first().is_some_and(|a| a.rsplit('/').next() == Some("mount.keyless"))
}

/// Turns the arguments `mount(8)` gives `/sbin/mount.keyless` (`SOURCE DIR [-o OPTIONS] [-s -f
/// -n -v]`, from an fstab line of type `keyless`) into `keyless mount`'s.
pub fn mount_helper_args(args: &[String]) -> Vec<String> {
    let mut out = vec!["keyless".to_string(), "mount".to_string()];
    let mut options = Vec::new();
    let mut it = args.iter().skip(1);
    while let Some(a) = it.next() {
        match a.as_str() {
            "-o" => options
                .extend(it.next().map(|o| o.split(',').map(str::to_string).collect::<Vec<_>>()).unwrap_or_default()),
            "-t" => {
                it.next();
            }
            "-s" | "-f" | "-n" | "-v" => {}
            _ => out.push(a.clone()),
        }
    }
    let mut passed = Vec::new();
    for o in options {
        let (key, value) = o.split_once('=').map_or((o.as_str(), None), |(k, v)| (k, Some(v)));
        match (key, value) {
            ("ccache", Some(v)) => out.extend(["-c".to_string(), v.to_string()]),
            ("require_encryption" | "allow_smb2", None) => out.push(format!("--{}", key.replace('_', "-"))),
            (k, Some(v)) if FLAG_OPTIONS.contains(&k) => {
                out.extend([format!("--{}", k.replace('_', "-")), v.to_string()])
            }
            (k, None) if MOUNT8_OPTIONS.contains(&k) => {}
            (k, _) if k.starts_with("x-") || k == "comment" => {}
            _ => passed.push(o.clone()),
        }
    }
    if !passed.is_empty() {
        out.extend(["-o".to_string(), passed.join(",")]);
    }
    out
}

/// `keyless umount`.
#[derive(clap::Args)]
pub struct UmountArgs {
    /// The mount point.
    mountpoint: PathBuf,
    /// Detach it now even while files are open (they fail from then on).
    #[arg(long, short = 'l')]
    lazy: bool,
}

/// The `--log` file, once opened.
static LOG: std::sync::OnceLock<std::sync::Mutex<std::fs::File>> = std::sync::OnceLock::new();

/// A line in the mount's log: stderr (the terminal until the mount is up) and the `--log`
/// file. Never fails.
pub fn log(line: &str) {
    use std::io::Write;
    let stamp = keyless_krb::time::klist_format(keyless_krb::time::unix_seconds(std::time::SystemTime::now()));
    let _ = writeln!(std::io::stderr(), "keyless mount: {line}");
    if let Some(Ok(mut f)) = LOG.get().map(|m| m.lock()) {
        let _ = writeln!(f, "{stamp} {line}");
    }
}

pub fn mount(a: MountArgs) -> Result<(), Failure> {
    let mountpoint = std::fs::canonicalize(&a.mountpoint)
        .map_err(|e| format!("{}: {e}; the mount point must be an existing directory", a.mountpoint.display()))?;
    let options = MountOptions::parse(&a.options, current_id("-u"), current_id("-g"))?;
    if mounted(&mountpoint) {
        return Err(format!("{} is already a mount point", mountpoint.display()).into());
    }
    if !a.foreground {
        return background(&mountpoint);
    }
    if let Some(path) = &a.log {
        let f = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
            .map_err(|e| format!("--log {}: {e}", path.display()))?;
        let _ = LOG.set(std::sync::Mutex::new(f));
    }
    let url = crate::cmd::smb::parse_url(&a.url)?;
    let rt = runtime()?;
    let ns = crate::cmd::dfs::Namespace::open(&a.connect, &url, &rt, || {
        let builder = crate::cmd::smb::client_builder(&a.connect, &url, &rt)?.on_notice(|n| log(&notice(n)));
        let port = a.connect.port_for(&url);
        let client = rt
            .block_on(builder.connect())
            .map_err(|e| format!("{}:{port}: {}", url.host, crate::cmd::smb::explain(&e)))?;
        let tree = rt
            .block_on(client.tree(&url.share))
            .map_err(|e| format!("{}: {}", url.share, crate::cmd::smb::explain(&e)))?;
        Ok((client, tree))
    })?;
    let fs = fs::ShareFs::new(rt, ns, &url.path, options.clone());
    let mut config = fuser::Config::default();
    // Several kernel requests served at once (each thread reads its own clone of /dev/fuse).
    config.n_threads = Some(fs::ShareFs::threads());
    config.clone_fd = true;
    config.mount_options = vec![
        fuser::MountOption::FSName(format!("//{}/{}", url.host, url.share)),
        fuser::MountOption::Subtype("keyless".into()),
        fuser::MountOption::NoDev,
        fuser::MountOption::NoSuid,
        if options.read_only { fuser::MountOption::RO } else { fuser::MountOption::RW },
    ];
    // The kernel checks every access against the modes and owners -o gave, as cifs does
    // on the client: file_mode=0600 keeps other users out even with allow_other.
    if !options.noperm {
        config.mount_options.push(fuser::MountOption::DefaultPermissions);
    }
    if options.allow_other {
        config.acl = fuser::SessionACL::All;
    }
    log(&format!("{} mounted on {}", a.url, mountpoint.display()));
    fuser::mount(fs, &mountpoint, &config).map_err(|e| format!("{}: {e}", mountpoint.display()))?;
    log(&format!("{} unmounted", mountpoint.display()));
    Ok(())
}

/// A client notice as a log line.
fn notice(n: &keyless_client::Notice) -> String {
    use keyless_client::Notice;
    match n {
        Notice::Lost(why) => format!("the connection dropped ({why}); connecting again"),
        Notice::Reconnected => "connected again; open files restored".into(),
        Notice::RenewalFailed(why) => {
            format!("renewing the session's credential failed (the mount goes on until it ends): {why}")
        }
        Notice::OpenLost(what) => format!("lost after a reconnection: {what}"),
    }
}

/// Runs this same command with `--foreground` in a new session and waits until the mount
/// appears. Until then the child's log lines are relayed here (its one-line error, if it
/// fails, with its exit status); after that it logs to `--log` only.
fn background(mountpoint: &Path) -> Result<(), Failure> {
    use std::io::{BufRead, Write};
    use std::os::unix::process::CommandExt;
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the keyless binary: {e}"))?;
    // The arguments as `keyless mount` takes them (also when mount(8) ran us as mount.keyless).
    let args: Vec<String> = std::env::args().collect();
    let args = if called_as_helper(&args) { mount_helper_args(&args) } else { args };
    let mut child = std::process::Command::new(exe)
        .args(args.iter().skip(1))
        .arg("--foreground")
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .process_group(0)
        .spawn()
        .map_err(|e| format!("cannot start the mount process: {e}"))?;
    let relay = child.stderr.take().map(|pipe| {
        std::thread::spawn(move || {
            for line in std::io::BufReader::new(pipe).lines().map_while(Result::ok) {
                let _ = writeln!(std::io::stderr(), "{line}");
            }
        })
    });
    let deadline = Instant::now() + Duration::from_secs(60);
    while Instant::now() < deadline {
        if mounted(mountpoint) {
            return Ok(()); // the relay thread ends with us; the child's pipe then closes
        }
        if let Ok(Some(status)) = child.try_wait() {
            if let Some(t) = relay {
                let _ = t.join();
            }
            std::process::exit(status.code().unwrap_or(1).max(1));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{} was not mounted within 60 s", mountpoint.display()).into())
}

/// Whether `path` is a mount point now (from /proc/self/mountinfo).
fn mounted(path: &Path) -> bool {
    let Ok(info) = std::fs::read_to_string("/proc/self/mountinfo") else { return false };
    let want = path.to_string_lossy().replace(' ', "\\040");
    info.lines().any(|l| l.split(' ').nth(4) == Some(want.as_str()))
}

fn current_id(flag: &str) -> u32 {
    std::process::Command::new("id")
        .arg(flag)
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(0)
}

pub fn umount(a: UmountArgs) -> Result<(), Failure> {
    let path = std::fs::canonicalize(&a.mountpoint).unwrap_or(a.mountpoint.clone());
    if !mounted(&path) {
        return Err(format!("{} is not mounted", path.display()).into());
    }
    // fusermount3 for users; root may use umount(8) when fuse3 is not installed.
    let tools: [(&str, &[&str]); 2] = if a.lazy {
        [("fusermount3", &["-u", "-z"]), ("umount", &["-l"])]
    } else {
        [("fusermount3", &["-u"]), ("umount", &[])]
    };
    let mut last = String::new();
    for (tool, args) in tools {
        match std::process::Command::new(tool).args(args).arg(&path).output() {
            Ok(o) if o.status.success() => return Ok(()),
            Ok(o) => last = String::from_utf8_lossy(&o.stderr).trim().to_string(),
            Err(_) => continue,
        }
    }
    let hint = if last.contains("busy") { "; close the files open on it, or use --lazy" } else { "" };
    Err(format!("{}: {last}{hint}", path.display()).into())
}
