//! # keyless-crypto
//!
//! The cryptography that Kerberos and SMB2/3 need, and nothing else, on RustCrypto primitives:
//!
//! - Kerberos encryption types behind one trait, [`Enctype`]: aes128/256-cts-hmac-sha1-96
//!   (RFC 3962), aes128-cts-hmac-sha256-128 and aes256-cts-hmac-sha384-192 (RFC 8009), and
//!   rc4-hmac (RFC 4757), with their keyed checksums, string-to-key and PRF, and FAST's
//!   KRB-FX-CF2 ([`rfc6113`]).
//! - NTLM hashes and NTLMv2 key computations ([`ntlm`], MS-NLMP 3.3, 3.4).
//! - SMB: SP800-108 key derivation ([`SessionKeys`], MS-SMB2 3.1.4.2), signing ([`Signer`]:
//!   HMAC-SHA256, AES-CMAC, AES-GMAC) and TRANSFORM_HEADER encryption ([`Aead`]: AES-128/256
//!   CCM and GCM), and the session key schedule both the client and `keyless inspect` follow
//!   ([`KeySchedule`], [`PreauthHash`], [`SessionCrypto`]).
//!
//! Every key type zeroizes itself on drop and prints no bytes in `Debug`. Every decryption and
//! MAC check compares in constant time and returns a typed [`CryptoError`], never panics.
//! The crate does no I/O and reads no clock or RNG: confounders and nonces come from the caller.
//!
//! ```
//! use keyless_crypto::{EncType, KeyUsage, for_etype};
//! // A Kerberos key from a password (RFC 3962), then an encryption and its decryption.
//! let aes = for_etype(EncType::AES256_CTS_HMAC_SHA1_96)?;
//! let key = aes.string_to_key(b"password", b"EXAMPLE.TESTalice", None)?;
//! let confounder = [7u8; 16]; // random in real use: the caller's RNG
//! let sealed = aes.encrypt(&key, KeyUsage(1), &confounder, b"hello")?;
//! assert_eq!(&aes.decrypt(&key, KeyUsage(1), &sealed)?[..], b"hello");
//! // A flipped bit is an integrity error, never a panic.
//! let mut bad = sealed.clone();
//! bad[20] ^= 1;
//! assert!(aes.decrypt(&key, KeyUsage(1), &bad).is_err());
//! # Ok::<(), keyless_crypto::CryptoError>(())
//! ```

mod aes;
mod enctype;
mod error;
mod key;
mod numbers;
mod smb2_kdf;
mod smb2_seal;
mod smb2_session;
mod smb2_sign;

pub mod ntlm;
pub mod rfc3961;
pub mod rfc3962;
pub mod rfc4757;
pub mod rfc6113;
pub mod rfc8009;
pub mod selftest;
pub mod sp800_108;

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

pub use enctype::{Enctype, SUPPORTED, for_cksumtype, for_etype, make_checksum, verify_checksum};
pub use error::{CryptoError, ErrorKind};
pub use key::Key;
pub use numbers::{CksumType, EncType, KeyUsage};
pub use smb2_kdf::{ApplicationKey, Cipher, CipherKey, Derivation, SessionKeys, SigningKey, preauth_hash_step};
pub use smb2_seal::Aead;
pub use smb2_session::{DerivedKeys, KeySchedule, PreauthHash, SessionCrypto};
pub use smb2_sign::{Signer, SigningAlgorithm};
pub use zeroize::Zeroizing;
