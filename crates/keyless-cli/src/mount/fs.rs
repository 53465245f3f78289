//! The share as a FUSE file system, served by several kernel threads at once: each request is
//! a short async operation on the shared [`Tree`] (pipelined with the others on the one SMB
//! connection), and the table of inodes and handles sits behind a lock that is never held
//! across a network wait. Sequential reads keep a window of READs in flight ahead of the
//! reader; writes go behind (the kernel is answered once they are sent; a failure is reported
//! at the next write, flush, fsync or close), within a window of their own. The client's
//! driver reconnects underneath: an open file keeps working across a dropped connection.

use super::errno::errno;
use super::inodes::{Inodes, ROOT};
use super::options::MountOptions;
use crate::cmd::dfs::{Failed, MAX_HOPS, Namespace};
use crate::context::Failure;
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, InitFlags, KernelConfig,
    LockOwner, OpenAccMode, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory,
    ReplyDirectoryPlus, ReplyEmpty, ReplyEntry, ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use keyless_client::{
    Error, File, Metadata, OpenHow, ReadData, ReadPending, Tree, WriteBuf, WritePending,
    filetime::to_system_time as from_filetime,
};
use keyless_smb::NtStatus;
use std::collections::{HashMap, VecDeque};
use std::ffi::OsStr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::SystemTime;

/// Whether two trees are the same share of the same server.
fn same_share(a: &Tree, b: &Tree) -> bool {
    a.session().host().eq_ignore_ascii_case(b.session().host()) && a.share().eq_ignore_ascii_case(b.share())
}

/// Bytes read ahead of a sequential reader, and written behind a writer: a window of the
/// client's 1 MiB requests.
const WINDOW: u64 = 8 << 20;
/// open(2) flags as Linux numbers them (the kernel passes them through FUSE as they are).
const O_TRUNC: i32 = 0o1000;
const O_EXCL: i32 = 0o200;
const O_ACCMODE: i32 = 0o3;
const O_WRONLY: i32 = 0o1;
/// Threads reading kernel requests.
const THREADS: usize = 8;

/// How the kernel caches an open's pages. A write-only open bypasses the page cache
/// (FOPEN_DIRECT_IO): nothing can read or map through it (mmap needs a readable open), and
/// the kernel then hands us the writer's bytes from its own buffer instead of copying them
/// into page-cache pages first (a quarter of `cp`'s kernel time onto the mount).
fn cache_mode(write_only: bool) -> FopenFlags {
    if write_only { FopenFlags::FOPEN_DIRECT_IO } else { FopenFlags::empty() }
}

/// A READ of the read-ahead window, in flight or answered.
enum Chunk {
    Flying { offset: u64, len: u64, pending: ReadPending },
    Ready { offset: u64, len: u64, read: Arc<ReadData> },
}

/// Bytes for the kernel: a part of one READ's answer (no copy), or gathered from several.
enum Bytes {
    Part(Arc<ReadData>, std::ops::Range<usize>),
    Owned(Vec<u8>),
}

impl Bytes {
    fn as_slice(&self) -> &[u8] {
        match self {
            Self::Part(read, range) => &read.data()[range.clone()],
            Self::Owned(v) => v,
        }
    }
}

impl Chunk {
    fn offset(&self) -> u64 {
        match self {
            Self::Flying { offset, .. } | Self::Ready { offset, .. } => *offset,
        }
    }
    fn end(&self) -> u64 {
        match self {
            Self::Flying { offset, len, .. } | Self::Ready { offset, len, .. } => offset + len,
        }
    }
}

/// What an open handle has in flight.
#[derive(Default)]
struct Streams {
    /// READs ahead of a sequential reader, contiguous.
    ahead: VecDeque<Chunk>,
    /// Where the last read ended.
    last_end: u64,
    /// Writes gathered, not yet sent: (offset, bytes), contiguous.
    run: Option<(u64, WriteBuf)>,
    /// WRITEs sent and not yet acknowledged, with their sizes.
    writes: VecDeque<(usize, WritePending)>,
    /// A write that failed after the kernel was told it went: the next call on the handle
    /// reports it.
    failed: Option<Errno>,
}

struct Open {
    ino: u64,
    file: File,
    streams: tokio::sync::Mutex<Streams>,
}

/// A directory entry: inode, kind, name.
type DirEntry = (u64, FileType, String);

