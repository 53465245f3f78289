//! Entry points for the cargo-fuzz targets (`fuzz/fuzz_targets/smb_*.rs`), replayed by `cargo test`.

use crate::header::Header;

/// Header decode; what decodes re-encodes to the same 64 bytes.
pub fn header(data: &[u8]) {
    if let Ok(h) = Header::parse(data) {
        let mut again = Vec::new();
        h.fields().encode(&mut again);
        assert_eq!(&again[..], &data[..64]);
    }
    let _ = crate::framing::frame_length(data);
}

/// NEGOTIATE response decode, every context checked and its id lists read.
pub fn negotiate_response(data: &[u8]) {
    if let Ok(n) = crate::negotiate::NegotiateResponse::parse(data) {
        let _ = (n.dialect(), n.security_buffer(), n.max_read_size(), n.server_guid());
        for (_, d) in n.negotiate_contexts().flatten() {
            let _ = crate::negotiate::parse_id_list(d, "fuzz");
        }
    }
}
