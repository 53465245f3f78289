//! Entry points for the cargo-fuzz targets under `fuzz/`, kept here so that `cargo test`
//! replays the committed corpus through the same code.

use crate::{EncType, Key, KeyUsage, SUPPORTED, for_etype};

/// Kerberos decrypt and checksum verification on arbitrary input: byte 0 picks the enctype,
/// the next key-length bytes are the key, the next 4 the usage, the rest the ciphertext.
/// Must never panic.
pub fn krb_decrypt(data: &[u8]) {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    let etype: EncType = SUPPORTED[usize::from(pick) % SUPPORTED.len()];
    let Ok(enctype) = for_etype(etype) else {
        return;
    };
    let Some((key, rest)) = rest.split_at_checked(enctype.key_len()) else {
        return;
    };
    let Some((usage, ciphertext)) = rest.split_first_chunk::<4>() else {
        return;
    };
    let Ok(key) = Key::from_bytes(etype, key) else {
        return;
    };
    let usage = KeyUsage(u32::from_be_bytes(*usage));
    if let Ok(plain) = enctype.decrypt(&key, usage, ciphertext) {
        // Only reachable with a correct MAC: the plaintext must be shorter than the ciphertext.
        assert!(plain.len() < ciphertext.len());
    }
    let _ = enctype.verify_checksum(&key, usage, ciphertext, ciphertext.get(..enctype.checksum_len()).unwrap_or(&[]));
}
