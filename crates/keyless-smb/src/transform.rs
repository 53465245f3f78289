//! The headers that wrap whole messages: SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41, encryption) and
//! COMPRESSION_TRANSFORM_HEADER (2.2.42, chained and unchained). The cryptography lives in
//! keyless-crypto; decompression here covers the NONE and Pattern_V1 payloads of a chain (the
//! LZ77 family may follow).

use crate::WireError;
use crate::body::{get, need, put, zeroed};

/// ProtocolId of an encrypted message.
pub const TRANSFORM_PROTOCOL_ID: [u8; 4] = *b"\xfdSMB";
/// ProtocolId of a compressed message.
pub const COMPRESSION_PROTOCOL_ID: [u8; 4] = *b"\xfcSMB";
/// TRANSFORM_HEADER length.
pub const TRANSFORM_LEN: usize = 52;

/// Flags/EncryptionAlgorithm: encrypted (3.1.1) / AES-128-CCM (3.0.x), both 0x0001.
pub const TRANSFORM_FLAG_ENCRYPTED: u16 = 0x0001;

/// TRANSFORM_HEADER fields (2.2.41), from its start; Reserved 40..42 stays zero.
mod transform_header {
    use crate::body::Field;
    pub const PROTOCOL_ID: Field = 0..4;
    pub const SIGNATURE: Field = 4..20;
    pub const NONCE: Field = 20..36;
    pub const ORIGINAL_MESSAGE_SIZE: Field = 36..40;
    pub const FLAGS: Field = 42..44;
    pub const SESSION_ID: Field = 44..52;
}

/// COMPRESSION_TRANSFORM_HEADER fields (2.2.42.1 unchained, 2.2.42.2 chained), from its start.
mod compression_header {
    use crate::body::Field;
    pub const PROTOCOL_ID: Field = 0..4;
    pub const ORIGINAL_SIZE: Field = 4..8;
    /// Unchained: the algorithm, Flags and Offset; the prefix follows at 16.
    pub const UNCHAINED_LEN: usize = 16;
    pub const ALGORITHM: Field = 8..10;
    pub const FLAGS: Field = 10..12;
    pub const OFFSET: Field = 12..16;
    /// Chained: the payload headers start at 8.
    pub const CHAINED_LEN: usize = 8;
}

/// SMB2_COMPRESSION_CHAINED_PAYLOAD_HEADER fields (2.2.42.2.1), from its start; an LZ
/// payload's OriginalPayloadSize (4 bytes) starts its data.
mod payload_header {
    use crate::body::Field;
    pub const LEN: usize = 8;
    pub const ALGORITHM: Field = 0..2;
    pub const FLAGS: Field = 2..4;
    pub const LENGTH: Field = 4..8;
    /// Counted from the payload's data (LZ algorithms only).
    pub const ORIGINAL_PAYLOAD_SIZE: Field = 0..4;
}

/// Pattern_V1 payload fields (2.2.42.2.2); Reserved 1..4 stays zero.
mod pattern_v1 {
    use crate::body::Field;
    pub const LEN: usize = 8;
    pub const PATTERN: Field = 0..1;
    pub const REPETITIONS: Field = 4..8;
}

/// An SMB2 TRANSFORM_HEADER.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct TransformHeader {
    /// Signature: the AEAD tag.
    pub signature: [u8; 16],
    /// Nonce (11 bytes used by CCM, 12 by GCM; the rest zero).
    pub nonce: [u8; 16],
    /// OriginalMessageSize: the plaintext length.
    pub original_message_size: u32,
    /// Flags (3.1.1) / EncryptionAlgorithm (3.0.x).
    pub flags: u16,
    /// SessionId.
    pub session_id: u64,
}

