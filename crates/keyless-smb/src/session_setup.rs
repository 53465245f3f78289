//! SESSION_SETUP (MS-SMB2 2.2.5 request, 2.2.6 response). The security buffer is an opaque
//! GSS token here; the offset is from the start of the SMB2 header.

use crate::body::{buffer, fit16, fixed, fixed_part, get, put};
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

/// SESSION_SETUP request fields (2.2.5), from the body's start; the token follows.
mod session_setup_request {
    use crate::body::Field;
    pub const FIXED: usize = 24;
    pub const STRUCTURE_SIZE: u16 = 25;
    pub const FLAGS: Field = 2..3;
    pub const SECURITY_MODE: Field = 3..4;
    pub const CAPABILITIES: Field = 4..8;
    pub const CHANNEL: Field = 8..12;
    pub const SECURITY_BUFFER_OFFSET: Field = 12..14;
    pub const SECURITY_BUFFER_LENGTH: Field = 14..16;
    pub const PREVIOUS_SESSION_ID: Field = 16..24;
}

/// SESSION_SETUP response fields (2.2.6); the token follows.
mod session_setup_response {
    use crate::body::Field;
    pub const FIXED: usize = 8;
    pub const STRUCTURE_SIZE: u16 = 9;
    pub const SESSION_FLAGS: Field = 2..4;
    pub const SECURITY_BUFFER_OFFSET: Field = 4..6;
    pub const SECURITY_BUFFER_LENGTH: Field = 6..8;
}

/// Flags of the request (2.2.5).
pub mod setup_flags {
    /// SMB2_SESSION_FLAG_BINDING: a new channel for an existing session.
    pub const BINDING: u8 = 0x01;
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
        use session_setup_request as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "SESSION_SETUP request")?;
        Ok(Self {
            flags: get(b, f::FLAGS),
            security_mode: get(b, f::SECURITY_MODE),
            capabilities: get(b, f::CAPABILITIES),
            channel: get(b, f::CHANNEL),
            previous_session_id: get(b, f::PREVIOUS_SESSION_ID),
            security_buffer: security_buffer(
                message,
                get(b, f::SECURITY_BUFFER_OFFSET),
                get(b, f::SECURITY_BUFFER_LENGTH),
            )?,
        })
    }

    fn body_len(&self) -> usize {
        session_setup_request::FIXED + self.security_buffer.len()
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use session_setup_request as f;
        let len = fit16(self.security_buffer.len(), "SecurityBufferLength")?;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::FLAGS, self.flags);
        put(b, f::SECURITY_MODE, self.security_mode);
        put(b, f::CAPABILITIES, self.capabilities);
        put(b, f::CHANNEL, self.channel);
        put(b, f::SECURITY_BUFFER_OFFSET, (header::LEN + f::FIXED) as u16);
        put(b, f::SECURITY_BUFFER_LENGTH, len);
        put(b, f::PREVIOUS_SESSION_ID, self.previous_session_id);
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
        use session_setup_response as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "SESSION_SETUP response")?;
        let (off, len) = (get(b, f::SECURITY_BUFFER_OFFSET), get(b, f::SECURITY_BUFFER_LENGTH));
        Ok(Self { session_flags: get(b, f::SESSION_FLAGS), security_buffer: security_buffer(message, off, len)? })
    }

    fn body_len(&self) -> usize {
        session_setup_response::FIXED + self.security_buffer.len()
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use session_setup_response as f;
        let len = fit16(self.security_buffer.len(), "SecurityBufferLength")?;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::SESSION_FLAGS, self.session_flags);
        // Where the token is or would be, as Windows sends it.
        put(b, f::SECURITY_BUFFER_OFFSET, (header::LEN + f::FIXED) as u16);
        put(b, f::SECURITY_BUFFER_LENGTH, len);
        out.extend_from_slice(self.security_buffer);
        Ok(())
    }
}
