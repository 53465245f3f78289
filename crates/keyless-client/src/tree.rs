//! A connected share and what a user does on it: list, stat, read, write, make and remove
//! directories, delete, rename. Paths use `/` or `\`, relative to the share root.

use crate::connection::check_status;
use crate::{Connection, Error};
use keyless_krb::{OsRandom, RandomSource};
use keyless_smb::change_notify::{ChangeNotifyRequest, ChangeNotifyResponse, FileNotify, filter};
use keyless_smb::control::{CLOSE_FLAG_POSTQUERY_ATTRIB, CloseRequest, CloseResponse, FileAttributes, FileId};
use keyless_smb::create::{
    CreateContext, CreateRequest, CreateResponse, DurableHandleReconnectV2, DurableHandleV2, Lease, access,
    context_name, disposition, lease_state, oplock_level, options, share_access,
};
use keyless_smb::header::{HeaderFields, flags as header_flags};
use keyless_smb::info::{
    FileBasicInformation, FileFsFullSizeInformation, FileRenameInformation, FileStandardInformation, QueryInfoRequest,
    QueryInfoResponse, SetInfoRequest, end_of_file_info, file_class, fs_class, info_type,
};
use keyless_smb::query_directory::{QueryDirectoryRequest, QueryDirectoryResponse, class, entries, flags};
use keyless_smb::read_write::{ReadRequest, ReadResponse, WriteRequest, WriteResponse};
use keyless_smb::{Command, Dialect, Message, NtStatus};
use std::collections::{BTreeMap, HashMap};
use std::io::{Read, Seek, SeekFrom, Write};

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

/// How many times one transfer re-establishes a dropped connection before giving up.
const RECONNECTS: u32 = 3;

/// A reader that can also seek: [`Tree::put_seekable`] resends from it what a dropped
/// connection or an expired session lost.
pub trait ReadSeek: Read + Seek {}

impl<T: Read + Seek> ReadSeek for T {}

/// What `put` reads: a stream, or a seekable source it can go back in.
enum Input<'a> {
    Stream(&'a mut dyn Read),
    Seekable { source: &'a mut dyn ReadSeek, base: u64 },
}

impl Input<'_> {
    fn reader(&mut self) -> &mut dyn Read {
        match self {
            Self::Stream(r) => *r,
            Self::Seekable { source, .. } => *source,
        }
    }

    /// Moves to byte `offset` of the transfer.
    fn seek(&mut self, offset: u64) -> Result<(), Error> {
        match self {
            Self::Stream(_) => Err(Error::Refused("data to send again, and the input cannot go back")),
            Self::Seekable { source, base } => source
                .seek(SeekFrom::Start(*base + offset))
                .map(|_| ())
                .map_err(|source| Error::Io { doing: "seeking in the local file", source }),
        }
    }
}

/// A transfer's state, kept across reauthentications and reconnections: the requests in
/// flight (message id → offset, length), ranges to ask for or send again, where new ones start.
#[derive(Default)]
struct Transfer {
    flight: HashMap<u64, (u64, u64)>,
    again: Vec<(u64, u64)>,
    next: u64,
    /// Bytes delivered in order (get), and chunks that arrived ahead of them.
    written: u64,
    early: BTreeMap<u64, Vec<u8>>,
    /// The input is exhausted (put).
    at_end: bool,
}

impl Transfer {
    fn take(&mut self, id: u64) -> Result<(u64, u64), Error> {
        self.flight.remove(&id).ok_or(Error::Refused("a response to a request keyless did not send"))
    }

    /// A range to ask for again, at most `most` bytes of it (the rest stays queued).
    fn again(&mut self, most: u64) -> Option<(u64, u64)> {
        let (offset, len) = self.again.pop()?;
        if len > most {
            self.again.push((offset + most, len - most));
            return Some((offset, most));
        }
        Some((offset, len))
    }

    /// After a reconnection: everything that was in flight is asked for again.
    fn requeue(&mut self) {
        self.again.extend(self.flight.drain().map(|(_, range)| range));
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
    /// Last access time (FILETIME).
    pub accessed: u64,
    /// Last change of data or metadata (ChangeTime, what POSIX calls ctime; FILETIME).
    pub changed: u64,
    /// Creation time (FILETIME).
    pub created: u64,
}

impl Metadata {
    /// From a name, size, directory flag and the four SMB times (creation, last access,
    /// last write, change), in that order as SMB sends them.
    pub fn new(name: String, size: u64, is_dir: bool, times: [u64; 4]) -> Self {
        let [created, accessed, modified, changed] = times;
        Self { name, size, is_dir, modified, accessed, changed, created }
    }

