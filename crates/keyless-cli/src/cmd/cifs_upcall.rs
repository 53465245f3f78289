//! `keyless cifs-upcall`: the kernel cifs client's `cifs.spnego` request-key handler.
//!
//! request-key runs it as root with the key's serial. The privileged half only talks to the
//! kernel: it reads the key's description, starts this program again as the user the kernel
//! names (`creduid`), and instantiates the key with what that child prints. The child, and
//! only the child, reads the user's environment, krb5.conf and credential cache (any type),
//! fetches the service ticket if the cache lacks it, and builds the SPNEGO blob and session key.
//! Failures go to syslog in one line, and the key is negated so the mount fails at once.

use crate::context::{Context, Failure, runtime};
use keyless_gss::cifs_upcall::{Request, reply};
use keyless_gss::krb5::flags;
use keyless_gss::spnego::Krb5Initiator;
use keyless_krb::time::unix_seconds;
use linux_keyutils::{Key, KeySerialId};
use std::io::{Read, Write};
use std::time::SystemTime;

/// The request-key rule keyless installs: `ver=*` is a shorter wildcard skip than cifs-utils'
/// `*`, so it wins without touching their file.
pub const RULE_FILE: &str = "/etc/request-key.d/keyless-cifs.spnego.conf";

#[derive(clap::Args)]
pub struct Args {
    /// The key's serial (request-key's %k).
    #[arg(required_unless_present_any = ["install", "uninstall", "fetch"])]
    key: Option<i32>,
    /// Install the request-key rule that makes keyless the kernel's cifs.spnego upcall.
    #[arg(long, conflicts_with_all = ["uninstall", "fetch"])]
    install: bool,
    /// Remove that rule (cifs-utils' own rule, if any, then applies again).
    #[arg(long, conflicts_with = "fetch")]
    uninstall: bool,
    /// The unprivileged half (internal): the key description, answered on stdout.
    #[arg(long, hide = true, value_name = "DESCRIPTION")]
    fetch: Option<String>,
}

pub fn run(args: Args) -> Result<(), Failure> {
    if args.install {
        return install();
    }
    if args.uninstall {
        return match std::fs::remove_file(RULE_FILE) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(format!("{RULE_FILE}: {e}").into()),
            _ => Ok(()),
        };
    }
    if let Some(description) = &args.fetch {
        let payload = fetch(description)?;
        return std::io::stdout().write_all(&payload).map_err(|e| format!("writing the answer: {e}").into());
    }
    let Some(serial) = args.key.filter(|&k| k > 0) else {
        return Err("give the key's serial (request-key's %k)".to_string().into());
    };
    let key = Key::from_id(KeySerialId(serial));
    let outcome = answer(&key);
    match &outcome {
        Ok(host) => syslog(6, &format!("gave the kernel a Kerberos session for {host}")),
        Err(e) => {
            syslog(3, &format!("key {serial}: {e}"));
            // Rejected for a second: the mount fails now, and the next one asks again.
            let _ = key.reject(1);
        }
    }
    outcome.map(drop)
}

/// The privileged half: describe, hand the description to the unprivileged half, instantiate.
fn answer(key: &Key) -> Result<String, Failure> {
    key.assume_authority().map_err(|e| format!("taking the key's authority: {e:?}"))?;
    let description = describe(key)?;
    let request = Request::parse(&description).map_err(|e| e.to_string())?;
    if !request.wants_kerberos() {
        return Err(format!("sec={} asked; keyless answers krb5 and mskrb5", request.sec).into());
    }
    if let Some(pid) = request.pid.filter(|&p| p != 0) {
        let ns = |p: &str| std::fs::read_link(format!("/proc/{p}/ns/mnt")).ok();
        if ns(&pid.to_string()) != ns("self") {
            // Its caches and krb5.conf are the container's, not ours: keyless does not enter
            // other namespaces (cifs-utils does), so it refuses rather than use the host's.
            return Err(format!(
                "process {pid} is in another mount namespace (a container); keyless answers only its own"
            )
            .into());
        }
    }
    // A user /etc/passwd does not list (LDAP, sssd) runs with the nobody group rather than a
    // local group that happens to share the uid's number.
    let gid = primary_gid(request.creduid).unwrap_or(65534);
    let exe = std::env::current_exe().map_err(|e| format!("finding keyless itself: {e}"))?;
    let out = std::process::Command::new(exe)
        .args(["cifs-upcall", "--fetch", &description])
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .uid(request.creduid)
        .gid(gid)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| format!("starting the upcall as uid {}: {e}", request.creduid))?;
    let payload = zeroize::Zeroizing::new(out.stdout);
    if !out.status.success() {
        let why = String::from_utf8_lossy(&out.stderr);
        return Err(
            format!("uid {}: {}", request.creduid, why.trim().trim_start_matches("keyless cifs-upcall: ")).into()
        );
    }
    check_payload(&payload)?;
    key.instantiate(payload.as_slice(), KeySerialId(0)).map_err(|e| format!("instantiating the key: {e:?}"))?;
    Ok(request.host)
}

