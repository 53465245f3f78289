//! Malformed input: every decoder returns a typed error naming the structure or field, never a
//! panic. Targeted corruptions of each kind of field, and every truncation of real encodings.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_smb::compound::messages;
use keyless_smb::create::{CreateContext, CreateRequest, CreateResponse, context_name};
use keyless_smb::error_response::ErrorResponse;
use keyless_smb::header::HeaderFields;
use keyless_smb::ioctl::{IoctlRequest, IoctlResponse};
use keyless_smb::lock::{LockElement, LockRequest};
use keyless_smb::query_directory::{DirectoryClass, DirectoryInfo, QueryDirectoryResponse, entries};
use keyless_smb::read_write::{ReadResponse, WriteRequest};
use keyless_smb::transform::{Compressed, TransformHeader};
use keyless_smb::tree_connect::TreeConnectRequest;
use keyless_smb::{Command, Message, WireError};

fn hdr() -> HeaderFields {
    HeaderFields::request(Command::CREATE, 1, 2, 3)
}

fn set32(m: &mut [u8], at: usize, v: u32) {
    m[at..at + 4].copy_from_slice(&v.to_le_bytes());
}

#[test]
fn offsets_and_lengths_that_leave_the_message_are_named() {
    let ctx = [CreateContext::new(context_name::MAXIMAL_ACCESS, &[])];
    let create = CreateRequest { name: "a\\b.txt".into(), contexts: ctx.to_vec(), ..Default::default() };
    let m = create.to_vec(&hdr()).unwrap();
    let mut bad = m.clone();
    bad[64 + 46] = 0xf0; // NameLength past the end
    assert_eq!(CreateRequest::parse(&bad).unwrap_err(), WireError::OutOfBounds { field: "CREATE Name" });
    let mut bad = m.clone();
    bad[64 + 46] = 3; // odd UTF-16 length
    assert_eq!(CreateRequest::parse(&bad).unwrap_err(), WireError::Misaligned { field: "CREATE Name" });
    let mut bad = m.clone();
    set32(&mut bad, 64 + 48, 70); // contexts inside the fixed body
    assert_eq!(CreateRequest::parse(&bad).unwrap_err(), WireError::OutOfBounds { field: "CreateContexts" });
    let mut bad = m.clone();
    let ctx_at = u32::from_le_bytes(m[64 + 48..64 + 52].try_into().unwrap()) as usize;
    bad[ctx_at + 6] = 200; // context NameLength past the context
    assert_eq!(CreateRequest::parse(&bad).unwrap_err(), WireError::OutOfBounds { field: "CreateContext Name" });

    let resp = CreateResponse { contexts: ctx.to_vec(), ..Default::default() };
    let m = resp.to_vec(&hdr()).unwrap();
    let mut bad = m.clone();
    set32(&mut bad, 64 + 84, 1000);
    assert_eq!(CreateResponse::parse(&bad).unwrap_err(), WireError::OutOfBounds { field: "CreateContexts" });

    let m = ReadResponse { data_offset: 0x50, data_remaining: 0, data: b"hello" }.to_vec(&hdr()).unwrap();
    let mut bad = m.clone();
    bad[64 + 4] = 200;
    assert_eq!(ReadResponse::parse(&bad).unwrap_err(), WireError::OutOfBounds { field: "READ response Data" });
    let mut bad = m.clone();
    bad[64 + 2] = 10; // data inside the header
    assert_eq!(ReadResponse::parse(&bad).unwrap_err(), WireError::OutOfBounds { field: "READ response Data" });

    let m = WriteRequest { data: b"abc", ..Default::default() }.to_vec(&hdr()).unwrap();
    let mut bad = m.clone();
    bad[64 + 2] = 0x78; // data elsewhere than right after the fixed body
    assert_eq!(WriteRequest::parse(&bad).unwrap_err(), WireError::OutOfBounds { field: "WRITE Data" });

    let m = IoctlRequest { input: b"in", ..Default::default() }.to_vec(&hdr()).unwrap();
    let mut bad = m.clone();
    set32(&mut bad, 64 + 40, 4); // OutputCount in a request
    assert_eq!(IoctlRequest::parse(&bad).unwrap_err(), WireError::BadValue { field: "IOCTL OutputCount" });
    let m = IoctlResponse { output: b"out", ..Default::default() }.to_vec(&hdr()).unwrap();
    let mut bad = m.clone();
    set32(&mut bad, 64 + 36, u32::MAX);
    assert_eq!(IoctlResponse::parse(&bad).unwrap_err(), WireError::OutOfBounds { field: "IOCTL Output" });

    let m =
        LockRequest { lock_sequence: 0, file_id: [1; 16], locks: vec![LockElement::default()] }.to_vec(&hdr()).unwrap();
    let mut bad = m.clone();
    bad[64 + 2] = 3; // three locks, one there
    assert_eq!(LockRequest::parse(&bad).unwrap_err(), WireError::OutOfBounds { field: "Locks" });
    bad[64 + 2] = 0;
    assert_eq!(LockRequest::parse(&bad).unwrap_err(), WireError::BadValue { field: "LockCount" });

    let m = TreeConnectRequest { flags: 0, path: "\\\\srv\\share".into(), contexts: vec![] }.to_vec(&hdr()).unwrap();
    let mut bad = m.clone();
    bad[64 + 6] = 0xfe;
    assert_eq!(TreeConnectRequest::parse(&bad).unwrap_err(), WireError::OutOfBounds { field: "Path" });

    let mut e = Vec::new();
    ErrorResponse { context_count: 1, error_data: &[4, 0, 0, 0, 0, 0, 0, 0, 1, 2] }.encode(&hdr(), &mut e).unwrap();
    let back = ErrorResponse::parse(&e).unwrap();
    // ErrorDataLength 4 with two bytes there.
    assert_eq!(back.contexts().next().unwrap().unwrap_err(), WireError::OutOfBounds { field: "ErrorContext" });
    set32(&mut e, 64 + 4, 100);
    assert_eq!(ErrorResponse::parse(&e).unwrap_err(), WireError::OutOfBounds { field: "ERROR ByteCount" });
}

