//! READ (MS-SMB2 2.2.19/2.2.20) and WRITE (2.2.21/2.2.22), the data path. A READ response
//! exposes its data as a range of the message (the caller slices its own buffer: no copy); a
//! WRITE request encodes its fixed part and the caller appends the data.

use crate::body::fixed;
use crate::control::FileId;
use crate::header::{self, HeaderFields};
use crate::{Command, WireError};
use core::ops::Range;

fn le16(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn le32(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

fn le64(b: &[u8], at: usize) -> u64 {
    let mut x = [0u8; 8];
    x.copy_from_slice(&b[at..at + 8]);
    u64::from_le_bytes(x)
}

fn file_id(b: &[u8], at: usize) -> FileId {
    let mut id = [0u8; 16];
    id.copy_from_slice(&b[at..at + 16]);
    id
}

/// Where READ response data starts when servers follow the client's Padding hint (64 + 16).
pub const READ_DATA_OFFSET: u8 = 0x50;
/// Where WRITE request data starts (64 + 48).
pub const WRITE_DATA_OFFSET: u16 = 0x70;

/// A READ request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ReadRequest {
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
}

impl ReadRequest {
    /// Encodes header and body (with the one-byte Buffer the StructureSize counts).
    pub fn encode(&self, header: &HeaderFields, out: &mut Vec<u8>) {
        HeaderFields { command: Command::READ, ..*header }.encode(out);
        out.extend_from_slice(&49u16.to_le_bytes());
        out.push(READ_DATA_OFFSET);
        out.push(self.flags);
        out.extend_from_slice(&self.length.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.file_id);
        out.extend_from_slice(&self.minimum_count.to_le_bytes());
        out.extend_from_slice(&[0; 4 + 4 + 2 + 2]); // Channel, RemainingBytes, ReadChannelInfo
        out.push(0);
    }

    /// Decodes a whole request message.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 49, 49, "READ request")?;
        Ok(Self {
            flags: b[3],
            length: le32(b, 4),
            offset: le64(b, 8),
            file_id: file_id(b, 16),
            minimum_count: le32(b, 32),
        })
    }
}

/// A checked view of a READ response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadResponse {
    /// Where the data lies in the message.
    pub data: Range<usize>,
    /// DataRemaining.
    pub data_remaining: u32,
}

impl ReadResponse {
    /// Checks the data range against the message.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 16, 17, "READ response")?;
        let (off, len) = (usize::from(b[2]), le32(b, 4) as usize);
        if len > 0 && off < header::LEN + 16 {
            return Err(WireError::OutOfBounds { field: "DataOffset" });
        }
        let end = off
            .checked_add(len)
            .filter(|&e| e <= message.len())
            .ok_or(WireError::OutOfBounds { field: "DataLength" })?;
        Ok(Self { data: if len == 0 { 0..0 } else { off..end }, data_remaining: le32(b, 8) })
    }

    /// Encodes a response carrying `data` (for test servers).
    ///
    /// # Errors
    /// [`WireError::BadValue`] for data over 4 GiB.
    pub fn encode(data: &[u8], header: &HeaderFields, out: &mut Vec<u8>) -> Result<(), WireError> {
        let len = u32::try_from(data.len()).map_err(|_| WireError::BadValue { field: "DataLength" })?;
        HeaderFields { command: Command::READ, ..*header }.encode(out);
        out.extend_from_slice(&17u16.to_le_bytes());
        out.push(READ_DATA_OFFSET);
        out.push(0);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&[0; 8]); // DataRemaining, Reserved2
        out.extend_from_slice(data);
        Ok(())
    }
}

/// A WRITE request's fixed part; the data follows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteRequest {
    /// Bytes of data that follow.
    pub length: u32,
    /// File offset.
    pub offset: u64,
    /// The open.
    pub file_id: FileId,
    /// Flags (write-through, unbuffered).
    pub flags: u32,
}

impl WriteRequest {
    /// Encodes header and the fixed body; append exactly `length` bytes of data after it.
    pub fn encode_head(&self, header: &HeaderFields, out: &mut Vec<u8>) {
        HeaderFields { command: Command::WRITE, ..*header }.encode(out);
        out.extend_from_slice(&49u16.to_le_bytes());
        out.extend_from_slice(&WRITE_DATA_OFFSET.to_le_bytes());
        out.extend_from_slice(&self.length.to_le_bytes());
        out.extend_from_slice(&self.offset.to_le_bytes());
        out.extend_from_slice(&self.file_id);
        out.extend_from_slice(&[0; 4 + 4 + 2 + 2]); // Channel, RemainingBytes, WriteChannelInfo
        out.extend_from_slice(&self.flags.to_le_bytes());
    }

    /// Decodes a whole request, returning the fixed part and where the data lies.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &[u8]) -> Result<(Self, Range<usize>), WireError> {
        let b = fixed(message, 48, 49, "WRITE request")?;
        let (off, len) = (usize::from(le16(b, 2)), le32(b, 4));
        let end = off
            .checked_add(len as usize)
            .filter(|&e| off >= header::LEN + 48 && e <= message.len())
            .ok_or(WireError::OutOfBounds { field: "DataOffset/Length" })?;
        Ok((Self { length: len, offset: le64(b, 8), file_id: file_id(b, 16), flags: le32(b, 44) }, off..end))
    }
}

/// A WRITE response: how much was written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct WriteResponse {
    /// Count.
    pub count: u32,
}

impl WriteResponse {
    /// Decodes a whole response message.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &[u8]) -> Result<Self, WireError> {
        Ok(Self { count: le32(fixed(message, 16, 17, "WRITE response")?, 4) })
    }

    /// Encodes header and body.
    pub fn encode(&self, header: &HeaderFields, out: &mut Vec<u8>) {
        HeaderFields { command: Command::WRITE, ..*header }.encode(out);
        out.extend_from_slice(&17u16.to_le_bytes());
        out.extend_from_slice(&[0; 2]);
        out.extend_from_slice(&self.count.to_le_bytes());
        out.extend_from_slice(&[0; 8]);
    }
}

/// An ERROR response (2.2.2): the body of any failed command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorResponse<'a> {
    /// ErrorContextCount (3.1.1).
    pub context_count: u8,
    /// ErrorData.
    pub error_data: &'a [u8],
}

impl<'a> ErrorResponse<'a> {
    /// Decodes an error body.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        let b = fixed(message, 8, 9, "ERROR response")?;
        let count = le32(b, 4) as usize;
        let data = message
            .get(header::LEN + 8..)
            .and_then(|d| d.get(..count))
            .ok_or(WireError::OutOfBounds { field: "ByteCount" })?;
        Ok(Self { context_count: b[2], error_data: data })
    }
}
