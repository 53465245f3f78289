//! [`Share`]: files and directories on one share, by `/`-separated paths from its root.
//! Whole files and trees go up and down with progress; single files open as tokio
//! `AsyncRead`/`AsyncWrite`/`AsyncSeek` handles.

use crate::Error;
use core::pin::Pin;
use core::task::{Context, Poll};
use keyless_client::{File, Listing, Metadata, OpenHow, Tree};
use std::path::{Path, PathBuf};

/// A connected share. `Clone + Send + Sync`: clones share the connection.
///
/// ```no_run
/// # async fn demo(share: keyless::Share) -> Result<(), Box<dyn std::error::Error>> {
/// use tokio::io::AsyncWriteExt;
/// let mut file = share.create("reports/today.txt").await?;
/// file.write_all(b"all well\n").await?;
/// file.shutdown().await?; // flushed and closed on the server
/// let size = share.metadata("reports/today.txt").await?.size;
/// assert_eq!(size, 9);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Share {
    tree: Tree,
}

/// One file or directory met by [`Share::walk`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Entry {
    /// Its path from the share's root, `/`-separated.
    pub path: String,
    /// Its metadata (`metadata.name` is the last component).
    pub metadata: Metadata,
}

/// How far an upload or download is.
#[derive(Clone, Copy, Debug)]
pub struct Progress<'a> {
    /// The file being copied (a remote path, or a local one for uploads).
    pub file: &'a str,
    /// Bytes done, over every file of the transfer.
    pub done: u64,
    /// Bytes in all, over every file of the transfer.
    pub total: u64,
}

