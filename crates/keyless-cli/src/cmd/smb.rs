//! The file commands: `ls`, `stat`, `get`, `put`, `rm`, `mkdir`, `rmdir`, `mv` on
//! `smb://host[:port]/share/path` (or `//host/share/path`), with Kerberos from the ccache or
//! a keytab, NTLMv2 with a password file, or a managed identity. Downloads land in a temporary file renamed at the end, so a
//! failure never leaves a partial file under the wanted name.

use crate::cmd::dfs::Namespace;
use crate::cmd::identity::IdentityArgs;
use crate::context::{Context, Failure, read_password, runtime};
use keyless::Credentials;
use keyless_client::{Auth, Blocking, Client, ErrorKind, Metadata, Renew, Tree};
use keyless_krb::time::unix_seconds;
use keyless_smb::NtStatus;
use std::io::{IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::time::Instant;

/// How to authenticate.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AuthKind {
    /// Kerberos if the ccache holds or can get a ticket for cifs/<host>, else NTLM with --user.
    Auto,
    /// Kerberos from the credential cache.
    Krb5,
    /// NTLMv2 with --user and a password (also a storage account key, user `Azure\<account>`).
    Ntlm,
    /// A managed identity's token traded for a Kerberos ticket by Azure Files (SMB OAuth).
    Oauth,
    /// A storage account key from Azure Resource Manager (with the managed identity), as
    /// NTLMv2 for `Azure\<account>`.
    StorageKey,
}

/// What every file command takes.
#[derive(clap::Args, Clone)]
pub struct Connect {
    /// Authentication.
    #[arg(long, value_enum, default_value = "auto")]
    auth: AuthKind,
    /// User for NTLM: `name` or `DOMAIN\name`.
    #[arg(long, short = 'U')]
    user: Option<String>,
    /// File whose first line is the password (else the terminal asks, or stdin gives it).
    #[arg(long, value_name = "FILE")]
    password_file: Option<PathBuf>,
    /// Credential cache for Kerberos (default: KRB5CCNAME, krb5.conf, /tmp/krb5cc_UID).
    #[arg(short = 'c', value_name = "CCACHE")]
    ccache: Option<String>,
    /// Kerberos from this keytab instead of a credential cache (unattended mounts and
    /// services): the client is --user (`name` or `name@REALM`), else the keytab's first
    /// principal. New tickets come from it while connected.
    #[arg(long, value_name = "KEYTAB", conflicts_with = "ccache")]
    keytab: Option<PathBuf>,
    /// Service principal to ask a ticket for (default: cifs/<host>).
    #[arg(long)]
    spn: Option<String>,
    /// Connect to this address instead of the URL's host (the host still names the SPN).
    #[arg(long, value_name = "ADDR")]
    ip: Option<String>,
    /// Port, when the URL has none (default 445).
    #[arg(long)]
    port: Option<u16>,
    /// Refuse to go on without encryption.
    #[arg(long)]
    require_encryption: bool,
    /// Which requests to sign when not encrypting: every one (`always`, the default) or only
    /// what the server or the protocol requires (`if-required`, smbclient's and cifs's default;
    /// faster, but open to tampering on the path).
    #[arg(long, value_name = "WHEN", default_value = "always")]
    signing: Signing,
    /// Also offer SMB 2.0.2 and 2.1 (no encryption, no downgrade protection) for old servers.
    #[arg(long)]
    allow_smb2: bool,
    /// KDC to use first for the client's realm (for the ticket): host:port or a URL.
    #[arg(long = "kdc", value_name = "URL")]
    kdc: Vec<String>,
    /// Extra CA certificate (PEM) to trust for an https:// KDC proxy or Azure endpoint.
    #[arg(long, value_name = "FILE")]
    ca_file: Vec<PathBuf>,
    /// This client's Active Directory site, sent with DFS referral requests (their EX form,
    /// on SMB 3.x servers that take it) so that targets in the site come first.
    #[arg(long, value_name = "SITE")]
    dfs_site: Option<String>,
    #[command(flatten)]
    identity: IdentityArgs,
    /// The NTLM password once read (shared by the clones made for other servers).
    #[arg(skip)]
    password: std::sync::Arc<std::sync::OnceLock<zeroize::Zeroizing<String>>>,
}

