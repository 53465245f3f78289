//! NEGOTIATE (MS-SMB2 2.2.3 request, 2.2.4 response) with the 3.1.1 negotiate contexts
//! (2.2.3.1): preauth integrity, encryption, compression, netname, transport, RDMA transform,
//! signing. Contexts start 8-byte aligned; offsets count from the start of the SMB2 header.

use crate::body::{Field, buffer, fit16, fit32, fixed, fixed_part, get, pad8, put, put_utf16, utf16_len, zeroed};
use crate::header;
use crate::{Command, Dialect, Message, WireError};

keyless_wire_enum::wire_enum! {
    /// Negotiate context types (2.2.3.1).
    #[derive(Default)]
    pub struct ContextType(u16) {
        /// SMB2_PREAUTH_INTEGRITY_CAPABILITIES.
        PREAUTH_INTEGRITY = 0x0001 => "SMB2_PREAUTH_INTEGRITY_CAPABILITIES",
        /// SMB2_ENCRYPTION_CAPABILITIES.
        ENCRYPTION = 0x0002 => "SMB2_ENCRYPTION_CAPABILITIES",
        /// SMB2_COMPRESSION_CAPABILITIES.
        COMPRESSION = 0x0003 => "SMB2_COMPRESSION_CAPABILITIES",
        /// SMB2_NETNAME_NEGOTIATE_CONTEXT_ID.
        NETNAME = 0x0005 => "SMB2_NETNAME_NEGOTIATE_CONTEXT_ID",
        /// SMB2_TRANSPORT_CAPABILITIES.
        TRANSPORT = 0x0006 => "SMB2_TRANSPORT_CAPABILITIES",
        /// SMB2_RDMA_TRANSFORM_CAPABILITIES.
        RDMA_TRANSFORM = 0x0007 => "SMB2_RDMA_TRANSFORM_CAPABILITIES",
        /// SMB2_SIGNING_CAPABILITIES.
        SIGNING = 0x0008 => "SMB2_SIGNING_CAPABILITIES",
    }
}

keyless_wire_enum::wire_enum! {
    /// Preauth integrity hash algorithms (2.2.3.1.1).
    pub struct HashAlgorithm(u16) {
        /// SHA-512, the one there is.
        SHA512 = 0x0001 => "SHA-512",
    }
}

/// Capabilities (2.2.3).
pub mod caps {
    /// DFS.
    pub const DFS: u32 = 0x0000_0001;
    /// Leasing.
    pub const LEASING: u32 = 0x0000_0002;
    /// Large MTU (multi-credit requests).
    pub const LARGE_MTU: u32 = 0x0000_0004;
    /// Multichannel.
    pub const MULTI_CHANNEL: u32 = 0x0000_0008;
    /// Persistent handles.
    pub const PERSISTENT_HANDLES: u32 = 0x0000_0010;
    /// Directory leasing.
    pub const DIRECTORY_LEASING: u32 = 0x0000_0020;
    /// Encryption (the 3.0/3.0.x mechanism).
    pub const ENCRYPTION: u32 = 0x0000_0040;
}

/// SecurityMode bits (2.2.3).
pub mod security_mode {
    /// Signing enabled.
    pub const SIGNING_ENABLED: u16 = 0x0001;
    /// Signing required.
    pub const SIGNING_REQUIRED: u16 = 0x0002;
}

/// NEGOTIATE request fields (2.2.3), from the body's start; the dialects follow, then (3.1.1)
/// the contexts. ClientStartTime 28..36 (before 3.1.1) stays zero.
mod negotiate_request {
    use crate::body::Field;
    pub const FIXED: usize = 36;
    pub const STRUCTURE_SIZE: u16 = 36;
    pub const DIALECT_COUNT: Field = 2..4;
    pub const SECURITY_MODE: Field = 4..6;
    pub const CAPABILITIES: Field = 8..12;
    pub const CLIENT_GUID: Field = 12..28;
    pub const CONTEXT_OFFSET: Field = 28..32;
    pub const CONTEXT_COUNT: Field = 32..34;
}

