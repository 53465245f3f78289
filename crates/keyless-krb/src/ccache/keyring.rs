//! KEYRING caches in kernel keyrings, laid out as MIT's `cc_keyring.c` lays them out, so MIT
//! tools and keyless read each other's:
//! - an anchor (`process`, `thread`, `session`, `user`, `persistent:UID`; a name with no anchor
//!   is a legacy session cache) holds a collection keyring `_krb_<name>` (`_krb` inside the
//!   persistent keyring);
//! - the collection holds one keyring per cache and a `user` key `krb_ccache:primary`
//!   (u32 BE 1, u32 BE length, the primary cache's name);
//! - a cache keyring holds `__krb5_princ__` (the principal in ccache format 4),
//!   `__krb5_time_offsets__` (two u32 BE) and one key per credential, described by its server
//!   principal, holding the credential in ccache format 4 (`big_key` where the kernel has it).
//!
//! Keys get the kernel's default permissions (all for their possessor, view for their owner),
//! as MIT's do: other users cannot read them.

use super::name::{CacheName, Collection as AnyCollection, Resolved};
use super::{CCache, Entry};
use crate::Error;
use crate::reader::Reader;
use keyutils::keytypes::{BigKey, User};
use keyutils::{Keyring, SpecialKeyring};
use std::fmt;

const PRIMARY: &str = "krb_ccache:primary";
const PRINCIPAL: &str = "__krb5_princ__";
const TIME_OFFSETS: &str = "__krb5_time_offsets__";
const UNIQUE_PREFIX: &str = "krb_ccache_";

/// Where a collection hangs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Anchor {
    /// The process keyring.
    Process,
    /// The thread keyring.
    Thread,
    /// The session keyring.
    Session,
    /// A name with no anchor: MIT's legacy session cache, its own collection.
    Legacy,
    /// The user keyring.
    User,
    /// The persistent keyring of a uid.
    Persistent(u32),
}

/// A KEYRING collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collection {
    /// The anchor.
    pub anchor: Anchor,
    /// The collection's name (the uid for `persistent`).
    pub name: String,
}

/// One cache of a KEYRING collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subsidiary {
    /// Its collection.
    pub collection: Collection,
    /// The cache keyring's description.
    pub name: String,
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.anchor {
            Anchor::Persistent(uid) => write!(f, "KEYRING:persistent:{uid}"),
            a => write!(f, "KEYRING:{}:{}", anchor_word(a), self.name),
        }
    }
}

impl fmt::Display for Subsidiary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Always anchor:collection:subsidiary, a legacy name too, as MIT prints them.
        write!(f, "KEYRING:{}:{}:{}", anchor_word(&self.collection.anchor), self.collection.name, self.name)
    }
}

fn anchor_word(a: &Anchor) -> &'static str {
    match a {
        Anchor::Process => "process",
        Anchor::Thread => "thread",
        Anchor::Session => "session",
        Anchor::Legacy => "legacy",
        Anchor::User => "user",
        Anchor::Persistent(_) => "persistent",
    }
}

/// `KEYRING:` residuals: `anchor:collection[:subsidiary]`, or a bare legacy name.
pub(crate) fn resolve(residual: &str) -> Result<Resolved, Error> {
    let bad = |why: &str| Error::Config(format!("KEYRING:{residual}: {why}"));
    let Some((anchor, rest)) = residual.split_once(':') else {
        if residual.is_empty() {
            return Err(bad("names no keyring"));
        }
        let collection = Collection { anchor: Anchor::Legacy, name: residual.to_string() };
        let sub = Subsidiary { collection: collection.clone(), name: residual.to_string() };
        return Ok(Resolved {
            cache: CacheName::Keyring(sub),
            collection: AnyCollection::Keyring(collection),
            collection_only: false,
        });
    };
    let (name, subsidiary) = match rest.split_once(':') {
        Some((c, s)) => (c, Some(s)),
        None => (rest, None),
    };
    let anchor = match anchor {
        "process" => Anchor::Process,
        "thread" => Anchor::Thread,
        "session" => Anchor::Session,
        "user" => Anchor::User,
        "legacy" => Anchor::Legacy,
        "persistent" => {
            let uid = if name.is_empty() {
                super::name::ids().1
            } else {
                name.parse().map_err(|_| bad("the persistent keyring wants a uid"))?
            };
            Anchor::Persistent(uid)
        }
        other => return Err(bad(&format!("unknown anchor {other} (process, thread, session, user or persistent)"))),
    };
    let name = match anchor {
        Anchor::Persistent(uid) => uid.to_string(),
        _ => name.to_string(),
    };
    let collection = Collection { anchor, name };
    let (cache, collection_only) = match subsidiary {
        Some(s) if !s.is_empty() => (Subsidiary { collection: collection.clone(), name: s.to_string() }, false),
        _ => (collection.primary()?, true),
    };
    Ok(Resolved { cache: CacheName::Keyring(cache), collection: AnyCollection::Keyring(collection), collection_only })
}

