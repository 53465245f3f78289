//! What went wrong, typed: [`Error::kind`] sorts every failure into what a caller acts on, and
//! [`std::error::Error::source`] keeps the chain. Messages are one line, name no command-line
//! flag (the CLI adds its hints) and never carry a key, password or token.

use core::fmt;
use keyless_smb::{Command, NtStatus, WireError};
use std::sync::Arc;

/// An SMB client failure.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The TCP connection failed or broke.
    Io {
        /// What the client was doing.
        doing: &'static str,
        /// The cause.
        source: std::io::Error,
    },
    /// Reading or writing a local file or stream failed.
    Local {
        /// What the client was doing.
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
    Auth(keyless_gss::Error),
    /// A cryptographic check failed: a bad signature or an undecryptable message.
    Crypto(keyless_crypto::CryptoError),
    /// The server broke the protocol.
    PeerMisbehaved(Misbehaviour),
    /// The server cannot do what the client requires.
    Incompatible(Incompatibility),
    /// The caller asked for something the client cannot do.
    Misuse(Misuse),
    /// No answer in time.
    Timeout {
        /// What was awaited.
        waiting_for: &'static str,
        /// Why the connection was down meanwhile, if it was.
        cause: Option<Arc<Error>>,
    },
    /// A fresh credential was needed and none could be had.
    Renewal(RenewError),
    /// The connection dropped while this request was in flight, and it could not be sent
    /// again: the cause is the connection's failure.
    Interrupted(Arc<Error>),
    /// A file open before the connection dropped could not be opened again.
    OpenLost {
        /// The file's path on the share.
        path: String,
        /// Why the server refused.
        cause: Arc<Error>,
    },
    /// The client was shut down (logged off, or every handle dropped).
    Closed,
}

/// Why a credential could not be renewed (the renewal source's own error).
pub type RenewError = Box<dyn std::error::Error + Send + Sync>;

/// How the server broke the protocol.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misbehaviour {
    /// A request (not a response) came from the server.
    RequestFromServer,
    /// A response without a signature on a signed session.
    UnsignedResponse,
    /// A response in clear on a session that requires encryption.
    ClearOnEncryptedSession,
    /// An encrypted message before the session had keys.
    EncryptedBeforeKeys,
    /// A TRANSFORM_HEADER whose Flags are not "encrypted".
    TransformFlags,
    /// An encrypted message for another session.
    OtherSession,
    /// An encrypted message too short to hold a header.
    ShortEncrypted,
    /// A response to a request the client did not send.
    UnknownResponse,
    /// A response whose command differs from its request's.
    CommandMismatch,
    /// The SessionId changed during SESSION_SETUP.
    SessionIdChanged,
    /// The server made the session a guest or anonymous one.
    GuestSession,
    /// The SESSION_SETUP status does not match the SPNEGO state.
    AuthStateMismatch,
    /// The final SESSION_SETUP response was not signed.
    FinalSetupUnsigned,
    /// The server granted no credits for another request.
    NoCredits,
    /// FSCTL_VALIDATE_NEGOTIATE_INFO says something else than NEGOTIATE did.
    NegotiationTampered,
    /// The server refused to validate the negotiation.
    ValidationRefused,
    /// A frame larger than anything negotiated.
    FrameTooLarge,
    /// More data than was asked for.
    TooMuchData,
    /// Fewer bytes written than sent.
    ShortWrite,
    /// A compound answer that does not match its requests.
    CompoundMismatch,
    /// The file's size on the server differs from the bytes written.
    SizeMismatch,
    /// The file ended before its size (truncated while it was read).
    EndedEarly,
}

/// What the server cannot do that the client requires.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Incompatibility {
    /// The server chose a dialect that was not offered.
    NoCommonDialect,
    /// A 3.1.1 NEGOTIATE response without SHA-512 preauth integrity.
    NoSha512Preauth,
    /// A cipher that was not offered.
    CipherNotOffered,
    /// A signing algorithm that was not offered.
    SigningNotOffered,
    /// Maximum request sizes below 64 KiB.
    SmallMaxSize,
    /// Encryption is required, and the server or its dialect cannot encrypt.
    NoEncryption,
}

/// What the caller asked for that cannot be done.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Misuse {
    /// Data must be sent again and the input cannot go back.
    CannotRewind,
    /// The local file shrank while it was being sent.
    LocalFileShrank,
    /// A message over the 4 GiB the protocol can express.
    TooLarge,
    /// A seek before the start of the file.
    NegativeSeek,
    /// A request without room for its SMB2 header.
    NoHeader,
    /// A read, write or seek on a `File` while another is in progress on it.
    Busy,
}

