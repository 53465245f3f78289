//! The share as a FUSE file system: each kernel request becomes SMB requests on one
//! connection (the SMB client's futures run on a current-thread runtime, one request at a
//! time). Sequential reads are served from a read-ahead window and sequential writes
//! gathered into write-behind runs, both the size of the client's pipelined window, so a
//! file streams as fast as `keyless get`/`put` does.

use super::errno::errno;
use super::inodes::{Inodes, ROOT};
use super::options::MountOptions;
use fuser::{
    Errno, FileAttr, FileHandle, FileType, Filesystem, FopenFlags, Generation, INodeNo, KernelConfig, LockOwner,
    OpenAccMode, OpenFlags, RenameFlags, ReplyAttr, ReplyCreate, ReplyData, ReplyDirectory, ReplyEmpty, ReplyEntry,
    ReplyOpen, ReplyStatfs, ReplyWrite, Request, TimeOrNow, WriteFlags,
};
use keyless_client::{Connection, Error, Metadata, OpenFile, OpenHow, Tree, from_filetime};
use std::collections::HashMap;
use std::ffi::OsStr;
use std::sync::Mutex;
use std::time::SystemTime;

/// Read-ahead and write-behind run: 4 MiB, a quarter of the client's pipelined window.
const RUN: usize = 4 << 20;
/// open(2) flags as Linux numbers them (the kernel passes them through FUSE as they are).
const O_TRUNC: i32 = 0o1000;
const O_EXCL: i32 = 0o200;

/// An open file and what is buffered for it.
struct Open {
    ino: u64,
    file: OpenFile,
    /// Data read ahead: (offset, bytes).
    ahead: Option<(u64, Vec<u8>)>,
    /// Where the last read ended (sequential reads get read-ahead).
    last_end: u64,
    /// Writes not yet sent: (offset, bytes), contiguous.
    behind: Option<(u64, Vec<u8>)>,
}

struct State {
    conn: Connection,
    tree: u32,
    share: String,
    /// The directory on the share that is the mount's root (`""`: the share's).
    base: String,
    inodes: Inodes,
    files: HashMap<u64, Open>,
    dirs: HashMap<u64, Vec<(u64, FileType, String)>>,
    next_fh: u64,
}

impl State {
    fn tree(&mut self) -> Tree<'_> {
        self.conn.tree(self.tree, &self.share)
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
        self.inodes.path(ino).map(str::to_string).ok_or(Errno::ENOENT)
    }

    fn child(&self, parent: u64, name: &OsStr) -> Result<String, Errno> {
        let name = name.to_str().ok_or(Errno::EINVAL)?;
        // NAME_MAX, as Linux file systems count it (bytes); SMB would say OBJECT_NAME_INVALID.
        if name.len() > 255 {
            return Err(Errno::ENAMETOOLONG);
        }
        self.inodes.child(parent, name).ok_or(Errno::ENOENT)
    }

    /// A handle open on `ino`, if any.
    fn open_handle(&self, ino: u64) -> Option<u64> {
        self.files.iter().find(|(_, o)| o.ino == ino).map(|(fh, _)| *fh)
    }

    fn fh(&mut self) -> u64 {
        self.next_fh += 1;
        self.next_fh
    }
}

/// The mounted share.
pub struct ShareFs {
    rt: tokio::runtime::Runtime,
    state: Mutex<State>,
    options: MountOptions,
}

impl ShareFs {
    /// The file system over a connected share; `base` is the directory mounted.
    pub fn new(
        rt: tokio::runtime::Runtime,
        conn: Connection,
        tree: u32,
        share: &str,
        base: &str,
        options: MountOptions,
    ) -> Self {
        let state = State {
            conn,
            tree,
            share: share.to_string(),
            base: base.trim_matches('/').to_string(),
            inodes: Inodes::new(options.cache),
            files: HashMap::new(),
            dirs: HashMap::new(),
            next_fh: 0,
        };
        Self { rt, state: Mutex::new(state), options }
    }