fn failed(cache: &dyn fmt::Display, doing: &'static str) -> impl Fn(keyutils::Error) -> Error {
    let cache = cache.to_string();
    move |errno| Error::CacheStore { cache: cache.clone(), doing, detail: errno_name(errno) }
}

/// An errno as its name and meaning (`EACCES: Permission denied`).
fn errno_name(e: keyutils::Error) -> String {
    let name = match e.0 {
        libc::EACCES => "EACCES",
        libc::EPERM => "EPERM",
        libc::ENOKEY => "ENOKEY",
        libc::EKEYEXPIRED => "EKEYEXPIRED",
        libc::EKEYREVOKED => "EKEYREVOKED",
        libc::EDQUOT => "EDQUOT",
        libc::ENOMEM => "ENOMEM",
        libc::EINVAL => "EINVAL",
        libc::ENOSYS => "ENOSYS",
        libc::EOPNOTSUPP => "EOPNOTSUPP",
        _ => return e.to_string(),
    };
    format!("{name}: {e}")
}

/// Whether the kernel said the key is not there (absent, expired or revoked).
fn is_absent(e: keyutils::Error) -> bool {
    matches!(e.0, libc::ENOKEY | libc::EKEYEXPIRED | libc::EKEYREVOKED)
}

impl Collection {
    /// The anchor keyring, and the keyring a found collection is linked into so this process
    /// possesses it (MIT's `possess`).
    fn anchor_keyring(&self) -> Result<(Keyring, Option<Keyring>), Error> {
        let fail = failed(self, "opening the anchor keyring");
        let special = |s| Keyring::attach_or_create(s).map_err(&fail);
        Ok(match self.anchor {
            Anchor::Process => (special(SpecialKeyring::Process)?, None),
            Anchor::Thread => (special(SpecialKeyring::Thread)?, None),
            // Without `create`: a process with no session keyring then gets the user session
            // keyring as MIT's `session_write_anchor` picks it, not a new anonymous one.
            Anchor::Session | Anchor::Legacy => (Keyring::attach(SpecialKeyring::Session).map_err(&fail)?, None),
            Anchor::User => (special(SpecialKeyring::User)?, Some(special(SpecialKeyring::Process)?)),
            Anchor::Persistent(uid) => {
                let mut process = special(SpecialKeyring::Process)?;
                let euid = super::name::ids().1;
                if uid != euid {
                    return Err(Error::CacheStore {
                        cache: self.to_string(),
                        doing: "opening the persistent keyring",
                        detail: format!("it belongs to uid {uid}; keyless opens only its own (uid {euid})"),
                    });
                }
                let persistent = match process.attach_persistent() {
                    Ok(p) => p,
                    // Kernels without persistent keyrings: MIT falls back to the user keyring.
                    Err(e) if e.0 == libc::EOPNOTSUPP || e.0 == libc::ENOSYS => special(SpecialKeyring::User)?,
                    Err(e) => return Err(fail(e)),
                };
                (persistent, Some(process))
            }
        })
    }

    fn keyring_name(&self) -> String {
        match self.anchor {
            Anchor::Persistent(_) => "_krb".into(),
            _ => format!("_krb_{}", self.name),
        }
    }

    /// The collection keyring; made when `create`.
    fn open(&self, create: bool) -> Result<Option<Keyring>, Error> {
        let (mut anchor, mut possess) = self.anchor_keyring()?;
        let name = self.keyring_name();
        match anchor.search_for_keyring(name.as_str(), possess.as_mut()) {
            Ok(k) => return Ok(Some(k)),
            Err(e) if is_absent(e) => {}
            Err(e) => return Err(failed(self, "finding the collection keyring")(e)),
        }
        if !create {
            return Ok(None);
        }
        let made = anchor.add_keyring(name.as_str()).map_err(failed(self, "making the collection keyring"))?;
        if let Some(p) = possess.as_mut() {
            let _ = p.link_keyring(&made);
        }
        Ok(Some(made))
    }

