//! QUERY_DIRECTORY (MS-SMB2 2.2.33 request, 2.2.34 response) and the directory entries of its
//! output (MS-FSCC 2.4): FileDirectoryInformation, FileFullDirectoryInformation,
//! FileIdFullDirectoryInformation, FileIdBothDirectoryInformation, FileNamesInformation.
//! Entries are checked views over the response (names stay UTF-16 until asked for).

use crate::body::{
    buffer, chained, chained_len, field, fit16, fit32, fixed, fixed_part, get, put, put_utf16, utf16, utf16_len,
    write_chained,
};
use crate::control::FileId;
use crate::message::output_response;
use crate::{Command, Message, WireError, header};

keyless_wire_enum::wire_enum! {
    /// FileInformationClass values for directory queries (MS-FSCC 2.4).
    #[derive(Default)]
    pub struct DirectoryClass(u8) {
        /// FileDirectoryInformation.
        DIRECTORY = 0x01 => "FileDirectoryInformation",
        /// FileFullDirectoryInformation.
        FULL_DIRECTORY = 0x02 => "FileFullDirectoryInformation",
        /// FileBothDirectoryInformation.
        BOTH_DIRECTORY = 0x03 => "FileBothDirectoryInformation",
        /// FileNamesInformation.
        NAMES = 0x0C => "FileNamesInformation",
        /// FileIdBothDirectoryInformation.
        ID_BOTH_DIRECTORY = 0x25 => "FileIdBothDirectoryInformation",
        /// FileIdFullDirectoryInformation.
        ID_FULL_DIRECTORY = 0x26 => "FileIdFullDirectoryInformation",
    }
}

/// QUERY_DIRECTORY request flags (2.2.33).
pub mod flags {
    /// Restart the scan.
    pub const RESTART_SCANS: u8 = 0x01;
    /// Return one entry.
    pub const RETURN_SINGLE_ENTRY: u8 = 0x02;
    /// Resume at FileIndex.
    pub const INDEX_SPECIFIED: u8 = 0x04;
    /// Reopen the directory (new pattern).
    pub const REOPEN: u8 = 0x10;
}

/// A QUERY_DIRECTORY request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct QueryDirectoryRequest {
    /// FileInformationClass (see [`DirectoryClass`]).
    pub info_class: DirectoryClass,
    /// Flags (see [`flags`]).
    pub flags: u8,
    /// FileIndex.
    pub file_index: u32,
    /// The directory's open.
    pub file_id: FileId,
    /// The search pattern (`*` for all).
    pub pattern: String,
    /// OutputBufferLength: most bytes of entries to return.
    pub output_buffer_length: u32,
}

/// QUERY_DIRECTORY request fields (2.2.33), from the body's start; the pattern follows.
mod query_directory_request {
    use crate::body::Field;
    pub const FIXED: usize = 32;
    pub const STRUCTURE_SIZE: u16 = 33;
    pub const INFO_CLASS: Field = 2..3;
    pub const FLAGS: Field = 3..4;
    pub const FILE_INDEX: Field = 4..8;
    pub const FILE_ID: Field = 8..24;
    pub const NAME_OFFSET: Field = 24..26;
    pub const NAME_LENGTH: Field = 26..28;
    pub const OUTPUT_BUFFER_LENGTH: Field = 28..32;
}

/// Where the pattern starts (64 + 32).
const PATTERN_AT: usize = header::LEN + query_directory_request::FIXED;

impl Message<'_> for QueryDirectoryRequest {
    const COMMAND: Command = Command::QUERY_DIRECTORY;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        use query_directory_request as f;
        let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, "QUERY_DIRECTORY request")?;
        let (off, len): (u16, u16) = (get(b, f::NAME_OFFSET), get(b, f::NAME_LENGTH));
        let pattern = buffer(message, usize::from(off), usize::from(len), PATTERN_AT, "FileName")?;
        Ok(Self {
            info_class: DirectoryClass(get(b, f::INFO_CLASS)),
            flags: get(b, f::FLAGS),
            file_index: get(b, f::FILE_INDEX),
            file_id: get(b, f::FILE_ID),
            pattern: utf16(pattern, "FileName")?,
            output_buffer_length: get(b, f::OUTPUT_BUFFER_LENGTH),
        })
    }

    fn body_len(&self) -> usize {
        query_directory_request::FIXED + utf16_len(&self.pattern)
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        use query_directory_request as f;
        let len = fit16(utf16_len(&self.pattern), "FileNameLength")?;
        let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
        put(b, f::INFO_CLASS, self.info_class.0);
        put(b, f::FLAGS, self.flags);
        put(b, f::FILE_INDEX, self.file_index);
        put(b, f::FILE_ID, self.file_id);
        put(b, f::NAME_OFFSET, PATTERN_AT as u16);
        put(b, f::NAME_LENGTH, len);
        put(b, f::OUTPUT_BUFFER_LENGTH, self.output_buffer_length);
        put_utf16(out, &self.pattern);
        Ok(())
    }
}

