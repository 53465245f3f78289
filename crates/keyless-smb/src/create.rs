//! CREATE (MS-SMB2 2.2.13 request, 2.2.14 response) and its create contexts (2.2.13.2): the
//! generic (name, data) list, and typed data for the contexts a client sends and reads back:
//! MxAc (maximal access), QFid (on-disk id), DHnQ and DH2Q (durable handles), RqLs (leases,
//! v1 and v2).

use crate::body::{
    buffer, bytes16, chained, chained_len, fit16, fit32, fixed, le16, le32, le64, need, pad8, put_utf16, utf16,
    utf16_len, write_chained,
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

/// CreateDisposition values (2.2.13).
pub mod disposition {
    /// Replace if it exists, create if not.
    pub const SUPERSEDE: u32 = 0;
    /// Open only if it exists.
    pub const OPEN: u32 = 1;
    /// Create only if it does not exist.
    pub const CREATE: u32 = 2;
    /// Open or create.
    pub const OPEN_IF: u32 = 3;
    /// Open and truncate; fail if absent.
    pub const OVERWRITE: u32 = 4;
    /// Open and truncate, or create.
    pub const OVERWRITE_IF: u32 = 5;
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

/// RequestedOplockLevel / OplockLevel values (2.2.13).
pub mod oplock_level {
    /// No oplock.
    pub const NONE: u8 = 0x00;
    /// Level II.
    pub const II: u8 = 0x01;
    /// Exclusive.
    pub const EXCLUSIVE: u8 = 0x08;
    /// Batch.
    pub const BATCH: u8 = 0x09;
    /// A lease (the RqLs context says which).
    pub const LEASE: u8 = 0xFF;
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
        (16 + self.name.len()).next_multiple_of(8)
    }

    fn len(&self) -> usize {
        if self.data.is_empty() { 16 + self.name.len() } else { self.data_at() + self.data.len() }
    }

    fn parse_one(entry: &'a [u8]) -> Result<Self, WireError> {
        let name = buffer(entry, usize::from(le16(entry, 4)), usize::from(le16(entry, 6)), 16, "CreateContext Name")?;
        let data = buffer(entry, usize::from(le16(entry, 10)), le32(entry, 12) as usize, 16, "CreateContext Data")?;
        Ok(Self { name, data })
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len();
        // DataOffset says where the data is or would be (Windows sends it so for empty data too).
        let data_off = fit16(self.data_at(), "CreateContext DataOffset")?;
        out.extend_from_slice(&[0; 4]); // Next, set by write_chained
        out.extend_from_slice(&16u16.to_le_bytes());
        out.extend_from_slice(&fit16(self.name.len(), "CreateContext NameLength")?.to_le_bytes());
        out.extend_from_slice(&[0; 2]);
        out.extend_from_slice(&data_off.to_le_bytes());
        out.extend_from_slice(&fit32(self.data.len(), "CreateContext DataLength")?.to_le_bytes());
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
    pub oplock_level: u8,
    /// ImpersonationLevel (2: impersonation).
    pub impersonation_level: u32,
    /// DesiredAccess.
    pub desired_access: u32,
    /// FileAttributes.
    pub file_attributes: u32,
    /// ShareAccess.
    pub share_access: u32,
    /// CreateDisposition.
    pub create_disposition: u32,
    /// CreateOptions.
    pub create_options: u32,
    /// The path relative to the share, `\`-separated, no leading `\` (empty: the share root).
    pub name: String,
    /// Create contexts.
    pub contexts: Vec<CreateContext<'a>>,
}

/// Where the name of a CREATE request starts (64 + 56).
const NAME_AT: usize = header::LEN + 56;

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
        let b = fixed(message, 56, 57, "CREATE request")?;
        let name = buffer(message, usize::from(le16(b, 44)), usize::from(le16(b, 46)), NAME_AT, "CREATE Name")?;
        let list = buffer(message, le32(b, 48) as usize, le32(b, 52) as usize, NAME_AT, "CreateContexts")?;
        Ok(Self {
            oplock_level: b[3],
            impersonation_level: le32(b, 4),
            desired_access: le32(b, 24),
            file_attributes: le32(b, 28),
            share_access: le32(b, 32),
            create_disposition: le32(b, 36),
            create_options: le32(b, 40),
            name: utf16(name, "CREATE Name")?,
            contexts: parse_contexts(list)?,
        })
    }

    fn body_len(&self) -> usize {
        if self.contexts.is_empty() {
            56 + self.name_len()
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
        out.extend_from_slice(&57u16.to_le_bytes());
        out.push(0); // SecurityFlags
        out.push(self.oplock_level);
        out.extend_from_slice(&self.impersonation_level.to_le_bytes());
        out.extend_from_slice(&[0; 16]); // SmbCreateFlags, Reserved
        for v in [self.desired_access, self.file_attributes, self.share_access, self.create_disposition] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(&self.create_options.to_le_bytes());
        out.extend_from_slice(&(NAME_AT as u16).to_le_bytes());
        out.extend_from_slice(&name_len.to_le_bytes());
        out.extend_from_slice(&ctx_off.to_le_bytes());
        out.extend_from_slice(&ctx_len.to_le_bytes());
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
    pub oplock_level: u8,
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

/// Where the create contexts of a response start (64 + 88).
const RESPONSE_CONTEXTS_AT: usize = header::LEN + 88;

impl<'a> Message<'a> for CreateResponse<'a> {
    const COMMAND: Command = Command::CREATE;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        let b = fixed(message, 88, 89, "CREATE response")?;
        let list = buffer(message, le32(b, 80) as usize, le32(b, 84) as usize, RESPONSE_CONTEXTS_AT, "CreateContexts")?;
        Ok(Self {
            oplock_level: b[2],
            flags: b[3],
            create_action: le32(b, 4),
            attributes: FileAttributes::read(b, 8),
            file_id: bytes16(b, 64),
            contexts: parse_contexts(list)?,
        })
    }

    fn body_len(&self) -> usize {
        88 + contexts_len(&self.contexts)
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len() - header::LEN;
        let (ctx_off, ctx_len) = if self.contexts.is_empty() {
            (0, 0)
        } else {
            (RESPONSE_CONTEXTS_AT as u32, fit32(contexts_len(&self.contexts), "CreateContextsLength")?)
        };
        out.extend_from_slice(&89u16.to_le_bytes());
        out.push(self.oplock_level);
        out.push(self.flags);
        out.extend_from_slice(&self.create_action.to_le_bytes());
        self.attributes.write(out);
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(&self.file_id);
        out.extend_from_slice(&ctx_off.to_le_bytes());
        out.extend_from_slice(&ctx_len.to_le_bytes());
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
        Ok(Self { query_status: le32(data, 0), maximal_access: le32(data, 4) })
    }

    /// Encodes context data.
    pub fn to_bytes(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&self.query_status.to_le_bytes());
        b[4..].copy_from_slice(&self.maximal_access.to_le_bytes());
        b
    }
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
        Ok(Self { disk_file_id: le64(data, 0), volume_id: le64(data, 8) })
    }

    /// Encodes context data.
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[..8].copy_from_slice(&self.disk_file_id.to_le_bytes());
        b[8..16].copy_from_slice(&self.volume_id.to_le_bytes());
        b
    }
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
        let create_guid = if data.len() >= 32 { bytes16(data, 16) } else { [0; 16] };
        Ok(Self { timeout: le32(data, 0), flags: le32(data, 4), create_guid })
    }

    /// Encodes request data (32 bytes).
    pub fn request_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[..4].copy_from_slice(&self.timeout.to_le_bytes());
        b[4..8].copy_from_slice(&self.flags.to_le_bytes());
        b[16..].copy_from_slice(&self.create_guid);
        b
    }

    /// Encodes response data (8 bytes).
    pub fn response_bytes(&self) -> [u8; 8] {
        let mut b = [0u8; 8];
        b[..4].copy_from_slice(&self.timeout.to_le_bytes());
        b[4..].copy_from_slice(&self.flags.to_le_bytes());
        b
    }
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
        Ok(Self { file_id: bytes16(data, 0), create_guid: bytes16(data, 16), flags: le32(data, 32) })
    }

    /// Encodes the 36 bytes.
    pub fn to_bytes(&self) -> [u8; 36] {
        let mut b = [0u8; 36];
        b[..16].copy_from_slice(&self.file_id);
        b[16..32].copy_from_slice(&self.create_guid);
        b[32..].copy_from_slice(&self.flags.to_le_bytes());
        b
    }
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
        need(data, 32, "RqLs")?;
        let v2 = (data.len() >= 52).then(|| (bytes16(data, 32), le16(data, 48)));
        Ok(Self { key: bytes16(data, 0), state: le32(data, 4 * 4), flags: le32(data, 20), v2 })
    }

    /// Encodes the data (32 or 52 bytes).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(52);
        b.extend_from_slice(&self.key);
        b.extend_from_slice(&self.state.to_le_bytes());
        b.extend_from_slice(&self.flags.to_le_bytes());
        b.extend_from_slice(&[0; 8]); // LeaseDuration
        if let Some((parent, epoch)) = self.v2 {
            b.extend_from_slice(&parent);
            b.extend_from_slice(&epoch.to_le_bytes());
            b.extend_from_slice(&[0; 2]);
        }
        b
    }
}