struct State {
    inodes: Inodes,
    files: HashMap<u64, Arc<Open>>,
    dirs: HashMap<u64, Arc<Vec<DirEntry>>>,
    next_fh: u64,
}

/// The mounted share.
pub struct ShareFs {
    rt: tokio::runtime::Runtime,
    /// The share mounted, and the shares its DFS links lead to.
    ns: Namespace,
    /// The directory on the share that is the mount's root (`""`: the share's).
    base: String,
    options: MountOptions,
    state: Mutex<State>,
}

/// SMB failures, logged (what the kernel gets is an errno only).
fn fail(what: &str, path: &str, e: &Error) -> Errno {
    let code = errno(e);
    if code == Errno::EIO {
        super::log(&format!("{what} {path}: {e}"));
    }
    code
}

impl ShareFs {
    /// The file system over a connected share; `base` is the directory mounted.
    pub fn new(rt: tokio::runtime::Runtime, ns: Namespace, base: &str, options: MountOptions) -> Self {
        let state =
            State { inodes: Inodes::new(options.cache), files: HashMap::new(), dirs: HashMap::new(), next_fh: 0 };
        Self { rt, ns, base: base.trim_matches('/').to_string(), options, state: Mutex::new(state) }
    }

    /// Runs `op` on the share and path where `full` is, following DFS links
    /// ([`Namespace::run`]); failures logged as [`fail`] does, DFS ones as EIO.
    async fn on_share<T, F, Fut>(&self, what: &str, full: &str, op: F) -> Result<T, Errno>
    where
        F: Fn(Tree, String) -> Fut,
        Fut: Future<Output = Result<T, Error>>,
    {
        self.ns.run(full, &self.rt, op).await.map_err(|f| match f {
            Failed::Smb(e) => fail(what, full, &e),
            Failed::Dfs(e) => {
                super::log(&format!("{what} {full}: {e}"));
                Errno::EIO
            }
        })
    }

    /// RENAME where both names are; EXDEV when they are on different shares (DFS targets),
    /// and mv copies instead.
    async fn rename_on_share(&self, full_from: &str, full_to: &str, replace: bool) -> Result<(), Errno> {
        let dfs_failed = |e: Failure| {
            super::log(&format!("rename {full_from}: {e}"));
            Errno::EIO
        };
        for _ in 0..=MAX_HOPS {
            let from = self.ns.at(full_from, &self.rt).await.map_err(dfs_failed)?;
            let to = self.ns.at(full_to, &self.rt).await.map_err(dfs_failed)?;
            if !same_share(&from.tree, &to.tree) {
                return Err(Errno::EXDEV);
            }
            match from.tree.rename_with(&from.path, &to.path, replace).await {
                Err(e) if e.status() == Some(NtStatus::PATH_NOT_COVERED) => {
                    let learned = self.ns.learn(full_from, &self.rt).await.map_err(dfs_failed)?
                        | self.ns.learn(full_to, &self.rt).await.map_err(dfs_failed)?;
                    if !learned {
                        return Err(fail("rename", full_from, &e));
                    }
                }
                done => return done.map_err(|e| fail("rename", full_from, &e)),
            }
        }
        Err(dfs_failed(format!("more than {MAX_HOPS} DFS referrals (a loop of links?)").into()))
    }

    /// Kernel threads to serve requests with.
    pub fn threads() -> usize {
        THREADS
    }

