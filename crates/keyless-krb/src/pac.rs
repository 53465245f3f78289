//! The Privilege Attribute Certificate (MS-PAC) that Active Directory and Samba KDCs put in
//! the tickets they issue: who the user is and which groups they belong to, signed by the
//! service's key and by the KDC's. Parsing only (the PAC arrives inside a decrypted ticket);
//! every malformed input is an [`Error::Malformed`] naming the buffer.
//!
//! Layout (MS-PAC 2.3-2.8): a PACTYPE header lists buffers by type, size and offset. The
//! logon information is KERB_VALIDATION_INFO marshalled in NDR (MS-RPCE 2.2.6 type
//! serialization version 1): the fixed part first, then each pointer's data in the order the
//! pointers appear.

use crate::error::Error;
use keyless_crypto::{CksumType, Key, KeyUsage};

keyless_wire_enum::wire_enum! {
    /// PAC_INFO_BUFFER types (MS-PAC 2.4).
    pub struct BufferType(u32) {
        /// KERB_VALIDATION_INFO.
        LOGON_INFO = 1 => "KERB_VALIDATION_INFO",
        /// PAC_CREDENTIAL_INFO.
        CREDENTIALS = 2 => "PAC_CREDENTIAL_INFO",
        /// The server's checksum.
        SERVER_CHECKSUM = 6 => "PAC_SERVER_CHECKSUM",
        /// The KDC's checksum.
        KDC_CHECKSUM = 7 => "PAC_PRIVSVR_CHECKSUM",
        /// PAC_CLIENT_INFO.
        CLIENT_INFO = 10 => "PAC_CLIENT_INFO",
        /// S4U_DELEGATION_INFO.
        DELEGATION = 11 => "S4U_DELEGATION_INFO",
        /// UPN_DNS_INFO.
        UPN_DNS = 12 => "UPN_DNS_INFO",
        /// The ticket checksum (KDC key).
        TICKET_CHECKSUM = 16 => "PAC_TICKET_CHECKSUM",
        /// PAC_ATTRIBUTES_INFO.
        ATTRIBUTES = 17 => "PAC_ATTRIBUTES_INFO",
        /// PAC_REQUESTOR (the client's SID).
        REQUESTOR = 18 => "PAC_REQUESTOR",
        /// The extended KDC checksum over the whole PAC.
        FULL_CHECKSUM = 19 => "PAC_FULL_CHECKSUM",
    }
}

keyless_wire_enum::wire_enum! {
    /// ad-type numbers (RFC 4120 7.5.4, MS-PAC 2).
    pub struct AdType(i32) {
        /// AD-IF-RELEVANT: authorization data a reader may ignore (RFC 4120 5.2.6.1), which
        /// wraps the PAC.
        IF_RELEVANT = 1 => "AD-IF-RELEVANT",
        /// AD-WIN2K-PAC: the authorization data type that carries a PAC.
        WIN2K_PAC = 128 => "AD-WIN2K-PAC",
    }
}

/// The PAC's bytes in a ticket's authorization data (AD-WIN2K-PAC, directly or one
/// AD-IF-RELEVANT down, where KDCs put it), if it carries one.
pub fn find(authorization_data: &[rasn_kerberos::AuthorizationDataValue]) -> Option<Vec<u8>> {
    let direct = |ads: &[rasn_kerberos::AuthorizationDataValue]| {
        ads.iter().find(|ad| ad.r#type == AdType::WIN2K_PAC.0).map(|ad| ad.data.to_vec())
    };
    direct(authorization_data).or_else(|| {
        authorization_data.iter().filter(|ad| ad.r#type == AdType::IF_RELEVANT.0).find_map(|ad| {
            let inner: rasn_kerberos::AuthorizationData = rasn::der::decode(&ad.data).ok()?;
            direct(&inner)
        })
    })
}

/// Key usage of PAC checksums (KERB_NON_KERB_CKSUM_SALT, MS-PAC 2.8).
const PAC_CHECKSUM_USAGE: KeyUsage = KeyUsage(17);

fn bad(what: &'static str, detail: impl Into<String>) -> Error {
    Error::Malformed { what, detail: detail.into() }
}