impl TransformHeader {
    /// Decodes the header of an encrypted frame; returns it and the ciphertext after it.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(frame: &[u8]) -> Result<(Self, &[u8]), WireError> {
        let header = Self::parse_header(frame)?;
        let ciphertext = &frame[TRANSFORM_LEN..];
        if ciphertext.len() != header.original_message_size as usize {
            // CCM and GCM keep the length: anything else is a broken or truncated frame.
            return Err(WireError::BadValue { field: "OriginalMessageSize" });
        }
        Ok((header, ciphertext))
    }

    /// Decodes the 52 bytes at the start of `head` alone (the ciphertext kept elsewhere, as a
    /// sender holds its frames); [`TransformHeader::parse`] checks the ciphertext's length too.
    ///
    /// # Errors
    /// [`WireError::Truncated`] or [`WireError::BadProtocolId`].
    pub fn parse_header(head: &[u8]) -> Result<Self, WireError> {
        let h: &[u8; TRANSFORM_LEN] = head.first_chunk().ok_or(WireError::Truncated {
            structure: "TRANSFORM_HEADER",
            need: TRANSFORM_LEN,
            got: head.len(),
        })?;
        use transform_header as f;
        let id: [u8; 4] = get(h, f::PROTOCOL_ID);
        if id != TRANSFORM_PROTOCOL_ID {
            return Err(WireError::BadProtocolId { got: id });
        }
        Ok(Self {
            signature: get(h, f::SIGNATURE),
            nonce: get(h, f::NONCE),
            original_message_size: get(h, f::ORIGINAL_MESSAGE_SIZE),
            flags: get(h, f::FLAGS),
            session_id: get(h, f::SESSION_ID),
        })
    }

    /// Appends the 52 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        use transform_header as f;
        let h = zeroed(out, TRANSFORM_LEN);
        put(h, f::PROTOCOL_ID, TRANSFORM_PROTOCOL_ID);
        put(h, f::SIGNATURE, self.signature);
        put(h, f::NONCE, self.nonce);
        put(h, f::ORIGINAL_MESSAGE_SIZE, self.original_message_size);
        put(h, f::FLAGS, self.flags);
        put(h, f::SESSION_ID, self.session_id);
    }

    /// The associated data the AEAD authenticates: the header from the Nonce on (32 bytes).
    pub fn aad(frame: &[u8]) -> Option<&[u8]> {
        frame.get(transform_header::NONCE.start..TRANSFORM_LEN)
    }
}

keyless_wire_enum::wire_enum! {
    /// Compression algorithms (2.2.3.1.3).
    #[derive(Default)]
    pub struct CompressionAlgorithm(u16) {
        /// No compression.
        NONE = 0x0000 => "NONE",
        /// LZNT1.
        LZNT1 = 0x0001 => "LZNT1",
        /// LZ77.
        LZ77 = 0x0002 => "LZ77",
        /// LZ77+Huffman.
        LZ77_HUFFMAN = 0x0003 => "LZ77_HUFFMAN",
        /// Pattern_V1 (a run of one byte).
        PATTERN_V1 = 0x0004 => "PATTERN_V1",
        /// LZ4.
        LZ4 = 0x0005 => "LZ4",
    }
}

/// Compression flag: this is a chained header.
pub const COMPRESSION_FLAG_CHAINED: u16 = 0x0001;

/// One payload of a chained compressed message (2.2.42.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainedPayload<'a> {
    /// CompressionAlgorithm.
    pub algorithm: CompressionAlgorithm,
    /// Flags.
    pub flags: u16,
    /// OriginalPayloadSize (the LZ algorithms only).
    pub original_payload_size: Option<u32>,
    /// The payload, borrowed.
    pub data: &'a [u8],
}

/// A decoded COMPRESSION_TRANSFORM_HEADER and what it carries.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Compressed<'a> {
    /// One algorithm over the message after an uncompressed prefix (2.2.42.1).
    Unchained {
        /// OriginalCompressedSegmentSize.
        original_size: u32,
        /// CompressionAlgorithm.
        algorithm: CompressionAlgorithm,
        /// The first Offset bytes, sent as they are.
        prefix: &'a [u8],
        /// The compressed rest.
        compressed: &'a [u8],
    },
    /// A chain of payloads, each with its algorithm (2.2.42.2).
    Chained {
        /// OriginalCompressedSegmentSize.
        original_size: u32,
        /// The payloads in order.
        payloads: Vec<ChainedPayload<'a>>,
    },
}

fn has_original_size(algorithm: CompressionAlgorithm) -> bool {
    matches!(
        algorithm,
        CompressionAlgorithm::LZNT1
            | CompressionAlgorithm::LZ77
            | CompressionAlgorithm::LZ77_HUFFMAN
            | CompressionAlgorithm::LZ4
    )
}

