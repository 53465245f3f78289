//! One trait over every supported Kerberos encryption type (RFC 3961 3), and the lookup from
//! enctype and checksum-type numbers to it.

use crate::{CksumType, CryptoError, EncType, Key, KeyUsage};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// A Kerberos encryption type: the operations of RFC 3961 3 for one enctype.
///
/// Randomness comes from the caller: [`Enctype::encrypt`] takes the confounder, so that this
/// crate stays deterministic and testable.
pub trait Enctype: Send + Sync {
    /// The enctype number.
    fn etype(&self) -> EncType;
    /// Protocol key length in bytes.
    fn key_len(&self) -> usize;
    /// Length of the random confounder that [`Enctype::encrypt`] takes.
    fn confounder_len(&self) -> usize;
    /// The keyed checksum type that goes with this enctype ("mandatory to implement").
    fn checksum_type(&self) -> CksumType;
    /// Length of that checksum, which is also the integrity tag length of [`Enctype::encrypt`].
    fn checksum_len(&self) -> usize;
    /// The iteration count (PBKDF2) used when a KDC sends no s2kparams.
    fn default_iterations(&self) -> u32;

    /// string-to-key(password, salt, s2kparams). `params` is the RFC 3961 opaque string: for
    /// the AES enctypes a 4-byte big-endian PBKDF2 iteration count.
    ///
    /// Low iteration counts are accepted here (keytab tools and test vectors need them); a
    /// client that takes params from a KDC should refuse counts below
    /// [`Enctype::default_iterations`], as MIT does.
    ///
    /// # Errors
    /// [`CryptoError::BadS2kParams`] for params of the wrong shape or an iteration count over
    /// 2^24; [`CryptoError::PasswordNotUtf8`] where the password must become UTF-16 (RC4).
    fn string_to_key(&self, password: &[u8], salt: &[u8], params: Option<&[u8]>) -> Result<Key, CryptoError>;

    /// random-to-key: turns `key_len()` random bytes into a key.
    ///
    /// # Errors
    /// [`CryptoError::BadKeyLength`].
    fn random_to_key(&self, random: &[u8]) -> Result<Key, CryptoError> {
        Key::with_len(self.etype(), random, self.key_len())
    }

