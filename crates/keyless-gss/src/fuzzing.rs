//! Entry points for the cargo-fuzz targets (`fuzz/fuzz_targets/gss_*.rs`), replayed by
//! `cargo test` too. None may panic on any input.

use crate::{framing, krb5, ntlmssp, spnego};

/// GSS framing and SPNEGO decoding, both token kinds; what decodes must re-encode and decode
/// to the same value.
pub fn spnego(data: &[u8]) {
    if let Ok((oid, inner)) = framing::unwrap(data) {
        assert_eq!(framing::unwrap(&framing::wrap(oid, inner)).ok(), Some((oid, inner)));
    }
    if let Ok(init) = spnego::parse_init(data) {
        let _ = spnego::mech_list_bytes(&init.mech_types);
    }
    if let Ok(resp) = spnego::parse_resp(data)
        && let Ok(bytes) = spnego::resp_token(resp.clone())
    {
        assert_eq!(spnego::parse_resp(&bytes).ok(), Some(resp));
    }
}

/// NTLMSSP message decoding; a CHALLENGE that decodes must re-encode to one that decodes the same.
pub fn ntlmssp(data: &[u8]) {
    if let Ok(c) = ntlmssp::Challenge::parse(data) {
        assert_eq!(ntlmssp::Challenge::parse(&c.encode()).ok(), Some(c));
    }
    let _ = ntlmssp::Authenticate::parse(data);
    let _ = ntlmssp::av_pairs(data);
}

/// Kerberos GSS tokens: an acceptor given arbitrary AP-REQ tokens (with an empty keytab), an
/// initiator given arbitrary AP-REP tokens, and a context given arbitrary MIC/Wrap tokens.
pub fn krb5_tokens(data: &[u8]) {
    struct Zeros;
    impl keyless_krb::RandomSource for Zeros {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), keyless_krb::Error> {
            buf.fill(0);
            Ok(())
        }
    }
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000);
    let _ = krb5::accept(&keyless_krb::keytab::Keytab::default(), data, now, &mut Zeros);
    let Ok(key) = keyless_crypto::Key::from_bytes(keyless_crypto::EncType::AES128_CTS_HMAC_SHA1_96, &[1; 16]) else {
        return;
    };
    let Ok(realm) = keyless_krb::principal::realm_asn1("R") else { return };
    let ticket = rasn_kerberos::Ticket {
        tkt_vno: 5.into(),
        realm,
        sname: rasn_kerberos::PrincipalName { r#type: 1, string: vec![] },
        enc_part: rasn_kerberos::EncryptedData { etype: 17, kvno: None, cipher: vec![0; 32].into() },
    };
    let cred = keyless_krb::Credential {
        client: keyless_krb::Principal {
            realm: "R".into(),
            name_type: keyless_krb::principal::NameType::PRINCIPAL,
            components: vec!["c".into()],
        },
        server: keyless_krb::Principal {
            realm: "R".into(),
            name_type: keyless_krb::principal::NameType::PRINCIPAL,
            components: vec!["s".into()],
        },
        session_key: key,
        auth_time: 0,
        start_time: 0,
        end_time: 0,
        renew_till: 0,
        flags: 0,
        ticket: rasn::der::encode(&ticket).unwrap_or_default(),
    };
    if let Ok((initiator, _)) = krb5::Initiator::start(&cred, krb5::flags::MUTUAL, &[0; 16], now, &mut Zeros) {
        let mut ctx = initiator.without_reply();
        let _ = ctx.unwrap(data);
        let _ = ctx.verify_mic(b"message", data);
        if let Ok((initiator, _)) = krb5::Initiator::start(&cred, krb5::flags::MUTUAL, &[0; 16], now, &mut Zeros) {
            let _ = initiator.handle_reply(data);
        }
    }
}

/// The kernel's cifs.spnego key descriptions: what parses names a host and gives a reply whose
/// header states the lengths that follow.
pub fn cifs_upcall(data: &[u8]) {
    if let Ok(r) = crate::cifs_upcall::Request::parse(&String::from_utf8_lossy(data)) {
        assert!(!r.host.is_empty());
        let reply = crate::cifs_upcall::reply(r.host.as_bytes(), data);
        assert_eq!(reply.len(), 16 + r.host.len() + data.len());
    }
}
