//! IOCTL (MS-SMB2 2.2.31 request, 2.2.32 response) with opaque input and output buffers, and the
//! FSCTL payloads a client builds and reads: VALIDATE_NEGOTIATE_INFO (2.2.31.4, 2.2.32.6);
//! DFS_GET_REFERRALS carries [`crate::dfs`]'s messages, PIPE_TRANSCEIVE the RPC bytes as they
//! are.

use crate::body::{buffer, fit16, fit32, fixed, fixed_part, get, need, put, zeroed};
use crate::control::FileId;
use crate::{Command, Dialect, Message, WireError, header};

keyless_wire_enum::wire_enum! {
    /// FSCTL / IOCTL codes (MS-SMB2 2.2.31, MS-FSCC 2.3).
    #[derive(Default)]
    pub struct CtlCode(u32) {
        /// FSCTL_DFS_GET_REFERRALS.
        DFS_GET_REFERRALS = 0x0006_0194 => "FSCTL_DFS_GET_REFERRALS",
        /// FSCTL_DFS_GET_REFERRALS_EX.
        DFS_GET_REFERRALS_EX = 0x0006_01B0 => "FSCTL_DFS_GET_REFERRALS_EX",
        /// FSCTL_PIPE_PEEK.
        PIPE_PEEK = 0x0011_400C => "FSCTL_PIPE_PEEK",
        /// FSCTL_PIPE_WAIT.
        PIPE_WAIT = 0x0011_0018 => "FSCTL_PIPE_WAIT",
        /// FSCTL_PIPE_TRANSCEIVE.
        PIPE_TRANSCEIVE = 0x0011_C017 => "FSCTL_PIPE_TRANSCEIVE",
        /// FSCTL_SRV_COPYCHUNK.
        SRV_COPYCHUNK = 0x0014_40F2 => "FSCTL_SRV_COPYCHUNK",
        /// FSCTL_SRV_REQUEST_RESUME_KEY.
        SRV_REQUEST_RESUME_KEY = 0x0014_0078 => "FSCTL_SRV_REQUEST_RESUME_KEY",
        /// FSCTL_QUERY_NETWORK_INTERFACE_INFO.
        QUERY_NETWORK_INTERFACE_INFO = 0x0014_01FC => "FSCTL_QUERY_NETWORK_INTERFACE_INFO",
        /// FSCTL_VALIDATE_NEGOTIATE_INFO.
        VALIDATE_NEGOTIATE_INFO = 0x0014_0204 => "FSCTL_VALIDATE_NEGOTIATE_INFO",
        /// FSCTL_GET_REPARSE_POINT.
        GET_REPARSE_POINT = 0x0009_00A8 => "FSCTL_GET_REPARSE_POINT",
        /// FSCTL_SET_SPARSE.
        SET_SPARSE = 0x0009_00C4 => "FSCTL_SET_SPARSE",
    }
}

/// SMB2_0_IOCTL_IS_FSCTL: the one request flag.
pub const IOCTL_IS_FSCTL: u32 = 0x0000_0001;

/// An IOCTL request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IoctlRequest<'a> {
    /// CtlCode.
    pub ctl_code: CtlCode,
    /// The open (all ones for FSCTLs that address no file).
    pub file_id: FileId,
    /// MaxInputResponse.
    pub max_input_response: u32,
    /// MaxOutputResponse.
    pub max_output_response: u32,
    /// Flags ([`IOCTL_IS_FSCTL`]).
    pub flags: u32,
    /// The input buffer.
    pub input: &'a [u8],
}

/// Where an IOCTL request's input starts (64 + 56).
/// IOCTL request fields (2.2.31), from the body's start; the input follows (Reserved 2..4 and
/// Reserved2 52..56 stay zero).
mod ioctl_request {
    use crate::body::Field;
    pub const FIXED: usize = 56;
    pub const STRUCTURE_SIZE: u16 = 57;
    pub const CTL_CODE: Field = 4..8;
    pub const FILE_ID: Field = 8..24;
    pub const INPUT_OFFSET: Field = 24..28;
    pub const INPUT_COUNT: Field = 28..32;
    pub const MAX_INPUT_RESPONSE: Field = 32..36;
    pub const OUTPUT_OFFSET: Field = 36..40;
    pub const OUTPUT_COUNT: Field = 40..44;
    pub const MAX_OUTPUT_RESPONSE: Field = 44..48;
    pub const FLAGS: Field = 48..52;
}

