//! MS-DFSC referral messages: decode(encode(x)) == x for requests and responses of every entry
//! version (proptest), a response laid out as MS-DFSC 4.5 describes Windows's (entries first,
//! every string after them), and the malformed shapes a hostile server can send, each refused
//! with the field named.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_smb::WireError;
use keyless_smb::dfs::*;
use proptest::collection::vec;
use proptest::prelude::*;

fn path() -> impl Strategy<Value = String> {
    "(\\\\[a-zA-Z0-9é._-]{1,12}){0,4}"
}

fn referral() -> impl Strategy<Value = Referral> {
    (1u16..=4, any::<bool>(), any::<u32>(), path(), path(), path(), vec(path(), 0..4), any::<bool>()).prop_map(
        |(version, root, ttl, dfs_path, alternate_path, address, names, boundary)| {
            let server_type = u16::from(root);
            match version {
                1 => Referral {
                    version,
                    server_type,
                    flags: 0,
                    ttl: 0,
                    target: Target::Path { dfs_path: String::new(), alternate_path: String::new(), address },
                },
                3 if boundary => Referral {
                    version,
                    server_type,
                    flags: entry_flags::NAME_LIST_REFERRAL,
                    ttl,
                    target: Target::NameList { special_name: dfs_path, expanded: names },
                },
                _ => Referral {
                    version,
                    server_type,
                    flags: if version == 4 && boundary { entry_flags::TARGET_SET_BOUNDARY } else { 0 },
                    ttl,
                    target: Target::Path { dfs_path, alternate_path, address },
                },
            }
        },
    )
}

proptest! {
    #[test]
    fn requests_round_trip(level in 1u16..=4, p in path(), site in proptest::option::of(path())) {
        let r = ReferralRequest { max_level: level, path: p.clone() };
        prop_assert_eq!(ReferralRequest::parse(&r.to_bytes()).unwrap(), r.clone());
        keyless_smb::fuzzing::dfs_referral(&r.to_bytes());
        let ex = ReferralRequestEx { max_level: level, path: p, site };
        let bytes = ex.to_bytes().unwrap();
        prop_assert_eq!(ReferralRequestEx::parse(&bytes).unwrap(), ex);
        keyless_smb::fuzzing::dfs_referral(&bytes);
    }

    #[test]
    fn responses_round_trip(consumed in any::<u16>(), flags in 0u32..8, entries in vec(referral(), 0..6)) {
        let r = ReferralResponse { path_consumed: consumed, flags, entries };
        let bytes = r.to_bytes().unwrap();
        prop_assert_eq!(ReferralResponse::parse(&bytes).unwrap(), r);
        keyless_smb::fuzzing::dfs_referral(&bytes);
        // Every cut short of the whole is refused, never misread.
        for cut in 0..bytes.len() {
            if let Ok(short) = ReferralResponse::parse(&bytes[..cut]) {
                prop_assert!(short.entries.is_empty() || cut >= 8, "{cut}");
            }
        }
    }
}

fn link(address: &str) -> Referral {
    Referral {
        version: 4,
        server_type: 0,
        flags: entry_flags::TARGET_SET_BOUNDARY,
        ttl: 300,
        target: Target::Path {
            dfs_path: "\\ns\\dfs\\link".into(),
            alternate_path: "\\ns\\dfs\\link".into(),
            address: address.into(),
        },
    }
}