    /// The last write time.
    pub fn modified_time(&self) -> std::time::SystemTime {
        from_filetime(self.modified)
    }
}

/// A FILETIME (100 ns since 1601-01-01, as SMB counts time) of `t`, for [`Tree::set_modified`].
pub fn filetime(t: std::time::SystemTime) -> u64 {
    keyless_gss::ntlmssp::filetime(t)
}

/// The time a FILETIME names (times before 1970 become 1970).
pub fn from_filetime(filetime: u64) -> std::time::SystemTime {
    let since_1970 = filetime.saturating_sub(keyless_gss::ntlmssp::filetime(std::time::UNIX_EPOCH));
    std::time::UNIX_EPOCH + std::time::Duration::from_nanos(since_1970.saturating_mul(100))
}

/// How [`Tree::open`] treats an existing or missing file.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpenHow {
    /// It must exist.
    Existing,
    /// It must not exist: it is created.
    New,
    /// Opened if it exists, else created.
    Always,
    /// Opened and emptied if it exists, else created.
    Truncate,
}

/// A file held open for reads and writes at offsets (what a mounted file system needs).
#[derive(Debug)]
pub struct OpenFile {
    handle: Handle,
    /// Its metadata when it was opened.
    pub metadata: Metadata,
}

/// A share on an authenticated connection.
#[derive(Debug)]
pub struct Tree<'c> {
    conn: &'c mut Connection,
    id: u32,
    /// Its name, to connect again after a reconnection.
    share: String,
}

/// An open file or directory.
#[derive(Debug, Clone, Copy)]
struct Handle {
    id: FileId,
    attributes: FileAttributes,
    /// Set when the server made the open durable.
    durable: Option<Durable>,
    /// The key of the lease the open holds, if the server granted one.
    lease_key: Option<[u8; 16]>,
}

/// What reclaims a durable open on a new connection (MS-SMB2 3.2.4.4): its CreateGuid and
/// the lease it holds.
#[derive(Debug, Clone, Copy)]
struct Durable {
    create_guid: [u8; 16],
    lease: Lease,
}

/// `a/b\\c` → `a\b\c`, without leading or trailing separators.
fn smb_path(path: &str) -> String {
    path.split(['/', '\\']).filter(|p| !p.is_empty()).collect::<Vec<_>>().join("\\")
}

impl<'c> Tree<'c> {
    pub(crate) fn new(conn: &'c mut Connection, id: u32, share: &str) -> Self {
        Self { conn, id, share: share.to_string() }
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
        Ok(Handle { id: body.file_id, attributes: body.attributes, durable: None, lease_key: None })
    }

    /// Opens a file for a transfer asking for a durable handle (DH2Q) under a lease with
    /// `state` (durability needs handle caching), so that the transfer can survive a dropped
    /// connection. The server may grant neither: the open is then an ordinary one.
    async fn create_durable(
        &mut self,
        path: &str,
        desired_access: u32,
        disp: u32,
        state: u32,
    ) -> Result<Handle, Error> {
        if matches!(self.conn.negotiated().dialect, Dialect::SMB_202 | Dialect::SMB_21) {
            return self.create(path, desired_access, disp, options::NON_DIRECTORY_FILE).await;
        }
        let (mut create_guid, mut key) = ([0u8; 16], [0u8; 16]);
        OsRandom.fill(&mut create_guid)?;
        OsRandom.fill(&mut key)?;
        let lease = Lease { key, state, flags: 0, v2: Some(([0; 16], 0)) };
        let dh2q = DurableHandleV2 { timeout: 0, flags: 0, create_guid }.request_bytes();
        let durable = Durable { create_guid, lease };
        self.open_leased(path, desired_access, disp, durable, (context_name::DURABLE_HANDLE_V2, &dh2q)).await
    }

