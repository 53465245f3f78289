//! QUERY_INFO (MS-SMB2 2.2.37 request, 2.2.38 response) and SET_INFO (2.2.39 request, 2.2.40
//! response), with the information structures a client reads and sets most (MS-FSCC 2.4, 2.5):
//! basic, standard, end-of-file, disposition, rename, and the file system's full size.
//! Security descriptors travel as opaque bytes (InfoType SECURITY, AdditionalInformation says
//! which parts).

use crate::body::{buffer, fit32, fixed, fixed_part, get, need, put, put_utf16, utf16, utf16_len, zeroed};
use crate::control::FileId;
use crate::message::{empty_message, output_response};
use crate::{Command, Message, WireError, header};

keyless_wire_enum::wire_enum! {
    /// InfoType values (2.2.37).
    #[derive(Default)]
    pub struct InfoType(u8) {
        /// File information.
        FILE = 0x01 => "SMB2_0_INFO_FILE",
        /// File system information.
        FILESYSTEM = 0x02 => "SMB2_0_INFO_FILESYSTEM",
        /// Security descriptor.
        SECURITY = 0x03 => "SMB2_0_INFO_SECURITY",
        /// Quota.
        QUOTA = 0x04 => "SMB2_0_INFO_QUOTA",
    }
}

keyless_wire_enum::wire_enum! {
    /// File information classes (MS-FSCC 2.4).
    pub struct FileInfoClass(u8) {
        /// FileBasicInformation.
        BASIC = 4 => "FileBasicInformation",
        /// FileStandardInformation.
        STANDARD = 5 => "FileStandardInformation",
        /// FileInternalInformation.
        INTERNAL = 6 => "FileInternalInformation",
        /// FileEaInformation.
        EA = 7 => "FileEaInformation",
        /// FileRenameInformation.
        RENAME = 10 => "FileRenameInformation",
        /// FileDispositionInformation.
        DISPOSITION = 13 => "FileDispositionInformation",
        /// FilePositionInformation.
        POSITION = 14 => "FilePositionInformation",
        /// FileAllInformation.
        ALL = 18 => "FileAllInformation",
        /// FileAllocationInformation.
        ALLOCATION = 19 => "FileAllocationInformation",
        /// FileEndOfFileInformation.
        END_OF_FILE = 20 => "FileEndOfFileInformation",
        /// FileNetworkOpenInformation.
        NETWORK_OPEN = 34 => "FileNetworkOpenInformation",
    }
}

