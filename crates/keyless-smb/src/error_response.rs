//! The ERROR response (MS-SMB2 2.2.2), the body of any failed command, with the 3.1.1 error
//! contexts (2.2.2.1) and the symbolic link error data (2.2.2.2.1) a client follows.

use crate::WireError;
use crate::body::{buffer, fit16, fit32, fixed, fixed_part, get, pad8, put, put_utf16, utf16, utf16_len, zeroed};
use crate::header::{self, HeaderFields};

keyless_wire_enum::wire_enum! {
    /// ErrorId values of error contexts (2.2.2.1).
    #[derive(Default)]
    pub struct ErrorId(u32) {
        /// SMB2_ERROR_ID_DEFAULT.
        DEFAULT = 0x0000_0000 => "SMB2_ERROR_ID_DEFAULT",
        /// SMB2_ERROR_ID_SHARE_REDIRECT.
        SHARE_REDIRECT = 0x7264_5253 => "SMB2_ERROR_ID_SHARE_REDIRECT",
    }
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
    pub error_id: ErrorId,
    /// ErrorContextData.
    pub data: &'a [u8],
}

/// ERROR response fields (2.2.2), from the body's start (Reserved 3..4 stays zero); the
/// ErrorData follows (one zero byte when empty).
mod error_body {
    use crate::body::Field;
    pub const FIXED: usize = 8;
    pub const STRUCTURE_SIZE: u16 = 9;
    pub const CONTEXT_COUNT: Field = 2..3;
    pub const BYTE_COUNT: Field = 4..8;
}

/// ERROR_CONTEXT fields (2.2.2.1), from its start; the data follows.
mod error_context {
    use crate::body::Field;
    pub const LEN: usize = 8;
    pub const DATA_LENGTH: Field = 0..4;
    pub const ERROR_ID: Field = 4..8;
}

/// Symbolic link error response fields (2.2.2.2.1), from the ErrorData's start; the path
/// buffer follows, the name offsets counting from its start.
mod symlink {
    use crate::body::Field;
    pub const FIXED: usize = 28;
    pub const SYMLINK_LENGTH: Field = 0..4;
    pub const SYMLINK_ERROR_TAG: Field = 4..8;
    pub const REPARSE_TAG: Field = 8..12;
    pub const REPARSE_DATA_LENGTH: Field = 12..14;
    pub const UNPARSED_PATH_LENGTH: Field = 14..16;
    pub const SUBSTITUTE_NAME_OFFSET: Field = 16..18;
    pub const SUBSTITUTE_NAME_LENGTH: Field = 18..20;
    pub const PRINT_NAME_OFFSET: Field = 20..22;
    pub const PRINT_NAME_LENGTH: Field = 22..24;
    pub const FLAGS: Field = 24..28;
}

impl<'a> ErrorResponse<'a> {
    /// Decodes an error body.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        use error_body as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "ERROR response")?;
        let count = get::<u32>(b, f::BYTE_COUNT) as usize;
        let at = header::LEN + f::FIXED;
        let error_data = buffer(message, at, count, at, "ERROR ByteCount")?;
        Ok(Self { context_count: get(b, f::CONTEXT_COUNT), error_data })
    }

    /// Bytes the body takes.
    pub fn body_len(&self) -> usize {
        error_body::FIXED + self.error_data.len().max(1)
    }

    /// Appends header (as given: the failed command's) and body.
    ///
    /// # Errors
    /// [`WireError::BadValue`] for error data over 4 GiB.
    pub fn encode(&self, header: &HeaderFields, out: &mut Vec<u8>) -> Result<(), WireError> {
        let len = fit32(self.error_data.len(), "ERROR ByteCount")?;
        use error_body as f;
        header.encode(out);
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::CONTEXT_COUNT, self.context_count);
        put(b, f::BYTE_COUNT, len);
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
                use error_context as c;
                let head = rest.get(..c::LEN)?;
                let len = get::<u32>(head, c::DATA_LENGTH) as usize;
                let data = rest.get(c::LEN..c::LEN.checked_add(len)?)?;
                let error_id = ErrorId(get(head, c::ERROR_ID));
                rest = rest.get((c::LEN + len).next_multiple_of(8)..).unwrap_or(&[]);
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
        let len = fit32(c.data.len(), "ErrorDataLength")?;
        let head = zeroed(out, error_context::LEN);
        put(head, error_context::DATA_LENGTH, len);
        put(head, error_context::ERROR_ID, c.error_id.0);
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
        use symlink as f;
        if data.len() < f::FIXED {
            return Err(WireError::Truncated { structure: "symbolic link error", need: f::FIXED, got: data.len() });
        }
        if get::<u32>(data, f::SYMLINK_ERROR_TAG) != SYMLINK_TAG
            || get::<u32>(data, f::REPARSE_TAG) != REPARSE_TAG_SYMLINK
        {
            return Err(WireError::BadValue { field: "SymLinkErrorTag" });
        }
        let path_buffer = &data[f::FIXED..];
        let name = |off, len, field| {
            let (off, len): (u16, u16) = (get(data, off), get(data, len));
            utf16(buffer(path_buffer, usize::from(off), usize::from(len), 0, field)?, field)
        };
        Ok(Self {
            unparsed_path_length: get(data, f::UNPARSED_PATH_LENGTH),
            substitute_name: name(f::SUBSTITUTE_NAME_OFFSET, f::SUBSTITUTE_NAME_LENGTH, "SubstituteName")?,
            print_name: name(f::PRINT_NAME_OFFSET, f::PRINT_NAME_LENGTH, "PrintName")?,
            flags: get(data, f::FLAGS),
        })
    }

    /// Encodes ErrorData (substitute name first, then the print name).
    ///
    /// # Errors
    /// [`WireError::BadValue`] for names too long for their fields.
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let (sub, print) = (utf16_len(&self.substitute_name), utf16_len(&self.print_name));
        use symlink as f;
        // SymLinkLength counts from SymLinkErrorTag; ReparseDataLength from after itself and
        // UnparsedPathLength's pair (MS-FSCC 2.1.2.4).
        let symlink_len = fit32(f::FIXED - f::SYMLINK_ERROR_TAG.start + sub + print, "SymLinkLength")?;
        let reparse_len = fit16(f::FIXED - f::SUBSTITUTE_NAME_OFFSET.start + sub + print, "ReparseDataLength")?;
        let (sub16, print16) = (fit16(sub, "SubstituteNameLength")?, fit16(print, "PrintNameLength")?);
        let b = zeroed(out, f::FIXED);
        put(b, f::SYMLINK_LENGTH, symlink_len);
        put(b, f::SYMLINK_ERROR_TAG, SYMLINK_TAG);
        put(b, f::REPARSE_TAG, REPARSE_TAG_SYMLINK);
        put(b, f::REPARSE_DATA_LENGTH, reparse_len);
        put(b, f::UNPARSED_PATH_LENGTH, self.unparsed_path_length);
        // SubstituteNameOffset 0: the substitute name comes first in the path buffer.
        put(b, f::SUBSTITUTE_NAME_LENGTH, sub16);
        put(b, f::PRINT_NAME_OFFSET, sub16);
        put(b, f::PRINT_NAME_LENGTH, print16);
        put(b, f::FLAGS, self.flags);
        put_utf16(out, &self.substitute_name);
        put_utf16(out, &self.print_name);
        Ok(())
    }
}
