//! The errors of keyless-krb, and the KDC error codes (RFC 4120 7.5.9, MS-KILE) with what each
//! means for the person at the keyboard.

use crate::principal::Principal;
pub use keyless_crypto::ErrorKind;
use keyless_crypto::{CryptoError, EncType};
use std::fmt;

/// A KRB-ERROR error-code.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct KrbErrorCode(pub i32);

macro_rules! codes {
    ($( $name:ident = $value:expr => $text:literal; )*) => {
        impl KrbErrorCode {
            $( #[doc = $text] pub const $name: Self = Self($value); )*

            /// The RFC name, e.g. `KDC_ERR_PREAUTH_FAILED`.
            pub fn name(self) -> Option<&'static str> {
                match self.0 { $( $value => Some(stringify!($name)), )* _ => None }
            }
            /// What the error means.
            pub fn meaning(self) -> &'static str {
                match self.0 { $( $value => $text, )* _ => "unknown Kerberos error" }
            }
        }
    };
}

codes! {
    KDC_ERR_NAME_EXP = 1 => "the client's entry in the KDC database has expired";
    KDC_ERR_SERVICE_EXP = 2 => "the server's entry in the KDC database has expired";
    KDC_ERR_C_PRINCIPAL_UNKNOWN = 6 => "the client principal is unknown to the KDC";
    KDC_ERR_S_PRINCIPAL_UNKNOWN = 7 => "the service principal is unknown to the KDC";
    KDC_ERR_PRINCIPAL_NOT_UNIQUE = 8 => "more than one principal has this name";
    KDC_ERR_NULL_KEY = 9 => "the principal has no key";
    KDC_ERR_CANNOT_POSTDATE = 10 => "the ticket cannot be postdated";
    KDC_ERR_NEVER_VALID = 11 => "the requested start time is later than the end time";
    KDC_ERR_POLICY = 12 => "the KDC's policy rejects the request";
    KDC_ERR_BADOPTION = 13 => "the KDC cannot honour a requested option";
    KDC_ERR_ETYPE_NOSUPP = 14 => "no encryption type in common with the KDC";
    KDC_ERR_SUMTYPE_NOSUPP = 15 => "the checksum type is not supported";
    KDC_ERR_PADATA_TYPE_NOSUPP = 16 => "the pre-authentication type is not supported";
    KDC_ERR_CLIENT_REVOKED = 18 => "the client's credentials have been revoked (account disabled or locked)";
    KDC_ERR_SERVICE_REVOKED = 19 => "the service's credentials have been revoked";
    KDC_ERR_TGT_REVOKED = 20 => "the TGT has been revoked";
    KDC_ERR_CLIENT_NOTYET = 21 => "the client is not yet valid";
    KDC_ERR_KEY_EXPIRED = 23 => "the password has expired";
    KDC_ERR_PREAUTH_FAILED = 24 => "pre-authentication failed: wrong password or key";
    KDC_ERR_PREAUTH_REQUIRED = 25 => "pre-authentication is required";
    KDC_ERR_SERVER_NOMATCH = 26 => "the requested server does not match the ticket";
    KDC_ERR_MUST_USE_USER2USER = 27 => "the server requires user-to-user authentication";
    KDC_ERR_SVC_UNAVAILABLE = 29 => "the KDC is unavailable";
    KRB_AP_ERR_BAD_INTEGRITY = 31 => "integrity check on decrypted field failed";
    KRB_AP_ERR_TKT_EXPIRED = 32 => "the ticket has expired";
    KRB_AP_ERR_TKT_NYV = 33 => "the ticket is not yet valid";
    KRB_AP_ERR_REPEAT = 34 => "the request is a replay";
    KRB_AP_ERR_NOT_US = 35 => "the ticket is not for this server";
    KRB_AP_ERR_BADMATCH = 36 => "the ticket and authenticator do not match";
    KRB_AP_ERR_SKEW = 37 => "the clocks of this machine and the KDC differ too much";
    KRB_AP_ERR_BADADDR = 38 => "incorrect network address";
    KRB_AP_ERR_BADVERSION = 39 => "protocol version mismatch";
    KRB_AP_ERR_MSG_TYPE = 40 => "invalid message type";
    KRB_AP_ERR_MODIFIED = 41 => "the message stream was modified (the key is wrong)";
    KRB_AP_ERR_BADKEYVER = 44 => "the key version is not available";
    KRB_AP_ERR_NOKEY = 45 => "the service key is not available";
    KRB_ERR_GENERIC = 60 => "generic error";
    KRB_ERR_FIELD_TOOLONG = 61 => "a field is too long for this implementation";
    KRB_ERR_RESPONSE_TOO_BIG = 52 => "the response is too big for UDP";
    KDC_ERR_WRONG_REALM = 68 => "the request was sent to the wrong realm";
}

