//! MS-DFSC referral messages, carried in FSCTL_DFS_GET_REFERRALS(_EX) IOCTLs: the requests
//! (2.2.2, 2.2.3) and the response (2.2.4) with its entries of versions 1 to 4 (2.2.5). Strings
//! are UTF-16LE and null-terminated; an entry's offsets count from the start of that entry and
//! may point past it, into the string buffer after the last entry, but never out of the
//! response.

use crate::WireError;
use crate::body::{get, need, put, put_utf16, utf16, zeroed};

/// ReferralHeaderFlags (2.2.4).
pub mod header_flags {
    /// R: the targets are DFS root targets that answer referral requests.
    pub const REFERRAL_SERVERS: u32 = 0x0000_0001;
    /// S: the targets hold the data (link or root targets that are storage).
    pub const STORAGE_SERVERS: u32 = 0x0000_0002;
    /// T: fail back to the first target when it answers again.
    pub const TARGET_FAILBACK: u32 = 0x0000_0004;
}

/// ReferralEntryFlags (2.2.5.3, 2.2.5.4).
pub mod entry_flags {
    /// A domain or DC referral: the entry holds names, not a target.
    pub const NAME_LIST_REFERRAL: u16 = 0x0002;
    /// Version 4: this target starts a new set of targets of equal cost.
    pub const TARGET_SET_BOUNDARY: u16 = 0x0004;
}

/// ServerType (2.2.5.2): the entry's target is a root target.
pub const SERVER_TYPE_ROOT: u16 = 0x0001;

/// REQ_GET_DFS_REFERRAL (2.2.2) and REQ_GET_DFS_REFERRAL_EX (2.2.3) fields, from the input's
/// start: the plain form's name follows MaxReferralLevel, the EX form's RequestData its length.
mod request {
    use crate::body::Field;
    pub const MAX_LEVEL: Field = 0..2;
    pub const EX_FIXED: usize = 8;
    pub const EX_FLAGS: Field = 2..4;
    pub const EX_DATA_LENGTH: Field = 4..8;
}

/// RESP_GET_DFS_REFERRAL fields (2.2.4); the entries follow.
mod response {
    use crate::body::Field;
    pub const FIXED: usize = 8;
    pub const PATH_CONSUMED: Field = 0..2;
    pub const NUMBER_OF_REFERRALS: Field = 2..4;
    pub const FLAGS: Field = 4..8;
}

/// DFS_REFERRAL_V1..V4 fields (2.2.5), from the entry's start: the common head, then each
/// version's own; string offsets count from the entry's start.
mod entry {
    use crate::body::Field;
    pub const HEAD: usize = 8;
    pub const VERSION: Field = 0..2;
    pub const SIZE: Field = 2..4;
    pub const SERVER_TYPE: Field = 4..6;
    pub const FLAGS: Field = 6..8;
    /// Version 1: ShareName follows the head.
    pub const V1_SHARE_NAME_AT: usize = 8;
    /// Version 2 (Proximity 8..12 stays zero).
    pub const V2_TTL: Field = 12..16;
    pub const V2_DFS_PATH: Field = 16..18;
    pub const V2_ALTERNATE_PATH: Field = 18..20;
    pub const V2_NETWORK_ADDRESS: Field = 20..22;
    /// Versions 3 and 4 (ServiceSiteGuid 18..34 stays zero).
    pub const TTL: Field = 8..12;
    pub const DFS_PATH: Field = 12..14;
    pub const ALTERNATE_PATH: Field = 14..16;
    pub const NETWORK_ADDRESS: Field = 16..18;
    /// Versions 3 and 4 with NAME_LIST_REFERRAL (TTL as above).
    pub const SPECIAL_NAME: Field = 12..14;
    pub const NUMBER_OF_EXPANDED_NAMES: Field = 14..16;
    pub const EXPANDED_NAME: Field = 16..18;
}

/// REQ_GET_DFS_REFERRAL (2.2.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralRequest {
    /// MaxReferralLevel: the highest entry version the client reads (1 to 4).
    pub max_level: u16,
    /// RequestFileName: `\server\share[\path]`, or `\domain` or empty for domain referrals.
    pub path: String,
}

impl ReferralRequest {
    /// The IOCTL input.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + 2 * self.path.len());
        put(zeroed(&mut out, request::MAX_LEVEL.end), request::MAX_LEVEL, self.max_level);
        put_utf16(&mut out, &self.path);
        out.extend_from_slice(&[0, 0]);
        out
    }

    /// Decodes an IOCTL input.
    ///
    /// # Errors
    /// A [`WireError`] for a short input, a name without its terminator or not UTF-16.
    pub fn parse(b: &[u8]) -> Result<Self, WireError> {
        need(b, 4, "REQ_GET_DFS_REFERRAL")?;
        let name = &b[request::MAX_LEVEL.end..];
        Ok(Self { max_level: get(b, request::MAX_LEVEL), path: terminated(name, "RequestFileName")?.0 })
    }
}

