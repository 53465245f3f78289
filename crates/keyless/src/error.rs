//! One error type for everything the facade does, sorted by [`Error::kind`] into what a caller
//! acts on; [`std::error::Error::source`] keeps the lower layers' errors. Messages say what
//! failed, never what to type: a program adds its own advice.

use crate::url::UrlError;
use core::fmt;
use std::path::PathBuf;

pub use keyless_client::ErrorKind;

/// What went wrong.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// Not an `smb://host/share/path` URL.
    Url(UrlError),
    /// The SMB client failed: the server's status, the connection, signing, a timeout.
    Smb(keyless_client::Error),
    /// Kerberos failed: krb5.conf, a cache or keytab, a KDC's answer, no KDC reachable.
    Kerberos(keyless_net::Error),
    /// A managed identity's token or its exchange for a ticket failed.
    Identity(keyless_identity::Error),
    /// The credential cache holds no valid ticket-granting ticket for its principal.
    NoTicket {
        /// The cache's principal.
        client: String,
        /// The cache.
        cache: String,
    },
    /// The credentials lack something the chosen method needs.
    Incomplete(&'static str),
    /// A keytab could not be read, or holds no keys (`source` is `None`).
    Keytab {
        /// The keytab.
        path: PathBuf,
        /// Why it could not be read.
        source: Option<keyless_krb::Error>,
    },
    /// No service ticket could be had for the server.
    ServiceTicket {
        /// The service principal.
        server: String,
        /// Why not.
        source: Box<Error>,
    },
    /// A local file or directory could not be read or written.
    Local {
        /// The local path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

impl Error {
    /// What kind of failure this is.
    ///
    /// ```no_run
    /// # async fn demo(share: keyless::Share) -> Result<(), keyless::Error> {
    /// use keyless::ErrorKind;
    /// match share.metadata("maybe.txt").await {
    ///     Ok(m) => println!("{} bytes", m.size),
    ///     Err(e) if e.kind() == ErrorKind::NotFound => println!("not there"),
    ///     Err(e) => return Err(e),
    /// }
    /// # Ok(()) }
    /// ```
    pub fn kind(&self) -> ErrorKind {
        use keyless_krb::ErrorKind as Family;
        match self {
            Self::Url(_) | Self::Incomplete(_) => ErrorKind::InvalidInput,
            Self::Smb(e) => e.kind(),
            Self::NoTicket { .. } => ErrorKind::AuthenticationFailed,
            Self::Local { .. } => ErrorKind::Local,
            Self::Keytab { .. } => ErrorKind::AuthenticationFailed,
            Self::ServiceTicket { source, .. } => source.kind(),
            Self::Kerberos(keyless_net::Error::Unreachable { .. }) => ErrorKind::Network,
            // No cache, or no ticket in it: the program holds no credential.
            Self::Kerberos(keyless_net::Error::Kerberos(
                keyless_krb::Error::NoCache(_) | keyless_krb::Error::NotInCache(_),
            )) => ErrorKind::AuthenticationFailed,
            Self::Kerberos(e) => match e.kind() {
                Family::Io => ErrorKind::Network,
                Family::InvalidMessage | Family::PeerMisbehaved => ErrorKind::ServerMisbehaved,
                Family::PeerIncompatible => ErrorKind::Incompatible,
                Family::Misuse => ErrorKind::InvalidInput,
                _ => ErrorKind::AuthenticationFailed,
            },
            Self::Identity(e) => match e.kind() {
                Family::Io => ErrorKind::Network,
                Family::InvalidMessage | Family::PeerMisbehaved => ErrorKind::ServerMisbehaved,
                _ => ErrorKind::AuthenticationFailed,
            },
        }
    }

    /// The SMB client's error, when the SMB client failed (for its NTSTATUS and details).
    pub fn smb(&self) -> Option<&keyless_client::Error> {
        match self {
            Self::Smb(e) => Some(e),
            _ => None,
        }
    }

    /// This error as the cause of not getting a ticket for `server`.
    pub(crate) fn for_ticket(self, server: &keyless_krb::Principal) -> Self {
        Self::ServiceTicket { server: server.to_string(), source: Box::new(self) }
    }

    pub(crate) fn local(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> Self + '_ {
        move |source| Self::Local { path: path.to_path_buf(), source }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Url(e) => e.fmt(f),
            Self::Smb(e) => e.fmt(f),
            Self::Kerberos(e) => e.fmt(f),
            Self::Identity(e) => e.fmt(f),
            Self::NoTicket { client, cache } => write!(f, "no valid ticket for {client} in {cache}"),
            Self::Incomplete(what) => write!(f, "the credentials lack {what}"),
            Self::Keytab { path, source: Some(e) } => write!(f, "{}: {e}", path.display()),
            Self::Keytab { path, source: None } => write!(f, "{}: the keytab holds no keys", path.display()),
            Self::ServiceTicket { server, source } => write!(f, "a ticket for {server}: {source}"),
            Self::Local { path, source } => write!(f, "{}: {source}", path.display()),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Url(e) => Some(e),
            Self::Smb(e) => Some(e),
            Self::Kerberos(e) => Some(e),
            Self::Identity(e) => Some(e),
            Self::Local { source, .. } => Some(source),
            Self::Keytab { source, .. } => source.as_ref().map(|e| e as _),
            Self::ServiceTicket { source, .. } => Some(source),
            Self::NoTicket { .. } | Self::Incomplete(_) => None,
        }
    }
}

impl From<UrlError> for Error {
    fn from(e: UrlError) -> Self {
        Self::Url(e)
    }
}

impl From<keyless_client::Error> for Error {
    fn from(e: keyless_client::Error) -> Self {
        Self::Smb(e)
    }
}

impl From<keyless_net::Error> for Error {
    fn from(e: keyless_net::Error) -> Self {
        Self::Kerberos(e)
    }
}

impl From<keyless_krb::Error> for Error {
    fn from(e: keyless_krb::Error) -> Self {
        Self::Kerberos(e.into())
    }
}

impl From<keyless_identity::Error> for Error {
    fn from(e: keyless_identity::Error) -> Self {
        match e {
            keyless_identity::Error::Krb(k) => k.into(),
            e => Self::Identity(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_sort_the_layers_errors() {
        let url = crate::SmbUrl::parse("http://x/y").unwrap_err();
        assert_eq!(Error::from(url).kind(), ErrorKind::InvalidInput);
        let none = Error::NoTicket { client: "alice@EXAMPLE.TEST".into(), cache: "FILE:/tmp/x".into() };
        assert_eq!(none.kind(), ErrorKind::AuthenticationFailed);
        assert_eq!(none.to_string(), "no valid ticket for alice@EXAMPLE.TEST in FILE:/tmp/x");
        let unreachable = keyless_net::Error::Unreachable { realm: "EXAMPLE.TEST".into(), detail: "refused".into() };
        assert_eq!(Error::from(unreachable).kind(), ErrorKind::Network);
        let io = Error::Local { path: "/x".into(), source: std::io::Error::other("disk") };
        assert_eq!(io.kind(), ErrorKind::Local);
        assert!(std::error::Error::source(&io).is_some());
    }
}