    /// Runs `op` on the state with the runtime; a poisoned lock (a panic in an earlier
    /// request) fails the request instead of the whole mount.
    fn with<T>(&self, op: impl AsyncFnOnce(&mut State) -> Result<T, Errno>) -> Result<T, Errno> {
        let mut state = self.state.lock().map_err(|_| Errno::EIO)?;
        let result = self.rt.block_on(op(&mut state));
        if let Some(why) = state.conn.renewal_failure() {
            super::log(&format!("renewing the session's credential failed (the mount goes on until it ends): {why}"));
        }
        result
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
}

/// SMB failures, logged (what the kernel gets is an errno only).
fn fail(what: &str, path: &str, e: &Error) -> Errno {
    let code = errno(e);
    if code == Errno::EIO {
        super::log(&format!("{what} {path}: {e}"));
    }
    code
}

/// Sends what is gathered for `open`.
async fn write_behind(tree: &mut Tree<'_>, open: &mut Open) -> Result<(), Error> {
    if let Some((offset, data)) = open.behind.take() {
        tree.write_at(&open.file, offset, &data).await?;
    }
    Ok(())
}

/// Sends the gathered writes of every handle of `ino` (before its size is asked).
async fn write_behind_all(s: &mut State, ino: u64) -> Result<(), Errno> {
    let fhs: Vec<u64> = s.files.iter().filter(|(_, o)| o.ino == ino && o.behind.is_some()).map(|(fh, _)| *fh).collect();
    for fh in fhs {
        send_behind(s, fh).await?;
    }
    Ok(())
}

async fn stat(s: &mut State, ino: u64) -> Result<Metadata, Errno> {
    write_behind_all(s, ino).await?;
    if let Some(m) = s.inodes.cached(ino) {
        return Ok(m.clone());
    }
    let path = s.path(ino)?;
    let full = s.share_path(&path);
    let meta = s.tree().stat(&full).await.map_err(|e| fail("stat", &full, &e))?;
    s.inodes.remember(ino, meta.clone());
    Ok(meta)
}

/// The inode and metadata of `path`, counting one kernel reference. A name that does not
/// exist leaves no inode behind (shells look up many such names).
async fn lookup_path(s: &mut State, path: &str) -> Result<(u64, Metadata), Errno> {
    let ino = s.inodes.ino(path, false);
    match stat(s, ino).await {
        Ok(meta) => {
            s.inodes.ino(path, true);
            Ok((ino, meta))
        }
        Err(e) => {
            s.inodes.forget(ino, 0);
            Err(e)
        }
    }
}

impl Filesystem for ShareFs {
    fn init(&mut self, _req: &Request, config: &mut KernelConfig) -> std::io::Result<()> {
        // Bigger requests mean fewer round trips: ask for 1 MiB reads and writes.
        let _ = config.set_max_readahead(1 << 20);
        let _ = config.set_max_write(1 << 20);
        Ok(())
    }

    fn destroy(&mut self) {
        // Unmounted: send what is gathered and close what is open.
        let Ok(mut s) = self.state.lock() else { return };
        let fhs: Vec<u64> = s.files.keys().copied().collect();
        for fh in fhs {
            if let Some(mut open) = s.files.remove(&fh) {
                let _ = self.rt.block_on(async {
                    let mut tree = s.tree();
                    write_behind(&mut tree, &mut open).await?;
                    tree.close_file(open.file).await
                });
            }
        }
    }

    fn lookup(&self, _req: &Request, parent: INodeNo, name: &OsStr, reply: ReplyEntry) {
        let r = self.with(async |s| {
            let path = s.child(parent.0, name)?;
            lookup_path(s, &path).await
        });
        match r {
            Ok((ino, m)) => reply.entry(&self.options.cache, &self.attr(ino, &m), Generation(0)),
            Err(e) => reply.error(e),
        }
    }

    fn forget(&self, _req: &Request, ino: INodeNo, nlookup: u64) {
        if let Ok(mut s) = self.state.lock() {
            s.inodes.forget(ino.0, nlookup);
        }
    }

