//! Kerberos crypto against every published known answer: RFC 3961 A.1, RFC 3962 B,
//! RFC 8009 A, and MIT krb5's crypto_tests tables (`testdata/`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_crypto::rfc3961::{DerivedKey, nfold};
use keyless_crypto::{
    CksumType, CryptoError, EncType, Key, KeyUsage, for_etype, make_checksum, rfc3962, rfc6113, rfc8009,
    verify_checksum,
};
use keyless_kat::{Record, load};

fn etype(r: &Record) -> EncType {
    EncType(r.int("enctype"))
}

fn key(r: &Record, field: &str) -> Key {
    Key::from_bytes(etype(r), &r.bytes(field)).expect("key")
}

fn derived(r: &Record, base: &Key, usage: KeyUsage, which: DerivedKey) -> Vec<u8> {
    let out = match etype(r) {
        EncType::AES128_CTS_HMAC_SHA1_96 => rfc3962::AES128_CTS_HMAC_SHA1_96.derive(base, usage, which),
        EncType::AES256_CTS_HMAC_SHA1_96 => rfc3962::AES256_CTS_HMAC_SHA1_96.derive(base, usage, which),
        EncType::AES128_CTS_HMAC_SHA256_128 => rfc8009::AES128_CTS_HMAC_SHA256_128.derive(base, usage, which),
        EncType::AES256_CTS_HMAC_SHA384_192 => rfc8009::AES256_CTS_HMAC_SHA384_192.derive(base, usage, which),
        other => panic!("{}: no derivation for {other}", r.name),
    };
    out.expect("derive").to_vec()
}

fn s2k_params(iterations: u32) -> [u8; 4] {
    iterations.to_be_bytes()
}

#[test]
fn rfc3961_a1_nfold() {
    let kat = load("rfc3961/nfold.kat");
    assert_eq!(kat.records.len(), 11);
    for r in &kat.records {
        let bits: usize = r.int("bits");
        assert_eq!(nfold(&r.bytes("input"), bits / 8), r.bytes("output"), "{}", r.name);
    }
}

#[test]
fn rfc3962_b_string_to_key() {
    let kat = load("rfc3962/string-to-key.kat");
    assert_eq!(kat.records.len(), 7);
    for r in &kat.records {
        let params = s2k_params(r.int("iterations"));
        for (etype, field) in
            [(EncType::AES128_CTS_HMAC_SHA1_96, "key_128"), (EncType::AES256_CTS_HMAC_SHA1_96, "key_256")]
        {
            let k =
                for_etype(etype).unwrap().string_to_key(&r.bytes("password"), &r.bytes("salt"), Some(&params)).unwrap();
            assert_eq!(k.expose_bytes(), r.bytes(field), "{} {field}", r.name);
        }
    }
}

#[test]
fn rfc3962_b_aes_cts() {
    let kat = load("rfc3962/aes-cts.kat");
    assert_eq!(kat.records.len(), 6);
    for r in &kat.records {
        assert!(r.bytes("iv").iter().all(|&b| b == 0), "{}: only zero IVs are used by Kerberos", r.name);
        let mut buf = r.bytes("input");
        rfc3962::aes_cts_encrypt(&r.bytes("key"), &mut buf).unwrap();
        assert_eq!(buf, r.bytes("output"), "{}", r.name);
        // The cipher state after encryption is C(n-1), which CS3's swap leaves just before the
        // last (possibly partial) output block.
        let last_full = (buf.len() - 1) / 16 * 16;
        assert_eq!(buf[last_full - 16..last_full], r.bytes("next_iv"), "{} next IV", r.name);
        rfc3962::aes_cts_decrypt(&r.bytes("key"), &mut buf).unwrap();
        assert_eq!(buf, r.bytes("input"), "{}", r.name);
    }
}

#[test]
fn rfc8009_a_string_to_key() {
    let kat = load("rfc8009/string-to-key.kat");
    for r in &kat.records {
        let params = s2k_params(r.int("iterations"));
        let e = for_etype(etype(r)).unwrap();
        let k = e.string_to_key(&r.bytes("password"), &r.bytes("salt"), Some(&params)).unwrap();
        assert_eq!(k.expose_bytes(), r.bytes("key"), "{}", r.name);
        // RFC 8009's default iteration count is the one the vectors use.
        assert_eq!(e.default_iterations(), r.int::<u32>("iterations"));
    }
}

#[test]
fn rfc8009_a_key_derivation() {
    for r in &load("rfc8009/key-derivation.kat").records {
        let base = key(r, "base_key");
        let usage = KeyUsage(r.int("usage"));
        assert_eq!(derived(r, &base, usage, DerivedKey::Checksum), r.bytes("kc"), "{} kc", r.name);
        assert_eq!(derived(r, &base, usage, DerivedKey::Encryption), r.bytes("ke"), "{} ke", r.name);
        assert_eq!(derived(r, &base, usage, DerivedKey::Integrity), r.bytes("ki"), "{} ki", r.name);
    }
}

#[test]
fn rfc8009_a_prf() {
    for r in &load("rfc8009/prf.kat").records {
        let out = for_etype(etype(r)).unwrap().prf(&key(r, "key"), &r.bytes("input")).unwrap();
        assert_eq!(&out[..], r.bytes("output"), "{}", r.name);
    }
}