#[test]
fn chains_that_loop_or_leave_are_refused() {
    let mut listing = Vec::new();
    let two = [
        DirectoryInfo { file_name: "a".into(), ..Default::default() },
        DirectoryInfo { file_name: "b".into(), ..Default::default() },
    ];
    DirectoryInfo::encode_all(&two, DirectoryClass::ID_BOTH_DIRECTORY, &mut listing).unwrap();
    let m = QueryDirectoryResponse { output: &listing }.to_vec(&hdr()).unwrap();
    let out = QueryDirectoryResponse::parse(&m).unwrap().output;
    assert_eq!(entries(out, DirectoryClass::ID_BOTH_DIRECTORY).unwrap().count(), 2);
    let mut bad = out.to_vec();
    set32(&mut bad, 0, 4); // NextEntryOffset inside the entry
    let errs: Vec<_> = entries(&bad, DirectoryClass::ID_BOTH_DIRECTORY).unwrap().map(|e| e.err()).collect();
    assert_eq!(errs, [Some(WireError::OutOfBounds { field: "directory entry" })]);
    let mut bad = out.to_vec();
    set32(&mut bad, 60, 500); // FileNameLength past the entry
    let first = entries(&bad, DirectoryClass::ID_BOTH_DIRECTORY).unwrap().next().unwrap();
    assert_eq!(first.unwrap_err(), WireError::OutOfBounds { field: "directory entry FileNameLength" });
    assert!(entries(out, DirectoryClass(0x99)).is_err(), "an unknown information class is refused");

    // A compound whose NextCommand is misaligned, points back, or past the end.
    let mut chain = keyless_smb::control::Echo.to_vec(&hdr()).unwrap();
    chain.extend_from_slice(&chain.clone());
    for (next, want) in [
        (68, WireError::Misaligned { field: "NextCommand" }),
        (8, WireError::OutOfBounds { field: "NextCommand" }),
        (4096, WireError::OutOfBounds { field: "NextCommand" }),
    ] {
        let mut bad = chain.clone();
        set32(&mut bad, 20, next);
        assert_eq!(messages(&bad).find_map(Result::err), Some(want));
    }
}

#[test]
fn wrappers_are_checked() {
    let mut t = Vec::new();
    TransformHeader { original_message_size: 10, ..Default::default() }.encode(&mut t);
    t.extend_from_slice(&[0; 9]);
    assert_eq!(TransformHeader::parse(&t).unwrap_err(), WireError::BadValue { field: "OriginalMessageSize" });
    assert!(matches!(TransformHeader::parse(&t[..40]), Err(WireError::Truncated { .. })));
    let mut c = Vec::new();
    Compressed::Unchained {
        original_size: 10,
        algorithm: keyless_smb::transform::CompressionAlgorithm::LZ77,
        prefix: b"abc",
        compressed: b"",
    }
    .encode(&mut c)
    .unwrap();
    set32(&mut c, 12, 50);
    assert_eq!(
        Compressed::parse(&c).unwrap_err(),
        WireError::OutOfBounds { field: "COMPRESSION_TRANSFORM_HEADER Offset" }
    );
    c[10] = 1; // chained: the first payload header now claims 50 bytes
    assert_eq!(Compressed::parse(&c).unwrap_err(), WireError::OutOfBounds { field: "chained payload Length" });
    assert_eq!(
        Compressed::parse(b"\xfeSMB").unwrap_err(),
        WireError::Truncated { structure: "COMPRESSION_TRANSFORM_HEADER", need: 16, got: 4 }
    );
}

/// Every prefix of every message we encode decodes to an error or to something, never a panic;
/// prefixes shorter than header + fixed body are always errors.
#[test]
fn every_truncation_is_an_error_not_a_panic() {
    let ctx = [CreateContext::new(context_name::LEASE, &[7; 32])];
    let encodings = [
        CreateRequest { name: r"dir\file".into(), contexts: ctx.to_vec(), ..Default::default() }
            .to_vec(&hdr())
            .unwrap(),
        CreateResponse { contexts: ctx.to_vec(), ..Default::default() }.to_vec(&hdr()).unwrap(),
        IoctlResponse { input: b"in", output: b"output", ..Default::default() }.to_vec(&hdr()).unwrap(),
        ReadResponse { data_offset: 0x50, data_remaining: 0, data: b"data" }.to_vec(&hdr()).unwrap(),
    ];
    for m in &encodings {
        for cut in 0..m.len() {
            let part = &m[..cut];
            keyless_smb::fuzzing::messages(part);
            if cut < 64 + 48 {
                assert!(CreateRequest::parse(part).is_err() && CreateResponse::parse(part).is_err());
                assert!(IoctlResponse::parse(part).is_err());
            }
        }
    }
}