/// NEGOTIATE response fields (2.2.4); the security buffer follows, then (3.1.1) the contexts.
mod negotiate_response {
    use crate::body::Field;
    pub const FIXED: usize = 64;
    pub const STRUCTURE_SIZE: u16 = 65;
    pub const SECURITY_MODE: Field = 2..4;
    pub const DIALECT: Field = 4..6;
    pub const CONTEXT_COUNT: Field = 6..8;
    pub const SERVER_GUID: Field = 8..24;
    pub const CAPABILITIES: Field = 24..28;
    pub const MAX_TRANSACT_SIZE: Field = 28..32;
    pub const MAX_READ_SIZE: Field = 32..36;
    pub const MAX_WRITE_SIZE: Field = 36..40;
    pub const SYSTEM_TIME: Field = 40..48;
    pub const SERVER_START_TIME: Field = 48..56;
    pub const SECURITY_BUFFER_OFFSET: Field = 56..58;
    pub const SECURITY_BUFFER_LENGTH: Field = 58..60;
    pub const CONTEXT_OFFSET: Field = 60..64;
}

/// NEGOTIATE_CONTEXT fields (2.2.3.1), from its start (Reserved 4..8 stays zero); the data
/// follows.
mod context_header {
    use crate::body::Field;
    pub const LEN: usize = 8;
    pub const CONTEXT_TYPE: Field = 0..2;
    pub const DATA_LENGTH: Field = 2..4;
}

/// A count of 16-bit ids first, as id lists and the capabilities below begin.
const ID_COUNT: Field = 0..2;

/// PREAUTH_INTEGRITY_CAPABILITIES (2.2.3.1.1): counts, then the ids and the salt.
mod preauth {
    use crate::body::Field;
    pub const FIXED: usize = 4;
    pub const SALT_LENGTH: Field = 2..4;
}

/// COMPRESSION_CAPABILITIES (2.2.3.1.3): count, Padding 2..4, Flags, then the ids.
mod compression {
    use crate::body::Field;
    pub const FIXED: usize = 8;
    pub const FLAGS: Field = 4..8;
}

/// RDMA_TRANSFORM_CAPABILITIES (2.2.3.1.6): count, Reserved 2..8, then the ids.
mod rdma {
    pub const FIXED: usize = 8;
}

/// What names the contexts of a list laid out as negotiate contexts (2.2.3.1): negotiate
/// context types, and tree connect context types (2.2.9.2), which share the layout.
pub trait ContextKind: Copy + core::fmt::Debug + Eq {
    /// The type of this id.
    fn from_id(id: u16) -> Self;
    /// The id on the wire.
    fn id(self) -> u16;
}

impl ContextKind for ContextType {
    fn from_id(id: u16) -> Self {
        Self(id)
    }
    fn id(self) -> u16 {
        self.0
    }
}

/// One context of such a list: its type and its data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Context<K> {
    /// ContextType.
    pub kind: K,
    /// Data.
    pub data: Vec<u8>,
}

/// One negotiate context.
pub type NegotiateContext = Context<ContextType>;

impl NegotiateContext {
    /// Preauth integrity with SHA-512 and a salt.
    pub fn preauth_sha512(salt: &[u8]) -> Self {
        let mut d = Vec::with_capacity(preauth::FIXED + 2 + salt.len());
        let head = zeroed(&mut d, preauth::FIXED);
        put(head, ID_COUNT, 1u16);
        put(head, preauth::SALT_LENGTH, u16::try_from(salt.len()).unwrap_or(0));
        d.extend_from_slice(&HashAlgorithm::SHA512.0.to_le_bytes());
        d.extend_from_slice(salt);
        Self { kind: ContextType::PREAUTH_INTEGRITY, data: d }
    }

    /// A list of 16-bit ids behind a 16-bit count (encryption ciphers, signing algorithms).
    pub fn id_list(kind: ContextType, ids: &[u16]) -> Self {
        let mut d = u16::try_from(ids.len()).unwrap_or(0).to_le_bytes().to_vec();
        for id in ids {
            d.extend_from_slice(&id.to_le_bytes());
        }
        Self { kind, data: d }
    }

    /// The server name (NETNAME), UTF-16LE.
    pub fn netname(name: &str) -> Self {
        let mut data = Vec::with_capacity(utf16_len(name));
        put_utf16(&mut data, name);
        Self { kind: ContextType::NETNAME, data }
    }

    /// Compression capabilities (2.2.3.1.3): flags (1: chained) and algorithms.
    pub fn compression(flags: u32, algorithms: &[u16]) -> Self {
        let mut d = Vec::with_capacity(compression::FIXED + 2 * algorithms.len());
        let head = zeroed(&mut d, compression::FIXED);
        put(head, ID_COUNT, u16::try_from(algorithms.len()).unwrap_or(0));
        put(head, compression::FLAGS, flags);
        for a in algorithms {
            d.extend_from_slice(&a.to_le_bytes());
        }
        Self { kind: ContextType::COMPRESSION, data: d }
    }

