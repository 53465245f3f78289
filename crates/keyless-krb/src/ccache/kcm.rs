//! KCM caches: the protocol MIT's `cc_kcm.c` speaks to sssd-kcm (and Heimdal's kcm) over a
//! Unix socket. A request is `u32 BE length | 2 | 0 | u16 BE opcode | parameters`; a reply is
//! `u32 BE length | u32 BE code | u32 BE status | data` (the length counts status and data).
//! Names are NUL-terminated; principals and credentials are in ccache format 4.
//!
//! The daemon keeps one collection per uid (from the socket's peer credentials): `KCM:` means
//! its default cache, any other residual names one cache (sssd names them `UID` and `UID:N`).
//!
//! [`Message`] and [`parse_reply`] are the codec, without I/O; [`Connection`] carries them.

use super::name::{CacheName, Collection as AnyCollection, Resolved};
use super::{CCache, Entry};
use crate::Error;
use crate::reader::Reader;
use std::fmt;
use std::path::{Path, PathBuf};

/// MIT's and sssd's default socket (`[libdefaults] kcm_socket`).
pub const DEFAULT_SOCKET: &str = "/var/run/.heim_org.h5l.kcm-socket";

/// Replies larger than this are refused, as MIT refuses them.
const MAX_REPLY: usize = 10 << 20;

/// KCM opcodes keyless sends (Heimdal's numbering; 13001 and 13002 are MIT's).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u16)]
pub enum Op {
    /// () -> name.
    GenNew = 3,
    /// name, principal -> ().
    Initialize = 4,
    /// name -> ().
    Destroy = 5,
    /// name, credential -> ().
    Store = 6,
    /// name -> principal.
    GetPrincipal = 8,
    /// name -> uuid*.
    GetCredUuidList = 9,
    /// name, uuid -> credential.
    GetCredByUuid = 10,
    /// () -> uuid*.
    GetCacheUuidList = 18,
    /// uuid -> name.
    GetCacheByUuid = 19,
    /// () -> name.
    GetDefaultCache = 20,
    /// name -> ().
    SetDefaultCache = 21,
    /// name -> i32 seconds.
    GetKdcOffset = 22,
    /// name -> u32 count, (u32 length, credential)*.
    GetCredList = 13001,
    /// name, i32 offset, principal, u32 count, (u32 length, credential)* -> ().
    Replace = 13002,
}

/// Kerberos codes a KCM daemon answers with, by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Code(pub i32);

impl Code {
    /// No such cache.
    pub const FCC_NOFILE: Self = Self(-1_765_328_189);
    /// No such credential, or no cache to store into.
    pub const CC_NOTFOUND: Self = Self(-1_765_328_243);
    /// The end of a listing.
    pub const CC_END: Self = Self(-1_765_328_242);
    /// Permission denied.
    pub const FCC_PERM: Self = Self(-1_765_328_190);
    /// Internal error; sssd's answer to an operation it does not implement.
    pub const FCC_INTERNAL: Self = Self(-1_765_328_188);
    /// I/O error, or a message the daemon could not parse.
    pub const CC_IO: Self = Self(-1_765_328_191);
    /// Out of memory.
    pub const CC_NOMEM: Self = Self(-1_765_328_186);
    /// Operation not supported.
    pub const CC_NOSUPP: Self = Self(-1_765_328_137);

    fn name(self) -> Option<&'static str> {
        Some(match self {
            Self::FCC_NOFILE => "KRB5_FCC_NOFILE (no such cache)",
            Self::CC_NOTFOUND => "KRB5_CC_NOTFOUND (not found)",
            Self::CC_END => "KRB5_CC_END (end of the listing)",
            Self::FCC_PERM => "KRB5_FCC_PERM (permission denied)",
            Self::FCC_INTERNAL => "KRB5_FCC_INTERNAL (internal error or unsupported operation)",
            Self::CC_IO => "KRB5_CC_IO (I/O error or malformed request)",
            Self::CC_NOMEM => "KRB5_CC_NOMEM (out of memory)",
            Self::CC_NOSUPP => "KRB5_CC_NOSUPP (operation not supported)",
            _ => return None,
        })
    }

    /// Whether MIT takes this answer to mean "not implemented here" and falls back.
    fn is_unsupported(self) -> bool {
        matches!(self, Self::FCC_INTERNAL | Self::CC_IO | Self::CC_NOSUPP)
    }
}

