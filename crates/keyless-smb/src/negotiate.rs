//! NEGOTIATE (MS-SMB2 2.2.3 request, 2.2.4 response) with the 3.1.1 negotiate contexts
//! (2.2.3.1): preauth integrity, encryption, compression, netname, transport, RDMA transform,
//! signing. Contexts start 8-byte aligned; offsets count from the start of the SMB2 header.

use crate::header::{self, HeaderFields};
use crate::{Command, Dialect, WireError};

/// Negotiate context types (2.2.3.1).
pub mod context {
    /// SMB2_PREAUTH_INTEGRITY_CAPABILITIES.
    pub const PREAUTH_INTEGRITY: u16 = 0x0001;
    /// SMB2_ENCRYPTION_CAPABILITIES.
    pub const ENCRYPTION: u16 = 0x0002;
    /// SMB2_COMPRESSION_CAPABILITIES.
    pub const COMPRESSION: u16 = 0x0003;
    /// SMB2_NETNAME_NEGOTIATE_CONTEXT_ID.
    pub const NETNAME: u16 = 0x0005;
    /// SMB2_TRANSPORT_CAPABILITIES.
    pub const TRANSPORT: u16 = 0x0006;
    /// SMB2_RDMA_TRANSFORM_CAPABILITIES.
    pub const RDMA_TRANSFORM: u16 = 0x0007;
    /// SMB2_SIGNING_CAPABILITIES.
    pub const SIGNING: u16 = 0x0008;
    /// SHA-512, the one preauth hash algorithm.
    pub const SHA512: u16 = 0x0001;
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

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// One negotiate context to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NegotiateContext {
    /// ContextType.
    pub kind: u16,
    /// Data.
    pub data: Vec<u8>,
}

impl NegotiateContext {
    /// Preauth integrity with SHA-512 and a salt.
    pub fn preauth_sha512(salt: &[u8]) -> Self {
        let mut d = Vec::with_capacity(6 + salt.len());
        d.extend_from_slice(&1u16.to_le_bytes());
        d.extend_from_slice(&u16::try_from(salt.len()).unwrap_or(0).to_le_bytes());
        d.extend_from_slice(&context::SHA512.to_le_bytes());
        d.extend_from_slice(salt);
        Self { kind: context::PREAUTH_INTEGRITY, data: d }
    }

    /// A list of 16-bit ids behind a 16-bit count (encryption ciphers, signing algorithms).
    pub fn id_list(kind: u16, ids: &[u16]) -> Self {
        let mut d = u16::try_from(ids.len()).unwrap_or(0).to_le_bytes().to_vec();
        for id in ids {
            d.extend_from_slice(&id.to_le_bytes());
        }
        Self { kind, data: d }
    }

    /// The server name (NETNAME), UTF-16LE.
    pub fn netname(name: &str) -> Self {
        Self { kind: context::NETNAME, data: name.encode_utf16().flat_map(u16::to_le_bytes).collect() }
    }
}

/// The ids of an id-list context (encryption, signing): count, then 16-bit ids.
///
/// # Errors
/// [`WireError::OutOfBounds`] when the count says more than the data holds.
pub fn parse_id_list(data: &[u8], field: &'static str) -> Result<Vec<u16>, WireError> {
    let count =
        usize::from(data.first_chunk::<2>().map(|c| u16::from_le_bytes(*c)).ok_or(WireError::OutOfBounds { field })?);
    let ids = data.get(2..2 + 2 * count).ok_or(WireError::OutOfBounds { field })?;
    Ok(ids.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect())
}

/// Iterates over a negotiate context list: `(ContextType, Data)`, each checked.
pub fn contexts(list: &[u8], count: u16) -> impl Iterator<Item = Result<(u16, &[u8]), WireError>> {
    let mut rest = list;
    let mut left = count;
    std::iter::from_fn(move || {
        if left == 0 {
            return None;
        }
        left -= 1;
        let item = (|| {
            let head = rest.first_chunk::<8>().ok_or(WireError::OutOfBounds { field: "NegotiateContext" })?;
            let (kind, len) = (le16(head, 0), usize::from(le16(head, 2)));
            let data = rest.get(8..8 + len).ok_or(WireError::OutOfBounds { field: "NegotiateContext Data" })?;
            // The next context starts at the next 8-byte boundary (the last one needs no padding).
            let next = (8 + len).next_multiple_of(8).min(rest.len());
            rest = &rest[next..];
            Ok((kind, data))
        })();
        if item.is_err() {
            left = 0;
        }
        Some(item)
    })
}