    fn state(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn run<T>(&self, op: impl Future<Output = Result<T, Errno>>) -> Result<T, Errno> {
        self.rt.handle().block_on(op)
    }

    /// The path on the share of a mount path.
    fn share_path(&self, path: &str) -> String {
        match (self.base.is_empty(), path.is_empty()) {
            (true, _) => path.to_string(),
            (false, true) => self.base.clone(),
            (false, false) => format!("{}/{path}", self.base),
        }
    }

    fn path(&self, ino: u64) -> Result<String, Errno> {
        self.state().inodes.path(ino).map(str::to_string).ok_or(Errno::ENOENT)
    }

    fn child(&self, parent: u64, name: &OsStr) -> Result<String, Errno> {
        let name = name.to_str().ok_or(Errno::EINVAL)?;
        // NAME_MAX, as Linux file systems count it (bytes); SMB would say OBJECT_NAME_INVALID.
        if name.len() > 255 {
            return Err(Errno::ENAMETOOLONG);
        }
        self.state().inodes.child(parent, name).ok_or(Errno::ENOENT)
    }

    fn handle(&self, fh: u64) -> Result<Arc<Open>, Errno> {
        self.state().files.get(&fh).cloned().ok_or(Errno::EBADF)
    }

    fn add_handle(&self, ino: u64, file: File) -> u64 {
        let mut s = self.state();
        s.next_fh += 1;
        let fh = s.next_fh;
        s.files.insert(fh, Arc::new(Open { ino, file, streams: tokio::sync::Mutex::new(Streams::default()) }));
        fh
    }

    fn attr(&self, ino: u64, m: &Metadata) -> FileAttr {
        let (kind, mode) = if m.is_dir {
            (FileType::Directory, self.options.dir_mode)
        } else {
            (FileType::RegularFile, self.options.file_mode)
        };
        let perm = if self.options.read_only { mode & !0o222 } else { mode };
        FileAttr {
            ino: INodeNo(ino),
            size: m.size,
            blocks: m.size.div_ceil(512),
            atime: from_filetime(m.accessed),
            mtime: from_filetime(m.modified),
            ctime: from_filetime(m.changed),
            crtime: from_filetime(m.created),
            kind,
            perm: perm as u16,
            nlink: if m.is_dir { 2 } else { 1 },
            uid: self.options.uid,
            gid: self.options.gid,
            rdev: 0,
            blksize: 1 << 20,
            flags: 0,
        }
    }

    fn writable(&self) -> Result<(), Errno> {
        if self.options.read_only { Err(Errno::EROFS) } else { Ok(()) }
    }

    /// Sends and waits for what is written behind on every handle of `ino` (before its size is
    /// asked or changed).
    async fn settle_inode(&self, ino: u64) -> Result<(), Errno> {
        let opens: Vec<Arc<Open>> = self.state().files.values().filter(|o| o.ino == ino).cloned().collect();
        for o in opens {
            settle(&o.file, &mut *o.streams.lock().await).await?;
        }
        Ok(())
    }

    async fn stat(&self, ino: u64) -> Result<Metadata, Errno> {
        self.settle_inode(ino).await?;
        if let Some(m) = self.state().inodes.cached(ino) {
            return Ok(m.clone());
        }
        let full = self.share_path(&self.path(ino)?);
        let meta = self.on_share("stat", &full, |t, p| async move { t.stat(&p).await }).await?;
        self.state().inodes.remember(ino, meta.clone());
        Ok(meta)
    }

    /// The inode and metadata of `path`, counting one kernel reference. A name that does not
    /// exist leaves no inode behind (shells look up many such names).
    async fn lookup_path(&self, path: &str) -> Result<(u64, Metadata), Errno> {
        let ino = self.state().inodes.ino(path, false);
        match self.stat(ino).await {
            Ok(meta) => {
                self.state().inodes.ino(path, true);
                Ok((ino, meta))
            }
            Err(e) => {
                self.state().inodes.forget(ino, 0);
                Err(e)
            }
        }
    }

    fn remove(&self, parent: INodeNo, name: &OsStr, dir: bool, reply: ReplyEmpty) {
        if let Err(e) = self.writable() {
            return reply.error(e);
        }
        let r =
            self.run(async {
                let path = self.child(parent.0, name)?;
                let full = self.share_path(&path);
                self.on_share("remove", &full, |t, p| async move {
                    if dir { t.rmdir(&p).await } else { t.remove(&p).await }
                })
                .await?;
                let mut s = self.state();
                s.inodes.unlink(&path);
                s.inodes.invalidate(parent.0);
                Ok(())
            });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    /// The directory's entries (listed once at opendir): `.`, `..`, then the share's.
    async fn list(&self, ino: u64) -> Result<Vec<DirEntry>, Errno> {
        let path = self.path(ino)?;
        let full = self.share_path(&path);
        let list = self.on_share("list", &full, |t, p| async move { t.list(&p).await }).await?;
        let mut s = self.state();
        let parent = match path.rsplit_once('/') {
            Some((p, _)) => s.inodes.ino(p, false),
            None => ROOT,
        };
        let mut entries =
            vec![(ino, FileType::Directory, ".".to_string()), (parent, FileType::Directory, "..".to_string())];
        for m in list {
            let child = if path.is_empty() { m.name.clone() } else { format!("{path}/{}", m.name) };
            let child_ino = s.inodes.ino(&child, false);
            let kind = if m.is_dir { FileType::Directory } else { FileType::RegularFile };
            entries.push((child_ino, kind, m.name.clone()));
            // What the listing says serves the lookups and getattrs `ls -l` sends next.
            s.inodes.remember(child_ino, m);
        }
        Ok(entries)
    }
}

/// Sends the gathered run and waits for every WRITE in flight; a failure is reported once.
async fn settle(file: &File, st: &mut Streams) -> Result<(), Errno> {
    send_run(file, st);
    while let Some((_, w)) = st.writes.pop_front() {
        if let Err(e) = w.await {
            st.failed.get_or_insert(fail("write", "", &e));
        }
    }
    match st.failed.take() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Sends the gathered run as a WRITE (not waiting for it).
fn send_run(file: &File, st: &mut Streams) {
    if let Some((offset, data)) = st.run.take() {
        let len = data.len();
        match file.submit_write(offset, data) {
            Ok(w) => st.writes.push_back((len, w)),
            Err(e) => {
                st.failed.get_or_insert(fail("write", "", &e));
            }
        }
    }
}

/// Writes `data` at `offset` behind: gathered into runs of the session's write size, sent
/// without waiting while the bytes in flight fit the window.
async fn write_behind(file: &File, st: &mut Streams, offset: u64, data: &[u8]) -> Result<(), Errno> {
    if let Some(e) = st.failed.take() {
        return Err(e);
    }
    st.ahead.clear();
    let size = file.tree().session().info().write_size;
    match &mut st.run {
        Some((o, d)) if *o + d.len() as u64 == offset && d.len() + data.len() <= size => d.extend_from_slice(data),
        _ => {
            send_run(file, st);
            let mut run = WriteBuf::with_capacity(size.max(data.len()));
            run.extend_from_slice(data);
            st.run = Some((offset, run));
        }
    }
    if st.run.as_ref().is_some_and(|(_, d)| d.len() >= size) {
        send_run(file, st);
    }
    while st.writes.iter().map(|(n, _)| *n as u64).sum::<u64>() > WINDOW {
        if let Some((_, w)) = st.writes.pop_front() {
            w.await.map_err(|e| fail("write", "", &e))?;
        }
    }
    Ok(())
}

/// `size` bytes at `offset`. A sequential reader gets a window of READs kept in flight ahead
/// of it (answered from a READ's own buffer when one holds all it asks); a random read asks
/// for its own bytes only.
async fn read(file: &File, st: &mut Streams, offset: u64, size: u64) -> Result<Bytes, Error> {
    let chunk = file.tree().session().info().read_size as u64;
    let end = offset + size;
    let sequential =
        offset == st.last_end || st.ahead.front().is_some_and(|c| c.offset() <= offset && offset < c.end());
    if !sequential {
        st.ahead.clear();
        let mut out = Vec::with_capacity(size as usize);
        file.read_at(offset, size, &mut out).await?;
        st.last_end = offset + out.len() as u64;
        return Ok(Bytes::Owned(out));
    }
    while st.ahead.front().is_some_and(|c| c.end() <= offset) {
        st.ahead.pop_front();
    }
    let mut next = st.ahead.back().map_or(offset, Chunk::end);
    while next < end + WINDOW {
        let pending = file.submit_read(next, chunk)?;
        st.ahead.push_back(Chunk::Flying { offset: next, len: chunk, pending });
        next += chunk;
    }
    let mut parts: Vec<(Arc<ReadData>, std::ops::Range<usize>)> = Vec::new();
    let mut at = offset;
    for i in 0..st.ahead.len() {
        if at >= end {
            break;
        }
        if let Some(Chunk::Flying { .. }) = st.ahead.get(i)
            && let Some(Chunk::Flying { offset, len, pending }) = st.ahead.remove(i)
        {
            st.ahead.insert(i, Chunk::Ready { offset, len, read: Arc::new(pending.await?) });
        }
        let Some(Chunk::Ready { offset: start, read, .. }) = st.ahead.get(i) else { break };
        let data = read.data();
        let from = (at - *start) as usize;
        if from >= data.len() {
            break; // the file ends here
        }
        let to = data.len().min((end - *start) as usize);
        parts.push((read.clone(), from..to));
        at = *start + to as u64;
        if (data.len() as u64) < chunk {
            break; // a short read: the end of the file (or a read asked again next time)
        }
    }
    let got = at - offset;
    if got < size {
        st.ahead.clear(); // past the end, or short: nothing ahead is trusted
    }
    st.last_end = offset + got;
    Ok(match parts.len() {
        1 => {
            let (read, range) = parts.remove(0);
            Bytes::Part(read, range)
        }
        _ => {
            let mut out = Vec::with_capacity(got as usize);
            for (read, range) in &parts {
                out.extend_from_slice(&read.data()[range.clone()]);
            }
            Bytes::Owned(out)
        }
    })
}

impl Filesystem for ShareFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // Bigger requests mean fewer round trips: ask for 1 MiB reads and writes; entries
        // listed with their attributes (no LOOKUP per name for `ls -l`).
        let _ = config.set_max_readahead(1 << 20);
        let _ = config.set_max_write(1 << 20);
        let _ = config.set_max_background(64);
        let _ = config.add_capabilities(InitFlags::FUSE_DO_READDIRPLUS);
        Ok(())
    }

    fn destroy(&mut self) {
        // Unmounted: send what is written behind and close what is open.
        let opens: Vec<Arc<Open>> = self.state().files.drain().map(|(_, o)| o).collect();
        for o in opens {
            let _ = self.rt.handle().block_on(async { settle(&o.file, &mut *o.streams.lock().await).await });
        }
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let r = self.run(async {
            let path = self.child(parent.0, name)?;
            self.lookup_path(&path).await
        });
        match r {
            Ok((ino, m)) => reply.entry(&self.options.cache, &self.attr(ino, &m), Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        self.state().inodes.forget(ino.0, nlookup);
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        let r = self.run(async {
            match self.stat(ino.0).await {
                Ok(m) => Ok((m, false)),
                // Unlinked while open (fstat after unlink; the kernel need not say which
                // handle): a handle of the inode still answers.
                Err(e) => {
                    let open = fh
                        .and_then(|f| self.handle(f.0).ok())
                        .or_else(|| self.state().files.values().find(|o| o.ino == ino.0).cloned());
                    match open {
                        Some(o) => o.file.metadata().await.map_err(|e| fail("stat", "", &e)),
                        None => Err(e),
                    }
                }
            }
        });
        match r {
            Ok((m, unlinked)) => {
                let mut attr = self.attr(ino.0, &m);
                if unlinked {
                    attr.nlink = 0;
                }
                reply.attr(&self.options.cache, &attr);
            }
            Err(e) => reply.error(e),
        }
    }

    fn setattr(
        &self,
        _req: &Request,
        ino: INodeNo,
        _mode: Option<u32>,
        _uid: Option<u32>,
        _gid: Option<u32>,
        size: Option<u64>,
        atime: Option<TimeOrNow>,
        mtime: Option<TimeOrNow>,
        _ctime: Option<SystemTime>,
        fh: Option<FileHandle>,
        _crtime: Option<SystemTime>,
        _chgtime: Option<SystemTime>,
        _bkuptime: Option<SystemTime>,
        _flags: Option<fuser::BsdFileFlags>,
        reply: ReplyAttr,
    ) {
        // Modes and owners are the mount's (uid=, gid=, file_mode=, dir_mode=): SMB has no
        // POSIX permissions to change, so chmod and chown succeed without effect, as on cifs.
        if (size.is_some() || mtime.is_some() || atime.is_some()) && self.writable().is_err() {
            return reply.error(Errno::EROFS);
        }
        let r = self.run(async {
            let full = self.share_path(&self.path(ino.0)?);
            self.settle_inode(ino.0).await?;
            if let Some(size) = size {
                match fh.and_then(|f| self.handle(f.0).ok()) {
                    Some(o) => {
                        o.streams.lock().await.ahead.clear();
                        o.file.set_len(size).await.map_err(|e| fail("truncate", &full, &e))?;
                    }
                    None => self.on_share("truncate", &full, |t, p| async move { t.set_size(&p, size).await }).await?,
                }
            }
            if atime.is_some() || mtime.is_some() {
                let filetime = |t| {
                    keyless_client::filetime::from_system_time(match t {
                        TimeOrNow::SpecificTime(t) => t,
                        TimeOrNow::Now => SystemTime::now(),
                    })
                };
                let (atime, mtime) = (atime.map(filetime), mtime.map(filetime));
                self.on_share("set times", &full, |t, p| async move { t.set_times(&p, atime, mtime).await }).await?;
            }
            self.state().inodes.invalidate(ino.0);
            self.stat(ino.0).await
        });
        match r {
            Ok(m) => reply.attr(&self.options.cache, &self.attr(ino.0, &m)),
            Err(e) => reply.error(e),
        }
    }

    fn mkdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, _mode: u32, _umask: u32, reply: ReplyEntry) {
        if let Err(e) = self.writable() {
            return reply.error(e);
        }
        let r = self.run(async {
            let path = self.child(parent.0, name)?;
            let full = self.share_path(&path);
            self.on_share("mkdir", &full, |t, p| async move { t.mkdir(&p).await }).await?;
            self.state().inodes.invalidate(parent.0);
            self.lookup_path(&path).await
        });
        match r {
            Ok((ino, m)) => reply.entry(&self.options.cache, &self.attr(ino, &m), Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn unlink(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        self.remove(parent, name, false, reply);
    }

    fn rmdir(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEmpty) {
        self.remove(parent, name, true, reply);
    }

    fn rename(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        newparent: INodeNo,
        newname: &OsStr,
        flags: RenameFlags,
        reply: ReplyEmpty,
    ) {
        if let Err(e) = self.writable() {
            return reply.error(e);
        }
        let r = self.run(async {
            let (from, to) = (self.child(parent.0, name)?, self.child(newparent.0, newname)?);
            let (full_from, full_to) = (self.share_path(&from), self.share_path(&to));
            let replace = !flags.contains(RenameFlags::RENAME_NOREPLACE);
            let ino = self.state().inodes.ino(&from, false);
            self.settle_inode(ino).await?;
            self.rename_on_share(&full_from, &full_to, replace).await?;
            let mut s = self.state();
            s.inodes.rename(&from, &to);
            s.inodes.invalidate(parent.0);
            s.inodes.invalidate(newparent.0);
            Ok(())
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn open(&self, _req: &Request, ino: INodeNo, flags: OpenFlags, reply: ReplyOpen) {
        let write = flags.acc_mode() != OpenAccMode::O_RDONLY;
        if write && self.options.read_only {
            return reply.error(Errno::EROFS);
        }
        let truncate = flags.0 & O_TRUNC != 0;
        let r = self.run(async {
            let full = self.share_path(&self.path(ino.0)?);
            let how = if truncate { OpenHow::Truncate } else { OpenHow::Existing };
            let file = self.on_share("open", &full, |t, p| async move { t.open(&p, write, how).await }).await?;
            self.state().inodes.remember(ino.0, file.opened_metadata().clone());
            Ok(self.add_handle(ino.0, file))
        });
        match r {
            Ok(fh) => reply.opened(FileHandle(fh), cache_mode(flags.acc_mode() == OpenAccMode::O_WRONLY)),
            Err(e) => reply.error(e),
        }
    }

    fn create(
        &self,
        _req: &Request,
        parent: INodeNo,
        name: &OsStr,
        _mode: u32,
        _umask: u32,
        flags: i32,
        reply: ReplyCreate,
    ) {
        if let Err(e) = self.writable() {
            return reply.error(e);
        }
        let how = if flags & O_EXCL != 0 {
            OpenHow::New
        } else if flags & O_TRUNC != 0 {
            OpenHow::Truncate
        } else {
            OpenHow::Always
        };
        let r = self.run(async {
            let path = self.child(parent.0, name)?;
            let full = self.share_path(&path);
            let file = self.on_share("create", &full, |t, p| async move { t.open(&p, true, how).await }).await?;
            let meta = file.opened_metadata().clone();
            let ino = {
                let mut s = self.state();
                let ino = s.inodes.ino(&path, true);
                s.inodes.remember(ino, meta.clone());
                s.inodes.invalidate(parent.0);
                ino
            };
            Ok((ino, meta, self.add_handle(ino, file)))
        });
        match r {
            Ok((ino, m, fh)) => reply.created(
                &self.options.cache,
                &self.attr(ino, &m),
                Generation(0),
                FileHandle(fh),
                cache_mode(flags & O_ACCMODE == O_WRONLY),
            ),
            Err(e) => reply.error(e),
        }
    }

    fn read(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        size: u32,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyData,
    ) {
        let r = self.run(async {
            let o = self.handle(fh.0)?;
            let mut st = o.streams.lock().await;
            settle(&o.file, &mut st).await?;
            read(&o.file, &mut st, offset, u64::from(size)).await.map_err(|e| fail("read", "", &e))
        });
        match r {
            Ok(data) => reply.data(data.as_slice()),
            Err(e) => reply.error(e),
        }
    }

    fn write(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        offset: u64,
        data: &[u8],
        _write_flags: WriteFlags,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        reply: ReplyWrite,
    ) {
        let r = self.run(async {
            let o = self.handle(fh.0)?;
            self.state().inodes.invalidate(o.ino);
            write_behind(&o.file, &mut *o.streams.lock().await, offset, data).await
        });
        match r {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(e),
        }
    }

    fn flush(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, _lock_owner: LockOwner, reply: ReplyEmpty) {
        let r = self.run(async {
            let o = self.handle(fh.0)?;
            settle(&o.file, &mut *o.streams.lock().await).await
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn release(
        &self,
        _req: &Request,
        _ino: INodeNo,
        fh: FileHandle,
        _flags: OpenFlags,
        _lock_owner: Option<LockOwner>,
        _flush: bool,
        reply: ReplyEmpty,
    ) {
        let r = self.run(async {
            let o = self.state().files.remove(&fh.0).ok_or(Errno::EBADF)?;
            let sent = settle(&o.file, &mut *o.streams.lock().await).await;
            self.state().inodes.invalidate(o.ino);
            let closed = match Arc::try_unwrap(o) {
                Ok(o) => o.file.close().await.map(|_| ()).map_err(|e| fail("close", "", &e)),
                Err(_) => Ok(()), // a read still holds it: the last holder's drop closes it
            };
            sent.and(closed)
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn fsync(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
        let r = self.run(async {
            let o = self.handle(fh.0)?;
            settle(&o.file, &mut *o.streams.lock().await).await?;
            o.file.flush().await.map_err(|e| fail("fsync", "", &e))
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        match self.run(self.list(ino.0)) {
            Ok(entries) => {
                let mut s = self.state();
                s.next_fh += 1;
                let fh = s.next_fh;
                s.dirs.insert(fh, Arc::new(entries));
                reply.opened(FileHandle(fh), FopenFlags::empty());
            }
            Err(e) => reply.error(e),
        }
    }

    fn readdir(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let Some(entries) = self.state().dirs.get(&fh.0).cloned() else { return reply.error(Errno::EBADF) };
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(*ino), i as u64 + 1, *kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn readdirplus(&self, _req: &Request, ino: INodeNo, fh: FileHandle, offset: u64, mut reply: ReplyDirectoryPlus) {
        let Some(entries) = self.state().dirs.get(&fh.0).cloned() else { return reply.error(Errno::EBADF) };
        let dir = self.path(ino.0).unwrap_or_default();
        for (i, (child, _, name)) in entries.iter().enumerate().skip(offset as usize) {
            let dot = name == "." || name == "..";
            let meta = {
                let s = self.state();
                s.inodes.cached(*child).cloned()
            };
            // What the listing did not say (the dot entries, or expired): asked now.
            let meta = match meta {
                Some(m) => m,
                None => match self.run(self.stat(*child)) {
                    Ok(m) => m,
                    Err(_) if dot => Metadata::new(name.clone(), 0, true, [0; 4]),
                    Err(_) => continue,
                },
            };
            if reply.add(
                INodeNo(*child),
                i as u64 + 1,
                name,
                &self.options.cache,
                &self.attr(*child, &meta),
                Generation(0),
            ) {
                break;
            }
            // Each entry returned (but `.` and `..`) is a lookup the kernel will forget.
            if !dot {
                let path = if dir.is_empty() { name.clone() } else { format!("{dir}/{name}") };
                self.state().inodes.ino(&path, true);
            }
        }
        reply.ok();
    }

    fn releasedir(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, _flags: OpenFlags, reply: ReplyEmpty) {
        self.state().dirs.remove(&fh.0);
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        match self.run(async { self.ns.root().space().await.map_err(|e| fail("statfs", "", &e)) }) {
            Ok(f) => {
                let unit = f.sectors_per_unit.saturating_mul(f.bytes_per_sector).max(512);
                // SMB counts no inodes: report plenty, as cifs does.
                reply.statfs(
                    f.total_units,
                    f.actual_available_units,
                    f.caller_available_units,
                    1 << 20,
                    1 << 19,
                    unit,
                    255,
                    unit,
                );
            }
            Err(e) => reply.error(e),
        }
    }
}
