//! NTLM against MS-NLMP 4.2.4, and SMB 3.x key derivation, signing, encryption and preauth
//! hashing against Microsoft's published test vectors (`testdata/ms-nlmp`, `testdata/ms-smb2`).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_crypto::ntlm::{self, NtlmKey, SealingHandle, Side};
use keyless_crypto::{
    Aead, Cipher, CipherKey, Derivation, EncType, SessionKeys, Signer, SigningAlgorithm, SigningKey, for_etype,
    preauth_hash_step,
};
use keyless_kat::{Record, load};

fn ntlm_key(r: &Record, field: &str) -> NtlmKey {
    NtlmKey::from_bytes(r.array(field))
}

fn find<'a>(records: &'a [Record], name: &str) -> &'a Record {
    records.iter().find(|r| r.name == name).unwrap_or_else(|| panic!("no record {name}"))
}

/// Checks the NTLMv2 chain of one record: hashes, responses, session keys, key exchange, sign/seal keys.
fn check_ntlmv2(r: &Record) {
    let nt = ntlm::nt_hash(&r.bytes("password")).unwrap();
    assert_eq!(nt.expose_bytes(), &r.array::<16>("nt_hash"), "{} nt_hash", r.name);
    // The RC4-HMAC Kerberos key is the same NT hash.
    let rc4 = for_etype(EncType::RC4_HMAC).unwrap().string_to_key(&r.bytes("password"), b"ignored", None).unwrap();
    assert_eq!(rc4.expose_bytes(), r.bytes("nt_hash"));

    let key_nt = ntlm::ntowf_v2(&nt, &r.text("user"), &r.text("domain"));
    assert_eq!(key_nt.expose_bytes(), &r.array::<16>("response_key_nt"), "{} NTOWFv2", r.name);

    let server_challenge: [u8; 8] = r.array("server_challenge");
    let client_challenge: [u8; 8] = r.array("client_challenge");
    let time = u64::from_le_bytes(r.array("time"));
    let target_info = if r.has("target_info") { r.bytes("target_info") } else { r.bytes("challenge_target_info") };
    let temp = r.bytes("temp");
    if r.has("target_info") {
        // MS-NLMP 4.2.4 builds temp from exactly these inputs.
        assert_eq!(ntlm::ntlmv2_client_blob(time, &client_challenge, &target_info), temp, "{} temp", r.name);
    } else {
        // A real client adds AV pairs (MsvAvFlags, timestamp, ...); temp is given whole.
        assert_eq!(&temp[..8], [1, 1, 0, 0, 0, 0, 0, 0]);
        assert_eq!(temp[8..16], time.to_le_bytes());
        assert_eq!(temp[16..24], client_challenge);
    }
    if r.has("lmv2_response") {
        assert_eq!(
            ntlm::lmv2_response(&key_nt, &server_challenge, &client_challenge).to_vec(),
            r.bytes("lmv2_response"),
            "{} LMv2",
            r.name
        );
    }
    let proof = ntlm::nt_proof_str(&key_nt, &server_challenge, &temp);
    assert_eq!(proof, r.array::<16>("nt_proof_str"), "{} NTProofStr", r.name);
    assert_eq!([&proof[..], &temp].concat(), r.bytes("ntlmv2_response"), "{} NTLMv2 response", r.name);

    let base = ntlm::session_base_key(&key_nt, &proof);
    assert_eq!(base.expose_bytes(), &r.array::<16>("session_base_key"), "{} SessionBaseKey", r.name);
    // KXKEY for NTLMv2 is the session base key.
    assert_eq!(base.expose_bytes(), &r.array::<16>("key_exchange_key"));
    let exported = ntlm_key(r, "exported_session_key");
    assert_eq!(
        ntlm::rc4k(&base, exported.expose_bytes()),
        r.array::<16>("encrypted_random_session_key"),
        "{} key exchange",
        r.name
    );
    assert_eq!(
        ntlm::rc4k(&base, &r.array("encrypted_random_session_key")),
        *exported.expose_bytes(),
        "{} RC4K inverse",
        r.name
    );

    assert_eq!(
        ntlm::sign_key(&exported, Side::Client).expose_bytes(),
        &r.array::<16>("client_signing_key"),
        "{}",
        r.name
    );
    assert_eq!(
        ntlm::seal_key(&exported, Side::Client).expose_bytes(),
        &r.array::<16>("client_sealing_key"),
        "{}",
        r.name
    );
    if r.has("server_signing_key") {
        assert_eq!(ntlm::sign_key(&exported, Side::Server).expose_bytes(), &r.array::<16>("server_signing_key"));
        assert_eq!(ntlm::seal_key(&exported, Side::Server).expose_bytes(), &r.array::<16>("server_sealing_key"));
    }
}

#[test]
fn ms_nlmp_4_2_4_ntlmv2() {
    let kat = load("ms-nlmp/ntlmv2.kat");
    check_ntlmv2(find(&kat.records, "ms_nlmp_4_2_4_ntlmv2"));
}

#[test]
fn ms_blog_ntlmv2_with_mic() {
    let kat = load("ms-nlmp/ntlmv2.kat");
    let r = find(&kat.records, "smb_anatomy_blog_ntlmv2_session_key");
    check_ntlmv2(r);
    // The MIC covers the three messages with the AUTHENTICATE MIC field (offset 72) zeroed.
    let mut auth = r.bytes("authenticate_message");
    assert_eq!(auth[72..88], r.bytes("mic"));
    auth[72..88].fill(0);
    let mic = ntlm::message_integrity_code(
        &ntlm_key(r, "exported_session_key"),
        &r.bytes("negotiate_message"),
        &r.bytes("challenge_message"),
        &auth,
    );
    assert_eq!(mic.to_vec(), r.bytes("mic"));
}

