//! CREATE (MS-SMB2 2.2.13 request, 2.2.14 response) and its create contexts (2.2.13.2): the
//! generic (name, data) list, and typed data for the contexts a client sends and reads back:
//! MxAc (maximal access), QFid (on-disk id), DHnQ and DH2Q (durable handles), RqLs (leases,
//! v1 and v2).

use crate::body::{
    buffer, chained, chained_len, fit16, fit32, fixed, fixed_part, get, need, pad8, put, put_utf16, utf16, utf16_len,
    write_chained, zeroed,
};
use crate::control::{FileAttributes, FileId};
use crate::header;
use crate::{Command, Message, WireError};

/// Create context names (2.2.13.2).
pub mod context_name {
    /// SMB2_CREATE_QUERY_MAXIMAL_ACCESS_REQUEST.
    pub const MAXIMAL_ACCESS: &[u8; 4] = b"MxAc";
    /// SMB2_CREATE_QUERY_ON_DISK_ID.
    pub const QUERY_ON_DISK_ID: &[u8; 4] = b"QFid";
    /// SMB2_CREATE_DURABLE_HANDLE_REQUEST.
    pub const DURABLE_HANDLE: &[u8; 4] = b"DHnQ";
    /// SMB2_CREATE_DURABLE_HANDLE_RECONNECT.
    pub const DURABLE_HANDLE_RECONNECT: &[u8; 4] = b"DHnC";
    /// SMB2_CREATE_DURABLE_HANDLE_REQUEST_V2.
    pub const DURABLE_HANDLE_V2: &[u8; 4] = b"DH2Q";
    /// SMB2_CREATE_DURABLE_HANDLE_RECONNECT_V2.
    pub const DURABLE_HANDLE_RECONNECT_V2: &[u8; 4] = b"DH2C";
    /// SMB2_CREATE_REQUEST_LEASE and _V2.
    pub const LEASE: &[u8; 4] = b"RqLs";
    /// SMB2_CREATE_TIMEWARP_TOKEN.
    pub const TIMEWARP: &[u8; 4] = b"TWrp";
    /// SMB2_CREATE_ALLOCATION_SIZE.
    pub const ALLOCATION_SIZE: &[u8; 4] = b"AlSi";
    /// SMB2_CREATE_SD_BUFFER.
    pub const SECURITY_DESCRIPTOR: &[u8; 4] = b"SecD";
    /// SMB2_CREATE_EA_BUFFER.
    pub const EA_BUFFER: &[u8; 4] = b"ExtA";
}

keyless_wire_enum::wire_enum! {
    /// CreateDisposition values (2.2.13).
    #[derive(Default)]
    pub struct Disposition(u32) {
        /// Replace if it exists, create if not.
        SUPERSEDE = 0 => "FILE_SUPERSEDE",
        /// Open only if it exists.
        OPEN = 1 => "FILE_OPEN",
        /// Create only if it does not exist.
        CREATE = 2 => "FILE_CREATE",
        /// Open or create.
        OPEN_IF = 3 => "FILE_OPEN_IF",
        /// Open and truncate; fail if absent.
        OVERWRITE = 4 => "FILE_OVERWRITE",
        /// Open and truncate, or create.
        OVERWRITE_IF = 5 => "FILE_OVERWRITE_IF",
    }
}

/// CreateOptions bits (2.2.13).
pub mod options {
    /// FILE_DIRECTORY_FILE.
    pub const DIRECTORY_FILE: u32 = 0x0000_0001;
    /// FILE_WRITE_THROUGH.
    pub const WRITE_THROUGH: u32 = 0x0000_0002;
    /// FILE_NON_DIRECTORY_FILE.
    pub const NON_DIRECTORY_FILE: u32 = 0x0000_0040;
    /// FILE_DELETE_ON_CLOSE.
    pub const DELETE_ON_CLOSE: u32 = 0x0000_1000;
    /// FILE_OPEN_REPARSE_POINT.
    pub const OPEN_REPARSE_POINT: u32 = 0x0020_0000;
}

/// ShareAccess bits (2.2.13).
pub mod share_access {
    /// FILE_SHARE_READ.
    pub const READ: u32 = 0x1;
    /// FILE_SHARE_WRITE.
    pub const WRITE: u32 = 0x2;
    /// FILE_SHARE_DELETE.
    pub const DELETE: u32 = 0x4;
}

