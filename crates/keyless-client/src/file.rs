//! An open file: reads and writes at offsets (pipelined for large ones), flush, size,
//! metadata, and tokio's `AsyncRead`, `AsyncWrite` and `AsyncSeek` over a position of its own.
//! Clones share the open (each with its own position); the last one dropped closes it. The
//! open is durable where the server allows, so it keeps working across a dropped connection.

use crate::error::{Error, ErrorKind, Misuse};
use crate::proto::{OpenSlot, Request, Target};
use crate::tree::{Metadata, Tree};
use keyless_smb::control::CloseRequest;
use keyless_smb::info::{
    FileBasicInformation, FileInfoClass, FileStandardInformation, InfoType, QueryInfoRequest, QueryInfoResponse,
    end_of_file_info,
};
use keyless_smb::{Message, NtStatus};
use std::future::Future;
use std::io::SeekFrom;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use tokio::io::{AsyncRead, AsyncSeek, AsyncWrite, ReadBuf};

struct FileInner {
    tree: Tree,
    slot: OpenSlot,
    /// Its metadata when it was opened.
    metadata: Metadata,
    closed: AtomicBool,
}

impl Drop for FileInner {
    fn drop(&mut self) {
        if !self.closed.load(Ordering::Relaxed)
            && let Ok(r) = Request::new(&CloseRequest { flags: 0, file_id: [0; 16] }, Target::Open(self.slot))
        {
            self.tree.session().fire(r);
        }
    }
}

impl FileInner {
    async fn read_at(&self, offset: u64, len: u64, out: &mut Vec<u8>) -> Result<u64, Error> {
        let end = offset.saturating_add(len);
        crate::transfer::read_range(&self.tree, self.slot, offset, end, out, None).await
    }

    async fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), Error> {
        let mut source = data;
        let source = crate::transfer::Source::Reader(&mut source);
        let n = crate::transfer::write_from(&self.tree, self.slot, offset, source, None).await?;
        if n != data.len() as u64 {
            return Err(crate::error::Misbehaviour::ShortWrite.into());
        }
        Ok(())
    }

    async fn metadata(&self) -> Result<(Metadata, bool), Error> {
        let req = QueryInfoRequest {
            info_type: InfoType::FILE,
            info_class: FileInfoClass::ALL.0,
            output_buffer_length: 4096,
            file_id: [0; 16],
            ..Default::default()
        };
        let request = Request::new(&req, Target::Open(self.slot))?.payload(4096);
        let answer = self.tree.session().call(request).await?;
        // The name at the end may not fit: the fixed part before it is what is read.
        if answer.response.status() != NtStatus::BUFFER_OVERFLOW {
            answer.response.check()?;
        }
        let all = QueryInfoResponse::parse(answer.response.bytes())?.output;
        let basic = FileBasicInformation::parse(all)?;
        let standard = FileStandardInformation::parse(all.get(40..).unwrap_or_default())?;
        let name = self.metadata.name.clone();
        Ok((Metadata::new(name, standard.end_of_file, standard.directory, basic.times), standard.delete_pending))
    }
}

type Op<T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send>>;

/// What an `AsyncRead`/`AsyncWrite`/`AsyncSeek` call left running.
enum Io {
    Idle,
    Reading(Op<Vec<u8>>),
    Writing(Op<usize>),
    Seeking(Op<u64>),
}

/// An open file.
pub struct File {
    inner: Arc<FileInner>,
    position: u64,
    /// Behind a lock only so `File` is `Sync`; reached through `&mut` (`get_mut`), never locked.
    io: std::sync::Mutex<Io>,
}

impl Clone for File {
    fn clone(&self) -> Self {
        Self { inner: self.inner.clone(), position: self.position, io: std::sync::Mutex::new(Io::Idle) }
    }
}

impl core::fmt::Debug for File {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("File").field("name", &self.inner.metadata.name).field("position", &self.position).finish()
    }
}

impl File {
    pub(crate) fn new(tree: Tree, slot: OpenSlot, metadata: Metadata) -> Self {
        let inner = FileInner { tree, slot, metadata, closed: AtomicBool::new(false) };
        Self { inner: Arc::new(inner), position: 0, io: std::sync::Mutex::new(Io::Idle) }
    }

