//! TREE_CONNECT, ECHO, LOGOFF, TREE_DISCONNECT, FLUSH, CLOSE: round trips (proptest), malformed
//! input, and tshark's dissection of every request we encode, in one capture.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_smb::control::{self, CloseRequest, CloseResponse, FlushRequest};
use keyless_smb::header::HeaderFields;
use keyless_smb::tree_connect::{TreeConnectRequest, TreeConnectResponse};
use keyless_smb::{Command, WireError, framing};
use proptest::prelude::*;

fn hdr(command: Command, mid: u64) -> HeaderFields {
    HeaderFields::request(command, mid, 0x1122_3344, 7)
}

proptest! {
    #[test]
    fn tree_connect_round_trip(flags in 0u16..8, path in "\\\\\\\\[a-zA-Z0-9.é]{1,20}\\\\[a-zA-Z0-9$ü]{1,12}", access in any::<u32>(), sflags in any::<u32>()) {
        let req = TreeConnectRequest { flags, path };
        let mut m = Vec::new();
        req.encode(&hdr(Command::TREE_CONNECT, 3), &mut m).unwrap();
        prop_assert_eq!(TreeConnectRequest::parse(&m).unwrap(), req);
        let resp = TreeConnectResponse { share_type: 1, share_flags: sflags, capabilities: 0, maximal_access: access };
        let mut m = Vec::new();
        resp.encode(&hdr(Command::TREE_CONNECT, 3), &mut m);
        prop_assert_eq!(TreeConnectResponse::parse(&m).unwrap(), resp);
        keyless_smb::fuzzing::messages(&m);
    }

    #[test]
    fn close_and_flush_round_trip(id in any::<[u8; 16]>(), flags in any::<u16>(), times in any::<[u64; 4]>(), size in any::<u64>(), attrs in any::<u32>()) {
        let req = CloseRequest { flags, file_id: id };
        let mut m = Vec::new();
        req.encode(&hdr(Command::CLOSE, 9), &mut m);
        prop_assert_eq!(CloseRequest::parse(&m).unwrap(), req);
        let resp = CloseResponse { flags, times, allocation_size: size, end_of_file: size / 2, file_attributes: attrs };
        let mut m = Vec::new();
        resp.encode(&hdr(Command::CLOSE, 9), &mut m);
        prop_assert_eq!(CloseResponse::parse(&m).unwrap(), resp);
        let flush = FlushRequest { file_id: id };
        let mut m = Vec::new();
        flush.encode(&hdr(Command::FLUSH, 10), &mut m);
        prop_assert_eq!(FlushRequest::parse(&m).unwrap(), flush);
    }
}

#[test]
fn malformed_bodies_are_typed_errors() {
    let mut m = Vec::new();
    TreeConnectRequest { flags: 0, path: "\\\\srv\\share".into() }
        .encode(&hdr(Command::TREE_CONNECT, 1), &mut m)
        .unwrap();
    let mut bad = m.clone();
    bad[64 + 6] = 0xfe; // an even path length past the end
    assert_eq!(TreeConnectRequest::parse(&bad).unwrap_err(), WireError::OutOfBounds { field: "Path" });
    let mut bad = m.clone();
    bad[64 + 6] = 3; // odd UTF-16 length
    assert_eq!(TreeConnectRequest::parse(&bad).unwrap_err(), WireError::Misaligned { field: "PathLength" });
    assert!(matches!(CloseResponse::parse(&m), Err(WireError::Truncated { .. } | WireError::BadStructureSize { .. })));
    let mut e = Vec::new();
    control::encode_empty(Command::ECHO, &hdr(Command::ECHO, 2), &mut e).unwrap();
    control::parse_empty(&e).unwrap();
    assert!(control::encode_empty(Command::READ, &hdr(Command::READ, 2), &mut e).is_err());
}

#[test]
fn tshark_dissects_every_request() {
    let scratch = keyless_testbed::ScratchDir::new("tshark-messages");
    let mut messages: Vec<Vec<u8>> = Vec::new();
    let mut m = Vec::new();
    TreeConnectRequest { flags: 0, path: "\\\\files.example.test\\share".into() }
        .encode(&hdr(Command::TREE_CONNECT, 3), &mut m)
        .unwrap();
    messages.push(m);
    for (i, c) in [Command::ECHO, Command::TREE_DISCONNECT, Command::LOGOFF].into_iter().enumerate() {
        let mut m = Vec::new();
        control::encode_empty(c, &hdr(c, 4 + i as u64), &mut m).unwrap();
        messages.push(m);
    }
    let mut m = Vec::new();
    FlushRequest { file_id: [0xab; 16] }.encode(&hdr(Command::FLUSH, 7), &mut m);
    messages.push(m);
    let mut m = Vec::new();
    CloseRequest { flags: 1, file_id: [0xab; 16] }.encode(&hdr(Command::CLOSE, 8), &mut m);
    messages.push(m);
    let frames: Vec<Vec<u8>> = messages
        .iter()
        .map(|msg| {
            let mut f = Vec::new();
            framing::write_frame_header(msg.len(), &mut f).unwrap();
            f.extend_from_slice(msg);
            f
        })
        .collect();
    let Some(d) =
        keyless_testbed::tshark::dissect(&scratch, &frames, &["smb2.cmd", "smb2.msg_id", "smb2.tree", "smb2.sesid"])
    else {
        return;
    };
    assert_eq!(d.malformed, 0, "{}", d.verbose);
    let rows: Vec<Vec<String>> = d.fields.iter().map(|l| l.split('\t').map(str::to_string).collect()).collect();
    let cmds: Vec<&str> = rows.iter().map(|r| r[0].as_str()).collect();
    assert_eq!(cmds, ["3", "13", "4", "2", "7", "6"], "{:?}", d.fields);
    let ids: Vec<&str> = rows.iter().map(|r| r[1].as_str()).collect();
    assert_eq!(ids, ["3", "4", "5", "6", "7", "8"]);
    assert_eq!(rows[0][2], "\\\\files.example.test\\share");
    assert!(rows.iter().all(|r| r[3] == "0x0000000011223344"), "{:?}", d.fields);
}