/// Access mask bits (MS-SMB2 2.2.13.1).
pub mod access {
    /// FILE_READ_DATA / FILE_LIST_DIRECTORY.
    pub const READ_DATA: u32 = 0x0000_0001;
    /// FILE_WRITE_DATA / FILE_ADD_FILE.
    pub const WRITE_DATA: u32 = 0x0000_0002;
    /// FILE_APPEND_DATA.
    pub const APPEND_DATA: u32 = 0x0000_0004;
    /// FILE_READ_EA.
    pub const READ_EA: u32 = 0x0000_0008;
    /// FILE_WRITE_EA.
    pub const WRITE_EA: u32 = 0x0000_0010;
    /// FILE_READ_ATTRIBUTES.
    pub const READ_ATTRIBUTES: u32 = 0x0000_0080;
    /// FILE_WRITE_ATTRIBUTES.
    pub const WRITE_ATTRIBUTES: u32 = 0x0000_0100;
    /// DELETE.
    pub const DELETE: u32 = 0x0001_0000;
    /// READ_CONTROL.
    pub const READ_CONTROL: u32 = 0x0002_0000;
    /// SYNCHRONIZE.
    pub const SYNCHRONIZE: u32 = 0x0010_0000;
    /// MAXIMUM_ALLOWED.
    pub const MAXIMUM_ALLOWED: u32 = 0x0200_0000;
    /// GENERIC_ALL.
    pub const GENERIC_ALL: u32 = 0x1000_0000;
    /// GENERIC_WRITE.
    pub const GENERIC_WRITE: u32 = 0x4000_0000;
    /// GENERIC_READ.
    pub const GENERIC_READ: u32 = 0x8000_0000;
}

keyless_wire_enum::wire_enum! {
    /// RequestedOplockLevel / OplockLevel values (2.2.13).
    #[derive(Default)]
    pub struct OplockLevel(u8) {
        /// No oplock.
        NONE = 0x00 => "SMB2_OPLOCK_LEVEL_NONE",
        /// Level II.
        II = 0x01 => "SMB2_OPLOCK_LEVEL_II",
        /// Exclusive.
        EXCLUSIVE = 0x08 => "SMB2_OPLOCK_LEVEL_EXCLUSIVE",
        /// Batch.
        BATCH = 0x09 => "SMB2_OPLOCK_LEVEL_BATCH",
        /// A lease (the RqLs context says which).
        LEASE = 0xFF => "SMB2_OPLOCK_LEVEL_LEASE",
    }
}

/// Lease state bits (2.2.13.2.8).
pub mod lease_state {
    /// Read caching.
    pub const READ: u32 = 0x01;
    /// Handle caching.
    pub const HANDLE: u32 = 0x02;
    /// Write caching.
    pub const WRITE: u32 = 0x04;
}

/// CREATE_CONTEXT fields (2.2.13.2), from the context's start; the name and data follow.
mod context {
    use crate::body::Field;
    pub const FIXED: usize = 16;
    // Next 0..4 belongs to the chain (body::chained, write_chained).
    pub const NAME_OFFSET: Field = 4..6;
    pub const NAME_LENGTH: Field = 6..8;
    pub const DATA_OFFSET: Field = 10..12;
    pub const DATA_LENGTH: Field = 12..16;
}

/// One create context: a name (four ASCII bytes, or a GUID) and its data, both borrowed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct CreateContext<'a> {
    /// Name.
    pub name: &'a [u8],
    /// Data.
    pub data: &'a [u8],
}

impl<'a> CreateContext<'a> {
    /// A context with this name and data.
    pub fn new(name: &'a [u8], data: &'a [u8]) -> Self {
        Self { name, data }
    }

    /// Where the data starts within the context (8-byte aligned after the name).
    fn data_at(&self) -> usize {
        (context::FIXED + self.name.len()).next_multiple_of(8)
    }

    fn len(&self) -> usize {
        if self.data.is_empty() { context::FIXED + self.name.len() } else { self.data_at() + self.data.len() }
    }

