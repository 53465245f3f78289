//! QUERY_INFO (MS-SMB2 2.2.37 request, 2.2.38 response) and SET_INFO (2.2.39 request, 2.2.40
//! response), with the information structures a client reads and sets most (MS-FSCC 2.4, 2.5):
//! basic, standard, end-of-file, disposition, rename, and the file system's full size.
//! Security descriptors travel as opaque bytes (InfoType SECURITY, AdditionalInformation says
//! which parts).

use crate::body::{buffer, bytes16, fit32, fixed, le16, le32, le64, need, put_utf16, utf16, utf16_len};
use crate::control::FileId;
use crate::message::{empty_message, output_response};
use crate::{Command, Message, WireError, header};

/// InfoType values (2.2.37).
pub mod info_type {
    /// File information.
    pub const FILE: u8 = 0x01;
    /// File system information.
    pub const FILESYSTEM: u8 = 0x02;
    /// Security descriptor.
    pub const SECURITY: u8 = 0x03;
    /// Quota.
    pub const QUOTA: u8 = 0x04;
}

/// File information classes (MS-FSCC 2.4).
pub mod file_class {
    /// FileBasicInformation.
    pub const BASIC: u8 = 4;
    /// FileStandardInformation.
    pub const STANDARD: u8 = 5;
    /// FileInternalInformation.
    pub const INTERNAL: u8 = 6;
    /// FileEaInformation.
    pub const EA: u8 = 7;
    /// FileRenameInformation.
    pub const RENAME: u8 = 10;
    /// FileDispositionInformation.
    pub const DISPOSITION: u8 = 13;
    /// FilePositionInformation.
    pub const POSITION: u8 = 14;
    /// FileAllInformation.
    pub const ALL: u8 = 18;
    /// FileAllocationInformation.
    pub const ALLOCATION: u8 = 19;
    /// FileEndOfFileInformation.
    pub const END_OF_FILE: u8 = 20;
    /// FileNetworkOpenInformation.
    pub const NETWORK_OPEN: u8 = 34;
}

/// File system information classes (MS-FSCC 2.5).
pub mod fs_class {
    /// FileFsVolumeInformation.
    pub const VOLUME: u8 = 1;
    /// FileFsSizeInformation.
    pub const SIZE: u8 = 3;
    /// FileFsDeviceInformation.
    pub const DEVICE: u8 = 4;
    /// FileFsAttributeInformation.
    pub const ATTRIBUTE: u8 = 5;
    /// FileFsFullSizeInformation.
    pub const FULL_SIZE: u8 = 7;
}

/// AdditionalInformation bits for security queries (2.2.37).
pub mod security_info {
    /// Owner.
    pub const OWNER: u32 = 0x0000_0001;
    /// Group.
    pub const GROUP: u32 = 0x0000_0002;
    /// DACL.
    pub const DACL: u32 = 0x0000_0004;
    /// SACL.
    pub const SACL: u32 = 0x0000_0008;
}

/// A QUERY_INFO request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct QueryInfoRequest<'a> {
    /// InfoType.
    pub info_type: u8,
    /// FileInfoClass.
    pub info_class: u8,
    /// OutputBufferLength.
    pub output_buffer_length: u32,
    /// AdditionalInformation.
    pub additional_information: u32,
    /// Flags.
    pub flags: u32,
    /// The open.
    pub file_id: FileId,
    /// Input buffer (quota and EA queries).
    pub input: &'a [u8],
}

/// Where the input of a QUERY_INFO request starts (64 + 40).
const QUERY_INPUT_AT: usize = header::LEN + 40;