    /// Encrypts `plaintext` under `key` for `usage`, with the caller's random `confounder`
    /// (exactly `confounder_len()` bytes). Output: ciphertext with its integrity tag.
    ///
    /// # Errors
    /// Key of another enctype, or a confounder of the wrong length.
    fn encrypt(&self, key: &Key, usage: KeyUsage, confounder: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError>;

    /// Decrypts and verifies in constant time. Never panics, whatever `ciphertext` holds.
    ///
    /// # Errors
    /// [`CryptoError::CiphertextTooShort`], [`CryptoError::IntegrityCheckFailed`], or a key
    /// of another enctype.
    fn decrypt(&self, key: &Key, usage: KeyUsage, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError>;

    /// The keyed checksum of `data` ([`Enctype::checksum_type`]).
    ///
    /// # Errors
    /// A key of another enctype.
    fn checksum(&self, key: &Key, usage: KeyUsage, data: &[u8]) -> Result<Vec<u8>, CryptoError>;

    /// Verifies a keyed checksum in constant time.
    ///
    /// # Errors
    /// [`CryptoError::IntegrityCheckFailed`] when it does not match.
    fn verify_checksum(&self, key: &Key, usage: KeyUsage, data: &[u8], checksum: &[u8]) -> Result<(), CryptoError> {
        let expected = self.checksum(key, usage, data)?;
        if bool::from(expected.ct_eq(checksum)) { Ok(()) } else { Err(CryptoError::IntegrityCheckFailed) }
    }

    /// The pseudo-random function (RFC 3961 3, RFC 3962 6, RFC 8009 5; RC4 as MIT does it).
    ///
    /// # Errors
    /// A key of another enctype.
    fn prf(&self, key: &Key, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError>;
}

/// The implementation of an enctype number.
///
/// # Errors
/// [`CryptoError::UnsupportedEncType`] for anything but 17, 18, 19, 20 and 23.
pub fn for_etype(etype: EncType) -> Result<&'static dyn Enctype, CryptoError> {
    Ok(match etype {
        EncType::AES128_CTS_HMAC_SHA1_96 => &crate::rfc3962::AES128_CTS_HMAC_SHA1_96,
        EncType::AES256_CTS_HMAC_SHA1_96 => &crate::rfc3962::AES256_CTS_HMAC_SHA1_96,
        EncType::AES128_CTS_HMAC_SHA256_128 => &crate::rfc8009::AES128_CTS_HMAC_SHA256_128,
        EncType::AES256_CTS_HMAC_SHA384_192 => &crate::rfc8009::AES256_CTS_HMAC_SHA384_192,
        EncType::RC4_HMAC => &crate::rfc4757::RC4_HMAC,
        other => return Err(CryptoError::UnsupportedEncType(other)),
    })
}

/// Every supported enctype, strongest first (a sane default preference order).
pub const SUPPORTED: [EncType; 5] = [
    EncType::AES256_CTS_HMAC_SHA384_192,
    EncType::AES128_CTS_HMAC_SHA256_128,
    EncType::AES256_CTS_HMAC_SHA1_96,
    EncType::AES128_CTS_HMAC_SHA1_96,
    EncType::RC4_HMAC,
];

/// The enctype whose keyed checksum a checksum type is (the key must be of that enctype).
///
/// # Errors
/// [`CryptoError::UnsupportedCksumType`].
pub fn for_cksumtype(cksumtype: CksumType) -> Result<&'static dyn Enctype, CryptoError> {
    let etype = match cksumtype {
        CksumType::HMAC_SHA1_96_AES128 => EncType::AES128_CTS_HMAC_SHA1_96,
        CksumType::HMAC_SHA1_96_AES256 => EncType::AES256_CTS_HMAC_SHA1_96,
        CksumType::HMAC_SHA256_128_AES128 => EncType::AES128_CTS_HMAC_SHA256_128,
        CksumType::HMAC_SHA384_192_AES256 => EncType::AES256_CTS_HMAC_SHA384_192,
        CksumType::HMAC_MD5 => EncType::RC4_HMAC,
        other => return Err(CryptoError::UnsupportedCksumType(other)),
    };
    for_etype(etype)
}

/// Keyed checksum of `data` with an explicit checksum type.
///
/// # Errors
/// Unsupported type, or a key of another enctype than the checksum needs.
pub fn make_checksum(cksumtype: CksumType, key: &Key, usage: KeyUsage, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
    for_cksumtype(cksumtype)?.checksum(key, usage, data)
}

/// Verifies a keyed checksum with an explicit checksum type, in constant time.
///
/// # Errors
/// [`CryptoError::IntegrityCheckFailed`], unsupported type, or a key of another enctype.
pub fn verify_checksum(
    cksumtype: CksumType,
    key: &Key,
    usage: KeyUsage,
    data: &[u8],
    checksum: &[u8],
) -> Result<(), CryptoError> {
    for_cksumtype(cksumtype)?.verify_checksum(key, usage, data, checksum)
}

/// Checks that `key` belongs to `etype`.
pub(crate) fn check_key(key: &Key, etype: EncType) -> Result<(), CryptoError> {
    if key.etype() == etype { Ok(()) } else { Err(CryptoError::KeyTypeMismatch { expected: etype, got: key.etype() }) }
}

/// Checks a confounder's length.
pub(crate) fn check_confounder(confounder: &[u8], expected: usize) -> Result<(), CryptoError> {
    if confounder.len() == expected {
        Ok(())
    } else {
        Err(CryptoError::BadLength { what: "confounder", expected, got: confounder.len() })
    }
}

/// PBKDF2 iteration count from AES s2kparams (RFC 3962 4): 4 bytes big-endian, default when
/// absent. Counts above 2^24 are refused: a hostile KDC must not make us spin for hours.
pub(crate) fn aes_iterations(params: Option<&[u8]>, default: u32) -> Result<u32, CryptoError> {
    const MAX_ITERATIONS: u32 = 1 << 24;
    let count = match params {
        None => default,
        Some(p) => u32::from_be_bytes(p.try_into().map_err(|_| CryptoError::BadS2kParams)?),
    };
    if count == 0 || count > MAX_ITERATIONS {
        return Err(CryptoError::BadS2kParams);
    }
    Ok(count)
}
