//! The key schedule of an SMB2/3 session, stated once for the client and `keyless inspect`:
//! the 3.1.1 preauth integrity chain (MS-SMB2 3.2.5.2, 3.2.5.3.1), which derivation a dialect
//! uses, and the signer and ciphers an established session runs with.

use crate::smb2_kdf::{Cipher, CipherKey, Derivation, SessionKeys, SigningKey, preauth_hash_step};
use crate::{Aead, CryptoError, Signer, SigningAlgorithm};

/// The SHA-512 preauth integrity hash (3.1.1): it starts at zero, takes the NEGOTIATE request
/// and response, and for each new session its SESSION_SETUP requests and every response but
/// the last.
#[derive(Clone)]
pub struct PreauthHash([u8; 64]);

impl Default for PreauthHash {
    fn default() -> Self {
        Self([0; 64])
    }
}

impl core::fmt::Debug for PreauthHash {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("PreauthHash(..)")
    }
}

impl PreauthHash {
    /// Takes one whole SMB2 message (header and body).
    pub fn add(&mut self, message: &[u8]) {
        self.0 = preauth_hash_step(&self.0, message);
    }

    /// The value so far.
    pub fn value(&self) -> &[u8; 64] {
        &self.0
    }
}

/// Which keys a dialect derives, by its number (0x0202 ... 0x0311).
#[derive(Clone, Copy, Debug)]
pub enum KeySchedule<'a> {
    /// 2.0.2 and 2.1: the session key signs (HMAC-SHA256); no encryption.
    Smb2,
    /// 3.0 and 3.0.2, and 3.1.1 with the session's preauth hash.
    Smb3(Derivation<'a>),
}

/// The keys a session runs with: signing always, the two cipher keys when a cipher was
/// negotiated.
#[derive(Debug, Clone)]
pub struct DerivedKeys {
    /// Signs requests and verifies responses.
    pub signing: SigningKey,
    /// Client-to-server and server-to-client cipher keys.
    pub ciphers: Option<(CipherKey, CipherKey)>,
}

impl<'a> KeySchedule<'a> {
    /// The schedule of `dialect` (2.x, 3.0.x, or 3.1.1 with `preauth`).
    pub fn for_dialect(dialect: u16, preauth: &'a PreauthHash) -> Self {
        match dialect {
            0x0202 | 0x0210 => Self::Smb2,
            0x0311 => Self::Smb3(Derivation::Smb311 { preauth_hash: &preauth.0 }),
            _ => Self::Smb3(Derivation::Smb30),
        }
    }

    /// Derives the keys from the GSS session key (any length) for `cipher`.
    pub fn derive(self, gss_session_key: &[u8], cipher: Option<Cipher>) -> DerivedKeys {
        match self {
            Self::Smb2 => DerivedKeys { signing: SigningKey::smb2(gss_session_key), ciphers: None },
            Self::Smb3(derivation) => {
                let keys = SessionKeys::derive(gss_session_key, derivation, cipher);
                DerivedKeys { signing: keys.signing, ciphers: cipher.map(|_| (keys.encryption, keys.decryption)) }
            }
        }
    }
}

/// What an established session signs, seals and opens with, from the client's side.
pub struct SessionCrypto {
    /// Signs requests, verifies responses.
    pub signer: Signer,
    /// Seals client-to-server messages.
    pub encrypt: Option<Aead>,
    /// Opens server-to-client messages.
    pub decrypt: Option<Aead>,
}

impl core::fmt::Debug for SessionCrypto {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("SessionCrypto")
            .field("signing", &self.signer.algorithm())
            .field("cipher", &self.encrypt.as_ref().map(Aead::cipher))
            .finish()
    }
}

impl SessionCrypto {
    /// The signer and ciphers of `keys`.
    ///
    /// # Errors
    /// A cipher key of the wrong length for `cipher` (never from [`KeySchedule::derive`]).
    pub fn new(keys: &DerivedKeys, cipher: Option<Cipher>, signing: SigningAlgorithm) -> Result<Self, CryptoError> {
        let (encrypt, decrypt) = match (&keys.ciphers, cipher) {
            (Some((c2s, s2c)), Some(c)) => (Some(Aead::new(c, c2s)?), Some(Aead::new(c, s2c)?)),
            _ => (None, None),
        };
        Ok(Self { signer: Signer::new(signing, &keys.signing), encrypt, decrypt })
    }
}