/// When requests are signed (`--signing`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum Signing {
    /// Every request, and every answer must be signed.
    Always,
    /// Only what the server or MS-SMB2 requires.
    IfRequired,
}

impl Connect {
    pub fn auth(&self) -> AuthKind {
        self.auth
    }

    pub fn require_encryption(&self) -> bool {
        self.require_encryption
    }

    pub fn require_signing(&self) -> bool {
        self.signing == Signing::Always
    }

    pub fn allow_smb2(&self) -> bool {
        self.allow_smb2
    }

    pub fn ip(&self) -> Option<&str> {
        self.ip.as_deref()
    }

    pub fn spn(&self) -> Option<&str> {
        self.spn.as_deref()
    }

    pub fn ccache(&self) -> Option<&str> {
        self.ccache.as_deref()
    }

    pub fn kdc(&self) -> &[String] {
        &self.kdc
    }

    pub fn ca_files(&self) -> &[PathBuf] {
        &self.ca_file
    }

    pub fn dfs_site(&self) -> Option<&str> {
        self.dfs_site.as_deref()
    }

    pub fn identity(&self) -> &IdentityArgs {
        &self.identity
    }

    /// The options for another server than the URL's (a DFS target): the same credentials,
    /// without the address, port and SPN that name the URL's server.
    pub fn for_targets(&self) -> Self {
        Self { ip: None, port: None, spn: None, identity: self.identity.for_another_host(), ..self.clone() }
    }

    /// The port: the URL's, else `--port`, else 445.
    pub fn port_for(&self, url: &SmbUrl) -> u16 {
        url.port.or(self.port).unwrap_or(445)
    }
}

pub use keyless::SmbUrl;

/// `smb://host[:port]/share/path` or `//host/share/path`, as a command's argument.
pub fn parse_url(url: &str) -> Result<SmbUrl, Failure> {
    SmbUrl::parse(url).map_err(|e| keyless::Error::from(e).into())
}

/// The client the options describe, not connected yet (the mount adds its log hook).
pub fn client_builder(
    c: &Connect,
    url: &SmbUrl,
    rt: &tokio::runtime::Runtime,
) -> Result<keyless_client::ClientBuilder, Failure> {
    let (auth, renewal) = authenticate(c, url, rt)?;
    let mut builder = Client::builder(&url.host)
        .port(c.port_for(url))
        .require_encryption(c.require_encryption)
        .require_signing(c.require_signing())
        .auth(auth);
    if c.allow_smb2 {
        builder = builder.dialects(&keyless_client::negotiate::DIALECTS);
    }
    if let Some(ip) = &c.ip {
        builder = builder.address(ip);
    }
    if let Some(r) = renewal {
        builder = builder.renew(r);
    }
    Ok(builder)
}

/// Connects and authenticates as the options say.
pub fn connect(c: &Connect, url: &SmbUrl, rt: &tokio::runtime::Runtime) -> Result<Client, Failure> {
    let builder = client_builder(c, url, rt)?;
    let port = c.port_for(url);
    rt.block_on(builder.connect()).map_err(|e| Failure::from(format!("{}:{port}: {}", url.host, explain(&e))))
}

