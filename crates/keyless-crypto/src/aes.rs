//! AES-128/256 as the Kerberos AES enctypes use it: one block at a time, and CBC with
//! ciphertext stealing "CS3" (always swap the last two blocks, RFC 3962 5) from a zero IV.

use crate::CryptoError;
use aes::{Aes128, Aes256};
use cipher::{BlockCipherDecrypt, BlockCipherEncrypt, KeyInit, array::Array};
use cts::cipher::InnerIvInit;
use cts::{CbcCs3, Decrypt, Encrypt};

/// An AES key schedule of either size; zeroized on drop by the `aes` crate.
pub(crate) enum Aes {
    A128(Aes128),
    A256(Aes256),
}

impl Aes {
    pub(crate) fn new(key: &[u8]) -> Result<Self, CryptoError> {
        match key.len() {
            16 => Ok(Self::A128(Aes128::new(&Array::try_from(key).map_err(|_| bad_len(key))?))),
            32 => Ok(Self::A256(Aes256::new(&Array::try_from(key).map_err(|_| bad_len(key))?))),
            _ => Err(bad_len(key)),
        }
    }

    pub(crate) fn encrypt_block(&self, block: &mut [u8; 16]) {
        let b: &mut Array<u8, _> = block.into();
        match self {
            Self::A128(c) => c.encrypt_block(b),
            Self::A256(c) => c.encrypt_block(b),
        }
    }

    pub(crate) fn decrypt_block(&self, block: &mut [u8; 16]) {
        let b: &mut Array<u8, _> = block.into();
        match self {
            Self::A128(c) => c.decrypt_block(b),
            Self::A256(c) => c.decrypt_block(b),
        }
    }

    /// CBC-CS3 encryption in place with a zero IV; `buf` must hold at least one block.
    pub(crate) fn cts_encrypt(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        if let Ok(block) = <&mut [u8; 16]>::try_from(&mut *buf) {
            // RFC 3962 5: a single block is plain CBC, which the cts crate does not special-case.
            self.encrypt_block(block);
            return Ok(());
        }
        let iv = Array::from([0u8; 16]);
        let r = match self {
            Self::A128(c) => CbcCs3::inner_iv_init(c, &iv).encrypt(buf),
            Self::A256(c) => CbcCs3::inner_iv_init(c, &iv).encrypt(buf),
        };
        r.map_err(|_| short(buf))
    }

    /// CBC-CS3 decryption in place with a zero IV; `buf` must hold at least one block.
    pub(crate) fn cts_decrypt(&self, buf: &mut [u8]) -> Result<(), CryptoError> {
        if let Ok(block) = <&mut [u8; 16]>::try_from(&mut *buf) {
            self.decrypt_block(block);
            return Ok(());
        }
        let iv = Array::from([0u8; 16]);
        let r = match self {
            Self::A128(c) => CbcCs3::inner_iv_init(c, &iv).decrypt(buf),
            Self::A256(c) => CbcCs3::inner_iv_init(c, &iv).decrypt(buf),
        };
        r.map_err(|_| short(buf))
    }
}

fn bad_len(key: &[u8]) -> CryptoError {
    CryptoError::BadKeyLength { what: "AES key", expected: if key.len() < 24 { 16 } else { 32 }, got: key.len() }
}

fn short(buf: &[u8]) -> CryptoError {
    CryptoError::CiphertextTooShort { need: 16, got: buf.len() }
}
