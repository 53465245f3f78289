//! Whole-file transfers and ranges of an open file: READs or WRITEs of the negotiated size,
//! a window of them in flight (pipelined on the session with every other request), answers
//! taken in order so data reaches its sink in order. Opens for transfers are durable under a
//! lease where the server allows it, so the core reclaims them after a dropped connection and
//! sends what was in flight again: a transfer sees a delay, not an error.

use crate::buffers::Buffers;
use crate::client::Pending;
use crate::error::{Error, Misbehaviour};
use crate::proto::{Durability, OpenSlot, Request, Target};
use crate::tree::{Metadata, Opened, Tree};
use keyless_krb::RandomSource;
use keyless_net::OsRandom;
use keyless_smb::create::{
    CreateContext, Disposition, DurableHandleV2, Lease, OplockLevel, access, context_name, durable_flags, lease_state,
    options,
};
use keyless_smb::header::HeaderFields;
use keyless_smb::read_write::{ReadRequest, ReadResponse, WRITE_DATA_OFFSET, WriteRequest, WriteResponse};
use keyless_smb::{Command, Dialect, Message, NtStatus};
use std::collections::VecDeque;
use std::sync::Arc;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Header and fixed part of a WRITE request: where its data starts.
const WRITE_HEAD: usize = WRITE_DATA_OFFSET as usize;

/// Bytes of READs or WRITEs in flight at once for one transfer: four 1 MiB requests keep
/// loopback and a LAN as busy as sixteen did (measured), and bound memory: the session keeps
/// what is in flight until it is answered, to send it again after a reconnection, so a 1 GiB
/// copy peaks at about 11 MB of RSS (15 MB with 8 MiB in flight).
pub const WINDOW_BYTES: usize = 4 << 20;

/// Requests in flight for chunks of `chunk` bytes: at least 2, at most 16.
fn window(chunk: usize) -> usize {
    (WINDOW_BYTES / chunk.max(1)).clamp(2, 16)
}

/// Told the bytes done so far, as a transfer goes.
pub type Progress<'a> = &'a mut (dyn FnMut(u64) + Send);

/// A READ in flight ([`crate::File::submit_read`]).
#[must_use = "dropping it abandons the READ"]
#[derive(Debug)]
pub struct ReadPending {
    pending: Pending,
    len: u64,
    buffers: Arc<Buffers>,
}

/// What a READ brought: the bytes stay in the response they came in.
#[derive(Debug)]
pub struct ReadData {
    response: crate::proto::Received,
    range: core::ops::Range<usize>,
    /// Where the frame's buffer goes when the bytes are no longer needed.
    buffers: Arc<Buffers>,
}

impl Drop for ReadData {
    fn drop(&mut self) {
        self.buffers.give(self.response.take_buffer());
    }
}

impl ReadData {
    /// The bytes (none at the end of the file).
    pub fn data(&self) -> &[u8] {
        &self.response.bytes()[self.range.clone()]
    }
}

impl std::future::Future for ReadPending {
    type Output = Result<ReadData, Error>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let (len, buffers) = (self.len, self.buffers.clone());
        std::pin::Pin::new(&mut self.pending).poll(cx).map(|answer| {
            let response = answer?.response;
            if response.status() == NtStatus::END_OF_FILE {
                return Ok(ReadData { response, range: 0..0, buffers });
            }
            response.check()?;
            let range = ReadResponse::parse(response.bytes())?.data_range();
            if range.len() as u64 > len {
                return Err(Misbehaviour::TooMuchData.into());
            }
            Ok(ReadData { response, range, buffers })
        })
    }
}

/// A WRITE in flight ([`crate::File::submit_write`]); its answer is the count written.
#[must_use = "dropping it abandons the WRITE"]
#[derive(Debug)]
pub struct WritePending {
    pending: Pending,
    len: usize,
}

impl std::future::Future for WritePending {
    type Output = Result<(), Error>;

    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut std::task::Context<'_>) -> std::task::Poll<Self::Output> {
        let len = self.len;
        std::pin::Pin::new(&mut self.pending).poll(cx).map(|answer| {
            let response = answer?.response;
            response.check()?;
            if WriteResponse::parse(response.bytes())?.count as usize != len {
                return Err(Misbehaviour::ShortWrite.into());
            }
            Ok(())
        })
    }
}

