//! A power-on style self-check: a handful of published known answers compiled into the binary,
//! one per algorithm family, run by `keyless selftest`. The full sets live in `testdata/` and
//! run under `cargo test`; the constants below were generated from these records:
//!
//! | check | record |
//! |---|---|
//! | aes256-cts-hmac-sha1-96 string-to-key | `rfc3962/string-to-key.kat` `s2k_iter1200_password` |
//! | aes256-cts-hmac-sha384-192 encrypt | `rfc8009/encryption.kat`, enctype 20 "more than a block" |
//! | aes256-cts-hmac-sha1-96 / rc4-hmac decrypt | `mit-krb5/t_decrypt.kat` |
//! | NTLMv2 | `ms-nlmp/ntlmv2.kat` `ms_nlmp_4_2_4_ntlmv2` |
//! | SMB 3.1.1 KDF, AES-128-GCM, AES-CMAC | `ms-smb2/{kdf,encryption,signing}.kat` (Microsoft blogs) |

use crate::ntlm;
use crate::{
    Aead, Cipher, Derivation, EncType, Key, KeyUsage, SessionKeys, Signer, SigningAlgorithm, SigningKey, for_etype,
    rfc4757,
};
use hex_literal::hex;

/// One known-answer check.
#[derive(Debug, Clone)]
pub struct Check {
    /// What was checked.
    pub name: &'static str,
    /// Where the known answer comes from.
    pub source: &'static str,
    /// Whether our output matched it.
    pub passed: bool,
}

/// Runs every embedded check.
pub fn run() -> Vec<Check> {
    type Known = (&'static str, &'static str, fn() -> bool);
    let checks: [Known; 9] = [
        ("aes256-cts-hmac-sha1-96 string-to-key", "RFC 3962 Appendix B", s2k_aes256),
        ("aes256-cts-hmac-sha384-192 encrypt/decrypt", "RFC 8009 Appendix A", rfc8009_encrypt),
        ("aes256-cts-hmac-sha1-96 decrypt", "MIT krb5 t_decrypt.c", mit_aes256_decrypt),
        ("rc4-hmac decrypt", "MIT krb5 t_decrypt.c", mit_rc4_decrypt),
        ("NTLMv2 response and key exchange", "MS-NLMP 4.2.4", ntlmv2),
        ("SMB 3.1.1 key derivation", "Microsoft blog: SMB 3.1.1 Encryption in Windows 10", smb311_kdf),
        ("SMB 3.1.1 AES-128-GCM encryption", "Microsoft blog: SMB 3.1.1 Encryption in Windows 10", smb311_gcm),
        ("SMB 3.1.1 AES-CMAC signing", "Microsoft blog: SMB 3.1.1 Encryption in Windows 10", smb311_cmac),
        ("SMB 3.1.1 AES-GMAC signing", "NIST SP 800-38D: GMAC = AES-GCM tag of an empty plaintext", gmac_is_gcm),
    ];
    checks.into_iter().map(|(name, source, f)| Check { name, source, passed: f() }).collect()
}