impl fmt::Display for Code {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Kerberos code {}", self.0),
        }
    }
}

/// One request, encoded.
#[derive(Clone, Debug)]
pub struct Message(Vec<u8>);

impl Message {
    /// A request for `op`, parameters to follow.
    pub fn new(op: Op) -> Self {
        let mut b = vec![0, 0, 0, 0, 2, 0];
        b.extend_from_slice(&(op as u16).to_be_bytes());
        Self(b)
    }

    /// A NUL-terminated name.
    pub fn name(mut self, name: &str) -> Self {
        self.0.extend_from_slice(name.as_bytes());
        self.0.push(0);
        self
    }

    /// Raw parameter bytes.
    pub fn bytes(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }

    /// The bytes to send, length first.
    pub fn finish(mut self) -> Vec<u8> {
        let len = (self.0.len() - 4) as u32;
        self.0[..4].copy_from_slice(&len.to_be_bytes());
        self.0
    }
}

/// A reply's outcome: the data, or the daemon's code.
pub type Reply = Result<Vec<u8>, Code>;

/// Parses a reply after its 4-byte length: `code | status | data`.
///
/// # Errors
/// [`Error::Malformed`] when it is too short.
pub fn parse_reply(after_length: &[u8]) -> Result<Reply, Error> {
    let mut r = Reader::new(after_length, "KCM reply");
    let code = r.i32("code")?;
    if code != 0 {
        return Ok(Err(Code(code)));
    }
    let status = r.i32("status")?;
    if status != 0 {
        return Ok(Err(Code(status)));
    }
    Ok(Ok(r.take(r.remaining(), "data")?.to_vec()))
}

/// GET_CRED_LIST's data: u32 BE count, then each credential as u32 BE length and bytes.
///
/// # Errors
/// [`Error::Malformed`] naming the field.
pub fn parse_cred_list(data: &[u8]) -> Result<Vec<Entry>, Error> {
    let mut r = Reader::new(data, "KCM credential list");
    let count = r.u32("count")?;
    if count as usize > r.remaining() / 4 {
        return Err(Error::Malformed { what: "KCM credential list", detail: format!("{count} credentials") });
    }
    (0..count).map(|_| super::read_entry(&mut Reader::new(r.data32("credential")?, "KCM credential"), 0x0504)).collect()
}

/// GET_PRINCIPAL's data.
///
/// # Errors
/// [`Error::Malformed`] naming the field.
pub fn parse_principal(data: &[u8]) -> Result<crate::Principal, Error> {
    super::read_principal(&mut Reader::new(data, "KCM principal"))
}

/// A connection to the daemon.
pub struct Connection {
    stream: std::os::unix::net::UnixStream,
    cache: String,
}

impl Connection {
    /// Connects to `socket`; `cache` names what errors are about.
    ///
    /// # Errors
    /// [`Error::KcmUnreachable`] when no daemon listens there.
    pub fn open(socket: &Path, cache: &dyn fmt::Display) -> Result<Self, Error> {
        let cache = cache.to_string();
        let stream = std::os::unix::net::UnixStream::connect(socket)
            .map_err(|e| Error::KcmUnreachable { socket: socket.display().to_string(), detail: e.to_string() })?;
        // A daemon that stops reading or answering is a dead one, either way.
        let _ = stream.set_read_timeout(Some(std::time::Duration::from_secs(30)));
        let _ = stream.set_write_timeout(Some(std::time::Duration::from_secs(30)));
        Ok(Self { stream, cache })
    }