/// What kind of failure an [`Error`] is, for a caller to act on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No such file, directory or share.
    NotFound,
    /// It exists already.
    AlreadyExists,
    /// The account may not do this.
    PermissionDenied,
    /// Wrong credentials, or no valid ticket.
    AuthenticationFailed,
    /// The session's credential expired.
    SessionExpired,
    /// The server or the path to it is unreachable or the connection broke.
    Network,
    /// No answer in time.
    TimedOut,
    /// The server broke the protocol or failed an integrity check.
    ServerMisbehaved,
    /// The server cannot do what the client requires.
    Incompatible,
    /// It is a directory.
    IsADirectory,
    /// It is not a directory.
    NotADirectory,
    /// The directory is not empty.
    DirectoryNotEmpty,
    /// Another program has it open.
    Busy,
    /// The share is full.
    StorageFull,
    /// The server does not support this.
    Unsupported,
    /// A name or argument the server refused.
    InvalidInput,
    /// Reading or writing the local side failed.
    Local,
    /// The client was shut down.
    Closed,
    /// Anything else.
    Other,
}

impl Error {
    /// The NTSTATUS, when the server answered with one.
    pub fn status(&self) -> Option<NtStatus> {
        match self {
            Self::Status { status, .. } => Some(*status),
            Self::Interrupted(e) | Self::OpenLost { cause: e, .. } => e.status(),
            _ => None,
        }
    }

    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Io { .. } => ErrorKind::Network,
            Self::Local { .. } => ErrorKind::Local,
            Self::Wire(_) | Self::Crypto(_) | Self::PeerMisbehaved(_) => ErrorKind::ServerMisbehaved,
            Self::Status { status, .. } => status_kind(*status),
            Self::Auth(_) | Self::Renewal(_) => ErrorKind::AuthenticationFailed,
            Self::Incompatible(_) => ErrorKind::Incompatible,
            Self::Misuse(_) => ErrorKind::InvalidInput,
            Self::Timeout { .. } => ErrorKind::TimedOut,
            Self::Interrupted(cause) => match cause.kind() {
                ErrorKind::Network | ErrorKind::TimedOut => ErrorKind::Network,
                other => other,
            },
            Self::OpenLost { cause, .. } => cause.kind(),
            Self::Closed => ErrorKind::Closed,
        }
    }

    /// Whether the connection's loss caused it (the request may go again on the next one).
    pub fn is_connection_loss(&self) -> bool {
        matches!(self, Self::Io { .. } | Self::Timeout { .. })
            || matches!(self, Self::Interrupted(cause) if cause.is_connection_loss())
    }
}

fn status_kind(status: NtStatus) -> ErrorKind {
    match status {
        NtStatus::OBJECT_NAME_NOT_FOUND
        | NtStatus::OBJECT_PATH_NOT_FOUND
        | NtStatus::NO_SUCH_FILE
        | NtStatus::BAD_NETWORK_NAME => ErrorKind::NotFound,
        NtStatus::OBJECT_NAME_COLLISION => ErrorKind::AlreadyExists,
        NtStatus::ACCESS_DENIED => ErrorKind::PermissionDenied,
        NtStatus::LOGON_FAILURE => ErrorKind::AuthenticationFailed,
        NtStatus::NETWORK_SESSION_EXPIRED | NtStatus::USER_SESSION_DELETED => ErrorKind::SessionExpired,
        NtStatus::FILE_IS_A_DIRECTORY => ErrorKind::IsADirectory,
        NtStatus::NOT_A_DIRECTORY => ErrorKind::NotADirectory,
        NtStatus::DIRECTORY_NOT_EMPTY => ErrorKind::DirectoryNotEmpty,
        NtStatus::SHARING_VIOLATION => ErrorKind::Busy,
        NtStatus::DISK_FULL => ErrorKind::StorageFull,
        NtStatus::NOT_SUPPORTED => ErrorKind::Unsupported,
        NtStatus::OBJECT_NAME_INVALID => ErrorKind::InvalidInput,
        _ => ErrorKind::Other,
    }
}

impl fmt::Display for Misbehaviour {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::RequestFromServer => "the server sent a request",
            Self::UnsignedResponse => "the server sent an unsigned response where a signature is required",
            Self::ClearOnEncryptedSession => "the server answered in clear on a session that requires encryption",
            Self::EncryptedBeforeKeys => "an encrypted message before the session had keys",
            Self::TransformFlags => "a TRANSFORM_HEADER whose Flags are not 'encrypted'",
            Self::OtherSession => "an encrypted message for another session",
            Self::ShortEncrypted => "an encrypted message too short to hold a header",
            Self::UnknownResponse => "a response to a request keyless did not send",
            Self::CommandMismatch => "a response whose command differs from its request's",
            Self::SessionIdChanged => "the server changed the SessionId during SESSION_SETUP",
            Self::GuestSession => "the server made this a guest or anonymous session",
            Self::AuthStateMismatch => "the server's SESSION_SETUP status does not match its SPNEGO state",
            Self::FinalSetupUnsigned => "the server did not sign the final SESSION_SETUP response",
            Self::NoCredits => "the server granted no credits for another request",
            Self::NegotiationTampered => "the negotiation was tampered with (validate negotiate info differs)",
            Self::ValidationRefused => "the server refused to validate the negotiation (FSCTL_VALIDATE_NEGOTIATE_INFO)",
            Self::FrameTooLarge => "the server announced a frame larger than anything negotiated",
            Self::TooMuchData => "the server returned more data than was asked for",
            Self::ShortWrite => "the server wrote fewer bytes than sent",
            Self::CompoundMismatch => "a compound answer that does not match its requests",
            Self::SizeMismatch => "the file's size on the server differs from the bytes written",
            Self::EndedEarly => "the file ended before its size (was it truncated while reading?)",
        })
    }
}

