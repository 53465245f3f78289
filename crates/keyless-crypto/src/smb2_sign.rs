//! SMB2/3 message signing, MS-SMB2 3.1.4.1: HMAC-SHA256 (2.0.2, 2.1), AES-128-CMAC (3.0, 3.0.2,
//! and 3.1.1 without a signing context) and AES-128-GMAC (3.1.1, 2.2.3.1.7).
//!
//! The MAC covers the whole message with the 16-byte Signature field zeroed and the SIGNED flag
//! set. Verification feeds the MAC the header in three pieces (before, zeros, after), so a
//! received message is checked where it lies, without a copy.

use crate::{CryptoError, SigningKey};
use aes::Aes128;
use cipher::{BlockCipherEncrypt, KeyInit, array::Array};
use cmac::Cmac;
use ghash::GHash;
use ghash::universal_hash::UniversalHash;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

/// Signing algorithms (MS-SMB2 2.2.3.1.7 SigningAlgorithm IDs).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SigningAlgorithm {
    /// HMAC-SHA256 (0x0000).
    HmacSha256,
    /// AES-CMAC (0x0001).
    AesCmac,
    /// AES-GMAC (0x0002).
    AesGmac,
}

impl SigningAlgorithm {
    /// The wire SigningAlgorithm ID.
    pub fn id(self) -> u16 {
        match self {
            Self::HmacSha256 => 0,
            Self::AesCmac => 1,
            Self::AesGmac => 2,
        }
    }
    /// The algorithm of a wire ID, if keyless knows it.
    pub fn from_id(id: u16) -> Option<Self> {
        Some(match id {
            0 => Self::HmacSha256,
            1 => Self::AesCmac,
            2 => Self::AesGmac,
            _ => return None,
        })
    }
    /// The name as MS-SMB2 and `smbstatus` print it.
    pub fn name(self) -> &'static str {
        match self {
            Self::HmacSha256 => "HMAC-SHA256",
            Self::AesCmac => "AES-128-CMAC",
            Self::AesGmac => "AES-128-GMAC",
        }
    }
}

use keyless_wire_enum::smb2_header::{COMMAND_CANCEL, LEN, field, flags};

/// A signing context: the key schedule is prepared once and cloned per message.
#[derive(Clone)]
pub struct Signer {
    inner: Inner,
}

#[derive(Clone)]
enum Inner {
    HmacSha256(Hmac<Sha256>),
    AesCmac(Cmac<Aes128>),
    AesGmac { aes: Aes128, ghash: GHash },
}

impl core::fmt::Debug for Signer {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Signer").field("algorithm", &self.algorithm()).finish_non_exhaustive()
    }
}

impl Signer {
    /// A signer for `algorithm` with the session's (or channel's) signing key.
    pub fn new(algorithm: SigningAlgorithm, key: &SigningKey) -> Self {
        let k = Array::from(*key.expose_bytes());
        let inner = match algorithm {
            SigningAlgorithm::HmacSha256 => {
                // HMAC zero-pads short keys to the block size; doing it here makes `new` infallible.
                let mut padded = zeroize::Zeroizing::new([0u8; 64]);
                padded[..16].copy_from_slice(key.expose_bytes());
                Inner::HmacSha256(<Hmac<Sha256> as KeyInit>::new(&Array::from(*padded)))
            }
            SigningAlgorithm::AesCmac => Inner::AesCmac(<Cmac<Aes128> as KeyInit>::new(&k)),
            SigningAlgorithm::AesGmac => {
                let aes = Aes128::new(&k);
                let mut h = Array::from([0u8; 16]);
                aes.encrypt_block(&mut h);
                Inner::AesGmac { aes, ghash: GHash::new(&h) }
            }
        };
        Self { inner }
    }

    /// Which algorithm this signer runs.
    pub fn algorithm(&self) -> SigningAlgorithm {
        match self.inner {
            Inner::HmacSha256(_) => SigningAlgorithm::HmacSha256,
            Inner::AesCmac(_) => SigningAlgorithm::AesCmac,
            Inner::AesGmac { .. } => SigningAlgorithm::AesGmac,
        }
    }

    /// The signature of `message` as if its Signature field were zero (the field's current
    /// contents are ignored). `message` is one whole SMB2 message, header first, including any
    /// compound padding.
    ///
    /// # Errors
    /// [`CryptoError::SmbMessageTooShort`] when it cannot hold a header.
    pub fn signature(&self, message: &[u8]) -> Result<[u8; 16], CryptoError> {
        if message.len() < LEN {
            return Err(CryptoError::SmbMessageTooShort { got: message.len() });
        }
        let (before, rest) = message.split_at(field::SIGNATURE.start);
        let after = &rest[16..];
        const ZEROS: [u8; 16] = [0; 16];
        Ok(match &self.inner {
            Inner::HmacSha256(mac) => {
                let mut mac = mac.clone();
                mac.update(before);
                mac.update(&ZEROS);
                mac.update(after);
                let full = mac.finalize().into_bytes();
                let mut out = [0u8; 16];
                out.copy_from_slice(&full[..16]);
                out
            }
            Inner::AesCmac(mac) => {
                let mut mac = mac.clone();
                mac.update(before);
                mac.update(&ZEROS);
                mac.update(after);
                mac.finalize().into_bytes().into()
            }
            Inner::AesGmac { aes, ghash } => gmac(aes, ghash.clone(), &gmac_nonce(message), &[before, &ZEROS, after]),
        })
    }

