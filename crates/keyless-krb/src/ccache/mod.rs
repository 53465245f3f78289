//! MIT credential caches. The format is that of FILE caches, version 4 (read: 3 and 4), as
//! documented in MIT krb5 `doc/formats/ccache_file_format.rst`; KEYRING keys and KCM messages
//! carry principals and credentials in the same encoding. Entries are kept losslessly
//! (including configuration entries and enctypes keyless cannot use), so rewriting a cache
//! keeps what other tools put there. Files are written 0600, through a temporary file and a
//! rename.
//!
//! Where caches live: [`name`] (naming and collections), [`store`] (reading and writing any
//! type), and one module per type that is more than a file: [`dir`], [`keyring`], [`kcm`].

pub mod dir;
pub mod kcm;
pub mod keyring;
pub mod name;
pub mod store;

pub use name::{CacheName, Collection, Resolved};

use crate::Error;
use crate::credential::Credential;
use crate::principal::{NameType, Principal};
use crate::reader::{Reader, put_data32, text};
use keyless_crypto::{EncType, Key};

use zeroize::Zeroizing;

/// The realm of configuration entries.
pub const CONFIG_REALM: &str = "X-CACHECONF:";

/// One credential as stored, whatever its enctype.
#[derive(Clone)]
pub struct Entry {
    /// Client principal.
    pub client: Principal,
    /// Server principal (realm `X-CACHECONF:` for configuration entries).
    pub server: Principal,
    /// Key enctype number.
    pub keytype: i32,
    /// Key bytes.
    pub key: Zeroizing<Vec<u8>>,
    /// Times (seconds since the epoch, unsigned 32-bit in the file).
    pub auth_time: u32,
    /// Start time.
    pub start_time: u32,
    /// End time.
    pub end_time: u32,
    /// Renew-till.
    pub renew_till: u32,
    /// Whether the ticket is encrypted in a session key (user-to-user).
    pub is_skey: bool,
    /// Ticket flags.
    pub flags: u32,
    /// Addresses (type, bytes).
    pub addresses: Vec<(u16, Vec<u8>)>,
    /// Authorization data (type, bytes).
    pub authdata: Vec<(u16, Vec<u8>)>,
    /// The ticket (or a configuration value).
    pub ticket: Vec<u8>,
    /// The second ticket (user-to-user).
    pub second_ticket: Vec<u8>,
}

/// Names and times only: the key and the tickets stay out of logs.
impl std::fmt::Debug for Entry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Entry")
            .field("client", &self.client.to_string())
            .field("server", &self.server.to_string())
            .field("keytype", &self.keytype)
            .field("end_time", &self.end_time)
            .finish_non_exhaustive()
    }
}

impl Entry {
    /// Whether this is a configuration entry, not a ticket.
    pub fn is_config(&self) -> bool {
        self.server.realm == CONFIG_REALM
    }

    /// A usable credential, if the enctype is one keyless implements.
    pub fn credential(&self) -> Option<Credential> {
        if self.is_config() {
            return None;
        }
        let session_key = Key::from_bytes(EncType(self.keytype), &self.key).ok()?;
        Some(Credential {
            client: self.client.clone(),
            server: self.server.clone(),
            session_key,
            auth_time: i64::from(self.auth_time),
            start_time: i64::from(self.start_time),
            end_time: i64::from(self.end_time),
            renew_till: i64::from(self.renew_till),
            flags: self.flags,
            ticket: self.ticket.clone(),
        })
    }

    /// The stored form of a credential.
    pub fn from_credential(c: &Credential) -> Self {
        let t = |s: i64| u32::try_from(s.max(0)).unwrap_or(u32::MAX);
        Self {
            client: c.client.clone(),
            server: c.server.clone(),
            keytype: c.session_key.etype().0,
            key: c.session_key.expose_zeroizing(),
            auth_time: t(c.auth_time),
            start_time: t(c.start_time),
            end_time: t(c.end_time),
            renew_till: t(c.renew_till),
            is_skey: false,
            flags: c.flags,
            addresses: Vec::new(),
            authdata: Vec::new(),
            ticket: c.ticket.clone(),
            second_ticket: Vec::new(),
        }
    }

