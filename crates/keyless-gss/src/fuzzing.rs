//! Entry points for the cargo-fuzz targets (`fuzz/fuzz_targets/gss_*.rs`), replayed by
//! `cargo test` too. None may panic on any input.

use crate::{framing, spnego};

/// GSS framing and SPNEGO decoding, both token kinds; what decodes must re-encode and decode
/// to the same value.
pub fn spnego(data: &[u8]) {
    if let Ok((oid, inner)) = framing::unwrap(data) {
        assert_eq!(framing::unwrap(&framing::wrap(oid, inner)).ok(), Some((oid, inner)));
    }
    if let Ok(init) = spnego::parse_init(data) {
        let _ = spnego::mech_list_bytes(&init.mech_types);
    }
    if let Ok(resp) = spnego::parse_resp(data) {
        if let Ok(bytes) = spnego::resp_token(resp.clone()) {
            assert_eq!(spnego::parse_resp(&bytes).ok(), Some(resp));
        }
    }
}
