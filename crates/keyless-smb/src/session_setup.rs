//! SESSION_SETUP (MS-SMB2 2.2.5 request, 2.2.6 response). The security buffer is an opaque
//! GSS token here; the offset is from the start of the SMB2 header.

use crate::body::fixed;
use crate::header::{self, HeaderFields};
use crate::{Command, WireError};

/// SessionFlags of the response (2.2.6).
pub mod session_flags {
    /// Guest session.
    pub const IS_GUEST: u16 = 0x0001;
    /// Null (anonymous) session.
    pub const IS_NULL: u16 = 0x0002;
    /// The server requires encryption for this session.
    pub const ENCRYPT_DATA: u16 = 0x0004;
}

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

/// The security buffer an (Offset, Length) pair points to, checked.
fn buffer(message: &[u8], offset: u16, len: u16) -> Result<&[u8], WireError> {
    if len == 0 {
        return Ok(&[]);
    }
    let (off, len) = (usize::from(offset), usize::from(len));
    if off < header::LEN {
        return Err(WireError::OutOfBounds { field: "SecurityBufferOffset" });
    }
    message.get(off..off + len).ok_or(WireError::OutOfBounds { field: "SecurityBuffer" })
}

/// A SESSION_SETUP request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionSetupRequest<'a> {
    /// Flags (0x01: binding).
    pub flags: u8,
    /// SecurityMode.
    pub security_mode: u8,
    /// Capabilities.
    pub capabilities: u32,
    /// Channel (must be 0).
    pub channel: u32,
    /// PreviousSessionId (for reconnection).
    pub previous_session_id: u64,
    /// The GSS token.
    pub security_buffer: &'a [u8],
}

impl<'a> SessionSetupRequest<'a> {
    /// Encodes header and body.
    ///
    /// # Errors
    /// [`WireError::BadValue`] for a token over 65535 bytes.
    pub fn encode(&self, header: &HeaderFields, out: &mut Vec<u8>) -> Result<(), WireError> {
        let len = u16::try_from(self.security_buffer.len())
            .map_err(|_| WireError::BadValue { field: "SecurityBufferLength" })?;
        HeaderFields { command: Command::SESSION_SETUP, ..*header }.encode(out);
        out.extend_from_slice(&25u16.to_le_bytes());
        out.push(self.flags);
        out.push(self.security_mode);
        out.extend_from_slice(&self.capabilities.to_le_bytes());
        out.extend_from_slice(&self.channel.to_le_bytes());
        out.extend_from_slice(&88u16.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.previous_session_id.to_le_bytes());
        out.extend_from_slice(self.security_buffer);
        Ok(())
    }

    /// Decodes a whole request message (what a server or a capture reader sees).
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        let b = fixed(message, 24, 25, "SESSION_SETUP request")?;
        let mut prev = [0u8; 8];
        prev.copy_from_slice(&b[16..24]);
        Ok(Self {
            flags: b[2],
            security_mode: b[3],
            capabilities: u32::from_le_bytes([b[4], b[5], b[6], b[7]]),
            channel: u32::from_le_bytes([b[8], b[9], b[10], b[11]]),
            previous_session_id: u64::from_le_bytes(prev),
            security_buffer: buffer(message, le16(b, 12), le16(b, 14))?,
        })
    }
}

/// A SESSION_SETUP response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionSetupResponse<'a> {
    /// SessionFlags.
    pub session_flags: u16,
    /// The GSS token.
    pub security_buffer: &'a [u8],
}

impl<'a> SessionSetupResponse<'a> {
    /// Decodes a whole response message.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        let b = fixed(message, 8, 9, "SESSION_SETUP response")?;
        Ok(Self { session_flags: le16(b, 2), security_buffer: buffer(message, le16(b, 4), le16(b, 6))? })
    }

    /// Encodes header and body (for test servers and researchers' tools).
    ///
    /// # Errors
    /// [`WireError::BadValue`] for a token over 65535 bytes.
    pub fn encode(&self, header: &HeaderFields, out: &mut Vec<u8>) -> Result<(), WireError> {
        let len = u16::try_from(self.security_buffer.len())
            .map_err(|_| WireError::BadValue { field: "SecurityBufferLength" })?;
        HeaderFields { command: Command::SESSION_SETUP, ..*header }.encode(out);
        out.extend_from_slice(&9u16.to_le_bytes());
        out.extend_from_slice(&self.session_flags.to_le_bytes());
        out.extend_from_slice(&(if len == 0 { 0u16 } else { 72 }).to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(self.security_buffer);
        Ok(())
    }
}
