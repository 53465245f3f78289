//! A connected share and what a user does on it: list, stat, read, write, make and remove
//! directories, delete, rename. Paths use `/` or `\`, relative to the share root.

use crate::connection::check_status;
use crate::{Connection, Error};
use keyless_smb::change_notify::{ChangeNotifyRequest, ChangeNotifyResponse, FileNotify, filter};
use keyless_smb::control::{CLOSE_FLAG_POSTQUERY_ATTRIB, CloseRequest, CloseResponse, FileAttributes, FileId};
use keyless_smb::create::{CreateRequest, CreateResponse, access, disposition, options, share_access};
use keyless_smb::header::{HeaderFields, flags as header_flags};
use keyless_smb::info::{
    FileBasicInformation, FileRenameInformation, FileStandardInformation, QueryInfoRequest, QueryInfoResponse,
    SetInfoRequest, end_of_file_info, file_class, info_type,
};
use keyless_smb::query_directory::{QueryDirectoryRequest, QueryDirectoryResponse, class, entries, flags};
use keyless_smb::read_write::{ReadRequest, ReadResponse, WriteRequest, WriteResponse};
use keyless_smb::{Command, Message, NtStatus};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Write};

/// Header and fixed part of a WRITE request: where its data starts.
const WRITE_HEAD: usize = keyless_smb::read_write::WRITE_DATA_OFFSET as usize;

/// FILE_ATTRIBUTE_DIRECTORY.
const ATTRIBUTE_DIRECTORY: u32 = 0x10;

/// Bytes of READs or WRITEs in flight at once (within the server's credits): enough to keep a
/// loopback or LAN link busy, little enough to bound memory.
pub const WINDOW_BYTES: usize = 16 << 20;

/// Requests in flight for chunks of `chunk` bytes: at least 2, at most 16.
fn window(chunk: usize) -> usize {
    (WINDOW_BYTES / chunk.max(1)).clamp(2, 16)
}

/// Requests in flight: message id → (offset, length).
#[derive(Default)]
struct Flight(HashMap<u64, (u64, u64)>);

impl Flight {
    fn len(&self) -> usize {
        self.0.len()
    }
    fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
    fn insert(&mut self, id: u64, range: (u64, u64)) {
        self.0.insert(id, range);
    }
    fn take(&mut self, id: u64) -> Result<(u64, u64), Error> {
        self.0.remove(&id).ok_or(Error::Refused("a response to a request keyless did not send"))
    }
}

fn local_write(source: std::io::Error) -> Error {
    Error::Io { doing: "writing the local file", source }
}

/// A file's metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Metadata {
    /// Its name (in a listing) or path (from `stat`).
    pub name: String,
    /// Size in bytes.
    pub size: u64,
    /// Whether it is a directory.
    pub is_dir: bool,
    /// Last write time, as a FILETIME (100 ns since 1601).
    pub modified: u64,
}

/// A share on an authenticated connection.
#[derive(Debug)]
pub struct Tree<'c> {
    conn: &'c mut Connection,
    id: u32,
}

/// An open file or directory.
#[derive(Debug, Clone, Copy)]
struct Handle {
    id: FileId,
    attributes: FileAttributes,
}

/// `a/b\\c` → `a\b\c`, without leading or trailing separators.
fn smb_path(path: &str) -> String {
    path.split(['/', '\\']).filter(|p| !p.is_empty()).collect::<Vec<_>>().join("\\")
}

impl<'c> Tree<'c> {
    pub(crate) fn new(conn: &'c mut Connection, id: u32) -> Self {
        Self { conn, id }
    }

    /// The tree id the server gave.
    pub fn id(&self) -> u32 {
        self.id
    }