/// One PAC_INFO_BUFFER and its bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Buffer {
    /// ulType.
    pub kind: BufferType,
    /// Offset of the buffer in the PAC.
    pub offset: usize,
    /// Its bytes.
    pub data: Vec<u8>,
}

/// A PAC: its buffers, and its bytes as signed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pac {
    /// The buffers, in the order listed.
    pub buffers: Vec<Buffer>,
    bytes: Vec<u8>,
}

fn le16(b: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_le_bytes(b.get(at..at + 2)?.try_into().ok()?))
}
fn le32(b: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(b.get(at..at + 4)?.try_into().ok()?))
}
fn le64(b: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(b.get(at..at + 8)?.try_into().ok()?))
}

impl Pac {
    /// Decodes PACTYPE (MS-PAC 2.3): every buffer inside the PAC.
    ///
    /// # Errors
    /// [`Error::Malformed`] for a truncated header, a buffer outside the PAC or an unknown
    /// version.
    pub fn parse(b: &[u8]) -> Result<Self, Error> {
        let count = le32(b, 0).ok_or_else(|| bad("PACTYPE", "shorter than its header"))?;
        if le32(b, 4) != Some(0) {
            return Err(bad("PACTYPE", "version is not 0"));
        }
        let count = usize::try_from(count).unwrap_or(usize::MAX);
        if count > (b.len().saturating_sub(8)) / 16 {
            return Err(bad("PACTYPE", format!("{count} buffers do not fit in {} bytes", b.len())));
        }
        let mut buffers = Vec::with_capacity(count);
        for i in 0..count {
            let at = 8 + 16 * i;
            let (kind, size, offset) = (le32(b, at), le32(b, at + 4), le64(b, at + 8));
            let (Some(kind), Some(size), Some(offset)) = (kind, size, offset) else {
                return Err(bad("PAC_INFO_BUFFER", "truncated"));
            };
            let data = usize::try_from(offset)
                .ok()
                .and_then(|o| Some((o, b.get(o..o.checked_add(size as usize)?)?)))
                .ok_or_else(|| bad("PAC_INFO_BUFFER", format!("buffer {kind} lies outside the PAC")))?;
            buffers.push(Buffer { kind: BufferType(kind), offset: data.0, data: data.1.to_vec() });
        }
        Ok(Self { buffers, bytes: b.to_vec() })
    }

    /// The first buffer of `kind`.
    pub fn buffer(&self, kind: BufferType) -> Option<&Buffer> {
        self.buffers.iter().find(|b| b.kind == kind)
    }

    /// The logon information, when the PAC has it.
    ///
    /// # Errors
    /// [`Error::Malformed`] for NDR that does not decode.
    pub fn logon_info(&self) -> Option<Result<LogonInfo, Error>> {
        self.buffer(BufferType::LOGON_INFO).map(|b| LogonInfo::parse(&b.data))
    }

    /// PAC_CLIENT_INFO: the client's name and the ticket's authtime (FILETIME).
    ///
    /// # Errors
    /// [`Error::Malformed`] for a truncated buffer.
    pub fn client_info(&self) -> Option<Result<(u64, String), Error>> {
        self.buffer(BufferType::CLIENT_INFO).map(|b| {
            let d = &b.data;
            let (Some(time), Some(len)) = (le64(d, 0), le16(d, 8)) else {
                return Err(bad("PAC_CLIENT_INFO", "truncated"));
            };
            let name = d.get(10..10 + usize::from(len)).ok_or_else(|| bad("PAC_CLIENT_INFO", "name truncated"))?;
            Ok((time, utf16(name, "PAC_CLIENT_INFO")?))
        })
    }

    /// UPN_DNS_INFO (MS-PAC 2.10).
    ///
    /// # Errors
    /// [`Error::Malformed`] for a field outside the buffer.
    pub fn upn_dns(&self) -> Option<Result<UpnDns, Error>> {
        self.buffer(BufferType::UPN_DNS).map(|b| UpnDns::parse(&b.data))
    }

    /// A signature buffer (PAC_SIGNATURE_DATA): its checksum type and bytes.
    pub fn signature(&self, kind: BufferType) -> Option<(CksumType, &[u8])> {
        let d = &self.buffer(kind)?.data;
        let cksumtype = CksumType(i32::from_le_bytes(d.get(..4)?.try_into().ok()?));
        let len = match cksumtype {
            CksumType::HMAC_MD5 => 16,
            CksumType::HMAC_SHA1_96_AES128 | CksumType::HMAC_SHA1_96_AES256 => 12,
            _ => d.len() - 4,
        };
        Some((cksumtype, d.get(4..4 + len)?))
    }