const S2K_AES256_PASSWORD: &[u8] = b"password";
const S2K_AES256_SALT: &[u8] = b"ATHENA.MIT.EDUraeburn";
const S2K_AES256_KEY: &[u8] = &hex!("55a6ac740ad17b4846941051e1e8b0a7548d93b0ab30a8bc3ff16280382b8c2a");
const RFC8009_KEY: &[u8] = &hex!("6d404d37faf79f9df0d33568d320669800eb4836472ea8a026d16b7182460c52");
const RFC8009_CONFOUNDER: &[u8] = &hex!("763e65367e864f02f55153c7e3b58af1");
const RFC8009_PLAINTEXT: &[u8] = &hex!("000102030405060708090a0b0c0d0e0f1011121314");
const RFC8009_CIPHERTEXT: &[u8] = &hex!(
    "40013e2df58e8751957d2878bcd2d6fe101ccfd556cb1eae79db3c3ee86429f2b2a602ac86fef6ecb647d6295fae077a1feb517508d2c16b4192e01f62"
);
const MIT_RC4_KEY: &[u8] = &hex!("3e40ab6093695281b3ac1a9304224d98");
const MIT_RC4_PLAINTEXT: &[u8] = &hex!("392062797465737373");
const MIT_RC4_CIPHERTEXT: &[u8] = &hex!("0f9ad121d99d4a09448e4f1f718c4f5cbe6096262c66f29df232a87c9f98755d55");
const MIT_RC4_USAGE: u32 = 2;
const MIT_AES256_KEY: &[u8] = &hex!("f1c795e9248a09338d82c3f8d5b567040b0110736845041347235b1404231398");
const MIT_AES256_PLAINTEXT: &[u8] = &hex!("333020627974657320627974657320627974657320627974657320627974");
const MIT_AES256_CIPHERTEXT: &[u8] = &hex!(
    "d1137a4d634cfece924dbc3bf6790648bd5cff7de0e7b99460211d0daef3d79a295c688858f3b34b9cbd6eebae81daf6b734d4d498b6714f1c1d"
);
const MIT_AES256_USAGE: u32 = 4;
const NTLM_SERVER_CHALLENGE: &[u8] = &hex!("0123456789abcdef");
const NTLM_CLIENT_CHALLENGE: &[u8] = &hex!("aaaaaaaaaaaaaaaa");
const NTLM_TARGET_INFO: &[u8] = &hex!("02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000");
const NTLM_NT_PROOF_STR: &[u8] = &hex!("68cd0ab851e51c96aabc927bebef6a1c");
const NTLM_SESSION_BASE_KEY: &[u8] = &hex!("8de40ccadbc14a82f15cb0ad0de95ca3");
const NTLM_ENCRYPTED_RANDOM_SESSION_KEY: &[u8] = &hex!("c5dad2544fc9799094ce1ce90bc9d03e");
const SMB311_SESSION_KEY: &[u8] = &hex!("419fddf34c1e001909d362ae7fb6af79");
const SMB311_PREAUTH_HASH: &[u8] = &hex!(
    "b23f3cbfd69487d9832b79b1594a367cdd950909b774c3a4c412b4fcea9edddba7db256ba2ea30e977f11f9b113247578e0e915c6d2a513b8f2fca5707dc8770"
);
const SMB311_SIGNING_KEY: &[u8] = &hex!("8765949dfeaee105ce9118b45be988f0");
const SMB311_ENCRYPTION_KEY: &[u8] = &hex!("a2f5e80e5d59103034f32e52f698e5ec");
const SMB311_DECRYPTION_KEY: &[u8] = &hex!("748c50868c90f302962a5c35f5f9a8bf");
const SMB311_GCM_KEY: &[u8] = &hex!("a2f5e80e5d59103034f32e52f698e5ec");
const SMB311_GCM_PLAINTEXT: &[u8] = &hex!(
    "fe534d4240000100000000000900010008000000000000000500000000000000fffe000001000000250000000010000000000000000000000000000000000000310070001700000000000000000000000600000004000000010000000400000000000000000000007000000000000000536d623320656e6372797074696f6e2074657374696e67"
);
const SMB311_GCM_CIPHERTEXT: &[u8] = &hex!(
    "6ecdd2a7afc7b47763057a041b8fd4daffe990b70c9e09d36c084e02d14ef247f8bde38acf6256f8b1d3b56f77fbdeb312fea5e92cbcc1ed8fb2ebbfaa75e49a4a394bb44576545567c24d4c014d47c9fbdfdafd2c4f9b72f8d256452620a299f48e29e53d6b61d1c13a19e91af013f00d17e3abc2fc3d36c8c1b6b93973253852dbd442e46ee8"
);
const SMB311_GCM_TAG: &[u8] = &hex!("bd73d97d2bc9001bcafac0fdff5feebc");
const SMB311_GCM_TRANSFORM_HEADER: &[u8] =
    &hex!("fd534d42bd73d97d2bc9001bcafac0fdff5feebcc7d6822d269caf48904c664c0000000087000000000001002500000000100000");
const SMB311_SIGN_SIGNING_KEY: &[u8] = &hex!("8765949dfeaee105ce9118b45be988f0");
const SMB311_SIGN_MESSAGE: &[u8] = &hex!(
    "fe534d4240000100000000000100800009000000000000000200000000000000fffe0000000000002500000000100000000000000000000000000000000000000900000048001d00a11b3019a0030a0100a3120410010000003932a87523ab660100000000"
);
const SMB311_SIGN_SIGNATURE: &[u8] = &hex!("6b85a4519a0f3eea35ba946dd3afe6b8");

fn s2k_aes256() -> bool {
    let params = 1200u32.to_be_bytes();
    for_etype(EncType::AES256_CTS_HMAC_SHA1_96)
        .and_then(|e| e.string_to_key(S2K_AES256_PASSWORD, S2K_AES256_SALT, Some(&params)))
        .is_ok_and(|k| k.expose_bytes() == S2K_AES256_KEY)
}

fn rfc8009_encrypt() -> bool {
    let etype = EncType::AES256_CTS_HMAC_SHA384_192;
    let (Ok(e), Ok(key)) = (for_etype(etype), Key::from_bytes(etype, RFC8009_KEY)) else {
        return false;
    };
    let usage = KeyUsage(2);
    e.encrypt(&key, usage, RFC8009_CONFOUNDER, RFC8009_PLAINTEXT).is_ok_and(|c| c == RFC8009_CIPHERTEXT)
        && e.decrypt(&key, usage, RFC8009_CIPHERTEXT).is_ok_and(|p| p[..] == *RFC8009_PLAINTEXT)
}

