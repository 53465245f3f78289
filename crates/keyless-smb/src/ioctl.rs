//! IOCTL (MS-SMB2 2.2.31 request, 2.2.32 response) with opaque input and output buffers, and the
//! FSCTL payloads a client builds and reads: VALIDATE_NEGOTIATE_INFO (2.2.31.4, 2.2.32.6),
//! DFS_GET_REFERRALS (MS-DFSC 2.2.2 and 2.2.4, referral entries v2 to v4); PIPE_TRANSCEIVE
//! carries the RPC bytes as they are.

use crate::body::{buffer, bytes16, fit16, fit32, fixed, le16, le32, need, put_utf16, utf16, utf16_len};
use crate::control::FileId;
use crate::{Command, Dialect, Message, WireError, header};

/// FSCTL / IOCTL codes (MS-SMB2 2.2.31, MS-FSCC 2.3).
pub mod ctl_code {
    /// FSCTL_DFS_GET_REFERRALS.
    pub const DFS_GET_REFERRALS: u32 = 0x0006_0194;
    /// FSCTL_DFS_GET_REFERRALS_EX.
    pub const DFS_GET_REFERRALS_EX: u32 = 0x0006_01B0;
    /// FSCTL_PIPE_PEEK.
    pub const PIPE_PEEK: u32 = 0x0011_400C;
    /// FSCTL_PIPE_WAIT.
    pub const PIPE_WAIT: u32 = 0x0011_0018;
    /// FSCTL_PIPE_TRANSCEIVE.
    pub const PIPE_TRANSCEIVE: u32 = 0x0011_C017;
    /// FSCTL_SRV_COPYCHUNK.
    pub const SRV_COPYCHUNK: u32 = 0x0014_40F2;
    /// FSCTL_SRV_REQUEST_RESUME_KEY.
    pub const SRV_REQUEST_RESUME_KEY: u32 = 0x0014_0078;
    /// FSCTL_QUERY_NETWORK_INTERFACE_INFO.
    pub const QUERY_NETWORK_INTERFACE_INFO: u32 = 0x0014_01FC;
    /// FSCTL_VALIDATE_NEGOTIATE_INFO.
    pub const VALIDATE_NEGOTIATE_INFO: u32 = 0x0014_0204;
    /// FSCTL_GET_REPARSE_POINT.
    pub const GET_REPARSE_POINT: u32 = 0x0009_00A8;
    /// FSCTL_SET_SPARSE.
    pub const SET_SPARSE: u32 = 0x0009_00C4;
}

/// SMB2_0_IOCTL_IS_FSCTL: the one request flag.
pub const IOCTL_IS_FSCTL: u32 = 0x0000_0001;

/// An IOCTL request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IoctlRequest<'a> {
    /// CtlCode.
    pub ctl_code: u32,
    /// The open (all ones for FSCTLs that address no file).
    pub file_id: FileId,
    /// MaxInputResponse.
    pub max_input_response: u32,
    /// MaxOutputResponse.
    pub max_output_response: u32,
    /// Flags ([`IOCTL_IS_FSCTL`]).
    pub flags: u32,
    /// The input buffer.
    pub input: &'a [u8],
}

/// Where an IOCTL request's input starts (64 + 56).
const REQUEST_INPUT_AT: usize = header::LEN + 56;

impl<'a> Message<'a> for IoctlRequest<'a> {
    const COMMAND: Command = Command::IOCTL;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        let b = fixed(message, 56, 57, "IOCTL request")?;
        let input = buffer(message, le32(b, 24) as usize, le32(b, 28) as usize, REQUEST_INPUT_AT, "IOCTL Input")?;
        if le32(b, 40) != 0 {
            // Requests carry no output buffer (2.2.31: OutputCount MUST be 0).
            return Err(WireError::BadValue { field: "IOCTL OutputCount" });
        }
        Ok(Self {
            ctl_code: le32(b, 4),
            file_id: bytes16(b, 8),
            max_input_response: le32(b, 32),
            max_output_response: le32(b, 44),
            flags: le32(b, 48),
            input,
        })
    }

    fn body_len(&self) -> usize {
        56 + self.input.len()
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let len = fit32(self.input.len(), "IOCTL InputCount")?;
        // The offsets say where the buffer is or would be, as Windows sends them.
        let off = REQUEST_INPUT_AT as u32;
        out.extend_from_slice(&57u16.to_le_bytes());
        out.extend_from_slice(&[0; 2]);
        out.extend_from_slice(&self.ctl_code.to_le_bytes());
        out.extend_from_slice(&self.file_id);
        out.extend_from_slice(&off.to_le_bytes());
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(&self.max_input_response.to_le_bytes());
        out.extend_from_slice(&off.to_le_bytes()); // OutputOffset (where output would be), count 0
        out.extend_from_slice(&0u32.to_le_bytes());
        out.extend_from_slice(&self.max_output_response.to_le_bytes());
        out.extend_from_slice(&self.flags.to_le_bytes());
        out.extend_from_slice(&[0; 4]);
        out.extend_from_slice(self.input);
        Ok(())
    }
}

