//! SESSION_SETUP (MS-SMB2 2.2.5 request, 2.2.6 response). The security buffer is an opaque
//! GSS token here; the offset is from the start of the SMB2 header.

use crate::body::{buffer, fit16, fixed, le16, le32, le64};
use crate::header;
use crate::{Command, Message, WireError};

/// SessionFlags of the response (2.2.6).
pub mod session_flags {
    /// Guest session.
    pub const IS_GUEST: u16 = 0x0001;
    /// Null (anonymous) session.
    pub const IS_NULL: u16 = 0x0002;
    /// The server requires encryption for this session.
    pub const ENCRYPT_DATA: u16 = 0x0004;
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

/// Reads a security buffer; it lies after the header and the fixed body.
fn security_buffer(message: &[u8], offset: u16, len: u16) -> Result<&[u8], WireError> {
    buffer(message, usize::from(offset), usize::from(len), header::LEN, "SecurityBuffer")
}

impl<'a> Message<'a> for SessionSetupRequest<'a> {
    const COMMAND: Command = Command::SESSION_SETUP;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        let b = fixed(message, 24, 25, "SESSION_SETUP request")?;
        Ok(Self {
            flags: b[2],
            security_mode: b[3],
            capabilities: le32(b, 4),
            channel: le32(b, 8),
            previous_session_id: le64(b, 16),
            security_buffer: security_buffer(message, le16(b, 12), le16(b, 14))?,
        })
    }

    fn body_len(&self) -> usize {
        24 + self.security_buffer.len()
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let len = fit16(self.security_buffer.len(), "SecurityBufferLength")?;
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
}

/// A SESSION_SETUP response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SessionSetupResponse<'a> {
    /// SessionFlags.
    pub session_flags: u16,
    /// The GSS token.
    pub security_buffer: &'a [u8],
}

impl<'a> Message<'a> for SessionSetupResponse<'a> {
    const COMMAND: Command = Command::SESSION_SETUP;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        let b = fixed(message, 8, 9, "SESSION_SETUP response")?;
        Ok(Self { session_flags: le16(b, 2), security_buffer: security_buffer(message, le16(b, 4), le16(b, 6))? })
    }

    fn body_len(&self) -> usize {
        8 + self.security_buffer.len()
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let len = fit16(self.security_buffer.len(), "SecurityBufferLength")?;
        out.extend_from_slice(&9u16.to_le_bytes());
        out.extend_from_slice(&self.session_flags.to_le_bytes());
        out.extend_from_slice(&72u16.to_le_bytes()); // where the token is or would be, as Windows sends it
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(self.security_buffer);
        Ok(())
    }
}
