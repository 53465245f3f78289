//! READ (MS-SMB2 2.2.19/2.2.20) and WRITE (2.2.21/2.2.22), the data path. Decoded data is a
//! slice of the message (no copy; [`ReadResponse::data_range`] gives its position for callers
//! that own the buffer); a WRITE request can also be written as its fixed part only, for callers
//! that append the data themselves.

use crate::body::{buffer, fit32, fixed, fixed_part, get, put};
use crate::control::FileId;
use crate::header::{self, HeaderFields};
use crate::{Command, Message, WireError};
use core::ops::Range;

/// Where READ response data starts when servers follow the client's Padding hint (64 + 16).
pub const READ_DATA_OFFSET: u8 = 0x50;
/// Where WRITE request data starts (64 + 48).
pub const WRITE_DATA_OFFSET: u16 = 0x70;

/// READ request fields (MS-SMB2 2.2.19), from the body's start; one Buffer byte follows.
mod read_request {
    use crate::body::Field;
    pub const FIXED: usize = 48;
    pub const STRUCTURE_SIZE: u16 = 49;
    pub const PADDING: Field = 2..3;
    pub const FLAGS: Field = 3..4;
    pub const LENGTH: Field = 4..8;
    pub const OFFSET: Field = 8..16;
    pub const FILE_ID: Field = 16..32;
    pub const MINIMUM_COUNT: Field = 32..36;
    // Channel 36..40 and ReadChannelInfoOffset/Length 44..48 stay zero.
    pub const REMAINING_BYTES: Field = 40..44;
}

/// READ response fields (2.2.20); the data follows at DataOffset.
mod read_response {
    use crate::body::Field;
    pub const FIXED: usize = 16;
    pub const STRUCTURE_SIZE: u16 = 17;
    pub const DATA_OFFSET: Field = 2..3;
    pub const DATA_LENGTH: Field = 4..8;
    pub const DATA_REMAINING: Field = 8..12;
}

/// WRITE request fields (2.2.21); the data follows at DataOffset (0x70).
mod write_request {
    use crate::body::Field;
    pub const FIXED: usize = 48;
    pub const STRUCTURE_SIZE: u16 = 49;
    pub const DATA_OFFSET: Field = 2..4;
    pub const LENGTH: Field = 4..8;
    pub const OFFSET: Field = 8..16;
    pub const FILE_ID: Field = 16..32;
    // Channel 32..36; WriteChannelInfoOffset/Length 40..44: zero from us.
    pub const REMAINING_BYTES: Field = 36..40;
    pub const FLAGS: Field = 44..48;
}

/// WRITE response fields (2.2.22).
mod write_response {
    use crate::body::Field;
    pub const FIXED: usize = 16;
    pub const STRUCTURE_SIZE: u16 = 17;
    pub const COUNT: Field = 4..8;
    pub const REMAINING: Field = 8..12;
}

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
        use read_request as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "READ request")?;
        Ok(Self {
            padding: get(b, f::PADDING),
            flags: get(b, f::FLAGS),
            length: get(b, f::LENGTH),
            offset: get(b, f::OFFSET),
            file_id: get(b, f::FILE_ID),
            minimum_count: get(b, f::MINIMUM_COUNT),
            remaining_bytes: get(b, f::REMAINING_BYTES),
        })
    }

    fn body_len(&self) -> usize {
        read_request::FIXED + 1
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use read_request as f;
        let b = fixed_part(out, f::FIXED + 1, f::STRUCTURE_SIZE); // the one Buffer byte: zero
        put(b, f::PADDING, self.padding);
        put(b, f::FLAGS, self.flags);
        put(b, f::LENGTH, self.length);
        put(b, f::OFFSET, self.offset);
        put(b, f::FILE_ID, self.file_id);
        put(b, f::MINIMUM_COUNT, self.minimum_count);
        put(b, f::REMAINING_BYTES, self.remaining_bytes);
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

    #[inline] // the data path: one call per READ answer
    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        use read_response as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "READ response")?;
        let (off, len): (u8, u32) = (get(b, f::DATA_OFFSET), get(b, f::DATA_LENGTH));
        let data = buffer(message, usize::from(off), len as usize, header::LEN + f::FIXED, "READ response Data")?;
        Ok(Self { data_offset: off, data_remaining: get(b, f::DATA_REMAINING), data })
    }

    fn body_len(&self) -> usize {
        let gap = usize::from(self.data_offset).saturating_sub(header::LEN + read_response::FIXED);
        read_response::FIXED + if self.data.is_empty() { 0 } else { gap + self.data.len() }
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use read_response as f;
        let len = fit32(self.data.len(), "DataLength")?;
        if len > 0 && usize::from(self.data_offset) < header::LEN + f::FIXED {
            return Err(WireError::BadValue { field: "DataOffset" });
        }
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::DATA_OFFSET, self.data_offset);
        put(b, f::DATA_LENGTH, len);
        put(b, f::DATA_REMAINING, self.data_remaining);
        if len > 0 {
            out.resize(out.len() + usize::from(self.data_offset) - (header::LEN + f::FIXED), 0);
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
        use write_request as f;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::DATA_OFFSET, WRITE_DATA_OFFSET);
        put(b, f::LENGTH, length);
        put(b, f::OFFSET, self.offset);
        put(b, f::FILE_ID, self.file_id);
        put(b, f::REMAINING_BYTES, self.remaining_bytes);
        put(b, f::FLAGS, self.flags);
    }
}

impl<'a> Message<'a> for WriteRequest<'a> {
    const COMMAND: Command = Command::WRITE;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        use write_request as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "WRITE request")?;
        let (off, len): (u16, u32) = (get(b, f::DATA_OFFSET), get(b, f::LENGTH));
        let data = buffer(message, usize::from(off), len as usize, header::LEN + f::FIXED, "WRITE Data")?;
        if !data.is_empty() && off != WRITE_DATA_OFFSET {
            // Data anywhere but right after the fixed body would not re-encode to these bytes.
            return Err(WireError::BadValue { field: "WRITE DataOffset" });
        }
        Ok(Self {
            offset: get(b, f::OFFSET),
            file_id: get(b, f::FILE_ID),
            remaining_bytes: get(b, f::REMAINING_BYTES),
            flags: get(b, f::FLAGS),
            data,
        })
    }

    fn body_len(&self) -> usize {
        write_request::FIXED + self.data.len()
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
        use write_response as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "WRITE response")?;
        Ok(Self { count: get(b, f::COUNT), remaining: get(b, f::REMAINING) })
    }

    fn body_len(&self) -> usize {
        write_response::FIXED
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use write_response as f;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::COUNT, self.count);
        put(b, f::REMAINING, self.remaining);
        Ok(())
    }
}
