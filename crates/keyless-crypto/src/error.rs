//! The one error type of keyless-crypto.

use crate::{CksumType, EncType};
use core::fmt;
pub use keyless_wire_enum::ErrorKind;

/// What went wrong in a cryptographic operation.
///
/// No variant carries key, password or plaintext bytes: `Display` and `Debug` are safe to log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum CryptoError {
    /// The encryption type is not one keyless implements.
    UnsupportedEncType(EncType),
    /// The checksum type is not one keyless implements.
    UnsupportedCksumType(CksumType),
    /// A key was used with an algorithm of another encryption type.
    KeyTypeMismatch {
        /// What the algorithm needs.
        expected: EncType,
        /// What the key is.
        got: EncType,
    },
    /// Key material of the wrong length.
    BadKeyLength {
        /// What the key is for.
        what: &'static str,
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// An input of the wrong length (a confounder, a nonce, a checksum).
    BadLength {
        /// Which input.
        what: &'static str,
        /// Bytes expected.
        expected: usize,
        /// Bytes given.
        got: usize,
    },
    /// A ciphertext shorter than confounder plus checksum.
    CiphertextTooShort {
        /// Minimum length.
        need: usize,
        /// Length given.
        got: usize,
    },
    /// The integrity check (HMAC, AEAD tag, or keyed checksum) did not match.
    IntegrityCheckFailed,
    /// String-to-key parameters (s2kparams) that are malformed or unsafe.
    BadS2kParams,
    /// A password that is not valid UTF-8 where UTF-16 conversion is needed (RC4, NTLM).
    PasswordNotUtf8,
    /// An SMB2 message too short to hold a header.
    SmbMessageTooShort {
        /// Length given.
        got: usize,
    },
}

impl fmt::Display for CryptoError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Self::UnsupportedEncType(e) => write!(f, "unsupported encryption type {e}"),
            Self::UnsupportedCksumType(c) => write!(f, "unsupported checksum type {c}"),
            Self::KeyTypeMismatch { expected, got } => {
                write!(f, "key of type {got} used where {expected} is needed")
            }
            Self::BadKeyLength { what, expected, got } => {
                write!(f, "{what} must be {expected} bytes, got {got}")
            }
            Self::BadLength { what, expected, got } => {
                write!(f, "{what} must be {expected} bytes, got {got}")
            }
            Self::CiphertextTooShort { need, got } => {
                write!(f, "ciphertext too short: need at least {need} bytes, got {got}")
            }
            Self::IntegrityCheckFailed => f.write_str("integrity check failed (wrong key, or the data was altered)"),
            Self::BadS2kParams => f.write_str("malformed or unsafe string-to-key parameters"),
            Self::PasswordNotUtf8 => f.write_str("password is not valid UTF-8"),
            Self::SmbMessageTooShort { got } => {
                write!(f, "SMB2 message of {got} bytes is shorter than its 64-byte header")
            }
        }
    }
}

impl CryptoError {
    /// Which family of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::IntegrityCheckFailed | Self::BadS2kParams => ErrorKind::PeerMisbehaved,
            Self::CiphertextTooShort { .. } | Self::SmbMessageTooShort { .. } => ErrorKind::InvalidMessage,
            Self::UnsupportedEncType(_) | Self::UnsupportedCksumType(_) => ErrorKind::PeerIncompatible,
            Self::KeyTypeMismatch { .. }
            | Self::BadKeyLength { .. }
            | Self::BadLength { .. }
            | Self::PasswordNotUtf8 => ErrorKind::Misuse,
        }
    }
}

impl std::error::Error for CryptoError {}