/// The session's credential, and where fresh ones come from while it lasts: the library's
/// chooser, with the command's options; `--auth auto` falls back to NTLM with `--user`.
fn authenticate(
    c: &Connect,
    url: &SmbUrl,
    rt: &tokio::runtime::Runtime,
) -> Result<(Auth, Option<Box<dyn Renew>>), Failure> {
    let ntlm = || -> Result<Credentials, Failure> {
        let user = c.user.as_deref().ok_or_else(|| {
            Failure::from("NTLM needs --user (and --password-file, or the password on stdin)".to_string())
        })?;
        // Read once: a DFS target or mv's second name authenticates again with it.
        let password = match c.password.get() {
            Some(p) => p.clone(),
            None => {
                let p = read_password(&format!("Password for {user}: "), c.password_file.as_ref())?;
                let _ = c.password.set(p.clone());
                p
            }
        };
        Ok(Credentials::password(user, password))
    };
    let kerberos = || match &c.keytab {
        Some(path) => Credentials::keytab(path, c.user.as_deref()),
        None => c.ccache.as_deref().map_or_else(Credentials::auto, Credentials::ccache),
    };
    let ctx = Context::load()?;
    let krb = ctx.with(&c.kdc, &c.ca_file)?;
    let with = |credentials: Credentials| {
        let got = rt.block_on(credentials.authenticate(&krb, &url.host, c.spn.as_deref()))?;
        for w in &got.warnings {
            eprintln!("keyless: {w}");
        }
        Ok::<_, keyless::Error>((got.auth, got.renew))
    };
    match c.auth {
        AuthKind::Ntlm => Ok(with(ntlm()?)?),
        AuthKind::Krb5 => Ok(with(kerberos())?),
        AuthKind::Oauth => Ok(with(Credentials::managed_identity(c.identity.managed(&c.ca_file)?))?),
        AuthKind::StorageKey => Ok((c.identity.storage_key_auth(&url.host, &c.ca_file, rt)?, None)),
        AuthKind::Auto => match with(kerberos()) {
            Ok(a) => Ok(a),
            // With --keytab, --user names the Kerberos client: no falling back to NTLM.
            Err(_) if c.user.is_some() && c.keytab.is_none() => Ok(with(ntlm()?)?),
            Err(e) => Err(format!("{}; or give --user for NTLM", Failure::from(e)).into()),
        },
    }
}

/// `cifs/<host>` for a share's host (Azure's private-endpoint names mapped to the name tickets
/// are issued for, as the kernel upcall and `keyless doctor` ask).
pub fn default_spn(host: &str) -> String {
    keyless::kerberos::cifs_spn(host)
}

/// `keyless ls URL`.
#[derive(clap::Args)]
pub struct LsArgs {
    #[command(flatten)]
    connect: Connect,
    /// smb://host/share/dir
    url: String,
}

pub fn ls(a: LsArgs) -> Result<(), Failure> {
    with_tree(&a.connect, &a.url, |tree, path, rt| {
        let meta = if path.is_empty() { None } else { Some(rt.block_on(tree.stat(path))?) };
        let entries = match meta {
            Some(m) if !m.is_dir => vec![m],
            _ => rt.block_on(tree.list(path))?,
        };
        let mut out = std::io::stdout().lock();
        for e in entries {
            let _ =
                writeln!(out, "{} {:>14} {} {}", if e.is_dir { 'd' } else { '-' }, e.size, time(e.modified), e.name);
        }
        Ok(())
    })
}

/// `keyless stat URL`.
#[derive(clap::Args)]
pub struct StatArgs {
    #[command(flatten)]
    connect: Connect,
    /// smb://host/share/path
    url: String,
}

pub fn stat(a: StatArgs) -> Result<(), Failure> {
    with_located(&a.connect, &a.url, |at, rt| {
        let m: Metadata = rt.block_on(at.tree.stat(&at.path))?;
        println!(
            "{}: {} bytes, {}, modified {}",
            a.url,
            m.size,
            if m.is_dir { "directory" } else { "file" },
            time(m.modified)
        );
        if let Some(target) = &at.moved_to {
            println!("  DFS: at \\\\{}", target.trim_start_matches('\\'));
        }
        Ok(())
    })
}

