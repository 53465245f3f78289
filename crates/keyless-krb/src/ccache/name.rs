//! Credential cache names as MIT writes them (`TYPE:residual`), MIT's `%{...}` expansions, and
//! which cache a name means: a collection name (`DIR:/d`, `KEYRING:persistent:1000`, `KCM:`)
//! means the collection's primary cache.

use super::{dir, kcm, keyring};
use crate::Error;
use std::fmt;
use std::path::PathBuf;

/// MIT's built-in default (`DEFCCNAME`).
pub const MIT_DEFAULT: &str = "FILE:/tmp/krb5cc_%{uid}";

/// One credential cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum CacheName {
    /// `FILE:/path`.
    File(PathBuf),
    /// `DIR::/dir/tkt...`: one file of a DIR collection.
    Dir(dir::Subsidiary),
    /// `KEYRING:...`: one keyring of a kernel-keyring collection.
    Keyring(keyring::Subsidiary),
    /// `KCM:uid:name`: one cache of the KCM daemon.
    Kcm(kcm::Subsidiary),
}

impl fmt::Display for CacheName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => write!(f, "FILE:{}", p.display()),
            Self::Dir(d) => d.fmt(f),
            Self::Keyring(k) => k.fmt(f),
            Self::Kcm(k) => k.fmt(f),
        }
    }
}

/// A set of caches with one primary, as `klist -l`, `kswitch` and `kdestroy -A` see it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Collection {
    /// A FILE cache is a collection of itself.
    File(PathBuf),
    /// `DIR:/dir`.
    Dir(dir::Collection),
    /// `KEYRING:anchor[:name]`.
    Keyring(keyring::Collection),
    /// `KCM:[uid]`.
    Kcm(kcm::Collection),
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::File(p) => write!(f, "FILE:{}", p.display()),
            Self::Dir(d) => d.fmt(f),
            Self::Keyring(k) => k.fmt(f),
            Self::Kcm(k) => k.fmt(f),
        }
    }
}

/// What a name resolved to: the cache it means, in its collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Resolved {
    /// The cache.
    pub cache: CacheName,
    /// Its collection.
    pub collection: Collection,
    /// Whether the name named the collection only (the cache is then its primary, and `kinit`
    /// may pick or make another cache of the collection for another principal).
    pub collection_only: bool,
}

/// The name in force: `-c`, else `KRB5CCNAME`, else krb5.conf's `default_ccache_name`, else
/// MIT's default; expanded.
pub fn default_spec(cli: Option<&str>, config_default: Option<&str>) -> String {
    let env = std::env::var("KRB5CCNAME").ok().filter(|v| !v.is_empty());
    let name = cli.map(str::to_string).or(env).or(config_default.map(str::to_string));
    expand(&name.unwrap_or_else(|| MIT_DEFAULT.into()))
}

/// Resolves an (expanded) name. A collection name resolves to its primary cache, which may
/// mean asking the keyring or the KCM daemon.
///
/// # Errors
/// [`Error::Config`] for a malformed name or an unknown type; store errors for collections.
pub fn resolve(spec: &str, kcm_socket: &std::path::Path) -> Result<Resolved, Error> {
    let (kind, residual) = match spec.split_once(':') {
        Some((k, r)) if !k.is_empty() && !k.contains('/') => (k, r),
        _ => ("FILE", spec), // a bare path, as MIT reads it
    };
    match kind {
        "FILE" => {
            let path = PathBuf::from(residual);
            Ok(Resolved {
                cache: CacheName::File(path.clone()),
                collection: Collection::File(path),
                collection_only: false,
            })
        }
        "DIR" => dir::resolve(residual),
        "KEYRING" => keyring::resolve(residual),
        "KCM" => kcm::resolve(residual, kcm_socket),
        other => Err(Error::Config(format!(
            "credential cache type {other}: is not one keyless knows (FILE, DIR, KEYRING and KCM)"
        ))),
    }
}

/// MIT's path tokens (`k5_expand_path_tokens`): `%{uid}`, `%{euid}`, `%{USERID}`,
/// `%{username}`, `%{TEMP}` and `%{null}`; other tokens are left as they are.
pub fn expand(name: &str) -> String {
    let ids = ids();
    let mut out = String::with_capacity(name.len());
    let mut rest = name;
    while let Some(at) = rest.find("%{") {
        out.push_str(&rest[..at]);
        let after = &rest[at + 2..];
        let Some(end) = after.find('}') else {
            out.push_str(&rest[at..]);
            return out;
        };
        let token = &after[..end];
        match token {
            "uid" | "USERID" => out.push_str(&ids.0.to_string()),
            "euid" => out.push_str(&ids.1.to_string()),
            "username" => out.push_str(&username(ids.1).unwrap_or_else(|| ids.1.to_string())),
            "TEMP" => out.push_str(&temp_dir()),
            "null" => {}
            _ => out.push_str(&rest[at..at + 2 + end + 1]),
        }
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    out
}

/// MIT's `%{TEMP}` on Unix: `TMPDIR` when set, else `/tmp`.
fn temp_dir() -> String {
    std::env::var("TMPDIR").ok().filter(|t| !t.is_empty()).unwrap_or_else(|| "/tmp".into())
}

/// The real and effective uid, from /proc. Unreadable, they are 65534 (nobody), never root:
/// a guess must not point a user at root's default cache.
pub fn ids() -> (u32, u32) {
    const NOBODY: u32 = 65534;
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let mut fields = status.lines().find_map(|l| l.strip_prefix("Uid:")).unwrap_or("").split_whitespace();
    let real = fields.next().and_then(|u| u.parse().ok()).unwrap_or(NOBODY);
    let effective = fields.next().and_then(|u| u.parse().ok()).unwrap_or(real);
    (real, effective)
}

/// The name of `uid` in /etc/passwd, else `USER` when it is that uid's.
fn username(uid: u32) -> Option<String> {
    let passwd = std::fs::read_to_string("/etc/passwd").ok()?;
    passwd
        .lines()
        .filter_map(|l| {
            let mut f = l.split(':');
            let name = f.next()?;
            let id: u32 = f.nth(1)?.parse().ok()?;
            (id == uid).then(|| name.to_string())
        })
        .next()
        .or_else(|| std::env::var("USER").ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expands_mit_tokens_and_leaves_others() {
        let (uid, euid) = ids();
        assert_eq!(expand("FILE:/tmp/krb5cc_%{uid}"), format!("FILE:/tmp/krb5cc_{uid}"));
        assert_eq!(expand("KEYRING:persistent:%{USERID}"), format!("KEYRING:persistent:{uid}"));
        assert_eq!(expand("%{euid}%{null}x"), format!("{euid}x"));
        assert_eq!(expand("a%{LIBDIR}b%{"), "a%{LIBDIR}b%{");
    }

    #[test]
    fn bare_paths_are_files() {
        let r = resolve("/tmp/cc", std::path::Path::new(kcm::DEFAULT_SOCKET)).unwrap();
        assert_eq!(r.cache, CacheName::File("/tmp/cc".into()));
        assert_eq!(r.cache.to_string(), "FILE:/tmp/cc");
    }

    #[test]
    fn unknown_types_are_named() {
        let e = resolve("API:foo", std::path::Path::new(kcm::DEFAULT_SOCKET)).unwrap_err().to_string();
        assert!(e.contains("API"), "{e}");
    }
}
