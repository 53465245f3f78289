//! What a caller submits to the core: an encoded request whose header the core fills in at
//! send time (MessageId, credits, SessionId, TreeId, ChannelSequence, replay flag, signature),
//! the share or open it acts on (whose ids may change across reconnections), and for a CREATE
//! what it takes to open the file again.

use crate::error::Error;
use keyless_smb::create::Lease;
use keyless_smb::header::HeaderFields;
use keyless_smb::tree_connect::TreeConnectRequest;
use keyless_smb::{Command, Message};

/// Names a submitted request; its answer comes as an event carrying the same id, across
/// reconnections.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct RequestId(pub(crate) u64);

/// A connected share, by the client's own number (the server's TreeId changes when the
/// connection is made again).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TreeSlot(pub(crate) u32);

/// An open file or directory, by the client's own number (its FileId changes when it is
/// reclaimed on a new connection).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct OpenSlot(pub(crate) u32);

/// What a request acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// The session itself (ECHO, LOGOFF).
    Session,
    /// A share: the core writes its current TreeId.
    Tree(TreeSlot),
    /// An open: the core writes its share's TreeId and its current FileId.
    Open(OpenSlot),
}

/// How a durable open is reclaimed (MS-SMB2 3.2.4.4): the CreateGuid it was asked with and
/// the lease it holds.
#[derive(Debug, Clone, Copy)]
pub struct Durability {
    /// The CreateGuid of its DH2Q.
    pub create_guid: [u8; 16],
    /// Its lease (key and state).
    pub lease: Lease,
    /// Asked persistent (a continuously available share).
    pub persistent: bool,
}

/// What a CREATE opens, so the core can open it again on a new connection.
#[derive(Debug, Clone)]
pub struct OpenSpec {
    /// The path on the share (backslashes).
    pub path: String,
    /// DesiredAccess.
    pub desired_access: u32,
    /// ShareAccess.
    pub share_access: u32,
    /// CreateOptions.
    pub create_options: u32,
    /// Set when the CREATE asked for a durable handle under a lease.
    pub durable: Option<Durability>,
    /// Whether to open it again by name when it cannot be reclaimed (or is not durable). A
    /// directory being listed is not: its enumeration would start again.
    pub reopen: bool,
}

/// What the core needs to know about a request besides its bytes.
#[derive(Debug, Clone)]
pub(crate) struct Meta {
    pub(crate) command: Command,
    /// Bytes the credit charge pays for.
    pub(crate) payload: usize,
    pub(crate) target: Target,
    /// A CREATE whose open the core keeps track of.
    pub(crate) opens: Option<OpenSpec>,
    /// A TREE_CONNECT of this share.
    pub(crate) connects: Option<String>,
}

/// A request for the core: the message with room for its header, and what it acts on.
#[derive(Debug)]
pub struct Request {
    pub(crate) message: Vec<u8>,
    pub(crate) meta: Meta,
}

impl Request {
    /// `body` on `target`, charged for no payload.
    ///
    /// # Errors
    /// A field that does not fit its width.
    pub fn new<'a, M: Message<'a>>(body: &M, target: Target) -> Result<Self, Error> {
        let message = body.to_vec(&HeaderFields::default())?;
        Ok(Self::encoded(M::COMMAND, message, target))
    }

    /// A message already encoded (with any header: the core writes it again), for requests that
    /// read their payload straight into the buffer.
    pub fn encoded(command: Command, message: Vec<u8>, target: Target) -> Self {
        Self { message, meta: Meta { command, payload: 0, target, opens: None, connects: None } }
    }

    /// Charges it for `bytes` of payload (READ length, WRITE data, output buffers).
    #[must_use]
    pub fn payload(mut self, bytes: usize) -> Self {
        self.meta.payload = bytes;
        self
    }

    /// A CREATE whose open the core tracks: the answer names an [`OpenSlot`], and the open is
    /// reclaimed or opened again after a reconnection.
    #[must_use]
    pub fn opening(mut self, spec: OpenSpec) -> Self {
        self.meta.opens = Some(spec);
        self
    }

    /// TREE_CONNECT to `\\host\share`; the answer names a [`TreeSlot`].
    ///
    /// # Errors
    /// A path too long for the message.
    pub fn tree_connect(host: &str, share: &str) -> Result<Self, Error> {
        let body = TreeConnectRequest { flags: 0, path: format!("\\\\{host}\\{share}"), contexts: vec![] };
        let mut r = Self::new(&body, Target::Session)?;
        r.meta.connects = Some(share.to_string());
        Ok(r)
    }
}
