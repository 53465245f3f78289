//! The small fixed messages: ECHO (2.2.28/29), LOGOFF (2.2.7/8), TREE_DISCONNECT (2.2.11/12) and
//! CANCEL (2.2.30), whose bodies are StructureSize 4 and two reserved bytes; FLUSH (2.2.17/18)
//! and CLOSE (2.2.15/16) on a FileId.

use crate::body::{bytes16, fixed, le16, le32, le64};
use crate::message::empty_message;
use crate::{Command, Message, WireError};

/// An SMB2 FileId: Persistent and Volatile, 8 bytes each.
pub type FileId = [u8; 16];

empty_message! {
    /// ECHO request or response.
    Echo = ECHO, 4, "ECHO";
    /// LOGOFF request or response.
    Logoff = LOGOFF, 4, "LOGOFF";
    /// TREE_DISCONNECT request or response.
    TreeDisconnect = TREE_DISCONNECT, 4, "TREE_DISCONNECT";
    /// CANCEL request (sent with the MessageId or AsyncId of the request to cancel; no response).
    Cancel = CANCEL, 4, "CANCEL";
    /// FLUSH response.
    FlushResponse = FLUSH, 4, "FLUSH response";
}

/// A FLUSH request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FlushRequest {
    /// The open to flush.
    pub file_id: FileId,
}

impl Message<'_> for FlushRequest {
    const COMMAND: Command = Command::FLUSH;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 24, 24, "FLUSH request")?;
        Ok(Self { file_id: bytes16(b, 8) })
    }

    fn body_len(&self) -> usize {
        24
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        out.extend_from_slice(&24u16.to_le_bytes());
        out.extend_from_slice(&[0; 6]);
        out.extend_from_slice(&self.file_id);
        Ok(())
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

impl Message<'_> for CloseRequest {
    const COMMAND: Command = Command::CLOSE;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 24, 24, "CLOSE request")?;
        Ok(Self { flags: le16(b, 2), file_id: bytes16(b, 8) })
    }

    fn body_len(&self) -> usize {
        24
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        out.extend_from_slice(&24u16.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.file_id);
        Ok(())
    }
}

/// FileAttributes bits (MS-FSCC 2.6).
pub mod file_attribute {
    /// Read-only.
    pub const READONLY: u32 = 0x0000_0001;
    /// Hidden.
    pub const HIDDEN: u32 = 0x0000_0002;
    /// System.
    pub const SYSTEM: u32 = 0x0000_0004;
    /// A directory.
    pub const DIRECTORY: u32 = 0x0000_0010;
    /// Archive.
    pub const ARCHIVE: u32 = 0x0000_0020;
    /// No other attribute set.
    pub const NORMAL: u32 = 0x0000_0080;
    /// Temporary.
    pub const TEMPORARY: u32 = 0x0000_0100;
    /// Sparse.
    pub const SPARSE_FILE: u32 = 0x0000_0200;
    /// A reparse point (a symbolic link, a DFS link).
    pub const REPARSE_POINT: u32 = 0x0000_0400;
}

/// The attributes a CLOSE response (with POSTQUERY_ATTRIB) and a CREATE response carry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileAttributes {
    /// CreationTime, LastAccessTime, LastWriteTime, ChangeTime (FILETIMEs).
    pub times: [u64; 4],
    /// AllocationSize.
    pub allocation_size: u64,
    /// EndofFile.
    pub end_of_file: u64,
    /// FileAttributes.
    pub file_attributes: u32,
}

impl FileAttributes {
    /// Whether they are a directory's.
    pub fn is_directory(&self) -> bool {
        self.file_attributes & file_attribute::DIRECTORY != 0
    }

    /// Reads the 52 bytes at `at` (times, sizes, attributes).
    pub(crate) fn read(b: &[u8], at: usize) -> Self {
        Self {
            times: [le64(b, at), le64(b, at + 8), le64(b, at + 16), le64(b, at + 24)],
            allocation_size: le64(b, at + 32),
            end_of_file: le64(b, at + 40),
            file_attributes: le32(b, at + 48),
        }
    }

    /// Writes the 52 bytes.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        for t in self.times {
            out.extend_from_slice(&t.to_le_bytes());
        }
        out.extend_from_slice(&self.allocation_size.to_le_bytes());
        out.extend_from_slice(&self.end_of_file.to_le_bytes());
        out.extend_from_slice(&self.file_attributes.to_le_bytes());
    }
}

/// A CLOSE response (attributes are zero unless POSTQUERY_ATTRIB was asked).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CloseResponse {
    /// Flags.
    pub flags: u16,
    /// The file's times, sizes and attributes.
    pub attributes: FileAttributes,
}

impl Message<'_> for CloseResponse {
    const COMMAND: Command = Command::CLOSE;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 60, 60, "CLOSE response")?;
        Ok(Self { flags: le16(b, 2), attributes: FileAttributes::read(b, 8) })
    }

    fn body_len(&self) -> usize {
        60
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        out.extend_from_slice(&60u16.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        self.attributes.write(out);
        Ok(())
    }
}
