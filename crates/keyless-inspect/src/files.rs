//! Files out of a capture (`--export-files`): each file read or written in an SMB session,
//! rebuilt from its READs and WRITEs by offset, and named by the CREATE that opened it under
//! the share its tree connected to (`server/share/dir/name`). Sans-IO: it says which bytes go
//! where ([`Piece`]); the caller writes them. Names come from the capture, so they are made
//! safe to use below a directory: no `..`, no absolute path.
//!
//! WRITEs are taken as sent (a WRITE the server refused still counts); READs as answered.

use keyless_smb::control::{CloseRequest, CloseResponse, FileId};
use keyless_smb::create::{CreateRequest, CreateResponse};
use keyless_smb::header::{Header, flags};
use keyless_smb::read_write::{ReadRequest, ReadResponse, WriteRequest};
use keyless_smb::tree_connect::TreeConnectRequest;
use keyless_smb::{Command, Message, NtStatus};
use std::collections::HashMap;

/// Bytes of a rebuilt file: `data` at `offset` of file number `file` ([`Rebuilder::files`]).
#[derive(Debug, PartialEq, Eq)]
pub struct Piece<'a> {
    /// The file's number in [`Rebuilder::files`].
    pub file: usize,
    /// Where in the file the bytes go.
    pub offset: u64,
    /// The bytes.
    pub data: &'a [u8],
}

/// A file being rebuilt.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RebuiltFile {
    /// `server/share/dir/name`, `/`-separated, safe below a directory.
    pub path: String,
    /// The byte ranges seen, `[start, end)`, sorted and merged.
    pub seen: Vec<(u64, u64)>,
    /// The size the server last reported (CREATE or CLOSE response), if any.
    pub reported_size: Option<u64>,
}

impl RebuiltFile {
    /// Its size: the end of the last byte seen, or what the server reported when larger (a
    /// file read in part). A CREATE reports the size before the writes that follow it.
    pub fn size(&self) -> u64 {
        self.seen.last().map_or(0, |r| r.1).max(self.reported_size.unwrap_or(0))
    }

    /// The ranges of `[0, size)` not seen.
    pub fn holes(&self) -> Vec<(u64, u64)> {
        let mut holes = Vec::new();
        let mut at = 0;
        for &(start, end) in &self.seen {
            if start > at {
                holes.push((at, start));
            }
            at = at.max(end);
        }
        if self.size() > at {
            holes.push((at, self.size()));
        }
        holes
    }

    fn saw(&mut self, start: u64, len: usize) {
        let end = start.saturating_add(len as u64);
        if end == start {
            return;
        }
        let i = self.seen.partition_point(|r| r.1 < start);
        let mut merged = (start, end);
        let mut j = i;
        while j < self.seen.len() && self.seen[j].0 <= merged.1 {
            merged = (merged.0.min(self.seen[j].0), merged.1.max(self.seen[j].1));
            j += 1;
        }
        self.seen.splice(i..j, [merged]);
    }
}

/// The manifest's line for a rebuilt file whose bytes hash to `sha256` (hex): its path, size,
/// hash, the ranges seen and the holes, as JSON.
pub fn manifest_line(f: &RebuiltFile, sha256: &str) -> String {
    serde_json::json!({
        "path": f.path,
        "size": f.size(),
        "sha256": sha256,
        "seen": f.seen.iter().map(|r| [r.0, r.1]).collect::<Vec<_>>(),
        "holes": f.holes().iter().map(|r| [r.0, r.1]).collect::<Vec<_>>(),
    })
    .to_string()
}

/// What a request left for its response.
enum Pending {
    TreeConnect(String),
    Create(usize),
    Read { file: usize, offset: u64 },
    Close(usize),
}

/// Follows the SMB2 messages of a capture (decrypted where they were sealed) and hands out
/// the pieces of the files they carried.
#[derive(Default)]
pub struct Rebuilder {
    /// The files, by number.
    pub files: Vec<RebuiltFile>,
    by_path: HashMap<String, usize>,
    /// (connection, tree id) -> `server/share`.
    trees: HashMap<(usize, u32), String>,
    /// (connection, file id) -> file number.
    open: HashMap<(usize, FileId), usize>,
    /// (connection, message id) -> what the request asked.
    pending: HashMap<(usize, u64), Pending>,
    /// Per connection, the file of the last CREATE request (what related operations in a
    /// compound mean by the file id of all ones).
    last_created: HashMap<usize, usize>,
}

