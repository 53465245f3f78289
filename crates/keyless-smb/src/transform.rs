//! The headers that wrap whole messages: SMB2 TRANSFORM_HEADER (MS-SMB2 2.2.41, encryption) and
//! COMPRESSION_TRANSFORM_HEADER (2.2.42, chained and unchained). The cryptography lives in
//! keyless-crypto; decompression here covers the NONE and Pattern_V1 payloads of a chain (the
//! LZ77 family may follow).

use crate::WireError;
use crate::body::{bytes16, le16, le32, le64, need};

/// ProtocolId of an encrypted message.
pub const TRANSFORM_PROTOCOL_ID: [u8; 4] = *b"\xfdSMB";
/// ProtocolId of a compressed message.
pub const COMPRESSION_PROTOCOL_ID: [u8; 4] = *b"\xfcSMB";
/// TRANSFORM_HEADER length.
pub const TRANSFORM_LEN: usize = 52;

/// Flags/EncryptionAlgorithm: encrypted (3.1.1) / AES-128-CCM (3.0.x), both 0x0001.
pub const TRANSFORM_FLAG_ENCRYPTED: u16 = 0x0001;

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
        if h[..4] != TRANSFORM_PROTOCOL_ID {
            return Err(WireError::BadProtocolId { got: [h[0], h[1], h[2], h[3]] });
        }
        Ok(Self {
            signature: bytes16(h, 4),
            nonce: bytes16(h, 20),
            original_message_size: le32(h, 36),
            flags: le16(h, 42),
            session_id: le64(h, 44),
        })
    }

    /// Appends the 52 bytes.
    pub fn encode(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&TRANSFORM_PROTOCOL_ID);
        out.extend_from_slice(&self.signature);
        out.extend_from_slice(&self.nonce);
        out.extend_from_slice(&self.original_message_size.to_le_bytes());
        out.extend_from_slice(&[0; 2]);
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&self.session_id.to_le_bytes());
    }

    /// The associated data the AEAD authenticates: the header from the Nonce on (32 bytes).
    pub fn aad(frame: &[u8]) -> Option<&[u8]> {
        frame.get(20..TRANSFORM_LEN)
    }
}

/// Compression algorithms (2.2.3.1.3).
pub mod algorithm {
    /// No compression.
    pub const NONE: u16 = 0x0000;
    /// LZNT1.
    pub const LZNT1: u16 = 0x0001;
    /// LZ77.
    pub const LZ77: u16 = 0x0002;
    /// LZ77+Huffman.
    pub const LZ77_HUFFMAN: u16 = 0x0003;
    /// Pattern_V1 (a run of one byte).
    pub const PATTERN_V1: u16 = 0x0004;
    /// LZ4.
    pub const LZ4: u16 = 0x0005;
}

/// Compression flag: this is a chained header.
pub const COMPRESSION_FLAG_CHAINED: u16 = 0x0001;

/// One payload of a chained compressed message (2.2.42.2.1).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainedPayload<'a> {
    /// CompressionAlgorithm.
    pub algorithm: u16,
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
        algorithm: u16,
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

fn has_original_size(algorithm: u16) -> bool {
    matches!(algorithm, algorithm::LZNT1 | algorithm::LZ77 | algorithm::LZ77_HUFFMAN | algorithm::LZ4)
}

impl<'a> Compressed<'a> {
    /// Decodes a compressed frame.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(frame: &'a [u8]) -> Result<Self, WireError> {
        need(frame, 16, "COMPRESSION_TRANSFORM_HEADER")?;
        if frame[..4] != COMPRESSION_PROTOCOL_ID {
            return Err(WireError::BadProtocolId { got: [frame[0], frame[1], frame[2], frame[3]] });
        }
        let original_size = le32(frame, 4);
        if le16(frame, 10) & COMPRESSION_FLAG_CHAINED == 0 {
            let offset = le32(frame, 12) as usize;
            let rest = &frame[16..];
            if offset > rest.len() {
                return Err(WireError::OutOfBounds { field: "COMPRESSION_TRANSFORM_HEADER Offset" });
            }
            let (prefix, compressed) = rest.split_at(offset);
            return Ok(Self::Unchained { original_size, algorithm: le16(frame, 8), prefix, compressed });
        }
        let mut rest = &frame[8..];
        let mut payloads = Vec::new();
        while !rest.is_empty() {
            need(rest, 8, "SMB2_COMPRESSION_CHAINED_PAYLOAD_HEADER")?;
            let (algorithm, flags, len) = (le16(rest, 0), le16(rest, 2), le32(rest, 4) as usize);
            let body = rest
                .get(8..)
                .and_then(|b| b.get(..len))
                .ok_or(WireError::OutOfBounds { field: "chained payload Length" })?;
            let (original_payload_size, data) = if has_original_size(algorithm) {
                need(body, 4, "OriginalPayloadSize")?;
                (Some(le32(body, 0)), &body[4..])
            } else {
                (None, body)
            };
            payloads.push(ChainedPayload { algorithm, flags, original_payload_size, data });
            rest = &rest[8 + len..];
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
        out.extend_from_slice(&COMPRESSION_PROTOCOL_ID);
        match self {
            Self::Unchained { original_size, algorithm, prefix, compressed } => {
                out.extend_from_slice(&original_size.to_le_bytes());
                out.extend_from_slice(&algorithm.to_le_bytes());
                out.extend_from_slice(&0u16.to_le_bytes());
                out.extend_from_slice(&fit(prefix.len())?.to_le_bytes());
                out.extend_from_slice(prefix);
                out.extend_from_slice(compressed);
            }
            Self::Chained { original_size, payloads } => {
                out.extend_from_slice(&original_size.to_le_bytes());
                for p in payloads {
                    if p.original_payload_size.is_some() != has_original_size(p.algorithm) {
                        return Err(WireError::BadValue { field: "OriginalPayloadSize" });
                    }
                    let extra = if p.original_payload_size.is_some() { 4 } else { 0 };
                    out.extend_from_slice(&p.algorithm.to_le_bytes());
                    out.extend_from_slice(&p.flags.to_le_bytes());
                    out.extend_from_slice(&fit(p.data.len() + extra)?.to_le_bytes());
                    if let Some(size) = p.original_payload_size {
                        out.extend_from_slice(&size.to_le_bytes());
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
                algorithm::NONE => out.extend_from_slice(p.data),
                algorithm::PATTERN_V1 => {
                    need(p.data, 8, "Pattern_V1 payload")?;
                    let n = le32(p.data, 4) as usize;
                    if out.len().saturating_add(n) > want {
                        return Err(WireError::BadValue { field: "Pattern_V1 Repetitions" });
                    }
                    out.resize(out.len() + n, p.data[0]);
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