impl<'a> Message<'a> for QueryInfoRequest<'a> {
    const COMMAND: Command = Command::QUERY_INFO;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        let b = fixed(message, 40, 41, "QUERY_INFO request")?;
        let input = buffer(message, usize::from(le16(b, 8)), le32(b, 12) as usize, QUERY_INPUT_AT, "QUERY_INFO Input")?;
        Ok(Self {
            info_type: b[2],
            info_class: b[3],
            output_buffer_length: le32(b, 4),
            additional_information: le32(b, 16),
            flags: le32(b, 20),
            file_id: bytes16(b, 24),
            input,
        })
    }

    fn body_len(&self) -> usize {
        40 + self.input.len()
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let len = fit32(self.input.len(), "QUERY_INFO InputBufferLength")?;
        out.extend_from_slice(&41u16.to_le_bytes());
        out.push(self.info_type);
        out.push(self.info_class);
        out.extend_from_slice(&self.output_buffer_length.to_le_bytes());
        out.extend_from_slice(&(QUERY_INPUT_AT as u16).to_le_bytes()); // even when empty, as Windows
        out.extend_from_slice(&[0; 2]);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.additional_information.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.file_id);
        out.extend_from_slice(self.input);
        Ok(())
    }
}

output_response! {
    /// A QUERY_INFO response: the information structure, decoded with the types below.
    QueryInfoResponse = QUERY_INFO, "QUERY_INFO response";
}

/// A SET_INFO request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct SetInfoRequest<'a> {
    /// InfoType.
    pub info_type: u8,
    /// FileInfoClass.
    pub info_class: u8,
    /// AdditionalInformation.
    pub additional_information: u32,
    /// The open.
    pub file_id: FileId,
    /// The information structure.
    pub buffer: &'a [u8],
}

/// Where the buffer of a SET_INFO request starts (64 + 32).
const SET_BUFFER_AT: usize = header::LEN + 32;

impl<'a> Message<'a> for SetInfoRequest<'a> {
    const COMMAND: Command = Command::SET_INFO;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        let b = fixed(message, 32, 33, "SET_INFO request")?;
        let buf = buffer(message, usize::from(le16(b, 8)), le32(b, 4) as usize, SET_BUFFER_AT, "SET_INFO Buffer")?;
        Ok(Self {
            info_type: b[2],
            info_class: b[3],
            additional_information: le32(b, 12),
            file_id: bytes16(b, 16),
            buffer: buf,
        })
    }

    fn body_len(&self) -> usize {
        32 + self.buffer.len()
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let len = fit32(self.buffer.len(), "SET_INFO BufferLength")?;
        out.extend_from_slice(&33u16.to_le_bytes());
        out.push(self.info_type);
        out.push(self.info_class);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&(SET_BUFFER_AT as u16).to_le_bytes());
        out.extend_from_slice(&[0; 2]);
        out.extend_from_slice(&self.additional_information.to_le_bytes());
        out.extend_from_slice(&self.file_id);
        out.extend_from_slice(self.buffer);
        Ok(())
    }
}

empty_message! {
    /// SET_INFO response.
    SetInfoResponse = SET_INFO, 2, "SET_INFO response";
}

/// FileBasicInformation (MS-FSCC 2.4.7): times and attributes (40 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileBasicInformation {
    /// CreationTime, LastAccessTime, LastWriteTime, ChangeTime (0: leave unchanged on set).
    pub times: [u64; 4],
    /// FileAttributes.
    pub file_attributes: u32,
}

impl FileBasicInformation {
    /// Decodes.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn parse(b: &[u8]) -> Result<Self, WireError> {
        need(b, 36, "FileBasicInformation")?;
        Ok(Self { times: [le64(b, 0), le64(b, 8), le64(b, 16), le64(b, 24)], file_attributes: le32(b, 32) })
    }

    /// Encodes (40 bytes).
    pub fn to_bytes(&self) -> [u8; 40] {
        let mut b = [0u8; 40];
        for (i, t) in self.times.iter().enumerate() {
            b[8 * i..8 * i + 8].copy_from_slice(&t.to_le_bytes());
        }
        b[32..36].copy_from_slice(&self.file_attributes.to_le_bytes());
        b
    }
}

/// FileStandardInformation (MS-FSCC 2.4.41): sizes, links, flags (24 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileStandardInformation {
    /// AllocationSize.
    pub allocation_size: u64,
    /// EndOfFile.
    pub end_of_file: u64,
    /// NumberOfLinks.
    pub number_of_links: u32,
    /// DeletePending.
    pub delete_pending: bool,
    /// Directory.
    pub directory: bool,
}

