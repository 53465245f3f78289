//! The small fixed messages: ECHO (2.2.28/29), LOGOFF (2.2.7/8) and TREE_DISCONNECT (2.2.11/12),
//! whose bodies are StructureSize 4 and two reserved bytes; FLUSH (2.2.17/18) and CLOSE
//! (2.2.15/16) on a FileId.

use crate::body::fixed;
use crate::header::HeaderFields;
use crate::{Command, WireError};

/// An SMB2 FileId: Persistent and Volatile, 8 bytes each.
pub type FileId = [u8; 16];

/// Encodes ECHO, LOGOFF or TREE_DISCONNECT (request or response: the body is the same).
///
/// # Errors
/// [`WireError::BadValue`] for another command.
pub fn encode_empty(command: Command, header: &HeaderFields, out: &mut Vec<u8>) -> Result<(), WireError> {
    if ![Command::ECHO, Command::LOGOFF, Command::TREE_DISCONNECT].contains(&command) {
        return Err(WireError::BadValue { field: "Command" });
    }
    HeaderFields { command, ..*header }.encode(out);
    out.extend_from_slice(&4u16.to_le_bytes());
    out.extend_from_slice(&[0, 0]);
    Ok(())
}

/// Checks an ECHO, LOGOFF or TREE_DISCONNECT message (or a FLUSH response).
///
/// # Errors
/// The [`WireError`] naming the field.
pub fn parse_empty(message: &[u8]) -> Result<(), WireError> {
    fixed(message, 4, 4, "SMB2 empty body").map(|_| ())
}

fn file_id(b: &[u8], at: usize) -> FileId {
    let mut id = [0u8; 16];
    id.copy_from_slice(&b[at..at + 16]);
    id
}

/// A FLUSH request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushRequest {
    /// The open to flush.
    pub file_id: FileId,
}

impl FlushRequest {
    /// Encodes header and body.
    pub fn encode(&self, header: &HeaderFields, out: &mut Vec<u8>) {
        HeaderFields { command: Command::FLUSH, ..*header }.encode(out);
        out.extend_from_slice(&24u16.to_le_bytes());
        out.extend_from_slice(&[0; 6]);
        out.extend_from_slice(&self.file_id);
    }

    /// Decodes a whole request message.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 24, 24, "FLUSH request")?;
        Ok(Self { file_id: file_id(b, 8) })
    }
}

/// CLOSE flag: return the file's attributes (2.2.15).
pub const CLOSE_FLAG_POSTQUERY_ATTRIB: u16 = 0x0001;

/// A CLOSE request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CloseRequest {
    /// Flags.
    pub flags: u16,
    /// The open to close.
    pub file_id: FileId,
}

impl CloseRequest {
    /// Encodes header and body.
    pub fn encode(&self, header: &HeaderFields, out: &mut Vec<u8>) {
        HeaderFields { command: Command::CLOSE, ..*header }.encode(out);
        out.extend_from_slice(&24u16.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.file_id);
    }

    /// Decodes a whole request message.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 24, 24, "CLOSE request")?;
        Ok(Self { flags: u16::from_le_bytes([b[2], b[3]]), file_id: file_id(b, 8) })
    }
}

/// A CLOSE response (times are FILETIMEs; zero unless POSTQUERY_ATTRIB was asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CloseResponse {
    /// Flags.
    pub flags: u16,
    /// CreationTime, LastAccessTime, LastWriteTime, ChangeTime.
    pub times: [u64; 4],
    /// AllocationSize.
    pub allocation_size: u64,
    /// EndofFile.
    pub end_of_file: u64,
    /// FileAttributes.
    pub file_attributes: u32,
}

impl CloseResponse {
    /// Decodes a whole response message.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 60, 60, "CLOSE response")?;
        let u64_at = |at: usize| {
            let mut x = [0u8; 8];
            x.copy_from_slice(&b[at..at + 8]);
            u64::from_le_bytes(x)
        };
        Ok(Self {
            flags: u16::from_le_bytes([b[2], b[3]]),
            times: [u64_at(8), u64_at(16), u64_at(24), u64_at(32)],
            allocation_size: u64_at(40),
            end_of_file: u64_at(48),
            file_attributes: u32::from_le_bytes([b[56], b[57], b[58], b[59]]),
        })
    }

    /// Encodes header and body.
    pub fn encode(&self, header: &HeaderFields, out: &mut Vec<u8>) {
        HeaderFields { command: Command::CLOSE, ..*header }.encode(out);
        out.extend_from_slice(&60u16.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        for t in self.times {
            out.extend_from_slice(&t.to_le_bytes());
        }
        out.extend_from_slice(&self.allocation_size.to_le_bytes());
        out.extend_from_slice(&self.end_of_file.to_le_bytes());
        out.extend_from_slice(&self.file_attributes.to_le_bytes());
    }
}
