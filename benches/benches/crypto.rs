//! Crypto hot paths of SMB and Kerberos, each group running keyless and the fastest
//! alternatives on the same bytes in the same run: ring (AES-GCM, assembly) and OpenSSL
//! (CMAC, CCM, GCM, CBC) through the `openssl` crate.
//!
//! Ids are `group/case/impl`. `cargo bench -p keyless-benches` runs them; `cargo test` runs
//! each once so none rots.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use keyless_crypto::{
    Aead, Cipher, CipherKey, EncType, Key, KeyUsage, Signer, SigningAlgorithm, SigningKey, for_etype,
};
use std::hint::black_box;

const KEY16: [u8; 16] = *b"0123456789abcdef";
const KEY32: [u8; 32] = *b"0123456789abcdef0123456789abcdef";
const NONCE: [u8; 16] = [7; 16];
const AAD: [u8; 32] = [9; 32];

fn message(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i * 31 + 7) as u8).collect()
}

fn sizes(c: &Criterion) -> &'static [(&'static str, usize)] {
    // In `cargo test` mode criterion runs each once; keep it quick there too.
    let _ = c;
    &[("64k", 64 * 1024), ("1m", 1024 * 1024)]
}

fn smb_signing(c: &mut Criterion) {
    for &(label, len) in sizes(c) {
        let mut group = c.benchmark_group(format!("smb_sign_{label}"));
        group.throughput(Throughput::Bytes(len as u64));
        let msg = message(len);
        let key = SigningKey::from_bytes(KEY16);

        let cmac = Signer::new(SigningAlgorithm::AesCmac, &key);
        group.bench_function(BenchmarkId::new("aes_cmac", "keyless"), |b| b.iter(|| cmac.signature(black_box(&msg))));
        let pkey = openssl::pkey::PKey::cmac(&openssl::symm::Cipher::aes_128_cbc(), &KEY16).expect("cmac key");
        group.bench_function(BenchmarkId::new("aes_cmac", "openssl"), |b| {
            b.iter(|| {
                let mut s = openssl::sign::Signer::new_without_digest(&pkey).expect("signer");
                s.update(black_box(&msg)).expect("update");
                s.sign_to_vec().expect("sign")
            })
        });

        let gmac = Signer::new(SigningAlgorithm::AesGmac, &key);
        group.bench_function(BenchmarkId::new("aes_gmac", "keyless"), |b| b.iter(|| gmac.signature(black_box(&msg))));
        let ring_key =
            ring::aead::LessSafeKey::new(ring::aead::UnboundKey::new(&ring::aead::AES_128_GCM, &KEY16).expect("key"));
        group.bench_function(BenchmarkId::new("aes_gmac", "ring"), |b| {
            b.iter(|| {
                let nonce = ring::aead::Nonce::assume_unique_for_key([1; 12]);
                ring_key
                    .seal_in_place_separate_tag(nonce, ring::aead::Aad::from(black_box(&msg[..])), &mut [])
                    .expect("seal")
            })
        });
        group.bench_function(BenchmarkId::new("aes_gmac", "openssl"), |b| {
            b.iter(|| {
                let mut tag = [0u8; 16];
                openssl::symm::encrypt_aead(
                    openssl::symm::Cipher::aes_128_gcm(),
                    &KEY16,
                    Some(&[1; 12]),
                    black_box(&msg),
                    &[],
                    &mut tag,
                )
                .expect("gmac");
                tag
            })
        });

        let hmac = Signer::new(SigningAlgorithm::HmacSha256, &key);
        group
            .bench_function(BenchmarkId::new("hmac_sha256", "keyless"), |b| b.iter(|| hmac.signature(black_box(&msg))));
        group.finish();
    }
}