    fn parse_one(entry: &'a [u8]) -> Result<Self, WireError> {
        use context as f;
        let (name_off, name_len): (u16, u16) = (get(entry, f::NAME_OFFSET), get(entry, f::NAME_LENGTH));
        let (data_off, data_len): (u16, u32) = (get(entry, f::DATA_OFFSET), get(entry, f::DATA_LENGTH));
        let name = buffer(entry, usize::from(name_off), usize::from(name_len), f::FIXED, "CreateContext Name")?;
        let data = buffer(entry, usize::from(data_off), data_len as usize, f::FIXED, "CreateContext Data")?;
        Ok(Self { name, data })
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use context as f;
        let start = out.len();
        // DataOffset says where the data is or would be (Windows sends it so for empty data too).
        let data_off = fit16(self.data_at(), "CreateContext DataOffset")?;
        let name_len = fit16(self.name.len(), "CreateContext NameLength")?;
        let data_len = fit32(self.data.len(), "CreateContext DataLength")?;
        let b = zeroed(out, f::FIXED);
        // Next stays zero here: write_chained sets it.
        put(b, f::NAME_OFFSET, f::FIXED as u16);
        put(b, f::NAME_LENGTH, name_len);
        put(b, f::DATA_OFFSET, data_off);
        put(b, f::DATA_LENGTH, data_len);
        out.extend_from_slice(self.name);
        if !self.data.is_empty() {
            pad8(out, start);
            out.extend_from_slice(self.data);
        }
        Ok(())
    }
}

/// Decodes a create context list.
fn parse_contexts(list: &[u8]) -> Result<Vec<CreateContext<'_>>, WireError> {
    chained(list, 16, "CreateContext").map(|e| e.and_then(CreateContext::parse_one)).collect()
}

/// Bytes a context list takes, the last context padded to 8 as well (what Windows sends and
/// CreateContextsLength counts).
fn contexts_len(list: &[CreateContext<'_>]) -> usize {
    chained_len(list.iter().map(CreateContext::len)).next_multiple_of(8)
}

/// A CREATE request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateRequest<'a> {
    /// RequestedOplockLevel.
    pub oplock_level: OplockLevel,
    /// ImpersonationLevel (2: impersonation).
    pub impersonation_level: u32,
    /// DesiredAccess.
    pub desired_access: u32,
    /// FileAttributes.
    pub file_attributes: u32,
    /// ShareAccess.
    pub share_access: u32,
    /// CreateDisposition.
    pub create_disposition: Disposition,
    /// CreateOptions.
    pub create_options: u32,
    /// The path relative to the share, `\`-separated, no leading `\` (empty: the share root).
    pub name: String,
    /// Create contexts.
    pub contexts: Vec<CreateContext<'a>>,
}

/// CREATE request fields (2.2.13), from the body's start; the name follows, then the contexts.
mod create_request {
    use crate::body::Field;
    pub const FIXED: usize = 56;
    pub const STRUCTURE_SIZE: u16 = 57;
    // SecurityFlags 2..3, SmbCreateFlags and Reserved 8..24 stay zero.
    pub const OPLOCK_LEVEL: Field = 3..4;
    pub const IMPERSONATION_LEVEL: Field = 4..8;
    pub const DESIRED_ACCESS: Field = 24..28;
    pub const FILE_ATTRIBUTES: Field = 28..32;
    pub const SHARE_ACCESS: Field = 32..36;
    pub const CREATE_DISPOSITION: Field = 36..40;
    pub const CREATE_OPTIONS: Field = 40..44;
    pub const NAME_OFFSET: Field = 44..46;
    pub const NAME_LENGTH: Field = 46..48;
    pub const CONTEXTS_OFFSET: Field = 48..52;
    pub const CONTEXTS_LENGTH: Field = 52..56;
}

/// Where the name of a CREATE request starts (64 + 56).
const NAME_AT: usize = header::LEN + create_request::FIXED;

impl CreateRequest<'_> {
    /// Bytes the name takes: an empty name (the share root) still takes 8 zero bytes, as
    /// Windows, macOS and Samba clients send it.
    fn name_len(&self) -> usize {
        match utf16_len(&self.name) {
            0 => 8,
            n => n,
        }
    }

    /// Where the contexts start: 8-byte aligned after the name.
    fn contexts_at(&self) -> usize {
        (NAME_AT + self.name_len()).next_multiple_of(8)
    }
}