use std::os::unix::process::CommandExt;

/// The key's description (after `type;uid;gid;perm;`). Through keyutils-raw: linux-keyutils
/// splits the whole text on `;` and refuses cifs.spnego's own semicolons (and keyutils-raw's
/// assume_authority asserts a 0 the kernel does not return, so each crate does what it does
/// right).
fn describe(key: &Key) -> Result<String, Failure> {
    use uninit::extension_traits::AsOut;
    let serial = std::num::NonZeroI32::new(key.get_id().0).ok_or_else(|| "key serial 0".to_string())?;
    let mut buf = vec![0u8; 4096];
    let n = keyutils_raw::keyctl_describe(serial, Some(buf[..].as_out()))
        .map_err(|e| format!("describing the key: {e}"))?;
    let text = String::from_utf8_lossy(&buf[..n.min(buf.len())]).trim_end_matches('\0').to_string();
    Ok(text.splitn(5, ';').nth(4).ok_or_else(|| format!("key description {text:?}"))?.to_string())
}

/// The payload the child printed must be a whole `cifs_spnego_msg`.
fn check_payload(p: &[u8]) -> Result<(), Failure> {
    let word = |i: usize| p.get(i * 4..i * 4 + 4).map(|b| u32::from_ne_bytes([b[0], b[1], b[2], b[3]]) as usize);
    match (word(0), word(2), word(3)) {
        (Some(2), Some(k), Some(b)) if k.checked_add(b).and_then(|n| n.checked_add(16)) == Some(p.len()) => Ok(()),
        _ => Err("the unprivileged half answered something other than a cifs_spnego_msg".to_string().into()),
    }
}

/// Where the upcall's per-host sources are set (see [`HostSource`]).
pub const CONFIG_FILE: &str = "/etc/keyless/cifs-upcall.conf";

/// How the ticket for one host is had, from [`CONFIG_FILE`]: a section per host (the canonical
/// name), one line naming the source.
///
/// ```text
/// [acct.file.core.windows.net]
///     oauth = --client-id 0d5e...          # a managed identity: Azure's kerbticket exchange
/// [files.example.com]
///     keytab = /etc/krb5.keytab host/client.example.com@EXAMPLE.COM
/// ```
/// `oauth` takes `keyless oauth-ticket`'s identity options. Hosts not named use the user's
/// credential cache.
#[derive(Debug, PartialEq, Eq)]
pub enum HostSource {
    /// A managed identity (or another token source), with oauth-ticket's options.
    OAuth(Vec<String>),
    /// A keytab and the client principal whose keys it holds.
    Keytab(std::path::PathBuf, String),
}

/// The source `config` names for `host`, if any.
pub fn host_source(config: &str, host: &str) -> Result<Option<HostSource>, String> {
    let mut in_section = false;
    for (n, line) in config.lines().enumerate() {
        let line = line.split('#').next().unwrap_or("").trim();
        if line.is_empty() {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            in_section = name.trim().eq_ignore_ascii_case(host);
            continue;
        }
        if !in_section {
            continue;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| format!("{CONFIG_FILE} line {}: no '='", n + 1))?;
        let words: Vec<String> = value.split_whitespace().map(str::to_string).collect();
        return match (key.trim(), words.as_slice()) {
            ("oauth", _) => Ok(Some(HostSource::OAuth(words))),
            ("keytab", [path, principal]) => Ok(Some(HostSource::Keytab(path.into(), principal.clone()))),
            (other, _) => Err(format!(
                "{CONFIG_FILE} line {}: {other}: not a source (oauth = OPTIONS, keytab = FILE PRINCIPAL)",
                n + 1
            )),
        };
    }
    Ok(None)
}