/// An IOCTL response.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct IoctlResponse<'a> {
    /// CtlCode.
    pub ctl_code: u32,
    /// FileId.
    pub file_id: FileId,
    /// Flags.
    pub flags: u32,
    /// The input buffer echoed (usually empty).
    pub input: &'a [u8],
    /// The output buffer.
    pub output: &'a [u8],
}

/// Where an IOCTL response's buffers start (64 + 48).
const RESPONSE_BUFFER_AT: usize = header::LEN + 48;

impl IoctlResponse<'_> {
    fn output_at(&self) -> usize {
        (RESPONSE_BUFFER_AT + self.input.len()).next_multiple_of(8)
    }
}

impl<'a> Message<'a> for IoctlResponse<'a> {
    const COMMAND: Command = Command::IOCTL;

    fn parse(message: &'a [u8]) -> Result<Self, WireError> {
        let b = fixed(message, 48, 49, "IOCTL response")?;
        let input = buffer(message, le32(b, 24) as usize, le32(b, 28) as usize, RESPONSE_BUFFER_AT, "IOCTL Input")?;
        let output = buffer(message, le32(b, 32) as usize, le32(b, 36) as usize, RESPONSE_BUFFER_AT, "IOCTL Output")?;
        Ok(Self { ctl_code: le32(b, 4), file_id: bytes16(b, 8), flags: le32(b, 40), input, output })
    }

    fn body_len(&self) -> usize {
        if self.output.is_empty() { 48 + self.input.len() } else { self.output_at() - header::LEN + self.output.len() }
    }

    fn write_body(&self, out: &mut Vec<u8>) -> Result<(), WireError> {
        let start = out.len() - header::LEN;
        let (in_len, out_len) =
            (fit32(self.input.len(), "IOCTL InputCount")?, fit32(self.output.len(), "IOCTL OutputCount")?);
        // Both offsets say where their buffer is or would be, as Windows and Samba send them.
        let in_off = RESPONSE_BUFFER_AT as u32;
        let out_off = fit32(self.output_at(), "IOCTL OutputOffset")?;
        out.extend_from_slice(&49u16.to_le_bytes());
        out.extend_from_slice(&[0; 2]);
        out.extend_from_slice(&self.ctl_code.to_le_bytes());
        out.extend_from_slice(&self.file_id);
        for v in [in_off, in_len, out_off, out_len, self.flags, 0] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(self.input);
        if out_len > 0 {
            crate::body::pad8(out, start);
            out.extend_from_slice(self.output);
        }
        Ok(())
    }
}

/// VALIDATE_NEGOTIATE_INFO request input (2.2.31.4).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ValidateNegotiateRequest {
    /// Capabilities as sent in NEGOTIATE.
    pub capabilities: u32,
    /// ClientGuid.
    pub guid: [u8; 16],
    /// SecurityMode.
    pub security_mode: u16,
    /// Dialects as offered.
    pub dialects: Vec<Dialect>,
}