/// IOCTL response fields (2.2.32); the buffers follow (Reserved 2..4 and Reserved2 44..48
/// stay zero).
mod ioctl_response {
    use crate::body::Field;
    pub const FIXED: usize = 48;
    pub const STRUCTURE_SIZE: u16 = 49;
    pub const CTL_CODE: Field = 4..8;
    pub const FILE_ID: Field = 8..24;
    pub const INPUT_OFFSET: Field = 24..28;
    pub const INPUT_COUNT: Field = 28..32;
    pub const OUTPUT_OFFSET: Field = 32..36;
    pub const OUTPUT_COUNT: Field = 36..40;
    pub const FLAGS: Field = 40..44;
}

/// VALIDATE_NEGOTIATE_INFO request and response fields (2.2.31.4, 2.2.32.6); a request's
/// dialects follow its DialectCount.
mod validate_negotiate {
    use crate::body::Field;
    pub const FIXED: usize = 24;
    pub const CAPABILITIES: Field = 0..4;
    pub const GUID: Field = 4..20;
    pub const SECURITY_MODE: Field = 20..22;
    /// DialectCount in a request, Dialect in a response.
    pub const DIALECT: Field = 22..24;
}

const REQUEST_INPUT_AT: usize = header::LEN + ioctl_request::FIXED;

impl<'a> Message<'a> for IoctlRequest<'a> {
    const COMMAND: Command = Command::IOCTL;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        use ioctl_request as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "IOCTL request")?;
        let (off, len): (u32, u32) = (get(b, f::INPUT_OFFSET), get(b, f::INPUT_COUNT));
        let input = buffer(message, off as usize, len as usize, REQUEST_INPUT_AT, "IOCTL Input")?;
        if get::<u32>(b, f::OUTPUT_COUNT) != 0 {
            // Requests carry no output buffer (2.2.31: OutputCount MUST be 0).
            return Err(WireError::BadValue { field: "IOCTL OutputCount" });
        }
        Ok(Self {
            ctl_code: CtlCode(get(b, f::CTL_CODE)),
            file_id: get(b, f::FILE_ID),
            max_input_response: get(b, f::MAX_INPUT_RESPONSE),
            max_output_response: get(b, f::MAX_OUTPUT_RESPONSE),
            flags: get(b, f::FLAGS),
            input,
        })
    }

    fn body_len(&self) -> usize {
        ioctl_request::FIXED + self.input.len()
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let len = fit32(self.input.len(), "IOCTL InputCount")?;
        // The offsets say where the buffer is or would be, as Windows sends them.
        use ioctl_request as f;
        let off = REQUEST_INPUT_AT as u32;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::CTL_CODE, self.ctl_code.0);
        put(b, f::FILE_ID, self.file_id);
        put(b, f::INPUT_OFFSET, off);
        put(b, f::INPUT_COUNT, len);
        put(b, f::MAX_INPUT_RESPONSE, self.max_input_response);
        put(b, f::OUTPUT_OFFSET, off); // where output would be; OutputCount stays 0
        put(b, f::MAX_OUTPUT_RESPONSE, self.max_output_response);
        put(b, f::FLAGS, self.flags);
        out.extend_from_slice(self.input);
        Ok(())
    }
}

/// An IOCTL response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IoctlResponse<'a> {
    /// CtlCode.
    pub ctl_code: CtlCode,
    /// FileId.
    pub file_id: FileId,
    /// Flags.
    pub flags: u32,
    /// The input buffer echoed (usually empty).
    pub input: &'a [u8],
    /// The output buffer.
    pub output: &'a [u8],
}

/// Where an IOCTL response's buffers start (64 + 48).
const RESPONSE_BUFFER_AT: usize = header::LEN + ioctl_response::FIXED;

impl IoctlResponse<'_> {
    fn output_at(&self) -> usize {
        (RESPONSE_BUFFER_AT + self.input.len()).next_multiple_of(8)
    }
}

