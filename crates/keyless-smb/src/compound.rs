//! Compound chains (MS-SMB2 3.2.4.1.4, 3.3.5.2.7): several messages in one frame, each header's
//! NextCommand pointing 8-byte aligned to the next. A walker that checks every link; a builder that
//! pads and links as it appends; and [`link`] for messages encoded apart (a client that signs
//! each before they travel together).

use crate::body::pad8;
use crate::header::{self, Header, HeaderFields};
use crate::{Message, WireError};

/// Walks the messages of a frame (one message is a chain of one); each item is a whole message
/// (its header first, up to the next one), checked: a header that parses, a NextCommand that is
/// 8-byte aligned, past this header and inside the frame.
pub fn messages(frame: &[u8]) -> impl Iterator<Item = Result<&[u8], WireError>> {
    ranges(frame).map(move |r| r.map(|r| &frame[r]))
}

/// [`messages`] as where each message lies in `frame`, for a caller that keeps the frame whole.
pub fn ranges(frame: &[u8]) -> impl Iterator<Item = Result<core::ops::Range<usize>, WireError>> + '_ {
    let mut next_start = Some(0);
    core::iter::from_fn(move || {
        let start = next_start.take()?;
        let cur = frame.get(start..).unwrap_or_default();
        let next = match Header::parse(cur) {
            Ok(h) => h.next_command() as usize,
            Err(e) => return Some(Err(e)),
        };
        if next == 0 {
            return Some(Ok(start..frame.len()));
        }
        if next % 8 != 0 {
            return Some(Err(WireError::Misaligned { field: "NextCommand" }));
        }
        if next < header::LEN || next >= cur.len() {
            return Some(Err(WireError::OutOfBounds { field: "NextCommand" }));
        }
        next_start = Some(start + next);
        Some(Ok(start..start + next))
    })
}

/// Appends messages to `out` as one compound: pads each to 8 bytes and sets its NextCommand
/// when the next one comes. The headers' flags (RELATED_OPERATIONS, ...) are the caller's.
pub struct CompoundBuilder<'o> {
    out: &'o mut Vec<u8>,
    last: Option<usize>,
}

impl<'o> CompoundBuilder<'o> {
    /// A builder appending to `out`.
    pub fn new(out: &'o mut Vec<u8>) -> Self {
        Self { out, last: None }
    }

    /// Appends one message.
    ///
    /// # Errors
    /// What [`Message::encode`] returns, or [`WireError::BadValue`] for a chain over 4 GiB.
    pub fn push<'a, M: Message<'a>>(&mut self, message: &M, header: &HeaderFields) -> Result<&mut Self, WireError> {
        if let Some(prev) = self.last {
            pad8(self.out, prev);
            point_to_next(&mut self.out[prev..])?;
        }
        self.last = Some(self.out.len());
        message.encode(header, self.out)?;
        Ok(self)
    }

    /// The bytes a chain of messages with these encoded lengths takes (padding included).
    pub fn chain_len(lens: impl IntoIterator<Item = usize>) -> usize {
        crate::body::chained_len(lens.into_iter())
    }
}

/// Links messages encoded apart into a chain: each but the last padded to 8 bytes with its
/// NextCommand pointing past it, the last's NextCommand zero. Concatenated, they are the
/// compound [`CompoundBuilder`] would have built.
///
/// # Errors
/// [`WireError::Truncated`] for a message shorter than a header; [`WireError::BadValue`] for
/// one over 4 GiB.
pub fn link(messages: &mut [Vec<u8>]) -> Result<(), WireError> {
    let count = messages.len();
    for (i, m) in messages.iter_mut().enumerate() {
        if m.len() < header::LEN {
            return Err(WireError::Truncated { structure: "SMB2 header", need: header::LEN, got: m.len() });
        }
        if i + 1 < count {
            pad8(m, 0);
            point_to_next(m)?;
        } else {
            header::set_next_command(m, 0);
        }
    }
    Ok(())
}

/// Sets the NextCommand of the message at the start of `m` to `m.len()` (it is padded).
fn point_to_next(m: &mut [u8]) -> Result<(), WireError> {
    let next = u32::try_from(m.len()).map_err(|_| WireError::BadValue { field: "NextCommand" })?;
    header::set_next_command(m, next);
    Ok(())
}