    /// The share it is on.
    pub fn tree(&self) -> &Tree {
        &self.inner.tree
    }

    /// Its metadata when it was opened.
    pub fn opened_metadata(&self) -> &Metadata {
        &self.inner.metadata
    }

    /// Reads up to `len` bytes at `offset` into `out` (pipelined like [`Tree::get`]); returns
    /// how many, fewer only at the end of the file.
    ///
    /// # Errors
    /// As [`Tree::get`].
    pub async fn read_at(&self, offset: u64, len: u64, out: &mut Vec<u8>) -> Result<u64, Error> {
        self.inner.read_at(offset, len, out).await
    }

    /// Writes `data` at `offset` (pipelined like [`Tree::put`]).
    ///
    /// # Errors
    /// As [`Tree::put`].
    pub async fn write_at(&self, offset: u64, data: &[u8]) -> Result<(), Error> {
        self.inner.write_at(offset, data).await
    }

    /// Sends a READ of `len` bytes at `offset` (at most the session's read size) and returns at
    /// once: several in flight make a read-ahead window.
    ///
    /// # Errors
    /// [`Error::Closed`] when the session is gone.
    pub fn submit_read(&self, offset: u64, len: u64) -> Result<crate::transfer::ReadPending, Error> {
        crate::transfer::submit_read(&self.inner.tree, self.inner.slot, offset, len)
    }

    /// Sends a WRITE of what `data` gathered at `offset` (at most the session's write size)
    /// and returns at once: several in flight make a write-behind window.
    ///
    /// # Errors
    /// [`Error::Closed`] when the session is gone.
    pub fn submit_write(
        &self,
        offset: u64,
        data: crate::transfer::WriteBuf,
    ) -> Result<crate::transfer::WritePending, Error> {
        crate::transfer::submit_write(&self.inner.tree, self.inner.slot, offset, data)
    }

    /// Flushes its data to the server's stable storage.
    ///
    /// # Errors
    /// An I/O error, or the server's status.
    pub async fn flush(&self) -> Result<(), Error> {
        let req = keyless_smb::control::FlushRequest { file_id: [0; 16] };
        self.inner.tree.call_ok(&req, Target::Open(self.inner.slot), 0).await.map(|_| ())
    }

    /// Sets its size (truncates, or extends with zeros).
    ///
    /// # Errors
    /// ACCESS_DENIED, DISK_FULL, and the like.
    pub async fn set_len(&self, size: u64) -> Result<(), Error> {
        self.inner.tree.set_handle_info(self.inner.slot, FileInfoClass::END_OF_FILE.0, &end_of_file_info(size)).await
    }

    /// Its metadata asked on its handle (FileAllInformation), and whether its name is gone:
    /// an unlinked file that is still open has a handle but no path to `stat`.
    ///
    /// # Errors
    /// An I/O error, or the server's status.
    pub async fn metadata(&self) -> Result<(Metadata, bool), Error> {
        self.inner.metadata().await
    }

    /// Closes it now (for every clone); returns its metadata at the close.
    ///
    /// # Errors
    /// An I/O error, or the server's status.
    pub async fn close(self) -> Result<Metadata, Error> {
        if self.inner.closed.swap(true, Ordering::Relaxed) {
            return Err(Error::Closed);
        }
        let attributes = self.inner.tree.close(self.inner.slot).await?;
        Ok(Metadata::from_attributes(self.inner.metadata.name.clone(), &attributes))
    }
}

/// An [`Error`] as the `std::io::Error` tokio's traits carry (the kind mapped, the error kept).
pub(crate) fn io_error(e: Error) -> std::io::Error {
    use std::io::ErrorKind as Io;
    let kind = match e.kind() {
        ErrorKind::NotFound => Io::NotFound,
        ErrorKind::AlreadyExists => Io::AlreadyExists,
        ErrorKind::PermissionDenied | ErrorKind::AuthenticationFailed => Io::PermissionDenied,
        ErrorKind::TimedOut => Io::TimedOut,
        ErrorKind::Network => Io::ConnectionAborted,
        ErrorKind::InvalidInput => Io::InvalidInput,
        ErrorKind::StorageFull => Io::StorageFull,
        ErrorKind::IsADirectory => Io::IsADirectory,
        ErrorKind::NotADirectory => Io::NotADirectory,
        ErrorKind::DirectoryNotEmpty => Io::DirectoryNotEmpty,
        ErrorKind::Unsupported => Io::Unsupported,
        _ => Io::Other,
    };
    std::io::Error::new(kind, e)
}