    fn getattr(&self, _req: &Request, ino: INodeNo, fh: Option<FileHandle>, reply: ReplyAttr) {
        let r = self.with(async |s| match stat(s, ino.0).await {
            // Unlinked while open (fstat after unlink; the kernel need not say which handle):
            // a handle of the inode still answers.
            Err(e) => match fh.map(|f| f.0).filter(|f| s.files.contains_key(f)).or_else(|| s.open_handle(ino.0)) {
                Some(f) => on_open(s, f, "stat", async |tree, open| tree.file_metadata(&open.file).await).await,
                None => Err(e),
            },
            Ok(m) => Ok((m, false)),
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
        let r = self.with(async |s| {
            let path = s.path(ino.0)?;
            let full = s.share_path(&path);
            write_behind_all(s, ino.0).await?;
            if let Some(size) = size {
                let open = fh.and_then(|f| s.files.remove(&f.0));
                let result = match &open {
                    Some(o) => s.tree().set_file_size(&o.file, size).await,
                    None => s.tree().set_size(&full, size).await,
                };
                if let (Some(f), Some(mut o)) = (fh, open) {
                    o.ahead = None;
                    s.files.insert(f.0, o);
                }
                result.map_err(|e| fail("truncate", &full, &e))?;
            }
            if atime.is_some() || mtime.is_some() {
                let filetime = |t| {
                    keyless_client::filetime(match t {
                        TimeOrNow::SpecificTime(t) => t,
                        TimeOrNow::Now => SystemTime::now(),
                    })
                };
                s.tree()
                    .set_times(&full, atime.map(filetime), mtime.map(filetime))
                    .await
                    .map_err(|e| fail("set times", &full, &e))?;
            }
            s.inodes.invalidate(ino.0);
            stat(s, ino.0).await
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
        let r = self.with(async |s| {
            let path = s.child(parent.0, name)?;
            let full = s.share_path(&path);
            s.tree().mkdir(&full).await.map_err(|e| fail("mkdir", &full, &e))?;
            s.inodes.invalidate(parent.0);
            lookup_path(s, &path).await
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
        let r = self.with(async |s| {
            let (from, to) = (s.child(parent.0, name)?, s.child(newparent.0, newname)?);
            let (full_from, full_to) = (s.share_path(&from), s.share_path(&to));
            let replace = !flags.contains(RenameFlags::RENAME_NOREPLACE);
            let ino = s.inodes.ino(&from, false);
            write_behind_all(s, ino).await?;
            s.tree().rename_with(&full_from, &full_to, replace).await.map_err(|e| fail("rename", &full_from, &e))?;
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
        let r = self.with(async |s| {
            let path = s.path(ino.0)?;
            let full = s.share_path(&path);
            let how = if truncate { OpenHow::Truncate } else { OpenHow::Existing };
            let file = s.tree().open(&full, write, how).await.map_err(|e| fail("open", &full, &e))?;
            s.inodes.remember(ino.0, file.metadata.clone());
            let fh = s.fh();
            s.files.insert(fh, Open { ino: ino.0, file, ahead: None, last_end: 0, behind: None });
            Ok(fh)
        });
        match r {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
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
        let r = self.with(async |s| {
            let path = s.child(parent.0, name)?;
            let full = s.share_path(&path);
            let file = s.tree().open(&full, true, how).await.map_err(|e| fail("create", &full, &e))?;
            let meta = file.metadata.clone();
            let ino = s.inodes.ino(&path, true);
            s.inodes.remember(ino, meta.clone());
            s.inodes.invalidate(parent.0);
            let fh = s.fh();
            s.files.insert(fh, Open { ino, file, ahead: None, last_end: 0, behind: None });
            Ok((ino, meta, fh))
        });
        match r {
            Ok((ino, m, fh)) => reply.created(
                &self.options.cache,
                &self.attr(ino, &m),
                Generation(0),
                FileHandle(fh),
                FopenFlags::empty(),
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
        let r = self.with(async |s| {
            on_open(s, fh.0, "read", async |tree, open| read(tree, open, offset, size as usize).await).await
        });
        match r {
            Ok(data) => reply.data(&data),
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
        let r = self.with(async |s| {
            let ino = s.files.get(&fh.0).ok_or(Errno::EBADF)?.ino;
            s.inodes.invalidate(ino);
            on_open(s, fh.0, "write", async |tree, open| {
                open.ahead = None;
                match &mut open.behind {
                    Some((o, d)) if *o + d.len() as u64 == offset && d.len() + data.len() <= RUN => {
                        d.extend_from_slice(data);
                        Ok(())
                    }
                    _ => {
                        let sent = write_behind(tree, open).await;
                        open.behind = Some((offset, data.to_vec()));
                        sent
                    }
                }
            })
            .await
        });
        match r {
            Ok(()) => reply.written(data.len() as u32),
            Err(e) => reply.error(e),
        }
    }

    fn flush(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, _lock_owner: LockOwner, reply: ReplyEmpty) {
        match self.with(async |s| send_behind(s, fh.0).await) {
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
        let r = self.with(async |s| {
            let mut open = s.files.remove(&fh.0).ok_or(Errno::EBADF)?;
            let ino = open.ino;
            let mut tree = s.tree();
            let sent = write_behind(&mut tree, &mut open).await;
            let closed = tree.close_file(open.file).await;
            s.inodes.invalidate(ino);
            sent.and(closed.map(|_| ())).map_err(|e| fail("close", "", &e))
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn fsync(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, _datasync: bool, reply: ReplyEmpty) {
        let r = self.with(async |s| {
            on_open(s, fh.0, "fsync", async |tree, open| {
                write_behind(tree, open).await?;
                tree.flush_file(&open.file).await
            })
            .await
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }

    fn opendir(&self, _req: &Request, ino: INodeNo, _flags: OpenFlags, reply: ReplyOpen) {
        let r = self.with(async |s| {
            let path = s.path(ino.0)?;
            let full = s.share_path(&path);
            let list = s.tree().list(&full).await.map_err(|e| fail("list", &full, &e))?;
            let parent = match path.rsplit_once('/') {
                Some((p, _)) => s.inodes.ino(p, false),
                None => ROOT,
            };
            let mut entries =
                vec![(ino.0, FileType::Directory, ".".to_string()), (parent, FileType::Directory, "..".to_string())];
            for m in list {
                let child = if path.is_empty() { m.name.clone() } else { format!("{path}/{}", m.name) };
                let child_ino = s.inodes.ino(&child, false);
                let kind = if m.is_dir { FileType::Directory } else { FileType::RegularFile };
                entries.push((child_ino, kind, m.name.clone()));
                // What the listing says serves the lookups and getattrs `ls -l` sends next.
                s.inodes.remember(child_ino, m);
            }
            let fh = s.fh();
            s.dirs.insert(fh, entries);
            Ok(fh)
        });
        match r {
            Ok(fh) => reply.opened(FileHandle(fh), FopenFlags::empty()),
            Err(e) => reply.error(e),
        }
    }

    fn readdir(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, offset: u64, mut reply: ReplyDirectory) {
        let Ok(s) = self.state.lock() else { return reply.error(Errno::EIO) };
        let Some(entries) = s.dirs.get(&fh.0) else { return reply.error(Errno::EBADF) };
        for (i, (ino, kind, name)) in entries.iter().enumerate().skip(offset as usize) {
            if reply.add(INodeNo(*ino), i as u64 + 1, *kind, name) {
                break;
            }
        }
        reply.ok();
    }

    fn releasedir(&self, _req: &Request, _ino: INodeNo, fh: FileHandle, _flags: OpenFlags, reply: ReplyEmpty) {
        if let Ok(mut s) = self.state.lock() {
            s.dirs.remove(&fh.0);
        }
        reply.ok();
    }

    fn statfs(&self, _req: &Request, _ino: INodeNo, reply: ReplyStatfs) {
        match self.with(async |s| s.tree().space().await.map_err(|e| fail("statfs", "", &e))) {
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

impl ShareFs {
    fn remove(&self, parent: INodeNo, name: &OsStr, dir: bool, reply: ReplyEmpty) {
        if let Err(e) = self.writable() {
            return reply.error(e);
        }
        let r = self.with(async |s| {
            let path = s.child(parent.0, name)?;
            let full = s.share_path(&path);
            let result = if dir { s.tree().rmdir(&full).await } else { s.tree().remove(&full).await };
            result.map_err(|e| fail("remove", &full, &e))?;
            s.inodes.unlink(&path);
            s.inodes.invalidate(parent.0);
            Ok(())
        });
        match r {
            Ok(()) => reply.ok(),
            Err(e) => reply.error(e),
        }
    }
}

async fn send_behind(s: &mut State, fh: u64) -> Result<(), Errno> {
    on_open(s, fh, "write", async |tree, open| write_behind(tree, open).await).await
}

/// Runs `op` on the open file `fh` (lent out of the table meanwhile) and the share; an SMB
/// failure becomes an errno, logged as `what`.
async fn on_open<T>(
    s: &mut State,
    fh: u64,
    what: &str,
    op: impl AsyncFnOnce(&mut Tree<'_>, &mut Open) -> Result<T, Error>,
) -> Result<T, Errno> {
    let mut open = s.files.remove(&fh).ok_or(Errno::EBADF)?;
    let result = op(&mut s.tree(), &mut open).await;
    s.files.insert(fh, open);
    result.map_err(|e| fail(what, "", &e))
}

/// `size` bytes at `offset`: from the read-ahead window when it holds them; a sequential read
/// past it fetches the next [`RUN`] bytes at once (pipelined), a random one only its own.
async fn read(tree: &mut Tree<'_>, open: &mut Open, offset: u64, size: usize) -> Result<Vec<u8>, Error> {
    write_behind(tree, open).await?;
    if let Some((start, data)) = &open.ahead {
        let end = start + data.len() as u64;
        if offset >= *start && offset + size as u64 <= end {
            let from = (offset - start) as usize;
            open.last_end = offset + size as u64;
            return Ok(data[from..from + size].to_vec());
        }
    }
    let sequential = offset == open.last_end;
    let want = if sequential { size.max(RUN) } else { size };
    let mut buf = Vec::with_capacity(want);
    tree.read_at(&open.file, offset, want as u64, &mut buf).await?;
    let n = size.min(buf.len());
    let out = buf[..n].to_vec();
    open.last_end = offset + n as u64;
    open.ahead = (buf.len() > n).then_some((offset, buf));
    Ok(out)
}