fn smb_sealing(c: &mut Criterion) {
    let len = 1024 * 1024;
    let mut group = c.benchmark_group("smb_seal_1m");
    group.throughput(Throughput::Bytes(len as u64));
    let plain = message(len);
    let mut buf = plain.clone();
    for cipher in [Cipher::Aes128Gcm, Cipher::Aes256Gcm, Cipher::Aes128Ccm, Cipher::Aes256Ccm] {
        let key = &KEY32[..cipher.key_len()];
        let name = cipher.name().to_lowercase();
        let aead = Aead::new(cipher, &CipherKey::from_bytes(key).expect("key")).expect("aead");
        group.bench_function(BenchmarkId::new(format!("{name}_seal"), "keyless"), |b| {
            b.iter(|| aead.seal_in_place(&NONCE, &AAD, black_box(&mut buf)))
        });
        buf.copy_from_slice(&plain);
        let tag = aead.seal_in_place(&NONCE, &AAD, &mut buf).expect("seal");
        let sealed = buf.clone();
        group.bench_function(BenchmarkId::new(format!("{name}_open"), "keyless"), |b| {
            b.iter(|| {
                buf.copy_from_slice(&sealed);
                aead.open_in_place(&NONCE, &AAD, black_box(&mut buf), &tag).expect("open")
            })
        });

        let ossl = openssl::cipher::Cipher::fetch(None, &cipher.name().to_lowercase(), None).expect("OpenSSL cipher");
        let nonce = &NONCE[..cipher.nonce_len()];
        let mut out = vec![0u8; len + 16];
        group.bench_function(BenchmarkId::new(format!("{name}_seal"), "openssl"), |b| {
            b.iter(|| openssl_seal(&ossl, key, nonce, black_box(&plain), &mut out))
        });

        // The pure-Rust aes-gcm that keyless-crypto uses without its `ring` feature.
        if matches!(cipher, Cipher::Aes128Gcm | Cipher::Aes256Gcm) {
            use aes_gcm::{AeadInOut, KeyInit};
            let n = aes_gcm::Nonce::from([7u8; 12]);
            let run = |b: &mut criterion::Bencher| match cipher {
                Cipher::Aes128Gcm => {
                    let c = aes_gcm::Aes128Gcm::new_from_slice(key).expect("key");
                    b.iter(|| c.encrypt_inout_detached(&n, &AAD, black_box(&mut buf[..]).into()).expect("seal"))
                }
                _ => {
                    let c = aes_gcm::Aes256Gcm::new_from_slice(key).expect("key");
                    b.iter(|| c.encrypt_inout_detached(&n, &AAD, black_box(&mut buf[..]).into()).expect("seal"))
                }
            };
            group.bench_function(BenchmarkId::new(format!("{name}_seal"), "rustcrypto"), run);
        }

        let ring_alg = match cipher {
            Cipher::Aes128Gcm => &ring::aead::AES_128_GCM,
            Cipher::Aes256Gcm => &ring::aead::AES_256_GCM,
            _ => continue, // ring has no CCM
        };
        let ring_key = ring::aead::LessSafeKey::new(ring::aead::UnboundKey::new(ring_alg, key).expect("key"));
        group.bench_function(BenchmarkId::new(format!("{name}_seal"), "ring"), |b| {
            b.iter(|| {
                let n = ring::aead::Nonce::assume_unique_for_key([7; 12]);
                ring_key.seal_in_place_separate_tag(n, ring::aead::Aad::from(AAD), black_box(&mut buf)).expect("seal")
            })
        });
    }
    group.finish();
}

fn kerberos_decrypt(c: &mut Criterion) {
    let mut group = c.benchmark_group("krb_decrypt_1k");
    let plain = message(1024);
    group.throughput(Throughput::Bytes(plain.len() as u64));
    for etype in [EncType::AES256_CTS_HMAC_SHA1_96, EncType::AES256_CTS_HMAC_SHA384_192] {
        let e = for_etype(etype).expect("etype");
        let key = Key::from_bytes(etype, &KEY32).expect("key");
        let ct = e.encrypt(&key, KeyUsage::TICKET, &[3; 16], &plain).expect("encrypt");
        group.bench_function(BenchmarkId::new(etype.to_string(), "keyless"), |b| {
            b.iter(|| e.decrypt(&key, KeyUsage::TICKET, black_box(&ct)).expect("decrypt"))
        });
    }
    // The same aes256-cts-hmac-sha1-96 decrypt composed from OpenSSL primitives: derive Ke/Ki
    // (two AES-ECB calls each), AES-256-CBC with the CS3 swap, HMAC-SHA1.
    let key = Key::from_bytes(EncType::AES256_CTS_HMAC_SHA1_96, &KEY32).expect("key");
    let ct = for_etype(EncType::AES256_CTS_HMAC_SHA1_96)
        .expect("etype")
        .encrypt(&key, KeyUsage::TICKET, &[3; 16], &plain)
        .expect("encrypt");
    let cbc = openssl::cipher::Cipher::aes_256_cbc();
    group.bench_function(BenchmarkId::new(EncType::AES256_CTS_HMAC_SHA1_96.to_string(), "openssl"), |b| {
        b.iter(|| openssl_aes256_sha1_decrypt(cbc, &KEY32, 2, black_box(&ct)))
    });
    group.finish();
}