impl<'a> Message<'a> for IoctlResponse<'a> {
    const COMMAND: Command = Command::IOCTL;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        use ioctl_response as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "IOCTL response")?;
        let (in_off, in_len): (u32, u32) = (get(b, f::INPUT_OFFSET), get(b, f::INPUT_COUNT));
        let (out_off, out_len): (u32, u32) = (get(b, f::OUTPUT_OFFSET), get(b, f::OUTPUT_COUNT));
        let input = buffer(message, in_off as usize, in_len as usize, RESPONSE_BUFFER_AT, "IOCTL Input")?;
        let output = buffer(message, out_off as usize, out_len as usize, RESPONSE_BUFFER_AT, "IOCTL Output")?;
        Ok(Self {
            ctl_code: CtlCode(get(b, f::CTL_CODE)),
            file_id: get(b, f::FILE_ID),
            flags: get(b, f::FLAGS),
            input,
            output,
        })
    }

    fn body_len(&self) -> usize {
        if self.output.is_empty() {
            ioctl_response::FIXED + self.input.len()
        } else {
            self.output_at() - header::LEN + self.output.len()
        }
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len() - header::LEN;
        let (in_len, out_len) =
            (fit32(self.input.len(), "IOCTL InputCount")?, fit32(self.output.len(), "IOCTL OutputCount")?);
        // Both offsets say where their buffer is or would be, as Windows and Samba send them.
        let in_off = RESPONSE_BUFFER_AT as u32;
        let out_off = fit32(self.output_at(), "IOCTL OutputOffset")?;
        use ioctl_response as f;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::CTL_CODE, self.ctl_code.0);
        put(b, f::FILE_ID, self.file_id);
        put(b, f::INPUT_OFFSET, in_off);
        put(b, f::INPUT_COUNT, in_len);
        put(b, f::OUTPUT_OFFSET, out_off);
        put(b, f::OUTPUT_COUNT, out_len);
        put(b, f::FLAGS, self.flags);
        out.extend_from_slice(self.input);
        if out_len > 0 {
            crate::body::pad8(out, start);
            out.extend_from_slice(self.output);
        }
        Ok(())
    }
}

/// VALIDATE_NEGOTIATE_INFO request input (2.2.31.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidateNegotiateRequest {
    /// Capabilities as sent in NEGOTIATE.
    pub capabilities: u32,
    /// ClientGuid.
    pub guid: [u8; 16],
    /// SecurityMode.
    pub security_mode: u16,
    /// Dialects as offered.
    pub dialects: Vec<Dialect>,
}

impl ValidateNegotiateRequest {
    /// Decodes the input buffer.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(input: &[u8]) -> Result<Self, WireError> {
        use validate_negotiate as f;
        need(input, f::FIXED, "VALIDATE_NEGOTIATE_INFO request")?;
        let n = usize::from(get::<u16>(input, f::DIALECT));
        let ids = input.get(f::FIXED..f::FIXED + 2 * n).ok_or(WireError::OutOfBounds { field: "Dialects" })?;
        Ok(Self {
            capabilities: get(input, f::CAPABILITIES),
            guid: get(input, f::GUID),
            security_mode: get(input, f::SECURITY_MODE),
            dialects: ids.chunks_exact(2).map(|c| Dialect(u16::from_le_bytes([c[0], c[1]]))).collect(),
        })
    }

    /// Encodes the input buffer.
    ///
    /// # Errors
    /// [`WireError::BadValue`] for too many dialects.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        use validate_negotiate as f;
        let mut b = Vec::with_capacity(f::FIXED + 2 * self.dialects.len());
        let fixed = zeroed(&mut b, f::FIXED);
        put(fixed, f::CAPABILITIES, self.capabilities);
        put(fixed, f::GUID, self.guid);
        put(fixed, f::SECURITY_MODE, self.security_mode);
        put(fixed, f::DIALECT, fit16(self.dialects.len(), "DialectCount")?);
        for d in &self.dialects {
            b.extend_from_slice(&d.0.to_le_bytes());
        }
        Ok(b)
    }
}

/// VALIDATE_NEGOTIATE_INFO response output (2.2.32.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ValidateNegotiateResponse {
    /// The server's Capabilities.
    pub capabilities: u32,
    /// ServerGuid.
    pub guid: [u8; 16],
    /// SecurityMode.
    pub security_mode: u16,
    /// The dialect in use.
    pub dialect: Dialect,
}

impl ValidateNegotiateResponse {
    /// Decodes the output buffer.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn parse(output: &[u8]) -> Result<Self, WireError> {
        use validate_negotiate as f;
        need(output, f::FIXED, "VALIDATE_NEGOTIATE_INFO response")?;
        Ok(Self {
            capabilities: get(output, f::CAPABILITIES),
            guid: get(output, f::GUID),
            security_mode: get(output, f::SECURITY_MODE),
            dialect: Dialect(get(output, f::DIALECT)),
        })
    }

    /// Encodes the output buffer.
    pub fn to_bytes(&self) -> [u8; 24] {
        use validate_negotiate as f;
        let mut b = [0u8; f::FIXED];
        put(&mut b, f::CAPABILITIES, self.capabilities);
        put(&mut b, f::GUID, self.guid);
        put(&mut b, f::SECURITY_MODE, self.security_mode);
        put(&mut b, f::DIALECT, self.dialect.0);
        b
    }
}
