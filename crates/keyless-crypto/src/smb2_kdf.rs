//! SMB 3.x session keys, MS-SMB2 3.1.4.2 (KDF) with the labels and contexts of 3.2.5.3.1
//! (3.0 / 3.0.2) and 3.1.1, including the AES-256 rule: the encryption and decryption keys of an
//! AES-256 cipher come from the full GSS session key with L = 256.

use crate::sp800_108::{Prf, kdf_counter};
use zeroize::{Zeroize, ZeroizeOnDrop};

/// One step of the SMB 3.1.1 preauth integrity hash (MS-SMB2 3.2.5.2): SHA-512 of the previous
/// value and the whole SMB2 message (header and body, without the Direct TCP length). The chain
/// starts from 64 zero bytes.
pub fn preauth_hash_step(previous: &[u8; 64], message: &[u8]) -> [u8; 64] {
    use sha2::{Digest, Sha512};
    let mut h = Sha512::new();
    h.update(previous);
    h.update(message);
    h.finalize().into()
}

/// SMB 3.x encryption algorithms (MS-SMB2 2.2.3.1.2 Cipher IDs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Cipher {
    /// AES-128-CCM (0x0001), the only 3.0/3.0.2 cipher.
    Aes128Ccm,
    /// AES-128-GCM (0x0002).
    Aes128Gcm,
    /// AES-256-CCM (0x0003).
    Aes256Ccm,
    /// AES-256-GCM (0x0004).
    Aes256Gcm,
}

impl Cipher {
    /// The wire Cipher ID.
    pub fn id(self) -> u16 {
        match self {
            Self::Aes128Ccm => 1,
            Self::Aes128Gcm => 2,
            Self::Aes256Ccm => 3,
            Self::Aes256Gcm => 4,
        }
    }
    /// The cipher of a wire Cipher ID, if keyless knows it.
    pub fn from_id(id: u16) -> Option<Self> {
        Some(match id {
            1 => Self::Aes128Ccm,
            2 => Self::Aes128Gcm,
            3 => Self::Aes256Ccm,
            4 => Self::Aes256Gcm,
            _ => return None,
        })
    }
    /// Key length in bytes.
    pub fn key_len(self) -> usize {
        match self {
            Self::Aes128Ccm | Self::Aes128Gcm => 16,
            Self::Aes256Ccm | Self::Aes256Gcm => 32,
        }
    }
    /// Nonce length used out of the 16-byte TRANSFORM_HEADER Nonce field (2.2.41).
    pub fn nonce_len(self) -> usize {
        match self {
            Self::Aes128Ccm | Self::Aes256Ccm => 11,
            Self::Aes128Gcm | Self::Aes256Gcm => 12,
        }
    }
    /// The name as MS-SMB2 and `smbstatus` print it.
    pub fn name(self) -> &'static str {
        match self {
            Self::Aes128Ccm => "AES-128-CCM",
            Self::Aes128Gcm => "AES-128-GCM",
            Self::Aes256Ccm => "AES-256-CCM",
            Self::Aes256Gcm => "AES-256-GCM",
        }
    }
}

/// Which SMB 3 key derivation applies.
#[derive(Clone, Copy, Debug)]
pub enum Derivation<'a> {
    /// Dialects 3.0 and 3.0.2: constant labels and contexts.
    Smb30,
    /// Dialect 3.1.1: the context is Session.PreauthIntegrityHashValue.
    Smb311 {
        /// SHA-512 preauth integrity hash of the session's NEGOTIATE and SESSION_SETUP exchange.
        preauth_hash: &'a [u8; 64],
    },
}

/// A 16-byte SMB signing key (also the SMB 2.x session key used for HMAC-SHA256 signing).
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct SigningKey([u8; 16]);

/// A 16-byte SMB application key (MS-SMB2 3.2.5.3.1), for protocols layered over SMB.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct ApplicationKey([u8; 16]);

/// An AES key of 16 or 32 bytes for TRANSFORM_HEADER encryption.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct CipherKey {
    len: u8,
    bytes: [u8; 32],
}

macro_rules! redacted_debug {
    ($($t:ty),*) => {$(
        impl core::fmt::Debug for $t {
            fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
                f.write_str(concat!(stringify!($t), "(..)"))
            }
        }
    )*};
}
redacted_debug!(SigningKey, ApplicationKey, CipherKey);