    /// Transport capabilities (2.2.3.1.5): flags (1: accept transport-level security).
    pub fn transport(flags: u32) -> Self {
        Self { kind: ContextType::TRANSPORT, data: flags.to_le_bytes().to_vec() }
    }

    /// RDMA transform capabilities (2.2.3.1.6): transform ids (1: encryption, 2: signing).
    pub fn rdma_transform(ids: &[u16]) -> Self {
        let mut d = Vec::with_capacity(rdma::FIXED + 2 * ids.len());
        put(zeroed(&mut d, rdma::FIXED), ID_COUNT, u16::try_from(ids.len()).unwrap_or(0));
        for id in ids {
            d.extend_from_slice(&id.to_le_bytes());
        }
        Self { kind: ContextType::RDMA_TRANSFORM, data: d }
    }
}

/// Preauth integrity data: the hash algorithm ids and the salt.
///
/// # Errors
/// [`WireError::OutOfBounds`] when the counts say more than the data holds.
pub fn parse_preauth(data: &[u8]) -> Result<(Vec<u16>, &[u8]), WireError> {
    let field = "PREAUTH_INTEGRITY_CAPABILITIES";
    let head = data.get(..preauth::FIXED).ok_or(WireError::OutOfBounds { field })?;
    let count = usize::from(get::<u16>(head, ID_COUNT));
    let salt_len = usize::from(get::<u16>(head, preauth::SALT_LENGTH));
    let ids_end = preauth::FIXED + 2 * count;
    let ids = data.get(preauth::FIXED..ids_end).ok_or(WireError::OutOfBounds { field })?;
    let salt = data.get(ids_end..ids_end + salt_len).ok_or(WireError::OutOfBounds { field })?;
    Ok((ids.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect(), salt))
}

/// Compression capabilities data: flags and algorithms.
///
/// # Errors
/// [`WireError::OutOfBounds`] when the count says more than the data holds.
pub fn parse_compression(data: &[u8]) -> Result<(u32, Vec<u16>), WireError> {
    let field = "COMPRESSION_CAPABILITIES";
    let head = data.get(..compression::FIXED).ok_or(WireError::OutOfBounds { field })?;
    Ok((get(head, compression::FLAGS), ids_after(head, &data[compression::FIXED..], field)?))
}

/// RDMA transform capabilities data: the transform ids.
///
/// # Errors
/// [`WireError::OutOfBounds`] when the count says more than the data holds.
pub fn parse_rdma_transform(data: &[u8]) -> Result<Vec<u16>, WireError> {
    let field = "RDMA_TRANSFORM_CAPABILITIES";
    let head = data.get(..rdma::FIXED).ok_or(WireError::OutOfBounds { field })?;
    ids_after(head, &data[rdma::FIXED..], field)
}

/// The ids `head`'s count says follow in `ids`.
fn ids_after(head: &[u8], ids: &[u8], field: &'static str) -> Result<Vec<u16>, WireError> {
    let count = usize::from(get::<u16>(head, ID_COUNT));
    let ids = ids.get(..2 * count).ok_or(WireError::OutOfBounds { field })?;
    Ok(ids.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
}

/// The ids of an id-list context (encryption, signing): count, then 16-bit ids.
///
/// # Errors
/// [`WireError::OutOfBounds`] when the count says more than the data holds.
pub fn parse_id_list(data: &[u8], field: &'static str) -> Result<Vec<u16>, WireError> {
    let head = data.get(..ID_COUNT.end).ok_or(WireError::OutOfBounds { field })?;
    ids_after(head, &data[ID_COUNT.end..], field)
}

/// Iterates over a context list: `(ContextType, Data)`, each checked.
pub fn contexts<K: ContextKind>(list: &[u8], count: u16) -> impl Iterator<Item = Result<(K, &[u8]), WireError>> {
    let mut rest = list;
    let mut left = count;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        left -= 1;
        let item = (|| {
            use context_header as h;
            let head = rest.get(..h::LEN).ok_or(WireError::OutOfBounds { field: "NegotiateContext" })?;
            let (kind, len) = (K::from_id(get(head, h::CONTEXT_TYPE)), usize::from(get::<u16>(head, h::DATA_LENGTH)));
            let data =
                rest.get(h::LEN..h::LEN + len).ok_or(WireError::OutOfBounds { field: "NegotiateContext Data" })?;
            // The next context starts at the next 8-byte boundary (the last one needs no padding).
            let next = (h::LEN + len).next_multiple_of(8).min(rest.len());
            rest = &rest[next..];
            Ok((kind, data))
        })();
        if item.is_err() {
            left = 0;
        }
        Some(item)
    })
}