impl ValidateNegotiateRequest {
    /// Decodes the input buffer.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(input: &[u8]) -> Result<Self, WireError> {
        need(input, 24, "VALIDATE_NEGOTIATE_INFO request")?;
        let n = usize::from(le16(input, 22));
        let ids = input.get(24..24 + 2 * n).ok_or(WireError::OutOfBounds { field: "Dialects" })?;
        Ok(Self {
            capabilities: le32(input, 0),
            guid: bytes16(input, 4),
            security_mode: le16(input, 20),
            dialects: ids.chunks_exact(2).map(|c| Dialect(u16::from_le_bytes([c[0], c[1]]))).collect(),
        })
    }

    /// Encodes the input buffer.
    ///
    /// # Errors
    /// [`WireError::BadValue`] for too many dialects.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        let mut b = Vec::with_capacity(24 + 2 * self.dialects.len());
        b.extend_from_slice(&self.capabilities.to_le_bytes());
        b.extend_from_slice(&self.guid);
        b.extend_from_slice(&self.security_mode.to_le_bytes());
        b.extend_from_slice(&fit16(self.dialects.len(), "DialectCount")?.to_le_bytes());
        for d in &self.dialects {
            b.extend_from_slice(&d.0.to_le_bytes());
        }
        Ok(b)
    }
}

/// VALIDATE_NEGOTIATE_INFO response output (2.2.32.6).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct ValidateNegotiateResponse {
    /// The server's Capabilities.
    pub capabilities: u32,
    /// ServerGuid.
    pub guid: [u8; 16],
    /// SecurityMode.
    pub security_mode: u16,
    /// The dialect in use.
    pub dialect: Dialect,
}

impl ValidateNegotiateResponse {
    /// Decodes the output buffer.
    ///
    /// # Errors
    /// [`WireError::Truncated`].
    pub fn parse(output: &[u8]) -> Result<Self, WireError> {
        need(output, 24, "VALIDATE_NEGOTIATE_INFO response")?;
        Ok(Self {
            capabilities: le32(output, 0),
            guid: bytes16(output, 4),
            security_mode: le16(output, 20),
            dialect: Dialect(le16(output, 22)),
        })
    }

    /// Encodes the output buffer.
    pub fn to_bytes(&self) -> [u8; 24] {
        let mut b = [0u8; 24];
        b[..4].copy_from_slice(&self.capabilities.to_le_bytes());
        b[4..20].copy_from_slice(&self.guid);
        b[20..22].copy_from_slice(&self.security_mode.to_le_bytes());
        b[22..].copy_from_slice(&self.dialect.0.to_le_bytes());
        b
    }
}

/// REQ_GET_DFS_REFERRAL (MS-DFSC 2.2.2), the input of FSCTL_DFS_GET_REFERRALS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DfsReferralRequest {
    /// MaxReferralLevel (1 to 4).
    pub max_referral_level: u16,
    /// RequestFileName, e.g. `\server\share\dir`.
    pub file_name: String,
}

impl DfsReferralRequest {
    /// Decodes the input buffer (the name ends at its NUL).
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(input: &[u8]) -> Result<Self, WireError> {
        need(input, 2, "REQ_GET_DFS_REFERRAL")?;
        Ok(Self { max_referral_level: le16(input, 0), file_name: nul_terminated(&input[2..], "RequestFileName")? })
    }

    /// Encodes the input buffer (the name NUL-terminated).
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut b = Vec::with_capacity(4 + utf16_len(&self.file_name));
        b.extend_from_slice(&self.max_referral_level.to_le_bytes());
        put_utf16(&mut b, &self.file_name);
        b.extend_from_slice(&[0, 0]);
        b
    }
}

/// A UTF-16LE string up to its NUL (or the end).
fn nul_terminated(raw: &[u8], field: &'static str) -> Result<String, WireError> {
    let end = raw.chunks_exact(2).position(|c| c == [0, 0]).map_or(raw.len() & !1, |i| 2 * i);
    utf16(&raw[..end], field)
}

/// One DFS referral entry (v2, v3 or v4; name list referrals are not decoded).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DfsReferral {
    /// VersionNumber.
    pub version: u16,
    /// ServerType (1: root targets).
    pub server_type: u16,
    /// ReferralEntryFlags.
    pub flags: u16,
    /// TimeToLive in seconds.
    pub ttl: u32,
    /// DFSPath.
    pub path: String,
    /// DFSAlternatePath.
    pub alternate_path: String,
    /// NetworkAddress: the target, `\server\share[\path]`.
    pub network_address: String,
}

