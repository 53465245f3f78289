//! A directory listing as a [`Stream`]: the CREATE of the directory and its first
//! QUERY_DIRECTORY go as one compound, later pages follow one request each (pages as large as
//! a READ). A listing cut by a reconnection starts over and passes over the names it gave.

use crate::error::{Error, Misbehaviour};
use crate::proto::{OpenSlot, OpenSpec, Request, Slot, Target};
use crate::tree::{Metadata, Tree};
use futures_core::Stream;
use keyless_smb::control::CloseRequest;
use keyless_smb::control::file_attribute;
use keyless_smb::create::{Disposition, access, options};
use keyless_smb::query_directory::{DirectoryClass, QueryDirectoryRequest, QueryDirectoryResponse, entries, flags};
use keyless_smb::{Message, NtStatus};
use std::collections::{HashSet, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

type Page = Result<Option<Vec<Metadata>>, Error>;
type Fetch = Pin<Box<dyn Future<Output = (Box<ListState>, Page)> + Send>>;

/// The entries of a directory, as they come (without `.` and `..`).
pub struct Listing {
    state: Option<Box<ListState>>,
    fetch: Option<Fetch>,
    buffer: VecDeque<Metadata>,
}

impl core::fmt::Debug for Listing {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Listing").field("buffered", &self.buffer.len()).finish_non_exhaustive()
    }
}

struct ListState {
    tree: Tree,
    path: String,
    dir: Option<OpenSlot>,
    /// Names given so far (a listing that starts over passes over them).
    seen: HashSet<String>,
}

impl Drop for ListState {
    fn drop(&mut self) {
        if let Some(dir) = self.dir.take()
            && let Ok(r) = Request::new(&CloseRequest { flags: 0, file_id: [0; 16] }, Target::Open(dir))
        {
            self.tree.session().fire(r);
        }
    }
}

impl Tree {
    /// The entries of directory `path` as a stream (also [`Listing::next`]).
    pub fn list_stream(&self, path: &str) -> Listing {
        let state = ListState { tree: self.clone(), path: path.to_string(), dir: None, seen: HashSet::new() };
        Listing { state: Some(Box::new(state)), fetch: None, buffer: VecDeque::new() }
    }
}

impl Listing {
    /// The next entry.
    pub async fn next(&mut self) -> Option<Result<Metadata, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }
}

impl Stream for Listing {
    type Item = Result<Metadata, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(m) = self.buffer.pop_front() {
                return Poll::Ready(Some(Ok(m)));
            }
            if self.fetch.is_none() {
                let Some(state) = self.state.take() else { return Poll::Ready(None) };
                self.fetch = Some(Box::pin(async move {
                    let mut state = state;
                    let page = state.page().await;
                    (state, page)
                }));
            }
            let Some(fetch) = self.fetch.as_mut() else { return Poll::Ready(None) };
            let (state, page) = match fetch.as_mut().poll(cx) {
                Poll::Ready(r) => r,
                Poll::Pending => return Poll::Pending,
            };
            self.fetch = None;
            match page {
                Ok(Some(entries)) => {
                    self.state = Some(state);
                    self.buffer.extend(entries);
                }
                Ok(None) => return Poll::Ready(None),
                Err(e) => return Poll::Ready(Some(Err(e))),
            }
        }
    }
}

impl ListState {
    /// The next page; `None` at the end.
    async fn page(&mut self) -> Page {
        loop {
            match self.try_page().await {
                // The directory's open went with a dropped connection: start over.
                Err(Error::Interrupted(cause)) if cause.is_connection_loss() => self.dir = None,
                Err(Error::OpenLost { cause, .. }) if cause.is_connection_loss() => self.dir = None,
                other => return other,
            }
        }
    }

    async fn try_page(&mut self) -> Page {
        let session = self.tree.session().clone();
        let buffer = session.info().read_size.min(1 << 20) as u32;
        let mut query = QueryDirectoryRequest {
            info_class: DirectoryClass::ID_BOTH_DIRECTORY,
            flags: 0,
            file_index: 0,
            file_id: [0xff; 16],
            pattern: "*".into(),
            output_buffer_length: buffer,
        };
        let answer = match self.dir {
            Some(dir) => {
                let r = Request::new(&query, Target::Open(dir))?.payload(buffer as usize);
                session.call(r).await?
            }
            None => {
                // CREATE and the first QUERY_DIRECTORY in one round trip.
                let want = access::READ_DATA | access::READ_ATTRIBUTES;
                let create = self.tree.create_request(&self.path, want, Disposition::OPEN, options::DIRECTORY_FILE);
                let spec = OpenSpec {
                    path: create.name.clone(),
                    desired_access: create.desired_access,
                    share_access: create.share_access,
                    create_options: create.create_options,
                    durable: None,
                    reopen: false,
                };
                query.flags = flags::RESTART_SCANS;
                let t = self.tree.target();
                let chain =
                    vec![Request::new(&create, t)?.opening(spec), Request::new(&query, t)?.payload(buffer as usize)];
                let mut pending = session.submit_chain(chain)?.into_iter();
                let (Some(opened), Some(first)) = (pending.next(), pending.next()) else {
                    return Err(Misbehaviour::CompoundMismatch.into());
                };
                let opened = opened.await?;
                let first = first.await;
                opened.response.check()?;
                match opened.slot {
                    Some(Slot::Open(slot)) => self.dir = Some(slot),
                    _ => return Err(Misbehaviour::UnknownResponse.into()),
                }
                first?
            }
        };
        if answer.response.status() == NtStatus::NO_MORE_FILES {
            self.close().await?;
            return Ok(None);
        }
        answer.response.check()?;
        let body = QueryDirectoryResponse::parse(answer.response.bytes())?;
        if body.output.is_empty() {
            self.close().await?;
            return Ok(None); // an empty page: nothing more will come
        }
        let mut out = Vec::new();
        for e in entries(body.output, DirectoryClass::ID_BOTH_DIRECTORY)? {
            let e = e?;
            let name = e.file_name()?;
            if name != "." && name != ".." && self.seen.insert(name.clone()) {
                let dir = e.file_attributes() & file_attribute::DIRECTORY != 0;
                out.push(Metadata::new(name, e.end_of_file(), dir, e.times()));
            }
        }
        Ok(Some(out))
    }

    async fn close(&mut self) -> Result<(), Error> {
        if let Some(dir) = self.dir.take() {
            self.tree.close(dir).await?;
        }
        Ok(())
    }
}