/// Sends a READ of `len` bytes at `offset` of an open.
pub(crate) fn submit_read(tree: &Tree, slot: OpenSlot, offset: u64, len: u64) -> Result<ReadPending, Error> {
    let req = ReadRequest { padding: 0x50, length: len as u32, offset, file_id: [0; 16], ..Default::default() };
    let session = tree.session();
    let pending = session.submit(Request::new(&req, Target::Open(slot))?.payload(len as usize))?;
    Ok(ReadPending { pending, len, buffers: session.buffers().clone() })
}

/// Sends a WRITE of `message` (a 112-byte head, then the data) at `offset` of an open.
fn submit_write_message(tree: &Tree, slot: OpenSlot, offset: u64, mut message: Vec<u8>) -> Result<WritePending, Error> {
    let len = message.len().saturating_sub(WRITE_HEAD);
    let mut head = Vec::with_capacity(WRITE_HEAD);
    WriteRequest { offset, file_id: [0; 16], remaining_bytes: 0, flags: 0, data: &[] }.encode_head(
        &HeaderFields::default(),
        len as u32,
        &mut head,
    );
    if let Some(room) = message.get_mut(..WRITE_HEAD) {
        room.copy_from_slice(&head);
    }
    let request = Request::encoded(Command::WRITE, message, Target::Open(slot)).payload(len);
    Ok(WritePending { pending: tree.session().submit(request)?, len })
}

/// Bytes gathered for one WRITE in the message that will carry them: sending them copies
/// nothing (a mount's write-behind gathers the kernel's writes here).
#[derive(Debug)]
pub struct WriteBuf {
    message: Vec<u8>,
}

impl WriteBuf {
    /// Room for `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> Self {
        let mut message = Vec::with_capacity(WRITE_HEAD + capacity);
        message.resize(WRITE_HEAD, 0);
        Self { message }
    }

    /// Appends `data`.
    pub fn extend_from_slice(&mut self, data: &[u8]) {
        self.message.extend_from_slice(data);
    }

    /// Bytes gathered.
    pub fn len(&self) -> usize {
        self.message.len() - WRITE_HEAD
    }

    /// Whether nothing is gathered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Sends a WRITE of what `buf` gathered at `offset` of an open.
pub(crate) fn submit_write(tree: &Tree, slot: OpenSlot, offset: u64, buf: WriteBuf) -> Result<WritePending, Error> {
    submit_write_message(tree, slot, offset, buf.message)
}

fn local(doing: &'static str) -> impl Fn(std::io::Error) -> Error {
    move |source| Error::Local { doing, source }
}

/// Opens `path` for a transfer, asking for a durable handle (DH2Q) under a lease (durability
/// needs handle caching) so the open survives a dropped connection. The server may grant
/// neither: the open is then an ordinary one, opened again by name after a reconnection.
pub(crate) async fn open_durable(
    tree: &Tree,
    path: &str,
    want: u32,
    disp: Disposition,
    write: bool,
) -> Result<Opened, Error> {
    let mut req = tree.create_request(path, want, disp, options::NON_DIRECTORY_FILE);
    if matches!(tree.session().info().negotiated.dialect, Dialect::SMB_202 | Dialect::SMB_21) {
        return tree.open_tracked(&req, true, None).await;
    }
    let (mut create_guid, mut key) = ([0u8; 16], [0u8; 16]);
    OsRandom.fill(&mut create_guid)?;
    OsRandom.fill(&mut key)?;
    let mut state = lease_state::READ | lease_state::HANDLE;
    if write {
        state |= lease_state::WRITE;
    }
    let lease = Lease { key, state, flags: 0, v2: Some(([0; 16], 0)) };
    let lease_bytes = lease.to_bytes();
    // On a continuously available share the open is asked persistent (it then survives a
    // server's failover too, MS-SMB2 3.2.4.3.5).
    let persistent = tree.continuously_available();
    let flags = if persistent { durable_flags::PERSISTENT } else { 0 };
    let dh2q = DurableHandleV2 { timeout: 0, flags, create_guid }.request_bytes();
    req.oplock_level = OplockLevel::LEASE;
    req.contexts = vec![
        CreateContext::new(context_name::LEASE, &lease_bytes),
        CreateContext::new(context_name::DURABLE_HANDLE_V2, &dh2q),
    ];
    tree.open_tracked(&req, true, Some(Durability { create_guid, lease, persistent })).await
}

