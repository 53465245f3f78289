//! TREE_CONNECT (MS-SMB2 2.2.9 request, 2.2.10 response). The path is `\\server\share` in
//! UTF-16LE; the 3.1.1 extension (TREE_CONNECT_FLAG_EXTENSION_PRESENT) is decoded as flags only.

use crate::body::fixed;
use crate::header::{self, HeaderFields};
use crate::{Command, WireError};

/// Share types (2.2.10).
pub mod share_type {
    /// A disk share.
    pub const DISK: u8 = 0x01;
    /// A named pipe share (IPC$).
    pub const PIPE: u8 = 0x02;
    /// A printer share.
    pub const PRINT: u8 = 0x03;
}

/// ShareFlags bits keyless acts on (2.2.10).
pub mod share_flags {
    /// DFS share.
    pub const DFS: u32 = 0x0000_0001;
    /// The share requires encryption.
    pub const ENCRYPT_DATA: u32 = 0x0000_8000;
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// A TREE_CONNECT request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeConnectRequest {
    /// Flags (3.1.1) / Reserved.
    pub flags: u16,
    /// `\\server\share`.
    pub path: String,
}

impl TreeConnectRequest {
    /// Encodes header and body.
    ///
    /// # Errors
    /// [`WireError::BadValue`] for a path over 65535 bytes in UTF-16.
    pub fn encode(&self, header: &HeaderFields, out: &mut Vec<u8>) -> Result<(), WireError> {
        let path: Vec<u8> = self.path.encode_utf16().flat_map(u16::to_le_bytes).collect();
        let len = u16::try_from(path.len()).map_err(|_| WireError::BadValue { field: "PathLength" })?;
        HeaderFields { command: Command::TREE_CONNECT, ..*header }.encode(out);
        out.extend_from_slice(&9u16.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&72u16.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&path);
        Ok(())
    }

    /// Decodes a whole request message.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 8, 9, "TREE_CONNECT request")?;
        let (off, len) = (usize::from(le16(b, 4)), usize::from(le16(b, 6)));
        if len % 2 != 0 {
            return Err(WireError::Misaligned { field: "PathLength" });
        }
        let raw = message
            .get(off..off + len)
            .filter(|_| off >= header::LEN)
            .ok_or(WireError::OutOfBounds { field: "Path" })?;
        let units: Vec<u16> = raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
        Ok(Self {
            flags: le16(b, 2),
            path: String::from_utf16(&units).map_err(|_| WireError::BadValue { field: "Path" })?,
        })
    }
}

/// A TREE_CONNECT response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreeConnectResponse {
    /// ShareType.
    pub share_type: u8,
    /// ShareFlags.
    pub share_flags: u32,
    /// Capabilities.
    pub capabilities: u32,
    /// MaximalAccess.
    pub maximal_access: u32,
}

impl TreeConnectResponse {
    /// Decodes a whole response message.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 16, 16, "TREE_CONNECT response")?;
        Ok(Self { share_type: b[2], share_flags: le32(b, 4), capabilities: le32(b, 8), maximal_access: le32(b, 12) })
    }

    /// Encodes header and body.
    pub fn encode(&self, header: &HeaderFields, out: &mut Vec<u8>) {
        HeaderFields { command: Command::TREE_CONNECT, ..*header }.encode(out);
        out.extend_from_slice(&16u16.to_le_bytes());
        out.push(self.share_type);
        out.push(0);
        out.extend_from_slice(&self.share_flags.to_le_bytes());
        out.extend_from_slice(&self.capabilities.to_le_bytes());
        out.extend_from_slice(&self.maximal_access.to_le_bytes());
    }
}
