//! SMB2 protocol numbers (MS-SMB2 2.2.1, MS-ERREF 2.3) as open newtypes.

use keyless_wire_enum::wire_enum;

wire_enum! {
    /// SMB2 command codes (MS-SMB2 2.2.1.2).
    pub struct Command(u16) {
        /// NEGOTIATE.
        NEGOTIATE = 0x0000 => "NEGOTIATE",
        /// SESSION_SETUP.
        SESSION_SETUP = 0x0001 => "SESSION_SETUP",
        /// LOGOFF.
        LOGOFF = 0x0002 => "LOGOFF",
        /// TREE_CONNECT.
        TREE_CONNECT = 0x0003 => "TREE_CONNECT",
        /// TREE_DISCONNECT.
        TREE_DISCONNECT = 0x0004 => "TREE_DISCONNECT",
        /// CREATE.
        CREATE = 0x0005 => "CREATE",
        /// CLOSE.
        CLOSE = 0x0006 => "CLOSE",
        /// FLUSH.
        FLUSH = 0x0007 => "FLUSH",
        /// READ.
        READ = 0x0008 => "READ",
        /// WRITE.
        WRITE = 0x0009 => "WRITE",
        /// LOCK.
        LOCK = 0x000A => "LOCK",
        /// IOCTL.
        IOCTL = 0x000B => "IOCTL",
        /// CANCEL.
        CANCEL = 0x000C => "CANCEL",
        /// ECHO.
        ECHO = 0x000D => "ECHO",
        /// QUERY_DIRECTORY.
        QUERY_DIRECTORY = 0x000E => "QUERY_DIRECTORY",
        /// CHANGE_NOTIFY.
        CHANGE_NOTIFY = 0x000F => "CHANGE_NOTIFY",
        /// QUERY_INFO.
        QUERY_INFO = 0x0010 => "QUERY_INFO",
        /// SET_INFO.
        SET_INFO = 0x0011 => "SET_INFO",
        /// OPLOCK_BREAK.
        OPLOCK_BREAK = 0x0012 => "OPLOCK_BREAK",
    }
}

// The signer (keyless-crypto) knows CANCEL from the shared header layout; the two agree.
const _: () = assert!(Command::CANCEL.0 == keyless_wire_enum::smb2_header::COMMAND_CANCEL);

impl Default for Command {
    fn default() -> Self {
        Self::NEGOTIATE
    }
}