impl fmt::Display for Incompatibility {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::NoCommonDialect => "the server chose a dialect keyless did not offer (no common dialect?)",
            Self::NoSha512Preauth => "a 3.1.1 NEGOTIATE response without SHA-512 preauth integrity",
            Self::CipherNotOffered => "the server chose a cipher keyless did not offer",
            Self::SigningNotOffered => "the server chose a signing algorithm keyless did not offer",
            Self::SmallMaxSize => "the server's maximum request sizes are below 64 KiB",
            Self::NoEncryption => "encryption is required but this server or dialect cannot encrypt",
        })
    }
}

impl fmt::Display for Misuse {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Self::CannotRewind => "data must be sent again, and the input cannot go back",
            Self::LocalFileShrank => "the local file shrank while it was being sent",
            Self::TooLarge => "a message over the 4 GiB SMB can express",
            Self::NegativeSeek => "a seek before the start of the file",
            Self::NoHeader => "a request without room for its SMB2 header",
            Self::Busy => "a read, write or seek while another is in progress on the same file handle",
        })
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Io { doing, source } | Self::Local { doing, source } => write!(f, "{doing}: {source}"),
            Self::Wire(e) => write!(f, "the server sent a malformed message ({e})"),
            Self::Status { command, status } => write!(f, "{command} failed with {status}"),
            Self::Auth(e) => write!(f, "authentication failed: {e}"),
            Self::Crypto(e) => write!(f, "message integrity: {e}; the connection is dropped"),
            Self::PeerMisbehaved(m) => write!(f, "refused: {m}"),
            Self::Incompatible(i) => write!(f, "refused: {i}"),
            Self::Misuse(m) => write!(f, "{m}"),
            Self::Timeout { waiting_for, cause: None } => write!(f, "no answer from the server: {waiting_for}"),
            Self::Timeout { waiting_for, cause: Some(c) } => {
                write!(f, "no answer from the server: {waiting_for} (the connection is down: {c})")
            }
            Self::Renewal(e) => write!(f, "the session's credential expired and renewing it failed: {e}"),
            Self::Interrupted(cause) => write!(f, "the connection dropped: {cause}"),
            Self::OpenLost { path, cause } => {
                write!(f, "{path}: the file could not be opened again after a reconnection: {cause}")
            }
            Self::Closed => f.write_str("the SMB client was shut down"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Io { source, .. } | Self::Local { source, .. } => Some(source),
            Self::Wire(e) => Some(e),
            Self::Auth(e) => Some(e),
            Self::Crypto(e) => Some(e),
            Self::Renewal(e) => Some(e.as_ref()),
            Self::Interrupted(cause) | Self::OpenLost { cause, .. } => Some(cause.as_ref()),
            Self::Timeout { cause: Some(c), .. } => Some(c.as_ref()),
            _ => None,
        }
    }
}

impl From<WireError> for Error {
    fn from(e: WireError) -> Self {
        Self::Wire(e)
    }
}

impl From<keyless_gss::Error> for Error {
    fn from(e: keyless_gss::Error) -> Self {
        Self::Auth(e)
    }
}

impl From<keyless_krb::Error> for Error {
    fn from(e: keyless_krb::Error) -> Self {
        Self::Auth(keyless_gss::Error::Kerberos(e))
    }
}

impl From<keyless_crypto::CryptoError> for Error {
    fn from(e: keyless_crypto::CryptoError) -> Self {
        Self::Crypto(e)
    }
}

impl From<Misbehaviour> for Error {
    fn from(m: Misbehaviour) -> Self {
        Self::PeerMisbehaved(m)
    }
}

impl From<Incompatibility> for Error {
    fn from(i: Incompatibility) -> Self {
        Self::Incompatible(i)
    }
}

impl From<Misuse> for Error {
    fn from(m: Misuse) -> Self {
        Self::Misuse(m)
    }
}

/// [`Error::Status`] unless `status` is SUCCESS.
pub(crate) fn check(command: Command, status: NtStatus) -> Result<(), Error> {
    match status {
        NtStatus::SUCCESS => Ok(()),
        status => Err(Error::Status { command, status }),
    }
}