/// Decodes `count` contexts from `list` into owned contexts.
pub(crate) fn read_contexts<K: ContextKind>(list: &[u8], count: u16) -> Result<Vec<Context<K>>, WireError> {
    contexts(list, count).map(|c| c.map(|(kind, data)| Context { kind, data: data.to_vec() })).collect()
}

/// The context list starting at `offset` (8-byte aligned, after the fixed part).
fn context_list(message: &[u8], offset: usize, count: u16, min: usize) -> Result<&[u8], WireError> {
    if count == 0 {
        return Ok(&[]);
    }
    if !offset.is_multiple_of(8) {
        return Err(WireError::Misaligned { field: "NegotiateContextOffset" });
    }
    message.get(offset..).filter(|_| offset >= min).ok_or(WireError::OutOfBounds { field: "NegotiateContextOffset" })
}

/// Bytes a context list takes after `at` (an offset from the header), padding included.
pub(crate) fn contexts_len<K>(at: usize, list: &[Context<K>]) -> usize {
    let mut end = at;
    for (i, c) in list.iter().enumerate() {
        if i > 0 {
            end = end.next_multiple_of(8);
        }
        end += context_header::LEN + c.data.len();
    }
    end - at
}

/// Writes a context list (8-byte aligned from `start`, the last one unpadded).
pub(crate) fn write_contexts<K: ContextKind>(
    out: &mut Vec<u8>,
    start: usize,
    list: &[Context<K>],
) -> Result<(), WireError> {
    for (i, c) in list.iter().enumerate() {
        if i > 0 {
            pad8(out, start);
        }
        let len = fit16(c.data.len(), "NegotiateContext DataLength")?;
        let head = zeroed(out, context_header::LEN);
        put(head, context_header::CONTEXT_TYPE, c.kind.id());
        put(head, context_header::DATA_LENGTH, len);
        out.extend_from_slice(&c.data);
    }
    Ok(())
}

/// A NEGOTIATE request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegotiateRequest {
    /// SecurityMode.
    pub security_mode: u16,
    /// Capabilities.
    pub capabilities: u32,
    /// ClientGuid.
    pub client_guid: [u8; 16],
    /// Dialects offered.
    pub dialects: Vec<Dialect>,
    /// Negotiate contexts (sent only when 3.1.1 is offered).
    pub contexts: Vec<NegotiateContext>,
}

impl NegotiateRequest {
    fn with_contexts(&self) -> bool {
        self.dialects.contains(&Dialect::SMB_311) && !self.contexts.is_empty()
    }

    fn contexts_at(&self) -> usize {
        (header::LEN + negotiate_request::FIXED + 2 * self.dialects.len()).next_multiple_of(8)
    }
}

impl Message<'_> for NegotiateRequest {
    const COMMAND: Command = Command::NEGOTIATE;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        use negotiate_request as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "NEGOTIATE request")?;
        let n = usize::from(get::<u16>(b, f::DIALECT_COUNT));
        let ids = buffer(message, header::LEN + f::FIXED, 2 * n, 0, "Dialects")?;
        let dialects: Vec<Dialect> = ids.chunks_exact(2).map(|c| Dialect(u16::from_le_bytes([c[0], c[1]]))).collect();
        let count = if dialects.contains(&Dialect::SMB_311) { get(b, f::CONTEXT_COUNT) } else { 0 };
        let offset = get::<u32>(b, f::CONTEXT_OFFSET) as usize;
        let list = context_list(message, offset, count, header::LEN + f::FIXED + 2 * n)?;
        Ok(Self {
            security_mode: get(b, f::SECURITY_MODE),
            capabilities: get(b, f::CAPABILITIES),
            client_guid: get(b, f::CLIENT_GUID),
            dialects,
            contexts: read_contexts(list, count)?,
        })
    }

    fn body_len(&self) -> usize {
        let fixed = negotiate_request::FIXED + 2 * self.dialects.len();
        if self.with_contexts() {
            let at = self.contexts_at();
            at - header::LEN + contexts_len(at, &self.contexts)
        } else {
            fixed
        }
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use negotiate_request as f;
        let start = out.len() - header::LEN;
        let count = fit16(self.dialects.len(), "DialectCount")?;
        let contexts = if self.with_contexts() {
            Some((
                fit32(self.contexts_at(), "NegotiateContextOffset")?,
                fit16(self.contexts.len(), "NegotiateContextCount")?,
            ))
        } else {
            None
        };
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::DIALECT_COUNT, count);
        put(b, f::SECURITY_MODE, self.security_mode);
        put(b, f::CAPABILITIES, self.capabilities);
        put(b, f::CLIENT_GUID, self.client_guid);
        if let Some((offset, count)) = contexts {
            put(b, f::CONTEXT_OFFSET, offset);
            put(b, f::CONTEXT_COUNT, count);
        }
        for d in &self.dialects {
            out.extend_from_slice(&d.0.to_le_bytes());
        }
        if self.with_contexts() {
            pad8(out, start);
            write_contexts(out, start, &self.contexts)?;
        }
        Ok(())
    }
}

