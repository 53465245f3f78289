//! QUERY_DIRECTORY (MS-SMB2 2.2.33 request, 2.2.34 response) and the directory entries of its
//! output (MS-FSCC 2.4): FileDirectoryInformation, FileFullDirectoryInformation,
//! FileIdFullDirectoryInformation, FileIdBothDirectoryInformation, FileNamesInformation.
//! Entries are checked views over the response (names stay UTF-16 until asked for).

use crate::body::{
    buffer, bytes16, chained, chained_len, fit16, fit32, fixed, le16, le32, le64, put_utf16, utf16, utf16_len,
    write_chained,
};
use crate::control::FileId;
use crate::message::output_response;
use crate::{Command, Message, WireError, header};

/// FileInformationClass values for directory queries (MS-FSCC 2.4).
pub mod class {
    /// FileDirectoryInformation.
    pub const DIRECTORY: u8 = 0x01;
    /// FileFullDirectoryInformation.
    pub const FULL_DIRECTORY: u8 = 0x02;
    /// FileBothDirectoryInformation.
    pub const BOTH_DIRECTORY: u8 = 0x03;
    /// FileNamesInformation.
    pub const NAMES: u8 = 0x0C;
    /// FileIdBothDirectoryInformation.
    pub const ID_BOTH_DIRECTORY: u8 = 0x25;
    /// FileIdFullDirectoryInformation.
    pub const ID_FULL_DIRECTORY: u8 = 0x26;
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
    /// FileInformationClass (see [`class`]).
    pub info_class: u8,
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

/// Where the pattern starts (64 + 32).
const PATTERN_AT: usize = header::LEN + 32;

impl Message<'_> for QueryDirectoryRequest {
    const COMMAND: Command = Command::QUERY_DIRECTORY;

    fn parse(message: &[u8]) -> Result<Self, WireError> {
        let b = fixed(message, 32, 33, "QUERY_DIRECTORY request")?;
        let pattern = buffer(message, usize::from(le16(b, 24)), usize::from(le16(b, 26)), PATTERN_AT, "FileName")?;
        Ok(Self {
            info_class: b[2],
            flags: b[3],
            file_index: le32(b, 4),
            file_id: bytes16(b, 8),
            pattern: utf16(pattern, "FileName")?,
            output_buffer_length: le32(b, 28),
        })
    }

    fn body_len(&self) -> usize {
        32 + utf16_len(&self.pattern)
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let len = fit16(utf16_len(&self.pattern), "FileNameLength")?;
        out.extend_from_slice(&33u16.to_le_bytes());
        out.push(self.info_class);
        out.push(self.flags);
        out.extend_from_slice(&self.file_index.to_le_bytes());
        out.extend_from_slice(&self.file_id);
        out.extend_from_slice(&(PATTERN_AT as u16).to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.output_buffer_length.to_le_bytes());
        put_utf16(out, &self.pattern);
        Ok(())
    }
}

output_response! {
    /// A QUERY_DIRECTORY response; [`entries`] walks its output.
    QueryDirectoryResponse = QUERY_DIRECTORY, "QUERY_DIRECTORY response";
}

/// Where each class keeps its fields (byte offsets in the entry); `None`: not in this class.
#[derive(Debug, Clone, Copy)]
struct Layout {
    name_len_at: usize,
    name_at: usize,
    ea_size_at: Option<usize>,
    short_name_at: Option<usize>,
    file_id_at: Option<usize>,
    attributes: bool,
}