/// The file id a related operation uses for "the file the compound's CREATE opened".
const RELATED_FILE: FileId = [0xFF; 16];

impl Rebuilder {
    /// One SMB2 message (header and body) of `connection`: the piece of file it carries.
    pub fn message<'m>(&mut self, connection: usize, h: &Header<'_>, msg: &'m [u8]) -> Option<Piece<'m>> {
        let key = (connection, h.message_id());
        if h.is_response() {
            // An interim answer (STATUS_PENDING) leaves the request waiting for the final one.
            if h.status() == NtStatus::PENDING {
                return None;
            }
            let pending = self.pending.remove(&key)?;
            if h.status() != NtStatus::SUCCESS {
                return None;
            }
            return self.response(connection, h, msg, pending);
        }
        let related = h.flags() & flags::RELATED_OPERATIONS != 0;
        let file_of = |s: &Self, id: &FileId| {
            if related && *id == RELATED_FILE {
                s.last_created.get(&connection)
            } else {
                s.open.get(&(connection, *id))
            }
            .copied()
        };
        match h.command() {
            Command::TREE_CONNECT => {
                let path = TreeConnectRequest::parse(msg).ok()?.path;
                self.pending.insert(key, Pending::TreeConnect(path));
            }
            Command::CREATE => {
                let name = CreateRequest::parse(msg).ok()?.name;
                let share = self.trees.get(&(connection, h.tree_id()?))?;
                let path = safe_path(share, &name)?;
                let file = self.file(path);
                self.last_created.insert(connection, file);
                self.pending.insert(key, Pending::Create(file));
            }
            Command::READ => {
                let r = ReadRequest::parse(msg).ok()?;
                let file = file_of(self, &r.file_id)?;
                self.pending.insert(key, Pending::Read { file, offset: r.offset });
            }
            Command::WRITE => {
                let w = WriteRequest::parse(msg).ok()?;
                let file = file_of(self, &w.file_id)?;
                self.files[file].saw(w.offset, w.data.len());
                return Some(Piece { file, offset: w.offset, data: w.data });
            }
            Command::CLOSE => {
                let c = CloseRequest::parse(msg).ok()?;
                let file = file_of(self, &c.file_id)?;
                self.open.remove(&(connection, c.file_id));
                self.pending.insert(key, Pending::Close(file));
            }
            _ => {}
        }
        None
    }

    fn response<'m>(
        &mut self,
        connection: usize,
        h: &Header<'_>,
        msg: &'m [u8],
        pending: Pending,
    ) -> Option<Piece<'m>> {
        match pending {
            Pending::TreeConnect(path) => {
                let share = path.trim_start_matches('\\').replace('\\', "/");
                self.trees.insert((connection, h.tree_id()?), share);
            }
            Pending::Create(file) => {
                let c = CreateResponse::parse(msg).ok()?;
                self.open.insert((connection, c.file_id), file);
                self.files[file].reported_size = Some(c.attributes.end_of_file);
            }
            Pending::Read { file, offset } => {
                let data = ReadResponse::parse(msg).ok()?.data;
                self.files[file].saw(offset, data.len());
                return Some(Piece { file, offset, data });
            }
            Pending::Close(file) => {
                // With SMB2_CLOSE_FLAG_POSTQUERY_ATTRIB the size after the last write.
                let c = CloseResponse::parse(msg).ok()?;
                if c.flags & 1 != 0 {
                    self.files[file].reported_size = Some(c.attributes.end_of_file);
                }
            }
        }
        None
    }

    fn file(&mut self, path: String) -> usize {
        if let Some(&n) = self.by_path.get(&path) {
            return n;
        }
        self.files.push(RebuiltFile { path: path.clone(), ..RebuiltFile::default() });
        self.by_path.insert(path, self.files.len() - 1);
        self.files.len() - 1
    }
}

/// `share` (`server/share`) and a CREATE's name (`dir\file`) as a relative path that stays
/// below the directory it is joined to: empty, `.` and `..` names dropped, NUL made `_`.
/// `None` for the share's root (a directory, not a file).
fn safe_path(share: &str, name: &str) -> Option<String> {
    let parts: Vec<String> = share
        .split('/')
        .chain(name.split(['\\', '/']))
        .filter(|p| !p.is_empty() && *p != "." && *p != "..")
        .map(|p| p.replace('\0', "_"))
        .collect();
    // At least server, share and one name.
    (parts.len() >= 3).then(|| parts.join("/"))
}