/// oauth-ticket's identity options, as a configuration line gives them.
#[derive(clap::Parser)]
struct OAuthLine {
    #[command(flatten)]
    identity: crate::cmd::identity::IdentityArgs,
    /// Extra CA certificates for the file endpoint.
    #[arg(long)]
    ca_file: Vec<std::path::PathBuf>,
}

/// A ticket for `server` from a configured source.
fn from_source(
    ctx: &Context,
    source: HostSource,
    host: &str,
    server: &keyless_krb::Principal,
) -> Result<keyless_krb::Credential, Failure> {
    let rt = runtime()?;
    match source {
        HostSource::OAuth(words) => {
            use clap::Parser;
            let line = OAuthLine::try_parse_from(std::iter::once("oauth".to_string()).chain(words)).map_err(|e| {
                format!("{CONFIG_FILE}: oauth for {host}: {}", e.to_string().lines().next().unwrap_or(""))
            })?;
            let mut tickets = line.identity.tickets(host, &line.ca_file)?;
            Ok(rt.block_on(tickets.ticket())?)
        }
        HostSource::Keytab(path, principal) => {
            let client = keyless_krb::Principal::parse(&principal, ctx.conf().default_realm())?;
            let keytab = keyless_krb::keytab::Keytab::read(&path)?;
            let dir = ctx.kdcs(&[&client.realm], &[], &[])?;
            let creds = keyless_net::Credentials::Keytab { client, keytab };
            Ok(rt.block_on(creds.service_ticket(server, &dir))?)
        }
    }
}

/// The unprivileged half, running as the user: a configured source for the host, else the
/// user's cache; a ticket; the blob.
fn fetch(description: &str) -> Result<zeroize::Zeroizing<Vec<u8>>, Failure> {
    let request = Request::parse(description).map_err(|e| e.to_string())?;
    let ctx = Context::load()?;
    let host = keyless::kerberos::canonical_host(&request.host);
    // The cache the process that mounted (or touched the mount) names, else the defaults.
    let named = request.pid.and_then(ccname_of);
    let configured = match std::fs::read_to_string(CONFIG_FILE) {
        Ok(text) => host_source(&text, &host)?,
        Err(_) => None,
    };
    let realm = ctx.conf().default_realm().unwrap_or_default().to_string();
    let ticket = if let Some(source) = configured {
        let server = ctx.service_principal(&format!("cifs/{host}"), &realm)?;
        let ticket = from_source(&ctx, source, &host, &server)?;
        // Kept in the user's cache (never made its primary), as a ticket from the cache's own
        // TGT would be; a cache that cannot take it costs nothing but the keeping.
        let kept =
            ctx.cache(named.as_deref()).and_then(|r| ctx.put_credentials(&r, std::slice::from_ref(&ticket), false));
        if let Err(e) = kept {
            syslog(4, &format!("{host}: the ticket was not kept: {e}"));
        }
        ticket
    } else {
        let name = ctx.cache(named.as_deref())?.cache;
        let mut cache = name.read()?;
        let client = cache.principal.clone();
        let server = ctx.service_principal(&format!("cifs/{host}"), &client.realm)?;
        let now = unix_seconds(SystemTime::now());
        match cache.find(&server, now) {
            Some(t) => t,
            None => {
                let tgt = cache.find_tgt(&client.realm, now).ok_or_else(|| {
                    Failure::from(format!("no ticket for {server} and no valid TGT for {client} in {name}"))
                })?;
                ctx.service_ticket(&name, &mut cache, &tgt, &server, &[], &[], &runtime()?)?
            }
        }
    };
    let mut rng = keyless_net::OsRandom;
    // No mutual authentication: the kernel never sees the AP-REP, and with one the acceptor
    // would key the session with a subkey of its own (CFX) that the kernel cannot know.
    let (init, blob) = Krb5Initiator::start(&ticket, flags::INTEG, SystemTime::now(), &mut rng)
        .map_err(|e| format!("building the AP-REQ: {e}"))?;
    let context = init.without_reply();
    Ok(reply(context.session_key().expose_bytes(), &blob))
}