    /// CREATE with `durable`'s lease and a durable-handle context (DH2Q or DH2C): the handle,
    /// durable when the server answered the durable context.
    async fn open_leased(
        &mut self,
        path: &str,
        desired_access: u32,
        disp: u32,
        durable: Durable,
        context: (&[u8; 4], &[u8]),
    ) -> Result<Handle, Error> {
        let lease = durable.lease;
        let lease_bytes = lease.to_bytes();
        let mut req = self.create_request(path, desired_access, disp, options::NON_DIRECTORY_FILE);
        req.oplock_level = oplock_level::LEASE;
        req.contexts =
            vec![CreateContext::new(context_name::LEASE, &lease_bytes), CreateContext::new(context.0, context.1)];
        let resp = self.conn.request(self.id, &req, 0).await?;
        check_status(&resp, Command::CREATE)?;
        let body = CreateResponse::parse(resp.bytes())?;
        let leased = body.oplock_level == oplock_level::LEASE && body.context(context_name::LEASE).is_some();
        if leased {
            self.conn.hold_lease(lease.key, self.id);
        }
        let durable = body
            .context(context_name::DURABLE_HANDLE_V2)
            .or_else(|| body.context(context_name::DURABLE_HANDLE_RECONNECT_V2))
            .map(|_| durable);
        Ok(Handle { id: body.file_id, attributes: body.attributes, durable, lease_key: leased.then_some(lease.key) })
    }

    /// After the connection dropped: a new connection and session, the share again, and the
    /// durable open reclaimed (DH2C with its CreateGuid and lease key).
    async fn reclaim(&mut self, path: &str, handle: &mut Handle, desired_access: u32) -> Result<(), Error> {
        let d = handle.durable.ok_or(Error::Refused("the connection dropped and the open was not durable"))?;
        self.conn.reconnect().await?;
        self.id = self.conn.connect_tree(&self.share).await?;
        let dh2c = DurableHandleReconnectV2 { file_id: handle.id, create_guid: d.create_guid, flags: 0 }.to_bytes();
        let context = (context_name::DURABLE_HANDLE_RECONNECT_V2, &dh2c[..]);
        match self.open_leased(path, desired_access, disposition::OPEN, d, context).await {
            Ok(reclaimed) => handle.id = reclaimed.id,
            // The server may refuse to hand the open back: smbd does when the file changed
            // after it saved the open's state (WRITEs still in its queue when the connection
            // dropped). The transfer sends every range not yet acknowledged again anyway, so
            // a plain open of the same file carries it on, without durability from here.
            Err(e) if e.status().is_some() => {
                if let Some(key) = handle.lease_key.take() {
                    self.conn.drop_lease(&key);
                }
                *handle = self.create(path, desired_access, disposition::OPEN, options::NON_DIRECTORY_FILE).await?;
            }
            Err(e) => return Err(e),
        }
        Ok(())
    }

    /// Whether a failed transfer can go on after a reconnection: the connection dropped, the
    /// open is durable, and tries are left.
    fn can_resume(&self, handle: &Handle, reconnects: &mut u32) -> bool {
        let ok = self.conn.is_broken() && handle.durable.is_some() && *reconnects < RECONNECTS;
        *reconnects += u32::from(ok);
        ok
    }