fn layout(info_class: u8) -> Result<Layout, WireError> {
    let l = |name_at, ea, short, id| Layout {
        name_len_at: 60,
        name_at,
        ea_size_at: ea,
        short_name_at: short,
        file_id_at: id,
        attributes: true,
    };
    Ok(match info_class {
        class::DIRECTORY => l(64, None, None, None),
        class::FULL_DIRECTORY => l(68, Some(64), None, None),
        class::BOTH_DIRECTORY => l(94, Some(64), Some(68), None),
        class::ID_FULL_DIRECTORY => l(80, Some(64), None, Some(72)),
        class::ID_BOTH_DIRECTORY => l(104, Some(64), Some(68), Some(96)),
        class::NAMES => Layout {
            name_len_at: 8,
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
    info_class: u8,
) -> Result<impl Iterator<Item = Result<DirectoryEntry<'_>, WireError>>, WireError> {
    let l = layout(info_class)?;
    Ok(chained(output, l.name_at, "directory entry").map(move |e| {
        let raw = e?;
        let len = le32(raw, l.name_len_at) as usize;
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
        le32(self.raw, 4)
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
        if self.layout.attributes {
            [le64(self.raw, 8), le64(self.raw, 16), le64(self.raw, 24), le64(self.raw, 32)]
        } else {
            [0; 4]
        }
    }
    /// EndOfFile.
    pub fn end_of_file(&self) -> u64 {
        if self.layout.attributes { le64(self.raw, 40) } else { 0 }
    }
    /// AllocationSize.
    pub fn allocation_size(&self) -> u64 {
        if self.layout.attributes { le64(self.raw, 48) } else { 0 }
    }
    /// FileAttributes (0x10: directory).
    pub fn file_attributes(&self) -> u32 {
        if self.layout.attributes { le32(self.raw, 56) } else { 0 }
    }
    /// EaSize (or reparse tag), where the class has it.
    pub fn ea_size(&self) -> Option<u32> {
        self.layout.ea_size_at.map(|at| le32(self.raw, at))
    }
    /// The 8.3 name in UTF-16LE, where the class has it.
    pub fn short_name_utf16(&self) -> Option<&'a [u8]> {
        self.layout.short_name_at.map(|at| &self.raw[at + 2..at + 2 + usize::from(self.raw[at])])
    }
    /// FileId, where the class has it.
    pub fn file_id(&self) -> Option<u64> {
        self.layout.file_id_at.map(|at| le64(self.raw, at))
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
    pub fn encode_all(entries: &[Self], info_class: u8, out: &mut Vec<u8>) -> Result<(), WireError> {
        let l = layout(info_class)?;
        out.reserve(chained_len(entries.iter().map(|e| l.name_at + utf16_len(&e.file_name))));
        write_chained(out, entries, |e, out| e.write(l, out))
    }

    fn write(&self, l: Layout, out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len();
        out.resize(start + l.name_at, 0);
        let entry = &mut out[start..];
        entry[4..8].copy_from_slice(&self.file_index.to_le_bytes());
        if l.attributes {
            for (i, t) in self.times.iter().enumerate() {
                entry[8 + 8 * i..16 + 8 * i].copy_from_slice(&t.to_le_bytes());
            }
            entry[40..48].copy_from_slice(&self.end_of_file.to_le_bytes());
            entry[48..56].copy_from_slice(&self.allocation_size.to_le_bytes());
            entry[56..60].copy_from_slice(&self.file_attributes.to_le_bytes());
        }
        let name_len = fit32(utf16_len(&self.file_name), "FileNameLength")?;
        entry[l.name_len_at..l.name_len_at + 4].copy_from_slice(&name_len.to_le_bytes());
        if let Some(at) = l.ea_size_at {
            entry[at..at + 4].copy_from_slice(&self.ea_size.to_le_bytes());
        }
        if let Some(at) = l.short_name_at {
            let mut short = Vec::with_capacity(24);
            put_utf16(&mut short, &self.short_name);
            if short.len() > 24 {
                return Err(WireError::BadValue { field: "ShortName" });
            }
            entry[at] = short.len() as u8;
            entry[at + 2..at + 2 + short.len()].copy_from_slice(&short);
        }
        if let Some(at) = l.file_id_at {
            entry[at..at + 8].copy_from_slice(&self.file_id.to_le_bytes());
        }
        put_utf16(out, &self.file_name);
        Ok(())
    }
}