/// `keyless get URL [LOCAL]`.
#[derive(clap::Args)]
pub struct GetArgs {
    #[command(flatten)]
    connect: Connect,
    /// Copy a directory and everything below it.
    #[arg(short = 'r', long)]
    recursive: bool,
    /// smb://host/share/file (or directory, with -r)
    url: String,
    /// Where to write (default: the name in the current directory; `-` for stdout).
    local: Option<PathBuf>,
}

pub fn get(a: GetArgs) -> Result<(), Failure> {
    with_namespace(&a.connect, &a.url, |ns, place, rt| {
        let (tree, path, asked) = (&place.tree, place.path.as_str(), place.asked.clone());
        let path = path.trim_end_matches('/');
        let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
        let local = a.local.clone().unwrap_or_else(|| PathBuf::from(if name.is_empty() { "." } else { name }));
        let meta = rt.block_on(tree.stat(path))?;
        if meta.is_dir {
            if !a.recursive {
                return Err(format!("{}: a directory; use -r to copy it", a.url).into());
            }
            return get_tree(ns, &asked, &local, &mut std::collections::HashSet::new(), rt);
        }
        if local.as_os_str() == "-" {
            let mut shown = Progress::new(name, meta.size);
            let mut out = Blocking(std::io::stdout());
            rt.block_on(tree.get_with_progress(path, &mut out, Some(&mut |n| shown.show(n))))?;
            return Ok(());
        }
        get_file(tree, path, &local, meta.size, rt)
    })
}