    /// The primary cache: the name in `krb_ccache:primary`, else the collection's name (`tkt`
    /// when that is empty).
    pub fn primary(&self) -> Result<Subsidiary, Error> {
        let default = if self.name.is_empty() { "tkt".to_string() } else { self.name.clone() };
        let named = match self.open(false)? {
            Some(c) => read_primary(&c).map_err(failed(self, "reading the primary cache's name"))?,
            None => None,
        };
        Ok(Subsidiary { collection: self.clone(), name: named.unwrap_or(default) })
    }

    /// The caches that exist, the primary first.
    pub fn caches(&self) -> Result<Vec<Subsidiary>, Error> {
        let Some(c) = self.open(false)? else { return Ok(Vec::new()) };
        let primary = self.primary()?;
        let (_, rings) = c.read().map_err(failed(self, "listing the collection"))?;
        let mut names: Vec<String> = rings
            .iter()
            .filter_map(|r| r.description().ok().map(|d| d.description))
            .filter(|n| *n != primary.name)
            .collect();
        names.sort();
        let mut out = Vec::new();
        if rings.iter().any(|r| r.description().is_ok_and(|d| d.description == primary.name)) {
            out.push(primary);
        }
        out.extend(names.into_iter().map(|name| Subsidiary { collection: self.clone(), name }));
        Ok(out)
    }

    /// Makes `sub` the primary (what `kswitch` does).
    ///
    /// # Errors
    /// [`Error::CacheStore`].
    pub fn switch_to(&self, sub: &Subsidiary) -> Result<(), Error> {
        let fail = failed(self, "setting the primary cache");
        let mut c = self.open(true)?.ok_or_else(|| Error::NoCache(self.to_string()))?;
        let mut payload = Vec::with_capacity(8 + sub.name.len());
        payload.extend_from_slice(&1u32.to_be_bytes());
        payload.extend_from_slice(&(sub.name.len() as u32).to_be_bytes());
        payload.extend_from_slice(sub.name.as_bytes());
        c.add_key::<User, _, _>(PRIMARY, payload.as_slice()).map_err(fail)?;
        Ok(())
    }

    /// A new cache keyring in the collection, `krb_ccache_` and eight random characters.
    ///
    /// # Errors
    /// [`Error::CacheStore`].
    pub fn new_unique(&self, random: &mut dyn crate::RandomSource) -> Result<Subsidiary, Error> {
        let mut c = self.open(true)?.ok_or_else(|| Error::NoCache(self.to_string()))?;
        let (_, rings) = c.read().map_err(failed(self, "listing the collection"))?;
        let taken: Vec<String> = rings.iter().filter_map(|r| r.description().ok().map(|d| d.description)).collect();
        for _ in 0..100 {
            let name = format!("{UNIQUE_PREFIX}{}", super::random_name(random, 8)?);
            if !taken.contains(&name) {
                c.add_keyring(name.as_str()).map_err(failed(self, "making a cache keyring"))?;
                return Ok(Subsidiary { collection: self.clone(), name });
            }
        }
        Err(Error::Config(format!("{self}: no free cache name after 100 tries")))
    }
}

/// The name in a collection's primary key, if it has one.
fn read_primary(collection: &Keyring) -> Result<Option<String>, keyutils::Error> {
    let (keys, _) = collection.read()?;
    for key in keys {
        if key.description().is_ok_and(|d| d.type_ == "user" && d.description == PRIMARY) {
            return Ok(parse_primary(&key.read()?));
        }
    }
    Ok(None)
}

/// The primary key's payload: u32 BE version 1, then the name as u32 BE length and bytes;
/// `None` for any other version or a malformed payload, as MIT then uses the default name.
pub fn parse_primary(payload: &[u8]) -> Option<String> {
    let mut r = Reader::new(payload, "primary cache key");
    let version = r.u32("version").ok()?;
    let name = r.data32("name").ok()?;
    (version == 1 && !name.is_empty()).then(|| String::from_utf8_lossy(name).into_owned())
}

/// What one key of a cache keyring holds.
#[derive(Debug)]
pub enum CacheKey {
    /// `__krb5_princ__`.
    Principal(crate::Principal),
    /// `__krb5_time_offsets__`: seconds and microseconds.
    TimeOffsets(i32, i32),
    /// A credential.
    Credential(Box<Entry>),
}

