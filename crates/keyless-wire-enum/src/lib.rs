//! `wire_enum!`: protocol numbers (enctypes, NTSTATUS, SMB2 commands, ...) as newtypes over the
//! integer with named constants. Unknown values survive decoding; `Display` prints the name, or
//! the number when there is none (the rustls `enum_builder!` pattern). A type whose full list
//! of names is a table (NTSTATUS from MS-ERREF) names a lookup after its constants with
//! `names = path;`, and prints unnamed values in hex.
//!
//! It also holds the one [`ErrorKind`] the protocol crates share: the lowest common crate is
//! where a rule used by all of them is stated once.
//!
//! ```
//! keyless_wire_enum::wire_enum! {
//!     /// A protocol's message types.
//!     pub struct MsgType(u8) {
//!         /// A request.
//!         REQUEST = 1 => "REQUEST",
//!         /// A reply.
//!         REPLY = 2 => "REPLY",
//!     }
//! }
//! assert_eq!(MsgType(2), MsgType::REPLY);
//! assert_eq!(MsgType::REQUEST.to_string(), "REQUEST");
//! assert_eq!(MsgType(7).to_string(), "7"); // unknown values survive and print as numbers
//! ```

/// Declares a newtype over an integer with named constants and a `Display` that prints the name
/// (or the number when it has none).
#[macro_export]
macro_rules! wire_enum {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($repr:ty) {
            $( $(#[$cmeta:meta])* $const:ident = $value:expr => $text:literal, )*
        }
    ) => {
        $crate::wire_enum! {
            @define $(#[$meta])* $vis struct $name($repr) {
                $( $(#[$cmeta])* $const = $value => $text, )*
            }
            unnamed = |_v: $repr| -> Option<&'static str> { None };
            number = "{}";
        }
    };
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident($repr:ty) {
            $( $(#[$cmeta:meta])* $const:ident = $value:expr => $text:literal, )*
        }
        names = $lookup:path;
    ) => {
        $crate::wire_enum! {
            @define $(#[$meta])* $vis struct $name($repr) {
                $( $(#[$cmeta])* $const = $value => $text, )*
            }
            unnamed = $lookup;
            number = "{:#010X}";
        }
    };
    (
        @define $(#[$meta:meta])* $vis:vis struct $name:ident($repr:ty) {
            $( $(#[$cmeta:meta])* $const:ident = $value:expr => $text:literal, )*
        }
        unnamed = $lookup:expr;
        number = $number:literal;
    ) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        $vis struct $name(pub $repr);

        impl $name {
            $( $(#[$cmeta])* pub const $const: Self = Self($value); )*

            /// The registered name, if this value has one.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($text), )*
                    other => ($lookup)(other),
                }
            }
        }

        impl ::core::fmt::Display for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self.name() {
                    Some(n) => f.write_str(n),
                    None => write!(f, $number, self.0),
                }
            }
        }

        impl ::core::fmt::Debug for $name {
            fn fmt(&self, f: &mut ::core::fmt::Formatter<'_>) -> ::core::fmt::Result {
                match self.name() {
                    Some(n) => write!(f, "{}({})", n, self.0),
                    None => write!(f, "{}({})", stringify!($name), self.0),
                }
            }
        }
    };
}

/// The families of failure every keyless protocol crate sorts its errors into, as rustls does
/// (`InvalidMessage`, `PeerMisbehaved`, `PeerIncompatible`, ...): what a caller can act on
/// without matching every variant. Each crate's `Error::kind()` says which; a wrapped error
/// below keeps its own family.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bytes that do not decode: truncated, out of bounds, a bad value.
    InvalidMessage,
    /// A well-formed message that breaks the exchange: a proof, signature or checksum that
    /// does not verify, a reply that does not fit the request, a message out of turn.
    PeerMisbehaved,
    /// Nothing in common with the peer: no shared enctype, cipher, dialect or mechanism.
    PeerIncompatible,
    /// The peer said no, in its protocol's words (a KRB-ERROR, an HTTP error status).
    Refused,
    /// The caller's input does not hold: a bad name, configuration or key, a credential that
    /// is not there.
    Misuse,
    /// The operating system's side: a file, a socket, a daemon, a peer that does not answer.
    Io,
}

impl core::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::InvalidMessage => "invalid message",
            Self::PeerMisbehaved => "peer misbehaved",
            Self::PeerIncompatible => "peer incompatible",
            Self::Refused => "refused",
            Self::Misuse => "misuse",
            Self::Io => "I/O",
        })
    }
}

/// FILETIME (MS-DTYP 2.3.3): 100-nanosecond intervals since 1601-01-01 UTC, as SMB's
/// timestamps and NTLM's count time.
pub mod filetime {
    use std::time::{Duration, SystemTime};

