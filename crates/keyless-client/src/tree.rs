//! A connected share and what a user does on it: stat, list, open, make and remove
//! directories, delete, rename, set sizes and times, watch. Paths use `/` or `\`, relative to
//! the share root. Transfers are in [`crate::transfer`], open files in [`crate::file`].

use crate::client::{Pending, Session};
use crate::error::{Error, Misbehaviour};
use crate::file::File;
use crate::proto::{OpenSlot, OpenSpec, Request, Slot, Target, TreeSlot};
use keyless_smb::change_notify::{ChangeNotifyRequest, ChangeNotifyResponse, FileNotify, filter};
use keyless_smb::control::{CLOSE_FLAG_POSTQUERY_ATTRIB, CloseRequest, CloseResponse, FileAttributes, TreeDisconnect};
use keyless_smb::create::{CreateRequest, CreateResponse, Disposition, access, options, share_access};
use keyless_smb::info::{
    FileBasicInformation, FileFsFullSizeInformation, FileInfoClass, FileRenameInformation, FileStandardInformation,
    FsInfoClass, InfoType, QueryInfoRequest, QueryInfoResponse, SetInfoRequest, end_of_file_info,
};
use keyless_smb::tree_connect::share_capabilities;
use keyless_smb::{Message, NtStatus};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

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
        keyless_wire_enum::filetime::to_system_time(self.modified)
    }

    pub(crate) fn from_attributes(name: String, a: &FileAttributes) -> Self {
        Self::new(name, a.end_of_file, a.is_directory(), a.times)
    }
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

/// `a/b\\c` → `a\b\c`, without leading or trailing separators.
pub(crate) fn smb_path(path: &str) -> String {
    path.split(['/', '\\']).filter(|p| !p.is_empty()).collect::<Vec<_>>().join("\\")
}

struct TreeInner {
    session: Session,
    slot: TreeSlot,
    share: String,
    /// The share's capabilities include CONTINUOUS_AVAILABILITY.
    continuously_available: bool,
    /// The share is in a DFS namespace (ShareFlags DFS or capability DFS).
    dfs: bool,
    disconnected: AtomicBool,
}

impl Drop for TreeInner {
    fn drop(&mut self) {
        if self.disconnected.load(Ordering::Relaxed) {
            return;
        }
        if let Ok(r) = Request::new(&TreeDisconnect, Target::Tree(self.slot)) {
            self.session.fire(r);
        }
    }
}

/// A connected share. Clones share it; the last one dropped disconnects it.
#[derive(Clone)]
pub struct Tree {
    inner: Arc<TreeInner>,
}

impl core::fmt::Debug for Tree {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Tree").field("share", &self.inner.share).finish_non_exhaustive()
    }
}

/// An open the caller holds, by slot, with what its CREATE answered.
pub(crate) struct Opened {
    pub(crate) slot: OpenSlot,
    pub(crate) attributes: FileAttributes,
}

impl Tree {
    pub(crate) fn new(session: Session, slot: TreeSlot, share: &str, flags: u32, capabilities: u32) -> Self {
        let share = share.to_string();
        let continuously_available = capabilities & share_capabilities::CONTINUOUS_AVAILABILITY != 0;
        let dfs = keyless_smb::tree_connect::is_dfs_share(flags);
        let disconnected = AtomicBool::new(false);
        Self { inner: Arc::new(TreeInner { session, slot, share, continuously_available, dfs, disconnected }) }
    }

    /// Whether the server's ShareFlags make it a DFS share: paths in it may lead elsewhere,
    /// which [`Session::dfs_referral`] tells, and its CREATEs use DFS path names.
    pub fn is_dfs(&self) -> bool {
        self.inner.dfs
    }

    /// Whether the server says the share is continuously available (opens are then asked
    /// persistent).
    pub fn continuously_available(&self) -> bool {
        self.inner.continuously_available
    }

    /// The session this share is on.
    pub fn session(&self) -> &Session {
        &self.inner.session
    }

    /// The share's name.
    pub fn share(&self) -> &str {
        &self.inner.share
    }

    pub(crate) fn target(&self) -> Target {
        Target::Tree(self.inner.slot)
    }

    /// The Name a CREATE on this share gives `path`: on a DFS share the DFS path name,
    /// `server\share\path` (MS-SMB2 2.2.13), else the path itself.
    pub(crate) fn create_name(&self, path: &str) -> String {
        let path = smb_path(path);
        if !self.is_dfs() {
            return path;
        }
        let prefix = format!("{}\\{}", self.session().host(), self.share());
        if path.is_empty() { prefix } else { format!("{prefix}\\{path}") }
    }