    /// Verifies the server's checksum (MS-PAC 2.8.1) with the service's key: over the whole
    /// PAC, the server's and the KDC's signatures zeroed.
    ///
    /// # Errors
    /// [`Error::Malformed`] without a server checksum; [`Error::Crypto`] when it does not
    /// verify (a wrong key, or a PAC changed after the KDC signed it).
    pub fn verify_server_checksum(&self, service_key: &Key) -> Result<(), Error> {
        let (cksumtype, sig) =
            self.signature(BufferType::SERVER_CHECKSUM).ok_or_else(|| bad("PAC", "no server checksum"))?;
        let mut zeroed = self.bytes.clone();
        for kind in [BufferType::SERVER_CHECKSUM, BufferType::KDC_CHECKSUM] {
            if let Some(b) = self.buffer(kind) {
                let end = (b.offset + b.data.len()).min(zeroed.len());
                zeroed[(b.offset + 4).min(end)..end].fill(0);
            }
        }
        keyless_crypto::verify_checksum(cksumtype, service_key, PAC_CHECKSUM_USAGE, &zeroed, sig).map_err(Error::Crypto)
    }

    /// Verifies the KDC's checksum (MS-PAC 2.8.2) with the KDC's (krbtgt) key: over the
    /// server's signature bytes.
    ///
    /// # Errors
    /// As [`Self::verify_server_checksum`].
    pub fn verify_kdc_checksum(&self, krbtgt_key: &Key) -> Result<(), Error> {
        let (_, server) =
            self.signature(BufferType::SERVER_CHECKSUM).ok_or_else(|| bad("PAC", "no server checksum"))?;
        let (cksumtype, sig) = self.signature(BufferType::KDC_CHECKSUM).ok_or_else(|| bad("PAC", "no KDC checksum"))?;
        keyless_crypto::verify_checksum(cksumtype, krbtgt_key, PAC_CHECKSUM_USAGE, server, sig).map_err(Error::Crypto)
    }
}

fn utf16(b: &[u8], what: &'static str) -> Result<String, Error> {
    if !b.len().is_multiple_of(2) {
        return Err(bad(what, "odd UTF-16 length"));
    }
    let units: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16(&units).map_err(|_| bad(what, "not UTF-16"))
}

/// UPN_DNS_INFO: the user's UPN and DNS domain, and with the extended form, the SAM name and
/// SID.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpnDns {
    /// The user principal name.
    pub upn: String,
    /// The DNS domain name.
    pub dns_domain: String,
    /// Flags (1: the UPN was constructed, 2: the extended fields follow).
    pub flags: u32,
    /// sAMAccountName (extended form).
    pub sam_name: Option<String>,
    /// The user's SID (extended form).
    pub sid: Option<Sid>,
}

impl UpnDns {
    fn parse(d: &[u8]) -> Result<Self, Error> {
        const WHAT: &str = "UPN_DNS_INFO";
        let field = |len_at: usize| -> Result<&[u8], Error> {
            let (Some(len), Some(off)) = (le16(d, len_at), le16(d, len_at + 2)) else {
                return Err(bad(WHAT, "truncated"));
            };
            let (len, off) = (usize::from(len), usize::from(off));
            d.get(off..off + len).ok_or_else(|| bad(WHAT, "a name lies outside the buffer"))
        };
        let flags = le32(d, 8).ok_or_else(|| bad(WHAT, "truncated"))?;
        let (sam_name, sid) = if flags & 2 != 0 {
            let sid = Sid::parse(field(16)?, WHAT)?.0;
            (Some(utf16(field(12)?, WHAT)?), Some(sid))
        } else {
            (None, None)
        };
        Ok(Self { upn: utf16(field(0)?, WHAT)?, dns_domain: utf16(field(4)?, WHAT)?, flags, sam_name, sid })
    }
}