    /// Sends one request and reads its reply.
    ///
    /// # Errors
    /// [`Error::CacheStore`] on I/O errors or an oversized reply, [`Error::Malformed`].
    pub fn call(&mut self, m: Message) -> Result<Reply, Error> {
        use std::io::{Read, Write};
        let io = |e: std::io::Error| Error::CacheStore {
            cache: self.cache.clone(),
            doing: "talking to the KCM daemon",
            detail: e.to_string(),
        };
        self.stream.write_all(&m.finish()).map_err(io)?;
        let mut head = [0u8; 8];
        self.stream.read_exact(&mut head).map_err(io)?;
        let len = u32::from_be_bytes([head[0], head[1], head[2], head[3]]) as usize;
        if len > MAX_REPLY {
            return Err(Error::CacheStore {
                cache: self.cache.clone(),
                doing: "reading from the KCM daemon",
                detail: format!("a reply of {len} bytes (at most {MAX_REPLY})"),
            });
        }
        let mut rest = vec![0u8; 4 + len];
        rest[..4].copy_from_slice(&head[4..]);
        self.stream.read_exact(&mut rest[4..]).map_err(io)?;
        parse_reply(&rest)
    }

    /// [`Connection::call`], with a refusal turned into an error saying what was being done.
    fn must(&mut self, m: Message, doing: &'static str) -> Result<Vec<u8>, Error> {
        self.call(m)?.map_err(|code| Error::CacheStore { cache: self.cache.clone(), doing, detail: code.to_string() })
    }
}

/// The KCM collection of this uid, at a socket.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collection {
    /// The daemon's socket.
    pub socket: PathBuf,
}

/// One KCM cache.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subsidiary {
    /// Its collection.
    pub collection: Collection,
    /// Its name at the daemon.
    pub name: String,
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KCM:")
    }
}

impl fmt::Display for Subsidiary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KCM:{}", self.name)
    }
}

/// `KCM:` residuals: empty for the default cache, else a cache's name.
pub(crate) fn resolve(residual: &str, socket: &Path) -> Result<Resolved, Error> {
    let collection = Collection { socket: socket.to_path_buf() };
    let (cache, collection_only) = if residual.is_empty() {
        (collection.primary()?, true)
    } else {
        (Subsidiary { collection: collection.clone(), name: residual.to_string() }, false)
    };
    Ok(Resolved { cache: CacheName::Kcm(cache), collection: AnyCollection::Kcm(collection), collection_only })
}

fn text(bytes: &[u8]) -> String {
    let end = bytes.iter().position(|&b| b == 0).unwrap_or(bytes.len());
    String::from_utf8_lossy(&bytes[..end]).into_owned()
}

impl Collection {
    fn connect(&self) -> Result<Connection, Error> {
        Connection::open(&self.socket, self)
    }

    /// The default cache (GET_DEFAULT_CACHE).
    ///
    /// # Errors
    /// [`Error::CacheStore`].
    pub fn primary(&self) -> Result<Subsidiary, Error> {
        let name = text(&self.connect()?.must(Message::new(Op::GetDefaultCache), "asking for the default cache")?);
        Ok(Subsidiary { collection: self.clone(), name })
    }

