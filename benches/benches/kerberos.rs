//! Kerberos decode paths on replies captured from a real MIT KDC
//! (`testdata/captures/mit-krb5`): AS-REP and TGS-REP decode + decrypt + decode of the
//! enc-part, and a TGS-REQ built and decoded, with picky-krb (Devolutions' sspi-rs stack)
//! handling the same bytes in the same run.
#![allow(clippy::disallowed_methods)] // times what it measures
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "benchmarks fail loudly")]

use criterion::{BenchmarkId, Criterion, criterion_group, criterion_main};
use keyless_crypto::{EncType, Key, KeyUsage, for_etype};
use keyless_krb::messages::{KdcReply, decode_enc_kdc_rep_part, decode_reply};
use keyless_krb::{Credential, Principal, Step, TgsExchange, TgsOptions};
use picky_krb::crypto::CipherSuite;
use std::hint::black_box;

struct Capture {
    as_rep: Vec<u8>,
    tgs_rep: Vec<u8>,
    user_key: Key,
    tgt_key: Key,
}

fn capture() -> Capture {
    let kat = keyless_kat::load("captures/mit-krb5/replies.kat");
    let r = &kat.records[0];
    let dir = keyless_kat::testdata_dir().join("captures/mit-krb5");
    let etype = EncType(r.int("enctype"));
    let user_key = for_etype(etype).unwrap().string_to_key(&r.bytes("password"), &r.bytes("salt"), None).unwrap();
    Capture {
        as_rep: std::fs::read(dir.join(r.text("as_rep_file"))).unwrap(),
        tgs_rep: std::fs::read(dir.join(r.text("tgs_rep_file"))).unwrap(),
        tgt_key: Key::from_bytes(etype, &r.bytes("tgt_session_key")).unwrap(),
        user_key,
    }
}

/// keyless: decode the reply, decrypt its enc-part, decode that.
fn keyless_open(reply: &[u8], key: &Key, usage: KeyUsage) -> keyless_krb::Credential {
    let (rep, ticket) = match decode_reply(reply).unwrap() {
        KdcReply::As(r) => (r.0.enc_part, r.0.ticket),
        KdcReply::Tgs(r) => (r.0.enc_part, r.0.ticket),
        KdcReply::Error(_) => panic!("error reply"),
    };
    let plain = for_etype(key.etype()).unwrap().decrypt(key, usage, rep.cipher.as_ref()).unwrap();
    let enc = decode_enc_kdc_rep_part(&plain).unwrap();
    Credential {
        client: Principal::from_asn1(&enc.srealm, &enc.sname),
        server: Principal::from_asn1(&enc.srealm, &enc.sname),
        session_key: Key::from_bytes(EncType(enc.key.r#type), enc.key.value.as_ref()).unwrap(),
        auth_time: 0,
        start_time: 0,
        end_time: 0,
        renew_till: 0,
        flags: 0,
        ticket: rasn::der::encode(&ticket).unwrap(),
    }
}

/// picky-krb: the same three steps.
fn picky_open<T: serde::de::DeserializeOwned>(
    reply: &[u8],
    key: &Key,
    usage: i32,
    cipher: impl Fn(&T) -> Vec<u8>,
) -> Vec<u8> {
    let rep: T = picky_asn1_der::from_bytes(reply).unwrap();
    let plain = CipherSuite::Aes256CtsHmacSha196.cipher().decrypt(key.expose_bytes(), usage, &cipher(&rep)).unwrap();
    // MIT tags both enc-parts as EncTGSRepPart.
    let enc: picky_krb::messages::EncTgsRepPart = picky_asn1_der::from_bytes(&plain).unwrap();
    enc.0.key.0.key_value.0.0.clone()
}

fn kdc_replies(c: &mut Criterion) {
    let cap = capture();
    let mut group = c.benchmark_group("krb_reply_open");
    group.bench_function(BenchmarkId::new("as_rep_aes256", "keyless"), |b| {
        b.iter(|| keyless_open(black_box(&cap.as_rep), &cap.user_key, KeyUsage::AS_REP_ENC_PART))
    });
    group.bench_function(BenchmarkId::new("as_rep_aes256", "picky-krb"), |b| {
        b.iter(|| {
            picky_open::<picky_krb::messages::AsRep>(black_box(&cap.as_rep), &cap.user_key, 3, |r| {
                r.0.enc_part.0.cipher.0.0.clone()
            })
        })
    });
    group.bench_function(BenchmarkId::new("tgs_rep_aes256", "keyless"), |b| {
        b.iter(|| keyless_open(black_box(&cap.tgs_rep), &cap.tgt_key, KeyUsage::TGS_REP_ENC_PART_SESSION_KEY))
    });
    group.bench_function(BenchmarkId::new("tgs_rep_aes256", "picky-krb"), |b| {
        b.iter(|| {
            picky_open::<picky_krb::messages::TgsRep>(black_box(&cap.tgs_rep), &cap.tgt_key, 8, |r| {
                r.0.enc_part.0.cipher.0.0.clone()
            })
        })
    });
    // Both implementations must agree on what is inside.
    let ours = keyless_open(&cap.tgs_rep, &cap.tgt_key, KeyUsage::TGS_REP_ENC_PART_SESSION_KEY);
    let theirs =
        picky_open::<picky_krb::messages::TgsRep>(&cap.tgs_rep, &cap.tgt_key, 8, |r| r.0.enc_part.0.cipher.0.0.clone());
    assert_eq!(ours.session_key.expose_bytes(), &theirs[..]);
    group.finish();
}

struct Fixed;
impl keyless_krb::RandomSource for Fixed {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), keyless_krb::Error> {
        buf.fill(0x5a);
        Ok(())
    }
}

fn tgs_request(c: &mut Criterion) {
    let cap = capture();
    let mut tgt = keyless_open(&cap.as_rep, &cap.user_key, KeyUsage::AS_REP_ENC_PART);
    tgt.client = Principal::parse("alice@EXAMPLE.TEST", None).unwrap();
    tgt.server = Principal::krbtgt("EXAMPLE.TEST", "EXAMPLE.TEST");
    let service = Principal::parse("cifs/files.example.test@EXAMPLE.TEST", None).unwrap();
    let now = std::time::SystemTime::now();
    let build = || {
        let (_, step) = TgsExchange::start(tgt.clone(), TgsOptions::new(service.clone()), now, &mut Fixed).unwrap();
        let Step::Send { message, .. } = step else { panic!("no request") };
        message
    };
    let bytes = build();
    let mut group = c.benchmark_group("krb_tgs_req");
    group.bench_function(BenchmarkId::new("build_and_encode", "keyless"), |b| b.iter(build));
    group.bench_function(BenchmarkId::new("decode", "keyless"), |b| {
        b.iter(|| rasn::der::decode::<rasn_kerberos::TgsReq>(black_box(&bytes)).unwrap())
    });
    group.bench_function(BenchmarkId::new("decode", "picky-krb"), |b| {
        b.iter(|| picky_asn1_der::from_bytes::<picky_krb::messages::TgsReq>(black_box(&bytes)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, kdc_replies, tgs_request);
criterion_main!(benches);
