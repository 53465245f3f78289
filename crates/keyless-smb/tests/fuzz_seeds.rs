//! The committed seed corpora of the SMB fuzz targets replay through their entry points (so
//! `cargo test` runs what the fuzzers start from).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use std::path::Path;

/// A fuzz target's entry point.
type Entry = fn(&[u8]);

#[test]
fn seed_corpora_replay() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let targets: [(&str, Entry); 7] = [
        ("smb_header", keyless_smb::fuzzing::header),
        ("smb_dfs_referral", keyless_smb::fuzzing::dfs_referral),
        ("smb_negotiate_response", keyless_smb::fuzzing::negotiate_response),
        ("smb_session_setup", keyless_smb::fuzzing::session_setup),
        ("smb_messages", keyless_smb::fuzzing::messages),
        ("smb_compound", keyless_smb::fuzzing::compound),
        ("smb_transform", keyless_smb::fuzzing::transform),
    ];
    for (target, run) in targets {
        let dir = corpus.join(target);
        let seeds: Vec<_> = std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())).collect();
        assert!(!seeds.is_empty(), "{target} has no seeds");
        for seed in seeds {
            run(&std::fs::read(seed.unwrap().path()).unwrap());
        }
    }
}

/// Writes seeds made by our encoders (run with `--ignored` after adding a message type; the
/// captures under testdata/captures/public-smb2 seed the real-world shapes).
#[test]
#[ignore = "writes into fuzz/corpus"]
fn write_encoder_seeds() {
    use keyless_smb::Message;
    use keyless_smb::compound::CompoundBuilder;
    use keyless_smb::control::CloseRequest;
    use keyless_smb::create::{CreateContext, CreateRequest, context_name};
    use keyless_smb::header::{HeaderFields, flags};
    use keyless_smb::info::{FileInfoClass, InfoType, QueryInfoRequest};
    use keyless_smb::query_directory::{DirectoryClass, DirectoryInfo, QueryDirectoryResponse};
    use keyless_smb::transform::{ChainedPayload, Compressed, CompressionAlgorithm, TransformHeader};
    use keyless_smb::{Command, Dialect};

    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus");
    let write = |target: &str, name: &str, bytes: &[u8]| {
        std::fs::create_dir_all(corpus.join(target)).unwrap();
        std::fs::write(corpus.join(target).join(name), bytes).unwrap();
    };
    let h = |c: Command| HeaderFields::request(c, 3, 0x11, 7);
    let lease = keyless_smb::create::Lease { key: [1; 16], state: 7, flags: 0, v2: Some(([2; 16], 1)) }.to_bytes();
    let create = CreateRequest {
        name: "dir\\file.txt".into(),
        contexts: vec![
            CreateContext::new(context_name::MAXIMAL_ACCESS, &[]),
            CreateContext::new(context_name::LEASE, &lease),
        ],
        ..Default::default()
    };
    let query = QueryInfoRequest {
        info_type: InfoType::FILE,
        info_class: FileInfoClass::ALL.0,
        output_buffer_length: 4096,
        ..Default::default()
    };
    let related = HeaderFields { flags: flags::RELATED_OPERATIONS, ..h(Command::QUERY_INFO) };
    let mut chain = Vec::new();
    CompoundBuilder::new(&mut chain)
        .push(&create, &h(Command::CREATE))
        .unwrap()
        .push(&query, &related)
        .unwrap()
        .push(&CloseRequest { flags: 1, file_id: [0xff; 16] }, &related)
        .unwrap();
    write("smb_compound", "create-query-close.bin", &chain);
    write("smb_messages", "create-request-contexts.bin", &create.to_vec(&h(Command::CREATE)).unwrap());
    let mut listing = Vec::new();
    let entries: Vec<DirectoryInfo> =
        ["a.txt", "b"].iter().map(|n| DirectoryInfo { file_name: (*n).into(), ..Default::default() }).collect();
    DirectoryInfo::encode_all(&entries, DirectoryClass::ID_BOTH_DIRECTORY, &mut listing).unwrap();
    write(
        "smb_messages",
        "query-directory-response.bin",
        &QueryDirectoryResponse { output: &listing }.to_vec(&h(Command::QUERY_DIRECTORY)).unwrap(),
    );
    let mut t = Vec::new();
    TransformHeader { original_message_size: 80, flags: 1, session_id: 0x11, ..Default::default() }.encode(&mut t);
    t.extend_from_slice(&[0x42; 80]);
    write("smb_transform", "transform-80.bin", &t);
    let pattern = [0x61u8, 0, 0, 0, 100, 0, 0, 0];
    let mut c = Vec::new();
    Compressed::Chained {
        original_size: 108,
        payloads: vec![
            ChainedPayload {
                algorithm: CompressionAlgorithm::NONE,
                flags: 1,
                original_payload_size: None,
                data: &[0xfe, b'S', b'M', b'B', 64, 0, 0, 0],
            },
            ChainedPayload {
                algorithm: CompressionAlgorithm::PATTERN_V1,
                flags: 0,
                original_payload_size: None,
                data: &pattern,
            },
        ],
    }
    .encode(&mut c)
    .unwrap();
    write("smb_transform", "compressed-chained-pattern.bin", &c);
    let neg = keyless_smb::negotiate::NegotiateRequest {
        dialects: vec![Dialect::SMB_302, Dialect::SMB_311],
        contexts: vec![keyless_smb::negotiate::NegotiateContext::preauth_sha512(&[9; 32])],
        ..Default::default()
    };
    write("smb_negotiate_response", "negotiate-request.bin", &neg.to_vec(&h(Command::NEGOTIATE)).unwrap());

    // Real shapes: the first frame of each command and direction in our Samba captures, and a
    // few of their encrypted frames.
    let captures = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/captures/samba");
    let mut seen = std::collections::BTreeSet::new();
    let mut transforms = 0;
    for path in keyless_testbed::pcap::capture_files(&captures) {
        for f in keyless_testbed::pcap::smb_frames(&path, 445).unwrap() {
            let p = &f.payload;
            if p.starts_with(b"\xfdSMB") && transforms < 3 {
                transforms += 1;
                write("smb_transform", &format!("samba-transform-{transforms}.bin"), p);
            }
            let Ok(h) = keyless_smb::header::Header::parse(p) else { continue };
            let kind = (h.command().0, h.is_response(), h.next_command() != 0);
            if seen.insert(kind) {
                let name =
                    format!("samba-{}-{}.bin", h.command(), if h.is_response() { "response" } else { "request" });
                let target = if kind.2 { "smb_compound" } else { "smb_messages" };
                write(target, &name.to_lowercase(), p);
            }
        }
    }
}

