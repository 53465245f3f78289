//! The ERROR response (MS-SMB2 2.2.2), the body of any failed command, with the 3.1.1 error
//! contexts (2.2.2.1) and the symbolic link error data (2.2.2.2.1) a client follows.

use crate::WireError;
use crate::body::{buffer, fit16, fit32, fixed, le16, le32, pad8, put_utf16, utf16, utf16_len};
use crate::header::{self, HeaderFields};

/// ErrorId values of error contexts (2.2.2.1).
pub mod error_id {
    /// SMB2_ERROR_ID_DEFAULT.
    pub const DEFAULT: u32 = 0x0000_0000;
    /// SMB2_ERROR_ID_SHARE_REDIRECT.
    pub const SHARE_REDIRECT: u32 = 0x7264_5253;
}

/// Whether a response carries the ERROR body rather than its command's own: a status other
/// than success and a StructureSize of 9, except for the statuses that come with the normal
/// response (MS-SMB2 3.3.4.4): MORE_PROCESSING_REQUIRED (SESSION_SETUP), BUFFER_OVERFLOW
/// (READ, IOCTL, QUERY_INFO) and NOTIFY_ENUM_DIR (CHANGE_NOTIFY). An interim STATUS_PENDING
/// answer has the ERROR body too.
pub fn carries_error_body(h: &header::Header<'_>, message: &[u8]) -> bool {
    use crate::NtStatus;
    let normal =
        [NtStatus::SUCCESS, NtStatus::MORE_PROCESSING_REQUIRED, NtStatus::BUFFER_OVERFLOW, NtStatus::NOTIFY_ENUM_DIR];
    let size = message.get(header::LEN..header::LEN + 2).map(|s| u16::from_le_bytes([s[0], s[1]]));
    h.is_response() && !normal.contains(&h.status()) && size == Some(9)
}

/// An ERROR response. Its command is the failed request's: [`ErrorResponse::encode`] keeps the
/// header's.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ErrorResponse<'a> {
    /// ErrorContextCount (3.1.1; 0: ErrorData is one plain structure).
    pub context_count: u8,
    /// ErrorData, borrowed.
    pub error_data: &'a [u8],
}

/// One error context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ErrorContext<'a> {
    /// ErrorId.
    pub error_id: u32,
    /// ErrorContextData.
    pub data: &'a [u8],
}

impl<'a> ErrorResponse<'a> {
    /// Decodes an error body.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        let b = fixed(message, 8, 9, "ERROR response")?;
        let count = le32(b, 4) as usize;
        let error_data = buffer(message, header::LEN + 8, count, header::LEN + 8, "ERROR ByteCount")?;
        Ok(Self { context_count: b[2], error_data })
    }

    /// Bytes the body takes.
    pub fn body_len(&self) -> usize {
        8 + self.error_data.len().max(1)
    }

    /// Appends header (as given: the failed command's) and body.
    ///
    /// # Errors
    /// [`WireError::BadValue`] for error data over 4 GiB.
    pub fn encode(&self, header: &HeaderFields, out: &mut Vec<u8>) -> Result<(), WireError> {
        let len = fit32(self.error_data.len(), "ERROR ByteCount")?;
        header.encode(out);
        out.extend_from_slice(&9u16.to_le_bytes());
        out.push(self.context_count);
        out.push(0);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(self.error_data);
        if len == 0 {
            out.push(0);
        }
        Ok(())
    }

    /// The error contexts (none unless `context_count` says so), each checked.
    pub fn contexts(&self) -> impl Iterator<Item = Result<ErrorContext<'a>, WireError>> + use<'a> {
        let mut rest = self.error_data;
        let mut left = self.context_count;
        core::iter::from_fn(move || {
            if left == 0 {
                return None;
            }
            left -= 1;
            let ctx = (|| {
                let head = rest.get(..8)?;
                let len = le32(head, 0) as usize;
                let data = rest.get(8..8usize.checked_add(len)?)?;
                let error_id = le32(head, 4);
                rest = rest.get((8 + len).next_multiple_of(8)..).unwrap_or(&[]);
                Some(ErrorContext { error_id, data })
            })();
            if ctx.is_none() {
                left = 0;
            }
            Some(ctx.ok_or(WireError::OutOfBounds { field: "ErrorContext" }))
        })
    }
}

