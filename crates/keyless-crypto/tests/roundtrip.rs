//! Property tests: whatever the input, decrypt(encrypt(x)) == x, a flipped bit is refused, and
//! hostile ciphertexts give errors, not panics.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_crypto::{
    Aead, Cipher, CipherKey, CryptoError, Key, KeyUsage, SUPPORTED, Signer, SigningAlgorithm, SigningKey, for_etype,
};
use proptest::prelude::*;

fn any_etype() -> impl Strategy<Value = keyless_crypto::EncType> {
    proptest::sample::select(SUPPORTED.to_vec())
}

proptest! {
    #[test]
    fn kerberos_encrypt_decrypt_roundtrip(
        etype in any_etype(),
        key in proptest::collection::vec(any::<u8>(), 32),
        confounder in proptest::collection::vec(any::<u8>(), 16),
        usage in 0u32..64,
        plaintext in proptest::collection::vec(any::<u8>(), 0..300),
        flip in any::<prop::sample::Index>(),
    ) {
        let e = for_etype(etype).unwrap();
        let key = Key::from_bytes(etype, &key[..e.key_len()]).unwrap();
        let usage = KeyUsage(usage);
        let ct = e.encrypt(&key, usage, &confounder[..e.confounder_len()], &plaintext).unwrap();
        prop_assert_eq!(ct.len(), e.confounder_len() + plaintext.len() + e.checksum_len());
        prop_assert_eq!(&e.decrypt(&key, usage, &ct).unwrap()[..], &plaintext[..]);
        let mut bad = ct.clone();
        bad[flip.index(ct.len())] ^= 0x40;
        prop_assert_eq!(e.decrypt(&key, usage, &bad).unwrap_err(), CryptoError::IntegrityCheckFailed);
        let sum = e.checksum(&key, usage, &plaintext).unwrap();
        prop_assert_eq!(sum.len(), e.checksum_len());
        e.verify_checksum(&key, usage, &plaintext, &sum).unwrap();
    }

    #[test]
    fn kerberos_decrypt_never_panics(
        etype in any_etype(),
        key in proptest::collection::vec(any::<u8>(), 32),
        ciphertext in proptest::collection::vec(any::<u8>(), 0..80),
    ) {
        let e = for_etype(etype).unwrap();
        let key = Key::from_bytes(etype, &key[..e.key_len()]).unwrap();
        prop_assert!(e.decrypt(&key, KeyUsage(2), &ciphertext).is_err());
    }

    #[test]
    fn smb_seal_open_roundtrip(
        cipher in proptest::sample::select(vec![Cipher::Aes128Ccm, Cipher::Aes128Gcm, Cipher::Aes256Ccm, Cipher::Aes256Gcm]),
        key in proptest::collection::vec(any::<u8>(), 32),
        nonce in any::<[u8; 16]>(),
        aad in any::<[u8; 32]>(),
        plaintext in proptest::collection::vec(any::<u8>(), 0..2000),
    ) {
        let aead = Aead::new(cipher, &CipherKey::from_bytes(&key[..cipher.key_len()]).unwrap()).unwrap();
        let mut buf = plaintext.clone();
        let tag = aead.seal_in_place(&nonce, &aad, &mut buf).unwrap();
        let mut opened = buf.clone();
        aead.open_in_place(&nonce, &aad, &mut opened, &tag).unwrap();
        prop_assert_eq!(&opened, &plaintext);
        let mut bad_aad = aad;
        bad_aad[31] ^= 1;
        let mut again = buf.clone();
        prop_assert_eq!(aead.open_in_place(&nonce, &bad_aad, &mut again, &tag), Err(CryptoError::IntegrityCheckFailed));
    }

    #[test]
    fn smb_sign_verify_roundtrip(
        alg in proptest::sample::select(vec![SigningAlgorithm::HmacSha256, SigningAlgorithm::AesCmac, SigningAlgorithm::AesGmac]),
        key in any::<[u8; 16]>(),
        mut message in proptest::collection::vec(any::<u8>(), 64..600),
        flip in any::<prop::sample::Index>(),
    ) {
        let signer = Signer::new(alg, &SigningKey::from_bytes(key));
        signer.sign(&mut message).unwrap();
        signer.verify(&message).unwrap();
        let i = flip.index(message.len());
        message[i] ^= 0x01;
        prop_assert_eq!(signer.verify(&message), Err(CryptoError::IntegrityCheckFailed));
    }
}

#[test]
fn fuzz_corpus_replays_without_panic() {
    let dir = keyless_kat::testdata_dir().join("../fuzz/corpus/krb_decrypt");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).expect("fuzz corpus directory") {
        keyless_crypto::fuzzing::krb_decrypt(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n > 0, "empty corpus at {}", dir.display());
}