    /// A configuration entry `krb5_ccache_conf_data/<key>[/<principal>]@X-CACHECONF:`.
    pub fn config(client: &Principal, key: &str, principal: Option<&Principal>, value: &[u8]) -> Self {
        let mut components = vec!["krb5_ccache_conf_data".to_string(), key.to_string()];
        if let Some(p) = principal {
            components.push(p.to_string());
        }
        Self {
            client: client.clone(),
            server: Principal { realm: CONFIG_REALM.into(), name_type: NameType::UNKNOWN, components },
            keytype: 0,
            key: Zeroizing::new(Vec::new()),
            auth_time: 0,
            start_time: 0,
            end_time: 0,
            renew_till: 0,
            is_skey: false,
            flags: 0,
            addresses: Vec::new(),
            authdata: Vec::new(),
            ticket: value.to_vec(),
            second_ticket: Vec::new(),
        }
    }
}

/// A whole credential cache.
#[derive(Clone, Debug)]
pub struct CCache {
    /// The default (client) principal.
    pub principal: Principal,
    /// KDC time offset (seconds, microseconds) from the version 4 header, if present.
    pub kdc_offset: Option<(i32, i32)>,
    /// Entries in file order.
    pub entries: Vec<Entry>,
}

impl CCache {
    /// An empty cache for `principal`.
    pub fn new(principal: Principal) -> Self {
        Self { principal, kdc_offset: None, entries: Vec::new() }
    }

    /// Parses a FILE ccache (versions 3 and 4).
    ///
    /// # Errors
    /// [`Error::Malformed`] naming the field that broke.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes, "credential cache");
        let version = r.u16("file format version")?;
        if version != 0x0504 && version != 0x0503 {
            return Err(Error::Malformed {
                what: "credential cache",
                detail: format!("file format version {version:#06x} (keyless reads 0x0503 and 0x0504)"),
            });
        }
        let mut kdc_offset = None;
        if version == 0x0504 {
            let header = r.data16("header length")?;
            let mut h = Reader::new(header, "credential cache header");
            while !h.is_empty() {
                let tag = h.u16("header tag")?;
                let value = h.data16("header field")?;
                if tag == 1 && value.len() == 8 {
                    let mut v = Reader::new(value, "KDC time offset");
                    kdc_offset = Some((v.i32("seconds")?, v.i32("microseconds")?));
                }
            }
        }
        let principal = read_principal(&mut r)?;
        let mut entries = Vec::new();
        while !r.is_empty() {
            entries.push(read_entry(&mut r, version)?);
        }
        Ok(Self { principal, kdc_offset, entries })
    }

    /// Serializes as format version 4.
    ///
    /// # Errors
    /// A field too long for the format.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = Vec::with_capacity(256 + self.entries.iter().map(|e| e.ticket.len() + 128).sum::<usize>());
        out.extend_from_slice(&0x0504u16.to_be_bytes());
        match self.kdc_offset {
            Some((s, us)) => {
                out.extend_from_slice(&12u16.to_be_bytes());
                out.extend_from_slice(&1u16.to_be_bytes());
                out.extend_from_slice(&8u16.to_be_bytes());
                out.extend_from_slice(&s.to_be_bytes());
                out.extend_from_slice(&us.to_be_bytes());
            }
            None => out.extend_from_slice(&0u16.to_be_bytes()),
        }
        write_principal(&mut out, &self.principal)?;
        for e in &self.entries {
            write_entry(&mut out, e)?;
        }
        Ok(out)
    }

    /// Usable credentials (not configuration entries, known enctypes).
    pub fn credentials(&self) -> impl Iterator<Item = Credential> + '_ {
        self.entries.iter().filter_map(Entry::credential)
    }

    /// The newest valid credential for `server` at `now`.
    pub fn find(&self, server: &Principal, now: i64) -> Option<Credential> {
        self.credentials().filter(|c| c.server.same_name(server) && c.is_valid_at(now, 0)).max_by_key(|c| c.end_time)
    }

    /// The newest valid TGT for `realm` (issued by any realm) at `now`.
    pub fn find_tgt(&self, realm: &str, now: i64) -> Option<Credential> {
        self.credentials().filter(|c| c.is_tgt_for(realm) && c.is_valid_at(now, 0)).max_by_key(|c| c.end_time)
    }

    /// Adds a credential, replacing older ones for the same server.
    pub fn store(&mut self, c: &Credential) {
        self.entries.retain(|e| e.is_config() || !e.server.same_name(&c.server));
        self.entries.push(Entry::from_credential(c));
    }
}