/// One file into `local`, through a temporary file beside it renamed only when complete.
fn get_file(tree: &Tree, path: &str, local: &Path, size: u64, rt: &tokio::runtime::Runtime) -> Result<(), Failure> {
    let name = path.rsplit(['/', '\\']).next().unwrap_or(path);
    // A device, FIFO or socket (/dev/null, a pipe) is written as it is: a file renamed over it
    // would replace the device.
    if std::fs::metadata(local).is_ok_and(|m| !m.is_file() && !m.is_dir()) {
        let file =
            std::fs::OpenOptions::new().write(true).open(local).map_err(|e| format!("{}: {e}", local.display()))?;
        let mut shown = Progress::new(name, size);
        rt.block_on(tree.get_with_progress(path, &mut Blocking(file), Some(&mut |n| shown.show(n))))?;
        shown.finish();
        return Ok(());
    }
    let tmp = temp_beside(local);
    let file = std::fs::File::create(&tmp).map_err(|e| format!("{}: {e}", tmp.display()))?;
    let mut shown = Progress::new(name, size);
    // Unbuffered: every write is a whole READ's data (1 MiB), straight from the response.
    let mut out = Blocking(file);
    let got = rt.block_on(tree.get_with_progress(path, &mut out, Some(&mut |n| shown.show(n))));
    let result = got.map_err(Failure::from).and_then(|n| {
        shown.finish();
        out.0.flush().map_err(|e| format!("{}: {e}", tmp.display()))?;
        Ok(n)
    });
    match result {
        Ok(_) => std::fs::rename(&tmp, local).map_err(|e| format!("{}: {e}", local.display()).into()),
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// A remote directory (`asked`, on the namespace's root share) and everything below it into
/// `local`, following DFS links met on the way; a directory reached again through a link
/// (`seen`) is copied once.
fn get_tree(
    ns: &Namespace,
    asked: &str,
    local: &Path,
    seen: &mut std::collections::HashSet<String>,
    rt: &tokio::runtime::Runtime,
) -> Result<(), Failure> {
    let (tree, here, entries) = rt.block_on(ns.run(asked, rt, |t, p| async move {
        let entries = t.list(&p).await?;
        Ok((t, p, entries))
    }))?;
    let place = format!("\\\\{}\\{}\\{}", tree.session().host(), tree.share(), here).to_ascii_lowercase();
    if !seen.insert(place.clone()) {
        eprintln!("keyless get: {asked}: {place} was copied already (a loop of DFS links?); skipped");
        return Ok(());
    }
    std::fs::create_dir_all(local).map_err(|e| format!("{}: {e}", local.display()))?;
    for entry in entries {
        let target = local.join(&entry.name);
        if entry.is_dir {
            get_tree(ns, &join(asked, &entry.name), &target, seen, rt)?;
        } else {
            get_file(&tree, &join(&here, &entry.name), &target, entry.size, rt)?;
        }
    }
    Ok(())
}

/// `dir/name`, or `name` at the top.
fn join(dir: &str, name: &str) -> String {
    let dir = dir.trim_end_matches('/');
    if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") }
}

/// `keyless put LOCAL URL`.
#[derive(clap::Args)]
pub struct PutArgs {
    #[command(flatten)]
    connect: Connect,
    /// Copy a directory and everything below it.
    #[arg(short = 'r', long)]
    recursive: bool,
    /// The local file (or directory, with -r).
    local: PathBuf,
    /// smb://host/share/path (ending in `/`: the local name in that directory)
    url: String,
}

pub fn put(a: PutArgs) -> Result<(), Failure> {
    let meta = std::fs::metadata(&a.local).map_err(|e| format!("{}: {e}", a.local.display()))?;
    let name = a.local.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    if meta.is_dir() && !a.recursive {
        return Err(format!("{}: a directory; use -r to copy it", a.local.display()).into());
    }
    with_namespace(&a.connect, &a.url, |ns, place, rt| {
        let into = |path: &str| {
            if path.is_empty() || path.ends_with('/') { format!("{path}{name}") } else { path.to_string() }
        };
        if meta.is_dir() {
            put_tree(ns, &a.local, &into(&place.asked), rt)
        } else {
            put_file(&place.tree, &a.local, &into(&place.path), rt)
        }
    })
}

fn put_file(tree: &Tree, local: &Path, target: &str, rt: &tokio::runtime::Runtime) -> Result<(), Failure> {
    let file = std::fs::File::open(local).map_err(|e| format!("{}: {e}", local.display()))?;
    let size = file.metadata().map(|m| m.len()).unwrap_or(0);
    let name = local.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    // Unbuffered: each WRITE's data is read from the file straight into its message (a
    // buffer in between would copy every byte once more).
    let mut shown = Progress::new(&name, size);
    let n = rt.block_on(tree.put_file(target, &file, Some(&mut |n| shown.show(n))))?;
    shown.finish();
    if n != size {
        return Err(format!("{}: changed while being sent ({n} of {size} bytes)", local.display()).into());
    }
    Ok(())
}

/// A local directory and everything below it to `asked` (on the namespace's root share, made
/// if missing), following DFS links met on the way.
fn put_tree(ns: &Namespace, local: &Path, asked: &str, rt: &tokio::runtime::Runtime) -> Result<(), Failure> {
    let (tree, here) = rt.block_on(ns.run(asked, rt, |t, p| async move {
        match t.mkdir(&p).await {
            Err(e) if e.kind() != ErrorKind::AlreadyExists => Err(e),
            _ => Ok((t, p)),
        }
    }))?;
    let mut entries: Vec<_> = std::fs::read_dir(local)
        .map_err(|e| format!("{}: {e}", local.display()))?
        .collect::<Result<_, _>>()
        .map_err(|e| format!("{}: {e}", local.display()))?;
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let kind = entry.file_type().map_err(|e| format!("{}: {e}", entry.path().display()))?;
        if kind.is_dir() {
            put_tree(ns, &entry.path(), &join(asked, &name), rt)?;
        } else if kind.is_file() {
            put_file(&tree, &entry.path(), &join(&here, &name), rt)?;
        }
    }
    Ok(())
}

/// `keyless rm|mkdir|rmdir URL`.
#[derive(clap::Args)]
pub struct PathArgs {
    #[command(flatten)]
    connect: Connect,
    /// smb://host/share/path
    url: String,
}

pub fn rm(a: PathArgs) -> Result<(), Failure> {
    with_tree(&a.connect, &a.url, |tree, path, rt| Ok(rt.block_on(tree.remove(path))?))
}

pub fn mkdir(a: PathArgs) -> Result<(), Failure> {
    with_tree(&a.connect, &a.url, |tree, path, rt| Ok(rt.block_on(tree.mkdir(path))?))
}

pub fn rmdir(a: PathArgs) -> Result<(), Failure> {
    with_tree(&a.connect, &a.url, |tree, path, rt| Ok(rt.block_on(tree.rmdir(path))?))
}

/// `keyless mv URL NEW_PATH`.
#[derive(clap::Args)]
pub struct MvArgs {
    #[command(flatten)]
    connect: Connect,
    /// smb://host/share/path
    url: String,
    /// The new path on the same share (or a URL to it).
    to: String,
}

pub fn mv(a: MvArgs) -> Result<(), Failure> {
    let from = parse_url(&a.url)?;
    // The new name: a path on the same share, or a URL naming that share.
    let to_path = match SmbUrl::parse(&a.to) {
        Ok(u) if u.host.eq_ignore_ascii_case(&from.host) && u.share.eq_ignore_ascii_case(&from.share) => u.path,
        Ok(u) => {
            return Err(format!(
                "{} and {} are on different shares (//{}/{} and //{}/{}): SMB renames within one share; copy and delete instead",
                a.url, a.to, from.host, from.share, u.host, u.share
            )
            .into());
        }
        Err(_) => a.to.clone(),
    };
    with_namespace(&a.connect, &a.url, |ns, at, rt| {
        let to_path = to_path.split(['/', '\\']).filter(|p| !p.is_empty()).collect::<Vec<_>>().join("/");
        let to = rt.block_on(ns.locate_path(&to_path, rt))?;
        let (here, there) = (at.tree.session().host(), to.tree.session().host());
        if !here.eq_ignore_ascii_case(there) || !at.tree.share().eq_ignore_ascii_case(to.tree.share()) {
            return Err(format!(
                "{} and {} are on different shares (//{here}/{} and //{there}/{}): SMB renames within one share; copy and delete instead",
                a.url,
                a.to,
                at.tree.share(),
                to.tree.share()
            )
            .into());
        }
        Ok(rt.block_on(at.tree.rename(&at.path, &to.path))?)
    })
}

/// Connects, opens the share that holds the URL's path (following DFS referrals), runs `f` on
/// it with the path there.
fn with_tree(
    c: &Connect,
    url: &str,
    f: impl FnOnce(&Tree, &str, &tokio::runtime::Runtime) -> Result<(), Failure>,
) -> Result<(), Failure> {
    with_located(c, url, |at, rt| f(&at.tree, &at.path, rt))
}

/// [`with_tree`] with where the path was found.
fn with_located(
    c: &Connect,
    url: &str,
    f: impl FnOnce(&crate::cmd::dfs::Place, &tokio::runtime::Runtime) -> Result<(), Failure>,
) -> Result<(), Failure> {
    with_namespace(c, url, |_, place, rt| f(place, rt))
}

/// [`with_located`] with the namespace, for commands that walk below the path (links there
/// are followed too).
fn with_namespace(
    c: &Connect,
    url: &str,
    f: impl FnOnce(&Namespace, &crate::cmd::dfs::Place, &tokio::runtime::Runtime) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let url = parse_url(url)?;
    let rt = runtime()?;
    let (ns, mut at) = crate::cmd::dfs::locate(c, &url, &rt)?;
    // A trailing separator says "a directory" to the commands that care (put into it).
    if url.path.ends_with('/') {
        for path in [&mut at.path, &mut at.asked] {
            if !path.is_empty() {
                path.push('/');
            }
        }
    }
    f(&ns, &at, &rt)?;
    let session = ns.root().session().clone();
    drop(at);
    drop(ns);
    rt.block_on(session.logoff());
    Ok(())
}

/// What a user can do about a status the server answered.
fn status_hint(status: NtStatus) -> Option<&'static str> {
    Some(match status {
        NtStatus::LOGON_FAILURE => "wrong user name or password (check --user and --password-file)",
        NtStatus::ACCESS_DENIED => "the account may not do this here",
        NtStatus::BAD_NETWORK_NAME => "no share of that name on this server",
        NtStatus::OBJECT_NAME_NOT_FOUND | NtStatus::NO_SUCH_FILE => "no such file or directory",
        NtStatus::OBJECT_PATH_NOT_FOUND => "a directory on the path does not exist",
        NtStatus::OBJECT_NAME_COLLISION => "it exists already",
        NtStatus::DIRECTORY_NOT_EMPTY => "the directory is not empty",
        NtStatus::SHARING_VIOLATION => "another program has it open",
        NtStatus::DISK_FULL => "the share is full",
        NtStatus::FILE_IS_A_DIRECTORY => "it is a directory",
        NtStatus::NOT_A_DIRECTORY => "it is not a directory",
        NtStatus::NOT_SUPPORTED => "the server does not support this",
        NtStatus::USER_SESSION_DELETED => "the session ended; connect again",
        NtStatus::NETWORK_SESSION_EXPIRED => "the Kerberos ticket expired; run keyless kinit and try again",
        _ => return None,
    })
}

