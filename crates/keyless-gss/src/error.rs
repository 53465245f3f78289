//! What goes wrong in a GSS context, said in the terms of the side and mechanism that failed:
//! an NTLM proof that does not verify is not a KDC's reply, and an acceptor that finds the
//! client's clock off is not judging a KDC's clock.

use keyless_crypto::CryptoError;
pub use keyless_krb::ErrorKind;
use keyless_krb::{KrbErrorCode, Principal};
use std::fmt;

/// Why a token was refused or could not be made.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// A token that does not decode (GSS framing, SPNEGO, NTLMSSP, a krb5 context token).
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's complaint.
        detail: String,
    },
    /// An NTLM AUTHENTICATE whose proof (NTProofStr) or MIC does not verify: the password
    /// (or NT hash) is not the user's.
    NtlmProof {
        /// The user it named.
        user: String,
    },
    /// A MIC, Wrap or other keyed check of the established context that does not verify.
    Integrity {
        /// What did not verify.
        what: &'static str,
    },
    /// Something that does not decrypt with the key it should.
    Decrypt {
        /// What.
        what: &'static str,
        /// The cause.
        source: CryptoError,
    },
    /// A well-formed token that does not fit the exchange (a replay, a mismatched echo, an
    /// NTLMv1 response, a mechanism not offered).
    Refused(&'static str),
    /// The acceptor's verdict does not fit the exchange: success before the mechanism is
    /// done, or more tokens after it is.
    OutOfTurn,
    /// The acceptor answered with a KRB-ERROR.
    RejectedByService {
        /// The error it gave.
        code: KrbErrorCode,
    },
    /// Acceptor: the client's clock differs from ours by more than Kerberos allows.
    ClockSkew {
        /// Seconds the client's clock is ahead of ours (negative: behind).
        client_ahead_by: i64,
    },
    /// Acceptor: the ticket presented has expired.
    TicketExpired {
        /// The service it was for.
        service: Principal,
        /// Seconds since it ended.
        ago: i64,
    },
    /// Kerberos underneath: messages, keys, caches, keytabs, the KDC.
    Kerberos(keyless_krb::Error),
    /// Cryptography underneath (an unusable key, an unsupported enctype).
    Crypto(CryptoError),
}

impl Error {
    /// Which family of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Malformed { .. } => ErrorKind::InvalidMessage,
            Self::NtlmProof { .. }
            | Self::Integrity { .. }
            | Self::Decrypt { .. }
            | Self::ClockSkew { .. }
            | Self::TicketExpired { .. }
            | Self::OutOfTurn => ErrorKind::PeerMisbehaved,
            Self::RejectedByService { .. } => ErrorKind::Refused,
            Self::Refused(_) => ErrorKind::PeerIncompatible,
            Self::Kerberos(e) => e.kind(),
            Self::Crypto(e) => e.kind(),
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Malformed { what, detail } => write!(f, "malformed {what}: {detail}"),
            Self::NtlmProof { user } => {
                write!(f, "the NTLM response of {user:?} does not verify: not that user's password")
            }
            Self::Integrity { what } => write!(f, "{what} does not verify (another key, or changed on the way)"),
            Self::Decrypt { what, source } => write!(f, "cannot decrypt {what}: {source}"),
            Self::Refused(why) => f.write_str(why),
            Self::OutOfTurn => f.write_str("the acceptor's verdict does not fit the SPNEGO exchange"),
            Self::RejectedByService { code } => {
                write!(f, "the service refused the authentication: {} ({code})", code.meaning())
            }
            Self::ClockSkew { client_ahead_by } => {
                let (n, way) =
                    if *client_ahead_by >= 0 { (*client_ahead_by, "ahead of") } else { (-client_ahead_by, "behind") };
                write!(f, "clock skew too great: the client's clock is {n} s {way} this service's")
            }
            Self::TicketExpired { service, ago } => write!(f, "the ticket for {service} expired {ago} s ago"),
            Self::Kerberos(e) => e.fmt(f),
            Self::Crypto(e) => e.fmt(f),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Decrypt { source, .. } | Self::Crypto(source) => Some(source),
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
