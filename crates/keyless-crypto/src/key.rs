//! Kerberos protocol keys: zeroized on drop, never printed.

use crate::{CryptoError, EncType};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// Longest key of any supported enctype (AES-256).
pub(crate) const MAX_KEY_LEN: usize = 32;

/// A Kerberos protocol key (RFC 3961 3) tagged with its encryption type.
///
/// The bytes are zeroized when the key is dropped; `Debug` shows only the enctype, and the bytes
/// are reachable only through [`Key::expose_bytes`].
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct Key {
    #[zeroize(skip)]
    etype: EncType,
    len: u8,
    bytes: [u8; MAX_KEY_LEN],
}

impl Key {
    /// Wraps raw key bytes (for example from a keytab or a ccache) of a supported enctype.
    ///
    /// # Errors
    /// [`CryptoError::UnsupportedEncType`] or [`CryptoError::BadKeyLength`].
    pub fn from_bytes(etype: EncType, bytes: &[u8]) -> Result<Self, CryptoError> {
        let expected = crate::enctype::for_etype(etype)?.key_len();
        Self::with_len(etype, bytes, expected)
    }

    pub(crate) fn with_len(etype: EncType, bytes: &[u8], expected: usize) -> Result<Self, CryptoError> {
        if bytes.len() != expected || expected > MAX_KEY_LEN {
            return Err(CryptoError::BadKeyLength { what: "key", expected, got: bytes.len() });
        }
        let mut key = Self { etype, len: 0, bytes: [0; MAX_KEY_LEN] };
        key.bytes[..expected].copy_from_slice(bytes);
        key.len = expected as u8; // at most 32, checked above
        Ok(key)
    }

    /// The encryption type this key belongs to.
    pub fn etype(&self) -> EncType {
        self.etype
    }

    /// The raw key bytes. Named loudly: every caller is a place a secret leaves this type.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }

    /// A copy of the raw bytes in a buffer that zeroizes itself.
    pub fn expose_zeroizing(&self) -> Zeroizing<Vec<u8>> {
        Zeroizing::new(self.expose_bytes().to_vec())
    }
}

impl core::fmt::Debug for Key {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Key").field("etype", &self.etype).finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn debug_prints_no_key_bytes() {
        let key = Key::from_bytes(EncType::AES128_CTS_HMAC_SHA1_96, &[0xab; 16]).unwrap();
        let shown = format!("{key:?}");
        assert!(!shown.to_lowercase().contains("ab, ") && !shown.contains("171"), "{shown}");
        assert!(shown.contains("aes128-cts-hmac-sha1-96"));
    }

    #[test]
    fn wrong_length_is_an_error() {
        let err = Key::from_bytes(EncType::AES256_CTS_HMAC_SHA1_96, &[0; 16]).unwrap_err();
        assert_eq!(err, CryptoError::BadKeyLength { what: "key", expected: 32, got: 16 });
    }
}
