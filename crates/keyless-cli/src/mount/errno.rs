//! SMB failures as the errno a program on the mount sees.

use fuser::Errno;
use keyless_client::Error;
use keyless_smb::NtStatus;

/// The errno for `e`; EIO for what has no closer meaning (and it is logged).
pub fn errno(e: &Error) -> Errno {
    let Some(status) = e.status() else {
        return match e.kind() {
            keyless_client::ErrorKind::TimedOut => Errno::ETIMEDOUT,
            _ => Errno::EIO,
        };
    };
    match status {
        NtStatus::OBJECT_NAME_NOT_FOUND | NtStatus::OBJECT_PATH_NOT_FOUND | NtStatus::NO_SUCH_FILE => Errno::ENOENT,
        NtStatus::OBJECT_NAME_COLLISION => Errno::EEXIST,
        NtStatus::ACCESS_DENIED | NtStatus::CANNOT_DELETE => Errno::EACCES,
        NtStatus::DIRECTORY_NOT_EMPTY => Errno::ENOTEMPTY,
        NtStatus::NOT_A_DIRECTORY => Errno::ENOTDIR,
        NtStatus::FILE_IS_A_DIRECTORY => Errno::EISDIR,
        NtStatus::SHARING_VIOLATION | NtStatus::DELETE_PENDING => Errno::EBUSY,
        NtStatus::DISK_FULL => Errno::ENOSPC,
        NtStatus::OBJECT_NAME_INVALID => Errno::EINVAL,
        NtStatus::NAME_TOO_LONG => Errno::ENAMETOOLONG,
        NtStatus::NOT_SUPPORTED | NtStatus::INVALID_DEVICE_REQUEST => Errno::EOPNOTSUPP,
        NtStatus::MEDIA_WRITE_PROTECTED => Errno::EROFS,
        _ => Errno::EIO,
    }
}
