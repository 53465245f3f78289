//! TREE_CONNECT (MS-SMB2 2.2.9 request, 2.2.10 response). The path is `\\server\share` in
//! UTF-16LE. With TREE_CONNECT_FLAG_EXTENSION_PRESENT (3.1.1) the buffer starts with the request
//! extension (2.2.9.1): a context offset and count, ten reserved bytes, the path, then the tree
//! connect contexts (8-byte aligned, laid out like negotiate contexts).

use crate::body::{buffer, fit16, fit32, fixed, fixed_part, get, pad8, put, put_utf16, utf16, utf16_len, zeroed};
use crate::header;
use crate::negotiate::{contexts_len, read_contexts, write_contexts};
use crate::{Command, Message, WireError};

keyless_wire_enum::wire_enum! {
    /// Share types (2.2.10).
    #[derive(Default)]
    pub struct ShareType(u8) {
        /// A disk share.
        DISK = 0x01 => "SMB2_SHARE_TYPE_DISK",
        /// A named pipe share (IPC$).
        PIPE = 0x02 => "SMB2_SHARE_TYPE_PIPE",
        /// A printer share.
        PRINT = 0x03 => "SMB2_SHARE_TYPE_PRINT",
    }
}

/// ShareFlags bits keyless acts on (2.2.10).
pub mod share_flags {
    /// DFS share.
    pub const DFS: u32 = 0x0000_0001;
    /// DFS root.
    pub const DFS_ROOT: u32 = 0x0000_0002;
    /// The share requires encryption.
    pub const ENCRYPT_DATA: u32 = 0x0000_8000;
}

/// Whether ShareFlags make the share a DFS one (MS-SMB2 3.2.5.5: TreeConnect.IsDfsShare), whose
/// CREATEs then carry SMB2_FLAGS_DFS_OPERATIONS and DFS path names.
pub fn is_dfs_share(flags: u32) -> bool {
    flags & (share_flags::DFS | share_flags::DFS_ROOT) != 0
}

/// Capabilities bits of a share (2.2.10).
pub mod share_capabilities {
    /// The share is in a DFS namespace.
    pub const DFS: u32 = 0x0000_0008;
    /// Continuously available: opens on it may be persistent (3.x).
    pub const CONTINUOUS_AVAILABILITY: u32 = 0x0000_0010;
}

/// Request flags (3.1.1, 2.2.9).
pub mod flags {
    /// Reconnect to a cluster share.
    pub const CLUSTER_RECONNECT: u16 = 0x0001;
    /// The client handles share redirects.
    pub const REDIRECT_TO_OWNER: u16 = 0x0002;
    /// The buffer starts with the request extension.
    pub const EXTENSION_PRESENT: u16 = 0x0004;
}

keyless_wire_enum::wire_enum! {
    /// Tree connect context types (2.2.9.2).
    pub struct TreeConnectContextType(u16) {
        /// SMB2_REMOTED_IDENTITY_TREE_CONNECT_CONTEXT_ID.
        REMOTED_IDENTITY = 0x0001 => "SMB2_REMOTED_IDENTITY_TREE_CONNECT_CONTEXT_ID",
    }
}

impl crate::negotiate::ContextKind for TreeConnectContextType {
    fn from_id(id: u16) -> Self {
        Self(id)
    }
    fn id(self) -> u16 {
        self.0
    }
}

/// A tree connect context (2.2.9.2), e.g. the remoted identity: laid out as a negotiate
/// context, and read and written by the same code.
pub type TreeConnectContext = crate::negotiate::Context<TreeConnectContextType>;

/// A TREE_CONNECT request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct TreeConnectRequest {
    /// Flags (3.1.1) / Reserved.
    pub flags: u16,
    /// `\\server\share`.
    pub path: String,
    /// Tree connect contexts (only with [`flags::EXTENSION_PRESENT`]).
    pub contexts: Vec<TreeConnectContext>,
}

/// TREE_CONNECT request fields (2.2.9), from the body's start; the path follows, or the
/// request extension when EXTENSION_PRESENT is set.
mod tree_connect_request {
    use crate::body::Field;
    pub const FIXED: usize = 8;
    pub const STRUCTURE_SIZE: u16 = 9;
    pub const FLAGS: Field = 2..4;
    pub const PATH_OFFSET: Field = 4..6;
    pub const PATH_LENGTH: Field = 6..8;
}

/// TREE_CONNECT_REQUEST_EXTENSION fields (2.2.9.1), from its start (Reserved 6..16 stays
/// zero); the path follows.
mod extension {
    use crate::body::Field;
    pub const LEN: usize = 16;
    pub const CONTEXT_OFFSET: Field = 0..4;
    pub const CONTEXT_COUNT: Field = 4..6;
}