/// Parses one key of a cache keyring by its description.
///
/// # Errors
/// [`Error::Malformed`] naming the field.
pub fn parse_key(description: &str, payload: &[u8]) -> Result<CacheKey, Error> {
    let mut r = Reader::new(payload, "KEYRING cache key");
    Ok(match description {
        PRINCIPAL => CacheKey::Principal(super::read_principal(&mut r)?),
        TIME_OFFSETS => CacheKey::TimeOffsets(r.i32("seconds")?, r.i32("microseconds")?),
        _ => CacheKey::Credential(Box::new(super::read_entry(&mut r, 0x0504)?)),
    })
}

impl Subsidiary {
    /// The cache keyring; made (with the collection) when `create`.
    fn open(&self, create: bool) -> Result<Option<(Keyring, Keyring)>, Error> {
        let Some(mut collection) = self.collection.open(create)? else { return Ok(None) };
        let (_, rings) = collection.read().map_err(failed(self, "listing the collection"))?;
        if let Some(k) = rings.into_iter().find(|r| r.description().is_ok_and(|d| d.description == self.name)) {
            return Ok(Some((collection, k)));
        }
        if !create {
            return Ok(None);
        }
        let made = collection.add_keyring(self.name.as_str()).map_err(failed(self, "making the cache keyring"))?;
        Ok(Some((collection, made)))
    }

    /// Reads the cache.
    ///
    /// # Errors
    /// [`Error::NoCache`] when there is no such keyring or it holds no principal;
    /// [`Error::CacheStore`], [`Error::Malformed`].
    pub fn read(&self) -> Result<CCache, Error> {
        let Some((_, cache)) = self.open(false)? else { return Err(Error::NoCache(self.to_string())) };
        let (keys, _) = cache.read().map_err(failed(self, "listing the cache"))?;
        let mut principal = None;
        let mut kdc_offset = None;
        let mut entries = Vec::new();
        for key in keys {
            let Ok(d) = key.description() else { continue };
            let payload = match key.read() {
                Ok(p) => zeroize::Zeroizing::new(p),
                Err(e) if is_absent(e) => continue,
                Err(e) => return Err(failed(self, "reading a key")(e)),
            };
            match parse_key(&d.description, &payload)? {
                CacheKey::Principal(p) => principal = Some(p),
                CacheKey::TimeOffsets(s, us) => kdc_offset = Some((s, us)),
                CacheKey::Credential(e) => entries.push(*e),
            }
        }
        let principal = principal.ok_or_else(|| Error::NoCache(self.to_string()))?;
        Ok(CCache { principal, kdc_offset, entries })
    }

    /// Replaces the cache's contents with `cache` (MIT's initialize, then a store of each
    /// entry), making the keyring if needed.
    ///
    /// # Errors
    /// [`Error::CacheStore`].
    pub fn initialize(&self, cache: &CCache, now: i64) -> Result<(), Error> {
        let (_, mut ring) = self.open(true)?.ok_or_else(|| Error::NoCache(self.to_string()))?;
        ring.clear().map_err(failed(self, "clearing the cache"))?;
        if self.is_legacy() {
            // MIT links a legacy cache into the session keyring too, where older tools look.
            let mut session =
                Keyring::attach(SpecialKeyring::Session).map_err(failed(self, "opening the session keyring"))?;
            session.link_keyring(&ring).map_err(failed(self, "linking the cache into the session keyring"))?;
        }
        let mut p = Vec::new();
        super::write_principal(&mut p, &cache.principal)?;
        ring.add_key::<User, _, _>(PRINCIPAL, p.as_slice()).map_err(failed(self, "storing the principal"))?;
        if let Some((s, us)) = cache.kdc_offset {
            let mut t = s.to_be_bytes().to_vec();
            t.extend_from_slice(&us.to_be_bytes());
            ring.add_key::<User, _, _>(TIME_OFFSETS, t.as_slice()).map_err(failed(self, "storing the time offsets"))?;
        }
        for e in &cache.entries {
            self.add_to(&mut ring, e, now)?;
        }
        self.set_lifetime(&mut ring, cache.entries.iter(), now);
        Ok(())
    }

