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

/// SESSION_SETUP request and response decode; what decodes re-encodes and decodes the same.
pub fn session_setup(data: &[u8]) {
    use crate::session_setup::{SessionSetupRequest, SessionSetupResponse};
    if let (Ok(r), Ok(h)) = (SessionSetupRequest::parse(data), crate::header::Header::parse(data)) {
        let mut again = Vec::new();
        if r.encode(&h.fields(), &mut again).is_ok() {
            assert_eq!(SessionSetupRequest::parse(&again).ok(), Some(r));
        }
    }
    if let (Ok(r), Ok(h)) = (SessionSetupResponse::parse(data), crate::header::Header::parse(data)) {
        let mut again = Vec::new();
        if r.encode(&h.fields(), &mut again).is_ok() {
            assert_eq!(SessionSetupResponse::parse(&again).ok(), Some(r));
        }
    }
}

/// Every other message decoder; what decodes re-encodes and decodes the same.
pub fn messages(data: &[u8]) {
    use crate::control::{CloseRequest, CloseResponse, FlushRequest, parse_empty};
    use crate::tree_connect::{TreeConnectRequest, TreeConnectResponse};
    let Ok(h) = crate::header::Header::parse(data) else { return };
    let fields = h.fields();
    let _ = parse_empty(data);
    if let Ok(r) = TreeConnectRequest::parse(data) {
        let mut again = Vec::new();
        if r.encode(&fields, &mut again).is_ok() {
            assert_eq!(TreeConnectRequest::parse(&again).ok(), Some(r));
        }
    }
    if let Ok(r) = TreeConnectResponse::parse(data) {
        let mut again = Vec::new();
        r.encode(&fields, &mut again);
        assert_eq!(TreeConnectResponse::parse(&again).ok(), Some(r));
    }
    if let Ok(r) = CloseRequest::parse(data) {
        let mut again = Vec::new();
        r.encode(&fields, &mut again);
        assert_eq!(CloseRequest::parse(&again).ok(), Some(r));
    }
    if let Ok(r) = CloseResponse::parse(data) {
        let mut again = Vec::new();
        r.encode(&fields, &mut again);
        assert_eq!(CloseResponse::parse(&again).ok(), Some(r));
    }
    if let Ok(r) = crate::read_write::ReadResponse::parse(data) {
        assert!(r.data.end <= data.len());
    }
    if let Ok((w, range)) = crate::read_write::WriteRequest::parse(data) {
        assert_eq!(range.len(), w.length as usize);
    }
    let _ = crate::read_write::ErrorResponse::parse(data);
    let _ = crate::read_write::ReadRequest::parse(data);
    if let Ok(r) = FlushRequest::parse(data) {
        let mut again = Vec::new();
        r.encode(&fields, &mut again);
        assert_eq!(FlushRequest::parse(&again).ok(), Some(r));
    }
}
