//! DFS for the file commands and the mount: a share may be a DFS namespace whose paths lead to
//! other servers' shares. A [`Namespace`] keeps what referrals said (MS-DFSC, with their TTLs)
//! and the shares it reached, each server with its own authentication (a Kerberos ticket for
//! `cifs/<target>`; `--ip`, `--port` and `--spn` apply to the URL's server only). The commands
//! ask the referral of their path up front; the mount asks when the server answers
//! STATUS_PATH_NOT_COVERED. Targets are tried in the server's order; one that does not answer
//! is passed over for a minute. At most [`MAX_HOPS`] referrals lead to one path. A URL whose
//! host is a domain (`smb://corp.example.com/files`) has its root found by the domain's DCs
//! ([`domain`]).

mod domain;

use crate::cmd::smb::{Connect, SmbUrl, connect, explain};
use crate::context::Failure;
use keyless_client::dfs::ReferralCache;
use keyless_client::{Client, ErrorKind, Tree};
use keyless_smb::NtStatus;
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

/// Referrals followed for one path before keyless calls it a loop.
pub const MAX_HOPS: usize = 8;

/// How long a target that did not answer is passed over.
const DEAD_FOR: Duration = Duration::from_secs(60);

/// STATUS_NOT_FOUND: the path is in no namespace (MS-DFSC 3.2.5.5).
const NOT_FOUND: NtStatus = NtStatus(0xC000_0225);

/// Where a path is.
pub struct Place {
    pub tree: Tree,
    /// The path on `tree` (`/`-separated, no leading separator).
    pub path: String,
    /// `\server\share\path` when referrals moved it, else `None`.
    pub moved_to: Option<String>,
    /// The path as asked, on the namespace's root share.
    pub asked: String,
}

/// Why an operation through the namespace failed: the referrals, or the operation.
pub enum Failed {
    Dfs(Failure),
    Smb(keyless_client::Error),
}

impl From<Failed> for Failure {
    fn from(f: Failed) -> Self {
        match f {
            Failed::Dfs(f) => f,
            Failed::Smb(e) => e.into(),
        }
    }
}

/// A connected share of the namespace.
struct Share {
    host: String,
    share: String,
    tree: Tree,
    _client: Client,
}

/// What the referrals said, and the shares reached.
pub struct Namespace {
    host: String,
    /// The URL's port, for more shares of the URL's own server.
    port: Option<u16>,
    share: String,
    /// The options as given, for the URL's server.
    own: Connect,
    /// The same credentials for other servers.
    targets: Connect,
    cache: Mutex<ReferralCache>,
    /// The shares reached; the first is the namespace's root.
    shares: Mutex<Vec<Share>>,
    dead: Mutex<Vec<(String, Instant)>>,
    /// The domain whose DCs say where the root is, when the URL's host is one.
    domain: Option<domain::Domain>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
}

impl Namespace {
    /// The namespace whose root is `url`'s share, connected as `client`/`tree`; targets are
    /// reached with `c`'s credentials.
    fn new(c: &Connect, url: &SmbUrl, root: Option<(Client, Tree)>, domain: Option<domain::Domain>) -> Self {
        let root = root.map(|(client, tree)| Share {
            host: url.host.clone(),
            share: url.share.clone(),
            tree,
            _client: client,
        });
        Self {
            host: url.host.clone(),
            port: url.port,
            share: url.share.clone(),
            own: c.clone(),
            targets: c.for_targets(),
            cache: Mutex::default(),
            shares: Mutex::new(root.into_iter().collect()),
            dead: Mutex::default(),
            domain,
        }
    }

    /// The namespace whose root is `url`'s share: on the URL's server, connected by
    /// `connect_root`, or where the DCs say when the URL's host is a domain.
    pub fn open(
        c: &Connect,
        url: &SmbUrl,
        rt: &tokio::runtime::Runtime,
        connect_root: impl FnOnce() -> Result<(Client, Tree), Failure>,
    ) -> Result<Self, Failure> {
        let Some(domain) = domain::candidate(c, url) else {
            return Ok(Self::new(c, url, Some(connect_root()?), None));
        };
        let why = domain.why.clone();
        match rt.block_on(Self::in_domain(c, url, domain, rt)) {
            Ok(Some(ns)) => Ok(ns),
            // Not a domain after all: the server of that name.
            Ok(None) => Ok(Self::new(c, url, Some(connect_root()?), None)),
            Err(dc_failure) => match connect_root() {
                Ok(root) => Ok(Self::new(c, url, Some(root), None)),
                // A realm's name is a domain's first: why its DCs did not answer comes first.
                Err(e) if why == domain::Why::RealmName => {
                    Err(format!("{dc_failure}; as a server, {}: {e}", url.host).into())
                }
                // A name that resolves nowhere: that is what to fix first.
                Err(e) => Err(e),
            },
        }
    }

