//! OPLOCK_BREAK (MS-SMB2 2.2.23 to 2.2.25): the oplock break notification, acknowledgment and
//! response (one 24-byte structure), and the lease break notification (44 bytes) with its
//! acknowledgment and response (36 bytes). The StructureSize tells them apart.

use crate::body::{STRUCTURE_SIZE, fixed, fixed_part, get, put};
use crate::control::FileId;
use crate::{Command, Message, WireError, header};

/// Oplock break notification, acknowledgment and response fields (2.2.23.1, 2.2.24.1,
/// 2.2.25.1), from the body's start; Reserved 3..8 stays zero.
mod oplock_break {
    use crate::body::Field;
    pub const FIXED: usize = 24;
    pub const STRUCTURE_SIZE: u16 = 24;
    pub const OPLOCK_LEVEL: Field = 2..3;
    pub const FILE_ID: Field = 8..24;
}

/// Lease break notification fields (2.2.23.2); BreakReason, AccessMaskHint and ShareMaskHint
/// 32..44 stay zero.
mod lease_break_notification {
    use crate::body::Field;
    pub const FIXED: usize = 44;
    pub const STRUCTURE_SIZE: u16 = 44;
    pub const NEW_EPOCH: Field = 2..4;
    pub const FLAGS: Field = 4..8;
    pub const LEASE_KEY: Field = 8..24;
    pub const CURRENT_STATE: Field = 24..28;
    pub const NEW_STATE: Field = 28..32;
}

/// Lease break acknowledgment and response fields (2.2.24.2, 2.2.25.2); LeaseDuration 28..36
/// stays zero.
mod lease_break_ack {
    use crate::body::Field;
    pub const FIXED: usize = 36;
    pub const STRUCTURE_SIZE: u16 = 36;
    pub const FLAGS: Field = 4..8;
    pub const LEASE_KEY: Field = 8..24;
    pub const STATE: Field = 24..28;
}

/// An oplock break notification, acknowledgment or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OplockBreak {
    /// OplockLevel (the new level).
    pub oplock_level: crate::create::OplockLevel,
    /// The open.
    pub file_id: FileId,
}

impl Message<'_> for OplockBreak {
    const COMMAND: Command = Command::OPLOCK_BREAK;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        use oplock_break as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "oplock break")?;
        Ok(Self { oplock_level: crate::create::OplockLevel(get(b, f::OPLOCK_LEVEL)), file_id: get(b, f::FILE_ID) })
    }

    fn body_len(&self) -> usize {
        oplock_break::FIXED
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use oplock_break as f;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::OPLOCK_LEVEL, self.oplock_level.0);
        put(b, f::FILE_ID, self.file_id);
        Ok(())
    }
}

/// A lease break notification (server to client).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaseBreakNotification {
    /// NewEpoch (v2 leases).
    pub new_epoch: u16,
    /// Flags (1: an acknowledgment is required).
    pub flags: u32,
    /// LeaseKey.
    pub lease_key: [u8; 16],
    /// CurrentLeaseState.
    pub current_state: u32,
    /// NewLeaseState.
    pub new_state: u32,
}

impl Message<'_> for LeaseBreakNotification {
    const COMMAND: Command = Command::OPLOCK_BREAK;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        use lease_break_notification as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "lease break notification")?;
        Ok(Self {
            new_epoch: get(b, f::NEW_EPOCH),
            flags: get(b, f::FLAGS),
            lease_key: get(b, f::LEASE_KEY),
            current_state: get(b, f::CURRENT_STATE),
            new_state: get(b, f::NEW_STATE),
        })
    }

    fn body_len(&self) -> usize {
        lease_break_notification::FIXED
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use lease_break_notification as f;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::NEW_EPOCH, self.new_epoch);
        put(b, f::FLAGS, self.flags);
        put(b, f::LEASE_KEY, self.lease_key);
        put(b, f::CURRENT_STATE, self.current_state);
        put(b, f::NEW_STATE, self.new_state);
        Ok(())
    }
}

/// A lease break acknowledgment (client) or response (server).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct LeaseBreakAck {
    /// Flags.
    pub flags: u32,
    /// LeaseKey.
    pub lease_key: [u8; 16],
    /// LeaseState the client keeps.
    pub state: u32,
}

impl Message<'_> for LeaseBreakAck {
    const COMMAND: Command = Command::OPLOCK_BREAK;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        use lease_break_ack as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "lease break acknowledgment")?;
        Ok(Self { flags: get(b, f::FLAGS), lease_key: get(b, f::LEASE_KEY), state: get(b, f::STATE) })
    }

    fn body_len(&self) -> usize {
        lease_break_ack::FIXED
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use lease_break_ack as f;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::FLAGS, self.flags);
        put(b, f::LEASE_KEY, self.lease_key);
        put(b, f::STATE, self.state);
        Ok(())
    }
}

/// Any OPLOCK_BREAK message, told apart by its StructureSize.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Break {
    /// Oplock break notification, acknowledgment or response.
    Oplock(OplockBreak),
    /// Lease break notification.
    LeaseNotification(LeaseBreakNotification),
    /// Lease break acknowledgment or response.
    LeaseAck(LeaseBreakAck),
}

impl Break {
    /// Decodes by StructureSize.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(message: &[u8]) -> Result<Self, WireError> {
        fixed(message, 2, 0, "OPLOCK_BREAK").or_else(|e| match e {
            WireError::BadStructureSize { .. } => Ok(&[][..]),
            e => Err(e),
        })?;
        let size = message.get(header::LEN..).filter(|b| b.len() >= 2).map(|b| get::<u16>(b, STRUCTURE_SIZE));
        match size {
            Some(lease_break_notification::STRUCTURE_SIZE) => {
                LeaseBreakNotification::parse(message).map(Self::LeaseNotification)
            }
            Some(lease_break_ack::STRUCTURE_SIZE) => LeaseBreakAck::parse(message).map(Self::LeaseAck),
            _ => OplockBreak::parse(message).map(Self::Oplock),
        }
    }
}