    fn create_request(&self, path: &str, desired_access: u32, disp: u32, opts: u32) -> CreateRequest<'static> {
        CreateRequest {
            impersonation_level: 2,
            desired_access: desired_access | access::SYNCHRONIZE,
            file_attributes: 0,
            share_access: share_access::READ | share_access::WRITE | share_access::DELETE,
            create_disposition: disp,
            create_options: opts,
            name: smb_path(path),
            ..Default::default()
        }
    }

    async fn create(&mut self, path: &str, desired_access: u32, disp: u32, opts: u32) -> Result<Handle, Error> {
        let req = self.create_request(path, desired_access, disp, opts);
        let resp = self.conn.request(self.id, &req, 0).await?;
        check_status(&resp, Command::CREATE)?;
        let body = CreateResponse::parse(resp.bytes())?;
        Ok(Handle { id: body.file_id, attributes: body.attributes })
    }

    async fn close(&mut self, handle: Handle) -> Result<FileAttributes, Error> {
        let resp = self
            .conn
            .request(self.id, &CloseRequest { flags: CLOSE_FLAG_POSTQUERY_ATTRIB, file_id: handle.id }, 0)
            .await?;
        check_status(&resp, Command::CLOSE)?;
        Ok(CloseResponse::parse(resp.bytes())?.attributes)
    }

    /// Closes `handle` after an operation on it; the operation's failure, if any, is the one
    /// reported (a failed close after it would only hide it).
    async fn close_after<T>(&mut self, handle: Handle, result: Result<T, Error>) -> Result<(T, FileAttributes), Error> {
        let closed = self.close(handle).await;
        let value = result?;
        Ok((value, closed?))
    }

    /// Metadata of `path`, in one round trip: CREATE, QUERY_INFO and CLOSE as a related
    /// compound (the last two act on the file the first one opens).
    ///
    /// # Errors
    /// [`Error::Status`] with OBJECT_NAME_NOT_FOUND when it does not exist, and the like.
    pub async fn stat(&mut self, path: &str) -> Result<Metadata, Error> {
        let create = self.create_request(path, access::READ_ATTRIBUTES, disposition::OPEN, 0);
        let query = QueryInfoRequest {
            info_type: info_type::FILE,
            info_class: file_class::STANDARD,
            output_buffer_length: 24,
            file_id: [0xff; 16],
            ..Default::default()
        };
        let close = CloseRequest { flags: 0, file_id: [0xff; 16] };
        let related = |mut h: HeaderFields| {
            h.flags |= header_flags::RELATED_OPERATIONS;
            h
        };
        let h1 = self.conn.header(Command::CREATE, self.id, 0)?;
        let h2 = related(self.conn.header(Command::QUERY_INFO, self.id, 0)?);
        let h3 = related(self.conn.header(Command::CLOSE, self.id, 0)?);
        self.conn.send_chain(vec![create.to_vec(&h1)?, query.to_vec(&h2)?, close.to_vec(&h3)?]).await?;
        let mut answers = Vec::with_capacity(3);
        for _ in 0..3 {
            answers.push(self.conn.receive().await?);
        }
        answers.sort_by_key(|r| r.header.message_id);
        if answers.iter().map(|r| r.header.message_id).ne([h1.message_id, h2.message_id, h3.message_id]) {
            return Err(Error::Refused("a compound answer that does not match its requests"));
        }
        // The CREATE's status says it all when the file is not there (the others then fail too).
        check_status(&answers[0], Command::CREATE)?;
        check_status(&answers[1], Command::QUERY_INFO)?;
        let created = CreateResponse::parse(answers[0].bytes())?;
        let standard = FileStandardInformation::parse(QueryInfoResponse::parse(answers[1].bytes())?.output)?;
        let mut meta = metadata(smb_path(path), &created.attributes);
        meta.is_dir = standard.directory;
        Ok(meta)
    }

    /// The entries of directory `path` (without `.` and `..`), every page of them.
    ///
    /// # Errors
    /// As [`Tree::stat`]; NOT_A_DIRECTORY for a file.
    pub async fn list(&mut self, path: &str) -> Result<Vec<Metadata>, Error> {
        let dir = self
            .create(path, access::READ_DATA | access::READ_ATTRIBUTES, disposition::OPEN, options::DIRECTORY_FILE)
            .await?;
        let mut out = Vec::new();
        let mut first = true;
        let result = loop {
            let req = QueryDirectoryRequest {
                info_class: class::ID_BOTH_DIRECTORY,
                flags: if first { flags::RESTART_SCANS } else { 0 },
                file_index: 0,
                file_id: dir.id,
                pattern: "*".into(),
                output_buffer_length: 65_536,
            };
            first = false;
            let resp = match self.conn.request(self.id, &req, 65_536).await {
                Ok(r) => r,
                Err(e) => break Err(e),
            };
            if resp.header.status == NtStatus::NO_MORE_FILES {
                break Ok(());
            }
            if let Err(e) = check_status(&resp, Command::QUERY_DIRECTORY) {
                break Err(e);
            }
            match page(&resp, &mut out) {
                Ok(true) => {}
                Ok(false) => break Ok(()), // an empty page: nothing more will come
                Err(e) => break Err(e),
            }
        };
        self.close_after(dir, result).await?;
        Ok(out)
    }

    /// Reads the whole file `path` into `out`: up to [`WINDOW_BYTES`] of READs of the negotiated size in
    /// flight, written out in order; returns the byte count, which must equal the file's size.
    ///
    /// # Errors
    /// As [`Tree::stat`], or an I/O error of `out`.
    pub async fn get(&mut self, path: &str, out: &mut dyn Write) -> Result<u64, Error> {
        let h = self
            .create(path, access::READ_DATA | access::READ_ATTRIBUTES, disposition::OPEN, options::NON_DIRECTORY_FILE)
            .await?;
        let size = h.attributes.end_of_file;
        let mut flight = Flight::default();
        let result = self.read_all(h.id, size, out, &mut flight).await;
        self.drain(&mut flight).await;
        let (written, _) = self.close_after(h, result).await?;
        if written != size {
            return Err(Error::Refused("the file ended before its size (was it truncated while reading?)"));
        }
        Ok(written)
    }

    async fn read_all(
        &mut self,
        id: FileId,
        size: u64,
        out: &mut dyn Write,
        flight: &mut Flight,
    ) -> Result<u64, Error> {
        let chunk = self.conn.io_size(self.conn.negotiated().max_read) as u64;
        let (mut next, mut written) = (0u64, 0u64);
        // Chunks that arrived before the ones in front of them.
        let mut early: BTreeMap<u64, Vec<u8>> = BTreeMap::new();
        let mut retry: Vec<(u64, u64)> = Vec::new();
        loop {
            while flight.len() < window(chunk as usize) && (next < size || !retry.is_empty()) {
                let most = self.conn.affordable(chunk as usize) as u64;
                if most == 0 {
                    break; // wait for answers to bring credits
                }
                let (offset, len) = match retry.pop() {
                    Some((offset, len)) if len > most => {
                        retry.push((offset + most, len - most));
                        (offset, most)
                    }
                    Some(r) => r,
                    None => {
                        let len = most.min(size - next);
                        next += len;
                        (next - len, len)
                    }
                };
                let req = ReadRequest { padding: 0x50, length: len as u32, offset, file_id: id, ..Default::default() };
                let msg_id = self.conn.send(self.id, &req, len as usize).await?;
                flight.insert(msg_id, (offset, len));
            }
            if flight.is_empty() {
                if next < size || !retry.is_empty() {
                    return Err(Error::Refused("the server granted no credits for the next READ"));
                }
                return Ok(written);
            }
            let resp = self.conn.receive().await?;
            let (offset, len) = flight.take(resp.header.message_id)?;
            if resp.header.status == NtStatus::END_OF_FILE {
                continue; // the file shrank: the size check reports it
            }
            check_status(&resp, Command::READ)?;
            let data = ReadResponse::parse(resp.bytes())?.data;
            if data.is_empty() {
                continue;
            }
            if data.len() as u64 > len {
                return Err(Error::Refused("the server returned more data than was asked for"));
            }
            if (data.len() as u64) < len {
                retry.push((offset + data.len() as u64, len - data.len() as u64)); // a short read: ask for the rest
            }
            if offset == written {
                out.write_all(data).map_err(local_write)?;
                written += data.len() as u64;
                while let Some(d) = early.remove(&written) {
                    out.write_all(&d).map_err(local_write)?;
                    written += d.len() as u64;
                }
            } else {
                early.insert(offset, data.to_vec());
            }
        }
    }

    /// Writes all of `input` to `path` (created or truncated): up to [`WINDOW_BYTES`] of WRITEs of the
    /// negotiated size in flight; returns the byte count, checked against the size the server
    /// reports at the end.
    ///
    /// # Errors
    /// As [`Tree::stat`], ACCESS_DENIED on a read-only share, or an I/O error of `input`.
    pub async fn put(&mut self, path: &str, input: &mut dyn Read) -> Result<u64, Error> {
        let h = self
            .create(
                path,
                access::WRITE_DATA | access::READ_ATTRIBUTES,
                disposition::OVERWRITE_IF,
                options::NON_DIRECTORY_FILE,
            )
            .await?;
        let mut flight = Flight::default();
        let result = self.write_all(h.id, input, &mut flight).await;
        self.drain(&mut flight).await;
        let (sent, attrs) = self.close_after(h, result).await?;
        if attrs.end_of_file != sent {
            return Err(Error::Refused("the file's size on the server differs from the bytes written"));
        }
        Ok(sent)
    }

    async fn write_all(&mut self, id: FileId, input: &mut dyn Read, flight: &mut Flight) -> Result<u64, Error> {
        let chunk = self.conn.io_size(self.conn.negotiated().max_write);
        let (mut offset, mut at_end) = (0u64, false);
        loop {
            while flight.len() < window(chunk) && !at_end {
                let most = self.conn.affordable(chunk);
                if most == 0 {
                    break; // wait for answers to bring credits
                }
                // The data is read straight into the message after its 112-byte head, and signed
                // or encrypted there: no copy between the file and the socket.
                let mut msg = Vec::with_capacity(WRITE_HEAD + most);
                msg.resize(WRITE_HEAD, 0);
                let n = read_up_to(input, most, &mut msg)
                    .map_err(|source| Error::Io { doing: "reading the local file", source })?;
                at_end = n < most;
                if n == 0 {
                    break;
                }
                let header = self.conn.header(Command::WRITE, self.id, n)?;
                let mut head = Vec::with_capacity(WRITE_HEAD);
                WriteRequest { offset, file_id: id, remaining_bytes: 0, flags: 0, data: &[] }
                    .encode_head(&header, n as u32, &mut head);
                msg[..WRITE_HEAD].copy_from_slice(&head);
                self.conn.send_encoded(msg).await?;
                flight.insert(header.message_id, (offset, n as u64));
                offset += n as u64;
            }
            if flight.is_empty() {
                if !at_end {
                    return Err(Error::Refused("the server granted no credits for the next WRITE"));
                }
                return Ok(offset);
            }
            let resp = self.conn.receive().await?;
            let (_, len) = flight.take(resp.header.message_id)?;
            check_status(&resp, Command::WRITE)?;
            if u64::from(WriteResponse::parse(resp.bytes())?.count) != len {
                return Err(Error::Refused("the server wrote fewer bytes than sent"));
            }
        }
    }

    /// After a failure with requests in flight: collects their answers, so the connection is
    /// in step again for what follows (the close).
    async fn drain(&mut self, flight: &mut Flight) {
        while !flight.is_empty() {
            match self.conn.receive().await {
                Ok(r) => {
                    let _ = flight.take(r.header.message_id);
                }
                Err(_) => break,
            }
        }
    }

    /// Creates directory `path`.
    ///
    /// # Errors
    /// OBJECT_NAME_COLLISION when it exists, and the like.
    pub async fn mkdir(&mut self, path: &str) -> Result<(), Error> {
        let h = self.create(path, access::READ_ATTRIBUTES, disposition::CREATE, options::DIRECTORY_FILE).await?;
        self.close(h).await.map(|_| ())
    }

    /// Removes the empty directory `path`.
    ///
    /// # Errors
    /// DIRECTORY_NOT_EMPTY, OBJECT_NAME_NOT_FOUND, and the like.
    pub async fn rmdir(&mut self, path: &str) -> Result<(), Error> {
        self.delete(path, options::DIRECTORY_FILE).await
    }

    /// Deletes the file `path`.
    ///
    /// # Errors
    /// OBJECT_NAME_NOT_FOUND, FILE_IS_A_DIRECTORY, and the like.
    pub async fn remove(&mut self, path: &str) -> Result<(), Error> {
        self.delete(path, options::NON_DIRECTORY_FILE).await
    }

    async fn delete(&mut self, path: &str, kind: u32) -> Result<(), Error> {
        let h = self.create(path, access::DELETE, disposition::OPEN, kind | options::DELETE_ON_CLOSE).await?;
        self.close(h).await.map(|_| ())
    }

    /// Watches directory `path` for `duration`: returns the changes the server reported (the
    /// first batch), or none when nothing changed, in which case the pending CHANGE_NOTIFY is
    /// cancelled. Exercises the asynchronous path: STATUS_PENDING, then CANCEL.
    ///
    /// # Errors
    /// As [`Tree::list`].
    pub async fn watch(&mut self, path: &str, duration: std::time::Duration) -> Result<Vec<FileNotify>, Error> {
        let dir = self
            .create(path, access::READ_DATA | access::READ_ATTRIBUTES, disposition::OPEN, options::DIRECTORY_FILE)
            .await?;
        let req = ChangeNotifyRequest {
            flags: 0,
            output_buffer_length: 4096,
            file_id: dir.id,
            completion_filter: filter::FILE_NAME | filter::DIR_NAME | filter::SIZE | filter::LAST_WRITE,
        };
        let result = async {
            let id = self.conn.send(self.id, &req, 0).await?;
            self.conn.wait_interim(id).await?;
            tokio::time::sleep(duration).await;
            self.conn.cancel(id).await?;
            let resp = self.conn.receive().await?;
            if resp.header.message_id != id {
                return Err(Error::Refused("a response to a request keyless did not send"));
            }
            match resp.header.status {
                NtStatus::CANCELLED => Ok(Vec::new()),
                _ => {
                    check_status(&resp, Command::CHANGE_NOTIFY)?;
                    Ok(FileNotify::parse_all(ChangeNotifyResponse::parse(resp.bytes())?.output)?)
                }
            }
        }
        .await;
        self.close_after(dir, result).await.map(|(changes, _)| changes)
    }

    /// Sets the size of file `path` (truncates or extends with zeros).
    ///
    /// # Errors
    /// As [`Tree::stat`], ACCESS_DENIED, DISK_FULL.
    pub async fn set_size(&mut self, path: &str, size: u64) -> Result<(), Error> {
        self.set_info(path, access::WRITE_DATA, file_class::END_OF_FILE, &end_of_file_info(size)).await
    }

    /// Sets the last write time of `path` (a FILETIME; other times left alone).
    ///
    /// # Errors
    /// As [`Tree::stat`], ACCESS_DENIED.
    pub async fn set_modified(&mut self, path: &str, filetime: u64) -> Result<(), Error> {
        let info = FileBasicInformation { times: [0, 0, filetime, 0], file_attributes: 0 }.to_bytes();
        self.set_info(path, access::WRITE_ATTRIBUTES, file_class::BASIC, &info).await
    }

    async fn set_info(&mut self, path: &str, want: u32, class: u8, info: &[u8]) -> Result<(), Error> {
        let h = self.create(path, want | access::READ_ATTRIBUTES, disposition::OPEN, 0).await?;
        let req = SetInfoRequest {
            info_type: info_type::FILE,
            info_class: class,
            additional_information: 0,
            file_id: h.id,
            buffer: info,
        };
        let result = self.conn.request(self.id, &req, 0).await.and_then(|r| check_status(&r, Command::SET_INFO));
        self.close_after(h, result).await.map(|_| ())
    }

    /// Flushes `path`'s data to the server's stable storage.
    ///
    /// # Errors
    /// As [`Tree::stat`].
    pub async fn flush(&mut self, path: &str) -> Result<(), Error> {
        let h = self.create(path, access::WRITE_DATA, disposition::OPEN, options::NON_DIRECTORY_FILE).await?;
        let result = self
            .conn
            .request(self.id, &keyless_smb::control::FlushRequest { file_id: h.id }, 0)
            .await
            .and_then(|r| check_status(&r, Command::FLUSH));
        self.close_after(h, result).await.map(|_| ())
    }

    /// Renames `from` to `to` (both relative to the share root), replacing nothing.
    ///
    /// # Errors
    /// OBJECT_NAME_COLLISION when `to` exists, and the like.
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<(), Error> {
        let info = FileRenameInformation { replace_if_exists: false, file_name: smb_path(to) }.to_bytes()?;
        self.set_info(from, access::DELETE, file_class::RENAME, &info).await
    }

    /// Disconnects from the share.
    ///
    /// # Errors
    /// An I/O error on the way.
    pub async fn disconnect(self) -> Result<(), Error> {
        let resp = self.conn.request(self.id, &keyless_smb::control::TreeDisconnect, 0).await?;
        check_status(&resp, Command::TREE_DISCONNECT)
    }
}