    pub(crate) fn create_request(
        &self,
        path: &str,
        desired_access: u32,
        disp: Disposition,
        opts: u32,
    ) -> CreateRequest<'static> {
        CreateRequest {
            impersonation_level: 2,
            desired_access: desired_access | access::SYNCHRONIZE,
            file_attributes: 0,
            share_access: share_access::READ | share_access::WRITE | share_access::DELETE,
            create_disposition: disp,
            create_options: opts,
            name: self.create_name(path),
            ..Default::default()
        }
    }

    /// A CREATE the core tracks (closed by [`Tree::close`], restored after a reconnection).
    pub(crate) async fn open_tracked(
        &self,
        req: &CreateRequest<'_>,
        reopen: bool,
        durable: Option<crate::proto::Durability>,
    ) -> Result<Opened, Error> {
        let spec = OpenSpec {
            path: req.name.clone(),
            desired_access: req.desired_access,
            share_access: req.share_access,
            create_options: req.create_options,
            durable,
            reopen,
        };
        let answer = self.session().call(Request::new(req, self.target())?.opening(spec)).await?;
        answer.response.check()?;
        let created = CreateResponse::parse(answer.response.bytes())?;
        match answer.slot {
            Some(Slot::Open(slot)) => Ok(Opened { slot, attributes: created.attributes }),
            _ => Err(Misbehaviour::UnknownResponse.into()),
        }
    }

    async fn open_plain(
        &self,
        path: &str,
        desired_access: u32,
        disp: Disposition,
        opts: u32,
        reopen: bool,
    ) -> Result<Opened, Error> {
        self.open_tracked(&self.create_request(path, desired_access, disp, opts), reopen, None).await
    }

    /// CLOSE with the attributes at the close.
    pub(crate) async fn close(&self, slot: OpenSlot) -> Result<FileAttributes, Error> {
        let req = CloseRequest { flags: CLOSE_FLAG_POSTQUERY_ATTRIB, file_id: [0; 16] };
        let answer = self.session().call(Request::new(&req, Target::Open(slot))?).await?;
        answer.response.check()?;
        Ok(CloseResponse::parse(answer.response.bytes())?.attributes)
    }

    /// Closes `slot` after an operation on it; the operation's failure, if any, is the one
    /// reported (a failed close after it would only hide it).
    pub(crate) async fn close_after<T>(
        &self,
        slot: OpenSlot,
        result: Result<T, Error>,
    ) -> Result<(T, FileAttributes), Error> {
        let closed = self.close(slot).await;
        let value = result?;
        Ok((value, closed?))
    }

    /// One request on `target`, answered SUCCESS.
    pub(crate) async fn call_ok<'a, M: Message<'a>>(
        &self,
        body: &M,
        target: Target,
        payload: usize,
    ) -> Result<crate::driver::Answer, Error> {
        let answer = self.session().call(Request::new(body, target)?.payload(payload)).await?;
        answer.response.check()?;
        Ok(answer)
    }

    /// Metadata of `path`, in one round trip: CREATE, QUERY_INFO and CLOSE as a related
    /// compound (the last two act on the file the first one opens).
    ///
    /// # Errors
    /// [`Error::Status`] with OBJECT_NAME_NOT_FOUND when it does not exist, and the like.
    pub async fn stat(&self, path: &str) -> Result<Metadata, Error> {
        let create = self.create_request(path, access::READ_ATTRIBUTES, Disposition::OPEN, 0);
        let query = QueryInfoRequest {
            info_type: InfoType::FILE,
            info_class: FileInfoClass::STANDARD.0,
            output_buffer_length: 24,
            file_id: [0xff; 16],
            ..Default::default()
        };
        let close = CloseRequest { flags: 0, file_id: [0xff; 16] };
        let t = self.target();
        let chain = vec![Request::new(&create, t)?, Request::new(&query, t)?.payload(24), Request::new(&close, t)?];
        let mut answers = Vec::with_capacity(3);
        for p in self.session().submit_chain(chain)? {
            answers.push(p.await?);
        }
        // The CREATE's status says it all when the file is not there (the others then fail too).
        answers[0].response.check()?;
        answers[1].response.check()?;
        let created = CreateResponse::parse(answers[0].response.bytes())?;
        let standard = FileStandardInformation::parse(QueryInfoResponse::parse(answers[1].response.bytes())?.output)?;
        let mut meta = Metadata::from_attributes(smb_path(path), &created.attributes);
        meta.is_dir = standard.directory;
        Ok(meta)
    }

    /// Opens the file `path` for reading, and writing when `write`.
    ///
    /// # Errors
    /// OBJECT_NAME_NOT_FOUND ([`OpenHow::Existing`]), OBJECT_NAME_COLLISION ([`OpenHow::New`]),
    /// FILE_IS_A_DIRECTORY, ACCESS_DENIED, and the like.
    pub async fn open(&self, path: &str, write: bool, how: OpenHow) -> Result<File, Error> {
        let mut want = access::READ_DATA | access::READ_ATTRIBUTES;
        if write {
            want |= access::WRITE_DATA | access::WRITE_ATTRIBUTES;
        }
        let disp = match how {
            OpenHow::Existing => Disposition::OPEN,
            OpenHow::New => Disposition::CREATE,
            OpenHow::Always => Disposition::OPEN_IF,
            OpenHow::Truncate => Disposition::OVERWRITE_IF,
        };
        let opened = crate::transfer::open_durable(self, path, want, disp, write).await?;
        let metadata = Metadata::from_attributes(smb_path(path), &opened.attributes);
        Ok(File::new(self.clone(), opened.slot, metadata))
    }

    /// The share's size and free space (FileFsFullSizeInformation of its root).
    ///
    /// # Errors
    /// An I/O error, or the server's status.
    pub async fn space(&self) -> Result<FileFsFullSizeInformation, Error> {
        let root =
            self.open_plain("", access::READ_ATTRIBUTES, Disposition::OPEN, options::DIRECTORY_FILE, true).await?;
        let req = QueryInfoRequest {
            info_type: InfoType::FILESYSTEM,
            info_class: FsInfoClass::FULL_SIZE.0,
            output_buffer_length: 32,
            file_id: [0; 16],
            ..Default::default()
        };
        let result = async {
            let answer = self.call_ok(&req, Target::Open(root.slot), 32).await?;
            Ok(FileFsFullSizeInformation::parse(QueryInfoResponse::parse(answer.response.bytes())?.output)?)
        }
        .await;
        self.close_after(root.slot, result).await.map(|(space, _)| space)
    }

    /// Creates directory `path`.
    ///
    /// # Errors
    /// OBJECT_NAME_COLLISION when it exists, and the like.
    pub async fn mkdir(&self, path: &str) -> Result<(), Error> {
        let h =
            self.open_plain(path, access::READ_ATTRIBUTES, Disposition::CREATE, options::DIRECTORY_FILE, true).await?;
        self.close(h.slot).await.map(|_| ())
    }

    /// Removes the empty directory `path`.
    ///
    /// # Errors
    /// DIRECTORY_NOT_EMPTY, OBJECT_NAME_NOT_FOUND, and the like.
    pub async fn rmdir(&self, path: &str) -> Result<(), Error> {
        self.delete(path, options::DIRECTORY_FILE).await
    }

    /// Deletes the file `path`.
    ///
    /// # Errors
    /// OBJECT_NAME_NOT_FOUND, FILE_IS_A_DIRECTORY, and the like.
    pub async fn remove(&self, path: &str) -> Result<(), Error> {
        self.delete(path, options::NON_DIRECTORY_FILE).await
    }

    /// Marks `path` for deletion with FileDispositionInformation on an open handle: unlike
    /// FILE_DELETE_ON_CLOSE at CREATE (which smbd accepts and then ignores for a non-empty
    /// directory), this answers DIRECTORY_NOT_EMPTY (MS-FSA 2.1.5.15.3).
    async fn delete(&self, path: &str, kind: u32) -> Result<(), Error> {
        let h = self.open_plain(path, access::DELETE, Disposition::OPEN, kind, true).await?;
        let result = self.set_handle_info(h.slot, FileInfoClass::DISPOSITION.0, &[1]).await;
        self.close_after(h.slot, result).await.map(|_| ())
    }

    /// Watches directory `path` for `duration`: returns the changes the server reported (the
    /// first batch), or none when nothing changed, in which case the pending CHANGE_NOTIFY is
    /// cancelled (SMB2 CANCEL: the asynchronous path).
    ///
    /// # Errors
    /// As [`Tree::stat`].
    pub async fn watch(&self, path: &str, duration: std::time::Duration) -> Result<Vec<FileNotify>, Error> {
        let want = access::READ_DATA | access::READ_ATTRIBUTES;
        let dir = self.open_plain(path, want, Disposition::OPEN, options::DIRECTORY_FILE, false).await?;
        let req = ChangeNotifyRequest {
            flags: 0,
            output_buffer_length: 4096,
            file_id: [0; 16],
            completion_filter: filter::FILE_NAME | filter::DIR_NAME | filter::SIZE | filter::LAST_WRITE,
        };
        let result = async {
            let pending: Pending = self.session().submit(Request::new(&req, Target::Open(dir.slot))?.payload(4096))?;
            // Dropping the pending request when the time is up cancels it.
            match tokio::time::timeout(duration, pending).await {
                Err(_) => Ok(Vec::new()),
                Ok(answer) => {
                    let answer = answer?;
                    match answer.response.status() {
                        NtStatus::CANCELLED => Ok(Vec::new()),
                        _ => {
                            answer.response.check()?;
                            Ok(FileNotify::parse_all(ChangeNotifyResponse::parse(answer.response.bytes())?.output)?)
                        }
                    }
                }
            }
        }
        .await;
        self.close_after(dir.slot, result).await.map(|(changes, _)| changes)
    }

    /// Sets the size of file `path` (truncates or extends with zeros).
    ///
    /// # Errors
    /// As [`Tree::stat`], ACCESS_DENIED, DISK_FULL.
    pub async fn set_size(&self, path: &str, size: u64) -> Result<(), Error> {
        self.set_info(path, access::WRITE_DATA, FileInfoClass::END_OF_FILE.0, &end_of_file_info(size)).await
    }

    /// Sets the last access and last write times of `path` (FILETIMEs; None leaves one alone).
    ///
    /// # Errors
    /// As [`Tree::stat`], ACCESS_DENIED.
    pub async fn set_times(&self, path: &str, accessed: Option<u64>, modified: Option<u64>) -> Result<(), Error> {
        // 0 in FileBasicInformation means "leave unchanged" (MS-FSCC 2.4.7).
        let times = [0, accessed.unwrap_or(0), modified.unwrap_or(0), 0];
        let info = FileBasicInformation { times, file_attributes: 0 }.to_bytes();
        self.set_info(path, access::WRITE_ATTRIBUTES, FileInfoClass::BASIC.0, &info).await
    }

    async fn set_info(&self, path: &str, want: u32, class: u8, info: &[u8]) -> Result<(), Error> {
        let h = self.open_plain(path, want | access::READ_ATTRIBUTES, Disposition::OPEN, 0, true).await?;
        let result = self.set_handle_info(h.slot, class, info).await;
        self.close_after(h.slot, result).await.map(|_| ())
    }

    pub(crate) async fn set_handle_info(&self, slot: OpenSlot, class: u8, info: &[u8]) -> Result<(), Error> {
        let req = SetInfoRequest {
            info_type: InfoType::FILE,
            info_class: class,
            additional_information: 0,
            file_id: [0; 16],
            buffer: info,
        };
        self.call_ok(&req, Target::Open(slot), info.len()).await.map(|_| ())
    }

    /// Flushes `path`'s data to the server's stable storage.
    ///
    /// # Errors
    /// As [`Tree::stat`].
    pub async fn flush(&self, path: &str) -> Result<(), Error> {
        let h = self.open_plain(path, access::WRITE_DATA, Disposition::OPEN, options::NON_DIRECTORY_FILE, true).await?;
        let result =
            self.call_ok(&keyless_smb::control::FlushRequest { file_id: [0; 16] }, Target::Open(h.slot), 0).await;
        self.close_after(h.slot, result.map(|_| ())).await.map(|_| ())
    }

    /// Renames `from` to `to` (both relative to the share root), replacing nothing.
    ///
    /// # Errors
    /// OBJECT_NAME_COLLISION when `to` exists, and the like.
    pub async fn rename(&self, from: &str, to: &str) -> Result<(), Error> {
        self.rename_with(from, to, false).await
    }

    /// Renames `from` to `to`, replacing a file at `to` when `replace` (POSIX `rename`).
    ///
    /// # Errors
    /// As [`Tree::rename`]; ACCESS_DENIED when `to` is a directory or open.
    pub async fn rename_with(&self, from: &str, to: &str, replace: bool) -> Result<(), Error> {
        let info = FileRenameInformation { replace_if_exists: replace, file_name: smb_path(to) }.to_bytes()?;
        self.set_info(from, access::DELETE, FileInfoClass::RENAME.0, &info).await
    }

    /// Disconnects from the share now (it also happens when the last clone is dropped);
    /// other clones fail from then on.
    ///
    /// # Errors
    /// An I/O error on the way.
    pub async fn disconnect(self) -> Result<(), Error> {
        if self.inner.disconnected.swap(true, Ordering::Relaxed) {
            return Ok(());
        }
        self.call_ok(&TreeDisconnect, self.target(), 0).await.map(|_| ())
    }
}
