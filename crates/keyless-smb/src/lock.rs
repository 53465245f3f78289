//! LOCK (MS-SMB2 2.2.26 request with its lock elements, 2.2.27 response).

use crate::body::{bytes16, fit16, fixed, le16, le32, le64};
use crate::control::FileId;
use crate::message::empty_message;
use crate::{Command, Message, WireError, header};

/// Lock element flags (2.2.26.1).
pub mod lock_flags {
    /// Shared (read) lock.
    pub const SHARED: u32 = 0x0000_0001;
    /// Exclusive (write) lock.
    pub const EXCLUSIVE: u32 = 0x0000_0002;
    /// Unlock.
    pub const UNLOCK: u32 = 0x0000_0004;
    /// Fail at once instead of waiting.
    pub const FAIL_IMMEDIATELY: u32 = 0x0000_0010;
}

/// One byte range to lock or unlock.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LockElement {
    /// Offset.
    pub offset: u64,
    /// Length.
    pub length: u64,
    /// Flags.
    pub flags: u32,
}

/// A LOCK request (at least one element).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct LockRequest {
    /// LockSequenceNumber (4 bits) and LockSequenceIndex (28 bits), as on the wire.
    pub lock_sequence: u32,
    /// The open.
    pub file_id: FileId,
    /// The ranges.
    pub locks: Vec<LockElement>,
}

impl Message<'_> for LockRequest {
    const COMMAND: Command = Command::LOCK;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 48, 48, "LOCK request")?;
        let count = usize::from(le16(b, 2));
        if count == 0 {
            return Err(WireError::BadValue { field: "LockCount" });
        }
        let raw = message
            .get(header::LEN + 24..)
            .and_then(|r| r.get(..count.checked_mul(24)?))
            .ok_or(WireError::OutOfBounds { field: "Locks" })?;
        let locks =
            raw.chunks_exact(24).map(|l| LockElement { offset: le64(l, 0), length: le64(l, 8), flags: le32(l, 16) });
        Ok(Self { lock_sequence: le32(b, 4), file_id: bytes16(b, 8), locks: locks.collect() })
    }

    fn body_len(&self) -> usize {
        24 + 24 * self.locks.len()
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let count = fit16(self.locks.len(), "LockCount")?;
        if count == 0 {
            return Err(WireError::BadValue { field: "LockCount" });
        }
        out.extend_from_slice(&48u16.to_le_bytes());
        out.extend_from_slice(&count.to_le_bytes());
        out.extend_from_slice(&self.lock_sequence.to_le_bytes());
        out.extend_from_slice(&self.file_id);
        for l in &self.locks {
            out.extend_from_slice(&l.offset.to_le_bytes());
            out.extend_from_slice(&l.length.to_le_bytes());
            out.extend_from_slice(&l.flags.to_le_bytes());
            out.extend_from_slice(&[0; 4]);
        }
        Ok(())
    }
}

empty_message! {
    /// LOCK response.
    LockResponse = LOCK, 4, "LOCK response";
}
