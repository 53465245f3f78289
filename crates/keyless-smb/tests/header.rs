//! The SMB2 header: encode/decode round trips (proptest), and typed errors for malformed input.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_smb::header::{Header, HeaderFields, flags};
use keyless_smb::{Command, NtStatus, WireError};
use proptest::prelude::*;

fn any_fields() -> impl Strategy<Value = HeaderFields> {
    (
        any::<u16>(),
        any::<u32>(),
        any::<u16>(),
        any::<u16>(),
        any::<u32>(),
        any::<u32>(),
        any::<u64>(),
        any::<u64>(),
        any::<u64>(),
        any::<[u8; 16]>(),
    )
        .prop_map(
            |(
                credit_charge,
                status,
                command,
                credits,
                flags,
                next_command,
                message_id,
                async_or_tree,
                session_id,
                signature,
            )| HeaderFields {
                credit_charge,
                status: NtStatus(status),
                command: Command(command),
                credits,
                flags,
                next_command,
                message_id,
                async_or_tree,
                session_id,
                signature,
            },
        )
}

proptest! {
    #[test]
    fn header_round_trip(h in any_fields(), tail in proptest::collection::vec(any::<u8>(), 0..32)) {
        let mut bytes = Vec::new();
        h.encode(&mut bytes);
        prop_assert_eq!(bytes.len(), 64);
        bytes.extend_from_slice(&tail);
        let view = Header::parse(&bytes).unwrap();
        prop_assert_eq!(view.fields(), h);
        prop_assert_eq!(view.is_async(), h.flags & flags::ASYNC_COMMAND != 0);
        prop_assert_eq!(view.tree_id().is_some(), !view.is_async());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..100)) {
        if let Ok(h) = Header::parse(&bytes) {
            let _ = (h.command(), h.status(), h.signature(), h.async_id(), h.tree_id());
        }
    }
}

#[test]
fn malformed_headers_say_what_is_wrong() {
    assert_eq!(
        Header::parse(&[0xfe, b'S']).unwrap_err(),
        WireError::Truncated { structure: "SMB2 header", need: 64, got: 2 }
    );
    let mut good = Vec::new();
    HeaderFields::request(Command::ECHO, 7, 0, 0).encode(&mut good);
    let mut bad = good.clone();
    bad[0] = 0xff;
    assert_eq!(Header::parse(&bad).unwrap_err(), WireError::BadProtocolId { got: [0xff, b'S', b'M', b'B'] });
    let mut bad = good.clone();
    bad[4] = 65;
    assert_eq!(Header::parse(&bad).unwrap_err(), WireError::BadStructureSize { structure: "SMB2 header", got: 65 });
    let h = Header::parse(&good).unwrap();
    assert_eq!((h.command(), h.message_id(), h.credit_charge()), (Command::ECHO, 7, 1));
    assert_eq!(h.command().to_string(), "ECHO");
    assert_eq!(NtStatus(0xC000_006D).to_string(), "STATUS_LOGON_FAILURE");
}
