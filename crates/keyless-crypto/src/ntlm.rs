//! NTLM cryptography, MS-NLMP 3.3 and 3.4: the NT hash, NTLMv2 responses, session base key,
//! key exchange, and the signing/sealing keys of extended session security. No NTLMv1/LM
//! responses: they are broken and nothing here needs them. The NTLMSSP messages themselves
//! belong to the GSS layer.

use crate::CryptoError;
use crate::rfc4757::hmac_md5;
use md5::{Digest, Md5};
use zeroize::{Zeroize, ZeroizeOnDrop, Zeroizing};

/// A 16-byte NTLM secret (NT hash, NTOWFv2, session keys): zeroized, never printed.
#[derive(Clone, Zeroize, ZeroizeOnDrop)]
pub struct NtlmKey([u8; 16]);

impl NtlmKey {
    /// Wraps 16 raw bytes.
    pub fn from_bytes(bytes: [u8; 16]) -> Self {
        Self(bytes)
    }
    /// The raw bytes.
    pub fn expose_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl core::fmt::Debug for NtlmKey {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("NtlmKey(..)")
    }
}

fn utf16le(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

/// Uppercase as Windows does it: one UTF-16 unit for one, so a character whose uppercase form
/// is longer (German sharp s) stays as it is.
fn upcase(text: &str) -> String {
    text.chars()
        .map(|c| {
            let mut up = c.to_uppercase();
            match (up.next(), up.next()) {
                (Some(u), None) => u,
                _ => c,
            }
        })
        .collect()
}

/// NTOWFv1: MD4 of the UTF-16LE password (MS-NLMP 3.3.1). The same value is the RC4-HMAC key.
///
/// # Errors
/// [`CryptoError::PasswordNotUtf8`].
pub fn nt_hash(password: &[u8]) -> Result<NtlmKey, CryptoError> {
    Ok(NtlmKey(*crate::rfc4757::nt_hash(password)?))
}

/// NTOWFv2 = HMAC-MD5(NT hash, UTF-16LE(Uppercase(user) | domain)) (MS-NLMP 3.3.2).
/// It is both ResponseKeyNT and ResponseKeyLM.
pub fn ntowf_v2(nt_hash: &NtlmKey, user: &str, domain: &str) -> NtlmKey {
    let identity = utf16le(&(upcase(user) + domain));
    NtlmKey(hmac_md5(&nt_hash.0, &[&identity]))
}

/// The NTLMv2 client blob `temp` (MS-NLMP 3.3.2, 2.2.2.7): version 1/1, the time in FILETIME
/// units, the client challenge and the server's target info (AV pairs, ending in MsvAvEOL).
pub fn ntlmv2_client_blob(time: u64, client_challenge: &[u8; 8], target_info: &[u8]) -> Vec<u8> {
    let mut temp = Vec::with_capacity(28 + target_info.len() + 4);
    temp.extend_from_slice(&[1, 1, 0, 0, 0, 0, 0, 0]);
    temp.extend_from_slice(&time.to_le_bytes());
    temp.extend_from_slice(client_challenge);
    temp.extend_from_slice(&[0; 4]);
    temp.extend_from_slice(target_info);
    temp.extend_from_slice(&[0; 4]);
    temp
}

/// NTProofStr = HMAC-MD5(ResponseKeyNT, ServerChallenge | temp).
pub fn nt_proof_str(response_key_nt: &NtlmKey, server_challenge: &[u8; 8], temp: &[u8]) -> [u8; 16] {
    hmac_md5(&response_key_nt.0, &[server_challenge, temp])
}

/// LMv2 response = HMAC-MD5(ResponseKeyLM, ServerChallenge | ClientChallenge) | ClientChallenge.
pub fn lmv2_response(response_key_lm: &NtlmKey, server_challenge: &[u8; 8], client_challenge: &[u8; 8]) -> [u8; 24] {
    let mut out = [0u8; 24];
    out[..16].copy_from_slice(&hmac_md5(&response_key_lm.0, &[server_challenge, client_challenge]));
    out[16..].copy_from_slice(client_challenge);
    out
}

/// SessionBaseKey = HMAC-MD5(ResponseKeyNT, NTProofStr). For NTLMv2 this is also the
/// KeyExchangeKey (KXKEY, MS-NLMP 3.4.5.1).
pub fn session_base_key(response_key_nt: &NtlmKey, nt_proof_str: &[u8; 16]) -> NtlmKey {
    NtlmKey(hmac_md5(&response_key_nt.0, &[nt_proof_str]))
}

/// RC4K(KeyExchangeKey, ExportedSessionKey): EncryptedRandomSessionKey of NTLMSSP key exchange.
/// The same function decrypts it on the acceptor side.
pub fn rc4k(key: &NtlmKey, data: &[u8; 16]) -> [u8; 16] {
    use cipher::StreamCipher as _;
    let mut out = *data;
    crate::rfc4757::rc4_16(&key.0).apply_keystream(&mut out);
    out
}

/// Which side a signing or sealing key is for.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Side {
    /// Client to server.
    Client,
    /// Server to client.
    Server,
}