    async fn close(&mut self, handle: Handle) -> Result<FileAttributes, Error> {
        if let Some(key) = &handle.lease_key {
            self.conn.drop_lease(key);
        }
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

    /// Reads the whole file `path` into `out`: up to [`WINDOW_BYTES`] of READs of the
    /// negotiated size in flight, written out in order; returns the byte count, which must
    /// equal the file's size. The open is durable where the server allows it, so a dropped
    /// connection is re-established and the transfer goes on where it was.
    ///
    /// # Errors
    /// As [`Tree::stat`], or an I/O error of `out`.
    pub async fn get(&mut self, path: &str, out: &mut dyn Write) -> Result<u64, Error> {
        let want = access::READ_DATA | access::READ_ATTRIBUTES;
        let mut h = self.create_durable(path, want, disposition::OPEN, lease_state::READ | lease_state::HANDLE).await?;
        let size = h.attributes.end_of_file;
        let mut t = Transfer::default();
        let mut reconnects = 0;
        let result = loop {
            match self.read_all(h.id, size, out, &mut t).await {
                Err(_) if self.can_resume(&h, &mut reconnects) => {
                    // What stopped the resumption says more than the dropped connection.
                    if let Err(e) = self.reclaim(path, &mut h, want).await {
                        break Err(e);
                    }
                    t.requeue();
                }
                r => break r,
            }
        };
        self.drain(&mut t).await;
        let (written, _) = self.close_after(h, result).await?;
        if written != size {
            return Err(Error::Refused("the file ended before its size (was it truncated while reading?)"));
        }
        Ok(written)
    }

    async fn read_all(&mut self, id: FileId, size: u64, out: &mut dyn Write, t: &mut Transfer) -> Result<u64, Error> {
        let chunk = self.conn.io_size(self.conn.negotiated().max_read) as u64;
        loop {
            while t.flight.len() < window(chunk as usize) && (t.next < size || !t.again.is_empty()) {
                let most = self.conn.affordable(chunk as usize) as u64;
                if most == 0 {
                    break; // wait for answers to bring credits
                }
                let (offset, len) = t.again(most).unwrap_or_else(|| {
                    let len = most.min(size - t.next);
                    t.next += len;
                    (t.next - len, len)
                });
                let req = ReadRequest { padding: 0x50, length: len as u32, offset, file_id: id, ..Default::default() };
                let msg_id = match self.conn.send(self.id, &req, len as usize).await {
                    Ok(id) => id,
                    Err(e) => {
                        t.again.push((offset, len)); // not sent, or lost with the connection
                        return Err(e);
                    }
                };
                t.flight.insert(msg_id, (offset, len));
            }
            if t.flight.is_empty() {
                if t.next < size || !t.again.is_empty() {
                    return Err(Error::Refused("the server granted no credits for the next READ"));
                }
                return Ok(t.written);
            }
            let resp = self.conn.receive().await?;
            let (offset, len) = t.take(resp.header.message_id)?;
            match resp.header.status {
                NtStatus::END_OF_FILE => continue, // the file shrank: the size check reports it
                NtStatus::NETWORK_SESSION_EXPIRED if self.conn.recover_expired(&resp).await? => {
                    t.again.push((offset, len));
                    continue;
                }
                _ => check_status(&resp, Command::READ)?,
            }
            let data = ReadResponse::parse(resp.bytes())?.data;
            if data.is_empty() {
                continue;
            }
            if data.len() as u64 > len {
                return Err(Error::Refused("the server returned more data than was asked for"));
            }
            if (data.len() as u64) < len {
                t.again.push((offset + data.len() as u64, len - data.len() as u64)); // a short read: ask for the rest
            }
            if offset == t.written {
                out.write_all(data).map_err(local_write)?;
                t.written += data.len() as u64;
                while let Some(d) = t.early.remove(&t.written) {
                    out.write_all(&d).map_err(local_write)?;
                    t.written += d.len() as u64;
                }
            } else if offset > t.written {
                t.early.insert(offset, data.to_vec());
            }
        }
    }

    /// Writes all of `input` to `path` (created or truncated): up to [`WINDOW_BYTES`] of
    /// WRITEs of the negotiated size in flight; returns the byte count, checked against the
    /// size the server reports at the end. A stream cannot be sent again: a dropped connection
    /// ends the transfer ([`Tree::put_seekable`] survives it).
    ///
    /// # Errors
    /// As [`Tree::stat`], ACCESS_DENIED on a read-only share, or an I/O error of `input`.
    pub async fn put(&mut self, path: &str, input: &mut dyn Read) -> Result<u64, Error> {
        self.put_from(path, Input::Stream(input)).await
    }

    /// As [`Tree::put`], from a source that can seek (a file): on a durable open, a dropped
    /// connection is re-established and every WRITE not acknowledged is sent again from the
    /// source, so nothing is lost and nothing lands twice at another offset. Likewise after
    /// the server says the session expired.
    ///
    /// # Errors
    /// As [`Tree::put`].
    pub async fn put_seekable(&mut self, path: &str, input: &mut dyn ReadSeek) -> Result<u64, Error> {
        let base =
            input.stream_position().map_err(|source| Error::Io { doing: "seeking in the local file", source })?;
        self.put_from(path, Input::Seekable { source: input, base }).await
    }

    async fn put_from(&mut self, path: &str, mut input: Input<'_>) -> Result<u64, Error> {
        let want = access::WRITE_DATA | access::READ_ATTRIBUTES;
        let state = lease_state::READ | lease_state::WRITE | lease_state::HANDLE;
        let mut h = self.create_durable(path, want, disposition::OVERWRITE_IF, state).await?;
        let resumable = matches!(input, Input::Seekable { .. });
        let mut t = Transfer::default();
        let mut reconnects = 0;
        let result = loop {
            match self.write_all(h.id, &mut input, &mut t).await {
                Err(_) if resumable && self.can_resume(&h, &mut reconnects) => {
                    if let Err(e) = self.reclaim(path, &mut h, want).await {
                        break Err(e);
                    }
                    t.requeue();
                }
                r => break r,
            }
        };
        self.drain(&mut t).await;
        let (sent, attrs) = self.close_after(h, result).await?;
        if attrs.end_of_file != sent {
            return Err(Error::Refused("the file's size on the server differs from the bytes written"));
        }
        Ok(sent)
    }

    async fn write_all(&mut self, id: FileId, input: &mut Input<'_>, t: &mut Transfer) -> Result<u64, Error> {
        let chunk = self.conn.io_size(self.conn.negotiated().max_write);
        loop {
            while t.flight.len() < window(chunk) && (!t.at_end || !t.again.is_empty()) {
                let most = self.conn.affordable(chunk);
                if most == 0 {
                    break; // wait for answers to bring credits
                }
                let again = t.again(most as u64);
                let (offset, want) = again.map_or((t.next, most), |(o, l)| (o, l as usize));
                if again.is_some() {
                    input.seek(offset)?;
                }
                // The data is read straight into the message after its 112-byte head, and signed
                // or encrypted there: no copy between the file and the socket.
                let mut msg = Vec::with_capacity(WRITE_HEAD + want);
                msg.resize(WRITE_HEAD, 0);
                let n = read_up_to(input.reader(), want, &mut msg)
                    .map_err(|source| Error::Io { doing: "reading the local file", source })?;
                if again.is_some() {
                    input.seek(t.next)?;
                    if n < want {
                        return Err(Error::Refused("the local file shrank while it was being sent"));
                    }
                } else {
                    t.at_end = n < want;
                    if n == 0 {
                        break;
                    }
                    t.next += n as u64;
                }
                let header = self.conn.header(Command::WRITE, self.id, n)?;
                let mut head = Vec::with_capacity(WRITE_HEAD);
                WriteRequest { offset, file_id: id, remaining_bytes: 0, flags: 0, data: &[] }
                    .encode_head(&header, n as u32, &mut head);
                msg[..WRITE_HEAD].copy_from_slice(&head);
                t.flight.insert(header.message_id, (offset, n as u64));
                self.conn.send_encoded(msg).await?;
            }
            if t.flight.is_empty() {
                if !t.at_end || !t.again.is_empty() {
                    return Err(Error::Refused("the server granted no credits for the next WRITE"));
                }
                return Ok(t.next);
            }
            let resp = self.conn.receive().await?;
            let (offset, len) = t.take(resp.header.message_id)?;
            if resp.header.status == NtStatus::NETWORK_SESSION_EXPIRED && self.conn.recover_expired(&resp).await? {
                t.again.push((offset, len));
                continue;
            }
            check_status(&resp, Command::WRITE)?;
            if u64::from(WriteResponse::parse(resp.bytes())?.count) != len {
                return Err(Error::Refused("the server wrote fewer bytes than sent"));
            }
        }
    }

    /// After a failure with requests in flight: collects their answers, so the connection is
    /// in step again for what follows (the close).
    async fn drain(&mut self, t: &mut Transfer) {
        while !t.flight.is_empty() && !self.conn.is_broken() {
            match self.conn.receive().await {
                Ok(r) => {
                    let _ = t.take(r.header.message_id);
                }
                Err(_) => break,
            }
        }
    }

    /// Opens the file `path` for reading, and writing when `write`.
    ///
    /// # Errors
    /// OBJECT_NAME_NOT_FOUND ([`OpenHow::Existing`]), OBJECT_NAME_COLLISION ([`OpenHow::New`]),
    /// FILE_IS_A_DIRECTORY, ACCESS_DENIED, and the like.
    pub async fn open(&mut self, path: &str, write: bool, how: OpenHow) -> Result<OpenFile, Error> {
        let mut want = access::READ_DATA | access::READ_ATTRIBUTES;
        if write {
            want |= access::WRITE_DATA | access::WRITE_ATTRIBUTES;
        }
        let disp = match how {
            OpenHow::Existing => disposition::OPEN,
            OpenHow::New => disposition::CREATE,
            OpenHow::Always => disposition::OPEN_IF,
            OpenHow::Truncate => disposition::OVERWRITE_IF,
        };
        let handle = self.create(path, want, disp, options::NON_DIRECTORY_FILE).await?;
        Ok(OpenFile { metadata: metadata(path.to_string(), &handle.attributes), handle })
    }

    /// Reads up to `len` bytes at `offset` of `file` into `out` (pipelined like [`Tree::get`]);
    /// returns how many, fewer only at the end of the file.
    ///
    /// # Errors
    /// As [`Tree::get`].
    pub async fn read_at(&mut self, file: &OpenFile, offset: u64, len: u64, out: &mut Vec<u8>) -> Result<u64, Error> {
        let mut t = Transfer { next: offset, written: offset, ..Transfer::default() };
        let result = self.read_all(file.handle.id, offset.saturating_add(len), out, &mut t).await;
        self.drain(&mut t).await;
        result.map(|end| end - offset)
    }

    /// Writes `data` at `offset` of `file` (pipelined like [`Tree::put`]).
    ///
    /// # Errors
    /// As [`Tree::put`].
    pub async fn write_at(&mut self, file: &OpenFile, offset: u64, data: &[u8]) -> Result<(), Error> {
        let mut t = Transfer { next: offset, ..Transfer::default() };
        let mut source = data;
        let result = self.write_all(file.handle.id, &mut Input::Stream(&mut source), &mut t).await;
        self.drain(&mut t).await;
        match result {
            Ok(end) if end != offset + data.len() as u64 => {
                Err(Error::Refused("the server wrote fewer bytes than sent"))
            }
            r => r.map(|_| ()),
        }
    }

    /// Flushes `file`'s data to the server's stable storage.
    ///
    /// # Errors
    /// An I/O error, or the server's status.
    pub async fn flush_file(&mut self, file: &OpenFile) -> Result<(), Error> {
        let resp =
            self.conn.request(self.id, &keyless_smb::control::FlushRequest { file_id: file.handle.id }, 0).await?;
        check_status(&resp, Command::FLUSH)
    }

    /// Sets `file`'s size (truncates, or extends with zeros).
    ///
    /// # Errors
    /// ACCESS_DENIED, DISK_FULL, and the like.
    pub async fn set_file_size(&mut self, file: &OpenFile, size: u64) -> Result<(), Error> {
        self.set_handle_info(file.handle.id, file_class::END_OF_FILE, &end_of_file_info(size)).await
    }

    /// `file`'s metadata asked on its handle (FileAllInformation), and whether its name is
    /// gone: an unlinked file that is still open has a handle but no path to `stat`.
    ///
    /// # Errors
    /// An I/O error, or the server's status.
    pub async fn file_metadata(&mut self, file: &OpenFile) -> Result<(Metadata, bool), Error> {
        let req = QueryInfoRequest {
            info_type: info_type::FILE,
            info_class: file_class::ALL,
            output_buffer_length: 4096,
            file_id: file.handle.id,
            ..Default::default()
        };
        let resp = self.conn.request(self.id, &req, 4096).await?;
        // The name at the end may not fit: the fixed part before it is what is read.
        if resp.header.status != NtStatus::BUFFER_OVERFLOW {
            check_status(&resp, Command::QUERY_INFO)?;
        }
        let all = QueryInfoResponse::parse(resp.bytes())?.output;
        let basic = FileBasicInformation::parse(all)?;
        let standard = FileStandardInformation::parse(all.get(40..).unwrap_or_default())?;
        let meta = Metadata::new(file.metadata.name.clone(), standard.end_of_file, standard.directory, basic.times);
        Ok((meta, standard.delete_pending))
    }

    /// Closes `file`; returns its metadata at the close.
    ///
    /// # Errors
    /// An I/O error, or the server's status.
    pub async fn close_file(&mut self, file: OpenFile) -> Result<Metadata, Error> {
        let name = file.metadata.name.clone();
        let attributes = self.close(file.handle).await?;
        Ok(metadata(name, &attributes))
    }

    /// The share's size and free space (FileFsFullSizeInformation of its root).
    ///
    /// # Errors
    /// An I/O error, or the server's status.
    pub async fn space(&mut self) -> Result<FileFsFullSizeInformation, Error> {
        let root = self.create("", access::READ_ATTRIBUTES, disposition::OPEN, options::DIRECTORY_FILE).await?;
        let req = QueryInfoRequest {
            info_type: info_type::FILESYSTEM,
            info_class: fs_class::FULL_SIZE,
            output_buffer_length: 32,
            additional_information: 0,
            flags: 0,
            file_id: root.id,
            input: &[],
        };
        let result = async {
            let resp = self.conn.request(self.id, &req, 32).await?;
            check_status(&resp, Command::QUERY_INFO)?;
            Ok(FileFsFullSizeInformation::parse(QueryInfoResponse::parse(resp.bytes())?.output)?)
        }
        .await;
        self.close_after(root, result).await.map(|(space, _)| space)
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

    /// Marks `path` for deletion with FileDispositionInformation on an open handle: unlike
    /// FILE_DELETE_ON_CLOSE at CREATE (which smbd accepts and then ignores for a non-empty
    /// directory), this answers DIRECTORY_NOT_EMPTY (MS-FSA 2.1.5.15.3).
    async fn delete(&mut self, path: &str, kind: u32) -> Result<(), Error> {
        let h = self.create(path, access::DELETE, disposition::OPEN, kind).await?;
        let result = self.set_handle_info(h.id, file_class::DISPOSITION, &[1]).await;
        self.close_after(h, result).await.map(|_| ())
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

    /// Sets the last access and last write times of `path` (FILETIMEs; None leaves one alone).
    ///
    /// # Errors
    /// As [`Tree::stat`], ACCESS_DENIED.
    pub async fn set_times(&mut self, path: &str, accessed: Option<u64>, modified: Option<u64>) -> Result<(), Error> {
        // 0 in FileBasicInformation means "leave unchanged" (MS-FSCC 2.4.7).
        let times = [0, accessed.unwrap_or(0), modified.unwrap_or(0), 0];
        let info = FileBasicInformation { times, file_attributes: 0 }.to_bytes();
        self.set_info(path, access::WRITE_ATTRIBUTES, file_class::BASIC, &info).await
    }

    async fn set_info(&mut self, path: &str, want: u32, class: u8, info: &[u8]) -> Result<(), Error> {
        let h = self.create(path, want | access::READ_ATTRIBUTES, disposition::OPEN, 0).await?;
        let result = self.set_handle_info(h.id, class, info).await;
        self.close_after(h, result).await.map(|_| ())
    }

    async fn set_handle_info(&mut self, file_id: FileId, class: u8, info: &[u8]) -> Result<(), Error> {
        let req = SetInfoRequest {
            info_type: info_type::FILE,
            info_class: class,
            additional_information: 0,
            file_id,
            buffer: info,
        };
        let resp = self.conn.request(self.id, &req, 0).await?;
        check_status(&resp, Command::SET_INFO)
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
        self.rename_with(from, to, false).await
    }

    /// Renames `from` to `to`, replacing a file at `to` when `replace` (POSIX `rename`).
    ///
    /// # Errors
    /// As [`Tree::rename`]; ACCESS_DENIED when `to` is a directory or open.
    pub async fn rename_with(&mut self, from: &str, to: &str, replace: bool) -> Result<(), Error> {
        let info = FileRenameInformation { replace_if_exists: replace, file_name: smb_path(to) }.to_bytes()?;
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
            out.push(Metadata::new(name, e.end_of_file(), e.file_attributes() & ATTRIBUTE_DIRECTORY != 0, e.times()));
        }
    }
    Ok(true)
}

fn metadata(name: String, a: &FileAttributes) -> Metadata {
    Metadata::new(name, a.end_of_file, a.file_attributes & ATTRIBUTE_DIRECTORY != 0, a.times)
}

/// Appends up to `limit` bytes of `input` to `out` (short only at the end), reading into the
/// vector's spare capacity without zeroing it first.
fn read_up_to(input: &mut dyn Read, limit: usize, out: &mut Vec<u8>) -> std::io::Result<usize> {
    input.take(limit as u64).read_to_end(out)
}