wire_enum! {
    /// NTSTATUS values (MS-ERREF 2.3.1): constants for those the client acts on; every other
    /// value of MS-ERREF's list is named from [`crate::ntstatus`], and the rest print in hex.
    pub struct NtStatus(u32) {
        /// STATUS_SUCCESS.
        SUCCESS = 0x0000_0000 => "STATUS_SUCCESS",
        /// STATUS_PENDING.
        PENDING = 0x0000_0103 => "STATUS_PENDING",
        /// STATUS_NOTIFY_ENUM_DIR (CHANGE_NOTIFY: too many changes to list).
        NOTIFY_ENUM_DIR = 0x0000_010C => "STATUS_NOTIFY_ENUM_DIR",
        /// STATUS_BUFFER_OVERFLOW (a warning: the answer was cut to the buffer).
        BUFFER_OVERFLOW = 0x8000_0005 => "STATUS_BUFFER_OVERFLOW",
        /// STATUS_MORE_PROCESSING_REQUIRED.
        MORE_PROCESSING_REQUIRED = 0xC000_0016 => "STATUS_MORE_PROCESSING_REQUIRED",
        /// STATUS_INVALID_PARAMETER.
        INVALID_PARAMETER = 0xC000_000D => "STATUS_INVALID_PARAMETER",
        /// STATUS_NO_SUCH_FILE.
        NO_SUCH_FILE = 0xC000_000F => "STATUS_NO_SUCH_FILE",
        /// STATUS_END_OF_FILE.
        END_OF_FILE = 0xC000_0011 => "STATUS_END_OF_FILE",
        /// STATUS_ACCESS_DENIED.
        ACCESS_DENIED = 0xC000_0022 => "STATUS_ACCESS_DENIED",
        /// STATUS_OBJECT_NAME_NOT_FOUND.
        OBJECT_NAME_NOT_FOUND = 0xC000_0034 => "STATUS_OBJECT_NAME_NOT_FOUND",
        /// STATUS_OBJECT_NAME_COLLISION.
        OBJECT_NAME_COLLISION = 0xC000_0035 => "STATUS_OBJECT_NAME_COLLISION",
        /// STATUS_OBJECT_NAME_INVALID.
        OBJECT_NAME_INVALID = 0xC000_0033 => "STATUS_OBJECT_NAME_INVALID",
        /// STATUS_INVALID_DEVICE_REQUEST.
        INVALID_DEVICE_REQUEST = 0xC000_0010 => "STATUS_INVALID_DEVICE_REQUEST",
        /// STATUS_SHARING_VIOLATION.
        SHARING_VIOLATION = 0xC000_0043 => "STATUS_SHARING_VIOLATION",
        /// STATUS_DELETE_PENDING.
        DELETE_PENDING = 0xC000_0056 => "STATUS_DELETE_PENDING",
        /// STATUS_DISK_FULL.
        DISK_FULL = 0xC000_007F => "STATUS_DISK_FULL",
        /// STATUS_MEDIA_WRITE_PROTECTED.
        MEDIA_WRITE_PROTECTED = 0xC000_00A2 => "STATUS_MEDIA_WRITE_PROTECTED",
        /// STATUS_FILE_IS_A_DIRECTORY.
        FILE_IS_A_DIRECTORY = 0xC000_00BA => "STATUS_FILE_IS_A_DIRECTORY",
        /// STATUS_DIRECTORY_NOT_EMPTY.
        DIRECTORY_NOT_EMPTY = 0xC000_0101 => "STATUS_DIRECTORY_NOT_EMPTY",
        /// STATUS_NOT_A_DIRECTORY.
        NOT_A_DIRECTORY = 0xC000_0103 => "STATUS_NOT_A_DIRECTORY",
        /// STATUS_NAME_TOO_LONG.
        NAME_TOO_LONG = 0xC000_0106 => "STATUS_NAME_TOO_LONG",
        /// STATUS_CANNOT_DELETE.
        CANNOT_DELETE = 0xC000_0121 => "STATUS_CANNOT_DELETE",
        /// STATUS_FILE_CLOSED.
        FILE_CLOSED = 0xC000_0128 => "STATUS_FILE_CLOSED",
        /// STATUS_OBJECT_PATH_NOT_FOUND.
        OBJECT_PATH_NOT_FOUND = 0xC000_003A => "STATUS_OBJECT_PATH_NOT_FOUND",
        /// STATUS_LOGON_FAILURE.
        LOGON_FAILURE = 0xC000_006D => "STATUS_LOGON_FAILURE",
        /// STATUS_NOT_SUPPORTED.
        NOT_SUPPORTED = 0xC000_00BB => "STATUS_NOT_SUPPORTED",
        /// STATUS_BAD_NETWORK_NAME.
        BAD_NETWORK_NAME = 0xC000_00CC => "STATUS_BAD_NETWORK_NAME",
        /// STATUS_USER_SESSION_DELETED.
        USER_SESSION_DELETED = 0xC000_0203 => "STATUS_USER_SESSION_DELETED",
        /// STATUS_NETWORK_SESSION_EXPIRED.
        NETWORK_SESSION_EXPIRED = 0xC000_035C => "STATUS_NETWORK_SESSION_EXPIRED",
        /// STATUS_CANCELLED.
        CANCELLED = 0xC000_0120 => "STATUS_CANCELLED",
        /// STATUS_NO_MORE_FILES.
        NO_MORE_FILES = 0x8000_0006 => "STATUS_NO_MORE_FILES",
        /// STATUS_PATH_NOT_COVERED (DFS: the path is a link; ask for a referral).
        PATH_NOT_COVERED = 0xC000_0257 => "STATUS_PATH_NOT_COVERED",
    }
    names = crate::ntstatus::name;
}

impl NtStatus {
    /// What MS-ERREF says the status means, in one plain sentence, when it says anything.
    pub fn meaning(self) -> Option<&'static str> {
        crate::ntstatus::meaning(self.0)
    }
}

impl Default for NtStatus {
    fn default() -> Self {
        Self::SUCCESS
    }
}

wire_enum! {
    /// SMB2 dialect revisions (MS-SMB2 2.2.3).
    pub struct Dialect(u16) {
        /// SMB 2.0.2.
        SMB_202 = 0x0202 => "2.0.2",
        /// SMB 2.1.
        SMB_21 = 0x0210 => "2.1",
        /// SMB 3.0.
        SMB_30 = 0x0300 => "3.0",
        /// SMB 3.0.2.
        SMB_302 = 0x0302 => "3.0.2",
        /// SMB 3.1.1.
        SMB_311 = 0x0311 => "3.1.1",
        /// The wildcard of multi-protocol negotiation.
        WILDCARD = 0x02FF => "2.???",
    }
}

impl Default for Dialect {
    fn default() -> Self {
        Self::SMB_311
    }
}
