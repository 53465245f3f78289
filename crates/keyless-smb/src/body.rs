//! The one check every message body starts with.

use crate::{WireError, header};

/// The body after a checked header: at least `need` bytes, with StructureSize `size`.
pub(crate) fn fixed<'a>(
    message: &'a [u8],
    need: usize,
    size: u16,
    structure: &'static str,
) -> Result<&'a [u8], WireError> {
    header::Header::parse(message)?;
    let body = message.get(header::LEN..).filter(|b| b.len() >= need).ok_or(WireError::Truncated {
        structure,
        need: header::LEN + need,
        got: message.len(),
    })?;
    if u16::from_le_bytes([body[0], body[1]]) != size {
        return Err(WireError::BadStructureSize { structure, got: u16::from_le_bytes([body[0], body[1]]) });
    }
    Ok(body)
}