fn decrypts(etype: EncType, key: &[u8], usage: u32, ciphertext: &[u8], plaintext: &[u8]) -> bool {
    let (Ok(e), Ok(key)) = (for_etype(etype), Key::from_bytes(etype, key)) else {
        return false;
    };
    e.decrypt(&key, KeyUsage(usage), ciphertext).is_ok_and(|p| p[..] == *plaintext)
}

fn mit_aes256_decrypt() -> bool {
    decrypts(
        EncType::AES256_CTS_HMAC_SHA1_96,
        MIT_AES256_KEY,
        MIT_AES256_USAGE,
        MIT_AES256_CIPHERTEXT,
        MIT_AES256_PLAINTEXT,
    )
}

fn mit_rc4_decrypt() -> bool {
    decrypts(EncType::RC4_HMAC, MIT_RC4_KEY, MIT_RC4_USAGE, MIT_RC4_CIPHERTEXT, MIT_RC4_PLAINTEXT)
        && rfc4757::ms_usage(KeyUsage::AS_REP_ENC_PART) == 8
}

fn ntlmv2() -> bool {
    let Ok(nt) = ntlm::nt_hash(b"Password") else {
        return false;
    };
    let key = ntlm::ntowf_v2(&nt, "User", "Domain");
    let (Ok(server), Ok(client)) =
        (<[u8; 8]>::try_from(NTLM_SERVER_CHALLENGE), <[u8; 8]>::try_from(NTLM_CLIENT_CHALLENGE))
    else {
        return false;
    };
    let temp = ntlm::ntlmv2_client_blob(0, &client, NTLM_TARGET_INFO);
    let proof = ntlm::nt_proof_str(&key, &server, &temp);
    let base = ntlm::session_base_key(&key, &proof);
    proof[..] == *NTLM_NT_PROOF_STR
        && base.expose_bytes()[..] == *NTLM_SESSION_BASE_KEY
        && ntlm::rc4k(&base, &[0x55; 16])[..] == *NTLM_ENCRYPTED_RANDOM_SESSION_KEY
}

fn smb311_keys() -> Option<SessionKeys> {
    let preauth = <&[u8; 64]>::try_from(SMB311_PREAUTH_HASH).ok()?;
    Some(SessionKeys::derive(SMB311_SESSION_KEY, Derivation::Smb311 { preauth_hash: preauth }, Some(Cipher::Aes128Gcm)))
}

fn smb311_kdf() -> bool {
    smb311_keys().is_some_and(|k| {
        k.signing.expose_bytes()[..] == *SMB311_SIGNING_KEY
            && k.encryption.expose_bytes() == SMB311_ENCRYPTION_KEY
            && k.decryption.expose_bytes() == SMB311_DECRYPTION_KEY
    })
}

fn smb311_gcm() -> bool {
    let Some(keys) = smb311_keys() else {
        return false;
    };
    if keys.encryption.expose_bytes() != SMB311_GCM_KEY {
        return false;
    }
    let Ok(aead) = Aead::new(Cipher::Aes128Gcm, &keys.encryption) else {
        return false;
    };
    let header = SMB311_GCM_TRANSFORM_HEADER;
    let mut buf = SMB311_GCM_PLAINTEXT.to_vec();
    aead.seal_in_place(&header[20..36], &header[20..], &mut buf).is_ok_and(|tag| tag[..] == *SMB311_GCM_TAG)
        && buf == SMB311_GCM_CIPHERTEXT
}

fn smb311_cmac() -> bool {
    let Ok(key) = <[u8; 16]>::try_from(SMB311_SIGN_SIGNING_KEY) else {
        return false;
    };
    Signer::new(SigningAlgorithm::AesCmac, &SigningKey::from_bytes(key))
        .signature(SMB311_SIGN_MESSAGE)
        .is_ok_and(|s| s[..] == *SMB311_SIGN_SIGNATURE)
}

fn gmac_is_gcm() -> bool {
    // GMAC of a message equals the AES-GCM tag of an empty plaintext with the message as AAD
    // and the nonce MessageId | role; checked against the independent aes-gcm implementation.
    use aes_gcm::{AeadInOut, Aes128Gcm, KeyInit};
    let key = [0x42u8; 16];
    let mut message = SMB311_SIGN_MESSAGE.to_vec();
    let signer = Signer::new(SigningAlgorithm::AesGmac, &SigningKey::from_bytes(key));
    let Ok(ours) = signer.signature(&message) else {
        return false;
    };
    message[48..64].fill(0);
    let mut nonce = [0u8; 12];
    nonce[..8].copy_from_slice(&message[24..32]);
    nonce[8] = u8::from(message[16] & 1 == 1);
    let Ok(gcm) = Aes128Gcm::new_from_slice(&key) else {
        return false;
    };
    gcm.encrypt_inout_detached(&nonce.into(), &message, (&mut [][..]).into()).is_ok_and(|tag| tag[..] == ours)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_embedded_check_passes() {
        for check in super::run() {
            assert!(check.passed, "{} ({})", check.name, check.source);
        }
    }
}
