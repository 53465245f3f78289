//! SESSION_SETUP: round trips (proptest), malformed input, and tshark's dissection of ours.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_smb::header::HeaderFields;
use keyless_smb::session_setup::{SessionSetupRequest, SessionSetupResponse};
use keyless_smb::{Command, Message, WireError, framing};
use proptest::prelude::*;

proptest! {
    #[test]
    fn request_round_trip(flags in any::<u8>(), mode in any::<u8>(), caps in any::<u32>(), prev in any::<u64>(), token in proptest::collection::vec(any::<u8>(), 0..300), mid in any::<u64>(), sid in any::<u64>()) {
        let req = SessionSetupRequest { flags, security_mode: mode, capabilities: caps, channel: 0, previous_session_id: prev, security_buffer: &token };
        let mut msg = Vec::new();
        req.encode(&HeaderFields::request(Command::SESSION_SETUP, mid, sid, 0), &mut msg).unwrap();
        prop_assert_eq!(SessionSetupRequest::parse(&msg).unwrap(), req);
        keyless_smb::fuzzing::session_setup(&msg);
    }

    #[test]
    fn response_round_trip(flags in any::<u16>(), token in proptest::collection::vec(any::<u8>(), 0..300)) {
        let resp = SessionSetupResponse { session_flags: flags, security_buffer: &token };
        let mut msg = Vec::new();
        resp.encode(&HeaderFields { flags: 1, ..HeaderFields::request(Command::SESSION_SETUP, 1, 2, 0) }, &mut msg).unwrap();
        prop_assert_eq!(SessionSetupResponse::parse(&msg).unwrap(), resp);
    }
}

#[test]
fn malformed_session_setup_is_a_typed_error() {
    let token = [0x60u8; 10];
    let mut msg = Vec::new();
    SessionSetupResponse { session_flags: 0, security_buffer: &token }
        .encode(&HeaderFields::request(Command::SESSION_SETUP, 1, 2, 0), &mut msg)
        .unwrap();
    let mut bad = msg.clone();
    bad[64 + 6] = 200; // length past the end
    assert_eq!(SessionSetupResponse::parse(&bad).unwrap_err(), WireError::OutOfBounds { field: "SecurityBuffer" });
    let mut bad = msg.clone();
    bad[64 + 4] = 8; // offset inside the header
    assert_eq!(SessionSetupResponse::parse(&bad).unwrap_err(), WireError::OutOfBounds { field: "SecurityBuffer" });
    let mut bad = msg.clone();
    bad[64] = 7;
    assert_eq!(
        SessionSetupResponse::parse(&bad).unwrap_err(),
        WireError::BadStructureSize { structure: "SESSION_SETUP response", got: 7 }
    );
    assert!(matches!(SessionSetupRequest::parse(&msg[..70]), Err(WireError::Truncated { .. })));
}

#[test]
fn tshark_dissects_our_session_setup_request() {
    let scratch = keyless_testbed::ScratchDir::new("tshark-session-setup");
    // A real SPNEGO NegTokenInit (NTLMSSP NEGOTIATE inside) as the security buffer.
    let token: Vec<u8> = [
        &[
            0x60, 0x48, 0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02, 0xa0, 0x3e, 0x30, 0x3c, 0xa0, 0x0e, 0x30, 0x0c,
            0x06, 0x0a, 0x2b, 0x06, 0x01, 0x04, 0x01, 0x82, 0x37, 0x02, 0x02, 0x0a, 0xa2, 0x2a, 0x04, 0x28,
        ][..],
        b"NTLMSSP\0\x01\0\0\0\x35\x82\x08\xe2\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\0\x0a\0\x61\x4a\0\0\0\x0f",
    ]
    .concat();
    let req = SessionSetupRequest { security_mode: 1, security_buffer: &token, ..Default::default() };
    let mut msg = Vec::new();
    req.encode(&HeaderFields::request(Command::SESSION_SETUP, 1, 0, 0), &mut msg).unwrap();
    let mut frame = Vec::new();
    framing::write_frame_header(msg.len(), &mut frame).unwrap();
    frame.extend_from_slice(&msg);
    let Some(d) = keyless_testbed::tshark::dissect(
        &scratch,
        &[frame],
        &["smb2.cmd", "smb2.msg_id", "ntlmssp.messagetype", "spnego.MechType"],
    ) else {
        return;
    };
    assert_eq!(d.malformed, 0, "{}", d.verbose);
    let f: Vec<&str> = d.fields[0].split('\t').collect();
    assert_eq!((f[0], f[1], f[2]), ("1", "1", "0x00000001"), "{:?}", d.fields);
    assert_eq!(f[3], "1.3.6.1.4.1.311.2.2.10");
}
