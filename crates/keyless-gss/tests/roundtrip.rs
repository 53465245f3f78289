//! Property tests: SPNEGO tokens round-trip; Kerberos GSS MIC and Wrap tokens made by one side
//! open on the other for every AES enctype, sealed or not, with any RRC rotation (Windows sends
//! RRC 28); altered tokens and replays are refused. The context pair comes from a real
//! AP-REQ/AP-REP exchange made with a local service key.
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_crypto::{EncType, Key, KeyUsage, for_etype};
use keyless_gss::krb5::{self, Context, flags};
use keyless_gss::spnego;
use keyless_krb::keytab::{Keytab, KeytabEntry};
use keyless_krb::{Credential, Principal, RandomSource};
use proptest::prelude::*;
use std::time::SystemTime;

struct Counter(u8);
impl RandomSource for Counter {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), keyless_krb::Error> {
        for b in buf {
            self.0 = self.0.wrapping_mul(167).wrapping_add(13);
            *b = self.0;
        }
        Ok(())
    }
}

/// A ticket made locally with a service key, and the keytab holding that key.
fn ticket_and_keytab(etype: EncType) -> (Credential, Keytab) {
    let e = for_etype(etype).unwrap();
    let service = Principal::parse("cifs/files.example.test@EXAMPLE.TEST", None).unwrap();
    let client = Principal::parse("alice@EXAMPLE.TEST", None).unwrap();
    let service_key = Key::from_bytes(etype, &vec![0x42; e.key_len()]).unwrap();
    let session_key = Key::from_bytes(etype, &vec![0x24; e.key_len()]).unwrap();
    let now = keyless_krb::time::unix_seconds(SystemTime::now());
    let part = rasn_kerberos::EncTicketPart {
        flags: rasn_kerberos::TicketFlags(keyless_krb::messages::flags(0)),
        key: rasn_kerberos::EncryptionKey { r#type: etype.0, value: session_key.expose_bytes().to_vec().into() },
        crealm: keyless_krb::principal::realm_asn1("EXAMPLE.TEST").unwrap(),
        cname: client.to_asn1().unwrap(),
        transited: rasn_kerberos::TransitedEncoding { r#type: 0, contents: vec![].into() },
        auth_time: keyless_krb::time::kerberos_time(now),
        start_time: None,
        end_time: keyless_krb::time::kerberos_time(now + 3600),
        renew_till: None,
        caddr: None,
        authorization_data: None,
    };
    let plain = rasn::der::encode(&part).unwrap();
    let cipher = e.encrypt(&service_key, KeyUsage::TICKET, &[7; 16][..e.confounder_len()], &plain).unwrap();
    let ticket = rasn_kerberos::Ticket {
        tkt_vno: 5.into(),
        realm: keyless_krb::principal::realm_asn1("EXAMPLE.TEST").unwrap(),
        sname: service.to_asn1().unwrap(),
        enc_part: rasn_kerberos::EncryptedData { etype: etype.0, kvno: Some(1), cipher: cipher.into() },
    };
    let cred = Credential {
        client,
        server: service.clone(),
        session_key,
        auth_time: now,
        start_time: 0,
        end_time: now + 3600,
        renew_till: 0,
        flags: 0,
        ticket: rasn::der::encode(&ticket).unwrap(),
    };
    let keytab = Keytab {
        entries: vec![KeytabEntry {
            principal: service,
            timestamp: 0,
            kvno: 1,
            enctype: etype.0,
            key: service_key.expose_zeroizing(),
        }],
    };
    (cred, keytab)
}

fn pair(etype: EncType, seed: u8) -> (Context, Context) {
    let (cred, keytab) = ticket_and_keytab(etype);
    let mut rng = Counter(seed);
    let now = SystemTime::now();
    let (init, token) =
        krb5::Initiator::start(&cred, flags::MUTUAL | flags::CONF | flags::INTEG, &[0; 16], now, &mut rng).unwrap();
    let accepted = krb5::accept(&keytab, &token, now, &mut rng).unwrap();
    assert_eq!(accepted.client.to_string(), "alice@EXAMPLE.TEST");
    let client = init.handle_reply(accepted.reply.as_deref().unwrap()).unwrap();
    assert_eq!(client.session_key().expose_bytes(), accepted.context.session_key().expose_bytes());
    (client, accepted.context)
}

/// Rotates a Wrap token's data right by `rrc` and records RRC in the header, as Windows does.
fn rotate(token: &[u8], rrc: u16) -> Vec<u8> {
    let mut out = token.to_vec();
    out[6..8].copy_from_slice(&rrc.to_be_bytes());
    let data = &mut out[16..];
    if !data.is_empty() {
        let n = usize::from(rrc) % data.len();
        data.rotate_right(n);
    }
    out
}

proptest! {
    #[test]
    fn wrap_and_mic_between_initiator_and_acceptor(
        etype in proptest::sample::select(vec![EncType::AES128_CTS_HMAC_SHA1_96, EncType::AES256_CTS_HMAC_SHA1_96, EncType::AES128_CTS_HMAC_SHA256_128, EncType::AES256_CTS_HMAC_SHA384_192]),
        seed in any::<u8>(),
        message in proptest::collection::vec(any::<u8>(), 0..300),
        seal in any::<bool>(),
        rrc in proptest::sample::select(vec![0u16, 12, 28, 1000]),
        flip in any::<prop::sample::Index>(),
    ) {
        let (mut client, mut server) = pair(etype, seed);
        let mut rng = Counter(seed ^ 0x5a);
        let token = client.wrap(&message, seal, &mut rng).unwrap();
        prop_assert_eq!(server.unwrap(&rotate(&token, rrc)).unwrap(), message.clone());
        // Replaying the same token is refused.
        prop_assert!(server.unwrap(&token).is_err());
        let mic = server.get_mic(&message).unwrap();
        let mut bad = mic.clone();
        let i = flip.index(bad.len());
        bad[i] ^= 1;
        prop_assert!(client.verify_mic(&message, &bad).is_err());
        client.verify_mic(&message, &mic).unwrap();
    }

    #[test]
    fn spnego_resp_round_trip(state in 0u8..4, token in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..100)), mic in proptest::option::of(proptest::collection::vec(any::<u8>(), 0..40))) {
        let neg_state = [spnego::NegState::AcceptCompleted, spnego::NegState::AcceptIncomplete, spnego::NegState::Reject, spnego::NegState::RequestMic][usize::from(state)];
        let resp = spnego::NegTokenResp {
            neg_state: Some(neg_state),
            supported_mech: Some(spnego::oid(spnego::oid::KRB5)),
            response_token: token.map(Into::into),
            mech_list_mic: mic.map(Into::into),
        };
        let bytes = spnego::resp_token(resp.clone()).unwrap();
        prop_assert_eq!(spnego::parse_resp(&bytes).unwrap(), resp);
        keyless_gss::fuzzing::spnego(&bytes);
    }
}