impl FileStandardInformation {
    /// Decodes.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn parse(b: &[u8]) -> Result<Self, WireError> {
        need(b, 22, "FileStandardInformation")?;
        Ok(Self {
            allocation_size: le64(b, 0),
            end_of_file: le64(b, 8),
            number_of_links: le32(b, 16),
            delete_pending: b[20] != 0,
            directory: b[21] != 0,
        })
    }

    /// Encodes (24 bytes).
    pub fn to_bytes(&self) -> [u8; 24] {
        let mut b = [0u8; 24];
        b[..8].copy_from_slice(&self.allocation_size.to_le_bytes());
        b[8..16].copy_from_slice(&self.end_of_file.to_le_bytes());
        b[16..20].copy_from_slice(&self.number_of_links.to_le_bytes());
        b[20] = u8::from(self.delete_pending);
        b[21] = u8::from(self.directory);
        b
    }
}

/// FileEndOfFileInformation (MS-FSCC 2.4.14): truncate or extend (8 bytes).
pub fn end_of_file_info(end_of_file: u64) -> [u8; 8] {
    end_of_file.to_le_bytes()
}

/// FileDispositionInformation (MS-FSCC 2.4.11): delete on close (1 byte).
pub fn disposition_info(delete: bool) -> [u8; 1] {
    [u8::from(delete)]
}

/// FileRenameInformation for SMB2 (MS-FSCC 2.4.37.2).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct FileRenameInformation {
    /// ReplaceIfExists.
    pub replace_if_exists: bool,
    /// The new name, relative to the share root.
    pub file_name: String,
}

impl FileRenameInformation {
    /// Decodes.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(b: &[u8]) -> Result<Self, WireError> {
        need(b, 20, "FileRenameInformation")?;
        let name = b.get(20..20 + le32(b, 16) as usize).ok_or(WireError::OutOfBounds { field: "FileNameLength" })?;
        Ok(Self { replace_if_exists: b[0] != 0, file_name: utf16(name, "FileRenameInformation FileName")? })
    }

    /// Encodes.
    ///
    /// # Errors
    /// [`WireError::BadValue`] for a name over 4 GiB.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        let len = utf16_len(&self.file_name);
        let mut b = Vec::with_capacity(20 + len);
        b.push(u8::from(self.replace_if_exists));
        b.extend_from_slice(&[0; 15]); // Reserved, RootDirectory
        b.extend_from_slice(&fit32(len, "FileNameLength")?.to_le_bytes());
        put_utf16(&mut b, &self.file_name);
        // Servers want at least the size of the C structure (24 bytes) even for short names.
        b.resize(b.len().max(24), 0);
        Ok(b)
    }
}

/// FileFsFullSizeInformation (MS-FSCC 2.5.4): capacity and free space (32 bytes).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FileFsFullSizeInformation {
    /// TotalAllocationUnits.
    pub total_units: u64,
    /// CallerAvailableAllocationUnits.
    pub caller_available_units: u64,
    /// ActualAvailableAllocationUnits.
    pub actual_available_units: u64,
    /// SectorsPerAllocationUnit.
    pub sectors_per_unit: u32,
    /// BytesPerSector.
    pub bytes_per_sector: u32,
}

impl FileFsFullSizeInformation {
    /// Decodes.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn parse(b: &[u8]) -> Result<Self, WireError> {
        need(b, 32, "FileFsFullSizeInformation")?;
        Ok(Self {
            total_units: le64(b, 0),
            caller_available_units: le64(b, 8),
            actual_available_units: le64(b, 16),
            sectors_per_unit: le32(b, 24),
            bytes_per_sector: le32(b, 28),
        })
    }

    /// Encodes (32 bytes).
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        b[..8].copy_from_slice(&self.total_units.to_le_bytes());
        b[8..16].copy_from_slice(&self.caller_available_units.to_le_bytes());
        b[16..24].copy_from_slice(&self.actual_available_units.to_le_bytes());
        b[24..28].copy_from_slice(&self.sectors_per_unit.to_le_bytes());
        b[28..].copy_from_slice(&self.bytes_per_sector.to_le_bytes());
        b
    }
}