output_response! {
    /// A QUERY_DIRECTORY response; [`entries`] walks its output.
    QueryDirectoryResponse = QUERY_DIRECTORY, "QUERY_DIRECTORY response";
}

/// The fields every class but FileNamesInformation begins with (MS-FSCC 2.4.10 and on), from
/// the entry's start; NextEntryOffset 0..4 belongs to the chain.
mod entry {
    use crate::body::Field;
    pub const FILE_INDEX: Field = 4..8;
    /// CreationTime, LastAccessTime, LastWriteTime, ChangeTime.
    pub const TIMES: [Field; 4] = [8..16, 16..24, 24..32, 32..40];
    pub const END_OF_FILE: Field = 40..48;
    pub const ALLOCATION_SIZE: Field = 48..56;
    pub const FILE_ATTRIBUTES: Field = 56..60;
    pub const FILE_NAME_LENGTH: Field = 60..64;
    pub const EA_SIZE: Field = 64..68;
    /// ShortNameLength (one byte), Reserved, then ShortName (24 bytes).
    pub const SHORT_NAME_AT: usize = 68;
    /// FileNamesInformation: FileNameLength, then the name at 12.
    pub const NAMES_FILE_NAME_LENGTH: Field = 8..12;
}

/// Where each class keeps the fields after the common ones (where each starts; a FileId is a
/// u64, the others u32); `None`: not in this class.
#[derive(Debug, Clone, Copy)]
struct Layout {
    name_len_at: usize,
    name_at: usize,
    ea_size_at: Option<usize>,
    short_name_at: Option<usize>,
    file_id_at: Option<usize>,
    attributes: bool,
}

fn layout(info_class: DirectoryClass) -> Result<Layout, WireError> {
    let l = |name_at, ea: bool, short: bool, id: Option<usize>| Layout {
        name_len_at: entry::FILE_NAME_LENGTH.start,
        name_at,
        ea_size_at: ea.then_some(entry::EA_SIZE.start),
        short_name_at: short.then_some(entry::SHORT_NAME_AT),
        file_id_at: id,
        attributes: true,
    };
    Ok(match info_class {
        DirectoryClass::DIRECTORY => l(64, false, false, None),
        DirectoryClass::FULL_DIRECTORY => l(68, true, false, None),
        DirectoryClass::BOTH_DIRECTORY => l(94, true, true, None),
        DirectoryClass::ID_FULL_DIRECTORY => l(80, true, false, Some(72)),
        DirectoryClass::ID_BOTH_DIRECTORY => l(104, true, true, Some(96)),
        DirectoryClass::NAMES => Layout {
            name_len_at: entry::NAMES_FILE_NAME_LENGTH.start,
            name_at: 12,
            ea_size_at: None,
            short_name_at: None,
            file_id_at: None,
            attributes: false,
        },
        _ => return Err(WireError::BadValue { field: "FileInformationClass" }),
    })
}

/// One directory entry: a checked view.
#[derive(Debug, Clone, Copy)]
pub struct DirectoryEntry<'a> {
    raw: &'a [u8],
    name: &'a [u8],
    layout: Layout,
}

/// Walks the entries of a directory query's output for `info_class`, each checked.
///
/// # Errors
/// [`WireError::BadValue`] for a class this codec does not know.
pub fn entries(
    output: &[u8],
    info_class: DirectoryClass,
) -> Result<impl Iterator<Item = Result<DirectoryEntry<'_>, WireError>>, WireError> {
    let l = layout(info_class)?;
    Ok(chained(output, l.name_at, "directory entry").map(move |e| {
        let raw = e?;
        let len = get::<u32>(raw, field::<u32>(l.name_len_at)) as usize;
        let name = raw
            .get(l.name_at..)
            .and_then(|n| n.get(..len))
            .ok_or(WireError::OutOfBounds { field: "directory entry FileNameLength" })?;
        if l.short_name_at.is_some_and(|at| raw[at] > 24) {
            return Err(WireError::BadValue { field: "ShortNameLength" });
        }
        Ok(DirectoryEntry { raw, name, layout: l })
    }))
}

