//! SMB 3.x message encryption, MS-SMB2 3.1.4.3: the AEAD behind SMB2 TRANSFORM_HEADER (2.2.41)
//! with AES-128/256-CCM (11-byte nonce) and AES-128/256-GCM (12-byte nonce), 16-byte tags.
//! The caller lays out the transform header; this module seals and opens in place.
//!
//! GCM runs on ring's assembly when the `ring` feature is on (the default), otherwise on
//! RustCrypto's aes-gcm; CCM always runs on RustCrypto's ccm.

use crate::{Cipher, CipherKey, CryptoError};
use aes::{Aes128, Aes256};
use aes_gcm::{AeadInOut, KeyInit};
use ccm::Ccm;
use ccm::consts::{U11, U16};
use cipher::array::{Array, ArraySize};

type Aes128Ccm = Ccm<Aes128, U16, U11>;
type Aes256Ccm = Ccm<Aes256, U16, U11>;

/// An AEAD context for one direction of one session.
#[derive(Clone)]
pub struct Aead {
    cipher: Cipher,
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Aes128Ccm(Aes128Ccm),
    Aes256Ccm(Aes256Ccm),
    #[cfg(not(feature = "ring"))]
    Aes128Gcm(aes_gcm::Aes128Gcm),
    #[cfg(not(feature = "ring"))]
    Aes256Gcm(aes_gcm::Aes256Gcm),
    #[cfg(feature = "ring")]
    RingGcm(std::sync::Arc<ring::aead::LessSafeKey>),
}

impl core::fmt::Debug for Aead {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Aead").field("cipher", &self.cipher.name()).finish_non_exhaustive()
    }
}

/// The used nonce bytes as the fixed-size array a RustCrypto AEAD takes.
fn fixed<N: ArraySize>(nonce: &[u8]) -> Result<&Array<u8, N>, CryptoError> {
    <&Array<u8, N>>::try_from(nonce).map_err(|_| CryptoError::BadLength {
        what: "nonce",
        expected: N::USIZE,
        got: nonce.len(),
    })
}

impl Aead {
    /// An AEAD context for `cipher` with an encryption or decryption key.
    ///
    /// # Errors
    /// [`CryptoError::BadKeyLength`] when the key does not fit the cipher.
    pub fn new(cipher: Cipher, key: &CipherKey) -> Result<Self, CryptoError> {
        let k = key.expose_bytes();
        let bad = || CryptoError::BadKeyLength { what: "SMB cipher key", expected: cipher.key_len(), got: k.len() };
        let inner = match cipher {
            Cipher::Aes128Ccm => Inner::Aes128Ccm(Aes128Ccm::new_from_slice(k).map_err(|_| bad())?),
            Cipher::Aes256Ccm => Inner::Aes256Ccm(Aes256Ccm::new_from_slice(k).map_err(|_| bad())?),
            #[cfg(not(feature = "ring"))]
            Cipher::Aes128Gcm => Inner::Aes128Gcm(aes_gcm::Aes128Gcm::new_from_slice(k).map_err(|_| bad())?),
            #[cfg(not(feature = "ring"))]
            Cipher::Aes256Gcm => Inner::Aes256Gcm(aes_gcm::Aes256Gcm::new_from_slice(k).map_err(|_| bad())?),
            #[cfg(feature = "ring")]
            Cipher::Aes128Gcm | Cipher::Aes256Gcm => {
                let alg = if cipher == Cipher::Aes128Gcm { &ring::aead::AES_128_GCM } else { &ring::aead::AES_256_GCM };
                let key = ring::aead::UnboundKey::new(alg, k).map_err(|_| bad())?;
                Inner::RingGcm(std::sync::Arc::new(ring::aead::LessSafeKey::new(key)))
            }
        };
        Ok(Self { cipher, inner })
    }

    /// The cipher this context runs.
    pub fn cipher(&self) -> Cipher {
        self.cipher
    }

