//! The errors of the runtime layer: a Kerberos exchange's own failure, wrapped, or what
//! happened on the way to a KDC (none answered, a proxy answered something else, TLS failed).
//! `Display` is one line, without secrets; what to try is the CLI's.

use keyless_krb::ErrorKind;
use std::fmt;

/// What went wrong getting a Kerberos answer over the network.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The exchange itself failed (a KDC's KRB-ERROR, a reply that does not decrypt, a cache
    /// without the ticket, ...).
    Kerberos(keyless_krb::Error),
    /// No KDC of the realm answered.
    Unreachable {
        /// The realm.
        realm: String,
        /// The last transport error.
        detail: String,
    },
    /// A KDC proxy answered, but not with a Kerberos reply.
    Proxy {
        /// The proxy URL.
        url: String,
        /// The HTTP status.
        status: String,
        /// What came back.
        detail: String,
    },
    /// TLS with a KDC proxy failed (untrusted certificate, wrong host name, ...).
    Tls {
        /// The proxy URL.
        url: String,
        /// What rustls said.
        detail: String,
    },
}

impl Error {
    /// Which family of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Kerberos(e) => e.kind(),
            Self::Unreachable { .. } | Self::Tls { .. } => ErrorKind::Io,
            Self::Proxy { status, .. } if status != "200" => ErrorKind::Refused,
            Self::Proxy { .. } => ErrorKind::PeerMisbehaved,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Kerberos(e) => e.fmt(f),
            Self::Unreachable { realm, detail } => write!(f, "cannot reach any KDC of realm {realm}: {detail}"),
            Self::Proxy { url, status, detail } => write!(f, "KDC proxy {url} answered HTTP {status}: {detail}"),
            Self::Tls { url, detail } => write!(f, "TLS with KDC proxy {url} failed: {detail}"),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Kerberos(e) => Some(e),
            _ => None,
        }
    }
}

impl From<keyless_krb::Error> for Error {
    fn from(e: keyless_krb::Error) -> Self {
        Self::Kerberos(e)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn families_and_causes() {
        let gone = Error::Unreachable { realm: "R".into(), detail: "refused".into() };
        assert_eq!((gone.kind(), gone.to_string()), (ErrorKind::Io, "cannot reach any KDC of realm R: refused".into()));
        let junk = Error::Proxy { url: "u".into(), status: "200".into(), detail: "not KKDCP".into() };
        assert_eq!(junk.kind(), ErrorKind::PeerMisbehaved);
        let no = Error::Proxy { url: "u".into(), status: "403".into(), detail: "no".into() };
        assert_eq!(no.kind(), ErrorKind::Refused);
        let kdc = Error::from(keyless_krb::Error::NoKdc("R".into()));
        assert_eq!(kdc.kind(), ErrorKind::Misuse);
        assert!(kdc.source().is_some());
    }
}