/// AEAD seal with OpenSSL's EVP interface (CCM needs the tag length and data length first).
fn openssl_seal(
    cipher: &openssl::cipher::CipherRef,
    key: &[u8],
    nonce: &[u8],
    plain: &[u8],
    out: &mut [u8],
) -> [u8; 16] {
    let mut ctx = openssl::cipher_ctx::CipherCtx::new().expect("ctx");
    ctx.encrypt_init(Some(cipher), None, None).expect("init");
    ctx.set_iv_length(nonce.len()).expect("iv length");
    let ccm = cipher.nid() == openssl::nid::Nid::AES_128_CCM || cipher.nid() == openssl::nid::Nid::AES_256_CCM;
    if ccm {
        ctx.set_tag_length(16).expect("tag length");
    }
    ctx.encrypt_init(None, Some(key), Some(nonce)).expect("key");
    if ccm {
        ctx.set_data_len(plain.len()).expect("data length");
    }
    ctx.cipher_update(&AAD, None).expect("aad");
    let n = ctx.cipher_update(plain, Some(out)).expect("update");
    ctx.cipher_final(&mut out[n..]).expect("final");
    let mut tag = [0u8; 16];
    ctx.tag(&mut tag).expect("tag");
    tag
}

fn openssl_dk(key: &[u8; 32], constant: &[u8]) -> [u8; 32] {
    let folded = keyless_crypto::rfc3961::nfold(constant, 16);
    let mut out = [0u8; 32];
    let mut block = folded;
    for half in out.chunks_mut(16) {
        let mut c =
            openssl::symm::Crypter::new(openssl::symm::Cipher::aes_256_ecb(), openssl::symm::Mode::Encrypt, key, None)
                .expect("ecb");
        c.pad(false);
        let mut tmp = [0u8; 32];
        let n = c.update(&block, &mut tmp).expect("ecb");
        block = tmp[..n].to_vec();
        half.copy_from_slice(&block);
    }
    out
}

fn openssl_aes256_sha1_decrypt(cbc: &openssl::cipher::CipherRef, key: &[u8; 32], usage: u32, ct: &[u8]) -> Vec<u8> {
    let u = usage.to_be_bytes();
    let ke = openssl_dk(key, &[u[0], u[1], u[2], u[3], 0xaa]);
    let ki = openssl_dk(key, &[u[0], u[1], u[2], u[3], 0x55]);
    let (body, mac) = ct.split_at(ct.len() - 12);
    // OpenSSL's CBC-CTS speaks CS1; for a whole number of blocks Kerberos's CS3 is CBC with the
    // last two blocks swapped, which is what the benchmark's 1040-byte body is.
    assert_eq!(body.len() % 16, 0);
    let mut swapped = body.to_vec();
    let n = swapped.len();
    let (head, last) = swapped.split_at_mut(n - 16);
    head[n - 32..].swap_with_slice(last);
    let mut ctx = openssl::cipher_ctx::CipherCtx::new().expect("ctx");
    ctx.decrypt_init(Some(cbc), Some(&ke), Some(&[0; 16])).expect("init");
    ctx.set_padding(false);
    let mut plain = Vec::with_capacity(body.len() + 16);
    ctx.cipher_update_vec(&swapped, &mut plain).expect("update");
    ctx.cipher_final_vec(&mut plain).expect("final");
    let pkey = openssl::pkey::PKey::hmac(&ki).expect("hmac key");
    let mut signer = openssl::sign::Signer::new(openssl::hash::MessageDigest::sha1(), &pkey).expect("signer");
    signer.update(&plain).expect("hmac");
    let full = signer.sign_to_vec().expect("hmac");
    assert!(openssl::memcmp::eq(&full[..12], mac), "openssl comparator: MAC mismatch");
    plain.split_off(16)
}

criterion_group!(benches, smb_signing, smb_sealing, kerberos_decrypt);
criterion_main!(benches);