impl<'a> Compressed<'a> {
    /// Decodes a compressed frame.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(frame: &'a [u8]) -> Result<Self, WireError> {
        use {compression_header as f, payload_header as p};
        need(frame, f::UNCHAINED_LEN, "COMPRESSION_TRANSFORM_HEADER")?;
        let id: [u8; 4] = get(frame, f::PROTOCOL_ID);
        if id != COMPRESSION_PROTOCOL_ID {
            return Err(WireError::BadProtocolId { got: id });
        }
        let original_size = get(frame, f::ORIGINAL_SIZE);
        if get::<u16>(frame, f::FLAGS) & COMPRESSION_FLAG_CHAINED == 0 {
            let offset = get::<u32>(frame, f::OFFSET) as usize;
            let rest = &frame[f::UNCHAINED_LEN..];
            if offset > rest.len() {
                return Err(WireError::OutOfBounds { field: "COMPRESSION_TRANSFORM_HEADER Offset" });
            }
            let (prefix, compressed) = rest.split_at(offset);
            return Ok(Self::Unchained {
                original_size,
                algorithm: CompressionAlgorithm(get(frame, f::ALGORITHM)),
                prefix,
                compressed,
            });
        }
        let mut rest = &frame[f::CHAINED_LEN..];
        let mut payloads = Vec::new();
        while !rest.is_empty() {
            need(rest, p::LEN, "SMB2_COMPRESSION_CHAINED_PAYLOAD_HEADER")?;
            let (algorithm, flags) = (CompressionAlgorithm(get(rest, p::ALGORITHM)), get(rest, p::FLAGS));
            let len = get::<u32>(rest, p::LENGTH) as usize;
            let body = rest
                .get(p::LEN..)
                .and_then(|b| b.get(..len))
                .ok_or(WireError::OutOfBounds { field: "chained payload Length" })?;
            let (original_payload_size, data) = if has_original_size(algorithm) {
                let at = p::ORIGINAL_PAYLOAD_SIZE;
                need(body, at.end, "OriginalPayloadSize")?;
                (Some(get(body, at.clone())), &body[at.end..])
            } else {
                (None, body)
            };
            payloads.push(ChainedPayload { algorithm, flags, original_payload_size, data });
            rest = &rest[p::LEN + len..];
        }
        Ok(Self::Chained { original_size, payloads })
    }

    /// Appends the header and payloads.
    ///
    /// # Errors
    /// [`WireError::BadValue`] for lengths over 4 GiB, or an OriginalPayloadSize where the
    /// algorithm has none (or none where it has one).
    pub fn encode(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let fit = |n: usize| u32::try_from(n).map_err(|_| WireError::BadValue { field: "compressed length" });
        use compression_header as f;
        match self {
            Self::Unchained { original_size, algorithm, prefix, compressed } => {
                let offset = fit(prefix.len())?;
                let h = zeroed(out, f::UNCHAINED_LEN);
                put(h, f::PROTOCOL_ID, COMPRESSION_PROTOCOL_ID);
                put(h, f::ORIGINAL_SIZE, *original_size);
                put(h, f::ALGORITHM, algorithm.0);
                put(h, f::OFFSET, offset);
                out.extend_from_slice(prefix);
                out.extend_from_slice(compressed);
            }
            Self::Chained { original_size, payloads } => {
                let h = zeroed(out, f::CHAINED_LEN);
                put(h, f::PROTOCOL_ID, COMPRESSION_PROTOCOL_ID);
                put(h, f::ORIGINAL_SIZE, *original_size);
                for p in payloads {
                    if p.original_payload_size.is_some() != has_original_size(p.algorithm) {
                        return Err(WireError::BadValue { field: "OriginalPayloadSize" });
                    }
                    let extra = if p.original_payload_size.is_some() { 4 } else { 0 };
                    let len = fit(p.data.len() + extra)?;
                    let ph = zeroed(out, payload_header::LEN);
                    put(ph, payload_header::ALGORITHM, p.algorithm.0);
                    put(ph, payload_header::FLAGS, p.flags);
                    put(ph, payload_header::LENGTH, len);
                    if let Some(size) = p.original_payload_size {
                        put(zeroed(out, 4), payload_header::ORIGINAL_PAYLOAD_SIZE, size);
                    }
                    out.extend_from_slice(p.data);
                }
            }
        }
        Ok(())
    }

    /// The original message, when every payload is NONE or Pattern_V1 (2.2.42.2.2).
    ///
    /// # Errors
    /// [`WireError::BadValue`] for another algorithm, a bad pattern payload, a size over
    /// [`crate::framing::MAX_FRAME`], or a result whose size differs from
    /// OriginalCompressedSegmentSize.
    pub fn decompress_simple(&self) -> Result<Vec<u8>, WireError> {
        let Self::Chained { original_size, payloads } = self else {
            return Err(WireError::BadValue { field: "CompressionAlgorithm" });
        };
        let want = *original_size as usize;
        // A message never exceeds a Direct TCP frame: refuse to inflate past that.
        if want > crate::framing::MAX_FRAME {
            return Err(WireError::BadValue { field: "OriginalCompressedSegmentSize" });
        }
        let mut out = Vec::with_capacity(want.min(1 << 20));
        for p in payloads {
            match p.algorithm {
                CompressionAlgorithm::NONE => out.extend_from_slice(p.data),
                CompressionAlgorithm::PATTERN_V1 => {
                    need(p.data, pattern_v1::LEN, "Pattern_V1 payload")?;
                    let n = get::<u32>(p.data, pattern_v1::REPETITIONS) as usize;
                    if out.len().saturating_add(n) > want {
                        return Err(WireError::BadValue { field: "Pattern_V1 Repetitions" });
                    }
                    out.resize(out.len() + n, get::<u8>(p.data, pattern_v1::PATTERN));
                }
                _ => return Err(WireError::BadValue { field: "CompressionAlgorithm" }),
            }
        }
        if out.len() != want {
            return Err(WireError::BadValue { field: "OriginalCompressedSegmentSize" });
        }
        Ok(out)
    }
}
