//! The 64-byte SMB2 header, sync and async forms (MS-SMB2 2.2.1): a checked view for decoding,
//! whose accessors cannot fail once [`Header::parse`] succeeded, and a plain struct for
//! encoding.

use crate::WireError;
use crate::body::{get, put};
use crate::numbers::{Command, NtStatus};

pub use keyless_wire_enum::smb2_header::{LEN, PROTOCOL_ID, field, flags};

/// A checked view of a header at the start of a message.
#[derive(Clone, Copy, Debug)]
pub struct Header<'a> {
    raw: &'a [u8; LEN],
}

impl<'a> Header<'a> {
    /// Checks the ProtocolId and StructureSize (64) of the first 64 bytes of `message`.
    ///
    /// # Errors
    /// [`WireError::Truncated`], [`WireError::BadProtocolId`], [`WireError::BadStructureSize`].
    pub fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        let raw: &[u8; LEN] = message.first_chunk().ok_or(WireError::Truncated {
            structure: "SMB2 header",
            need: LEN,
            got: message.len(),
        })?;
        if raw[field::PROTOCOL_ID] != PROTOCOL_ID {
            return Err(WireError::BadProtocolId { got: [raw[0], raw[1], raw[2], raw[3]] });
        }
        let size: u16 = get(raw, field::STRUCTURE_SIZE);
        if size != 64 {
            return Err(WireError::BadStructureSize { structure: "SMB2 header", got: size });
        }
        Ok(Self { raw })
    }

    /// CreditCharge.
    pub fn credit_charge(&self) -> u16 {
        get::<u16>(self.raw, field::CREDIT_CHARGE)
    }
    /// Status (responses) / ChannelSequence+Reserved (requests).
    pub fn status(&self) -> NtStatus {
        NtStatus(get::<u32>(self.raw, field::STATUS))
    }
    /// Command.
    pub fn command(&self) -> Command {
        Command(get::<u16>(self.raw, field::COMMAND))
    }
    /// CreditRequest / CreditResponse.
    pub fn credits(&self) -> u16 {
        get::<u16>(self.raw, field::CREDITS)
    }
    /// Flags.
    pub fn flags(&self) -> u32 {
        get::<u32>(self.raw, field::FLAGS)
    }
    /// Whether this is a response.
    pub fn is_response(&self) -> bool {
        self.flags() & flags::SERVER_TO_REDIR != 0
    }
    /// Whether this is the async form.
    pub fn is_async(&self) -> bool {
        self.flags() & flags::ASYNC_COMMAND != 0
    }
    /// NextCommand: offset of the next message of a compound (0: last).
    pub fn next_command(&self) -> u32 {
        get::<u32>(self.raw, field::NEXT_COMMAND)
    }
    /// MessageId.
    pub fn message_id(&self) -> u64 {
        get::<u64>(self.raw, field::MESSAGE_ID)
    }
    /// AsyncId (async form only).
    pub fn async_id(&self) -> Option<u64> {
        self.is_async().then(|| get::<u64>(self.raw, field::ASYNC_OR_TREE))
    }
    /// TreeId (sync form only).
    pub fn tree_id(&self) -> Option<u32> {
        (!self.is_async()).then(|| get::<u32>(self.raw, field::TREE_ID))
    }
    /// SessionId.
    pub fn session_id(&self) -> u64 {
        get::<u64>(self.raw, field::SESSION_ID)
    }
    /// Signature.
    pub fn signature(&self) -> &'a [u8; 16] {
        self.raw[field::SIGNATURE].first_chunk().unwrap_or(&[0; 16])
    }
    /// The decoded fields, for encoding again.
    pub fn fields(&self) -> HeaderFields {
        HeaderFields {
            credit_charge: self.credit_charge(),
            status: self.status(),
            command: self.command(),
            credits: self.credits(),
            flags: self.flags(),
            next_command: self.next_command(),
            message_id: self.message_id(),
            async_or_tree: get::<u64>(self.raw, field::ASYNC_OR_TREE),
            session_id: self.session_id(),
            signature: *self.signature(),
        }
    }
}