/// SIGNKEY with extended session security (MS-NLMP 3.4.5.2).
pub fn sign_key(exported_session_key: &NtlmKey, side: Side) -> NtlmKey {
    let magic: &[u8] = match side {
        Side::Client => b"session key to client-to-server signing key magic constant\0",
        Side::Server => b"session key to server-to-client signing key magic constant\0",
    };
    NtlmKey(md5_of(&[&exported_session_key.0, magic]))
}

/// SEALKEY with extended session security and 128-bit keys (MS-NLMP 3.4.5.3).
pub fn seal_key(exported_session_key: &NtlmKey, side: Side) -> NtlmKey {
    let magic: &[u8] = match side {
        Side::Client => b"session key to client-to-server sealing key magic constant\0",
        Side::Server => b"session key to server-to-client sealing key magic constant\0",
    };
    NtlmKey(md5_of(&[&exported_session_key.0, magic]))
}

/// The MIC of the AUTHENTICATE message (MS-NLMP 3.1.5.1.2): HMAC-MD5 of the three messages
/// (with the MIC field zeroed) under the exported session key.
pub fn message_integrity_code(
    exported_session_key: &NtlmKey,
    negotiate: &[u8],
    challenge: &[u8],
    authenticate: &[u8],
) -> [u8; 16] {
    hmac_md5(&exported_session_key.0, &[negotiate, challenge, authenticate])
}

/// The 8-byte HMAC part of an extended-session-security signature (MS-NLMP 3.4.4.2):
/// HMAC-MD5(SigningKey, SeqNum | Message)[0..8], before the optional RC4 of key exchange.
pub fn signature_checksum(signing_key: &NtlmKey, seq_num: u32, message: &[u8]) -> Zeroizing<[u8; 8]> {
    let full = hmac_md5(&signing_key.0, &[&seq_num.to_le_bytes(), message]);
    let mut out = Zeroizing::new([0u8; 8]);
    out.copy_from_slice(&full[..8]);
    out
}

/// The RC4 state of one direction of NTLM sealing (MS-NLMP 3.4.3): it runs on across messages,
/// through each message and then its signature checksum.
pub struct SealingHandle(rc4::Rc4);

impl SealingHandle {
    /// Starts the RC4 stream with a sealing key.
    pub fn new(sealing_key: &NtlmKey) -> Self {
        Self(crate::rfc4757::rc4_16(&sealing_key.0))
    }

    /// Encrypts or decrypts `data` in place, advancing the stream.
    pub fn apply(&mut self, data: &mut [u8]) {
        use cipher::StreamCipher as _;
        self.0.apply_keystream(data);
    }
}

impl core::fmt::Debug for SealingHandle {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str("SealingHandle(..)")
    }
}

fn md5_of(parts: &[&[u8]]) -> [u8; 16] {
    let mut md5 = Md5::new();
    for part in parts {
        md5.update(part);
    }
    md5.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_style_uppercase_keeps_length() {
        assert_eq!(upcase("straße"), "STRAßE");
        assert_eq!(upcase("user"), "USER");
    }
}
