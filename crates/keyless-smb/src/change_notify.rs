//! CHANGE_NOTIFY (MS-SMB2 2.2.35 request, 2.2.36 response) and the FILE_NOTIFY_INFORMATION
//! entries of its output (MS-FSCC 2.7.1).

use crate::body::{bytes16, chained, fit32, fixed, le16, le32, put_utf16, utf16, write_chained};
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

impl Message<'_> for ChangeNotifyRequest {
    const COMMAND: Command = Command::CHANGE_NOTIFY;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 32, 32, "CHANGE_NOTIFY request")?;
        Ok(Self {
            flags: le16(b, 2),
            output_buffer_length: le32(b, 4),
            file_id: bytes16(b, 8),
            completion_filter: le32(b, 24),
        })
    }

    fn body_len(&self) -> usize {
        32
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        out.extend_from_slice(&32u16.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.output_buffer_length.to_le_bytes());
        out.extend_from_slice(&self.file_id);
        out.extend_from_slice(&self.completion_filter.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
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
        chained(output, 12, "FILE_NOTIFY_INFORMATION")
            .map(|e| {
                let raw = e?;
                let name = raw
                    .get(12..12 + le32(raw, 8) as usize)
                    .ok_or(WireError::OutOfBounds { field: "FILE_NOTIFY_INFORMATION FileNameLength" })?;
                Ok(Self { action: le32(raw, 4), file_name: utf16(name, "FILE_NOTIFY_INFORMATION FileName")? })
            })
            .collect()
    }

    /// Encodes entries as a CHANGE_NOTIFY output buffer.
    ///
    /// # Errors
    /// [`WireError::BadValue`] for names over 4 GiB.
    pub fn encode_all(entries: &[Self], out: &mut Vec<u8>) -> Result<(), WireError> {
        write_chained(out, entries, |e, out| {
            let mut name = Vec::new();
            put_utf16(&mut name, &e.file_name);
            out.extend_from_slice(&[0; 4]);
            out.extend_from_slice(&e.action.to_le_bytes());
            out.extend_from_slice(&fit32(name.len(), "FileNameLength")?.to_le_bytes());
            out.extend_from_slice(&name);
            Ok(())
        })
    }
}