/// A header to encode.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct HeaderFields {
    /// CreditCharge.
    pub credit_charge: u16,
    /// Status.
    pub status: NtStatus,
    /// Command.
    pub command: Command,
    /// CreditRequest/Response.
    pub credits: u16,
    /// Flags.
    pub flags: u32,
    /// NextCommand.
    pub next_command: u32,
    /// MessageId.
    pub message_id: u64,
    /// AsyncId (async form) or Reserved(4) | TreeId(4) (sync form), as one little-endian u64.
    pub async_or_tree: u64,
    /// SessionId.
    pub session_id: u64,
    /// Signature.
    pub signature: [u8; 16],
}

impl HeaderFields {
    /// A sync request header.
    pub fn request(command: Command, message_id: u64, session_id: u64, tree_id: u32) -> Self {
        Self {
            credit_charge: 1,
            command,
            credits: 1,
            message_id,
            async_or_tree: u64::from(tree_id) << 32,
            session_id,
            ..Self::default()
        }
    }

    /// Appends the 64 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut raw = [0u8; LEN];
        self.write(&mut raw);
        out.extend_from_slice(&raw);
    }

    /// Writes the 64 bytes over `raw` (a message's header, rewritten before it is sent again).
    pub fn write(&self, raw: &mut [u8; LEN]) {
        put(raw, field::PROTOCOL_ID, PROTOCOL_ID);
        put(raw, field::STRUCTURE_SIZE, 64u16);
        put(raw, field::CREDIT_CHARGE, self.credit_charge);
        put(raw, field::STATUS, self.status.0);
        put(raw, field::COMMAND, self.command.0);
        put(raw, field::CREDITS, self.credits);
        put(raw, field::FLAGS, self.flags);
        put(raw, field::NEXT_COMMAND, self.next_command);
        put(raw, field::MESSAGE_ID, self.message_id);
        put(raw, field::ASYNC_OR_TREE, self.async_or_tree);
        put(raw, field::SESSION_ID, self.session_id);
        put(raw, field::SIGNATURE, self.signature);
    }

    /// The TreeId of a sync header.
    pub fn tree_id(&self) -> u32 {
        (self.async_or_tree >> 32) as u32
    }
}

/// Sets the NextCommand of the encoded message at the start of `message` (linking it to the
/// next one of a compound, `next` bytes on).
pub fn set_next_command(message: &mut [u8], next: u32) {
    if let Some(f) = message.get_mut(field::NEXT_COMMAND) {
        f.copy_from_slice(&next.to_le_bytes());
    }
}

/// Where a request of `command` carries the FileId it acts on, counted from the start of the
/// message (header included): CLOSE, FLUSH, LOCK, IOCTL, QUERY_DIRECTORY, CHANGE_NOTIFY and an
/// oplock break acknowledgment at body offset 8 (MS-SMB2 2.2.15, 2.2.17, 2.2.26, 2.2.31,
/// 2.2.33, 2.2.35, 2.2.24.1), READ, WRITE and SET_INFO at 16 (2.2.19, 2.2.21, 2.2.39),
/// QUERY_INFO at 24 (2.2.37). A client that opens the file again after a reconnection writes
/// the new FileId there.
pub fn request_file_id_at(command: Command) -> Option<usize> {
    let body = match command {
        Command::CLOSE
        | Command::FLUSH
        | Command::LOCK
        | Command::IOCTL
        | Command::QUERY_DIRECTORY
        | Command::CHANGE_NOTIFY
        | Command::OPLOCK_BREAK => 8,
        Command::READ | Command::WRITE | Command::SET_INFO => 16,
        Command::QUERY_INFO => 24,
        _ => return None,
    };
    Some(LEN + body)
}