/// REQ_GET_DFS_REFERRAL_EX (2.2.3): the request with an optional site name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralRequestEx {
    /// MaxReferralLevel.
    pub max_level: u16,
    /// RequestFileName.
    pub path: String,
    /// SiteName, when the client names its site.
    pub site: Option<String>,
}

impl ReferralRequestEx {
    /// The IOCTL input.
    ///
    /// # Errors
    /// [`WireError::BadValue`] for a name over 65535 bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        let mut data = Vec::new();
        put_counted(&mut data, &self.path, "RequestFileNameLength")?;
        if let Some(site) = &self.site {
            put_counted(&mut data, site, "SiteNameLength")?;
        }
        let len = u32::try_from(data.len()).map_err(|_| WireError::BadValue { field: "RequestDataLength" })?;
        let mut out = Vec::with_capacity(request::EX_FIXED + data.len());
        let head = zeroed(&mut out, request::EX_FIXED);
        put(head, request::MAX_LEVEL, self.max_level);
        put(head, request::EX_FLAGS, u16::from(self.site.is_some()));
        put(head, request::EX_DATA_LENGTH, len);
        out.extend_from_slice(&data);
        Ok(out)
    }

    /// Decodes an IOCTL input.
    ///
    /// # Errors
    /// A [`WireError`] for lengths that leave the input or names that are not UTF-16.
    pub fn parse(b: &[u8]) -> Result<Self, WireError> {
        need(b, request::EX_FIXED, "REQ_GET_DFS_REFERRAL_EX")?;
        let flags: u16 = get(b, request::EX_FLAGS);
        let data = b
            .get(request::EX_FIXED..)
            .and_then(|d| d.get(..get::<u32>(b, request::EX_DATA_LENGTH) as usize))
            .ok_or(WireError::OutOfBounds { field: "RequestDataLength" })?;
        let (path, rest) = counted(data, "RequestFileName")?;
        let site = if flags & 1 != 0 { Some(counted(rest, "SiteName")?.0) } else { None };
        Ok(Self { max_level: get(b, request::MAX_LEVEL), path, site })
    }
}

fn put_counted(out: &mut Vec<u8>, s: &str, field: &'static str) -> Result<(), WireError> {
    let len = u16::try_from(s.encode_utf16().count() * 2).map_err(|_| WireError::BadValue { field })?;
    out.extend_from_slice(&len.to_le_bytes());
    put_utf16(out, s);
    Ok(())
}

/// A 16-bit byte count, then that many bytes of UTF-16.
fn counted<'a>(b: &'a [u8], field: &'static str) -> Result<(String, &'a [u8]), WireError> {
    need(b, 2, field)?;
    let len = usize::from(get::<u16>(b, 0..2));
    let raw = b.get(2..2 + len).ok_or(WireError::OutOfBounds { field })?;
    Ok((utf16(raw, field)?, &b[2 + len..]))
}

/// A null-terminated UTF-16 string at the start of `b`, and the bytes it took (terminator
/// included).
fn terminated(b: &[u8], field: &'static str) -> Result<(String, usize), WireError> {
    let end = b.chunks_exact(2).position(|c| c == [0, 0]).ok_or(WireError::BadValue { field })?;
    Ok((utf16(&b[..2 * end], field)?, 2 * end + 2))
}

/// What an entry names.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// A root or link target (versions 2 to 4; version 1 carries the address only).
    Path {
        /// DFSPath: the root or link this entry answers for (`\server\share\link`).
        dfs_path: String,
        /// DFSAlternatePath: the same in its other (8.3 or NetBIOS) form.
        alternate_path: String,
        /// NetworkAddress: the target, `\server\share[\path]`.
        address: String,
    },
    /// A domain referral (the names of domains) or a DC referral (a domain's DCs), version 3.
    NameList {
        /// SpecialName: the domain.
        special_name: String,
        /// The expanded names: its DCs (none in a domain referral).
        expanded: Vec<String>,
    },
}

/// One DFS_REFERRAL_V1..V4 entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Referral {
    /// VersionNumber, 1 to 4.
    pub version: u16,
    /// ServerType: [`SERVER_TYPE_ROOT`] or 0 (a link target).
    pub server_type: u16,
    /// ReferralEntryFlags ([`entry_flags`]).
    pub flags: u16,
    /// TimeToLive in seconds (0 in version 1, which has none).
    pub ttl: u32,
    /// What it names.
    pub target: Target,
}