    /// The namespace `\\domain\share` when the domain's DCs know it; `None` when they say the
    /// host is no domain of theirs.
    async fn in_domain(
        c: &Connect,
        url: &SmbUrl,
        domain: domain::Domain,
        rt: &tokio::runtime::Runtime,
    ) -> Result<Option<Self>, Failure> {
        let ns = Self::new(c, url, None, Some(domain));
        let Some(domain) = &ns.domain else { return Ok(None) };
        let host = &url.host;
        // A name that is not a realm's is a domain if the domain referral lists it.
        if domain.why == domain::Why::Unresolved {
            let listed = match domain.ask(&ns.targets, "", rt).await {
                domain::Asked::Answer(Ok(answer)) => domain::names_of(&answer).is_ok_and(|n| domain::lists(&n, host)),
                domain::Asked::Answer(Err(_)) => false,
                domain::Asked::NoDc(why) => return Err(format!("DFS: is {host} a domain? {why}").into()),
            };
            if !listed {
                return Ok(None);
            }
        }
        // Its DCs, from the DC referral; a DC that takes the name for no domain of its own
        // says so with a status.
        match domain.ask(&ns.targets, &format!("\\{host}"), rt).await {
            domain::Asked::Answer(Ok(answer)) => {
                let names = domain::names_of(&answer).map_err(|e| format!("DFS: the DC referral for {host}: {e}"))?;
                if let Some(named) = names.first() {
                    domain.learn_dcs(named);
                }
            }
            domain::Asked::Answer(Err(e)) if e.status().is_some() => return Ok(None),
            domain::Asked::Answer(Err(e)) => {
                return Err(format!("DFS: the DC referral for {host}: {}", explain(&e)).into());
            }
            domain::Asked::NoDc(why) => return Err(format!("DFS: the DCs of {host}: {why}").into()),
        }
        ns.refer_domain_root(rt).await?;
        // The first root target that answers becomes the namespace's root share.
        ns.at("", rt).await?;
        Ok(Some(ns))
    }

    /// Asks the domain's DCs where the namespace's roots are (a root referral).
    async fn refer_domain_root(&self, rt: &tokio::runtime::Runtime) -> Result<(), Failure> {
        let Some(domain) = &self.domain else { return Ok(()) };
        let path = unc(&self.host, &self.share, "");
        let answer = match domain.ask(&self.targets, &path, rt).await {
            domain::Asked::Answer(Ok(a)) => a,
            domain::Asked::Answer(Err(e)) => {
                return Err(
                    format!("DFS: the DCs of {} know no namespace {}: {}", self.host, self.share, explain(&e)).into()
                );
            }
            domain::Asked::NoDc(why) => return Err(format!("DFS: the DCs of {}: {why}", self.host).into()),
        };
        lock(&self.cache)
            .insert(&path, &answer, Instant::now())
            .map_err(|u| format!("DFS referral for {path}: {u}"))?;
        Ok(())
    }

    /// Whether `unc` is in the domain's namespace (`\domain\share[\...]`).
    fn in_domain_root(&self, unc: &str) -> bool {
        self.domain.is_some()
            && split_unc(unc)
                .is_some_and(|(h, s, _)| h.eq_ignore_ascii_case(&self.host) && s.eq_ignore_ascii_case(&self.share))
    }

    /// The root share.
    pub fn root(&self) -> Tree {
        lock(&self.shares)[0].tree.clone()
    }

    /// Where `path` (on the root share) is, by what referrals have said so far.
    pub async fn at(&self, path: &str, rt: &tokio::runtime::Runtime) -> Result<Place, Failure> {
        let mut unc = unc(&self.host, &self.share, path);
        for hop in 0..=MAX_HOPS {
            let mut resolved = lock(&self.cache).lookup(&unc, Instant::now());
            // A domain's namespace has no server of its own: its DCs say again where it is
            // once their answer expired.
            if resolved.is_none() && self.in_domain_root(&unc) {
                self.refer_domain_root(rt).await?;
                resolved = lock(&self.cache).lookup(&unc, Instant::now());
            }
            let Some(resolved) = resolved else {
                let (host, share, rest) =
                    split_unc(&unc).ok_or_else(|| format!("DFS: {unc} is not \\\\server\\share"))?;
                let tree = self.tree_for(&host, &share, rt)?;
                let moved_to = (hop > 0).then_some(unc);
                return Ok(Place { tree, path: rest.replace('\\', "/"), moved_to, asked: path.to_string() });
            };
            let mut failures = Vec::new();
            let mut next = None;
            for target in &resolved.targets {
                if self.is_dead(target) {
                    failures.push(format!("{target}: did not answer a moment ago"));
                    continue;
                }
                let Some((host, share, _)) = split_unc(target) else {
                    failures.push(format!("{target}: not \\\\server\\share"));
                    continue;
                };
                match self.tree_for(&host, &share, rt) {
                    Ok(_) => {
                        next = Some(format!("{}{}", target.trim_end_matches('\\'), resolved.rest));
                        break;
                    }
                    Err(e) => {
                        lock(&self.dead).push((target.clone(), Instant::now()));
                        failures.push(e.to_string());
                    }
                }
            }
            let next = next.ok_or_else(|| format!("DFS: no target of {unc} answered: {}", failures.join("; ")))?;
            // A referral back to where the path already is leads nowhere further.
            if next.eq_ignore_ascii_case(&unc) {
                let (host, share, rest) =
                    split_unc(&unc).ok_or_else(|| format!("DFS: {unc} is not \\\\server\\share"))?;
                let tree = self.tree_for(&host, &share, rt)?;
                return Ok(Place { tree, path: rest.replace('\\', "/"), moved_to: Some(unc), asked: path.to_string() });
            }
            unc = next;
        }
        Err(format!("DFS: more than {MAX_HOPS} referrals for {} (a loop of links?)", unc_of(self, path)).into())
    }

