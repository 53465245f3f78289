//! Entry points for the cargo-fuzz targets (`fuzz/fuzz_targets/gss_*.rs`), replayed by
//! `cargo test` too. None may panic on any input.

use crate::{framing, ntlmssp, spnego};

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

/// NTLMSSP message decoding; a CHALLENGE that decodes must re-encode to one that decodes the same.
pub fn ntlmssp(data: &[u8]) {
    if let Ok(c) = ntlmssp::Challenge::parse(data) {
        assert_eq!(ntlmssp::Challenge::parse(&c.encode()).ok(), Some(c));
    }
    let _ = ntlmssp::Authenticate::parse(data);
    let _ = ntlmssp::av_pairs(data);
}
