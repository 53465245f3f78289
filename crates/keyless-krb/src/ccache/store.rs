//! Reading and writing a cache of any type, and the collection operations behind `klist -l`,
//! `kswitch` and `kdestroy -A`: one place that knows which type does what.
//!
//! Writes follow MIT: `initialize` replaces a cache's principal and credentials (`kinit`);
//! `store` adds credentials to a cache and refuses ones of another principal, so a cache's
//! principal is never replaced behind its owner's back.

use super::name::{CacheName, Collection};
use super::{CCache, Entry, dir};
use crate::{Credential, Error, RandomSource};

impl CacheName {
    /// Reads the cache.
    ///
    /// # Errors
    /// [`Error::NoCache`] when it does not exist; [`Error::File`], [`Error::CacheStore`] or
    /// [`Error::Malformed`] when it cannot be read.
    pub fn read(&self) -> Result<CCache, Error> {
        match self {
            Self::File(path) => read_file(path, self),
            Self::Dir(d) => read_file(&d.path(), self),
            Self::Keyring(k) => k.read(),
            Self::Kcm(k) => k.read(),
        }
    }

    /// Replaces the cache's contents with `cache` (what `kinit` does), making the cache (and
    /// its DIR directory or keyring collection) if needed. A DIR or KEYRING collection with no
    /// primary yet gets this cache as its primary.
    ///
    /// # Errors
    /// [`Error::File`] or [`Error::CacheStore`].
    pub fn initialize(&self, cache: &CCache, now: i64) -> Result<(), Error> {
        match self {
            Self::File(path) => cache.write(path),
            Self::Dir(d) => {
                let c = dir::Collection { dir: d.dir.clone() };
                c.ensure_dir()?;
                cache.write(&d.path())?;
                if !c.has_primary() { c.switch_to(d) } else { Ok(()) }
            }
            Self::Keyring(k) => {
                k.initialize(cache, now)?;
                if k.collection.primary()?.name == k.name { k.collection.switch_to(k) } else { Ok(()) }
            }
            Self::Kcm(k) => k.initialize(cache),
        }
    }

    /// Adds credentials to the cache (service tickets after `kvno`, say), replacing older ones
    /// for the same servers.
    ///
    /// # Errors
    /// [`Error::NoCache`]; [`Error::CacheHoldsOther`] when a credential's client is not the
    /// cache's principal; write errors as [`CacheName::initialize`].
    pub fn store(&self, credentials: &[Credential], now: i64) -> Result<(), Error> {
        let mut cache = self.read()?;
        for c in credentials {
            if !c.client.same_name(&cache.principal) {
                return Err(Error::CacheHoldsOther {
                    cache: self.to_string(),
                    holds: cache.principal.to_string(),
                    offered: c.client.to_string(),
                });
            }
        }
        match self {
            Self::File(_) | Self::Dir(_) => {
                for c in credentials {
                    cache.store(c);
                }
                self.initialize(&cache, now)
            }
            Self::Keyring(k) => k.store(&credentials.iter().map(Entry::from_credential).collect::<Vec<_>>(), now),
            Self::Kcm(k) => k.store(&credentials.iter().map(Entry::from_credential).collect::<Vec<_>>()),
        }
    }

    /// Destroys the cache: a file is overwritten with zeros and removed (as MIT does), a keyring
    /// cleared and unlinked, a KCM cache destroyed.
    ///
    /// # Errors
    /// [`Error::NoCache`] when there is none.
    pub fn destroy(&self) -> Result<(), Error> {
        match self {
            Self::File(path) => destroy_file(path, self),
            Self::Dir(d) => destroy_file(&d.path(), self),
            Self::Keyring(k) => k.destroy(),
            Self::Kcm(k) => k.destroy(),
        }
    }
}