    /// The FILETIME of 1970-01-01 UTC.
    pub const UNIX_EPOCH: u64 = 116_444_736_000_000_000;

    /// The FILETIME of `t` (times before 1970 become 1970).
    pub fn from_system_time(t: SystemTime) -> u64 {
        let since_1970 = t.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_nanos() / 100);
        u64::try_from(since_1970).unwrap_or(u64::MAX - UNIX_EPOCH).saturating_add(UNIX_EPOCH)
    }

    /// The time a FILETIME names (times before 1970 become 1970).
    pub fn to_system_time(filetime: u64) -> SystemTime {
        SystemTime::UNIX_EPOCH + Duration::from_nanos(filetime.saturating_sub(UNIX_EPOCH).saturating_mul(100))
    }

    /// Whole seconds since 1970 (negative before it).
    pub fn to_unix_seconds(filetime: u64) -> i64 {
        i64::try_from(filetime / 10_000_000).unwrap_or(i64::MAX) - (UNIX_EPOCH / 10_000_000) as i64
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn known_instants() {
            // 2022-06-18T00:53:20Z, as smbd stores it (crates/keyless-client/tests/samba.rs).
            let ft = 133_000_000_000_000_000;
            assert_eq!(to_unix_seconds(ft), 1_655_526_400);
            assert_eq!(from_system_time(to_system_time(ft)), ft);
            assert_eq!(from_system_time(SystemTime::UNIX_EPOCH), UNIX_EPOCH);
            assert_eq!(to_system_time(0), SystemTime::UNIX_EPOCH);
            assert_eq!(to_unix_seconds(0), -11_644_473_600);
        }
    }
}

/// The SMB2 header's layout (MS-SMB2 2.2.1), which the codec (`keyless-smb`, re-exported as
/// `keyless_smb::header`) and the signer (`keyless-crypto`) both need; neither crate depends on
/// the other, so it lives here, once.
pub mod smb2_header {
    /// Header length.
    pub const LEN: usize = 64;
    /// ProtocolId of a plain SMB2 message.
    pub const PROTOCOL_ID: [u8; 4] = *b"\xfeSMB";

    /// Where each field lies in the 64 bytes (MS-SMB2 2.2.1.1, 2.2.1.2): stated once, for the
    /// reader, the writer and whoever patches a field of an encoded message (a compound's
    /// NextCommand, a signature, the signer in keyless-crypto).
    pub mod field {
        use core::ops::Range;
        /// ProtocolId.
        pub const PROTOCOL_ID: Range<usize> = 0..4;
        /// StructureSize (64).
        pub const STRUCTURE_SIZE: Range<usize> = 4..6;
        /// CreditCharge.
        pub const CREDIT_CHARGE: Range<usize> = 6..8;
        /// Status, or ChannelSequence and Reserved in requests.
        pub const STATUS: Range<usize> = 8..12;
        /// Command.
        pub const COMMAND: Range<usize> = 12..14;
        /// CreditRequest / CreditResponse.
        pub const CREDITS: Range<usize> = 14..16;
        /// Flags.
        pub const FLAGS: Range<usize> = 16..20;
        /// NextCommand.
        pub const NEXT_COMMAND: Range<usize> = 20..24;
        /// MessageId.
        pub const MESSAGE_ID: Range<usize> = 24..32;
        /// AsyncId, or Reserved and TreeId.
        pub const ASYNC_OR_TREE: Range<usize> = 32..40;
        /// TreeId (sync form).
        pub const TREE_ID: Range<usize> = 36..40;
        /// SessionId.
        pub const SESSION_ID: Range<usize> = 40..48;
        /// Signature.
        pub const SIGNATURE: Range<usize> = 48..64;
    }

    /// Header flags (MS-SMB2 2.2.1.2).
    pub mod flags {
        /// Response.
        pub const SERVER_TO_REDIR: u32 = 0x0000_0001;
        /// Async header.
        pub const ASYNC_COMMAND: u32 = 0x0000_0002;
        /// Related compound operation.
        pub const RELATED_OPERATIONS: u32 = 0x0000_0004;
        /// Signed.
        pub const SIGNED: u32 = 0x0000_0008;
        /// Priority mask.
        pub const PRIORITY_MASK: u32 = 0x0000_0070;
        /// DFS operation.
        pub const DFS_OPERATIONS: u32 = 0x1000_0000;
        /// Replay operation.
        pub const REPLAY_OPERATION: u32 = 0x2000_0000;
    }

    /// The CANCEL command (2.2.1.2), which the signer treats apart.
    pub const COMMAND_CANCEL: u16 = 0x000C;
}