    /// The caches that exist, the default first.
    ///
    /// # Errors
    /// [`Error::CacheStore`].
    pub fn caches(&self) -> Result<Vec<Subsidiary>, Error> {
        let mut conn = self.connect()?;
        let uuids = match conn.call(Message::new(Op::GetCacheUuidList))? {
            Ok(list) => list,
            Err(Code::FCC_NOFILE) => return Ok(Vec::new()),
            Err(code) => {
                return Err(Error::CacheStore {
                    cache: self.to_string(),
                    doing: "listing the caches",
                    detail: code.to_string(),
                });
            }
        };
        let primary = self.primary()?;
        let mut out = Vec::new();
        let mut others = Vec::new();
        for uuid in uuids.chunks_exact(16) {
            match conn.call(Message::new(Op::GetCacheByUuid).bytes(uuid))? {
                Ok(name) => {
                    let name = text(&name);
                    if name == primary.name {
                        out.push(Subsidiary { collection: self.clone(), name });
                    } else {
                        others.push(name);
                    }
                }
                Err(Code::CC_END | Code::FCC_NOFILE) => {}
                Err(code) => {
                    return Err(Error::CacheStore {
                        cache: self.to_string(),
                        doing: "listing the caches",
                        detail: code.to_string(),
                    });
                }
            }
        }
        others.sort();
        out.extend(others.into_iter().map(|name| Subsidiary { collection: self.clone(), name }));
        Ok(out)
    }

    /// Makes `sub` the default (SET_DEFAULT_CACHE).
    ///
    /// # Errors
    /// [`Error::CacheStore`].
    pub fn switch_to(&self, sub: &Subsidiary) -> Result<(), Error> {
        self.connect()?.must(Message::new(Op::SetDefaultCache).name(&sub.name), "setting the default cache").map(drop)
    }

    /// A new cache name from the daemon (GEN_NEW).
    ///
    /// # Errors
    /// [`Error::CacheStore`].
    pub fn new_unique(&self) -> Result<Subsidiary, Error> {
        let name = text(&self.connect()?.must(Message::new(Op::GenNew), "making a new cache")?);
        Ok(Subsidiary { collection: self.clone(), name })
    }
}

impl Subsidiary {
    fn connect(&self) -> Result<Connection, Error> {
        Connection::open(&self.collection.socket, self)
    }

    /// Reads the cache: its principal, then its credentials (GET_CRED_LIST, or the UUID
    /// listing where the daemon lacks it).
    ///
    /// # Errors
    /// [`Error::NoCache`], [`Error::CacheStore`], [`Error::Malformed`].
    pub fn read(&self) -> Result<CCache, Error> {
        let mut conn = self.connect()?;
        let principal = match conn.call(Message::new(Op::GetPrincipal).name(&self.name))? {
            Ok(p) => parse_principal(&p)?,
            Err(Code::FCC_NOFILE | Code::CC_NOTFOUND | Code::CC_IO) => return Err(Error::NoCache(self.to_string())),
            Err(code) => {
                return Err(Error::CacheStore {
                    cache: self.to_string(),
                    doing: "reading the principal",
                    detail: code.to_string(),
                });
            }
        };
        let kdc_offset = match conn.call(Message::new(Op::GetKdcOffset).name(&self.name))? {
            Ok(b) if b.len() >= 4 => Some((i32::from_be_bytes([b[0], b[1], b[2], b[3]]), 0)).filter(|o| o.0 != 0),
            _ => None,
        };
        let entries = match conn.call(Message::new(Op::GetCredList).name(&self.name))? {
            Ok(list) => parse_cred_list(&list)?,
            Err(code) if code.is_unsupported() => self.read_by_uuid(&mut self.connect()?)?,
            Err(code) => {
                return Err(Error::CacheStore {
                    cache: self.to_string(),
                    doing: "reading the credentials",
                    detail: code.to_string(),
                });
            }
        };
        Ok(CCache { principal, kdc_offset, entries })
    }

    fn read_by_uuid(&self, conn: &mut Connection) -> Result<Vec<Entry>, Error> {
        let uuids = conn.must(Message::new(Op::GetCredUuidList).name(&self.name), "listing the credentials")?;
        let mut entries = Vec::new();
        for uuid in uuids.chunks_exact(16) {
            match conn.call(Message::new(Op::GetCredByUuid).name(&self.name).bytes(uuid))? {
                Ok(cred) => entries.push(super::read_entry(&mut Reader::new(&cred, "KCM credential"), 0x0504)?),
                Err(Code::CC_END) => {}
                Err(code) => {
                    return Err(Error::CacheStore {
                        cache: self.to_string(),
                        doing: "reading a credential",
                        detail: code.to_string(),
                    });
                }
            }
        }
        Ok(entries)
    }