fn read_file(path: &std::path::Path, name: &CacheName) -> Result<CCache, Error> {
    match std::fs::read(path) {
        // An empty file is a cache name reserved and not yet written.
        Ok(bytes) if bytes.is_empty() => Err(Error::NoCache(name.to_string())),
        Ok(bytes) => CCache::parse(&bytes),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Err(Error::NoCache(name.to_string())),
        Err(source) => Err(Error::File { path: path.display().to_string(), source }),
    }
}

fn destroy_file(path: &std::path::Path, name: &CacheName) -> Result<(), Error> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let file_err = |source| Error::File { path: path.display().to_string(), source };
    // Not through a link (a cache name planted as a link to another file must not be wiped),
    // not truncated first (that frees the blocks instead of overwriting them).
    let mut f = match std::fs::OpenOptions::new().write(true).custom_flags(libc::O_NOFOLLOW).open(path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Err(Error::NoCache(name.to_string())),
        Err(e) => return Err(file_err(e)),
    };
    let meta = f.metadata().map_err(file_err)?;
    if !meta.is_file() {
        return Err(file_err(std::io::Error::other("not a regular file")));
    }
    let zeros = [0u8; 4096];
    let mut left = meta.len();
    while left > 0 {
        let n = usize::try_from(left.min(zeros.len() as u64)).unwrap_or(zeros.len());
        f.write_all(&zeros[..n]).map_err(file_err)?;
        left -= n as u64;
    }
    f.sync_all().map_err(file_err)?;
    std::fs::remove_file(path).map_err(file_err)
}

impl Collection {
    /// The caches that exist, the primary first.
    ///
    /// # Errors
    /// [`Error::CacheStore`] from a keyring or the KCM daemon.
    pub fn caches(&self) -> Result<Vec<CacheName>, Error> {
        Ok(match self {
            Self::File(path) => {
                if path.exists() {
                    vec![CacheName::File(path.clone())]
                } else {
                    Vec::new()
                }
            }
            Self::Dir(d) => d.caches().into_iter().map(CacheName::Dir).collect(),
            Self::Keyring(k) => k.caches()?.into_iter().map(CacheName::Keyring).collect(),
            Self::Kcm(k) => k.caches()?.into_iter().map(CacheName::Kcm).collect(),
        })
    }

    /// The first cache of the collection whose principal is `principal` (MIT's
    /// `krb5_cc_cache_match`).
    ///
    /// # Errors
    /// As [`Collection::caches`].
    pub fn find(&self, principal: &crate::Principal) -> Result<Option<CacheName>, Error> {
        for cache in self.caches()? {
            if cache.read().is_ok_and(|c| c.principal.same_name(principal)) {
                return Ok(Some(cache));
            }
        }
        Ok(None)
    }

    /// Makes `cache` the primary (what `kswitch` does).
    ///
    /// # Errors
    /// [`Error::Config`] when `cache` is not in this collection or the type has no collection;
    /// store errors.
    pub fn switch_to(&self, cache: &CacheName) -> Result<(), Error> {
        match (self, cache) {
            (Self::Dir(c), CacheName::Dir(d)) if c.dir == d.dir => c.switch_to(d),
            (Self::Keyring(c), CacheName::Keyring(k)) if *c == k.collection => c.switch_to(k),
            (Self::Kcm(c), CacheName::Kcm(k)) if *c == k.collection => c.switch_to(k),
            (Self::File(p), CacheName::File(q)) if p == q => Ok(()),
            _ => Err(Error::Config(format!("{cache} is not a cache of {self}"))),
        }
    }