    /// Runs `op` on the share and path where `path` is; when the server says the path crossed a
    /// DFS link (STATUS_PATH_NOT_COVERED), learns the link's referral and runs it there.
    pub async fn run<T, F, Fut>(&self, path: &str, rt: &tokio::runtime::Runtime, op: F) -> Result<T, Failed>
    where
        F: Fn(Tree, String) -> Fut,
        Fut: std::future::Future<Output = Result<T, keyless_client::Error>>,
    {
        for _ in 0..=MAX_HOPS {
            let place = self.at(path, rt).await.map_err(Failed::Dfs)?;
            let (host, share) = (place.tree.session().host().to_string(), place.tree.share().to_string());
            let moved = place.moved_to.is_some();
            match op(place.tree, place.path).await {
                Err(e) if e.status() == Some(NtStatus::PATH_NOT_COVERED) => {
                    if !self.learn(path, rt).await.map_err(Failed::Dfs)? {
                        return Err(Failed::Smb(e));
                    }
                }
                // A target that stopped answering: the next one of its referral.
                Err(e) if moved && matches!(e.kind(), ErrorKind::Network | ErrorKind::TimedOut) => {
                    self.pass_over(&host, &share);
                }
                done => return done.map_err(Failed::Smb),
            }
        }
        Err(Failed::Dfs(
            format!("DFS: more than {MAX_HOPS} referrals for {} (a loop of links?)", unc_of(self, path)).into(),
        ))
    }

    /// Asks the referral of `path` where it now is; whether it said anything new (nothing:
    /// the path is under no link there).
    pub async fn learn(&self, path: &str, rt: &tokio::runtime::Runtime) -> Result<bool, Failure> {
        let place = self.at(path, rt).await?;
        let session = place.tree.session().clone();
        let asked = unc(session.host(), place.tree.share(), &place.path);
        let answer = match session.dfs_referral_in_site(&asked, self.own.dfs_site()).await {
            Ok(a) => a,
            // No link on the path: the share holds it (Samba says OBJECT_PATH_NOT_FOUND, as for
            // a name that is not there at all; the operation itself will tell).
            Err(e)
                if matches!(
                    e.status(),
                    Some(NOT_FOUND | NtStatus::OBJECT_PATH_NOT_FOUND | NtStatus::OBJECT_NAME_NOT_FOUND)
                ) =>
            {
                return Ok(false);
            }
            Err(e) => return Err(format!("DFS referral for {asked}: {}", explain(&e)).into()),
        };
        // A root referral (answering for `\server\share` alone) says the path is in that
        // share, under no link.
        let root = unc(session.host(), place.tree.share(), "");
        if keyless_client::dfs::answered_prefix(&asked, &answer).is_some_and(|p| p.eq_ignore_ascii_case(&root)) {
            return Ok(false);
        }
        lock(&self.cache)
            .insert(&asked, &answer, Instant::now())
            .map_err(|u| format!("DFS referral for {asked}: {u}"))?;
        Ok(true)
    }

    /// A connected target that stopped answering: forgotten, and passed over for a while.
    fn pass_over(&self, host: &str, share: &str) {
        lock(&self.shares).retain(|s| !(s.host.eq_ignore_ascii_case(host) && s.share.eq_ignore_ascii_case(share)));
        lock(&self.dead).push((format!("\\{host}\\{share}"), Instant::now()));
    }

    fn is_dead(&self, target: &str) -> bool {
        let mut dead = lock(&self.dead);
        dead.retain(|(_, at)| at.elapsed() < DEAD_FOR);
        let share_of = |t: &str| split_unc(t).map(|(h, s, _)| format!("\\{h}\\{s}").to_ascii_lowercase());
        dead.iter().any(|(t, _)| share_of(t) == share_of(target))
    }