/// Writes the MS-DFSC seeds: a request of each form and a response with every entry shape.
#[test]
#[ignore = "writes into fuzz/corpus"]
fn write_dfs_seeds() {
    use keyless_smb::dfs::{Referral, ReferralRequest, ReferralRequestEx, ReferralResponse, Target, entry_flags};
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus/smb_dfs_referral");
    std::fs::create_dir_all(&dir).unwrap();
    let path = |s: &str| Target::Path {
        dfs_path: "\\ns\\dfs\\link".into(),
        alternate_path: "\\NS\\DFS\\LINK".into(),
        address: s.into(),
    };
    let entry = |version, flags, target| Referral { version, server_type: 0, flags, ttl: 300, target };
    let response = ReferralResponse {
        path_consumed: 24,
        flags: 2,
        entries: vec![
            Referral {
                version: 1,
                server_type: 1,
                flags: 0,
                ttl: 0,
                target: Target::Path {
                    dfs_path: String::new(),
                    alternate_path: String::new(),
                    address: "\\a\\s".into(),
                },
            },
            entry(2, 0, path("\\b\\share")),
            entry(3, 0, path("\\c\\share")),
            entry(
                3,
                entry_flags::NAME_LIST_REFERRAL,
                Target::NameList {
                    special_name: "example.com".into(),
                    expanded: vec!["dc1.example.com".into(), "dc2.example.com".into()],
                },
            ),
            entry(4, entry_flags::TARGET_SET_BOUNDARY, path("\\d\\share")),
        ],
    };
    std::fs::write(dir.join("response-every-version.bin"), response.to_bytes().unwrap()).unwrap();
    let request = ReferralRequest { max_level: 4, path: "\\ns\\dfs\\link\\dir".into() };
    std::fs::write(dir.join("request.bin"), request.to_bytes()).unwrap();
    let ex = ReferralRequestEx { max_level: 4, path: "\\ns\\dfs".into(), site: Some("Default-First-Site-Name".into()) };
    std::fs::write(dir.join("request-ex.bin"), ex.to_bytes().unwrap()).unwrap();
}
