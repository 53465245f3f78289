//! SMB 3.x message encryption, MS-SMB2 3.1.4.3: the AEAD behind SMB2 TRANSFORM_HEADER (2.2.41)
//! with AES-128/256-CCM (11-byte nonce) and AES-128/256-GCM (12-byte nonce), 16-byte tags.
//! The caller lays out the transform header; this module seals and opens in place.

use crate::{Cipher, CipherKey, CryptoError};
use aes::{Aes128, Aes256};
use aes_gcm::{AeadInOut, Aes128Gcm, Aes256Gcm, KeyInit};
use ccm::Ccm;
use ccm::consts::{U11, U16};
use cipher::array::Array;

type Aes128Ccm = Ccm<Aes128, U16, U11>;
type Aes256Ccm = Ccm<Aes256, U16, U11>;

/// An AEAD context for one direction of one session.
#[derive(Clone)]
pub struct Aead {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    Aes128Ccm(Aes128Ccm),
    Aes128Gcm(Aes128Gcm),
    Aes256Ccm(Aes256Ccm),
    Aes256Gcm(Aes256Gcm),
}

impl core::fmt::Debug for Aead {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Aead")
            .field("cipher", &self.cipher().name())
            .finish_non_exhaustive()
    }
}

impl Aead {
    /// An AEAD context for `cipher` with an encryption or decryption key.
    ///
    /// # Errors
    /// [`CryptoError::BadKeyLength`] when the key does not fit the cipher.
    pub fn new(cipher: Cipher, key: &CipherKey) -> Result<Self, CryptoError> {
        let k = key.expose_bytes();
        let bad = || CryptoError::BadKeyLength {
            what: "SMB cipher key",
            expected: cipher.key_len(),
            got: k.len(),
        };
        let inner = match cipher {
            Cipher::Aes128Ccm => Inner::Aes128Ccm(Aes128Ccm::new_from_slice(k).map_err(|_| bad())?),
            Cipher::Aes128Gcm => Inner::Aes128Gcm(Aes128Gcm::new_from_slice(k).map_err(|_| bad())?),
            Cipher::Aes256Ccm => Inner::Aes256Ccm(Aes256Ccm::new_from_slice(k).map_err(|_| bad())?),
            Cipher::Aes256Gcm => Inner::Aes256Gcm(Aes256Gcm::new_from_slice(k).map_err(|_| bad())?),
        };
        Ok(Self { inner })
    }

    /// The cipher this context runs.
    pub fn cipher(&self) -> Cipher {
        match self.inner {
            Inner::Aes128Ccm(_) => Cipher::Aes128Ccm,
            Inner::Aes128Gcm(_) => Cipher::Aes128Gcm,
            Inner::Aes256Ccm(_) => Cipher::Aes256Ccm,
            Inner::Aes256Gcm(_) => Cipher::Aes256Gcm,
        }
    }

    /// Encrypts `buf` in place and returns the tag (the TRANSFORM_HEADER Signature).
    /// `nonce` is the header's 16-byte Nonce field or just its used prefix; `aad` is the
    /// header from Nonce to its end (32 bytes).
    ///
    /// # Errors
    /// [`CryptoError::BadLength`] for a short nonce.
    pub fn seal_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
    ) -> Result<[u8; 16], CryptoError> {
        let n = self.nonce(nonce)?;
        let tag = match &self.inner {
            Inner::Aes128Ccm(c) => {
                c.encrypt_inout_detached(&Array::try_from(n).map_err(|_| short())?, aad, buf.into())
            }
            Inner::Aes256Ccm(c) => {
                c.encrypt_inout_detached(&Array::try_from(n).map_err(|_| short())?, aad, buf.into())
            }
            Inner::Aes128Gcm(c) => {
                c.encrypt_inout_detached(&Array::try_from(n).map_err(|_| short())?, aad, buf.into())
            }
            Inner::Aes256Gcm(c) => {
                c.encrypt_inout_detached(&Array::try_from(n).map_err(|_| short())?, aad, buf.into())
            }
        }
        .map_err(|_| CryptoError::BadLength {
            what: "SMB message to encrypt",
            expected: 0,
            got: buf.len(),
        })?;
        Ok(tag.into())
    }

    /// Verifies `tag` and decrypts `buf` in place; on failure `buf` is left unusable.
    ///
    /// # Errors
    /// [`CryptoError::IntegrityCheckFailed`], or [`CryptoError::BadLength`] for a short nonce.
    pub fn open_in_place(
        &self,
        nonce: &[u8],
        aad: &[u8],
        buf: &mut [u8],
        tag: &[u8; 16],
    ) -> Result<(), CryptoError> {
        let n = self.nonce(nonce)?;
        let tag = Array::from(*tag);
        match &self.inner {
            Inner::Aes128Ccm(c) => c.decrypt_inout_detached(
                &Array::try_from(n).map_err(|_| short())?,
                aad,
                buf.into(),
                &tag,
            ),
            Inner::Aes256Ccm(c) => c.decrypt_inout_detached(
                &Array::try_from(n).map_err(|_| short())?,
                aad,
                buf.into(),
                &tag,
            ),
            Inner::Aes128Gcm(c) => c.decrypt_inout_detached(
                &Array::try_from(n).map_err(|_| short())?,
                aad,
                buf.into(),
                &tag,
            ),
            Inner::Aes256Gcm(c) => c.decrypt_inout_detached(
                &Array::try_from(n).map_err(|_| short())?,
                aad,
                buf.into(),
                &tag,
            ),
        }
        .map_err(|_| CryptoError::IntegrityCheckFailed)
    }

    fn nonce<'n>(&self, nonce: &'n [u8]) -> Result<&'n [u8], CryptoError> {
        let len = self.cipher().nonce_len();
        nonce.get(..len).ok_or(CryptoError::BadLength {
            what: "nonce",
            expected: len,
            got: nonce.len(),
        })
    }
}

fn short() -> CryptoError {
    CryptoError::BadLength {
        what: "nonce",
        expected: 12,
        got: 0,
    }
}