/// TREE_CONNECT response fields (2.2.10); Reserved 3..4 stays zero.
mod tree_connect_response {
    use crate::body::Field;
    pub const FIXED: usize = 16;
    pub const STRUCTURE_SIZE: u16 = 16;
    pub const SHARE_TYPE: Field = 2..3;
    pub const SHARE_FLAGS: Field = 4..8;
    pub const CAPABILITIES: Field = 8..12;
    pub const MAXIMAL_ACCESS: Field = 12..16;
}

const FIXED: usize = tree_connect_request::FIXED;
const EXTENSION: usize = extension::LEN;

impl TreeConnectRequest {
    fn extended(&self) -> bool {
        self.flags & flags::EXTENSION_PRESENT != 0
    }

    /// Where the contexts start: 8-byte aligned after the extension and the path.
    fn contexts_at(&self) -> usize {
        (header::LEN + FIXED + EXTENSION + utf16_len(&self.path)).next_multiple_of(8)
    }
}

impl Message<'_> for TreeConnectRequest {
    const COMMAND: Command = Command::TREE_CONNECT;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        use tree_connect_request as f;
        let b = fixed(message, FIXED, f::STRUCTURE_SIZE, "TREE_CONNECT request")?;
        let (off, len): (u16, u16) = (get(b, f::PATH_OFFSET), get(b, f::PATH_LENGTH));
        let path = utf16(buffer(message, usize::from(off), usize::from(len), header::LEN, "Path")?, "Path")?;
        let flags: u16 = get(b, f::FLAGS);
        let mut list = Vec::new();
        if flags & flags::EXTENSION_PRESENT != 0 {
            let ext = message
                .get(header::LEN + FIXED..header::LEN + FIXED + EXTENSION)
                .ok_or(WireError::OutOfBounds { field: "TreeConnectRequestExtension" })?;
            let (ctx_off, count) =
                (get::<u32>(ext, extension::CONTEXT_OFFSET) as usize, get(ext, extension::CONTEXT_COUNT));
            let raw = if count == 0 {
                &[][..]
            } else {
                message.get(ctx_off..).ok_or(WireError::OutOfBounds { field: "TreeConnectContextOffset" })?
            };
            list = read_contexts(raw, count)?;
        }
        Ok(Self { flags, path, contexts: list })
    }

    fn body_len(&self) -> usize {
        let path = utf16_len(&self.path);
        if self.extended() {
            if self.contexts.is_empty() {
                FIXED + EXTENSION + path
            } else {
                let at = self.contexts_at();
                at - header::LEN + contexts_len(at, &self.contexts)
            }
        } else {
            FIXED + path
        }
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len() - header::LEN;
        let path_len = fit16(utf16_len(&self.path), "PathLength")?;
        let path_off = header::LEN + FIXED + if self.extended() { EXTENSION } else { 0 };
        use tree_connect_request as f;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::FLAGS, self.flags);
        put(b, f::PATH_OFFSET, path_off as u16);
        put(b, f::PATH_LENGTH, path_len);
        if !self.extended() {
            put_utf16(out, &self.path);
            return Ok(());
        }
        let ext_at = out.len();
        zeroed(out, EXTENSION);
        put_utf16(out, &self.path);
        if !self.contexts.is_empty() {
            pad8(out, start);
            let ctx_off = fit32(out.len() - start, "TreeConnectContextOffset")?;
            let count = fit16(self.contexts.len(), "TreeConnectContextCount")?;
            let ext = &mut out[ext_at..ext_at + EXTENSION];
            put(ext, extension::CONTEXT_OFFSET, ctx_off);
            put(ext, extension::CONTEXT_COUNT, count);
            write_contexts(out, start, &self.contexts)?;
        }
        Ok(())
    }
}

/// A TREE_CONNECT response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TreeConnectResponse {
    /// ShareType.
    pub share_type: ShareType,
    /// ShareFlags.
    pub share_flags: u32,
    /// Capabilities.
    pub capabilities: u32,
    /// MaximalAccess.
    pub maximal_access: u32,
}

impl Message<'_> for TreeConnectResponse {
    const COMMAND: Command = Command::TREE_CONNECT;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        use tree_connect_response as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "TREE_CONNECT response")?;
        Ok(Self {
            share_type: ShareType(get(b, f::SHARE_TYPE)),
            share_flags: get(b, f::SHARE_FLAGS),
            capabilities: get(b, f::CAPABILITIES),
            maximal_access: get(b, f::MAXIMAL_ACCESS),
        })
    }

    fn body_len(&self) -> usize {
        tree_connect_response::FIXED
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use tree_connect_response as f;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::SHARE_TYPE, self.share_type.0);
        put(b, f::SHARE_FLAGS, self.share_flags);
        put(b, f::CAPABILITIES, self.capabilities);
        put(b, f::MAXIMAL_ACCESS, self.maximal_access);
        Ok(())
    }
}
