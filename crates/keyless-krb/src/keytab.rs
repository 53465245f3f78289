//! MIT keytab files, format 0x0502 (MIT krb5 `doc/formats/keytab_file_format.rst` and
//! `kt_file.c`): records behind signed 32-bit lengths (negative: a hole), principals with
//! 16-bit counted strings, an 8-bit kvno with the optional 32-bit kvno extension.

use crate::Error;
use crate::principal::{NameType, Principal};
use crate::reader::{Reader, put_data16, text};
use keyless_crypto::{EncType, Key};

use zeroize::Zeroizing;

/// One key of a principal.
#[derive(Clone)]
pub struct KeytabEntry {
    /// The principal.
    pub principal: Principal,
    /// When the key was written (seconds since the epoch).
    pub timestamp: u32,
    /// Key version number.
    pub kvno: u32,
    /// Enctype number.
    pub enctype: i32,
    /// Key bytes.
    pub key: Zeroizing<Vec<u8>>,
}

impl std::fmt::Debug for KeytabEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeytabEntry")
            .field("principal", &self.principal)
            .field("kvno", &self.kvno)
            .field("enctype", &EncType(self.enctype))
            .finish_non_exhaustive()
    }
}

/// A keytab.
#[derive(Clone, Debug, Default)]
pub struct Keytab {
    /// Entries in file order.
    pub entries: Vec<KeytabEntry>,
}

impl Keytab {
    /// Parses a version 0x0502 keytab.
    ///
    /// # Errors
    /// [`Error::Malformed`] naming the field that broke.
    pub fn parse(bytes: &[u8]) -> Result<Self, Error> {
        let mut r = Reader::new(bytes, "keytab");
        let version = r.u16("file format version")?;
        if version != 0x0502 {
            return Err(Error::Malformed {
                what: "keytab",
                detail: format!("file format version {version:#06x} (keyless reads 0x0502)"),
            });
        }
        let mut entries = Vec::new();
        while r.remaining() >= 4 {
            let size = r.i32("record length")?;
            if size == 0 {
                break;
            }
            let record = r.take(size.unsigned_abs() as usize, "record")?;
            if size > 0 {
                entries.push(read_entry(record)?);
            }
        }
        Ok(Self { entries })
    }

    /// Serializes as version 0x0502, with the 32-bit kvno extension.
    ///
    /// # Errors
    /// A field too long for the format.
    pub fn to_bytes(&self) -> Result<Vec<u8>, Error> {
        let mut out = 0x0502u16.to_be_bytes().to_vec();
        for e in &self.entries {
            let record = write_entry(e)?;
            let size = i32::try_from(record.len())
                .map_err(|_| Error::Malformed { what: "keytab", detail: "record too long".into() })?;
            out.extend_from_slice(&size.to_be_bytes());
            out.extend_from_slice(&record);
        }
        Ok(out)
    }

    /// The keys of `principal` at its highest kvno, one per supported enctype.
    pub fn keys_for(&self, principal: &Principal) -> Vec<Key> {
        let mine: Vec<&KeytabEntry> = self.entries.iter().filter(|e| e.principal.same_name(principal)).collect();
        let Some(kvno) = mine.iter().map(|e| e.kvno).max() else { return Vec::new() };
        mine.iter()
            .filter(|e| e.kvno == kvno)
            .filter_map(|e| Key::from_bytes(EncType(e.enctype), &e.key).ok())
            .collect()
    }
}

fn read_entry(record: &[u8]) -> Result<KeytabEntry, Error> {
    let mut r = Reader::new(record, "keytab entry");
    let count = r.u16("principal component count")?;
    let realm = text(r.data16("principal realm")?);
    let components = (0..count).map(|_| r.data16("principal component").map(text)).collect::<Result<_, _>>()?;
    let name_type = NameType(r.i32("principal name type")?);
    let timestamp = r.u32("timestamp")?;
    let kvno8 = r.u8("key version")?;
    let enctype = i32::from(r.u16("enctype")? as i16);
    let key = Zeroizing::new(r.data16("key")?.to_vec());
    // The optional 32-bit kvno, when present and non-zero, supersedes the 8-bit one.
    let kvno = match r.remaining() {
        n if n >= 4 => Some(r.u32("32-bit key version")?).filter(|&v| v != 0).unwrap_or(u32::from(kvno8)),
        _ => u32::from(kvno8),
    };
    Ok(KeytabEntry { principal: Principal { realm, name_type, components }, timestamp, kvno, enctype, key })
}

fn write_entry(e: &KeytabEntry) -> Result<Vec<u8>, Error> {
    let mut out = Vec::with_capacity(64 + e.key.len());
    let count = u16::try_from(e.principal.components.len())
        .map_err(|_| Error::Malformed { what: "keytab", detail: "too many components".into() })?;
    out.extend_from_slice(&count.to_be_bytes());
    put_data16(&mut out, e.principal.realm.as_bytes(), "realm")?;
    for c in &e.principal.components {
        put_data16(&mut out, c.as_bytes(), "principal component")?;
    }
    out.extend_from_slice(&e.principal.name_type.0.to_be_bytes());
    out.extend_from_slice(&e.timestamp.to_be_bytes());
    out.push(u8::try_from(e.kvno).unwrap_or(0)); // kvno > 255 lives in the extension only
    out.extend_from_slice(&(e.enctype as i16).to_be_bytes());
    put_data16(&mut out, &e.key, "key")?;
    out.extend_from_slice(&e.kvno.to_be_bytes());
    Ok(out)
}