/// `n` random letters and digits, for new cache names (MIT's `krb5int_random_string`).
pub(crate) fn random_name(random: &mut dyn crate::RandomSource, n: usize) -> Result<String, Error> {
    const CHARS: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
    let mut bytes = vec![0u8; n];
    random.fill(&mut bytes)?;
    Ok(bytes.iter().map(|b| CHARS[usize::from(*b) % CHARS.len()] as char).collect())
}

fn read_principal(r: &mut Reader<'_>) -> Result<Principal, Error> {
    let name_type = NameType(r.i32("principal name type")?);
    let count = r.u32("principal component count")?;
    if count as usize > r.remaining() / 4 {
        return Err(Error::Malformed {
            what: "credential cache",
            detail: format!("principal with {count} components"),
        });
    }
    let realm = text(r.data32("principal realm")?);
    let components = (0..count).map(|_| r.data32("principal component").map(text)).collect::<Result<_, _>>()?;
    Ok(Principal { realm, name_type, components })
}

fn write_principal(out: &mut Vec<u8>, p: &Principal) -> Result<(), Error> {
    out.extend_from_slice(&p.name_type.0.to_be_bytes());
    let count = u32::try_from(p.components.len()).unwrap_or(u32::MAX);
    out.extend_from_slice(&count.to_be_bytes());
    put_data32(out, p.realm.as_bytes(), "principal realm")?;
    for c in &p.components {
        put_data32(out, c.as_bytes(), "principal component")?;
    }
    Ok(())
}

fn read_list(r: &mut Reader<'_>, what: &'static str) -> Result<Vec<(u16, Vec<u8>)>, Error> {
    let count = r.u32(what)?;
    if count as usize > r.remaining() / 6 {
        return Err(Error::Malformed { what: "credential cache", detail: format!("{what}: {count} items") });
    }
    (0..count).map(|_| Ok((r.u16(what)?, r.data32(what)?.to_vec()))).collect()
}

fn write_list(out: &mut Vec<u8>, items: &[(u16, Vec<u8>)], what: &'static str) -> Result<(), Error> {
    out.extend_from_slice(&u32::try_from(items.len()).unwrap_or(u32::MAX).to_be_bytes());
    for (t, data) in items {
        out.extend_from_slice(&t.to_be_bytes());
        put_data32(out, data, what)?;
    }
    Ok(())
}

fn read_entry(r: &mut Reader<'_>, version: u16) -> Result<Entry, Error> {
    let client = read_principal(r)?;
    let server = read_principal(r)?;
    let keytype = i32::from(r.u16("key enctype")?);
    if version == 0x0503 {
        r.u16("key enctype (repeated in version 3)")?;
    }
    let key = Zeroizing::new(r.data32("key")?.to_vec());
    Ok(Entry {
        client,
        server,
        keytype,
        key,
        auth_time: r.u32("authtime")?,
        start_time: r.u32("starttime")?,
        end_time: r.u32("endtime")?,
        renew_till: r.u32("renew_till")?,
        is_skey: r.u8("is_skey")? != 0,
        flags: r.u32("ticket flags")?,
        addresses: read_list(r, "addresses")?,
        authdata: read_list(r, "authdata")?,
        ticket: r.data32("ticket")?.to_vec(),
        second_ticket: r.data32("second ticket")?.to_vec(),
    })
}

fn write_entry(out: &mut Vec<u8>, e: &Entry) -> Result<(), Error> {
    write_principal(out, &e.client)?;
    write_principal(out, &e.server)?;
    // Enctypes are 16-bit in the file; negative (vendor) numbers keep their low bits.
    out.extend_from_slice(&(e.keytype as u16).to_be_bytes());
    put_data32(out, &e.key, "key")?;
    for t in [e.auth_time, e.start_time, e.end_time, e.renew_till] {
        out.extend_from_slice(&t.to_be_bytes());
    }
    out.push(u8::from(e.is_skey));
    out.extend_from_slice(&e.flags.to_be_bytes());
    write_list(out, &e.addresses, "addresses")?;
    write_list(out, &e.authdata, "authdata")?;
    put_data32(out, &e.ticket, "ticket")?;
    put_data32(out, &e.second_ticket, "second ticket")
}