/// An SMB client error as one line, with what to try.
pub fn explain(e: &keyless_client::Error) -> String {
    use keyless_client::{Error, Incompatibility};
    let hint = match e {
        Error::Incompatible(Incompatibility::NoEncryption) => {
            Some("leave out --require-encryption to go on without it")
        }
        Error::Incompatible(Incompatibility::NoCommonDialect) => Some("for an SMB 2 server, add --allow-smb2"),
        Error::Auth(g) => crate::hints::gss(g),
        _ => match (e.status().and_then(|s| status_hint(s).or(s.meaning())), e.kind()) {
            (Some(h), _) => Some(h),
            (None, ErrorKind::TimedOut | ErrorKind::Network) => Some("check the server's address and port 445"),
            (None, ErrorKind::SessionExpired) => Some(crate::hints::FRESH_TICKET),
            _ => None,
        },
    };
    match hint {
        Some(h) => format!("{e}: {h}"),
        None => e.to_string(),
    }
}

impl From<keyless_client::Error> for Failure {
    fn from(e: keyless_client::Error) -> Self {
        Failure::from(explain(&e))
    }
}

/// A FILETIME as `YYYY-MM-DD HH:MM` (UTC).
fn time(filetime: u64) -> String {
    keyless_krb::time::format_utc(unix_seconds(keyless_client::filetime::to_system_time(filetime)))
}

