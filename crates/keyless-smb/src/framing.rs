//! Direct TCP transport (MS-SMB2 2.1): every SMB2 message (or compound, or transform) travels
//! behind a 4-byte header, a zero byte and a 24-bit big-endian length.

use crate::WireError;

/// Largest frame keyless accepts: 16 MiB of payload, far over any negotiated maximum.
pub const MAX_FRAME: usize = 0x00ff_ffff;

/// Splits the first complete frame off `buf`: `Ok(Some((payload_len, consumed)))` when a whole
/// frame is there, `Ok(None)` when more bytes are needed.
///
/// # Errors
/// [`WireError::BadValue`] when the first byte is not zero (NetBIOS session messages other than
/// "session message" are not SMB2).
pub fn frame_length(buf: &[u8]) -> Result<Option<(usize, usize)>, WireError> {
    let Some(head) = buf.first_chunk::<4>() else { return Ok(None) };
    let len = payload_length(head)?;
    Ok((buf.len() >= 4 + len).then_some((len, 4 + len)))
}

/// The payload length a 4-byte Direct TCP header announces.
///
/// # Errors
/// [`WireError::BadValue`] when the first byte is not zero.
pub fn payload_length(head: &[u8; 4]) -> Result<usize, WireError> {
    if head[0] != 0 {
        return Err(WireError::BadValue { field: "Direct TCP header" });
    }
    Ok(usize::from(head[1]) << 16 | usize::from(head[2]) << 8 | usize::from(head[3]))
}

/// Writes the 4-byte header for a payload of `len` bytes.
///
/// # Errors
/// [`WireError::BadValue`] for a payload over [`MAX_FRAME`].
pub fn write_frame_header(len: usize, out: &mut Vec<u8>) -> Result<(), WireError> {
    if len > MAX_FRAME {
        return Err(WireError::BadValue { field: "Direct TCP length" });
    }
    out.extend_from_slice(&[0, (len >> 16) as u8, (len >> 8) as u8, len as u8]);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_whole_frames_only() {
        assert_eq!(frame_length(&[0, 0, 0]), Ok(None));
        assert_eq!(frame_length(&[0, 0, 0, 2, 9]), Ok(None));
        assert_eq!(frame_length(&[0, 0, 0, 2, 9, 9, 7]), Ok(Some((2, 6))));
        assert!(frame_length(&[0x85, 0, 0, 0]).is_err());
        let mut h = Vec::new();
        write_frame_header(0x01_0203, &mut h).unwrap();
        assert_eq!(h, [0, 1, 2, 3]);
        assert!(write_frame_header(MAX_FRAME + 1, &mut h).is_err());
    }
}
