//! A connected share and what a user does on it: list, stat, read, write, make and remove
//! directories, delete, rename. Paths use `/` or `\`, relative to the share root.

use crate::connection::check_status;
use crate::{Connection, Error};
use keyless_smb::control::{CLOSE_FLAG_POSTQUERY_ATTRIB, CloseRequest, CloseResponse, FileAttributes, FileId};
use keyless_smb::create::{CreateRequest, CreateResponse, access, disposition, options, share_access};
use keyless_smb::info::{FileRenameInformation, SetInfoRequest, file_class, info_type};
use keyless_smb::query_directory::{QueryDirectoryRequest, QueryDirectoryResponse, class, entries, flags};
use keyless_smb::read_write::{ReadRequest, ReadResponse, WriteRequest, WriteResponse};
use keyless_smb::{Command, Message, NtStatus};
use std::io::{Read, Write};

/// FILE_ATTRIBUTE_DIRECTORY.
const ATTRIBUTE_DIRECTORY: u32 = 0x10;

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

    async fn create(&mut self, path: &str, desired_access: u32, disp: u32, opts: u32) -> Result<Handle, Error> {
        let req = CreateRequest {
            impersonation_level: 2,
            desired_access: desired_access | access::SYNCHRONIZE,
            file_attributes: 0,
            share_access: share_access::READ | share_access::WRITE | share_access::DELETE,
            create_disposition: disp,
            create_options: opts,
            name: smb_path(path),
            ..Default::default()
        };
        let resp = self.conn.request(self.id, &req, 0).await?;
        check_status(&resp, Command::CREATE)?;
        let body = CreateResponse::parse(&resp.bytes)?;
        Ok(Handle { id: body.file_id, attributes: body.attributes })
    }

    async fn close(&mut self, handle: Handle) -> Result<FileAttributes, Error> {
        let resp = self
            .conn
            .request(self.id, &CloseRequest { flags: CLOSE_FLAG_POSTQUERY_ATTRIB, file_id: handle.id }, 0)
            .await?;
        check_status(&resp, Command::CLOSE)?;
        Ok(CloseResponse::parse(&resp.bytes)?.attributes)
    }

    /// Metadata of `path`.
    ///
    /// # Errors
    /// [`Error::Status`] with OBJECT_NAME_NOT_FOUND when it does not exist, and the like.
    pub async fn stat(&mut self, path: &str) -> Result<Metadata, Error> {
        let h = self.create(path, access::READ_ATTRIBUTES, disposition::OPEN, 0).await?;
        self.close(h).await?;
        Ok(metadata(smb_path(path), &h.attributes))
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
            let body = QueryDirectoryResponse::parse(&resp.bytes)?;
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
        };
        self.close(dir).await?;
        result.map(|()| out)
    }

    /// Reads the whole file `path` into `out`, in chunks of the negotiated read size; returns
    /// the byte count, which must equal the file's size.
    ///
    /// # Errors
    /// As [`Tree::stat`], or an I/O error of `out`.
    pub async fn get(&mut self, path: &str, out: &mut dyn Write) -> Result<u64, Error> {
        let h = self
            .create(path, access::READ_DATA | access::READ_ATTRIBUTES, disposition::OPEN, options::NON_DIRECTORY_FILE)
            .await?;
        let size = h.attributes.end_of_file;
        let chunk = self.conn.io_size(self.conn.negotiated().max_read);
        let mut offset = 0u64;
        let result = async {
            while offset < size {
                let want = chunk.min((size - offset) as usize) as u32;
                let req = ReadRequest {
                    padding: 0x50,
                    length: want,
                    offset,
                    file_id: h.id,
                    minimum_count: 0,
                    ..Default::default()
                };
                let resp = self.conn.request(self.id, &req, want as usize).await?;
                if resp.header.status == NtStatus::END_OF_FILE {
                    break;
                }
                check_status(&resp, Command::READ)?;
                let data = ReadResponse::parse(&resp.bytes)?.data;
                if data.is_empty() {
                    break;
                }
                out.write_all(data).map_err(|source| Error::Io { doing: "writing the local file", source })?;
                offset += data.len() as u64;
            }
            Ok::<(), Error>(())
        }
        .await;
        self.close(h).await?;
        result?;
        if offset != size {
            return Err(Error::Refused("the file ended before its size (was it truncated while reading?)"));
        }
        Ok(offset)
    }

    /// Writes all of `input` to `path` (created or truncated), in chunks of the negotiated
    /// write size; returns the byte count, checked against the size the server reports.
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
        let chunk = self.conn.io_size(self.conn.negotiated().max_write);
        let mut buf = vec![0u8; chunk];
        let mut offset = 0u64;
        let result = async {
            loop {
                let n = read_full(input, &mut buf)
                    .map_err(|source| Error::Io { doing: "reading the local file", source })?;
                if n == 0 {
                    break;
                }
                let req = WriteRequest { offset, file_id: h.id, remaining_bytes: 0, flags: 0, data: &buf[..n] };
                let resp = self.conn.request(self.id, &req, n).await?;
                check_status(&resp, Command::WRITE)?;
                let written = WriteResponse::parse(&resp.bytes)?.count as usize;
                if written != n {
                    return Err(Error::Refused("the server wrote fewer bytes than sent"));
                }
                offset += n as u64;
            }
            Ok(())
        }
        .await;
        let attrs = self.close(h).await?;
        result?;
        if attrs.end_of_file != offset {
            return Err(Error::Refused("the file's size on the server differs from the bytes written"));
        }
        Ok(offset)
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

    /// Renames `from` to `to` (both relative to the share root), replacing nothing.
    ///
    /// # Errors
    /// OBJECT_NAME_COLLISION when `to` exists, and the like.
    pub async fn rename(&mut self, from: &str, to: &str) -> Result<(), Error> {
        let h = self.create(from, access::DELETE | access::READ_ATTRIBUTES, disposition::OPEN, 0).await?;
        let info = FileRenameInformation { replace_if_exists: false, file_name: smb_path(to) }.to_bytes()?;
        let req = SetInfoRequest {
            info_type: info_type::FILE,
            info_class: file_class::RENAME,
            additional_information: 0,
            file_id: h.id,
            buffer: &info,
        };
        let result = self.conn.request(self.id, &req, 0).await.and_then(|r| check_status(&r, Command::SET_INFO));
        self.close(h).await?;
        result
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

fn metadata(name: String, a: &FileAttributes) -> Metadata {
    Metadata { name, size: a.end_of_file, is_dir: a.file_attributes & ATTRIBUTE_DIRECTORY != 0, modified: a.times[2] }
}

/// Fills `buf` as far as `input` goes (short only at the end).
fn read_full(input: &mut dyn Read, buf: &mut [u8]) -> std::io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}