/// For fuzzing: messages as `[connection][length: u16 LE][SMB2 message]...` through a
/// rebuilder; every piece lands in a file it names, inside what that file says it saw, and
/// every path stays below the directory.
#[cfg(any(test, feature = "fuzzing"))]
pub fn fuzz(mut bytes: &[u8]) {
    let mut r = Rebuilder::default();
    while let [conn, a, b, rest @ ..] = bytes {
        let len = usize::from(u16::from_le_bytes([*a, *b])).min(rest.len());
        let (msg, next) = rest.split_at(len);
        bytes = next;
        let Ok(h) = Header::parse(msg) else { continue };
        if let Some(p) = r.message(usize::from(*conn), &h, msg) {
            let f = &r.files[p.file];
            let end = p.offset.saturating_add(p.data.len() as u64);
            assert!(p.data.is_empty() || f.seen.iter().any(|s| s.0 <= p.offset && end <= s.1), "{f:?} {}", p.offset);
        }
    }
    for f in &r.files {
        assert!(!f.path.starts_with('/') && f.path.split('/').all(|c| !c.is_empty() && c != "." && c != ".."));
        assert!(f.seen.windows(2).all(|w| w[0].1 < w[1].0), "merged and sorted: {:?}", f.seen);
        let _ = (f.size(), f.holes());
    }
}

/// The fuzz input format of [`fuzz`] for a capture's SMB2 messages (compounds split), to seed
/// the fuzzer from real sessions.
#[cfg(test)]
fn fuzz_input(capture: &keyless_capture::Capture) -> Vec<u8> {
    let mut out = Vec::new();
    for m in &capture.messages {
        for part in keyless_smb::compound::ranges(&m.payload).flatten() {
            let msg = &m.payload[part];
            let Ok(len) = u16::try_from(msg.len()) else { continue };
            out.push(u8::try_from(m.connection % 256).unwrap_or(0));
            out.extend_from_slice(&len.to_le_bytes());
            out.extend_from_slice(msg);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Writes fuzz seeds from the committed Samba captures (run by hand:
    /// `cargo test -p keyless-inspect -- --ignored write_fuzz_seeds`).
    #[test]
    #[ignore = "writes fuzz/corpus/inspect_files"]
    fn write_fuzz_seeds() {
        let root = concat!(env!("CARGO_MANIFEST_DIR"), "/../..");
        let dir = std::path::Path::new(root).join("fuzz/corpus/inspect_files");
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(std::path::Path::new(root).join("testdata/captures/samba")).unwrap() {
            let path = entry.unwrap().path();
            let Ok(c) = keyless_capture::parse(&std::fs::read(&path).unwrap(), &keyless_capture::Ports::default())
            else {
                continue;
            };
            let seed = fuzz_input(&c);
            if !seed.is_empty() {
                fuzz(&seed);
                std::fs::write(dir.join(path.file_stem().unwrap()), seed).unwrap();
            }
        }
    }

    #[test]
    fn names_stay_below_the_directory() {
        assert_eq!(safe_path("srv/share", "dir\\a.txt").as_deref(), Some("srv/share/dir/a.txt"));
        assert_eq!(safe_path("srv/share", "..\\..\\etc\\passwd").as_deref(), Some("srv/share/etc/passwd"));
        assert_eq!(safe_path("srv/share", "/abs\\.\\x").as_deref(), Some("srv/share/abs/x"));
        assert_eq!(safe_path("srv/share", ""), None);
        assert_eq!(safe_path("..", "x").as_deref(), None);
    }

    #[test]
    fn seen_ranges_merge_and_holes_remain() {
        let mut f = RebuiltFile::default();
        f.saw(10, 5);
        f.saw(0, 4);
        f.saw(4, 3);
        f.saw(14, 10);
        assert_eq!(f.seen, [(0, 7), (10, 24)]);
        f.reported_size = Some(30);
        assert_eq!(f.holes(), [(7, 10), (24, 30)]);
        f.saw(0, 30);
        assert_eq!((f.seen.as_slice(), f.holes()), (&[(0, 30)][..], vec![]));
        f.saw(u64::MAX - 1, 8); // no overflow
        assert_eq!(f.seen.last(), Some(&(u64::MAX - 1, u64::MAX)));
    }
}