impl<'a> Message<'a> for CreateRequest<'a> {
    const COMMAND: Command = Command::CREATE;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        use create_request as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "CREATE request")?;
        let (name_off, name_len): (u16, u16) = (get(b, f::NAME_OFFSET), get(b, f::NAME_LENGTH));
        let (list_off, list_len): (u32, u32) = (get(b, f::CONTEXTS_OFFSET), get(b, f::CONTEXTS_LENGTH));
        let name = buffer(message, usize::from(name_off), usize::from(name_len), NAME_AT, "CREATE Name")?;
        let list = buffer(message, list_off as usize, list_len as usize, NAME_AT, "CreateContexts")?;
        Ok(Self {
            oplock_level: OplockLevel(get(b, f::OPLOCK_LEVEL)),
            impersonation_level: get(b, f::IMPERSONATION_LEVEL),
            desired_access: get(b, f::DESIRED_ACCESS),
            file_attributes: get(b, f::FILE_ATTRIBUTES),
            share_access: get(b, f::SHARE_ACCESS),
            create_disposition: Disposition(get(b, f::CREATE_DISPOSITION)),
            create_options: get(b, f::CREATE_OPTIONS),
            name: utf16(name, "CREATE Name")?,
            contexts: parse_contexts(list)?,
        })
    }

    fn body_len(&self) -> usize {
        if self.contexts.is_empty() {
            create_request::FIXED + self.name_len()
        } else {
            self.contexts_at() - header::LEN + contexts_len(&self.contexts)
        }
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len() - header::LEN;
        let name_len = fit16(utf16_len(&self.name), "CREATE NameLength")?;
        let (ctx_off, ctx_len) = if self.contexts.is_empty() {
            (0, 0)
        } else {
            (
                fit32(self.contexts_at(), "CreateContextsOffset")?,
                fit32(contexts_len(&self.contexts), "CreateContextsLength")?,
            )
        };
        use create_request as f;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::OPLOCK_LEVEL, self.oplock_level.0);
        put(b, f::IMPERSONATION_LEVEL, self.impersonation_level);
        put(b, f::DESIRED_ACCESS, self.desired_access);
        put(b, f::FILE_ATTRIBUTES, self.file_attributes);
        put(b, f::SHARE_ACCESS, self.share_access);
        put(b, f::CREATE_DISPOSITION, self.create_disposition.0);
        put(b, f::CREATE_OPTIONS, self.create_options);
        put(b, f::NAME_OFFSET, NAME_AT as u16);
        put(b, f::NAME_LENGTH, name_len);
        put(b, f::CONTEXTS_OFFSET, ctx_off);
        put(b, f::CONTEXTS_LENGTH, ctx_len);
        put_utf16(out, &self.name);
        if self.contexts.is_empty() {
            out.resize(start + NAME_AT + self.name_len(), 0);
        } else {
            out.resize(start + self.contexts_at(), 0);
            write_chained(out, &self.contexts, CreateContext::write)?;
            pad8(out, start);
        }
        Ok(())
    }
}

/// A CREATE response.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CreateResponse<'a> {
    /// OplockLevel.
    pub oplock_level: OplockLevel,
    /// Flags (3.1.1: reparse point).
    pub flags: u8,
    /// CreateAction (0 superseded, 1 opened, 2 created, 3 overwritten).
    pub create_action: u32,
    /// Times, sizes and attributes.
    pub attributes: FileAttributes,
    /// FileId.
    pub file_id: FileId,
    /// Create contexts.
    pub contexts: Vec<CreateContext<'a>>,
}

/// CREATE response fields (2.2.14), from the body's start; the contexts follow.
mod create_response {
    use crate::body::Field;
    pub const FIXED: usize = 88;
    pub const STRUCTURE_SIZE: u16 = 89;
    pub const OPLOCK_LEVEL: Field = 2..3;
    pub const FLAGS: Field = 3..4;
    pub const CREATE_ACTION: Field = 4..8;
    /// Times, sizes and attributes (Reserved2 60..64 stays zero).
    pub const ATTRIBUTES: Field = 8..60;
    pub const FILE_ID: Field = 64..80;
    pub const CONTEXTS_OFFSET: Field = 80..84;
    pub const CONTEXTS_LENGTH: Field = 84..88;
}

/// Where the create contexts of a response start (64 + 88).
const RESPONSE_CONTEXTS_AT: usize = header::LEN + create_response::FIXED;