#[test]
fn entries_come_first_and_strings_after_them() {
    let r = ReferralResponse {
        path_consumed: 2 * "\\ns\\dfs\\link".len() as u16,
        flags: header_flags::STORAGE_SERVERS,
        entries: vec![link("\\a\\share"), link("\\b\\share")],
    };
    let b = r.to_bytes().unwrap();
    // Header 8, two version-4 entries of 34: the first string at 76.
    assert_eq!(u16::from_le_bytes([b[8], b[9]]), 4);
    assert_eq!(u16::from_le_bytes([b[10], b[11]]), 34);
    let first_dfs_path = usize::from(u16::from_le_bytes([b[8 + 12], b[8 + 13]]));
    assert_eq!(8 + first_dfs_path, 76);
    let second_address = usize::from(u16::from_le_bytes([b[42 + 16], b[42 + 17]]));
    let at = 42 + second_address;
    let text: Vec<u16> = b[at..at + 18].chunks(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    assert_eq!(String::from_utf16(&text).unwrap(), "\\b\\share\0");
}

#[test]
fn hostile_responses_are_refused_by_field() {
    let good = ReferralResponse { path_consumed: 8, flags: 2, entries: vec![link("\\a\\share")] }.to_bytes().unwrap();
    let only_address =
        Target::Path { dfs_path: String::new(), alternate_path: String::new(), address: "\\a\\s".into() };
    let v1 = ReferralResponse {
        path_consumed: 0,
        flags: 0,
        entries: vec![Referral { version: 1, server_type: 0, flags: 0, ttl: 0, target: only_address }],
    }
    .to_bytes()
    .unwrap();
    let set16 = |b: &mut Vec<u8>, at: usize, v: u16| b[at..at + 2].copy_from_slice(&v.to_le_bytes());
    let cases: Vec<(Vec<u8>, WireError)> = vec![
        // More entries announced than there are (version 1 keeps its string inside the entry,
        // so the walk meets the end).
        (
            {
                let mut b = v1.clone();
                set16(&mut b, 2, 3);
                b
            },
            WireError::Truncated { structure: "DFS_REFERRAL entry", need: 8, got: 0 },
        ),
        // ... or than a string buffer makes sense as.
        (
            {
                let mut b = good.clone();
                set16(&mut b, 2, 3);
                b
            },
            WireError::BadValue { field: "DFS_REFERRAL VersionNumber" },
        ),
        // An entry version MS-DFSC does not define.
        (
            {
                let mut b = good.clone();
                set16(&mut b, 8, 9);
                b
            },
            WireError::BadValue { field: "DFS_REFERRAL VersionNumber" },
        ),
        // A Size below the entry's fixed part (which would make the walk stand still).
        (
            {
                let mut b = good.clone();
                set16(&mut b, 10, 0);
                b
            },
            WireError::BadValue { field: "DFS_REFERRAL Size" },
        ),
        // An offset out of the response.
        (
            {
                let mut b = good.clone();
                set16(&mut b, 8 + 16, 0xFFF0);
                b
            },
            WireError::OutOfBounds { field: "DFS_REFERRAL NetworkAddressOffset" },
        ),
        // An offset into the entry's own fixed part.
        (
            {
                let mut b = good.clone();
                set16(&mut b, 8 + 12, 2);
                b
            },
            WireError::OutOfBounds { field: "DFS_REFERRAL DFSPathOffset" },
        ),
        // A string without its terminator.
        (
            {
                let mut b = good.clone();
                let n = b.len();
                b.truncate(n - 2);
                b
            },
            WireError::BadValue { field: "DFS_REFERRAL NetworkAddressOffset" },
        ),
        // Shorter than the header.
        (good[..5].to_vec(), WireError::Truncated { structure: "RESP_GET_DFS_REFERRAL", need: 8, got: 5 }),
    ];
    for (bytes, want) in cases {
        assert_eq!(ReferralResponse::parse(&bytes), Err(want));
    }
    // Zero targets decode as zero: the client, not the codec, says that is no answer.
    let none = ReferralResponse { path_consumed: 0, flags: 0, entries: Vec::new() }.to_bytes().unwrap();
    assert!(ReferralResponse::parse(&none).unwrap().entries.is_empty());
    // A count of 65535 over a few bytes costs nothing.
    let mut many = good.clone();
    set16(&mut many, 2, u16::MAX);
    assert!(ReferralResponse::parse(&many).is_err());
}

#[test]
fn entries_the_version_cannot_carry_are_not_encoded() {
    let mut v1 = link("\\a\\share");
    v1.version = 1;
    let r = ReferralResponse { path_consumed: 0, flags: 0, entries: vec![v1] };
    assert_eq!(r.to_bytes(), Err(WireError::BadValue { field: "DFS_REFERRAL entry for its version and flags" }));
}
