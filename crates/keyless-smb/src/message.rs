//! What every SMB2 message body shares: a decoder over the whole message (header first, as
//! offsets count from the header) and an encoder that states its size before it writes.

use crate::header::{self, HeaderFields};
use crate::{Command, WireError};

/// An SMB2 request or response body that knows its command.
pub trait Message<'a>: Sized {
    /// The command this body belongs to; [`Message::encode`] writes it into the header.
    const COMMAND: Command;

    /// Decodes a whole message (the 64-byte header, then this body), borrowing from it.
    ///
    /// # Errors
    /// The [`WireError`] naming the field that is wrong.
    fn parse(message: &'a [u8]) -> Result<Self, WireError>;

    /// Bytes the body takes (without the header), before it is written.
    fn body_len(&self) -> usize;

    /// Appends the body. Offsets it writes count from the header just before it
    /// (at `out.len() - 64`).
    ///
    /// # Errors
    /// [`WireError::BadValue`] when a field does not fit its width.
    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError>;

    /// Appends the header (with this body's command) and the body; on error `out` is unchanged.
    ///
    /// # Errors
    /// [`WireError::BadValue`] when a field does not fit its width.
    fn encode(&self, header: &HeaderFields, out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len();
        out.reserve(header::LEN + self.body_len());
        HeaderFields { command: Self::COMMAND, ..*header }.encode(out);
        if let Err(e) = self.write_body(out) {
            out.truncate(start);
            return Err(e);
        }
        debug_assert_eq!(out.len() - start, header::LEN + self.body_len(), "{} body_len", Self::COMMAND);
        Ok(())
    }

    /// [`Message::encode`] into a new buffer of exactly the right size.
    ///
    /// # Errors
    /// [`WireError::BadValue`] when a field does not fit its width.
    fn to_vec(&self, header: &HeaderFields) -> Result<Vec<u8>, WireError> {
        let mut out = Vec::with_capacity(header::LEN + self.body_len());
        self.encode(header, &mut out)?;
        Ok(out)
    }
}

/// Declares bodies that are a StructureSize and reserved bytes only (ECHO, LOGOFF, CANCEL, ...).
macro_rules! empty_message {
    ($( $(#[$doc:meta])* $name:ident = $command:ident, $size:literal, $structure:literal; )*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name;

        impl<'a> $crate::Message<'a> for $name {
            const COMMAND: $crate::Command = $crate::Command::$command;

            fn parse(message: &'a [u8]) -> Result<Self, $crate::WireError> {
                $crate::body::fixed(message, $size, $size, $structure).map(|_| Self)
            }

            fn body_len(&self) -> usize {
                $size
            }

            fn write_body(&self, out: &mut Vec<u8>) -> Result<(), $crate::WireError> {
                $crate::body::fixed_part(out, $size, $size);
                Ok(())
            }
        }
    )*};
}
pub(crate) use empty_message;

/// The fields of an output response (QUERY_DIRECTORY 2.2.34, CHANGE_NOTIFY 2.2.36, QUERY_INFO
/// 2.2.38), from the body's start; the buffer follows.
pub(crate) mod output_layout {
    use crate::body::Field;
    pub const FIXED: usize = 8;
    pub const STRUCTURE_SIZE: u16 = 9;
    pub const OUTPUT_OFFSET: Field = 2..4;
    pub const OUTPUT_LENGTH: Field = 4..8;
}

/// Declares responses that are an output buffer behind an (offset, length) pair:
/// QUERY_DIRECTORY, CHANGE_NOTIFY and QUERY_INFO (StructureSize 9).
macro_rules! output_response {
    ($( $(#[$doc:meta])* $name:ident = $command:ident, $structure:literal; )*) => {$(
        $(#[$doc])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
        pub struct $name<'a> {
            /// The output buffer, borrowed.
            pub output: &'a [u8],
        }

        impl<'a> $crate::Message<'a> for $name<'a> {
            const COMMAND: $crate::Command = $crate::Command::$command;

            fn parse(message: &'a [u8]) -> Result<Self, $crate::WireError> {
                use $crate::body::{buffer, fixed, get};
                use $crate::message::output_layout as f;
                let b = fixed(message, f::FIXED, f::STRUCTURE_SIZE, $structure)?;
                let (off, len): (u16, u32) = (get(b, f::OUTPUT_OFFSET), get(b, f::OUTPUT_LENGTH));
                let at = $crate::header::LEN + f::FIXED;
                let output = buffer(message, usize::from(off), len as usize, at, $structure)?;
                Ok(Self { output })
            }

            fn body_len(&self) -> usize {
                $crate::message::output_layout::FIXED + self.output.len()
            }

            fn write_body(&self, out: &mut Vec<u8>) -> Result<(), $crate::WireError> {
                use $crate::body::{fixed_part, put};
                use $crate::message::output_layout as f;
                let len = $crate::body::fit32(self.output.len(), $structure)?;
                let b = fixed_part(out, f::FIXED, f::STRUCTURE_SIZE);
                put(b, f::OUTPUT_OFFSET, ($crate::header::LEN + f::FIXED) as u16);
                put(b, f::OUTPUT_LENGTH, len);
                out.extend_from_slice(self.output);
                Ok(())
            }
        }
    )*};
}
pub(crate) use output_response;
