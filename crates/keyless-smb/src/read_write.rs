//! READ (MS-SMB2 2.2.19/2.2.20) and WRITE (2.2.21/2.2.22), the data path. Decoded data is a
//! slice of the message (no copy; [`ReadResponse::data_range`] gives its position for callers
//! that own the buffer); a WRITE request can also be written as its fixed part only, for callers
//! that append the data themselves.

use crate::body::{buffer, bytes16, fit32, fixed, le16, le32, le64};
use crate::control::FileId;
use crate::header::{self, HeaderFields};
use crate::{Command, Message, WireError};
use core::ops::Range;

/// Where READ response data starts when servers follow the client's Padding hint (64 + 16).
pub const READ_DATA_OFFSET: u8 = 0x50;
/// Where WRITE request data starts (64 + 48).
pub const WRITE_DATA_OFFSET: u16 = 0x70;

/// A READ request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadRequest {
    /// Padding: where the client would like the data in the response.
    pub padding: u8,
    /// Flags (3.0.2+: unbuffered, compressed).
    pub flags: u8,
    /// Bytes to read.
    pub length: u32,
    /// File offset.
    pub offset: u64,
    /// The open.
    pub file_id: FileId,
    /// MinimumCount.
    pub minimum_count: u32,
    /// RemainingBytes.
    pub remaining_bytes: u32,
}

impl Message<'_> for ReadRequest {
    const COMMAND: Command = Command::READ;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 48, 49, "READ request")?;
        Ok(Self {
            padding: b[2],
            flags: b[3],
            length: le32(b, 4),
            offset: le64(b, 8),
            file_id: bytes16(b, 16),
            minimum_count: le32(b, 32),
            remaining_bytes: le32(b, 40),
        })
    }

    fn body_len(&self) -> usize {
        49
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        out.extend_from_slice(&49u16.to_le_bytes());
        out.push(self.padding);
        out.push(self.flags);
        out.extend_from_slice(&self.length.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.file_id);
        out.extend_from_slice(&self.minimum_count.to_le_bytes());
        out.extend_from_slice(&[0; 4]); // Channel
        out.extend_from_slice(&self.remaining_bytes.to_le_bytes());
        out.extend_from_slice(&[0; 2 + 2 + 1]); // ReadChannelInfoOffset/Length, Buffer
        Ok(())
    }
}

/// A READ response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadResponse<'a> {
    /// DataOffset (from the header; 0x50 when the data follows the fixed body).
    pub data_offset: u8,
    /// DataRemaining.
    pub data_remaining: u32,
    /// The data, borrowed from the message.
    pub data: &'a [u8],
}

impl ReadResponse<'_> {
    /// Where the data lies in the message it was decoded from.
    pub fn data_range(&self) -> Range<usize> {
        if self.data.is_empty() {
            return 0..0;
        }
        let off = usize::from(self.data_offset);
        off..off + self.data.len()
    }
}

impl<'a> Message<'a> for ReadResponse<'a> {
    const COMMAND: Command = Command::READ;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        let b = fixed(message, 16, 17, "READ response")?;
        let (off, len) = (b[2], le32(b, 4) as usize);
        let data = buffer(message, usize::from(off), len, header::LEN + 16, "READ response Data")?;
        Ok(Self { data_offset: off, data_remaining: le32(b, 8), data })
    }

    fn body_len(&self) -> usize {
        let gap = usize::from(self.data_offset).saturating_sub(header::LEN + 16);
        16 + if self.data.is_empty() { 0 } else { gap + self.data.len() }
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let len = fit32(self.data.len(), "DataLength")?;
        if len > 0 && usize::from(self.data_offset) < header::LEN + 16 {
            return Err(WireError::BadValue { field: "DataOffset" });
        }
        out.extend_from_slice(&17u16.to_le_bytes());
        out.push(self.data_offset);
        out.push(0);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.data_remaining.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        if len > 0 {
            out.resize(out.len() + usize::from(self.data_offset) - (header::LEN + 16), 0);
            out.extend_from_slice(self.data);
        }
        Ok(())
    }
}

/// A WRITE request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteRequest<'a> {
    /// File offset.
    pub offset: u64,
    /// The open.
    pub file_id: FileId,
    /// RemainingBytes.
    pub remaining_bytes: u32,
    /// Flags (write-through, unbuffered).
    pub flags: u32,
    /// The data, borrowed (from the message when decoded).
    pub data: &'a [u8],
}

impl WriteRequest<'_> {
    /// Encodes the header and the fixed body for `length` bytes of data, which the caller
    /// appends (from its own buffer, no copy through this struct's `data`).
    pub fn encode_head(&self, header: &HeaderFields, length: u32, out: &mut Vec<u8>) {
        HeaderFields { command: Command::WRITE, ..*header }.encode(out);
        self.write_fixed(length, out);
    }

    fn write_fixed(&self, length: u32, out: &mut Vec<u8>) {
        out.extend_from_slice(&49u16.to_le_bytes());
        out.extend_from_slice(&WRITE_DATA_OFFSET.to_le_bytes());
        out.extend_from_slice(&length.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.file_id);
        out.extend_from_slice(&[0; 4]); // Channel
        out.extend_from_slice(&self.remaining_bytes.to_le_bytes());
        out.extend_from_slice(&[0; 2 + 2]); // WriteChannelInfoOffset/Length
        out.extend_from_slice(&self.flags.to_le_bytes());
    }
}

impl<'a> Message<'a> for WriteRequest<'a> {
    const COMMAND: Command = Command::WRITE;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        let b = fixed(message, 48, 49, "WRITE request")?;
        let data = buffer(message, usize::from(le16(b, 2)), le32(b, 4) as usize, header::LEN + 48, "WRITE Data")?;
        if !data.is_empty() && le16(b, 2) != WRITE_DATA_OFFSET {
            // Data anywhere but right after the fixed body would not re-encode to these bytes.
            return Err(WireError::BadValue { field: "WRITE DataOffset" });
        }
        Ok(Self { offset: le64(b, 8), file_id: bytes16(b, 16), remaining_bytes: le32(b, 36), flags: le32(b, 44), data })
    }

    fn body_len(&self) -> usize {
        48 + self.data.len()
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        self.write_fixed(fit32(self.data.len(), "WRITE Length")?, out);
        out.extend_from_slice(self.data);
        Ok(())
    }
}

/// A WRITE response: how much was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteResponse {
    /// Count.
    pub count: u32,
    /// Remaining.
    pub remaining: u32,
}

impl Message<'_> for WriteResponse {
    const COMMAND: Command = Command::WRITE;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 16, 17, "WRITE response")?;
        Ok(Self { count: le32(b, 4), remaining: le32(b, 8) })
    }

    fn body_len(&self) -> usize {
        16
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        out.extend_from_slice(&17u16.to_le_bytes());
        out.extend_from_slice(&[0; 2]);
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&self.remaining.to_le_bytes());
        out.extend_from_slice(&[0; 4]); // WriteChannelInfoOffset/Length
        Ok(())
    }
}