#[test]
fn spnego_init_round_trip_and_fuzz_seed_replay() {
    let mechs = [spnego::oid(spnego::oid::MS_KRB5), spnego::oid(spnego::oid::KRB5), spnego::oid(spnego::oid::NTLMSSP)];
    let token = spnego::init_token(&mechs, b"\x60\x01x").unwrap();
    let init = spnego::parse_init(&token).unwrap();
    assert_eq!(init.mech_types, mechs);
    assert_eq!(init.mech_token.as_deref(), Some(&b"\x60\x01x"[..]));
    let dir = keyless_kat_dir().join("../fuzz/corpus/gss_spnego");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        keyless_gss::fuzzing::spnego(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n > 0);
}

fn keyless_kat_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata"))
}

proptest! {
    #[test]
    fn ntlm_challenge_round_trip(flags in any::<u32>(), challenge in any::<[u8; 8]>(), name in "[a-zA-Z0-9]{0,15}", pairs in proptest::collection::vec((1u16..10, proptest::collection::vec(any::<u8>(), 0..20)), 0..4)) {
        let mut info = Vec::new();
        for (id, v) in &pairs {
            info.extend_from_slice(&id.to_le_bytes());
            info.extend_from_slice(&u16::try_from(v.len()).unwrap().to_le_bytes());
            info.extend_from_slice(v);
        }
        info.extend_from_slice(&[0; 4]);
        let c = keyless_gss::ntlmssp::Challenge { flags, server_challenge: challenge, target_name: name, target_info: info };
        prop_assert_eq!(keyless_gss::ntlmssp::Challenge::parse(&c.encode()).unwrap(), c);
    }
}

#[test]
fn krb5_token_fuzz_seeds_replay() {
    let dir = keyless_kat_dir().join("../fuzz/corpus/gss_krb5");
    for entry in std::fs::read_dir(&dir).unwrap() {
        keyless_gss::fuzzing::krb5_tokens(&std::fs::read(entry.unwrap().path()).unwrap());
    }
}

#[test]
fn cifs_upcall_fuzz_seed_replay() {
    let dir = keyless_kat_dir().join("../fuzz/corpus/gss_cifs_upcall");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        keyless_gss::fuzzing::cifs_upcall(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n > 0);
}