    /// Replaces the cache's contents: REPLACE in one step where the daemon has it (MIT's
    /// atomic write), else INITIALIZE and a STORE of each entry, as MIT falls back.
    ///
    /// # Errors
    /// [`Error::CacheStore`].
    pub fn initialize(&self, cache: &CCache) -> Result<(), Error> {
        let mut conn = self.connect()?;
        let mut principal = Vec::new();
        super::write_principal(&mut principal, &cache.principal)?;
        let mut creds = zeroize::Zeroizing::new(Vec::new());
        creds.extend_from_slice(&(cache.entries.len() as u32).to_be_bytes());
        for e in &cache.entries {
            let mut one = zeroize::Zeroizing::new(Vec::new());
            super::write_entry(&mut one, e)?;
            crate::reader::put_data32(&mut creds, &one, "credential")?;
        }
        let offset = cache.kdc_offset.map_or(0, |(s, _)| s);
        let replace =
            Message::new(Op::Replace).name(&self.name).bytes(&offset.to_be_bytes()).bytes(&principal).bytes(&creds);
        match conn.call(replace)? {
            Ok(_) => return Ok(()),
            Err(code) if code.is_unsupported() => {}
            Err(code) => {
                return Err(Error::CacheStore {
                    cache: self.to_string(),
                    doing: "replacing the cache",
                    detail: code.to_string(),
                });
            }
        }
        let mut conn = self.connect()?;
        conn.must(Message::new(Op::Initialize).name(&self.name).bytes(&principal), "initializing the cache")?;
        self.store_on(&mut conn, &cache.entries)
    }

    /// Adds entries (STORE each).
    ///
    /// # Errors
    /// [`Error::CacheStore`].
    pub fn store(&self, entries: &[Entry]) -> Result<(), Error> {
        self.store_on(&mut self.connect()?, entries)
    }

    fn store_on(&self, conn: &mut Connection, entries: &[Entry]) -> Result<(), Error> {
        for e in entries {
            let mut one = zeroize::Zeroizing::new(Vec::new());
            super::write_entry(&mut one, e)?;
            conn.must(Message::new(Op::Store).name(&self.name).bytes(&one), "storing a credential")?;
        }
        Ok(())
    }

    /// Destroys the cache (DESTROY).
    ///
    /// # Errors
    /// [`Error::NoCache`], [`Error::CacheStore`].
    pub fn destroy(&self) -> Result<(), Error> {
        match self.connect()?.call(Message::new(Op::Destroy).name(&self.name))? {
            Ok(_) => Ok(()),
            Err(Code::FCC_NOFILE) => Err(Error::NoCache(self.to_string())),
            Err(code) => Err(Error::CacheStore {
                cache: self.to_string(),
                doing: "destroying the cache",
                detail: code.to_string(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_carry_length_version_and_opcode() {
        let m = Message::new(Op::GetPrincipal).name("0:1").finish();
        assert_eq!(m, [0, 0, 0, 8, 2, 0, 0, 8, b'0', b':', b'1', 0]);
    }

    #[test]
    fn replies_give_data_or_the_code_by_name() {
        assert_eq!(parse_reply(&[0, 0, 0, 0, 0, 0, 0, 0, b'x']).unwrap(), Ok(b"x".to_vec()));
        let nofile = Code::FCC_NOFILE.0.to_be_bytes();
        let r = parse_reply(&[&[0u8, 0, 0, 0][..], &nofile].concat()).unwrap();
        assert_eq!(r, Err(Code::FCC_NOFILE));
        assert!(Code::FCC_NOFILE.to_string().starts_with("KRB5_FCC_NOFILE"));
        assert!(parse_reply(&[0, 0]).is_err());
    }
}
