//! RFC 4757 "The RC4-HMAC Kerberos Encryption Types Used by Microsoft Windows": arcfour-hmac (23)
//! and the hmac-md5 checksum (-138). Weak; kept because Active Directory still hands it out.
//! The export variant (24) is left out.

use crate::enctype::{check_confounder, check_key};
use crate::{CksumType, CryptoError, EncType, Enctype, Key, KeyUsage};
use cipher::StreamCipher;
use hmac::{Hmac, KeyInit, Mac};
use md5::{Digest, Md5};
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

/// arcfour-hmac (23).
pub struct Rc4Hmac;

/// arcfour-hmac (23).
pub const RC4_HMAC: Rc4Hmac = Rc4Hmac;

const CONFOUNDER: usize = 8;
const CHECKSUM: usize = 16;

/// The Microsoft message-type number T for a key usage (RFC 4757 3, as MIT applies it:
/// AS-REP enc-part 3 becomes 8 and the GSS wrap sign usage 23 becomes 13).
pub fn ms_usage(usage: KeyUsage) -> u32 {
    match usage.0 {
        3 => 8,
        23 => 13,
        other => other,
    }
}

/// HMAC-MD5 over the concatenated parts (RFC 4757 and MS-NLMP both build on it).
pub(crate) fn hmac_md5(key: &[u8], parts: &[&[u8]]) -> [u8; 16] {
    // HMAC accepts any key length, so this cannot fail.
    let Ok(mut mac) = <Hmac<Md5> as KeyInit>::new_from_slice(key) else {
        return [0; 16];
    };
    for part in parts {
        mac.update(part);
    }
    mac.finalize().into_bytes().into()
}

/// An RC4 keystream under a 16-byte key (every RC4 key in Kerberos and NTLM is 16 bytes).
#[allow(clippy::expect_used, reason = "RC4 takes keys of 1 to 32 bytes; 16 always fits")]
pub(crate) fn rc4_16(key: &[u8; 16]) -> rc4::Rc4 {
    use cipher::KeyInit as _;
    rc4::Rc4::new_from_slice(key).expect("RC4 accepts 16-byte keys")
}

/// The NT hash: MD4 of the UTF-16LE password (also NTOWFv1, MS-NLMP 3.3.1).
pub(crate) fn nt_hash(password: &[u8]) -> Result<Zeroizing<[u8; 16]>, CryptoError> {
    let text = core::str::from_utf8(password).map_err(|_| CryptoError::PasswordNotUtf8)?;
    let mut md4 = md4::Md4::new();
    let mut unit = [0u16; 2];
    for c in text.chars() {
        for u in c.encode_utf16(&mut unit) {
            md4.update(u.to_le_bytes());
        }
    }
    Ok(Zeroizing::new(md4.finalize().into()))
}

impl Enctype for Rc4Hmac {
    fn etype(&self) -> EncType {
        EncType::RC4_HMAC
    }
    fn key_len(&self) -> usize {
        16
    }
    fn confounder_len(&self) -> usize {
        CONFOUNDER
    }
    fn checksum_type(&self) -> CksumType {
        CksumType::HMAC_MD5
    }
    fn checksum_len(&self) -> usize {
        CHECKSUM
    }
    fn default_iterations(&self) -> u32 {
        0
    }

    /// MD4(UTF-16LE(password)); salt and params are ignored, as RFC 4757 says.
    fn string_to_key(&self, password: &[u8], _salt: &[u8], _params: Option<&[u8]>) -> Result<Key, CryptoError> {
        Key::with_len(EncType::RC4_HMAC, &nt_hash(password)?[..], 16)
    }

    fn encrypt(&self, key: &Key, usage: KeyUsage, confounder: &[u8], plaintext: &[u8]) -> Result<Vec<u8>, CryptoError> {
        check_key(key, EncType::RC4_HMAC)?;
        check_confounder(confounder, CONFOUNDER)?;
        let k1 = Zeroizing::new(hmac_md5(key.expose_bytes(), &[&ms_usage(usage).to_le_bytes()]));
        let checksum = hmac_md5(&k1[..], &[confounder, plaintext]);
        let k3 = Zeroizing::new(hmac_md5(&k1[..], &[&checksum]));
        let mut out = Vec::with_capacity(CHECKSUM + CONFOUNDER + plaintext.len());
        out.extend_from_slice(&checksum);
        out.extend_from_slice(confounder);
        out.extend_from_slice(plaintext);
        rc4_16(&k3).apply_keystream(&mut out[CHECKSUM..]);
        Ok(out)
    }

    fn decrypt(&self, key: &Key, usage: KeyUsage, ciphertext: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        check_key(key, EncType::RC4_HMAC)?;
        let need = CHECKSUM + CONFOUNDER;
        if ciphertext.len() < need {
            return Err(CryptoError::CiphertextTooShort { need, got: ciphertext.len() });
        }
        let (checksum, body) = ciphertext.split_at(CHECKSUM);
        let k1 = Zeroizing::new(hmac_md5(key.expose_bytes(), &[&ms_usage(usage).to_le_bytes()]));
        let k3 = Zeroizing::new(hmac_md5(&k1[..], &[checksum]));
        let mut plain = Zeroizing::new(body.to_vec());
        rc4_16(&k3).apply_keystream(&mut plain);
        if !bool::from(hmac_md5(&k1[..], &[&plain]).ct_eq(checksum)) {
            return Err(CryptoError::IntegrityCheckFailed);
        }
        plain.drain(..CONFOUNDER);
        Ok(plain)
    }

    /// hmac-md5 (-138): HMAC-MD5(HMAC-MD5(key, "signaturekey\0"), MD5(T | data)).
    fn checksum(&self, key: &Key, usage: KeyUsage, data: &[u8]) -> Result<Vec<u8>, CryptoError> {
        check_key(key, EncType::RC4_HMAC)?;
        let ksign = Zeroizing::new(hmac_md5(key.expose_bytes(), &[b"signaturekey\0"]));
        let mut md5 = Md5::new();
        md5.update(ms_usage(usage).to_le_bytes());
        md5.update(data);
        Ok(hmac_md5(&ksign[..], &[&md5.finalize()]).to_vec())
    }

    /// MIT's RC4 PRF: HMAC-SHA1(key, input).
    fn prf(&self, key: &Key, input: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        check_key(key, EncType::RC4_HMAC)?;
        let Ok(mut mac) = <Hmac<sha1::Sha1> as KeyInit>::new_from_slice(key.expose_bytes()) else {
            return Err(CryptoError::BadKeyLength { what: "key", expected: 16, got: 0 });
        };
        mac.update(input);
        Ok(Zeroizing::new(mac.finalize().into_bytes().to_vec()))
    }
}
