//! RFC 3962 "AES Encryption for Kerberos 5": aes128-cts-hmac-sha1-96 (17) and
//! aes256-cts-hmac-sha1-96 (18) with checksums hmac-sha1-96-aes128/256 (15, 16), built on the
//! RFC 3961 simplified profile.

use crate::aes::Aes;
use crate::enctype::{aes_iterations, check_confounder, check_key};
use crate::rfc3961::{DerivedKey, derive_key_aes, usage_constant};
use crate::{CksumType, CryptoError, EncType, Enctype, Key, KeyUsage};
use hmac::{Hmac, KeyInit, Mac};
use sha1::{Digest, Sha1};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// An AES-CTS-HMAC-SHA1-96 enctype; the two differ only in key size.
pub struct AesSha1 {
    etype: EncType,
    cksumtype: CksumType,
    key_len: usize,
}

/// aes128-cts-hmac-sha1-96 (17).
pub const AES128_CTS_HMAC_SHA1_96: AesSha1 =
    AesSha1 { etype: EncType::AES128_CTS_HMAC_SHA1_96, cksumtype: CksumType::HMAC_SHA1_96_AES128, key_len: 16 };
/// aes256-cts-hmac-sha1-96 (18).
pub const AES256_CTS_HMAC_SHA1_96: AesSha1 =
    AesSha1 { etype: EncType::AES256_CTS_HMAC_SHA1_96, cksumtype: CksumType::HMAC_SHA1_96_AES256, key_len: 32 };

const BLOCK: usize = 16;

/// The raw RFC 3962 cipher: AES-CBC with ciphertext stealing (CS3) from a zero IV, in place.
/// Exposed for known-answer tests and protocol research; protocols use [`Enctype::encrypt`].
///
/// # Errors
/// A key that is not 16 or 32 bytes, or `buf` shorter than one block.
pub fn aes_cts_encrypt(key: &[u8], buf: &mut [u8]) -> Result<(), CryptoError> {
    Aes::new(key)?.cts_encrypt(buf)
}

/// The inverse of [`aes_cts_encrypt`].
///
/// # Errors
/// A key that is not 16 or 32 bytes, or `buf` shorter than one block.
pub fn aes_cts_decrypt(key: &[u8], buf: &mut [u8]) -> Result<(), CryptoError> {
    Aes::new(key)?.cts_decrypt(buf)
}
const MAC_LEN: usize = 12;

impl AesSha1 {
    /// The key derived from `key` for `usage` and a role (Kc, Ke or Ki).
    ///
    /// # Errors
    /// A key of another enctype.
    pub fn derive(&self, key: &Key, usage: KeyUsage, which: DerivedKey) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        check_key(key, self.etype)?;
        derive_key_aes(key.expose_bytes(), &usage_constant(usage, which))
    }
}

fn hmac_sha1_96(key: &[u8], parts: &[&[u8]]) -> Result<[u8; MAC_LEN], CryptoError> {
    let mut mac = <Hmac<Sha1> as KeyInit>::new_from_slice(key).map_err(|_| CryptoError::BadKeyLength {
        what: "HMAC key",
        expected: 20,
        got: key.len(),
    })?;
    for part in parts {
        mac.update(part);
    }
    let full = mac.finalize().into_bytes();
    let mut out = [0u8; MAC_LEN];
    out.copy_from_slice(&full[..MAC_LEN]);
    Ok(out)
}

impl Enctype for AesSha1 {
    fn etype(&self) -> EncType {
        self.etype
    }
    fn key_len(&self) -> usize {
        self.key_len
    }
    fn confounder_len(&self) -> usize {
        BLOCK
    }
    fn checksum_type(&self) -> CksumType {
        self.cksumtype
    }
    fn checksum_len(&self) -> usize {
        MAC_LEN
    }
    fn default_iterations(&self) -> u32 {
        4096
    }

    fn string_to_key(&self, password: &[u8], salt: &[u8], params: Option<&[u8]>) -> Result<Key, CryptoError> {
        let iterations = aes_iterations(params, self.default_iterations())?;
        let mut tkey = Zeroizing::new([0u8; 32]);
        pbkdf2::pbkdf2_hmac::<Sha1>(password, salt, iterations, &mut tkey[..self.key_len]);
        let key = derive_key_aes(&tkey[..self.key_len], b"kerberos")?;
        Key::with_len(self.etype, &key, self.key_len)
    }

    fn encrypt(&self, key: &Key, usage: KeyUsage, confounder: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        check_confounder(confounder, BLOCK)?;
        let ke = self.derive(key, usage, DerivedKey::Encryption)?;
        let ki = self.derive(key, usage, DerivedKey::Integrity)?;
        let mut out = Vec::with_capacity(BLOCK + plaintext.len() + MAC_LEN);
        out.extend_from_slice(confounder);
        out.extend_from_slice(plaintext);
        let mac = hmac_sha1_96(&ki, &[&out])?;
        Aes::new(&ke)?.cts_encrypt(&mut out)?;
        out.extend_from_slice(&mac);
        Ok(out)
    }

    fn decrypt(&self, key: &Key, usage: KeyUsage, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        check_key(key, self.etype)?;
        if ciphertext.len() < BLOCK + MAC_LEN {
            return Err(CryptoError::CiphertextTooShort { need: BLOCK + MAC_LEN, got: ciphertext.len() });
        }
        let (body, mac) = ciphertext.split_at(ciphertext.len() - MAC_LEN);
        let ke = self.derive(key, usage, DerivedKey::Encryption)?;
        let ki = self.derive(key, usage, DerivedKey::Integrity)?;
        let mut plain = Zeroizing::new(body.to_vec());
        Aes::new(&ke)?.cts_decrypt(&mut plain)?;
        let expected = hmac_sha1_96(&ki, &[&plain])?;
        if !bool::from(expected.ct_eq(mac)) {
            return Err(CryptoError::IntegrityCheckFailed);
        }
        plain.drain(..BLOCK);
        Ok(plain)
    }

    fn checksum(&self, key: &Key, usage: KeyUsage, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let kc = self.derive(key, usage, DerivedKey::Checksum)?;
        Ok(hmac_sha1_96(&kc, &[data])?.to_vec())
    }

    fn prf(&self, key: &Key, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        // RFC 3962 6: E(DK(key, "prf"), truncate16(SHA-1(input))); one block, so CTS is ECB.
        check_key(key, self.etype)?;
        let prf_key = derive_key_aes(key.expose_bytes(), b"prf")?;
        let digest = Sha1::digest(input);
        let mut block = [0u8; BLOCK];
        block.copy_from_slice(&digest[..BLOCK]);
        Aes::new(&prf_key)?.encrypt_block(&mut block);
        Ok(Zeroizing::new(block.to_vec()))
    }
}
