//! READ, WRITE, ERROR: round trips with data ranges (no copies), malformed input, tshark.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_smb::header::HeaderFields;
use keyless_smb::read_write::{ErrorResponse, ReadRequest, ReadResponse, WriteRequest, WriteResponse};
use keyless_smb::{Command, WireError, framing};
use proptest::prelude::*;

proptest! {
    #[test]
    fn read_write_round_trip(len in any::<u32>(), off in any::<u64>(), id in any::<[u8; 16]>(), data in proptest::collection::vec(any::<u8>(), 0..2000)) {
        let h = HeaderFields::request(Command::READ, 5, 6, 7);
        let req = ReadRequest { flags: 0, length: len, offset: off, file_id: id, minimum_count: 1 };
        let mut m = Vec::new();
        req.encode(&h, &mut m);
        prop_assert_eq!(m.len(), 64 + 49);
        prop_assert_eq!(ReadRequest::parse(&m).unwrap(), req);

        let mut m = Vec::new();
        ReadResponse::encode(&data, &h, &mut m).unwrap();
        let r = ReadResponse::parse(&m).unwrap();
        prop_assert_eq!(&m[r.data.clone()], &data[..]);

        let w = WriteRequest { length: u32::try_from(data.len()).unwrap(), offset: off, file_id: id, flags: 0 };
        let mut m = Vec::new();
        w.encode_head(&HeaderFields::request(Command::WRITE, 8, 6, 7), &mut m);
        m.extend_from_slice(&data);
        let (parsed, range) = WriteRequest::parse(&m).unwrap();
        prop_assert_eq!(parsed, w);
        prop_assert_eq!(&m[range], &data[..]);

        let mut m = Vec::new();
        WriteResponse { count: len }.encode(&h, &mut m);
        prop_assert_eq!(WriteResponse::parse(&m).unwrap().count, len);
        keyless_smb::fuzzing::messages(&m);
    }
}

#[test]
fn malformed_data_ranges_are_refused() {
    let mut m = Vec::new();
    ReadResponse::encode(b"hello", &HeaderFields::request(Command::READ, 1, 1, 1), &mut m).unwrap();
    let mut bad = m.clone();
    bad[64 + 4] = 200; // DataLength past the end
    assert_eq!(ReadResponse::parse(&bad).unwrap_err(), WireError::OutOfBounds { field: "DataLength" });
    let mut bad = m.clone();
    bad[64 + 2] = 10; // DataOffset inside the header
    assert_eq!(ReadResponse::parse(&bad).unwrap_err(), WireError::OutOfBounds { field: "DataOffset" });
    let mut e = Vec::new();
    HeaderFields::request(Command::CREATE, 1, 1, 1).encode(&mut e);
    e.extend_from_slice(&[9, 0, 0, 0, 4, 0, 0, 0, 1, 2, 3, 4]);
    assert_eq!(ErrorResponse::parse(&e).unwrap().error_data, [1, 2, 3, 4]);
    e[64 + 4] = 50;
    assert_eq!(ErrorResponse::parse(&e).unwrap_err(), WireError::OutOfBounds { field: "ByteCount" });
}

#[test]
fn tshark_dissects_read_and_write() {
    let scratch = keyless_testbed::ScratchDir::new("tshark-rw");
    let id = [0x11; 16];
    let mut read = Vec::new();
    ReadRequest { flags: 0, length: 65536, offset: 4096, file_id: id, minimum_count: 0 }
        .encode(&HeaderFields::request(Command::READ, 10, 1, 1), &mut read);
    let mut write = Vec::new();
    WriteRequest { length: 11, offset: 0, file_id: id, flags: 0 }
        .encode_head(&HeaderFields::request(Command::WRITE, 11, 1, 1), &mut write);
    write.extend_from_slice(b"hello world");
    let frames: Vec<Vec<u8>> = [read, write]
        .iter()
        .map(|msg| {
            let mut f = Vec::new();
            framing::write_frame_header(msg.len(), &mut f).unwrap();
            f.extend_from_slice(msg);
            f
        })
        .collect();
    let Some(d) = keyless_testbed::tshark::dissect(
        &scratch,
        &frames,
        &["smb2.cmd", "smb2.read_length", "smb2.file_offset", "smb2.write_length"],
    ) else {
        return;
    };
    assert_eq!(d.malformed, 0, "{}", d.verbose);
    assert_eq!(d.fields[0].split('\t').take(3).collect::<Vec<_>>(), ["8", "65536", "4096"], "{:?}", d.fields);
    assert_eq!(d.fields[1].split('\t').next(), Some("9"));
    assert!(d.fields[1].ends_with("11"), "{:?}", d.fields);
}