/// Writes error contexts as ErrorData (8-byte aligned, the last unpadded).
///
/// # Errors
/// [`WireError::BadValue`] for context data over 4 GiB.
pub fn encode_error_contexts(contexts: &[ErrorContext<'_>], out: &mut Vec<u8>) -> Result<(), WireError> {
    let start = out.len();
    for (i, c) in contexts.iter().enumerate() {
        if i > 0 {
            pad8(out, start);
        }
        out.extend_from_slice(&fit32(c.data.len(), "ErrorDataLength")?.to_le_bytes());
        out.extend_from_slice(&c.error_id.to_le_bytes());
        out.extend_from_slice(c.data);
    }
    Ok(())
}

/// SymLinkErrorTag: "SYML".
const SYMLINK_TAG: u32 = 0x4C4D_5953;
/// IO_REPARSE_TAG_SYMLINK.
const REPARSE_TAG_SYMLINK: u32 = 0xA000_000C;

/// The symbolic link error response (2.2.2.2.1), the ErrorData of STATUS_STOPPED_ON_SYMLINK.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SymlinkError {
    /// UnparsedPathLength: bytes at the end of the opened path that follow the link.
    pub unparsed_path_length: u16,
    /// The target as the server resolves it.
    pub substitute_name: String,
    /// The target as a user sees it.
    pub print_name: String,
    /// Flags (1: the target is relative).
    pub flags: u32,
}

impl SymlinkError {
    /// Decodes ErrorData.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(data: &[u8]) -> Result<Self, WireError> {
        if data.len() < 28 {
            return Err(WireError::Truncated { structure: "symbolic link error", need: 28, got: data.len() });
        }
        if le32(data, 4) != SYMLINK_TAG || le32(data, 8) != REPARSE_TAG_SYMLINK {
            return Err(WireError::BadValue { field: "SymLinkErrorTag" });
        }
        let path_buffer = &data[28..];
        let name = |off: usize, field| {
            utf16(buffer(path_buffer, usize::from(le16(data, off)), usize::from(le16(data, off + 2)), 0, field)?, field)
        };
        Ok(Self {
            unparsed_path_length: le16(data, 14),
            substitute_name: name(16, "SubstituteName")?,
            print_name: name(20, "PrintName")?,
            flags: le32(data, 24),
        })
    }

    /// Encodes ErrorData (substitute name first, then the print name).
    ///
    /// # Errors
    /// [`WireError::BadValue`] for names too long for their fields.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let (sub, print) = (utf16_len(&self.substitute_name), utf16_len(&self.print_name));
        let reparse_len = fit16(12 + sub + print, "ReparseDataLength")?;
        out.extend_from_slice(&fit32(24 + sub + print, "SymLinkLength")?.to_le_bytes());
        out.extend_from_slice(&SYMLINK_TAG.to_le_bytes());
        out.extend_from_slice(&REPARSE_TAG_SYMLINK.to_le_bytes());
        out.extend_from_slice(&reparse_len.to_le_bytes());
        out.extend_from_slice(&self.unparsed_path_length.to_le_bytes());
        out.extend_from_slice(&0u16.to_le_bytes());
        out.extend_from_slice(&fit16(sub, "SubstituteNameLength")?.to_le_bytes());
        out.extend_from_slice(&fit16(sub, "PrintNameOffset")?.to_le_bytes());
        out.extend_from_slice(&fit16(print, "PrintNameLength")?.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        put_utf16(out, &self.substitute_name);
        put_utf16(out, &self.print_name);
        Ok(())
    }
}