impl<'a> Message<'a> for CreateResponse<'a> {
    const COMMAND: Command = Command::CREATE;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        use create_response as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "CREATE response")?;
        let (list_off, list_len): (u32, u32) = (get(b, f::CONTEXTS_OFFSET), get(b, f::CONTEXTS_LENGTH));
        let list = buffer(message, list_off as usize, list_len as usize, RESPONSE_CONTEXTS_AT, "CreateContexts")?;
        Ok(Self {
            oplock_level: OplockLevel(get(b, f::OPLOCK_LEVEL)),
            flags: get(b, f::FLAGS),
            create_action: get(b, f::CREATE_ACTION),
            attributes: FileAttributes::read(b, f::ATTRIBUTES),
            file_id: get(b, f::FILE_ID),
            contexts: parse_contexts(list)?,
        })
    }

    fn body_len(&self) -> usize {
        create_response::FIXED + contexts_len(&self.contexts)
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len() - header::LEN;
        let (ctx_off, ctx_len) = if self.contexts.is_empty() {
            (0, 0)
        } else {
            (RESPONSE_CONTEXTS_AT as u32, fit32(contexts_len(&self.contexts), "CreateContextsLength")?)
        };
        use create_response as f;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::OPLOCK_LEVEL, self.oplock_level.0);
        put(b, f::FLAGS, self.flags);
        put(b, f::CREATE_ACTION, self.create_action);
        self.attributes.write(b, f::ATTRIBUTES);
        put(b, f::FILE_ID, self.file_id);
        put(b, f::CONTEXTS_OFFSET, ctx_off);
        put(b, f::CONTEXTS_LENGTH, ctx_len);
        if !self.contexts.is_empty() {
            write_chained(out, &self.contexts, CreateContext::write)?;
            pad8(out, start);
        }
        Ok(())
    }
}

impl<'a> CreateResponse<'a> {
    /// The data of the first context with this name.
    pub fn context(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.contexts.iter().find(|c| c.name == name).map(|c| c.data)
    }
}

/// The MxAc response (2.2.14.2.5): the open's status and the caller's maximal access.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MaximalAccess {
    /// QueryStatus (an NTSTATUS).
    pub query_status: u32,
    /// MaximalAccess.
    pub maximal_access: u32,
}

impl MaximalAccess {
    /// Decodes context data.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn parse(data: &[u8]) -> Result<Self, WireError> {
        need(data, 8, "MxAc response")?;
        Ok(Self { query_status: get(data, Self::QUERY_STATUS), maximal_access: get(data, Self::MAXIMAL_ACCESS) })
    }

    /// Encodes context data.
    pub fn to_bytes(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        put(&mut b, Self::QUERY_STATUS, self.query_status);
        put(&mut b, Self::MAXIMAL_ACCESS, self.maximal_access);
        b
    }

    const QUERY_STATUS: crate::body::Field = 0..4;
    const MAXIMAL_ACCESS: crate::body::Field = 4..8;
}

/// The QFid response (2.2.14.2.9): the file's on-disk id and volume id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OnDiskId {
    /// DiskFileId.
    pub disk_file_id: u64,
    /// VolumeId.
    pub volume_id: u64,
}

impl OnDiskId {
    /// Decodes context data.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn parse(data: &[u8]) -> Result<Self, WireError> {
        need(data, 32, "QFid response")?;
        Ok(Self { disk_file_id: get(data, Self::DISK_FILE_ID), volume_id: get(data, Self::VOLUME_ID) })
    }

    /// Encodes context data (Reserved 16..32 zero).
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        put(&mut b, Self::DISK_FILE_ID, self.disk_file_id);
        put(&mut b, Self::VOLUME_ID, self.volume_id);
        b
    }

    const DISK_FILE_ID: crate::body::Field = 0..8;
    const VOLUME_ID: crate::body::Field = 8..16;
}

/// DH2Q request and response data (2.2.13.2.11, 2.2.14.2.12).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DurableHandleV2 {
    /// Timeout in milliseconds (0: the server's default).
    pub timeout: u32,
    /// Flags (2: persistent).
    pub flags: u32,
    /// CreateGuid (request only; zero in a response).
    pub create_guid: [u8; 16],
}

/// Flags of DH2Q and DH2C (2.2.13.2.11, 2.2.13.2.12).
pub mod durable_flags {
    /// A persistent handle (a continuously available share).
    pub const PERSISTENT: u32 = 0x0000_0002;
}