/// A security identifier (MS-DTYP 2.4.2), `S-1-5-21-...` when shown.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sid {
    /// Revision (1).
    pub revision: u8,
    /// IdentifierAuthority, 48 bits.
    pub authority: u64,
    /// The sub-authorities (the last is the RID of an account).
    pub sub_authorities: Vec<u32>,
}

impl Sid {
    /// A SID in its binary form at the start of `b`, and the bytes it took.
    fn parse(b: &[u8], what: &'static str) -> Result<(Self, usize), Error> {
        let (&revision, &count) = (b.first().ok_or_else(|| bad(what, "SID truncated"))?, b.get(1).unwrap_or(&0));
        let authority = b.get(2..8).ok_or_else(|| bad(what, "SID truncated"))?;
        let authority = authority.iter().fold(0u64, |a, &x| (a << 8) | u64::from(x));
        let n = usize::from(count);
        let subs = (0..n)
            .map(|i| le32(b, 8 + 4 * i))
            .collect::<Option<Vec<u32>>>()
            .ok_or_else(|| bad(what, "SID truncated"))?;
        Ok((Self { revision, authority, sub_authorities: subs }, 8 + 4 * n))
    }

    /// This SID with `rid` appended (a domain's SID and an account's relative id).
    pub fn with_rid(&self, rid: u32) -> Self {
        let mut s = self.clone();
        s.sub_authorities.push(rid);
        s
    }
}

impl std::fmt::Display for Sid {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "S-{}-{}", self.revision, self.authority)?;
        for s in &self.sub_authorities {
            write!(f, "-{s}")?;
        }
        Ok(())
    }
}

/// KERB_VALIDATION_INFO (MS-PAC 2.5), the fields a reader of tickets asks about.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LogonInfo {
    /// LogonTime (FILETIME).
    pub logon_time: u64,
    /// PasswordLastSet (FILETIME).
    pub password_last_set: u64,
    /// EffectiveName: the account name.
    pub effective_name: String,
    /// FullName.
    pub full_name: String,
    /// LogonCount.
    pub logon_count: u16,
    /// BadPasswordCount.
    pub bad_password_count: u16,
    /// UserId: the account's RID.
    pub user_id: u32,
    /// PrimaryGroupId: the primary group's RID.
    pub primary_group_id: u32,
    /// GroupIds: RID and attributes of each group in the logon domain.
    pub groups: Vec<(u32, u32)>,
    /// UserFlags.
    pub user_flags: u32,
    /// LogonServer.
    pub logon_server: String,
    /// LogonDomainName (NetBIOS).
    pub logon_domain_name: String,
    /// LogonDomainId: the domain's SID.
    pub logon_domain_id: Option<Sid>,
    /// UserAccountControl.
    pub user_account_control: u32,
    /// ExtraSids: SIDs of other domains, with attributes.
    pub extra_sids: Vec<(Sid, u32)>,
    /// ResourceGroupDomainSid.
    pub resource_group_domain_sid: Option<Sid>,
    /// ResourceGroupIds: RIDs in that domain, with attributes.
    pub resource_groups: Vec<(u32, u32)>,
}

impl LogonInfo {
    /// The user's SID: the logon domain's SID and the user's RID.
    pub fn user_sid(&self) -> Option<Sid> {
        self.logon_domain_id.as_ref().map(|d| d.with_rid(self.user_id))
    }

    /// Every group SID the PAC gives the user: the logon domain's groups, the extra SIDs and
    /// the resource groups.
    pub fn group_sids(&self) -> Vec<Sid> {
        let domain = |d: &Option<Sid>, rids: &[(u32, u32)]| -> Vec<Sid> {
            d.as_ref().map(|d| rids.iter().map(|(rid, _)| d.with_rid(*rid)).collect()).unwrap_or_default()
        };
        let mut all = domain(&self.logon_domain_id, &self.groups);
        all.extend(self.extra_sids.iter().map(|(s, _)| s.clone()));
        all.extend(domain(&self.resource_group_domain_sid, &self.resource_groups));
        all
    }