/// A NEGOTIATE response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NegotiateResponse<'a> {
    /// SecurityMode.
    pub security_mode: u16,
    /// DialectRevision.
    pub dialect: Dialect,
    /// ServerGuid.
    pub server_guid: [u8; 16],
    /// Capabilities.
    pub capabilities: u32,
    /// MaxTransactSize.
    pub max_transact_size: u32,
    /// MaxReadSize.
    pub max_read_size: u32,
    /// MaxWriteSize.
    pub max_write_size: u32,
    /// SystemTime (FILETIME).
    pub system_time: u64,
    /// ServerStartTime (FILETIME).
    pub server_start_time: u64,
    /// The server's SPNEGO hint (NegTokenInit2), opaque here.
    pub security_buffer: &'a [u8],
    /// The negotiate contexts (3.1.1 only).
    pub contexts: Vec<NegotiateContext>,
}

/// Where the security buffer of a response starts (right after the fixed body).
const RESPONSE_BUFFER_AT: usize = header::LEN + negotiate_response::FIXED;

/// The algorithms a NEGOTIATE response settles for the connection (MS-SMB2 3.2.5.2), as ids.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Settled {
    /// The cipher: the ENCRYPTION context's choice in 3.1.1 (`None` for 0, "no common
    /// cipher"), AES-128-CCM (1) in 3.0/3.0.2 when the server has the ENCRYPTION capability.
    pub cipher: Option<u16>,
    /// The signing algorithm: the SIGNING context's choice in 3.1.1, else HMAC-SHA256 (0) for
    /// 2.0.2/2.1 (and the 0x02FF wildcard) and AES-CMAC (1) for 3.x.
    pub signing: u16,
    /// The preauth integrity hash algorithms the response names (3.1.1; empty otherwise).
    pub preauth_hashes: Vec<u16>,
}

impl NegotiateResponse<'_> {
    /// What this response settles.
    ///
    /// # Errors
    /// [`WireError::BadValue`] for a context that chooses more than one cipher or signing
    /// algorithm, [`WireError::OutOfBounds`] for a context whose counts overrun it.
    pub fn settled(&self) -> Result<Settled, WireError> {
        // 0x02FF answers an SMB1 multi-protocol NEGOTIATE: the SMB2 family, settled by the
        // SMB2 NEGOTIATE that follows.
        let two_x = matches!(self.dialect, Dialect::SMB_202 | Dialect::SMB_21 | Dialect::WILDCARD);
        let mut s = Settled {
            cipher: (!two_x && self.dialect != Dialect::SMB_311 && self.capabilities & caps::ENCRYPTION != 0)
                .then_some(1),
            signing: if two_x { 0 } else { 1 },
            preauth_hashes: Vec::new(),
        };
        let one = |data: &[u8], field: &'static str| match parse_id_list(data, field)?.as_slice() {
            [id] => Ok(*id),
            _ => Err(WireError::BadValue { field }),
        };
        for c in self.contexts.iter().filter(|_| self.dialect == Dialect::SMB_311) {
            match c.kind {
                ContextType::PREAUTH_INTEGRITY => s.preauth_hashes = parse_preauth(&c.data)?.0,
                ContextType::ENCRYPTION => s.cipher = Some(one(&c.data, "Ciphers (one chosen)")?).filter(|&id| id != 0),
                ContextType::SIGNING => s.signing = one(&c.data, "SigningAlgorithms (one chosen)")?,
                _ => {}
            }
        }
        Ok(s)
    }
}