/// What [`Share::upload`] and [`Share::download`] call as bytes are done.
pub type OnProgress<'a> = &'a mut (dyn FnMut(Progress<'_>) + Send);

impl Share {
    pub(crate) fn new(tree: Tree) -> Self {
        Self { tree }
    }

    /// The lower-level handle (`keyless_client::Tree`): change notifications, times,
    /// free space, raw requests.
    pub fn tree(&self) -> &Tree {
        &self.tree
    }

    /// The share's name.
    pub fn name(&self) -> &str {
        self.tree.share()
    }

    /// The metadata of the file or directory `path` (`""` is the root).
    ///
    /// # Errors
    /// [`crate::ErrorKind::NotFound`], [`crate::ErrorKind::PermissionDenied`], and the like.
    pub async fn metadata(&self, path: &str) -> Result<Metadata, Error> {
        Ok(self.tree.stat(path).await?)
    }

    /// Opens the existing file `path` for reading (`AsyncRead + AsyncSeek`).
    ///
    /// # Errors
    /// As [`Share::metadata`]; [`crate::ErrorKind::IsADirectory`] for a directory.
    pub async fn open(&self, path: &str) -> Result<File, Error> {
        Ok(self.tree.open(path, false, OpenHow::Existing).await?)
    }

    /// Creates the file `path`, or empties it if it exists, for writing (`AsyncWrite +
    /// AsyncRead + AsyncSeek`). Its data is on the server when `shutdown` (or `close`)
    /// returns.
    ///
    /// # Errors
    /// As [`Share::metadata`].
    pub async fn create(&self, path: &str) -> Result<File, Error> {
        Ok(self.tree.open(path, true, OpenHow::Truncate).await?)
    }

    /// The entries of directory `path` as a stream, page by page as the server sends them.
    ///
    /// ```no_run
    /// # async fn demo(share: keyless::Share) -> Result<(), keyless::Error> {
    /// let mut entries = share.read_dir("inbox");
    /// while let Some(entry) = entries.next().await {
    ///     let entry = entry?;
    ///     println!("{} {}", if entry.is_dir { "d" } else { "-" }, entry.name);
    /// }
    /// # Ok(()) }
    /// ```
    pub fn read_dir(&self, path: &str) -> ReadDir {
        ReadDir { listing: self.tree.list_stream(path) }
    }

    /// Everything below directory `path`, depth first, directories before their contents,
    /// each directory's entries in the server's order.
    ///
    /// ```no_run
    /// # async fn demo(share: keyless::Share) -> Result<(), keyless::Error> {
    /// let total: u64 = share.walk("projects").await?.iter().map(|e| e.metadata.size).sum();
    /// println!("{total} bytes under projects");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Share::metadata`] for any directory on the way.
    pub async fn walk(&self, path: &str) -> Result<Vec<Entry>, Error> {
        let mut out = Vec::new();
        // Entries still to emit, the next on top; a directory's contents go on top when it is
        // emitted, so they follow it.
        let mut pending = self.entries_below(path.trim_matches('/')).await?;
        while let Some(entry) = pending.pop() {
            if entry.metadata.is_dir {
                pending.extend(self.entries_below(&entry.path).await?);
            }
            out.push(entry);
        }
        Ok(out)
    }

    /// The entries of directory `dir`, last first (for a stack).
    async fn entries_below(&self, dir: &str) -> Result<Vec<Entry>, Error> {
        let listed = self.tree.list(dir).await?;
        Ok(listed.into_iter().rev().map(|metadata| Entry { path: join(dir, &metadata.name), metadata }).collect())
    }

    /// Makes the directory `path` (its parent must exist).
    ///
    /// # Errors
    /// [`crate::ErrorKind::AlreadyExists`], and as [`Share::metadata`].
    pub async fn create_dir(&self, path: &str) -> Result<(), Error> {
        Ok(self.tree.mkdir(path).await?)
    }

    /// Makes the directory `path` and its missing parents.
    ///
    /// # Errors
    /// As [`Share::create_dir`], except that existing directories are fine.
    pub async fn create_dir_all(&self, path: &str) -> Result<(), Error> {
        let mut here = String::new();
        for part in path.split(['/', '\\']).filter(|p| !p.is_empty()) {
            here = join(&here, part);
            match self.tree.mkdir(&here).await {
                Ok(()) => {}
                Err(e) if e.kind() == crate::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }

    /// Removes the file `path`.
    ///
    /// # Errors
    /// As [`Share::metadata`]; [`crate::ErrorKind::Busy`] while another program has it open.
    pub async fn remove(&self, path: &str) -> Result<(), Error> {
        Ok(self.tree.remove(path).await?)
    }

    /// Removes the empty directory `path`.
    ///
    /// # Errors
    /// [`crate::ErrorKind::DirectoryNotEmpty`], and as [`Share::metadata`].
    pub async fn remove_dir(&self, path: &str) -> Result<(), Error> {
        Ok(self.tree.rmdir(path).await?)
    }

    /// Renames `from` to `to` on this share, replacing a file `to`.
    ///
    /// # Errors
    /// As [`Share::metadata`].
    pub async fn rename(&self, from: &str, to: &str) -> Result<(), Error> {
        Ok(self.tree.rename_with(from, to, true).await?)
    }

    /// Copies the local file or directory tree `local` to `remote` (files replaced,
    /// directories made as needed); returns the bytes copied. `progress` hears the bytes the
    /// server acknowledged, over the whole transfer.
    ///
    /// ```no_run
    /// # async fn demo(share: keyless::Share) -> Result<(), keyless::Error> {
    /// let mut shown = |p: keyless::Progress<'_>| eprint!("\r{} of {} bytes ({})", p.done, p.total, p.file);
    /// share.upload(std::path::Path::new("/srv/exports"), "backup/exports", Some(&mut shown)).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A local file that cannot be read ([`crate::ErrorKind::Local`]), or as
    /// [`Share::create`].
    pub async fn upload(&self, local: &Path, remote: &str, mut progress: Option<OnProgress<'_>>) -> Result<u64, Error> {
        let meta = tokio::fs::metadata(local).await.map_err(Error::local(local))?;
        let mut files = Vec::new();
        if meta.is_dir() {
            self.create_dir_all(remote).await?;
            local_tree(local, remote, &mut files, self).await?;
        } else {
            files.push((local.to_path_buf(), remote.to_string(), meta.len()));
        }
        let total = files.iter().map(|f| f.2).sum();
        let mut done = 0;
        for (from, to, _) in files {
            let file = std::fs::File::open(&from).map_err(Error::local(&from))?;
            let shown = from.display().to_string();
            let before = done;
            let mut tell = |n: u64| {
                if let Some(p) = progress.as_mut() {
                    p(Progress { file: &shown, done: before + n, total });
                }
            };
            done += self.tree.put_file(&to, &file, Some(&mut tell)).await?;
        }
        Ok(done)
    }

    /// Copies the remote file or directory tree `remote` to `local`; returns the bytes
    /// copied. Each file lands in a temporary file beside its name, renamed when complete, so
    /// a failure never leaves a partial file under the wanted name.
    ///
    /// ```no_run
    /// # async fn demo(share: keyless::Share) -> Result<(), keyless::Error> {
    /// let bytes = share.download("reports/2026.pdf", std::path::Path::new("2026.pdf"), None).await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// A local file that cannot be written ([`crate::ErrorKind::Local`]), or as
    /// [`Share::open`].
    pub async fn download(
        &self,
        remote: &str,
        local: &Path,
        mut progress: Option<OnProgress<'_>>,
    ) -> Result<u64, Error> {
        let meta = self.metadata(remote).await?;
        let mut files = Vec::new();
        if meta.is_dir {
            tokio::fs::create_dir_all(local).await.map_err(Error::local(local))?;
            for entry in self.walk(remote).await? {
                let below = entry.path.strip_prefix(remote.trim_matches('/')).unwrap_or(&entry.path);
                let target = local.join(below.trim_start_matches('/'));
                if entry.metadata.is_dir {
                    tokio::fs::create_dir_all(&target).await.map_err(Error::local(&target))?;
                } else {
                    files.push((entry.path, target, entry.metadata.size));
                }
            }
        } else {
            files.push((remote.to_string(), local.to_path_buf(), meta.size));
        }
        let total = files.iter().map(|f| f.2).sum();
        let mut done = 0;
        for (from, to, _) in files {
            let before = done;
            let mut tell = |n: u64| {
                if let Some(p) = progress.as_mut() {
                    p(Progress { file: &from, done: before + n, total });
                }
            };
            done += download_file(&self.tree, &from, &to, &mut tell).await?;
        }
        Ok(done)
    }
}

/// One remote file into `local` through a temporary file beside it. The file is written on
/// the calling task (a copy into the page cache is shorter than a trip to a blocking-thread
/// pool) while the session's driver receives and decrypts the next READs.
async fn download_file(
    tree: &Tree,
    remote: &str,
    local: &Path,
    tell: &mut (dyn FnMut(u64) + Send),
) -> Result<u64, Error> {
    let tmp = temp_beside(local);
    let file = std::fs::File::create(&tmp).map_err(Error::local(&tmp))?;
    let mut out = keyless_client::Blocking(file);
    let got = tree.get_with_progress(remote, &mut out, Some(tell)).await;
    drop(out);
    match got.map_err(Error::from) {
        Ok(n) => {
            std::fs::rename(&tmp, local).map_err(Error::local(local))?;
            Ok(n)
        }
        Err(e) => {
            let _ = std::fs::remove_file(&tmp);
            Err(e)
        }
    }
}

/// `.name.keyless-PID` beside `path`.
fn temp_beside(path: &Path) -> PathBuf {
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    path.with_file_name(format!(".{name}.keyless-{}", std::process::id()))
}

/// The files below local directory `dir`, with their remote paths under `remote`; remote
/// directories are made on the way.
async fn local_tree(
    dir: &Path,
    remote: &str,
    out: &mut Vec<(PathBuf, String, u64)>,
    share: &Share,
) -> Result<(), Error> {
    let mut pending = vec![(dir.to_path_buf(), remote.trim_matches('/').to_string())];
    while let Some((here, there)) = pending.pop() {
        let mut entries = tokio::fs::read_dir(&here).await.map_err(Error::local(&here))?;
        let mut names = Vec::new();
        while let Some(e) = entries.next_entry().await.map_err(Error::local(&here))? {
            names.push(e);
        }
        names.sort_by_key(tokio::fs::DirEntry::file_name);
        for e in names {
            let path = e.path();
            let name = e.file_name().to_string_lossy().into_owned();
            let target = join(&there, &name);
            let meta = tokio::fs::metadata(&path).await.map_err(Error::local(&path))?;
            if meta.is_dir() {
                share.create_dir_all(&target).await?;
                pending.push((path, target));
            } else if meta.is_file() {
                out.push((path, target, meta.len()));
            }
        }
    }
    Ok(())
}

/// `dir/name`, or `name` at the top.
fn join(dir: &str, name: &str) -> String {
    if dir.is_empty() { name.to_string() } else { format!("{dir}/{name}") }
}

/// The entries of a directory, as [`Share::read_dir`] streams them.
#[derive(Debug)]
pub struct ReadDir {
    listing: Listing,
}

impl ReadDir {
    /// The next entry.
    pub async fn next(&mut self) -> Option<Result<Metadata, Error>> {
        self.listing.next().await.map(|r| r.map_err(Error::from))
    }
}

impl futures_core::Stream for ReadDir {
    type Item = Result<Metadata, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.listing).poll_next(cx).map(|o| o.map(|r| r.map_err(Error::from)))
    }
}
