//! The errors of keyless-identity: each says which service, what it answered, and what to try.

use std::fmt;

pub use keyless_krb::ErrorKind;

/// Something that stopped a token, ticket or key from being obtained.
#[derive(Debug)]
pub enum Error {
    /// Bad options or environment (a URL, a missing variable, an unreadable file).
    Config(String),
    /// The service could not be reached (connection refused, timeout, TLS failure).
    Unreachable {
        /// Which service, e.g. `IMDS at http://169.254.169.254/...`.
        service: String,
        /// What went wrong.
        detail: String,
    },
    /// The service answered with an error status.
    Refused {
        /// Which service.
        service: String,
        /// The HTTP status.
        status: u16,
        /// The service's own message (error code and description), bounded in length.
        message: String,
    },
    /// The service answered 200 with something that is not what it should send.
    Malformed {
        /// What was being read.
        what: &'static str,
        /// What was wrong with it.
        detail: String,
    },
    /// A token that cannot be used: wrong audience, expired, not a token.
    Token(String),
    /// A Kerberos problem with the ticket (`keyless-krb`).
    Krb(keyless_krb::Error),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Config(s) | Self::Token(s) => f.write_str(s),
            Self::Unreachable { service, detail } => write!(f, "{service} did not answer: {detail}"),
            Self::Refused { service, status, message } => write!(f, "{service} answered HTTP {status}: {message}"),
            Self::Malformed { what, detail } => write!(f, "{what} is malformed: {detail}"),
            Self::Krb(e) => e.fmt(f),
        }
    }
}

impl Error {
    /// Which family of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Config(_) | Self::Token(_) => ErrorKind::Misuse,
            Self::Unreachable { .. } => ErrorKind::Io,
            Self::Refused { .. } => ErrorKind::Refused,
            Self::Malformed { .. } => ErrorKind::InvalidMessage,
            Self::Krb(e) => e.kind(),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Krb(e) => Some(e),
            _ => None,
        }
    }
}

impl From<keyless_krb::Error> for Error {
    fn from(e: keyless_krb::Error) -> Self {
        Self::Krb(e)
    }
}