/// RESP_GET_DFS_REFERRAL (2.2.4).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReferralResponse {
    /// PathConsumed: bytes of the request path (UTF-16) that the referral answers for.
    pub path_consumed: u16,
    /// ReferralHeaderFlags ([`header_flags`]).
    pub flags: u32,
    /// The entries, in the server's order of preference.
    pub entries: Vec<Referral>,
}

/// Fixed sizes of an entry, by version (2.2.5.1 to 2.2.5.4; a name list's is 18).
fn fixed_size(version: u16, flags: u16) -> Option<usize> {
    match version {
        1 => Some(8),
        2 => Some(22),
        3 | 4 if flags & entry_flags::NAME_LIST_REFERRAL != 0 => Some(18),
        3 | 4 => Some(34),
        _ => None,
    }
}

impl ReferralResponse {
    /// Decodes an IOCTL output.
    ///
    /// # Errors
    /// A [`WireError`] naming the field: a count the entries do not fill, an entry of an
    /// unknown version or whose Size is below its fixed part, an offset out of the response,
    /// a string without its terminator.
    pub fn parse(b: &[u8]) -> Result<Self, WireError> {
        need(b, response::FIXED, "RESP_GET_DFS_REFERRAL")?;
        let count = usize::from(get::<u16>(b, response::NUMBER_OF_REFERRALS));
        let mut entries = Vec::with_capacity(count.min(b.len() / entry::HEAD));
        let mut at = response::FIXED;
        for _ in 0..count {
            let e = b.get(at..).ok_or(WireError::OutOfBounds { field: "NumberOfReferrals" })?;
            need(e, entry::HEAD, "DFS_REFERRAL entry")?;
            let (version, flags): (u16, u16) = (get(e, entry::VERSION), get(e, entry::FLAGS));
            let size = usize::from(get::<u16>(e, entry::SIZE));
            let fixed =
                fixed_size(version, flags).ok_or(WireError::BadValue { field: "DFS_REFERRAL VersionNumber" })?;
            if size < fixed {
                return Err(WireError::BadValue { field: "DFS_REFERRAL Size" });
            }
            need(e, size, "DFS_REFERRAL entry")?;
            let offset_at = |f| get::<u16>(e, f);
            let string = |offset: u16, field: &'static str| -> Result<String, WireError> {
                let from = e.get(usize::from(offset)..).ok_or(WireError::OutOfBounds { field })?;
                if usize::from(offset) < fixed {
                    return Err(WireError::OutOfBounds { field });
                }
                Ok(terminated(from, field)?.0)
            };
            let (ttl, target) = match version {
                1 => {
                    let (address, _) = terminated(&e[entry::V1_SHARE_NAME_AT..size], "DFS_REFERRAL ShareName")?;
                    (0, Target::Path { dfs_path: String::new(), alternate_path: String::new(), address })
                }
                2 => (
                    get(e, entry::V2_TTL),
                    Target::Path {
                        dfs_path: string(offset_at(entry::V2_DFS_PATH), "DFS_REFERRAL DFSPathOffset")?,
                        alternate_path: string(
                            offset_at(entry::V2_ALTERNATE_PATH),
                            "DFS_REFERRAL DFSAlternatePathOffset",
                        )?,
                        address: string(offset_at(entry::V2_NETWORK_ADDRESS), "DFS_REFERRAL NetworkAddressOffset")?,
                    },
                ),
                _ if flags & entry_flags::NAME_LIST_REFERRAL != 0 => {
                    let special_name = string(offset_at(entry::SPECIAL_NAME), "DFS_REFERRAL SpecialNameOffset")?;
                    let mut expanded = Vec::new();
                    let mut offset = usize::from(offset_at(entry::EXPANDED_NAME));
                    for _ in 0..offset_at(entry::NUMBER_OF_EXPANDED_NAMES) {
                        let off = u16::try_from(offset)
                            .map_err(|_| WireError::OutOfBounds { field: "DFS_REFERRAL ExpandedNameOffset" })?;
                        let name = string(off, "DFS_REFERRAL ExpandedNameOffset")?;
                        offset += 2 * name.encode_utf16().count() + 2;
                        expanded.push(name);
                    }
                    (get(e, entry::TTL), Target::NameList { special_name, expanded })
                }
                _ => (
                    get(e, entry::TTL),
                    Target::Path {
                        dfs_path: string(offset_at(entry::DFS_PATH), "DFS_REFERRAL DFSPathOffset")?,
                        alternate_path: string(
                            offset_at(entry::ALTERNATE_PATH),
                            "DFS_REFERRAL DFSAlternatePathOffset",
                        )?,
                        address: string(offset_at(entry::NETWORK_ADDRESS), "DFS_REFERRAL NetworkAddressOffset")?,
                    },
                ),
            };
            entries.push(Referral { version, server_type: get(e, entry::SERVER_TYPE), flags, ttl, target });
            at += size;
        }
        Ok(Self { path_consumed: get(b, response::PATH_CONSUMED), flags: get(b, response::FLAGS), entries })
    }

    /// Encodes the response as a server would: the entries, then every string after the last
    /// of them (version 1 keeps its name inside the entry).
    ///
    /// # Errors
    /// [`WireError::BadValue`] for an entry of an unknown version, more than 65535 entries, or
    /// offsets past 65535 bytes.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        let count =
            u16::try_from(self.entries.len()).map_err(|_| WireError::BadValue { field: "NumberOfReferrals" })?;
        let mut sizes = Vec::with_capacity(self.entries.len());
        for r in &self.entries {
            let fixed =
                fixed_size(r.version, r.flags).ok_or(WireError::BadValue { field: "DFS_REFERRAL VersionNumber" })?;
            let name_list = r.version >= 3 && r.flags & entry_flags::NAME_LIST_REFERRAL != 0;
            let fits = match &r.target {
                Target::NameList { .. } => name_list,
                // Version 1 has room for the address only, and no TTL.
                Target::Path { dfs_path, alternate_path, .. } if r.version == 1 => {
                    dfs_path.is_empty() && alternate_path.is_empty() && r.ttl == 0
                }
                Target::Path { .. } => !name_list,
            };
            if !fits {
                return Err(WireError::BadValue { field: "DFS_REFERRAL entry for its version and flags" });
            }
            sizes.push(match (&r.target, r.version) {
                (Target::Path { address, .. }, 1) => fixed + 2 * address.encode_utf16().count() + 2,
                _ => fixed,
            });
        }
        let mut out = Vec::new();
        let head = zeroed(&mut out, response::FIXED);
        put(head, response::PATH_CONSUMED, self.path_consumed);
        put(head, response::NUMBER_OF_REFERRALS, count);
        put(head, response::FLAGS, self.flags);
        let mut strings: Vec<u8> = Vec::new();
        let strings_at = response::FIXED + sizes.iter().sum::<usize>();
        let mut entry_at = response::FIXED;
        for (r, size) in self.entries.iter().zip(&sizes) {
            let mut string = |s: &str| -> Result<u16, WireError> {
                let offset = strings_at + strings.len() - entry_at;
                put_utf16(&mut strings, s);
                strings.extend_from_slice(&[0, 0]);
                u16::try_from(offset).map_err(|_| WireError::BadValue { field: "DFS_REFERRAL offset" })
            };
            let size16 = u16::try_from(*size).map_err(|_| WireError::BadValue { field: "DFS_REFERRAL Size" })?;
            let fixed = if r.version == 1 { entry::HEAD } else { *size };
            let e = zeroed(&mut out, fixed);
            put(e, entry::VERSION, r.version);
            put(e, entry::SIZE, size16);
            put(e, entry::SERVER_TYPE, r.server_type);
            put(e, entry::FLAGS, r.flags);
            match (&r.target, r.version) {
                (Target::Path { .. }, 1) => {} // the name follows the head, below
                (Target::Path { dfs_path, alternate_path, address }, 2) => {
                    put(e, entry::V2_TTL, r.ttl);
                    put(e, entry::V2_DFS_PATH, string(dfs_path)?);
                    put(e, entry::V2_ALTERNATE_PATH, string(alternate_path)?);
                    put(e, entry::V2_NETWORK_ADDRESS, string(address)?);
                }
                (Target::Path { dfs_path, alternate_path, address }, _) => {
                    put(e, entry::TTL, r.ttl);
                    put(e, entry::DFS_PATH, string(dfs_path)?);
                    put(e, entry::ALTERNATE_PATH, string(alternate_path)?);
                    put(e, entry::NETWORK_ADDRESS, string(address)?);
                }
                (Target::NameList { special_name, expanded }, _) => {
                    put(e, entry::TTL, r.ttl);
                    put(e, entry::SPECIAL_NAME, string(special_name)?);
                    let n = u16::try_from(expanded.len())
                        .map_err(|_| WireError::BadValue { field: "NumberOfExpandedNames" })?;
                    put(e, entry::NUMBER_OF_EXPANDED_NAMES, n);
                    let first = if expanded.is_empty() { 0 } else { string(&expanded[0])? };
                    for name in expanded.iter().skip(1) {
                        string(name)?;
                    }
                    put(e, entry::EXPANDED_NAME, first);
                }
            }
            if let (Target::Path { address, .. }, 1) = (&r.target, r.version) {
                put_utf16(&mut out, address);
                out.extend_from_slice(&[0, 0]);
            }
            entry_at += size;
        }
        out.extend_from_slice(&strings);
        Ok(out)
    }
}
