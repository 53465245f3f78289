//! What is wrong with bytes that do not decode: small, `Copy`, naming the structure and field.

use core::fmt;
pub use keyless_wire_enum::ErrorKind;

/// A malformed SMB2 message (or frame).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum WireError {
    /// Fewer bytes than the structure needs.
    Truncated {
        /// The structure.
        structure: &'static str,
        /// Bytes needed.
        need: usize,
        /// Bytes there.
        got: usize,
    },
    /// A StructureSize other than the one MS-SMB2 fixes.
    BadStructureSize {
        /// The structure.
        structure: &'static str,
        /// What the message says.
        got: u16,
    },
    /// An offset/length pair that leaves the message.
    OutOfBounds {
        /// The field.
        field: &'static str,
    },
    /// A field that must be aligned is not.
    Misaligned {
        /// The field.
        field: &'static str,
    },
    /// The ProtocolId is not 0xFE 'S' 'M' 'B' (or the transform/compression ids where expected).
    BadProtocolId {
        /// What the message starts with.
        got: [u8; 4],
    },
    /// A value a field cannot take.
    BadValue {
        /// The field.
        field: &'static str,
    },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Truncated { structure, need, got } => {
                write!(f, "{structure}: truncated, need {need} bytes, got {got}")
            }
            Self::BadStructureSize { structure, got } => write!(f, "{structure}: unexpected StructureSize {got}"),
            Self::OutOfBounds { field } => write!(f, "{field}: offset and length leave the message"),
            Self::Misaligned { field } => write!(f, "{field}: misaligned"),
            Self::BadProtocolId { got } => write!(f, "not an SMB2 message (starts with {got:02x?})"),
            Self::BadValue { field } => write!(f, "{field}: invalid value"),
        }
    }
}

impl WireError {
    /// Which family of failure this is: always bytes that do not decode.
    pub fn kind(&self) -> ErrorKind {
        ErrorKind::InvalidMessage
    }
}

impl std::error::Error for WireError {}