impl<'a> Message<'a> for NegotiateResponse<'a> {
    const COMMAND: Command = Command::NEGOTIATE;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        use negotiate_response as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "NEGOTIATE response")?;
        let (off, len): (u16, u16) = (get(b, f::SECURITY_BUFFER_OFFSET), get(b, f::SECURITY_BUFFER_LENGTH));
        let security_buffer = buffer(message, usize::from(off), usize::from(len), header::LEN, "SecurityBuffer")?;
        let dialect = Dialect(get(b, f::DIALECT));
        // Contexts exist only in 3.1.1 responses; other dialects reuse the fields as Reserved.
        let count = if dialect == Dialect::SMB_311 { get(b, f::CONTEXT_COUNT) } else { 0 };
        let list = context_list(message, get::<u32>(b, f::CONTEXT_OFFSET) as usize, count, RESPONSE_BUFFER_AT)?;
        Ok(Self {
            security_mode: get(b, f::SECURITY_MODE),
            dialect,
            server_guid: get(b, f::SERVER_GUID),
            capabilities: get(b, f::CAPABILITIES),
            max_transact_size: get(b, f::MAX_TRANSACT_SIZE),
            max_read_size: get(b, f::MAX_READ_SIZE),
            max_write_size: get(b, f::MAX_WRITE_SIZE),
            system_time: get(b, f::SYSTEM_TIME),
            server_start_time: get(b, f::SERVER_START_TIME),
            security_buffer,
            contexts: read_contexts(list, count)?,
        })
    }

    fn body_len(&self) -> usize {
        let end = RESPONSE_BUFFER_AT + self.security_buffer.len();
        if self.contexts.is_empty() {
            end - header::LEN
        } else {
            let at = end.next_multiple_of(8);
            at - header::LEN + contexts_len(at, &self.contexts)
        }
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len() - header::LEN;
        let with_contexts = !self.contexts.is_empty();
        if with_contexts && self.dialect != Dialect::SMB_311 {
            return Err(WireError::BadValue { field: "NegotiateContextCount" });
        }
        let sec_len = fit16(self.security_buffer.len(), "SecurityBufferLength")?;
        let ctx_at = (RESPONSE_BUFFER_AT + self.security_buffer.len()).next_multiple_of(8);
        use negotiate_response as f;
        let count = fit16(self.contexts.len(), "NegotiateContextCount")?;
        let ctx_off = if with_contexts { fit32(ctx_at, "NegotiateContextOffset")? } else { 0 };
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::SECURITY_MODE, self.security_mode);
        put(b, f::DIALECT, self.dialect.0);
        put(b, f::CONTEXT_COUNT, count);
        put(b, f::SERVER_GUID, self.server_guid);
        put(b, f::CAPABILITIES, self.capabilities);
        put(b, f::MAX_TRANSACT_SIZE, self.max_transact_size);
        put(b, f::MAX_READ_SIZE, self.max_read_size);
        put(b, f::MAX_WRITE_SIZE, self.max_write_size);
        put(b, f::SYSTEM_TIME, self.system_time);
        put(b, f::SERVER_START_TIME, self.server_start_time);
        put(b, f::SECURITY_BUFFER_OFFSET, RESPONSE_BUFFER_AT as u16);
        put(b, f::SECURITY_BUFFER_LENGTH, sec_len);
        put(b, f::CONTEXT_OFFSET, ctx_off);
        out.extend_from_slice(self.security_buffer);
        if with_contexts {
            pad8(out, start);
            write_contexts(out, start, &self.contexts)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn response(dialect: Dialect, capabilities: u32) -> NegotiateResponse<'static> {
        NegotiateResponse {
            security_mode: 1,
            dialect,
            server_guid: [0; 16],
            capabilities,
            max_transact_size: 1 << 20,
            max_read_size: 1 << 20,
            max_write_size: 1 << 20,
            system_time: 0,
            server_start_time: 0,
            security_buffer: &[],
            contexts: Vec::new(),
        }
    }

    #[test]
    fn what_each_dialect_settles_without_contexts() {
        let settled = |d, caps| response(d, caps).settled().map(|s| (s.cipher, s.signing));
        assert_eq!(settled(Dialect::SMB_21, caps::ENCRYPTION), Ok((None, 0)));
        assert_eq!(settled(Dialect::WILDCARD, caps::ENCRYPTION), Ok((None, 0)), "SMB1 -> 0x02FF: SMB2 family");
        assert_eq!(settled(Dialect::SMB_30, caps::ENCRYPTION), Ok((Some(1), 1)));
        assert_eq!(settled(Dialect::SMB_302, 0), Ok((None, 1)));
    }
}