/// A NEGOTIATE request to encode.
#[derive(Debug, Clone, PartialEq, Eq)]
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
    /// Encodes header and body into `out` (no Direct TCP framing).
    pub fn encode(&self, header: &HeaderFields, out: &mut Vec<u8>) {
        let start = out.len();
        HeaderFields { command: Command::NEGOTIATE, ..*header }.encode(out);
        let with_contexts = self.dialects.contains(&Dialect::SMB_311) && !self.contexts.is_empty();
        out.extend_from_slice(&36u16.to_le_bytes());
        out.extend_from_slice(&u16::try_from(self.dialects.len()).unwrap_or(0).to_le_bytes());
        out.extend_from_slice(&self.security_mode.to_le_bytes());
        out.extend_from_slice(&[0; 2]);
        out.extend_from_slice(&self.capabilities.to_le_bytes());
        out.extend_from_slice(&self.client_guid);
        let offset_at = out.len();
        out.extend_from_slice(&[0; 8]); // NegotiateContextOffset/Count/Reserved2, or ClientStartTime
        for d in &self.dialects {
            out.extend_from_slice(&d.0.to_le_bytes());
        }
        if with_contexts {
            let first = pad8(out, start);
            out[offset_at..offset_at + 4].copy_from_slice(&u32::try_from(first).unwrap_or(0).to_le_bytes());
            out[offset_at + 4..offset_at + 6]
                .copy_from_slice(&u16::try_from(self.contexts.len()).unwrap_or(0).to_le_bytes());
            for (i, c) in self.contexts.iter().enumerate() {
                if i > 0 {
                    pad8(out, start);
                }
                out.extend_from_slice(&c.kind.to_le_bytes());
                out.extend_from_slice(&u16::try_from(c.data.len()).unwrap_or(0).to_le_bytes());
                out.extend_from_slice(&[0; 4]);
                out.extend_from_slice(&c.data);
            }
        }
    }
}

/// Pads `out` with zeros to an 8-byte boundary counted from `start`; returns the aligned offset.
fn pad8(out: &mut Vec<u8>, start: usize) -> usize {
    let rel = out.len() - start;
    out.resize(start + rel.next_multiple_of(8), 0);
    out.len() - start
}

/// A checked view of a NEGOTIATE response (whole message, header first).
#[derive(Debug, Clone, Copy)]
pub struct NegotiateResponse<'a> {
    body: &'a [u8; 64],
    security_buffer: &'a [u8],
    contexts: &'a [u8],
    context_count: u16,
}

impl<'a> NegotiateResponse<'a> {
    /// Checks the body's size, the security buffer and the context list against the message.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        header::Header::parse(message)?;
        let body: &[u8; 64] = message.get(header::LEN..).and_then(|b| b.first_chunk()).ok_or(WireError::Truncated {
            structure: "NEGOTIATE response",
            need: header::LEN + 64,
            got: message.len(),
        })?;
        if le16(body, 0) != 65 {
            return Err(WireError::BadStructureSize { structure: "NEGOTIATE response", got: le16(body, 0) });
        }
        let (off, len) = (usize::from(le16(body, 56)), usize::from(le16(body, 58)));
        let security_buffer = if len == 0 {
            &[][..]
        } else {
            message.get(off..off + len).ok_or(WireError::OutOfBounds { field: "SecurityBuffer" })?
        };
        // Contexts exist only in 3.1.1 responses; other dialects reuse the field as Reserved.
        let count = if le16(body, 4) == Dialect::SMB_311.0 { le16(body, 6) } else { 0 };
        let contexts = if count > 0 {
            let ctx_off = le32(body, 60) as usize;
            if ctx_off % 8 != 0 {
                return Err(WireError::Misaligned { field: "NegotiateContextOffset" });
            }
            message.get(ctx_off..).ok_or(WireError::OutOfBounds { field: "NegotiateContextOffset" })?
        } else {
            &[][..]
        };
        let view = Self { body, security_buffer, contexts, context_count: count };
        for c in view.negotiate_contexts() {
            c?;
        }
        Ok(view)
    }

    /// SecurityMode.
    pub fn security_mode(&self) -> u16 {
        le16(self.body, 2)
    }
    /// DialectRevision.
    pub fn dialect(&self) -> Dialect {
        Dialect(le16(self.body, 4))
    }
    /// NegotiateContextCount.
    pub fn context_count(&self) -> u16 {
        self.context_count
    }
    /// ServerGuid.
    pub fn server_guid(&self) -> [u8; 16] {
        let mut g = [0u8; 16];
        g.copy_from_slice(&self.body[8..24]);
        g
    }
    /// Capabilities.
    pub fn capabilities(&self) -> u32 {
        le32(self.body, 24)
    }
    /// MaxTransactSize.
    pub fn max_transact_size(&self) -> u32 {
        le32(self.body, 28)
    }
    /// MaxReadSize.
    pub fn max_read_size(&self) -> u32 {
        le32(self.body, 32)
    }
    /// MaxWriteSize.
    pub fn max_write_size(&self) -> u32 {
        le32(self.body, 36)
    }
    /// The server's SPNEGO hint (NegTokenInit2), opaque here.
    pub fn security_buffer(&self) -> &'a [u8] {
        self.security_buffer
    }
    /// The negotiate contexts (3.1.1), checked by `parse`.
    pub fn negotiate_contexts(&self) -> impl Iterator<Item = Result<(u16, &'a [u8]), WireError>> + use<'a> {
        contexts(self.contexts, self.context_count())
    }
}
