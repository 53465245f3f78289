//! RFC 8009 "AES Encryption with HMAC-SHA2 for Kerberos 5": aes128-cts-hmac-sha256-128 (19) and
//! aes256-cts-hmac-sha384-192 (20), with their checksums of the same numbers.
//!
//! Unlike RFC 3962 this is encrypt-then-MAC: the HMAC covers the (zero) IV and the ciphertext,
//! so decryption verifies before it decrypts.

use crate::aes::Aes;
use crate::enctype::{aes_iterations, check_confounder, check_key};
use crate::rfc3961::{DerivedKey, usage_constant};
use crate::sp800_108::{Prf, kdf_counter};
use crate::{CksumType, CryptoError, EncType, Enctype, Key, KeyUsage};
use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha384};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// An AES-CTS-HMAC-SHA2 enctype.
pub struct AesSha2 {
    etype: EncType,
    name: &'static str,
    prf: Prf,
    key_len: usize,
    /// Length of Kc and Ki, and of the truncated HMAC (16 or 24 bytes).
    mac_len: usize,
}

/// aes128-cts-hmac-sha256-128 (19).
pub const AES128_CTS_HMAC_SHA256_128: AesSha2 = AesSha2 {
    etype: EncType::AES128_CTS_HMAC_SHA256_128,
    name: "aes128-cts-hmac-sha256-128",
    prf: Prf::HmacSha256,
    key_len: 16,
    mac_len: 16,
};
/// aes256-cts-hmac-sha384-192 (20).
pub const AES256_CTS_HMAC_SHA384_192: AesSha2 = AesSha2 {
    etype: EncType::AES256_CTS_HMAC_SHA384_192,
    name: "aes256-cts-hmac-sha384-192",
    prf: Prf::HmacSha384,
    key_len: 32,
    mac_len: 24,
};

const BLOCK: usize = 16;
const ZERO_IV: [u8; BLOCK] = [0; BLOCK];

impl AesSha2 {
    /// The key derived from `key` for `usage` and a role (Kc, Ke or Ki).
    ///
    /// # Errors
    /// A key of another enctype.
    pub fn derive(&self, key: &Key, usage: KeyUsage, which: DerivedKey) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        check_key(key, self.etype)?;
        let len = match which {
            DerivedKey::Encryption => self.key_len,
            DerivedKey::Checksum | DerivedKey::Integrity => self.mac_len,
        };
        let mut out = Zeroizing::new(vec![0u8; len]);
        kdf_counter(self.prf, key.expose_bytes(), &usage_constant(usage, which), &[], &mut out);
        Ok(out)
    }

    /// HMAC-SHA256/384 over the concatenated parts, truncated to `mac_len`.
    fn mac(&self, key: &[u8], parts: &[&[u8]]) -> Vec<u8> {
        fn run<M: Mac + KeyInit>(key: &[u8], parts: &[&[u8]], len: usize) -> Vec<u8> {
            // HMAC accepts any key length.
            let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else {
                return Vec::new();
            };
            for part in parts {
                mac.update(part);
            }
            mac.finalize().into_bytes()[..len].to_vec()
        }
        match self.prf {
            Prf::HmacSha256 => run::<Hmac<Sha256>>(key, parts, self.mac_len),
            Prf::HmacSha384 => run::<Hmac<Sha384>>(key, parts, self.mac_len),
        }
    }
}

impl Enctype for AesSha2 {
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
        CksumType(self.etype.0) // 19 and 20 share their numbers with the enctypes
    }
    fn checksum_len(&self) -> usize {
        self.mac_len
    }
    fn default_iterations(&self) -> u32 {
        32768
    }

    fn string_to_key(&self, password: &[u8], salt: &[u8], params: Option<&[u8]>) -> Result<Key, CryptoError> {
        let iterations = aes_iterations(params, self.default_iterations())?;
        // saltp = enctype-name | 0x00 | salt (RFC 8009 4)
        let mut saltp = Vec::with_capacity(self.name.len() + 1 + salt.len());
        saltp.extend_from_slice(self.name.as_bytes());
        saltp.push(0);
        saltp.extend_from_slice(salt);
        let mut tkey = Zeroizing::new([0u8; 32]);
        let tkey = &mut tkey[..self.key_len];
        match self.prf {
            Prf::HmacSha256 => pbkdf2::pbkdf2_hmac::<Sha256>(password, &saltp, iterations, tkey),
            Prf::HmacSha384 => pbkdf2::pbkdf2_hmac::<Sha384>(password, &saltp, iterations, tkey),
        }
        let mut key = Zeroizing::new([0u8; 32]);
        kdf_counter(self.prf, tkey, b"kerberos", &[], &mut key[..self.key_len]);
        Key::with_len(self.etype, &key[..self.key_len], self.key_len)
    }

    fn encrypt(&self, key: &Key, usage: KeyUsage, confounder: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        check_confounder(confounder, BLOCK)?;
        let ke = self.derive(key, usage, DerivedKey::Encryption)?;
        let ki = self.derive(key, usage, DerivedKey::Integrity)?;
        let mut out = Vec::with_capacity(BLOCK + plaintext.len() + self.mac_len);
        out.extend_from_slice(confounder);
        out.extend_from_slice(plaintext);
        Aes::new(&ke)?.cts_encrypt(&mut out)?;
        let mac = self.mac(&ki, &[&ZERO_IV, &out]);
        out.extend_from_slice(&mac);
        Ok(out)
    }

    fn decrypt(&self, key: &Key, usage: KeyUsage, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        check_key(key, self.etype)?;
        let need = BLOCK + self.mac_len;
        if ciphertext.len() < need {
            return Err(CryptoError::CiphertextTooShort { need, got: ciphertext.len() });
        }
        let (body, mac) = ciphertext.split_at(ciphertext.len() - self.mac_len);
        let ki = self.derive(key, usage, DerivedKey::Integrity)?;
        if !bool::from(self.mac(&ki, &[&ZERO_IV, body]).ct_eq(mac)) {
            return Err(CryptoError::IntegrityCheckFailed);
        }
        let ke = self.derive(key, usage, DerivedKey::Encryption)?;
        let mut plain = Zeroizing::new(body.to_vec());
        Aes::new(&ke)?.cts_decrypt(&mut plain)?;
        plain.drain(..BLOCK);
        Ok(plain)
    }

    fn checksum(&self, key: &Key, usage: KeyUsage, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        let kc = self.derive(key, usage, DerivedKey::Checksum)?;
        Ok(self.mac(&kc, &[data]))
    }

    fn prf(&self, key: &Key, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        check_key(key, self.etype)?;
        let len = match self.prf {
            Prf::HmacSha256 => 32,
            Prf::HmacSha384 => 48,
        };
        let mut out = Zeroizing::new(vec![0u8; len]);
        kdf_counter(self.prf, key.expose_bytes(), b"prf", input, &mut out);
        Ok(out)
    }
}