#[test]
fn rfc8009_a_encryption() {
    let kat = load("rfc8009/encryption.kat");
    assert_eq!(kat.records.len(), 8);
    for r in &kat.records {
        let e = for_etype(etype(r)).unwrap();
        let k = key(r, "key");
        let usage = KeyUsage(r.int("usage"));
        assert_eq!(derived(r, &k, usage, DerivedKey::Encryption), r.bytes("ke"), "{} ke", r.name);
        assert_eq!(derived(r, &k, usage, DerivedKey::Integrity), r.bytes("ki"), "{} ki", r.name);
        let ct = e.encrypt(&k, usage, &r.bytes("confounder"), &r.bytes("plaintext")).unwrap();
        assert_eq!(ct, r.bytes("ciphertext"), "{} encrypt", r.name);
        assert_eq!([r.bytes("aes_output"), r.bytes("hmac_output")].concat(), ct, "{} parts", r.name);
        assert_eq!(&e.decrypt(&k, usage, &ct).unwrap()[..], r.bytes("plaintext"), "{} decrypt", r.name);
    }
}

#[test]
fn rfc8009_a_checksum() {
    for r in &load("rfc8009/checksum.kat").records {
        let k = key(r, "key");
        let usage = KeyUsage(r.int("usage"));
        let ctype = CksumType(r.int("cksumtype"));
        assert_eq!(derived(r, &k, usage, DerivedKey::Checksum), r.bytes("kc"), "{} kc", r.name);
        assert_eq!(make_checksum(ctype, &k, usage, &r.bytes("plaintext")).unwrap(), r.bytes("checksum"), "{}", r.name);
        verify_checksum(ctype, &k, usage, &r.bytes("plaintext"), &r.bytes("checksum")).unwrap();
    }
}

#[test]
fn mit_t_decrypt() {
    let kat = load("mit-krb5/t_decrypt.kat");
    assert_eq!(kat.records.len(), 23);
    for r in &kat.records {
        let e = for_etype(etype(r)).unwrap();
        let (k, usage, mut ct) = (key(r, "key"), KeyUsage(r.int("usage")), r.bytes("ciphertext"));
        assert_eq!(&e.decrypt(&k, usage, &ct).unwrap()[..], r.bytes("plaintext"), "{}", r.name);
        // Any flipped bit, anywhere, must be caught by the integrity check.
        for i in [0, ct.len() / 2, ct.len() - 1] {
            ct[i] ^= 0x01;
            assert_eq!(
                e.decrypt(&k, usage, &ct).unwrap_err(),
                CryptoError::IntegrityCheckFailed,
                "{} byte {i}",
                r.name
            );
            ct[i] ^= 0x01;
        }
        // The wrong usage is a different key.
        assert!(e.decrypt(&k, KeyUsage(usage.0 + 100), &ct).is_err(), "{}", r.name);
    }
}

#[test]
fn mit_t_cksums() {
    let kat = load("mit-krb5/t_cksums.kat");
    assert_eq!(kat.records.len(), 5);
    for r in &kat.records {
        let (k, usage, ctype) = (key(r, "key"), KeyUsage(r.int("usage")), CksumType(r.int("cksumtype")));
        let data = r.bytes("plaintext");
        assert_eq!(make_checksum(ctype, &k, usage, &data).unwrap(), r.bytes("checksum"), "{}", r.name);
        verify_checksum(ctype, &k, usage, &data, &r.bytes("checksum")).unwrap();
        let mut bad = r.bytes("checksum");
        bad[0] ^= 0x80;
        assert_eq!(verify_checksum(ctype, &k, usage, &data, &bad), Err(CryptoError::IntegrityCheckFailed));
    }
}

#[test]
fn mit_t_str2key() {
    let kat = load("mit-krb5/t_str2key.kat");
    assert!(kat.records.len() >= 16);
    for r in &kat.records {
        let params = r.bytes("s2kparams");
        let params = (!params.is_empty()).then_some(params.as_slice());
        let k = for_etype(etype(r)).unwrap().string_to_key(&r.bytes("password"), &r.bytes("salt"), params).unwrap();
        assert_eq!(k.expose_bytes(), r.bytes("key"), "{}", r.name);
    }
}

#[test]
fn mit_t_prf() {
    let kat = load("mit-krb5/t_prf.kat");
    assert_eq!(kat.records.len(), 8);
    for r in &kat.records {
        let out = for_etype(etype(r)).unwrap().prf(&key(r, "key"), &r.bytes("input")).unwrap();
        assert_eq!(&out[..], r.bytes("output"), "{}", r.name);
    }
}

#[test]
fn mit_t_derive() {
    let kat = load("mit-krb5/t_derive.kat");
    assert_eq!(kat.records.len(), 12);
    for r in &kat.records {
        let constant = r.bytes("constant");
        let usage = KeyUsage(u32::from_be_bytes(constant[..4].try_into().unwrap()));
        let which = DerivedKey::from_constant_byte(constant[4]).unwrap();
        assert_eq!(derived(r, &key(r, "inkey"), usage, which), r.bytes("outkey"), "{}", r.name);
    }
}

#[test]
fn mit_t_cf2() {
    let kat = load("mit-krb5/t_cf2.kat");
    assert_eq!(kat.records.len(), 5);
    for r in &kat.records {
        let e = for_etype(etype(r)).unwrap();
        let s2k = |field: &str| {
            let password = r.bytes(field);
            e.string_to_key(&password, &password, None).unwrap()
        };
        let out =
            rfc6113::krb_fx_cf2(&s2k("key1_password"), &r.bytes("pepper1"), &s2k("key2_password"), &r.bytes("pepper2"))
                .unwrap();
        assert_eq!(out.etype(), etype(r), "{}", r.name);
        assert_eq!(out.expose_bytes(), &r.bytes("output")[..], "{}", r.name);
    }
}