/// `KRB5CCNAME` from a process's environment, read as the user, and only from a process of
/// that user: the pid is whoever touched the mount, and root (a `cruid=0` mount) could read
/// anyone's environment and be pointed at a cache of their choosing.
fn ccname_of(pid: u32) -> Option<String> {
    use std::os::unix::fs::MetadataExt;
    let owner = std::fs::metadata(format!("/proc/{pid}")).ok()?.uid();
    if owner != keyless_krb::ccache::name::ids().1 {
        return None;
    }
    let mut environ = Vec::new();
    std::fs::File::open(format!("/proc/{pid}/environ")).ok()?.read_to_end(&mut environ).ok()?;
    environ
        .split(|&b| b == 0)
        .find_map(|kv| kv.strip_prefix(b"KRB5CCNAME="))
        .map(|v| String::from_utf8_lossy(v).into_owned())
        .filter(|v| !v.is_empty())
}

/// The primary group of `uid` in /etc/passwd.
fn primary_gid(uid: u32) -> Option<u32> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd.lines().find_map(|l| {
        let f: Vec<&str> = l.split(':').collect();
        (f.get(2)?.parse::<u32>().ok()? == uid).then(|| f.get(3)?.parse().ok())?
    })
}

/// One line to syslog (facility authpriv) at `severity`; a failure also ends the command with
/// its line on stderr.
fn syslog(severity: u8, message: &str) {
    // Text from the user's side (cache names, the child's stderr) must not forge log lines.
    let message: String = message.chars().map(|c| if c.is_control() { '?' } else { c }).collect();
    let line = format!("<{}>keyless-cifs-upcall[{}]: {message}", (10 << 3) | severity, std::process::id());
    if let Ok(socket) = std::os::unix::net::UnixDatagram::unbound() {
        let _ = socket.send_to(line.as_bytes(), "/dev/log");
    }
}

fn install() -> Result<(), Failure> {
    let exe = std::env::current_exe().map_err(|e| format!("finding keyless itself: {e}"))?;
    trusted_by_root(&exe)?;
    let rule = format!(
        "# keyless answers the kernel cifs client's Kerberos upcall (keyless cifs-upcall --uninstall removes this).\n\
         create cifs.spnego ver=* * {} cifs-upcall %k\n",
        exe.display()
    );
    if let Some(dir) = std::path::Path::new(RULE_FILE).parent() {
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    }
    std::fs::write(RULE_FILE, rule).map_err(|e| format!("{RULE_FILE}: {e}"))?;
    println!("installed {RULE_FILE}: mount -t cifs -o sec=krb5 now asks keyless");
    Ok(())
}

/// Root will run `exe` for every mount: it and every directory above it must be root's and
/// writable by no one else (not a binary under a user's ~/.cargo/bin, say).
fn trusted_by_root(exe: &std::path::Path) -> Result<(), Failure> {
    use std::os::unix::fs::MetadataExt;
    for p in exe.ancestors() {
        if p.as_os_str().is_empty() {
            continue;
        }
        let m = std::fs::metadata(p).map_err(|e| format!("{}: {e}", p.display()))?;
        if m.uid() != 0 || m.mode() & 0o022 != 0 {
            return Err(format!(
                "{} is not root's alone (owner uid {}, mode {:o}): root would run what another user can change; install keyless under /usr/bin or /usr/local/bin",
                p.display(),
                m.uid(),
                m.mode() & 0o7777
            )
            .into());
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_configuration_names_a_source_per_host() {
        let conf = "# sources\n[acct.file.core.windows.net]\n  oauth = --client-id abc  # comment\n[files.example.com]\n  keytab = /etc/krb5.keytab host/c@EX\n";
        assert_eq!(
            host_source(conf, "ACCT.file.core.windows.net").unwrap(),
            Some(HostSource::OAuth(vec!["--client-id".into(), "abc".into()]))
        );
        assert_eq!(
            host_source(conf, "files.example.com").unwrap(),
            Some(HostSource::Keytab("/etc/krb5.keytab".into(), "host/c@EX".into()))
        );
        assert_eq!(host_source(conf, "other.example.com").unwrap(), None);
        assert!(host_source("[h]\n  password = x\n", "h").unwrap_err().contains("not a source"));
    }

    #[test]
    fn only_whole_messages_pass() {
        let ok = reply(&[1; 16], &[2; 5]);
        assert!(check_payload(&ok).is_ok());
        assert!(check_payload(&ok[..20]).is_err());
        assert!(check_payload(b"").is_err());
    }
}