impl<'a> DirectoryEntry<'a> {
    /// FileIndex.
    pub fn file_index(&self) -> u32 {
        get(self.raw, entry::FILE_INDEX)
    }
    /// The name in UTF-16LE, as on the wire.
    pub fn file_name_utf16(&self) -> &'a [u8] {
        self.name
    }
    /// The name.
    ///
    /// # Errors
    /// [`WireError::BadValue`] for invalid UTF-16.
    pub fn file_name(&self) -> Result<String, WireError> {
        utf16(self.name, "FileName")
    }
    /// CreationTime, LastAccessTime, LastWriteTime, ChangeTime (zero for FileNamesInformation).
    pub fn times(&self) -> [u64; 4] {
        if self.layout.attributes { entry::TIMES.map(|t| get(self.raw, t)) } else { [0; 4] }
    }
    /// EndOfFile.
    pub fn end_of_file(&self) -> u64 {
        if self.layout.attributes { get(self.raw, entry::END_OF_FILE) } else { 0 }
    }
    /// AllocationSize.
    pub fn allocation_size(&self) -> u64 {
        if self.layout.attributes { get(self.raw, entry::ALLOCATION_SIZE) } else { 0 }
    }
    /// FileAttributes (0x10: directory).
    pub fn file_attributes(&self) -> u32 {
        if self.layout.attributes { get(self.raw, entry::FILE_ATTRIBUTES) } else { 0 }
    }
    /// EaSize (or reparse tag), where the class has it.
    pub fn ea_size(&self) -> Option<u32> {
        self.layout.ea_size_at.map(|at| get(self.raw, field::<u32>(at)))
    }
    /// The 8.3 name in UTF-16LE, where the class has it.
    pub fn short_name_utf16(&self) -> Option<&'a [u8]> {
        self.layout.short_name_at.map(|at| &self.raw[at + 2..at + 2 + usize::from(self.raw[at])])
    }
    /// FileId, where the class has it.
    pub fn file_id(&self) -> Option<u64> {
        self.layout.file_id_at.map(|at| get(self.raw, field::<u64>(at)))
    }

    /// The entry as an owned [`DirectoryInfo`].
    ///
    /// # Errors
    /// [`WireError::BadValue`] for names that are not UTF-16.
    pub fn to_info(&self) -> Result<DirectoryInfo, WireError> {
        Ok(DirectoryInfo {
            file_index: self.file_index(),
            times: self.times(),
            end_of_file: self.end_of_file(),
            allocation_size: self.allocation_size(),
            file_attributes: self.file_attributes(),
            ea_size: self.ea_size().unwrap_or(0),
            short_name: self.short_name_utf16().map(|s| utf16(s, "ShortName")).transpose()?.unwrap_or_default(),
            file_id: self.file_id().unwrap_or(0),
            file_name: self.file_name()?,
        })
    }
}

/// A directory entry to encode (fields a class lacks are not written).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DirectoryInfo {
    /// FileIndex.
    pub file_index: u32,
    /// CreationTime, LastAccessTime, LastWriteTime, ChangeTime.
    pub times: [u64; 4],
    /// EndOfFile.
    pub end_of_file: u64,
    /// AllocationSize.
    pub allocation_size: u64,
    /// FileAttributes.
    pub file_attributes: u32,
    /// EaSize.
    pub ea_size: u32,
    /// ShortName (at most 12 UTF-16 units).
    pub short_name: String,
    /// FileId.
    pub file_id: u64,
    /// FileName.
    pub file_name: String,
}

impl DirectoryInfo {
    /// Encodes `entries` as a directory query's output for `info_class`.
    ///
    /// # Errors
    /// [`WireError::BadValue`] for an unknown class or a short name over 24 bytes.
    pub fn encode_all(entries: &[Self], info_class: DirectoryClass, out: &mut Vec<u8>) -> Result<(), WireError> {
        let l = layout(info_class)?;
        out.reserve(chained_len(entries.iter().map(|e| l.name_at + utf16_len(&e.file_name))));
        write_chained(out, entries, |e, out| e.write(l, out))
    }

    fn write(&self, l: Layout, out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len();
        out.resize(start + l.name_at, 0);
        let b = &mut out[start..];
        put(b, entry::FILE_INDEX, self.file_index);
        if l.attributes {
            for (t, f) in self.times.into_iter().zip(entry::TIMES) {
                put(b, f, t);
            }
            put(b, entry::END_OF_FILE, self.end_of_file);
            put(b, entry::ALLOCATION_SIZE, self.allocation_size);
            put(b, entry::FILE_ATTRIBUTES, self.file_attributes);
        }
        put(b, field::<u32>(l.name_len_at), fit32(utf16_len(&self.file_name), "FileNameLength")?);
        if let Some(at) = l.ea_size_at {
            put(b, field::<u32>(at), self.ea_size);
        }
        if let Some(at) = l.short_name_at {
            let mut short = Vec::with_capacity(24);
            put_utf16(&mut short, &self.short_name);
            if short.len() > 24 {
                return Err(WireError::BadValue { field: "ShortName" });
            }
            b[at] = short.len() as u8;
            b[at + 2..at + 2 + short.len()].copy_from_slice(&short);
        }
        if let Some(at) = l.file_id_at {
            put(b, field::<u64>(at), self.file_id);
        }
        put_utf16(out, &self.file_name);
        Ok(())
    }
}