    /// A new, empty cache name in the collection (MIT's `krb5_cc_new_unique`).
    ///
    /// # Errors
    /// [`Error::Config`] for FILE, which has no collection; store errors.
    pub fn new_unique(&self, random: &mut dyn RandomSource) -> Result<CacheName, Error> {
        match self {
            Self::Dir(d) => Ok(CacheName::Dir(d.new_unique(random)?)),
            Self::Keyring(k) => Ok(CacheName::Keyring(k.new_unique(random)?)),
            Self::Kcm(k) => Ok(CacheName::Kcm(k.new_unique()?)),
            Self::File(_) => Err(Error::Config(format!("{self} is a single cache, not a collection"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Principal;

    fn cache_for(name: &str) -> CCache {
        CCache::new(Principal::parse(name, Some("EXAMPLE.TEST")).unwrap())
    }

    #[test]
    fn dir_collections_keep_a_primary_and_list_it_first() {
        let root = std::env::temp_dir().join(format!("keyless-dir-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        let spec = format!("DIR:{}", root.display());
        let r = super::super::name::resolve(&spec, std::path::Path::new(super::super::kcm::DEFAULT_SOCKET)).unwrap();
        assert!(r.collection_only);
        assert_eq!(r.cache.to_string(), format!("DIR::{}/tkt", root.display()));
        r.cache.initialize(&cache_for("alice"), 0).unwrap();
        assert_eq!(std::fs::read_to_string(root.join("primary")).unwrap(), "tkt\n");
        let bob = r.collection.new_unique(&mut crate::random::Counting::default()).unwrap();
        bob.initialize(&cache_for("bob"), 0).unwrap();
        r.collection.switch_to(&bob).unwrap();
        let again =
            super::super::name::resolve(&spec, std::path::Path::new(super::super::kcm::DEFAULT_SOCKET)).unwrap();
        assert_eq!(again.cache, bob);
        let listed = again.collection.caches().unwrap();
        assert_eq!(listed.len(), 2);
        assert_eq!(listed[0], bob);
        let alice = Principal::parse("alice", Some("EXAMPLE.TEST")).unwrap();
        assert_eq!(again.collection.find(&alice).unwrap(), Some(r.cache.clone()));
        let _ = std::fs::remove_dir_all(&root);
    }

    #[test]
    fn destroy_wipes_no_file_through_a_link() {
        let dir = std::env::temp_dir().join(format!("keyless-destroy-unit-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let victim = dir.join("victim");
        std::fs::write(&victim, b"precious").unwrap();
        std::os::unix::fs::symlink(&victim, dir.join("cc")).unwrap();
        assert!(CacheName::File(dir.join("cc")).destroy().is_err());
        assert_eq!(std::fs::read(&victim).unwrap(), b"precious");
        let real = CacheName::File(dir.join("real"));
        real.initialize(&cache_for("alice"), 0).unwrap();
        real.destroy().unwrap();
        assert!(!dir.join("real").exists());
        let _ = std::fs::remove_dir_all(&dir);
    }

    #[test]
    fn debug_output_shows_no_key() {
        let mut e = super::super::Entry::config(&Principal::parse("a", Some("R")).unwrap(), "k", None, b"v");
        e.key = zeroize::Zeroizing::new(vec![0xAB; 16]);
        let shown = format!("{e:?}");
        assert!(!shown.contains("171") && !shown.to_lowercase().contains("ab, ab"), "{shown}");
    }

    #[test]
    fn store_refuses_another_principals_credentials() {
        let path = std::env::temp_dir().join(format!("keyless-store-unit-{}", std::process::id()));
        let name = CacheName::File(path.clone());
        name.initialize(&cache_for("alice"), 0).unwrap();
        let key = keyless_crypto::Key::from_bytes(keyless_crypto::EncType::AES256_CTS_HMAC_SHA1_96, &[1; 32]).unwrap();
        let cred = Credential {
            client: Principal::parse("mallory", Some("EXAMPLE.TEST")).unwrap(),
            server: Principal::parse("cifs/host", Some("EXAMPLE.TEST")).unwrap(),
            session_key: key,
            auth_time: 0,
            start_time: 0,
            end_time: 0,
            renew_till: 0,
            flags: 0,
            ticket: vec![0x61, 0],
        };
        assert!(matches!(name.store(&[cred], 0), Err(Error::CacheHoldsOther { .. })));
        assert_eq!(name.read().unwrap().principal.to_string(), "alice@EXAMPLE.TEST");
        let _ = std::fs::remove_file(&path);
    }
}