    /// Adds entries (a `store` of each), keeping what is there.
    ///
    /// # Errors
    /// [`Error::NoCache`], [`Error::CacheStore`].
    pub fn store(&self, entries: &[Entry], now: i64) -> Result<(), Error> {
        let (_, mut ring) = self.open(false)?.ok_or_else(|| Error::NoCache(self.to_string()))?;
        for e in entries {
            self.add_to(&mut ring, e, now)?;
        }
        let all = self.read()?;
        self.set_lifetime(&mut ring, all.entries.iter(), now);
        Ok(())
    }

    fn add_to(&self, ring: &mut Keyring, e: &Entry, now: i64) -> Result<(), Error> {
        let mut bytes = zeroize::Zeroizing::new(Vec::new());
        super::write_entry(&mut bytes, e)?;
        let description = e.server.to_string();
        // big_key where the kernel has it (tickets with a PAC outgrow small user keys), as MIT.
        let mut key = match ring.add_key::<BigKey, _, _>(description.as_str(), bytes.as_slice()) {
            Ok(k) => k,
            Err(err) if err.0 == libc::EINVAL || err.0 == libc::ENODEV => ring
                .add_key::<User, _, _>(description.as_str(), bytes.as_slice())
                .map_err(failed(self, "storing a credential"))?,
            Err(err) => return Err(failed(self, "storing a credential")(err)),
        };
        if !e.is_config() && e.end_time != 0 {
            let left = (i64::from(e.end_time) - now).max(1);
            let _ = key.set_timeout(std::time::Duration::from_secs(left as u64));
        }
        Ok(())
    }

    /// The cache keyring lives as long as its longest credential, as MIT sets it.
    fn set_lifetime<'a>(&self, ring: &mut Keyring, entries: impl Iterator<Item = &'a Entry>, now: i64) {
        let end = entries.filter(|e| !e.is_config()).map(|e| i64::from(e.end_time)).max();
        if let Some(end) = end {
            let _ = ring.set_timeout(std::time::Duration::from_secs((end - now).max(1) as u64));
        }
    }

    /// Clears the cache keyring and unlinks it from its collection.
    ///
    /// # Errors
    /// [`Error::NoCache`], [`Error::CacheStore`].
    pub fn destroy(&self) -> Result<(), Error> {
        let (mut collection, mut ring) = self.open(false)?.ok_or_else(|| Error::NoCache(self.to_string()))?;
        ring.clear().map_err(failed(self, "clearing the cache"))?;
        if self.is_legacy()
            && let Ok(mut session) = Keyring::attach(SpecialKeyring::Session)
        {
            let _ = session.unlink_keyring(&ring);
        }
        collection.unlink_keyring(&ring).map_err(failed(self, "removing the cache"))
    }

    /// MIT's `is_legacy_cache_name`: a legacy anchor whose cache is named as its collection.
    fn is_legacy(&self) -> bool {
        self.collection.anchor == Anchor::Legacy && self.name == self.collection.name
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Principal;

    /// The process and thread anchors die with what made them, so only this process can test
    /// them: a cache made, read, listed, made primary and destroyed in each.
    #[test]
    fn process_and_thread_keyrings_hold_a_collection() {
        for anchor in ["process", "thread"] {
            let spec = format!("KEYRING:{anchor}:unit");
            let r = super::super::name::resolve(&spec, std::path::Path::new("/nonexistent")).unwrap();
            assert_eq!(r.cache.to_string(), format!("KEYRING:{anchor}:unit:unit"));
            let mut cache = CCache::new(Principal::parse("alice", Some("EXAMPLE.TEST")).unwrap());
            cache.entries.push(Entry::config(&cache.principal.clone(), "pa_type", None, b"2"));
            r.cache.initialize(&cache, 0).unwrap();
            let back = r.cache.read().unwrap();
            assert_eq!(back.principal.to_string(), "alice@EXAMPLE.TEST");
            assert_eq!(back.entries.len(), 1);
            let second = r.collection.new_unique(&mut crate::random::Counting::default()).unwrap();
            second.initialize(&CCache::new(Principal::parse("bob", Some("EXAMPLE.TEST")).unwrap()), 0).unwrap();
            r.collection.switch_to(&second).unwrap();
            let listed = r.collection.caches().unwrap();
            assert_eq!((listed.len(), &listed[0]), (2, &second), "{anchor}");
            for c in listed {
                c.destroy().unwrap();
            }
            assert!(r.collection.caches().unwrap().is_empty());
        }
    }
}
