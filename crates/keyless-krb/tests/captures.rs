//! Replies captured from a real MIT KDC (`testdata/captures/mit-krb5`) decode, decrypt with the
//! recorded keys, and carry what the KDC log said they carry.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_crypto::{EncType, Key, KeyUsage, for_etype};
use keyless_krb::messages::{KdcReply, decode_enc_kdc_rep_part, decode_reply, error_code};
use keyless_krb::{KrbErrorCode, Principal};

fn capture(name: &str) -> Vec<u8> {
    std::fs::read(keyless_kat::testdata_dir().join("captures/mit-krb5").join(name)).unwrap()
}

#[test]
fn captured_as_and_tgs_replies_decrypt() {
    let kat = keyless_kat::load("captures/mit-krb5/replies.kat");
    let r = &kat.records[0];
    let etype = EncType(r.int("enctype"));
    let e = for_etype(etype).unwrap();
    let user_key = e.string_to_key(&r.bytes("password"), &r.bytes("salt"), None).unwrap();

    let KdcReply::As(as_rep) = decode_reply(&capture(&r.text("as_rep_file"))).unwrap() else { panic!("not an AS-REP") };
    assert_eq!(Principal::from_asn1(&as_rep.0.crealm, &as_rep.0.cname).to_string(), "alice@EXAMPLE.TEST");
    let plain = e.decrypt(&user_key, KeyUsage::AS_REP_ENC_PART, as_rep.0.enc_part.cipher.as_ref()).unwrap();
    // MIT tags the AS-REP's enc-part as EncTGSRepPart; the decoder takes both.
    let enc = decode_enc_kdc_rep_part(&plain).unwrap();
    let tgt_key = r.bytes("tgt_session_key");
    assert_eq!(enc.key.value.as_ref(), &tgt_key[..]);

    let KdcReply::Tgs(tgs_rep) = decode_reply(&capture(&r.text("tgs_rep_file"))).unwrap() else {
        panic!("not a TGS-REP")
    };
    let session = Key::from_bytes(EncType(enc.key.r#type), &tgt_key).unwrap();
    let plain = for_etype(session.etype())
        .unwrap()
        .decrypt(&session, KeyUsage::TGS_REP_ENC_PART_SESSION_KEY, tgs_rep.0.enc_part.cipher.as_ref())
        .unwrap();
    let enc = decode_enc_kdc_rep_part(&plain).unwrap();
    assert_eq!(Principal::from_asn1(&enc.srealm, &enc.sname).to_string(), "cifs/files.example.test@EXAMPLE.TEST");

    let KdcReply::Error(err) = decode_reply(&capture("krb-error-preauth-required.bin")).unwrap() else {
        panic!("not a KRB-ERROR")
    };
    assert_eq!(error_code(&err), KrbErrorCode::KDC_ERR_PREAUTH_REQUIRED);
}

#[test]
fn kkdcp_seeds_unwrap_to_the_captured_messages() {
    let body =
        std::fs::read(keyless_kat::testdata_dir().join("../fuzz/corpus/krb_kkdcp/as-rep-aes256-reply.bin")).unwrap();
    assert_eq!(keyless_krb::kkdcp::unwrap_reply(&body).unwrap(), capture("as-rep-aes256.bin"));
    let body =
        std::fs::read(keyless_kat::testdata_dir().join("../fuzz/corpus/krb_kkdcp/tgs-rep-aes256-request.bin")).unwrap();
    let (message, realm) = keyless_krb::kkdcp::unwrap_request(&body).unwrap();
    assert_eq!((message, realm.as_str()), (capture("tgs-rep-aes256.bin"), "EXAMPLE.TEST"));
}

#[test]
fn fuzz_corpora_replay_without_panic() {
    for (target, f) in [
        ("krb_kdc_reply", keyless_krb::fuzzing::kdc_reply as fn(&[u8])),
        ("krb_ccache", keyless_krb::fuzzing::ccache),
        ("krb_keytab", keyless_krb::fuzzing::keytab),
        ("krb_kkdcp", keyless_krb::fuzzing::kkdcp),
        ("krb_kcm_reply", keyless_krb::fuzzing::kcm_reply),
        ("krb_keyring_payload", keyless_krb::fuzzing::keyring_payload),
        ("krb_pac", keyless_krb::fuzzing::pac),
    ] {
        let dir = keyless_kat::testdata_dir().join("../fuzz/corpus").join(target);
        let mut n = 0;
        for entry in std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display())) {
            f(&std::fs::read(entry.unwrap().path()).unwrap());
            n += 1;
        }
        assert!(n > 0, "{target}: empty corpus");
    }
}

/// The PAC of a service ticket Samba's AD DC issued to alice (kept as the `krb_pac` fuzz seed,
/// recorded by `crates/keyless-cli/tests/ad_dc.rs`): every buffer decodes.
#[test]
fn a_samba_ad_pac_decodes() {
    let bytes = std::fs::read(keyless_kat::testdata_dir().join("../fuzz/corpus/krb_pac/samba-ad-dc-alice")).unwrap();
    let pac = keyless_krb::pac::Pac::parse(&bytes).unwrap();
    let kinds: Vec<u32> = pac.buffers.iter().map(|b| b.kind.0).collect();
    assert_eq!(kinds, [1, 10, 12, 6, 7, 16, 19]);
    let info = pac.logon_info().unwrap().unwrap();
    assert_eq!((info.effective_name.as_str(), info.logon_domain_name.as_str()), ("alice", "ADTEST"));
    assert_eq!((info.user_id, info.primary_group_id), (1102, 513));
    let user = info.user_sid().unwrap().to_string();
    assert!(user.starts_with("S-1-5-21-") && user.ends_with("-1102"), "{user}");
    assert_eq!(info.group_sids().last().map(ToString::to_string).as_deref(), Some("S-1-18-1"));
    assert_eq!(pac.client_info().unwrap().unwrap().1, "alice");
    let upn = pac.upn_dns().unwrap().unwrap();
    assert_eq!((upn.upn.as_str(), upn.sam_name.as_deref()), ("alice@ad.example.test", Some("alice")));
    assert_eq!(upn.sid.map(|s| s.to_string()), Some(user));
}
