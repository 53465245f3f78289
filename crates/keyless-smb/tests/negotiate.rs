//! NEGOTIATE: our request (3.1.1 with contexts) to a real Samba smbd, its response read through
//! the checked view; and the view's refusals of malformed responses.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_smb::header::{Header, HeaderFields};
use keyless_smb::negotiate::{
    ContextType, HashAlgorithm, NegotiateContext, NegotiateRequest, NegotiateResponse, parse_id_list, security_mode,
};
use keyless_smb::{Command, Dialect, Message, NtStatus, WireError, framing};
use keyless_testbed::{ScratchDir, SmbMode, Smbd};
use std::io::{Read, Write};

fn request() -> Vec<u8> {
    let req = NegotiateRequest {
        security_mode: security_mode::SIGNING_ENABLED,
        capabilities: 0x7f,
        client_guid: *b"keyless-smb-test",
        dialects: vec![Dialect::SMB_202, Dialect::SMB_21, Dialect::SMB_30, Dialect::SMB_302, Dialect::SMB_311],
        contexts: vec![
            NegotiateContext::preauth_sha512(&[0x5a; 32]),
            NegotiateContext::id_list(ContextType::ENCRYPTION, &[4, 2, 3, 1]),
            NegotiateContext::id_list(ContextType::SIGNING, &[2, 1, 0]),
            NegotiateContext::netname("127.0.0.1"),
        ],
    };
    let mut msg = Vec::new();
    req.encode(&HeaderFields::request(Command::NEGOTIATE, 0, 0, 0), &mut msg).unwrap();
    msg
}

#[test]
fn negotiate_311_with_samba() {
    let scratch = ScratchDir::new("smb-negotiate");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Encrypt, None) else { return };
    let msg = request();
    let mut frame = Vec::new();
    framing::write_frame_header(msg.len(), &mut frame).unwrap();
    frame.extend_from_slice(&msg);
    let mut s = std::net::TcpStream::connect(("127.0.0.1", smbd.port)).unwrap();
    s.write_all(&frame).unwrap();
    let mut head = [0u8; 4];
    s.read_exact(&mut head).unwrap();
    let mut resp = vec![0u8; framing::payload_length(&head).unwrap()];
    s.read_exact(&mut resp).unwrap();

    let h = Header::parse(&resp).unwrap();
    assert!(h.is_response());
    assert_eq!((h.command(), h.status()), (Command::NEGOTIATE, NtStatus::SUCCESS), "{}", smbd.log());
    let n = NegotiateResponse::parse(&resp).unwrap();
    assert_eq!(n.dialect, Dialect::SMB_311);
    assert!(n.security_mode & security_mode::SIGNING_REQUIRED != 0, "signing is mandatory on this server");
    assert!(n.max_read_size >= 65536);
    assert!(n.security_buffer.starts_with(&[0x60]), "an SPNEGO NegTokenInit2 hint");
    let mut seen = Vec::new();
    for c in &n.contexts {
        let (kind, data) = (c.kind, &c.data[..]);
        seen.push(kind);
        match kind {
            ContextType::PREAUTH_INTEGRITY => {
                // HashAlgorithmCount, SaltLength, HashAlgorithms, Salt.
                assert_eq!(u16::from_le_bytes([data[0], data[1]]), 1);
                assert_eq!(u16::from_le_bytes([data[4], data[5]]), HashAlgorithm::SHA512.0);
                assert_eq!(
                    data.len(),
                    6 + usize::from(u16::from_le_bytes([data[2], data[3]])),
                    "the salt fills the rest"
                );
            }
            ContextType::ENCRYPTION => {
                let ciphers = parse_id_list(data, "Ciphers").unwrap();
                assert_eq!(ciphers.len(), 1);
                assert!([1, 2, 3, 4].contains(&ciphers[0]), "{ciphers:?}");
            }
            ContextType::SIGNING => {
                let algs = parse_id_list(data, "SigningAlgorithms").unwrap();
                assert_eq!(algs.len(), 1);
                assert!([0, 1, 2].contains(&algs[0]), "{algs:?}");
            }
            _ => {}
        }
    }
    assert!(seen.contains(&ContextType::PREAUTH_INTEGRITY) && seen.contains(&ContextType::ENCRYPTION), "{seen:?}");
}

#[test]
fn malformed_negotiate_responses_are_typed_errors() {
    let mut msg = Vec::new();
    HeaderFields { flags: 1, ..HeaderFields::request(Command::NEGOTIATE, 0, 0, 0) }.encode(&mut msg);
    assert!(matches!(NegotiateResponse::parse(&msg), Err(WireError::Truncated { .. })));
    let mut body = vec![0u8; 64];
    body[0] = 65;
    body[4..6].copy_from_slice(&0x0311u16.to_le_bytes());
    body[6] = 1; // one context...
    body[56..58].copy_from_slice(&200u16.to_le_bytes()); // security buffer past the end
    body[58] = 10;
    let mut m = msg.clone();
    m.extend_from_slice(&body);
    assert_eq!(NegotiateResponse::parse(&m).unwrap_err(), WireError::OutOfBounds { field: "SecurityBuffer" });
    body[58] = 0;
    body[60..64].copy_from_slice(&129u32.to_le_bytes()); // misaligned context offset
    let mut m = msg.clone();
    m.extend_from_slice(&body);
    assert_eq!(NegotiateResponse::parse(&m).unwrap_err(), WireError::Misaligned { field: "NegotiateContextOffset" });
    body[60..64].copy_from_slice(&128u32.to_le_bytes()); // ...that is not there
    let mut m = msg;
    m.extend_from_slice(&body);
    assert!(matches!(NegotiateResponse::parse(&m), Err(WireError::OutOfBounds { .. })));
}

#[test]
fn samba_response_re_encodes_byte_for_byte() {
    // A NEGOTIATE response of Debian's smbd, kept as a fuzz seed.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../fuzz/corpus/smb_negotiate_response/negotiate-response-311.bin");
    {
        let data = std::fs::read(path).unwrap();
        let n = NegotiateResponse::parse(&data).unwrap();
        assert_eq!((n.dialect, n.contexts.len()), (Dialect::SMB_311, 2));
        let mut again = Vec::new();
        n.encode(&Header::parse(&data).unwrap().fields(), &mut again).unwrap();
        assert_eq!(again, data, "a Samba response re-encodes byte for byte");
    }
}

#[test]
fn tshark_dissects_our_negotiate_request() {
    let scratch = ScratchDir::new("tshark-negotiate");
    let msg = request();
    let mut frame = Vec::new();
    framing::write_frame_header(msg.len(), &mut frame).unwrap();
    frame.extend_from_slice(&msg);
    let Some(d) = keyless_testbed::tshark::dissect(
        &scratch,
        &[frame],
        &["smb2.cmd", "smb2.msg_id", "smb2.dialect", "smb2.negotiate_context.type", "smb2.client_guid"],
    ) else {
        return;
    };
    assert_eq!(d.malformed, 0, "tshark calls our NEGOTIATE malformed:\n{}", d.verbose);
    assert_eq!(d.fields.len(), 1, "{:?}", d.fields);
    let f: Vec<&str> = d.fields[0].split('\t').collect();
    assert_eq!(f[0], "0", "command NEGOTIATE");
    assert_eq!(f[1], "0", "message id");
    assert_eq!(f[2], "0x0202,0x0210,0x0300,0x0302,0x0311", "dialects");
    assert_eq!(f[3], "0x0001,0x0002,0x0008,0x0005", "negotiate contexts, in order");
}