fn temp_beside(target: &Path) -> PathBuf {
    let name = target.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    target.with_file_name(format!(".{name}.keyless-partial"))
}

/// Shows a transfer's progress and rate on a terminal (nothing otherwise).
struct Progress {
    name: String,
    total: u64,
    done: u64,
    started: Instant,
    shown: Instant,
    tty: bool,
}

impl Progress {
    fn new(name: &str, total: u64) -> Self {
        let now = Instant::now();
        Self { name: name.to_string(), total, done: 0, started: now, shown: now, tty: std::io::stderr().is_terminal() }
    }

    /// `done` bytes so far; redrawn at most five times a second.
    fn show(&mut self, done: u64) {
        self.done = done;
        if self.tty && self.shown.elapsed().as_millis() >= 200 {
            self.shown = Instant::now();
            self.draw();
        }
    }

    fn draw(&self) {
        let secs = self.started.elapsed().as_secs_f64().max(1e-3);
        let pct = if self.total == 0 { 100.0 } else { self.done as f64 * 100.0 / self.total as f64 };
        eprint!(
            "\r{} {:5.1}% {} / {} {:.1} MB/s ",
            self.name,
            pct,
            self.done,
            self.total,
            self.done as f64 / secs / 1e6
        );
    }

    fn finish(&self) {
        if self.tty {
            self.draw();
            eprintln!();
        }
    }
}