/// READs of `[start, end)` of an open into `out`, in order; the bytes read (fewer when the
/// file ends first).
pub(crate) async fn read_range(
    tree: &Tree,
    slot: OpenSlot,
    start: u64,
    end: u64,
    out: &mut (dyn AsyncWrite + Unpin + Send),
    mut progress: Option<Progress<'_>>,
) -> Result<u64, Error> {
    let chunk = tree.session().info().read_size as u64;
    let depth = window(chunk as usize);
    let mut flight: VecDeque<(u64, u64, ReadPending)> = VecDeque::with_capacity(depth);
    let (mut next, mut done) = (start, start);
    loop {
        while flight.len() < depth && next < end {
            let len = chunk.min(end - next);
            flight.push_back((next, len, submit_read(tree, slot, next, len)?));
            next += len;
        }
        let Some((mut offset, mut len, pending)) = flight.pop_front() else { return Ok(done - start) };
        let mut read = pending.await?;
        // A short read is followed at once by one for the rest (in order, before what is in
        // flight after it); END_OF_FILE or nothing means the file ended.
        loop {
            let data = read.data();
            if data.is_empty() {
                return Ok(done - start);
            }
            out.write_all(data).await.map_err(local("writing the local file"))?;
            done += data.len() as u64;
            if let Some(p) = progress.as_mut() {
                p(done - start);
            }
            if data.len() as u64 == len {
                break;
            }
            offset += data.len() as u64;
            len -= data.len() as u64;
            read = submit_read(tree, slot, offset, len)?.await?;
        }
    }
}

/// Where a transfer's bytes come from.
pub(crate) enum Source<'a> {
    /// Any reader.
    Reader(&'a mut (dyn AsyncRead + Unpin + Send)),
    /// A local file, read inline straight into each message's spare room: no buffer is
    /// zeroed first, as an `AsyncRead` would need.
    File(&'a std::fs::File),
}

impl Source<'_> {
    /// Appends up to `room` bytes to `msg`; 0 at the end.
    async fn read(&mut self, room: usize, msg: &mut Vec<u8>) -> std::io::Result<usize> {
        match self {
            Self::Reader(r) => (&mut **r).take(room as u64).read_buf(msg).await,
            Self::File(f) => std::io::Read::read_to_end(&mut std::io::Read::take(*f, room as u64), msg),
        }
    }
}

/// WRITEs of everything `input` gives, from `start` on; the bytes written.
pub(crate) async fn write_from(
    tree: &Tree,
    slot: OpenSlot,
    start: u64,
    mut input: Source<'_>,
    mut progress: Option<Progress<'_>>,
) -> Result<u64, Error> {
    let chunk = tree.session().info().write_size;
    let depth = window(chunk);
    let mut flight: VecDeque<(usize, WritePending)> = VecDeque::with_capacity(depth);
    let (mut next, mut acknowledged, mut at_end) = (start, start, false);
    loop {
        while flight.len() < depth && !at_end {
            // The data is read straight into the message after its 112-byte head and signed or
            // encrypted there: no copy between the source and the socket.
            let mut msg = Vec::with_capacity(WRITE_HEAD + chunk);
            msg.resize(WRITE_HEAD, 0);
            while msg.len() < WRITE_HEAD + chunk {
                let room = WRITE_HEAD + chunk - msg.len();
                let n = input.read(room, &mut msg).await.map_err(local("reading the local file"))?;
                if n == 0 {
                    at_end = true;
                    break;
                }
            }
            let n = msg.len() - WRITE_HEAD;
            if n == 0 {
                break;
            }
            flight.push_back((n, submit_write_message(tree, slot, next, msg)?));
            next += n as u64;
        }
        let Some((n, pending)) = flight.pop_front() else { return Ok(next - start) };
        pending.await?;
        acknowledged += n as u64;
        if let Some(p) = progress.as_mut() {
            p(acknowledged - start);
        }
    }
}