#[test]
fn ms_nlmp_4_2_4_4_sealing() {
    let kat = load("ms-nlmp/ntlmv2.kat");
    let r = find(&kat.records, "ms_nlmp_4_2_4_4_gss_wrapex_seal");
    let seq: u32 = r.int("seq_num");
    let checksum = ntlm::signature_checksum(&ntlm_key(r, "signing_key"), seq, &r.bytes("plaintext"));
    assert_eq!(checksum.to_vec(), r.bytes("checksum"));
    let mut handle = SealingHandle::new(&ntlm_key(r, "sealing_key"));
    let mut data = r.bytes("plaintext");
    handle.apply(&mut data);
    assert_eq!(data, r.bytes("sealed_message"));
    let mut sealed_checksum = *checksum;
    handle.apply(&mut sealed_checksum);
    assert_eq!(sealed_checksum.to_vec(), r.bytes("sealed_checksum"));
    let signature = [&1u32.to_le_bytes()[..], &sealed_checksum, &seq.to_le_bytes()].concat();
    assert_eq!(signature, r.bytes("signature"));
}

fn cipher(r: &Record) -> Cipher {
    match r.text("cipher").as_str() {
        "AES-128-CCM" => Cipher::Aes128Ccm,
        "AES-128-GCM" => Cipher::Aes128Gcm,
        "AES-256-CCM" => Cipher::Aes256Ccm,
        "AES-256-GCM" => Cipher::Aes256Gcm,
        other => panic!("{}: cipher {other}", r.name),
    }
}

#[test]
fn ms_smb2_key_derivation() {
    let kat = load("ms-smb2/kdf.kat");
    assert_eq!(kat.records.len(), 7);
    for r in &kat.records {
        let preauth: [u8; 64];
        let derivation = match r.text("dialect").as_str() {
            "3.0" | "3.0.2" => Derivation::Smb30,
            "3.1.1" => {
                preauth = r.array("preauth_hash");
                Derivation::Smb311 { preauth_hash: &preauth }
            }
            d => panic!("{}: dialect {d}", r.name),
        };
        let c = r.has("cipher").then(|| cipher(r));
        let keys = SessionKeys::derive(&r.bytes("session_key"), derivation, c);
        assert_eq!(keys.signing.expose_bytes(), &r.array::<16>("signing_key"), "{} signing", r.name);
        // A multichannel binding record gives only the channel's own signing key.
        if r.has("encryption_key") {
            assert_eq!(keys.encryption.expose_bytes(), r.bytes("encryption_key"), "{} encryption", r.name);
            assert_eq!(keys.decryption.expose_bytes(), r.bytes("decryption_key"), "{} decryption", r.name);
        }
        if r.has("application_key") {
            assert_eq!(keys.application.expose_bytes(), &r.array::<16>("application_key"), "{} application", r.name);
        }
    }
}

fn algorithm(r: &Record) -> SigningAlgorithm {
    match r.text("algorithm").as_str() {
        "HMAC-SHA256" => SigningAlgorithm::HmacSha256,
        "AES-CMAC" => SigningAlgorithm::AesCmac,
        "AES-GMAC" => SigningAlgorithm::AesGmac,
        other => panic!("{}: algorithm {other}", r.name),
    }
}

fn check_signing(file: &str, expected: usize) {
    let kat = load(file);
    assert_eq!(kat.records.len(), expected, "{file}");
    for r in &kat.records {
        let signer = Signer::new(algorithm(r), &SigningKey::from_bytes(r.array("signing_key")));
        let mut message = r.bytes("message");
        assert_eq!(signer.signature(&message).unwrap(), r.array::<16>("signature"), "{}", r.name);
        message[48..64].copy_from_slice(&r.bytes("signature"));
        signer.verify(&message).unwrap();
    }
}

#[test]
fn ms_smb2_signing() {
    check_signing("ms-smb2/signing.kat", 7);
}

#[test]
fn third_party_smb2_signing_hmac_sha256_and_cmac() {
    check_signing("ms-smb2/signing_third_party.kat", 3);
}

#[test]
fn ms_smb2_encryption() {
    let kat = load("ms-smb2/encryption.kat");
    assert_eq!(kat.records.len(), 12);
    for r in &kat.records {
        let c = cipher(r);
        let aead = Aead::new(c, &CipherKey::from_bytes(&r.bytes("key")).unwrap()).unwrap();
        let header = r.bytes("transform_header");
        // The AAD is the transform header from Nonce on, as sent (its Nonce padding included).
        assert_eq!(&header[20..], r.bytes("aad"), "{}", r.name);
        let nonce = &header[20..36];
        assert_eq!(&nonce[..c.nonce_len()], r.bytes("nonce"), "{}", r.name);
        let mut buf = r.bytes("plaintext");
        let tag = aead.seal_in_place(nonce, &header[20..], &mut buf).unwrap();
        assert_eq!(buf, r.bytes("ciphertext"), "{} ciphertext", r.name);
        assert_eq!(tag, r.array::<16>("tag"), "{} tag", r.name);
        assert_eq!(header[4..20], tag, "{} header signature", r.name);
        aead.open_in_place(nonce, &header[20..], &mut buf, &tag).unwrap();
        assert_eq!(buf, r.bytes("plaintext"), "{} open", r.name);
    }
}

#[test]
fn ms_smb2_preauth_integrity_hash() {
    let kat = load("ms-smb2/preauth.kat");
    assert_eq!(kat.records.len(), 8);
    for r in &kat.records {
        assert_eq!(r.text("hash_algorithm"), "SHA-512", "{}", r.name);
        let h = preauth_hash_step(&r.array("previous_hash"), &r.bytes("packet"));
        assert_eq!(h, r.array::<64>("hash"), "{}", r.name);
    }
}