impl fmt::Display for KrbErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.name() {
            Some(n) => f.write_str(n),
            None => write!(f, "Kerberos error {}", self.0),
        }
    }
}

impl fmt::Debug for KrbErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{self}({})", self.0)
    }
}

/// Everything that can go wrong in keyless-krb. `Display` is one line, without secrets.
#[derive(Debug)]
#[non_exhaustive]
pub enum Error {
    /// The KDC answered with a KRB-ERROR.
    Kdc {
        /// The error code.
        code: KrbErrorCode,
        /// The KDC's e-text, if any.
        text: Option<String>,
        /// The realm whose KDC said it.
        realm: String,
    },
    /// A message from the KDC (or a file) that does not decode.
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// The decoder's complaint.
        detail: String,
    },
    /// The KDC's reply does not fit the request (wrong nonce, name, realm, ...).
    ReplyMismatch(&'static str),
    /// The reply was encrypted with a key we could not use (wrong password/keytab key).
    Decrypt {
        /// What was being decrypted.
        what: &'static str,
        /// Why it failed.
        source: CryptoError,
    },
    /// No usable encryption type: none of ours is offered, or the keytab lacks it.
    NoCommonEncType {
        /// What the KDC offered.
        offered: Vec<EncType>,
    },
    /// A keytab has no key for this principal.
    NoKeyInKeytab(Principal),
    /// The KDC's clock differs from ours by more than the allowed skew.
    ClockSkew {
        /// Seconds the KDC is ahead (negative: behind).
        kdc_ahead_by: i64,
    },
    /// Too many referrals (a loop or a misconfigured trust).
    TooManyReferrals(usize),
    /// A principal name that does not parse.
    BadPrincipal {
        /// The text.
        text: String,
        /// Why.
        why: &'static str,
    },
    /// No KDC is known for a realm.
    NoKdc(String),
    /// A configuration file problem.
    Config(String),
    /// An I/O error on a named file.
    File {
        /// The path.
        path: String,
        /// The error.
        source: std::io::Error,
    },
    /// No credentials in the cache for what was asked.
    NotInCache(String),
    /// The named credential cache does not exist.
    NoCache(String),
    /// A credential cache's store refused or failed: a kernel keyring, the KCM daemon.
    CacheStore {
        /// The cache (`KEYRING:...`, `KCM:...`).
        cache: String,
        /// What was being done.
        doing: &'static str,
        /// What the store said (an errno or a Kerberos code, by name).
        detail: String,
    },
    /// No KCM daemon answers at the socket.
    KcmUnreachable {
        /// The socket.
        socket: String,
        /// What connecting said.
        detail: String,
    },
    /// Credentials for one principal offered to a cache that holds another's.
    CacheHoldsOther {
        /// The cache.
        cache: String,
        /// Its principal.
        holds: String,
        /// The principal of the credentials offered.
        offered: String,
    },
    /// A cryptographic error outside decryption.
    Crypto(CryptoError),
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Kdc { code, text, realm } => {
                write!(f, "KDC of {realm}: {} ({code})", code.meaning())?;
                if let Some(t) = text.as_deref().filter(|t| !t.is_empty()) {
                    write!(f, ": {t}")?;
                }
                Ok(())
            }
            Self::Malformed { what, detail } => write!(f, "malformed {what}: {detail}"),
            Self::ReplyMismatch(what) => write!(f, "KDC reply does not match the request: {what}"),
            Self::Decrypt { what, source } => write!(f, "cannot decrypt {what}: {source}"),
            Self::NoCommonEncType { offered } => {
                let list: Vec<String> = offered.iter().map(ToString::to_string).collect();
                write!(
                    f,
                    "no encryption type in common (KDC offers: {})",
                    if list.is_empty() { "none".into() } else { list.join(", ") }
                )
            }
            Self::NoKeyInKeytab(p) => write!(f, "keytab has no usable key for {p}"),
            Self::ClockSkew { kdc_ahead_by } => {
                write!(f, "clock skew too great: the KDC's clock is {kdc_ahead_by} s ahead of ours")
            }
            Self::TooManyReferrals(n) => write!(f, "gave up after {n} referrals"),
            Self::BadPrincipal { text, why } => write!(f, "bad principal name {text:?}: {why}"),
            Self::NoKdc(realm) => write!(f, "no KDC known for realm {realm}"),
            Self::Config(m) => write!(f, "configuration: {m}"),
            Self::File { path, source } => write!(f, "{path}: {source}"),
            Self::NotInCache(what) => write!(f, "not in the credential cache: {what}"),
            Self::NoCache(name) => write!(f, "no credentials cache found ({name})"),
            Self::CacheStore { cache, doing, detail } => write!(f, "{doing} ({cache}): {detail}"),
            Self::KcmUnreachable { socket, detail } => write!(f, "no KCM daemon at {socket}: {detail}"),
            Self::CacheHoldsOther { cache, holds, offered } => {
                write!(f, "{cache} holds the tickets of {holds}, not of {offered}")
            }
            Self::Crypto(e) => write!(f, "{e}"),
        }
    }
}