impl Tree {
    /// Reads the whole file `path` into `out`; returns the byte count, which must equal the
    /// file's size. The open is durable where the server allows it, so a dropped connection
    /// is made again and the transfer goes on where it was.
    ///
    /// # Errors
    /// As [`Tree::stat`], or a failure of `out`.
    pub async fn get(&self, path: &str, out: &mut (dyn AsyncWrite + Unpin + Send)) -> Result<u64, Error> {
        self.get_with_progress(path, out, None).await
    }

    /// [`Tree::get`], telling `progress` the bytes done as they arrive.
    ///
    /// # Errors
    /// As [`Tree::get`].
    pub async fn get_with_progress(
        &self,
        path: &str,
        out: &mut (dyn AsyncWrite + Unpin + Send),
        progress: Option<Progress<'_>>,
    ) -> Result<u64, Error> {
        let want = access::READ_DATA | access::READ_ATTRIBUTES;
        let h = open_durable(self, path, want, Disposition::OPEN, false).await?;
        let size = h.attributes.end_of_file;
        let result = read_range(self, h.slot, 0, size, out, progress).await;
        let (read, _) = self.close_after(h.slot, result).await?;
        out.flush().await.map_err(local("writing the local file"))?;
        if read != size {
            return Err(Misbehaviour::EndedEarly.into());
        }
        Ok(read)
    }

    /// Writes all of `input` to `path` (created or truncated); returns the byte count,
    /// checked against the size the server reports at the end. What is in flight when the
    /// connection drops is sent again on the next: nothing is lost, nothing lands twice
    /// elsewhere.
    ///
    /// # Errors
    /// As [`Tree::stat`], ACCESS_DENIED on a read-only share, or a failure of `input`.
    pub async fn put(&self, path: &str, input: &mut (dyn AsyncRead + Unpin + Send)) -> Result<u64, Error> {
        self.put_with_progress(path, input, None).await
    }

    /// [`Tree::put`], telling `progress` the bytes the server acknowledged.
    ///
    /// # Errors
    /// As [`Tree::put`].
    pub async fn put_with_progress(
        &self,
        path: &str,
        input: &mut (dyn AsyncRead + Unpin + Send),
        progress: Option<Progress<'_>>,
    ) -> Result<u64, Error> {
        self.put_from(path, Source::Reader(input), progress).await
    }

    /// [`Tree::put_with_progress`] from a local file, read inline from where it stands (its
    /// pages go straight into the WRITE messages, the fastest way on a local disk).
    ///
    /// # Errors
    /// As [`Tree::put`].
    pub async fn put_file(
        &self,
        path: &str,
        file: &std::fs::File,
        progress: Option<Progress<'_>>,
    ) -> Result<u64, Error> {
        self.put_from(path, Source::File(file), progress).await
    }

    async fn put_from(&self, path: &str, input: Source<'_>, progress: Option<Progress<'_>>) -> Result<u64, Error> {
        let want = access::WRITE_DATA | access::READ_ATTRIBUTES;
        let h = open_durable(self, path, want, Disposition::OVERWRITE_IF, true).await?;
        let result = write_from(self, h.slot, 0, input, progress).await;
        let (sent, attrs) = self.close_after(h.slot, result).await?;
        if attrs.end_of_file != sent {
            return Err(Misbehaviour::SizeMismatch.into());
        }
        Ok(sent)
    }

    /// The entries of directory `path` (without `.` and `..`), every page of them.
    ///
    /// # Errors
    /// As [`Tree::stat`]; NOT_A_DIRECTORY for a file.
    pub async fn list(&self, path: &str) -> Result<Vec<Metadata>, Error> {
        let mut listing = self.list_stream(path);
        let mut out = Vec::new();
        while let Some(entry) = listing.next().await {
            out.push(entry?);
        }
        Ok(out)
    }
}