impl Io {
    /// The operation `kind` finds, polled; idle again once it is done. Another kind of
    /// operation in progress is refused (an `AsyncRead` call in the middle of a write).
    fn poll<T>(
        &mut self,
        cx: &mut Context<'_>,
        kind: impl FnOnce(&mut Io) -> Option<&mut Op<T>>,
    ) -> Poll<std::io::Result<T>> {
        let Some(op) = kind(self) else { return Poll::Ready(Err(io_error(Error::Misuse(Misuse::Busy)))) };
        let done = match op.as_mut().poll(cx) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(r) => r.map_err(io_error),
        };
        *self = Io::Idle;
        Poll::Ready(done)
    }
}

impl File {
    /// The I/O state, reached through `&mut` (never locked).
    fn io(&mut self) -> &mut Io {
        self.io.get_mut().unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl AsyncRead for File {
    fn poll_read(self: Pin<&mut Self>, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        if let Io::Idle = this.io() {
            let (file, offset) = (this.inner.clone(), this.position);
            let len = buf.remaining().min(file.tree.session().info().read_size) as u64;
            *this.io() = Io::Reading(Box::pin(async move {
                let mut out = Vec::with_capacity(len as usize);
                file.read_at(offset, len, &mut out).await?;
                Ok(out)
            }));
        }
        let data = match this.io().poll(cx, |io| if let Io::Reading(op) = io { Some(op) } else { None }) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(data) => data?,
        };
        let n = data.len().min(buf.remaining());
        buf.put_slice(&data[..n]);
        this.position += n as u64;
        Poll::Ready(Ok(()))
    }
}

impl AsyncWrite for File {
    fn poll_write(self: Pin<&mut Self>, cx: &mut Context<'_>, data: &[u8]) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        if let Io::Idle = this.io() {
            let (file, offset) = (this.inner.clone(), this.position);
            let data = data[..data.len().min(file.tree.session().info().write_size * 8)].to_vec();
            *this.io() = Io::Writing(Box::pin(async move {
                file.write_at(offset, &data).await?;
                Ok(data.len())
            }));
        }
        let n = match this.io().poll(cx, |io| if let Io::Writing(op) = io { Some(op) } else { None }) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(n) => n?,
        };
        this.position += n as u64;
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        // Every write is acknowledged before poll_write returns: nothing is buffered here.
        Poll::Ready(Ok(()))
    }

    fn poll_shutdown(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

impl AsyncSeek for File {
    fn start_seek(self: Pin<&mut Self>, to: SeekFrom) -> std::io::Result<()> {
        let this = self.get_mut();
        let position = this.position;
        let at = move |base: u64, delta: i64| {
            base.checked_add_signed(delta).ok_or_else(|| io_error(Error::Misuse(Misuse::NegativeSeek)))
        };
        let op = match to {
            SeekFrom::Start(n) => Io::Seeking(Box::pin(std::future::ready(Ok(n)))),
            SeekFrom::Current(d) => {
                let n = at(position, d)?;
                Io::Seeking(Box::pin(std::future::ready(Ok(n))))
            }
            SeekFrom::End(d) => {
                let file = this.inner.clone();
                Io::Seeking(Box::pin(async move {
                    let (meta, _) = file.metadata().await?;
                    meta.size.checked_add_signed(d).ok_or(Error::Misuse(Misuse::NegativeSeek))
                }))
            }
        };
        *this.io() = op;
        Ok(())
    }

    fn poll_complete(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<u64>> {
        let this = self.get_mut();
        if !matches!(this.io(), Io::Seeking(_)) {
            return Poll::Ready(Ok(this.position));
        }
        let n = match this.io().poll(cx, |io| if let Io::Seeking(op) = io { Some(op) } else { None }) {
            Poll::Pending => return Poll::Pending,
            Poll::Ready(n) => n?,
        };
        this.position = n;
        Poll::Ready(Ok(n))
    }
}