impl Error {
    /// Which family of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Kdc { .. } => ErrorKind::Refused,
            Self::Malformed { .. } => ErrorKind::InvalidMessage,
            Self::ReplyMismatch(_) | Self::Decrypt { .. } | Self::ClockSkew { .. } | Self::TooManyReferrals(_) => {
                ErrorKind::PeerMisbehaved
            }
            Self::NoCommonEncType { .. } => ErrorKind::PeerIncompatible,
            Self::NoKeyInKeytab(_)
            | Self::BadPrincipal { .. }
            | Self::NoKdc(_)
            | Self::Config(_)
            | Self::NotInCache(_)
            | Self::NoCache(_)
            | Self::CacheHoldsOther { .. } => ErrorKind::Misuse,
            Self::File { .. } | Self::CacheStore { .. } | Self::KcmUnreachable { .. } => ErrorKind::Io,
            Self::Crypto(e) => e.kind(),
        }
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            Self::Decrypt { source, .. } | Self::Crypto(source) => Some(source),
            Self::File { source, .. } => Some(source),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn each_failure_has_its_family_and_cause() {
        let kdc = Error::Kdc { code: KrbErrorCode::KDC_ERR_PREAUTH_FAILED, text: None, realm: "R".into() };
        assert_eq!(kdc.kind(), ErrorKind::Refused);
        let wrong_key = Error::Decrypt { what: "AS-REP", source: CryptoError::IntegrityCheckFailed };
        assert_eq!(wrong_key.kind(), ErrorKind::PeerMisbehaved);
        assert!(wrong_key.source().is_some_and(|s| s.to_string().contains("integrity check failed")));
        let file = Error::File { path: "/x".into(), source: std::io::Error::other("gone") };
        assert_eq!((file.kind(), file.source().map(ToString::to_string)), (ErrorKind::Io, Some("gone".into())));
        let odd = Error::Crypto(CryptoError::UnsupportedEncType(EncType(99)));
        assert_eq!(odd.kind(), ErrorKind::PeerIncompatible);
    }
}
