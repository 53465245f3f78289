//! The small fixed messages: ECHO (2.2.28/29), LOGOFF (2.2.7/8), TREE_DISCONNECT (2.2.11/12) and
//! CANCEL (2.2.30), whose bodies are StructureSize 4 and two reserved bytes; FLUSH (2.2.17/18)
//! and CLOSE (2.2.15/16) on a FileId.

use crate::body::{Field, fixed, fixed_part, get, put};
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

/// FLUSH request fields (2.2.17), from the body's start.
mod flush_request {
    use crate::body::Field;
    pub const FIXED: usize = 24;
    pub const STRUCTURE_SIZE: u16 = 24;
    pub const FILE_ID: Field = 8..24;
}

/// CLOSE request fields (2.2.15).
mod close_request {
    use crate::body::Field;
    pub const FIXED: usize = 24;
    pub const STRUCTURE_SIZE: u16 = 24;
    pub const FLAGS: Field = 2..4;
    pub const FILE_ID: Field = 8..24;
}

/// CLOSE response fields (2.2.16).
mod close_response {
    use crate::body::Field;
    pub const FIXED: usize = 60;
    pub const STRUCTURE_SIZE: u16 = 60;
    pub const FLAGS: Field = 2..4;
    pub const ATTRIBUTES: Field = 8..60;
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
        use flush_request as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "FLUSH request")?;
        Ok(Self { file_id: get(b, f::FILE_ID) })
    }

    fn body_len(&self) -> usize {
        flush_request::FIXED
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use flush_request as f;
        put(fixed_part(out, f::FIXED, f::STRUCTURE_SIZE), f::FILE_ID, self.file_id);
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
        use close_request as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "CLOSE request")?;
        Ok(Self { flags: get(b, f::FLAGS), file_id: get(b, f::FILE_ID) })
    }

    fn body_len(&self) -> usize {
        close_request::FIXED
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use close_request as f;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::FLAGS, self.flags);
        put(b, f::FILE_ID, self.file_id);
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

/// The 52 bytes of [`FileAttributes`], from their start.
mod file_attributes {
    use crate::body::Field;
    /// CreationTime, LastAccessTime, LastWriteTime, ChangeTime.
    pub const TIMES: [Field; 4] = [0..8, 8..16, 16..24, 24..32];
    pub const ALLOCATION_SIZE: Field = 32..40;
    pub const END_OF_FILE: Field = 40..48;
    pub const FILE_ATTRIBUTES: Field = 48..52;
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

    /// Reads the 52 bytes of field `f` of `b` (times, sizes, attributes).
    pub(crate) fn read(b: &[u8], f: Field) -> Self {
        use file_attributes as a;
        let b = &b[f];
        Self {
            times: a::TIMES.map(|t| get(b, t)),
            allocation_size: get(b, a::ALLOCATION_SIZE),
            end_of_file: get(b, a::END_OF_FILE),
            file_attributes: get(b, a::FILE_ATTRIBUTES),
        }
    }

    /// Writes the 52 bytes into field `f` of `b`.
    pub(crate) fn write(&self, b: &mut [u8], f: Field) {
        use file_attributes as a;
        let b = &mut b[f];
        for (t, at) in self.times.into_iter().zip(a::TIMES) {
            put(b, at, t);
        }
        put(b, a::ALLOCATION_SIZE, self.allocation_size);
        put(b, a::END_OF_FILE, self.end_of_file);
        put(b, a::FILE_ATTRIBUTES, self.file_attributes);
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
        use close_response as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "CLOSE response")?;
        Ok(Self { flags: get(b, f::FLAGS), attributes: FileAttributes::read(b, f::ATTRIBUTES) })
    }

    fn body_len(&self) -> usize {
        close_response::FIXED
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use close_response as f;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::FLAGS, self.flags);
        self.attributes.write(b, f::ATTRIBUTES);
        Ok(())
    }
}