    /// Encrypts `buf` in place and returns the tag (the TRANSFORM_HEADER Signature).
    /// `nonce` is the header's 16-byte Nonce field or just its used prefix; `aad` is the
    /// header from Nonce to its end (32 bytes).
    ///
    /// # Errors
    /// [`CryptoError::BadLength`] for a short nonce or a message too long for the cipher.
    pub fn seal_in_place(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8]) -> Result<[u8; 16], CryptoError> {
        let n = self.nonce(nonce)?;
        let too_long =
            CryptoError::BadLength { what: "SMB message to encrypt", expected: u32::MAX as usize, got: buf.len() };
        match &self.inner {
            Inner::Aes128Ccm(c) => {
                c.encrypt_inout_detached(fixed(n)?, aad, buf.into()).map(Into::into).map_err(|_| too_long)
            }
            Inner::Aes256Ccm(c) => {
                c.encrypt_inout_detached(fixed(n)?, aad, buf.into()).map(Into::into).map_err(|_| too_long)
            }
            #[cfg(not(feature = "ring"))]
            Inner::Aes128Gcm(c) => {
                c.encrypt_inout_detached(fixed(n)?, aad, buf.into()).map(Into::into).map_err(|_| too_long)
            }
            #[cfg(not(feature = "ring"))]
            Inner::Aes256Gcm(c) => {
                c.encrypt_inout_detached(fixed(n)?, aad, buf.into()).map(Into::into).map_err(|_| too_long)
            }
            #[cfg(feature = "ring")]
            Inner::RingGcm(key) => {
                let nonce = ring::aead::Nonce::try_assume_unique_for_key(n).map_err(|_| self.nonce_error(nonce))?;
                key.seal_in_place_separate_tag(nonce, ring::aead::Aad::from(aad), buf)
                    .map(|tag| {
                        let mut out = [0u8; 16];
                        out.copy_from_slice(tag.as_ref());
                        out
                    })
                    .map_err(|_| too_long)
            }
        }
    }

    /// Verifies `tag` and decrypts `buf` in place; on failure `buf` is left unusable.
    ///
    /// # Errors
    /// [`CryptoError::IntegrityCheckFailed`], or [`CryptoError::BadLength`] for a short nonce.
    pub fn open_in_place(&self, nonce: &[u8], aad: &[u8], buf: &mut [u8], tag: &[u8; 16]) -> Result<(), CryptoError> {
        let n = self.nonce(nonce)?;
        let t: &Array<u8, U16> = &Array::from(*tag);
        match &self.inner {
            Inner::Aes128Ccm(c) => {
                c.decrypt_inout_detached(fixed(n)?, aad, buf.into(), t).map_err(|_| CryptoError::IntegrityCheckFailed)
            }
            Inner::Aes256Ccm(c) => {
                c.decrypt_inout_detached(fixed(n)?, aad, buf.into(), t).map_err(|_| CryptoError::IntegrityCheckFailed)
            }
            #[cfg(not(feature = "ring"))]
            Inner::Aes128Gcm(c) => {
                c.decrypt_inout_detached(fixed(n)?, aad, buf.into(), t).map_err(|_| CryptoError::IntegrityCheckFailed)
            }
            #[cfg(not(feature = "ring"))]
            Inner::Aes256Gcm(c) => {
                c.decrypt_inout_detached(fixed(n)?, aad, buf.into(), t).map_err(|_| CryptoError::IntegrityCheckFailed)
            }
            #[cfg(feature = "ring")]
            Inner::RingGcm(key) => {
                let nonce = ring::aead::Nonce::try_assume_unique_for_key(n).map_err(|_| self.nonce_error(nonce))?;
                key.open_in_place_separate_tag(nonce, ring::aead::Aad::from(aad), ring::aead::Tag::from(*tag), buf, 0..)
                    .map(|_| ())
                    .map_err(|_| CryptoError::IntegrityCheckFailed)
            }
        }
    }

    fn nonce<'n>(&self, nonce: &'n [u8]) -> Result<&'n [u8], CryptoError> {
        nonce.get(..self.cipher.nonce_len()).ok_or(self.nonce_error(nonce))
    }

    fn nonce_error(&self, nonce: &[u8]) -> CryptoError {
        CryptoError::BadLength { what: "nonce", expected: self.cipher.nonce_len(), got: nonce.len() }
    }
}