    /// Decodes the NDR of a PAC_LOGON_INFO buffer.
    ///
    /// # Errors
    /// [`Error::Malformed`] for NDR that does not decode.
    pub fn parse(b: &[u8]) -> Result<Self, Error> {
        let mut n = Ndr { b, at: 0 };
        // Type serialization header: common (version 1, little-endian, 8, filler) and private
        // (object length, filler).
        if n.u8()? != 1 || n.u8()? != 0x10 {
            return Err(bad(WHAT, "not NDR type serialization version 1, little-endian"));
        }
        n.at = 16;
        let top = n.u32()?;
        if top == 0 {
            return Err(bad(WHAT, "a null KERB_VALIDATION_INFO"));
        }
        let mut v = Self { logon_time: n.u64()?, ..Self::default() };
        let _logoff = n.u64()?;
        let _kickoff = n.u64()?;
        v.password_last_set = n.u64()?;
        let _can_change = n.u64()?;
        let _must_change = n.u64()?;
        let names: Vec<UnicodeString> = (0..6).map(|_| n.unicode_string()).collect::<Result<_, _>>()?;
        v.logon_count = n.u16()?;
        v.bad_password_count = n.u16()?;
        v.user_id = n.u32()?;
        v.primary_group_id = n.u32()?;
        let group_count = n.u32()?;
        let groups_ptr = n.u32()?;
        v.user_flags = n.u32()?;
        n.skip(16)?; // UserSessionKey
        let logon_server = n.unicode_string()?;
        let logon_domain = n.unicode_string()?;
        let domain_id_ptr = n.u32()?;
        n.skip(8)?; // Reserved1
        v.user_account_control = n.u32()?;
        n.skip(4 + 8 + 8 + 4 + 4)?; // SubAuthStatus, LastSuccessfulILogon, LastFailedILogon, FailedILogonCount, Reserved3
        let sid_count = n.u32()?;
        let extra_ptr = n.u32()?;
        let resource_domain_ptr = n.u32()?;
        let resource_count = n.u32()?;
        let resource_ptr = n.u32()?;

        // Deferred data, in the order of the pointers above.
        let mut strings = Vec::with_capacity(6);
        for s in &names {
            strings.push(n.deferred_string(s)?);
        }
        v.effective_name = strings[0].clone();
        v.full_name = strings[1].clone();
        v.groups = n.deferred_rids(groups_ptr, group_count)?;
        v.logon_server = n.deferred_string(&logon_server)?;
        v.logon_domain_name = n.deferred_string(&logon_domain)?;
        v.logon_domain_id = n.deferred_sid(domain_id_ptr)?;
        if extra_ptr != 0 {
            let max = n.u32()?;
            if max < sid_count {
                return Err(bad(WHAT, "ExtraSids shorter than SidCount"));
            }
            let entries: Vec<(u32, u32)> =
                (0..n.bounded(sid_count, 8)?).map(|_| Ok((n.u32()?, n.u32()?))).collect::<Result<_, Error>>()?;
            for (ptr, attrs) in entries {
                if let Some(sid) = n.deferred_sid(ptr)? {
                    v.extra_sids.push((sid, attrs));
                }
            }
        }
        v.resource_group_domain_sid = n.deferred_sid(resource_domain_ptr)?;
        v.resource_groups = n.deferred_rids(resource_ptr, resource_count)?;
        Ok(v)
    }
}

const WHAT: &str = "KERB_VALIDATION_INFO";

/// RPC_UNICODE_STRING's fixed part: lengths in bytes and the buffer's pointer.
struct UnicodeString {
    length: u16,
    pointer: u32,
}

/// A little-endian NDR reader over a buffer.
struct Ndr<'a> {
    b: &'a [u8],
    at: usize,
}