/// Adds one QUERY_DIRECTORY page to `out` (without `.` and `..`); false when it was empty.
fn page(resp: &crate::Received, out: &mut Vec<Metadata>) -> Result<bool, Error> {
    let body = QueryDirectoryResponse::parse(resp.bytes())?;
    if body.output.is_empty() {
        return Ok(false);
    }
    for e in entries(body.output, class::ID_BOTH_DIRECTORY)? {
        let e = e?;
        let name = e.file_name()?;
        if name != "." && name != ".." {
            out.push(Metadata {
                name,
                size: e.end_of_file(),
                is_dir: e.file_attributes() & ATTRIBUTE_DIRECTORY != 0,
                modified: e.times()[2],
            });
        }
    }
    Ok(true)
}

fn metadata(name: String, a: &FileAttributes) -> Metadata {
    Metadata { name, size: a.end_of_file, is_dir: a.file_attributes & ATTRIBUTE_DIRECTORY != 0, modified: a.times[2] }
}

/// Appends up to `limit` bytes of `input` to `out` (short only at the end), reading into the
/// vector's spare capacity without zeroing it first.
fn read_up_to(input: &mut dyn Read, limit: usize, out: &mut Vec<u8>) -> std::io::Result<usize> {
    input.take(limit as u64).read_to_end(out)
}