    /// Signs `message` in place: sets SMB2_FLAGS_SIGNED and writes the Signature field.
    ///
    /// # Errors
    /// [`CryptoError::SmbMessageTooShort`].
    pub fn sign(&self, message: &mut [u8]) -> Result<(), CryptoError> {
        if message.len() < LEN {
            return Err(CryptoError::SmbMessageTooShort { got: message.len() });
        }
        let flags = read_u32(message, field::FLAGS.start) | flags::SIGNED;
        message[field::FLAGS].copy_from_slice(&flags.to_le_bytes());
        let signature = self.signature(message)?;
        message[field::SIGNATURE].copy_from_slice(&signature);
        Ok(())
    }

    /// Verifies the Signature field of a received message, in constant time.
    ///
    /// # Errors
    /// [`CryptoError::IntegrityCheckFailed`] or [`CryptoError::SmbMessageTooShort`].
    pub fn verify(&self, message: &[u8]) -> Result<(), CryptoError> {
        let expected = self.signature(message)?;
        if bool::from(expected.ct_eq(&message[field::SIGNATURE])) {
            Ok(())
        } else {
            Err(CryptoError::IntegrityCheckFailed)
        }
    }
}

fn read_u32(message: &[u8], at: usize) -> u32 {
    let mut b = [0u8; 4];
    b.copy_from_slice(&message[at..at + 4]);
    u32::from_le_bytes(b)
}

/// The 12-byte AES-GMAC nonce (MS-SMB2 3.1.4.1): MessageId, then a word whose bit 0 says the
/// server sent it and bit 1 that it is a CANCEL request. `message` holds at least a header.
fn gmac_nonce(message: &[u8]) -> [u8; 12] {
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&message[field::MESSAGE_ID]);
    let flags = read_u32(message, field::FLAGS.start);
    let command = u16::from_le_bytes([message[field::COMMAND.start], message[field::COMMAND.start + 1]]);
    let mut role = 0u32;
    if flags & flags::SERVER_TO_REDIR != 0 {
        role |= 1;
    }
    if command == COMMAND_CANCEL && flags & flags::SERVER_TO_REDIR == 0 {
        role |= 2;
    }
    nonce[8..].copy_from_slice(&role.to_le_bytes());
    nonce
}

/// GMAC (NIST SP 800-38D with an empty plaintext): E(K, J0) xor GHASH(H, AAD || lengths).
/// The pieces of `aad` are fed in order; all but the last must be multiples of 16 bytes
/// (48 and 16 here), so GHASH pads only the end, as one contiguous AAD would be padded.
fn gmac(aes: &Aes128, mut ghash: GHash, nonce: &[u8; 12], aad: &[&[u8]]) -> [u8; 16] {
    let mut total = 0u64;
    for piece in aad {
        ghash.update_padded(piece);
        total += piece.len() as u64;
    }
    let mut lengths = [0u8; 16];
    lengths[..8].copy_from_slice(&(total * 8).to_be_bytes());
    ghash.update(&[Array::from(lengths)]);
    let mut tag: [u8; 16] = ghash.finalize().into();
    let mut j0 = [0u8; 16];
    j0[..12].copy_from_slice(nonce);
    j0[15] = 1;
    let mut j0 = Array::from(j0);
    aes.encrypt_block(&mut j0);
    for (t, e) in tag.iter_mut().zip(j0.iter()) {
        *t ^= e;
    }
    tag
}

#[cfg(test)]
mod tests {
    use super::*;
    use aes_gcm::{AeadInOut, Aes128Gcm};

    /// GMAC must equal AES-GCM's tag over an empty plaintext with the message as AAD.
    #[test]
    fn gmac_equals_gcm_with_empty_plaintext() {
        let key = SigningKey::from_bytes(*b"0123456789abcdef");
        let signer = Signer::new(SigningAlgorithm::AesGmac, &key);
        for len in [64usize, 65, 100, 128, 1000] {
            let mut msg: Vec<u8> = (0..len).map(|i| (i * 7) as u8).collect();
            msg[48..64].fill(0);
            let sig = signer.signature(&msg).unwrap();
            let gcm = <Aes128Gcm as KeyInit>::new(&Array::from(*key.expose_bytes()));
            let nonce = gmac_nonce(&msg);
            let tag = gcm.encrypt_inout_detached(&Array::from(nonce), &msg, (&mut [][..]).into()).unwrap();
            assert_eq!(sig, <[u8; 16]>::from(tag), "len {len}");
        }
    }

    #[test]
    fn sign_then_verify_and_tamper() {
        let key = SigningKey::from_bytes([7; 16]);
        for alg in [SigningAlgorithm::HmacSha256, SigningAlgorithm::AesCmac, SigningAlgorithm::AesGmac] {
            let signer = Signer::new(alg, &key);
            let mut msg = vec![0x5a; 200];
            signer.sign(&mut msg).unwrap();
            signer.verify(&msg).unwrap();
            msg[100] ^= 1;
            assert_eq!(signer.verify(&msg), Err(CryptoError::IntegrityCheckFailed));
            assert_eq!(signer.verify(&msg[..63]), Err(CryptoError::SmbMessageTooShort { got: 63 }));
        }
    }
}
