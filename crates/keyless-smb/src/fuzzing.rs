//! Entry points for the cargo-fuzz targets (`fuzz/fuzz_targets/smb_*.rs`), replayed by `cargo test`.
//! Every decoder must refuse or accept without panicking; what it accepts must encode, and the
//! encoding must decode to the same value.

use crate::Message;
use crate::header::Header;

/// Decodes `data` as each type; what decodes re-encodes (with the same header) and decodes equal.
macro_rules! round_trip {
    ($data:expr, $($t:ty),+ $(,)?) => {{
        let data: &[u8] = $data;
        if let Ok(h) = Header::parse(data) {
            let fields = h.fields();
            $(
                if let Ok(m) = <$t>::parse(data) {
                    if let Ok(again) = m.to_vec(&fields) {
                        assert_eq!(again.len(), 64 + m.body_len(), "{}: body_len", stringify!($t));
                        let back = <$t>::parse(&again).expect(concat!(stringify!($t), ": our encoding decodes"));
                        assert_eq!(back, m, "{}: decode(encode(x)) == x", stringify!($t));
                    }
                }
            )+
        }
    }};
}

/// Header decode; what decodes re-encodes to the same 64 bytes.
pub fn header(data: &[u8]) {
    if let Ok(h) = Header::parse(data) {
        let mut again = Vec::new();
        h.fields().encode(&mut again);
        assert_eq!(&again[..], &data[..64]);
    }
    let _ = crate::framing::frame_length(data);
}

/// NEGOTIATE request and response decode, every context checked and its id lists read.
pub fn negotiate_response(data: &[u8]) {
    use crate::negotiate::{NegotiateRequest, NegotiateResponse, parse_id_list};
    if let Ok(n) = NegotiateResponse::parse(data) {
        for c in &n.contexts {
            let _ = parse_id_list(&c.data, "fuzz");
        }
    }
    round_trip!(data, NegotiateRequest, NegotiateResponse);
}

/// SESSION_SETUP request and response.
pub fn session_setup(data: &[u8]) {
    use crate::session_setup::{SessionSetupRequest, SessionSetupResponse};
    round_trip!(data, SessionSetupRequest, SessionSetupResponse);
}

/// Every other message decoder, and the payloads inside them.
pub fn messages(data: &[u8]) {
    use crate::change_notify::*;
    use crate::control::*;
    use crate::create::*;
    use crate::info::*;
    use crate::ioctl::*;
    use crate::lock::*;
    use crate::oplock::*;
    use crate::query_directory::*;
    use crate::read_write::*;
    use crate::tree_connect::*;
    round_trip!(data, Echo, Logoff, TreeDisconnect, Cancel, FlushRequest, FlushResponse, CloseRequest, CloseResponse);
    round_trip!(data, TreeConnectRequest, TreeConnectResponse, ReadRequest, ReadResponse, WriteRequest, WriteResponse);
    round_trip!(data, CreateRequest, CreateResponse, LockRequest, LockResponse, IoctlRequest, IoctlResponse);
    round_trip!(data, QueryDirectoryRequest, QueryDirectoryResponse, ChangeNotifyRequest, ChangeNotifyResponse);
    round_trip!(data, QueryInfoRequest, QueryInfoResponse, SetInfoRequest, SetInfoResponse);
    round_trip!(data, OplockBreak, LeaseBreakNotification, LeaseBreakAck);
    let _ = Break::parse(data);
    if let Ok(e) = crate::error_response::ErrorResponse::parse(data) {
        for c in e.contexts().flatten() {
            let _ = crate::error_response::SymlinkError::parse(c.data);
        }
        let _ = crate::error_response::SymlinkError::parse(e.error_data);
    }
    payloads(data);
}

/// The structures inside buffers (directory entries, create contexts, FSCTL payloads, info).
pub fn payloads(data: &[u8]) {
    use crate::query_directory::{DirectoryClass, entries};
    for c in [
        DirectoryClass::DIRECTORY,
        DirectoryClass::FULL_DIRECTORY,
        DirectoryClass::ID_FULL_DIRECTORY,
        DirectoryClass::ID_BOTH_DIRECTORY,
        DirectoryClass::NAMES,
    ] {
        if let Ok(it) = entries(data, c) {
            for e in it.flatten() {
                let _ = (e.to_info(), e.file_id(), e.short_name_utf16(), e.times());
            }
        }
    }
    let _ = crate::change_notify::FileNotify::parse_all(data);
    let _ = crate::create::Lease::parse(data);
    let _ = crate::ioctl::ValidateNegotiateRequest::parse(data);
    let _ = crate::info::FileRenameInformation::parse(data);
}

/// Compound chain walk: every message of the chain decodes as whatever it is, or is refused.
pub fn compound(data: &[u8]) {
    for m in crate::compound::messages(data) {
        match m {
            Ok(m) => messages(m),
            Err(_) => break,
        }
    }
}

/// TRANSFORM and COMPRESSION headers: what decodes re-encodes to the same bytes.
pub fn transform(data: &[u8]) {
    use crate::transform::{Compressed, TransformHeader};
    if let Ok((h, ciphertext)) = TransformHeader::parse(data) {
        let mut again = Vec::new();
        h.encode(&mut again);
        again.extend_from_slice(ciphertext);
        // Reserved (bytes 40..42) is the one field a receiver ignores and a sender zeroes.
        let mut expected = data.to_vec();
        expected[40..42].fill(0);
        assert_eq!(again, expected);
    }
    if let Ok(c) = Compressed::parse(data) {
        let mut again = Vec::new();
        if c.encode(&mut again).is_ok() {
            assert_eq!(Compressed::parse(&again).ok(), Some(c.clone()));
        }
        let _ = c.decompress_simple();
    }
}

/// MS-DFSC referral requests and responses (IOCTL payloads): what decodes re-encodes and
/// decodes equal.
pub fn dfs_referral(data: &[u8]) {
    use crate::dfs::{ReferralRequest, ReferralRequestEx, ReferralResponse};
    if let Ok(r) = ReferralResponse::parse(data)
        && let Ok(again) = r.to_bytes()
    {
        assert_eq!(ReferralResponse::parse(&again).as_ref(), Ok(&r), "decode(encode(response))");
    }
    if let Ok(r) = ReferralRequest::parse(data) {
        assert_eq!(ReferralRequest::parse(&r.to_bytes()).as_ref(), Ok(&r), "decode(encode(request))");
    }
    if let Ok(r) = ReferralRequestEx::parse(data)
        && let Ok(again) = r.to_bytes()
    {
        assert_eq!(ReferralRequestEx::parse(&again).as_ref(), Ok(&r), "decode(encode(request_ex))");
    }
}
