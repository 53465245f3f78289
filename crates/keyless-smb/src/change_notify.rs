//! CHANGE_NOTIFY (MS-SMB2 2.2.35 request, 2.2.36 response) and the FILE_NOTIFY_INFORMATION
//! entries of its output (MS-FSCC 2.7.1).

use crate::body::{chained, fit32, fixed, fixed_part, get, put, put_utf16, utf16, write_chained, zeroed};
use crate::control::FileId;
use crate::message::output_response;
use crate::{Command, Message, WireError};

/// CompletionFilter bits (2.2.35).
pub mod filter {
    /// A file name changed.
    pub const FILE_NAME: u32 = 0x0000_0001;
    /// A directory name changed.
    pub const DIR_NAME: u32 = 0x0000_0002;
    /// Attributes changed.
    pub const ATTRIBUTES: u32 = 0x0000_0004;
    /// Size changed.
    pub const SIZE: u32 = 0x0000_0008;
    /// Last write time changed.
    pub const LAST_WRITE: u32 = 0x0000_0010;
}

/// Flag: watch the whole subtree.
pub const WATCH_TREE: u16 = 0x0001;

/// A CHANGE_NOTIFY request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ChangeNotifyRequest {
    /// Flags ([`WATCH_TREE`]).
    pub flags: u16,
    /// OutputBufferLength.
    pub output_buffer_length: u32,
    /// The directory's open.
    pub file_id: FileId,
    /// CompletionFilter.
    pub completion_filter: u32,
}

/// CHANGE_NOTIFY request fields (2.2.35), from the body's start; Reserved 28..32 stays zero.
mod change_notify_request {
    use crate::body::Field;
    pub const FIXED: usize = 32;
    pub const STRUCTURE_SIZE: u16 = 32;
    pub const FLAGS: Field = 2..4;
    pub const OUTPUT_BUFFER_LENGTH: Field = 4..8;
    pub const FILE_ID: Field = 8..24;
    pub const COMPLETION_FILTER: Field = 24..28;
}

/// FILE_NOTIFY_INFORMATION fields (MS-FSCC 2.7.1); NextEntryOffset 0..4 belongs to the chain;
/// the name follows.
mod file_notify {
    use crate::body::Field;
    pub const FIXED: usize = 12;
    pub const ACTION: Field = 4..8;
    pub const FILE_NAME_LENGTH: Field = 8..12;
}

impl Message<'_> for ChangeNotifyRequest {
    const COMMAND: Command = Command::CHANGE_NOTIFY;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        use change_notify_request as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "CHANGE_NOTIFY request")?;
        Ok(Self {
            flags: get(b, f::FLAGS),
            output_buffer_length: get(b, f::OUTPUT_BUFFER_LENGTH),
            file_id: get(b, f::FILE_ID),
            completion_filter: get(b, f::COMPLETION_FILTER),
        })
    }

    fn body_len(&self) -> usize {
        change_notify_request::FIXED
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use change_notify_request as f;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::FLAGS, self.flags);
        put(b, f::OUTPUT_BUFFER_LENGTH, self.output_buffer_length);
        put(b, f::FILE_ID, self.file_id);
        put(b, f::COMPLETION_FILTER, self.completion_filter);
        Ok(())
    }
}

output_response! {
    /// A CHANGE_NOTIFY response; [`FileNotify::parse_all`] reads its output.
    ChangeNotifyResponse = CHANGE_NOTIFY, "CHANGE_NOTIFY response";
}

/// One FILE_NOTIFY_INFORMATION entry.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileNotify {
    /// Action (1 added, 2 removed, 3 modified, 4 renamed old name, 5 renamed new name).
    pub action: u32,
    /// The name relative to the watched directory.
    pub file_name: String,
}

impl FileNotify {
    /// Decodes a CHANGE_NOTIFY output buffer.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse_all(output: &[u8]) -> Result<Vec<Self>, WireError> {
        use file_notify as f;
        chained(output, f::FIXED, "FILE_NOTIFY_INFORMATION")
            .map(|e| {
                let raw = e?;
                let name = raw
                    .get(f::FIXED..f::FIXED + get::<u32>(raw, f::FILE_NAME_LENGTH) as usize)
                    .ok_or(WireError::OutOfBounds { field: "FILE_NOTIFY_INFORMATION FileNameLength" })?;
                Ok(Self { action: get(raw, f::ACTION), file_name: utf16(name, "FILE_NOTIFY_INFORMATION FileName")? })
            })
            .collect()
    }

    /// Encodes entries as a CHANGE_NOTIFY output buffer.
    ///
    /// # Errors
    /// [`WireError::BadValue`] for names over 4 GiB.
    pub fn encode_all(entries: &[Self], out: &mut Vec<u8>) -> Result<(), WireError> {
        write_chained(out, entries, |e, out| {
            use file_notify as f;
            let mut name = Vec::new();
            put_utf16(&mut name, &e.file_name);
            let name_len = fit32(name.len(), "FileNameLength")?;
            let b = zeroed(out, f::FIXED);
            put(b, f::ACTION, e.action);
            put(b, f::FILE_NAME_LENGTH, name_len);
            out.extend_from_slice(&name);
            Ok(())
        })
    }
}
