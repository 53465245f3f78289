//! What went wrong, in one line a user can act on. No key, password or token ever appears here.

use core::fmt;
use keyless_smb::{Command, NtStatus, WireError};

/// An SMB client failure.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The TCP connection failed or broke.
    Io {
        /// What keyless was doing.
        doing: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// The server sent bytes that are not SMB2 as MS-SMB2 defines it.
    Wire(WireError),
    /// The server answered a request with an error status.
    Status {
        /// The request.
        command: Command,
        /// The status.
        status: NtStatus,
    },
    /// Authentication (SPNEGO, Kerberos, NTLM) failed on our side.
    Auth(keyless_krb::Error),
    /// A cryptographic check failed: a bad signature or an undecryptable message.
    Crypto(keyless_crypto::CryptoError),
    /// The server did something keyless refuses (a downgrade, an unsigned response, ...).
    Refused(&'static str),
    /// No answer in time.
    Timeout(&'static str),
    /// The session's ticket expired and no fresh one could be had.
    Renewal(String),
}

impl Error {
    /// The NTSTATUS, when the server answered with one.
    pub fn status(&self) -> Option<NtStatus> {
        match self {
            Self::Status { status, .. } => Some(*status),
            _ => None,
        }
    }
}

/// What a user can do about a status.
fn status_hint(status: NtStatus) -> &'static str {
    match status {
        NtStatus::LOGON_FAILURE => "wrong user name or password (check --user and --password-file)",
        NtStatus::ACCESS_DENIED => "the account may not do this here",
        NtStatus::BAD_NETWORK_NAME => "no share of that name on this server",
        NtStatus::OBJECT_NAME_NOT_FOUND | NtStatus::NO_SUCH_FILE => "no such file or directory",
        NtStatus::OBJECT_PATH_NOT_FOUND => "a directory on the path does not exist",
        NtStatus::OBJECT_NAME_COLLISION => "it exists already",
        NtStatus::DIRECTORY_NOT_EMPTY => "the directory is not empty",
        NtStatus::SHARING_VIOLATION => "another program has it open",
        NtStatus::DISK_FULL => "the share is full",
        NtStatus::FILE_IS_A_DIRECTORY => "it is a directory",
        NtStatus::NOT_A_DIRECTORY => "it is not a directory",
        NtStatus::NOT_SUPPORTED => "the server does not support this",
        NtStatus::USER_SESSION_DELETED => "the session ended; connect again",
        NtStatus::NETWORK_SESSION_EXPIRED => "the Kerberos ticket expired; run keyless kinit and try again",
        _ => "see MS-ERREF for the status",
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { doing, source } => write!(f, "{doing}: {source}"),
            Self::Wire(e) => write!(f, "the server sent a malformed message ({e})"),
            Self::Status { command, status } => {
                write!(f, "{command} failed with {status}: {}", status_hint(*status))
            }
            Self::Auth(e) => write!(f, "authentication failed: {e}"),
            Self::Crypto(e) => write!(f, "message integrity: {e}; the connection is dropped"),
            Self::Refused(why) => write!(f, "refused: {why}"),
            Self::Timeout(what) => write!(f, "no answer from the server: {what}"),
            Self::Renewal(why) => write!(f, "the session's ticket expired and renewing it failed: {why}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } => Some(source),
            _ => None,
        }
    }
}

impl From<WireError> for Error {
    fn from(e: WireError) -> Self {
        Self::Wire(e)
    }
}

impl From<keyless_krb::Error> for Error {
    fn from(e: keyless_krb::Error) -> Self {
        Self::Auth(e)
    }
}

impl From<keyless_crypto::CryptoError> for Error {
    fn from(e: keyless_crypto::CryptoError) -> Self {
        Self::Crypto(e)
    }
}