/// RESP_GET_DFS_REFERRAL (MS-DFSC 2.2.4), the output of FSCTL_DFS_GET_REFERRALS.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DfsReferralResponse {
    /// PathConsumed, in bytes of the request name.
    pub path_consumed: u16,
    /// ReferralHeaderFlags.
    pub header_flags: u32,
    /// The referrals.
    pub referrals: Vec<DfsReferral>,
}

/// The size of a v3/v4 entry (non name-list).
const REFERRAL_V3_LEN: usize = 34;

impl DfsReferralResponse {
    /// Decodes the output buffer.
    ///
    /// # Errors
    /// The [`WireError`] naming the field.
    pub fn parse(output: &[u8]) -> Result<Self, WireError> {
        need(output, 8, "RESP_GET_DFS_REFERRAL")?;
        let count = usize::from(le16(output, 2));
        let mut at = 8;
        let mut referrals = Vec::with_capacity(count.min(64));
        for _ in 0..count {
            let entry =
                output.get(at..).filter(|e| e.len() >= 8).ok_or(WireError::OutOfBounds { field: "ReferralEntry" })?;
            let (version, size) = (le16(entry, 0), usize::from(le16(entry, 2)));
            // Offsets count from the start of the entry; the strings follow all entries.
            let name = |off_at: usize| {
                let off = usize::from(le16(entry, off_at));
                nul_terminated(
                    entry.get(off..).ok_or(WireError::OutOfBounds { field: "DFS referral string" })?,
                    "DFS referral string",
                )
            };
            let (ttl, offsets) = match version {
                2 => {
                    need(entry, 22, "DFS referral v2")?;
                    (le32(entry, 12), [16, 18, 20])
                }
                3 | 4 if le16(entry, 6) & 0x0002 == 0 => {
                    need(entry, REFERRAL_V3_LEN, "DFS referral v3")?;
                    (le32(entry, 8), [12, 14, 16])
                }
                _ => return Err(WireError::BadValue { field: "DFS referral VersionNumber" }),
            };
            referrals.push(DfsReferral {
                version,
                server_type: le16(entry, 4),
                flags: le16(entry, 6),
                ttl,
                path: name(offsets[0])?,
                alternate_path: name(offsets[1])?,
                network_address: name(offsets[2])?,
            });
            if size == 0 {
                return Err(WireError::BadValue { field: "DFS referral Size" });
            }
            at += size;
        }
        Ok(Self { path_consumed: le16(output, 0), header_flags: le32(output, 4), referrals })
    }

    /// Encodes the output buffer with v3 entries (whatever `version` says), strings after them.
    ///
    /// # Errors
    /// [`WireError::BadValue`] when the strings do not fit 16-bit offsets.
    pub fn to_bytes(&self) -> Result<Vec<u8>, WireError> {
        let mut b = Vec::new();
        b.extend_from_slice(&self.path_consumed.to_le_bytes());
        b.extend_from_slice(&fit16(self.referrals.len(), "NumberOfReferrals")?.to_le_bytes());
        b.extend_from_slice(&self.header_flags.to_le_bytes());
        let entries_end = 8 + REFERRAL_V3_LEN * self.referrals.len();
        let mut strings = Vec::new();
        for (i, r) in self.referrals.iter().enumerate() {
            let entry_at = 8 + REFERRAL_V3_LEN * i;
            b.extend_from_slice(&3u16.to_le_bytes());
            b.extend_from_slice(&(REFERRAL_V3_LEN as u16).to_le_bytes());
            b.extend_from_slice(&r.server_type.to_le_bytes());
            b.extend_from_slice(&(r.flags & !0x0002).to_le_bytes());
            b.extend_from_slice(&r.ttl.to_le_bytes());
            for s in [&r.path, &r.alternate_path, &r.network_address] {
                let off = fit16(entries_end + strings.len() - entry_at, "DFS referral offset")?;
                b.extend_from_slice(&off.to_le_bytes());
                put_utf16(&mut strings, s);
                strings.extend_from_slice(&[0, 0]);
            }
            b.extend_from_slice(&[0; 16]); // ServiceSiteGuid
        }
        b.extend_from_slice(&strings);
        Ok(b)
    }
}