impl SigningKey {
    /// From raw bytes (a key derived elsewhere, or given to `keyless inspect`).
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
    /// SMB 2.0.2 / 2.1: Session.SessionKey itself signs (MS-SMB2 3.2.5.3.1).
    pub fn smb2(gss_session_key: &[u8]) -> Self {
        Self(session_key_16(gss_session_key))
    }
    /// The raw bytes.
    pub fn expose_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl ApplicationKey {
    /// The raw bytes.
    pub fn expose_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl CipherKey {
    /// From raw bytes, 16 or 32 of them.
    pub fn from_bytes(bytes: &[u8]) -> Option<Self> {
        if bytes.len() != 16 && bytes.len() != 32 {
            return None;
        }
        let mut key = Self { len: bytes.len() as u8, bytes: [0; 32] }; // 16 or 32
        key.bytes[..bytes.len()].copy_from_slice(bytes);
        Some(key)
    }
    /// The raw bytes.
    pub fn expose_bytes(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// The keys of an SMB 3.x session, from the client's point of view.
#[derive(Debug, Clone)]
pub struct SessionKeys {
    /// Signs requests and verifies responses.
    pub signing: SigningKey,
    /// Application key.
    pub application: ApplicationKey,
    /// Client-to-server encryption key ("ServerIn").
    pub encryption: CipherKey,
    /// Server-to-client key the client decrypts with ("ServerOut").
    pub decryption: CipherKey,
}

/// Session.SessionKey: the first 16 bytes of the GSS key, zero-padded if shorter (3.2.1.3).
fn session_key_16(gss_key: &[u8]) -> [u8; 16] {
    let mut out = [0u8; 16];
    let n = gss_key.len().min(16);
    out[..n].copy_from_slice(&gss_key[..n]);
    out
}

impl SessionKeys {
    /// Derives the session's keys from the GSS session key (the Kerberos AP-REP subkey or the
    /// NTLM exported session key, any length) for dialect 3.x and the negotiated cipher.
    pub fn derive(gss_session_key: &[u8], derivation: Derivation<'_>, cipher: Option<Cipher>) -> Self {
        let session_key = zeroize::Zeroizing::new(session_key_16(gss_session_key));
        let (sign, app, enc, dec): (&[u8], &[u8], &[u8], &[u8]) = match derivation {
            Derivation::Smb30 => (b"SMB2AESCMAC\0", b"SMB2APP\0", b"SMB2AESCCM\0", b"SMB2AESCCM\0"),
            Derivation::Smb311 { .. } => {
                (b"SMBSigningKey\0", b"SMBAppKey\0", b"SMBC2SCipherKey\0", b"SMBS2CCipherKey\0")
            }
        };
        let (sign_ctx, app_ctx, enc_ctx, dec_ctx): (&[u8], &[u8], &[u8], &[u8]) = match derivation {
            Derivation::Smb30 => (b"SmbSign\0", b"SmbRpc\0", b"ServerIn \0", b"ServerOut\0"),
            Derivation::Smb311 { preauth_hash } => (preauth_hash, preauth_hash, preauth_hash, preauth_hash),
        };
        // AES-256 ciphers: the whole GSS key, L = 256 (3.1.1 only; 3.0.x has no AES-256).
        let (cipher_ki, cipher_len): (&[u8], usize) = match cipher {
            Some(c) if c.key_len() == 32 => (gss_session_key, 32),
            _ => (&session_key[..], 16),
        };
        let mut signing = [0u8; 16];
        kdf_counter(Prf::HmacSha256, &session_key[..], sign, sign_ctx, &mut signing);
        let mut application = [0u8; 16];
        kdf_counter(Prf::HmacSha256, &session_key[..], app, app_ctx, &mut application);
        let mut encryption = CipherKey { len: cipher_len as u8, bytes: [0; 32] }; // 16 or 32
        kdf_counter(Prf::HmacSha256, cipher_ki, enc, enc_ctx, &mut encryption.bytes[..cipher_len]);
        let mut decryption = CipherKey { len: cipher_len as u8, bytes: [0; 32] };
        kdf_counter(Prf::HmacSha256, cipher_ki, dec, dec_ctx, &mut decryption.bytes[..cipher_len]);
        let keys =
            Self { signing: SigningKey(signing), application: ApplicationKey(application), encryption, decryption };
        signing.zeroize();
        application.zeroize();
        keys
    }
}