keyless_wire_enum::wire_enum! {
    /// File system information classes (MS-FSCC 2.5).
    pub struct FsInfoClass(u8) {
        /// FileFsVolumeInformation.
        VOLUME = 1 => "FileFsVolumeInformation",
        /// FileFsSizeInformation.
        SIZE = 3 => "FileFsSizeInformation",
        /// FileFsDeviceInformation.
        DEVICE = 4 => "FileFsDeviceInformation",
        /// FileFsAttributeInformation.
        ATTRIBUTE = 5 => "FileFsAttributeInformation",
        /// FileFsFullSizeInformation.
        FULL_SIZE = 7 => "FileFsFullSizeInformation",
    }
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
    pub info_type: InfoType,
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
/// QUERY_INFO request fields (2.2.37), from the body's start; the input buffer follows
/// (Reserved 10..12 stays zero).
mod query_info_request {
    use crate::body::Field;
    pub const FIXED: usize = 40;
    pub const STRUCTURE_SIZE: u16 = 41;
    pub const INFO_TYPE: Field = 2..3;
    pub const INFO_CLASS: Field = 3..4;
    pub const OUTPUT_BUFFER_LENGTH: Field = 4..8;
    pub const INPUT_OFFSET: Field = 8..10;
    pub const INPUT_LENGTH: Field = 12..16;
    pub const ADDITIONAL_INFORMATION: Field = 16..20;
    pub const FLAGS: Field = 20..24;
    pub const FILE_ID: Field = 24..40;
}

/// SET_INFO request fields (2.2.39); the buffer follows (Reserved 10..12 stays zero).
mod set_info_request {
    use crate::body::Field;
    pub const FIXED: usize = 32;
    pub const STRUCTURE_SIZE: u16 = 33;
    pub const INFO_TYPE: Field = 2..3;
    pub const INFO_CLASS: Field = 3..4;
    pub const BUFFER_LENGTH: Field = 4..8;
    pub const BUFFER_OFFSET: Field = 8..10;
    pub const ADDITIONAL_INFORMATION: Field = 12..16;
    pub const FILE_ID: Field = 16..32;
}

const QUERY_INPUT_AT: usize = header::LEN + query_info_request::FIXED;

impl<'a> Message<'a> for QueryInfoRequest<'a> {
    const COMMAND: Command = Command::QUERY_INFO;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        use query_info_request as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "QUERY_INFO request")?;
        let (off, len): (u16, u32) = (get(b, f::INPUT_OFFSET), get(b, f::INPUT_LENGTH));
        let input = buffer(message, usize::from(off), len as usize, QUERY_INPUT_AT, "QUERY_INFO Input")?;
        Ok(Self {
            info_type: InfoType(get(b, f::INFO_TYPE)),
            info_class: get(b, f::INFO_CLASS),
            output_buffer_length: get(b, f::OUTPUT_BUFFER_LENGTH),
            additional_information: get(b, f::ADDITIONAL_INFORMATION),
            flags: get(b, f::FLAGS),
            file_id: get(b, f::FILE_ID),
            input,
        })
    }

    fn body_len(&self) -> usize {
        query_info_request::FIXED + self.input.len()
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use query_info_request as f;
        let len = fit32(self.input.len(), "QUERY_INFO InputBufferLength")?;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::INFO_TYPE, self.info_type.0);
        put(b, f::INFO_CLASS, self.info_class);
        put(b, f::OUTPUT_BUFFER_LENGTH, self.output_buffer_length);
        put(b, f::INPUT_OFFSET, QUERY_INPUT_AT as u16); // even when empty, as Windows
        put(b, f::INPUT_LENGTH, len);
        put(b, f::ADDITIONAL_INFORMATION, self.additional_information);
        put(b, f::FLAGS, self.flags);
        put(b, f::FILE_ID, self.file_id);
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
    pub info_type: InfoType,
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
const SET_BUFFER_AT: usize = header::LEN + set_info_request::FIXED;

