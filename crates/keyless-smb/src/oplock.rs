//! OPLOCK_BREAK (MS-SMB2 2.2.23 to 2.2.25): the oplock break notification, acknowledgment and
//! response (one 24-byte structure), and the lease break notification (44 bytes) with its
//! acknowledgment and response (36 bytes). The StructureSize tells them apart.

use crate::body::{bytes16, fixed, le16, le32};
use crate::control::FileId;
use crate::{Command, Message, WireError, header};

/// An oplock break notification, acknowledgment or response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OplockBreak {
    /// OplockLevel (the new level).
    pub oplock_level: u8,
    /// The open.
    pub file_id: FileId,
}

impl Message<'_> for OplockBreak {
    const COMMAND: Command = Command::OPLOCK_BREAK;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 24, 24, "oplock break")?;
        Ok(Self { oplock_level: b[2], file_id: bytes16(b, 8) })
    }

    fn body_len(&self) -> usize {
        24
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        out.extend_from_slice(&24u16.to_le_bytes());
        out.push(self.oplock_level);
        out.extend_from_slice(&[0; 5]);
        out.extend_from_slice(&self.file_id);
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
        let b = fixed(message, 44, 44, "lease break notification")?;
        Ok(Self {
            new_epoch: le16(b, 2),
            flags: le32(b, 4),
            lease_key: bytes16(b, 8),
            current_state: le32(b, 24),
            new_state: le32(b, 28),
        })
    }

    fn body_len(&self) -> usize {
        44
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        out.extend_from_slice(&44u16.to_le_bytes());
        out.extend_from_slice(&self.new_epoch.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.lease_key);
        out.extend_from_slice(&self.current_state.to_le_bytes());
        out.extend_from_slice(&self.new_state.to_le_bytes());
        out.extend_from_slice(&[0; 12]); // BreakReason, AccessMaskHint, ShareMaskHint
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
        let b = fixed(message, 36, 36, "lease break acknowledgment")?;
        Ok(Self { flags: le32(b, 4), lease_key: bytes16(b, 8), state: le32(b, 24) })
    }

    fn body_len(&self) -> usize {
        36
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        out.extend_from_slice(&36u16.to_le_bytes());
        out.extend_from_slice(&[0; 2]);
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.lease_key);
        out.extend_from_slice(&self.state.to_le_bytes());
        out.extend_from_slice(&[0; 8]); // LeaseDuration
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
        let size = message.get(header::LEN..).filter(|b| b.len() >= 2).map(|b| le16(b, 0));
        match size {
            Some(44) => LeaseBreakNotification::parse(message).map(Self::LeaseNotification),
            Some(36) => LeaseBreakAck::parse(message).map(Self::LeaseAck),
            _ => OplockBreak::parse(message).map(Self::Oplock),
        }
    }
}
