//! LOCK (MS-SMB2 2.2.26 request with its lock elements, 2.2.27 response).

use crate::body::{fit16, fixed, fixed_part, get, put, zeroed};
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

/// LOCK request fields (2.2.26), from the body's start; LockCount elements follow at 24,
/// the first counted in StructureSize (48).
mod lock_request {
    use crate::body::Field;
    pub const FIXED: usize = 24;
    pub const STRUCTURE_SIZE: u16 = 48;
    pub const LOCK_COUNT: Field = 2..4;
    pub const LOCK_SEQUENCE: Field = 4..8;
    pub const FILE_ID: Field = 8..24;
}

/// SMB2_LOCK_ELEMENT fields (2.2.26.1); Reserved 20..24 stays zero.
mod lock_element {
    use crate::body::Field;
    pub const LEN: usize = 24;
    pub const OFFSET: Field = 0..8;
    pub const LENGTH: Field = 8..16;
    pub const FLAGS: Field = 16..20;
}

impl Message<'_> for LockRequest {
    const COMMAND: Command = Command::LOCK;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        use {lock_element as e, lock_request as f};
        let b = fixed(message, f::FIXED + e::LEN, f::STRUCTURE_SIZE, "LOCK request")?;
        let count = usize::from(get::<u16>(b, f::LOCK_COUNT));
        if count == 0 {
            return Err(WireError::BadValue { field: "LockCount" });
        }
        let raw = message
            .get(header::LEN + f::FIXED..)
            .and_then(|r| r.get(..count.checked_mul(e::LEN)?))
            .ok_or(WireError::OutOfBounds { field: "Locks" })?;
        let locks = raw.chunks_exact(e::LEN).map(|l| LockElement {
            offset: get(l, e::OFFSET),
            length: get(l, e::LENGTH),
            flags: get(l, e::FLAGS),
        });
        Ok(Self { lock_sequence: get(b, f::LOCK_SEQUENCE), file_id: get(b, f::FILE_ID), locks: locks.collect() })
    }

    fn body_len(&self) -> usize {
        lock_request::FIXED + lock_element::LEN * self.locks.len()
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let count = fit16(self.locks.len(), "LockCount")?;
        if count == 0 {
            return Err(WireError::BadValue { field: "LockCount" });
        }
        use {lock_element as e, lock_request as f};
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::LOCK_COUNT, count);
        put(b, f::LOCK_SEQUENCE, self.lock_sequence);
        put(b, f::FILE_ID, self.file_id);
        for l in &self.locks {
            let b = zeroed(out, e::LEN);
            put(b, e::OFFSET, l.offset);
            put(b, e::LENGTH, l.length);
            put(b, e::FLAGS, l.flags);
        }
        Ok(())
    }
}

empty_message! {
    /// LOCK response.
    LockResponse = LOCK, 4, "LOCK response";
}