impl Ndr<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], Error> {
        let s = self.b.get(self.at..self.at.checked_add(n).ok_or_else(|| bad(WHAT, "too long"))?);
        let s = s.ok_or_else(|| bad(WHAT, format!("truncated at byte {}", self.at)))?;
        self.at += n;
        Ok(s)
    }
    fn align(&mut self, to: usize) {
        self.at = self.at.div_ceil(to) * to;
    }
    fn skip(&mut self, n: usize) -> Result<(), Error> {
        self.take(n).map(|_| ())
    }
    fn u8(&mut self) -> Result<u8, Error> {
        Ok(self.take(1)?[0])
    }
    fn u16(&mut self) -> Result<u16, Error> {
        self.align(2);
        let b = self.take(2)?;
        Ok(u16::from_le_bytes([b[0], b[1]]))
    }
    fn u32(&mut self) -> Result<u32, Error> {
        self.align(4);
        let b = self.take(4)?;
        Ok(u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
    }
    /// FILETIME: two 32-bit halves, low first (4-aligned).
    fn u64(&mut self) -> Result<u64, Error> {
        let low = self.u32()?;
        Ok((u64::from(self.u32()?) << 32) | u64::from(low))
    }
    fn unicode_string(&mut self) -> Result<UnicodeString, Error> {
        let length = self.u16()?;
        let _max = self.u16()?;
        Ok(UnicodeString { length, pointer: self.u32()? })
    }
    /// `count` elements of `size` bytes, refused when they cannot fit in what is left.
    fn bounded(&self, count: u32, size: usize) -> Result<u32, Error> {
        let left = self.b.len().saturating_sub(self.at);
        if (count as usize).saturating_mul(size) > left {
            return Err(bad(WHAT, format!("{count} elements do not fit in {left} bytes")));
        }
        Ok(count)
    }
    /// A string's conformant varying array (max count, offset, actual count, UTF-16).
    fn deferred_string(&mut self, s: &UnicodeString) -> Result<String, Error> {
        if s.pointer == 0 {
            return Ok(String::new());
        }
        let _max = self.u32()?;
        let _offset = self.u32()?;
        let actual = self.u32()?;
        if usize::try_from(actual).unwrap_or(usize::MAX).saturating_mul(2) < usize::from(s.length) {
            return Err(bad(WHAT, "a string shorter than its Length"));
        }
        let raw = self.take(2 * actual as usize)?;
        let text = utf16(&raw[..usize::from(s.length)], WHAT)?;
        Ok(text)
    }
    /// GROUP_MEMBERSHIP array: `count` (RID, attributes).
    fn deferred_rids(&mut self, pointer: u32, count: u32) -> Result<Vec<(u32, u32)>, Error> {
        if pointer == 0 {
            return Ok(Vec::new());
        }
        let max = self.u32()?;
        if max < count {
            return Err(bad(WHAT, "a group array shorter than its count"));
        }
        (0..self.bounded(count, 8)?).map(|_| Ok((self.u32()?, self.u32()?))).collect()
    }
    /// RPC_SID: its sub-authority count as the conformant size, then the SID.
    fn deferred_sid(&mut self, pointer: u32) -> Result<Option<Sid>, Error> {
        if pointer == 0 {
            return Ok(None);
        }
        let _count = self.u32()?;
        let (sid, used) = Sid::parse(&self.b[self.at..], WHAT)?;
        self.at += used;
        Ok(Some(sid))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sids_print_as_windows_does() {
        let (sid, used) =
            Sid::parse(&[1, 4, 0, 0, 0, 0, 0, 5, 21, 0, 0, 0, 1, 0, 0, 0, 2, 0, 0, 0, 3, 0, 0, 0], "t").unwrap();
        assert_eq!((sid.to_string(), used), ("S-1-5-21-1-2-3".to_string(), 24));
        assert_eq!(sid.with_rid(513).to_string(), "S-1-5-21-1-2-3-513");
        assert!(Sid::parse(&[1, 4, 0, 0, 0, 0, 0, 5, 21], "t").is_err());
    }

    #[test]
    fn truncated_and_outlying_buffers_are_refused() {
        assert!(Pac::parse(&[]).is_err());
        assert!(Pac::parse(&[1, 0, 0, 0, 1, 0, 0, 0]).is_err(), "version 1");
        let mut pac = vec![1, 0, 0, 0, 0, 0, 0, 0];
        pac.extend_from_slice(&[1, 0, 0, 0, 8, 0, 0, 0, 200, 0, 0, 0, 0, 0, 0, 0]);
        assert!(Pac::parse(&pac).unwrap_err().to_string().contains("outside"));
        pac[16] = 24; // the buffer right after the header, 8 bytes
        pac.extend_from_slice(&[0; 8]);
        let p = Pac::parse(&pac).unwrap();
        assert_eq!(p.buffers.len(), 1);
        assert!(p.logon_info().unwrap().is_err(), "zeros are no NDR");
        assert!(
            p.verify_server_checksum(&Key::from_bytes(keyless_crypto::EncType::RC4_HMAC, &[0; 16]).unwrap()).is_err()
        );
    }
}