impl DurableHandleV2 {
    /// Decodes request (32 bytes) or response (8 bytes) data.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn parse(data: &[u8]) -> Result<Self, WireError> {
        need(data, 8, "DH2Q")?;
        let create_guid = if data.len() >= 32 { get(data, Self::CREATE_GUID) } else { [0; 16] };
        Ok(Self { timeout: get(data, Self::TIMEOUT), flags: get(data, Self::FLAGS), create_guid })
    }

    /// Encodes request data (32 bytes; Reserved 8..16 zero).
    pub fn request_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        put(&mut b, Self::TIMEOUT, self.timeout);
        put(&mut b, Self::FLAGS, self.flags);
        put(&mut b, Self::CREATE_GUID, self.create_guid);
        b
    }

    /// Encodes response data (8 bytes).
    pub fn response_bytes(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        put(&mut b, Self::TIMEOUT, self.timeout);
        put(&mut b, Self::FLAGS, self.flags);
        b
    }

    const TIMEOUT: crate::body::Field = 0..4;
    const FLAGS: crate::body::Field = 4..8;
    const CREATE_GUID: crate::body::Field = 16..32;
}

/// DH2C request data (2.2.13.2.12): the durable open to reclaim after a reconnection.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct DurableHandleReconnectV2 {
    /// The open's FileId.
    pub file_id: crate::control::FileId,
    /// The CreateGuid it was opened with.
    pub create_guid: [u8; 16],
    /// Flags (2: persistent).
    pub flags: u32,
}

impl DurableHandleReconnectV2 {
    /// Decodes the 36 bytes.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn parse(data: &[u8]) -> Result<Self, WireError> {
        need(data, 36, "DH2C")?;
        Ok(Self {
            file_id: get(data, Self::FILE_ID),
            create_guid: get(data, Self::CREATE_GUID),
            flags: get(data, Self::FLAGS),
        })
    }

    /// Encodes the 36 bytes.
    pub fn to_bytes(&self) -> [u8; 36] {
        let mut b = [0u8; 36];
        put(&mut b, Self::FILE_ID, self.file_id);
        put(&mut b, Self::CREATE_GUID, self.create_guid);
        put(&mut b, Self::FLAGS, self.flags);
        b
    }

    const FILE_ID: crate::body::Field = 0..16;
    const CREATE_GUID: crate::body::Field = 16..32;
    const FLAGS: crate::body::Field = 32..36;
}

/// RqLs data, v1 (32 bytes, 2.2.13.2.8) or v2 (52 bytes, 2.2.13.2.10), request and response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Lease {
    /// LeaseKey.
    pub key: [u8; 16],
    /// LeaseState.
    pub state: u32,
    /// LeaseFlags (v2: 4 = parent lease key set; responses: 2 = break in progress).
    pub flags: u32,
    /// v2 only: ParentLeaseKey and Epoch.
    pub v2: Option<([u8; 16], u16)>,
}

impl Lease {
    /// Decodes v1 or v2 data (by length).
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn parse(data: &[u8]) -> Result<Self, WireError> {
        need(data, Self::V1, "RqLs")?;
        let v2 = (data.len() >= Self::V2).then(|| (get(data, Self::PARENT_KEY), get(data, Self::EPOCH)));
        Ok(Self { key: get(data, Self::KEY), state: get(data, Self::STATE), flags: get(data, Self::FLAGS), v2 })
    }

    /// Encodes the data (32 or 52 bytes; LeaseDuration 24..32 zero).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = vec![0u8; if self.v2.is_some() { Self::V2 } else { Self::V1 }];
        put(&mut b, Self::KEY, self.key);
        put(&mut b, Self::STATE, self.state);
        put(&mut b, Self::FLAGS, self.flags);
        if let Some((parent, epoch)) = self.v2 {
            put(&mut b, Self::PARENT_KEY, parent);
            put(&mut b, Self::EPOCH, epoch);
        }
        b
    }

    const V1: usize = 32;
    const V2: usize = 52;
    const KEY: crate::body::Field = 0..16;
    const STATE: crate::body::Field = 16..20;
    const FLAGS: crate::body::Field = 20..24;
    const PARENT_KEY: crate::body::Field = 32..48;
    const EPOCH: crate::body::Field = 48..50;
}