    /// The connected share `share` of `host`, connecting (and authenticating) when new.
    fn tree_for(&self, host: &str, share: &str, rt: &tokio::runtime::Runtime) -> Result<Tree, Failure> {
        let known = |shares: &Vec<Share>| {
            shares
                .iter()
                .find(|s| s.host.eq_ignore_ascii_case(host) && s.share.eq_ignore_ascii_case(share))
                .map(|s| s.tree.clone())
        };
        if let Some(tree) = known(&lock(&self.shares)) {
            return Ok(tree);
        }
        // The URL's own server keeps its --ip, --port and --spn; others are reached by name.
        let own = host.eq_ignore_ascii_case(&self.host);
        let options = if own { &self.own } else { &self.targets };
        let port = if own { self.port } else { None };
        let url = SmbUrl { host: host.to_string(), port, share: share.to_string(), path: String::new() };
        let opened = off_runtime(|| {
            let client = connect(options, &url, rt)?;
            let tree = rt
                .block_on(client.tree(share))
                .map_err(|e| Failure::from(format!("//{host}/{share}: {}", explain(&e))))?;
            Ok::<_, Failure>((client, tree))
        })?;
        let (client, tree) = opened;
        let mut shares = lock(&self.shares);
        if let Some(tree) = known(&shares) {
            return Ok(tree);
        }
        shares.push(Share { host: host.to_string(), share: share.to_string(), tree: tree.clone(), _client: client });
        Ok(tree)
    }
}

/// Runs `connecting` on a thread of its own: authentication drives the runtime itself, which
/// a caller inside it may not.
fn off_runtime<T: Send>(connecting: impl FnOnce() -> Result<T, Failure> + Send) -> Result<T, Failure> {
    std::thread::scope(|s| {
        s.spawn(connecting).join().unwrap_or_else(|_| Err(Failure::from("connecting failed".to_string())))
    })
}

fn unc_of(ns: &Namespace, path: &str) -> String {
    unc(&ns.host, &ns.share, path)
}

/// The share and path that `url` names, asking up front for the referral of its path when the
/// share is a DFS one (the commands act on one place).
pub fn locate(c: &Connect, url: &SmbUrl, rt: &tokio::runtime::Runtime) -> Result<(Namespace, Place), Failure> {
    let path = url.path.split(['/', '\\']).filter(|p| !p.is_empty()).collect::<Vec<_>>().join("/");
    let ns = Namespace::open(c, url, rt, || {
        let client = connect(c, url, rt)?;
        let tree = rt
            .block_on(client.tree(&url.share))
            .map_err(|e| Failure::from(format!("//{}/{}: {}", url.host, url.share, explain(&e))))?;
        Ok((client, tree))
    })?;
    let place = rt.block_on(ns.locate_path(&path, rt))?;
    Ok((ns, place))
}

impl Namespace {
    /// Where `path` is, asking up front for the referrals of the DFS shares on its way. A
    /// referral the server will not give (a share in no namespace, IPC$ refused) is no
    /// referral: the operation itself tells what is there.
    pub async fn locate_path(&self, path: &str, rt: &tokio::runtime::Runtime) -> Result<Place, Failure> {
        for _ in 0..=MAX_HOPS {
            let place = self.at(path, rt).await?;
            if !place.tree.is_dfs() || !self.learn(path, rt).await.unwrap_or(false) {
                return Ok(place);
            }
        }
        Err(format!("DFS: more than {MAX_HOPS} referrals for {} (a loop of links?)", unc_of(self, path)).into())
    }
}

/// `\host\share[\path]` as a referral request names it.
fn unc(host: &str, share: &str, path: &str) -> String {
    let path = path.trim_matches(['\\', '/']).replace('/', "\\");
    if path.is_empty() { format!("\\{host}\\{share}") } else { format!("\\{host}\\{share}\\{path}") }
}

/// `\server\share[\path]` into its parts.
fn split_unc(target: &str) -> Option<(String, String, String)> {
    let mut parts = target.trim_start_matches('\\').splitn(3, '\\');
    let host = parts.next().filter(|h| !h.is_empty())?.to_string();
    let share = parts.next().filter(|s| !s.is_empty())?.to_string();
    Some((host, share, parts.next().unwrap_or("").trim_matches('\\').to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unc_paths_split_and_join() {
        assert_eq!(unc("ns", "dfs", "link/a/"), "\\ns\\dfs\\link\\a");
        assert_eq!(unc("ns", "dfs", ""), "\\ns\\dfs");
        assert_eq!(split_unc("\\files2\\share\\sub\\dir"), Some(("files2".into(), "share".into(), "sub\\dir".into())));
        assert_eq!(split_unc("\\files2"), None);
    }
}