impl<'a> Message<'a> for SetInfoRequest<'a> {
    const COMMAND: Command = Command::SET_INFO;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        use set_info_request as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "SET_INFO request")?;
        let (off, len): (u16, u32) = (get(b, f::BUFFER_OFFSET), get(b, f::BUFFER_LENGTH));
        let buf = buffer(message, usize::from(off), len as usize, SET_BUFFER_AT, "SET_INFO Buffer")?;
        Ok(Self {
            info_type: InfoType(get(b, f::INFO_TYPE)),
            info_class: get(b, f::INFO_CLASS),
            additional_information: get(b, f::ADDITIONAL_INFORMATION),
            file_id: get(b, f::FILE_ID),
            buffer: buf,
        })
    }

    fn body_len(&self) -> usize {
        set_info_request::FIXED + self.buffer.len()
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use set_info_request as f;
        let len = fit32(self.buffer.len(), "SET_INFO BufferLength")?;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::INFO_TYPE, self.info_type.0);
        put(b, f::INFO_CLASS, self.info_class);
        put(b, f::BUFFER_LENGTH, len);
        put(b, f::BUFFER_OFFSET, SET_BUFFER_AT as u16);
        put(b, f::ADDITIONAL_INFORMATION, self.additional_information);
        put(b, f::FILE_ID, self.file_id);
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
        Ok(Self { times: Self::TIMES.map(|t| get(b, t)), file_attributes: get(b, Self::FILE_ATTRIBUTES) })
    }

    /// CreationTime, LastAccessTime, LastWriteTime, ChangeTime (MS-FSCC 2.4.7).
    const TIMES: [crate::body::Field; 4] = [0..8, 8..16, 16..24, 24..32];
    const FILE_ATTRIBUTES: crate::body::Field = 32..36;

    /// Encodes (40 bytes).
    pub fn to_bytes(&self) -> [u8; 40] {
        let mut b = [0u8; 40]; // Reserved 36..40
        for (t, f) in self.times.into_iter().zip(Self::TIMES) {
            put(&mut b, f, t);
        }
        put(&mut b, Self::FILE_ATTRIBUTES, self.file_attributes);
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
            allocation_size: get(b, Self::ALLOCATION_SIZE),
            end_of_file: get(b, Self::END_OF_FILE),
            number_of_links: get(b, Self::NUMBER_OF_LINKS),
            delete_pending: get::<u8>(b, Self::DELETE_PENDING) != 0,
            directory: get::<u8>(b, Self::DIRECTORY) != 0,
        })
    }

    // MS-FSCC 2.4.41.
    const ALLOCATION_SIZE: crate::body::Field = 0..8;
    const END_OF_FILE: crate::body::Field = 8..16;
    const NUMBER_OF_LINKS: crate::body::Field = 16..20;
    const DELETE_PENDING: crate::body::Field = 20..21;
    const DIRECTORY: crate::body::Field = 21..22;

    /// Encodes (24 bytes).
    pub fn to_bytes(&self) -> [u8; 24] {
        let mut b = [0u8; 24]; // Reserved 22..24
        put(&mut b, Self::ALLOCATION_SIZE, self.allocation_size);
        put(&mut b, Self::END_OF_FILE, self.end_of_file);
        put(&mut b, Self::NUMBER_OF_LINKS, self.number_of_links);
        put(&mut b, Self::DELETE_PENDING, u8::from(self.delete_pending));
        put(&mut b, Self::DIRECTORY, u8::from(self.directory));
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
        need(b, Self::FIXED, "FileRenameInformation")?;
        let len = get::<u32>(b, Self::FILE_NAME_LENGTH) as usize;
        let name = b.get(Self::FIXED..Self::FIXED + len).ok_or(WireError::OutOfBounds { field: "FileNameLength" })?;
        Ok(Self {
            replace_if_exists: get::<u8>(b, Self::REPLACE_IF_EXISTS) != 0,
            file_name: utf16(name, "FileRenameInformation FileName")?,
        })
    }

    // MS-FSCC 2.4.42.2 (the 64-bit form): Reserved and RootDirectory 1..16 stay zero; the
    // name follows.
    const FIXED: usize = 20;
    const REPLACE_IF_EXISTS: crate::body::Field = 0..1;
    const FILE_NAME_LENGTH: crate::body::Field = 16..20;

    /// Encodes.
    ///
    /// # Errors
    /// [`WireError::BadValue`] for a name over 4 GiB.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        let len = utf16_len(&self.file_name);
        let mut b = Vec::with_capacity(Self::FIXED + len);
        let fixed = zeroed(&mut b, Self::FIXED);
        put(fixed, Self::REPLACE_IF_EXISTS, u8::from(self.replace_if_exists));
        put(fixed, Self::FILE_NAME_LENGTH, fit32(len, "FileNameLength")?);
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
            total_units: get(b, Self::TOTAL_UNITS),
            caller_available_units: get(b, Self::CALLER_AVAILABLE_UNITS),
            actual_available_units: get(b, Self::ACTUAL_AVAILABLE_UNITS),
            sectors_per_unit: get(b, Self::SECTORS_PER_UNIT),
            bytes_per_sector: get(b, Self::BYTES_PER_SECTOR),
        })
    }

    // MS-FSCC 2.5.4.
    const TOTAL_UNITS: crate::body::Field = 0..8;
    const CALLER_AVAILABLE_UNITS: crate::body::Field = 8..16;
    const ACTUAL_AVAILABLE_UNITS: crate::body::Field = 16..24;
    const SECTORS_PER_UNIT: crate::body::Field = 24..28;
    const BYTES_PER_SECTOR: crate::body::Field = 28..32;

    /// Encodes (32 bytes).
    pub fn to_bytes(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        put(&mut b, Self::TOTAL_UNITS, self.total_units);
        put(&mut b, Self::CALLER_AVAILABLE_UNITS, self.caller_available_units);
        put(&mut b, Self::ACTUAL_AVAILABLE_UNITS, self.actual_available_units);
        put(&mut b, Self::SECTORS_PER_UNIT, self.sectors_per_unit);
        put(&mut b, Self::BYTES_PER_SECTOR, self.bytes_per_sector);
        b
    }
}
