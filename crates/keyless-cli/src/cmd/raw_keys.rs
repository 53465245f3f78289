//! Secrets given as hex on the command line, as the tools that extract them print them: an NT
//! hash (`--nt-hash`, secretsdump's `LM:NT` pair too) and a raw Kerberos key (`--key
//! ENCTYPE:HEX`, as `klist -K`, `keyless keytab list --keys` or mimikatz show one).

use keyless_crypto::ntlm::NtlmKey;
use keyless_crypto::{EncType, Key, Zeroizing};
use keyless_krb::Principal;
use keyless_krb::keytab::KeytabEntry;

/// Bytes from hex digits (either case), or `None` for anything else.
pub fn hex(digits: &str) -> Option<Zeroizing<Vec<u8>>> {
    let digits = digits.trim();
    if !digits.len().is_multiple_of(2) {
        return None;
    }
    (0..digits.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(digits.get(i..i + 2)?, 16).ok())
        .collect::<Option<Vec<u8>>>()
        .map(Zeroizing::new)
}

/// An NT hash: 32 hex digits, or secretsdump's `LMHASH:NTHASH`.
pub fn nt_hash(arg: &str) -> Result<NtlmKey, String> {
    let nt = arg.rsplit(':').next().unwrap_or(arg);
    let bytes =
        hex(nt).filter(|b| b.len() == 16).ok_or("an NT hash is 32 hex digits (or LM:NT as secretsdump prints)")?;
    let mut key = [0u8; 16];
    key.copy_from_slice(&bytes);
    Ok(NtlmKey::from_bytes(key))
}

/// `ENCTYPE:HEX`: the enctype by MIT name (`aes256-cts`, `rc4-hmac`, ...) or number, and a
/// key of its length.
pub fn kerberos_key(arg: &str) -> Result<Key, String> {
    let (name, digits) = arg.split_once(':').ok_or("expected ENCTYPE:HEX, e.g. aes256-cts:00112233...")?;
    let etype = match name.parse::<i32>() {
        Ok(n) => EncType(n),
        Err(_) => match keyless_krb::config::enctypes_named(name).as_slice() {
            [one] => *one,
            _ => {
                return Err(format!(
                    "{name}: not one enctype's name (aes256-cts, aes128-cts, aes256-sha2, aes128-sha2, rc4-hmac)"
                ));
            }
        },
    };
    let bytes = hex(digits).ok_or_else(|| format!("the {etype} key is not hex"))?;
    Key::from_bytes(etype, &bytes).map_err(|e| format!("the {etype} key: {e}"))
}

/// An NT hash as the Kerberos key it also is (RC4-HMAC's key is the NT hash, RFC 4757).
pub fn rc4_key_of(hash: &NtlmKey) -> Key {
    Key::from_bytes(EncType::RC4_HMAC, hash.expose_bytes()).unwrap_or_else(|_| unreachable!("16 bytes is RC4's length"))
}

/// The realm of keys that belong to no principal in particular.
const UNNAMED: &str = "UNNAMED";

/// A keytab entry holding `key` for no principal in particular (`given@UNNAMED`, `given`
/// naming where it came from; MIT's keytab reader wants a realm): tried on whatever it may
/// open, as a keytab's keys for other names are.
pub fn unnamed_entry(key: &Key, given: &str, kvno: u32) -> KeytabEntry {
    KeytabEntry {
        principal: Principal {
            realm: UNNAMED.into(),
            name_type: keyless_krb::principal::NameType::PRINCIPAL,
            components: vec![given.to_string()],
        },
        timestamp: 0,
        kvno,
        enctype: key.etype().0,
        key: key.expose_zeroizing(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nt_hashes_and_keys_parse_as_the_tools_print_them() {
        let h = nt_hash("aad3b435b51404eeaad3b435b51404ee:31d6cfe0d16ae931b73c59d7e0c089c0").unwrap();
        assert_eq!(h.expose_bytes()[..2], [0x31, 0xd6]);
        assert_eq!(nt_hash("31D6CFE0D16AE931B73C59D7E0C089C0").unwrap().expose_bytes(), h.expose_bytes());
        assert!(nt_hash("31d6").is_err());
        let k = kerberos_key(&format!("aes256-cts:{}", "ab".repeat(32))).unwrap();
        assert_eq!(k.etype(), EncType::AES256_CTS_HMAC_SHA1_96);
        assert_eq!(kerberos_key(&format!("23:{}", "00".repeat(16))).unwrap().etype(), EncType::RC4_HMAC);
        assert!(kerberos_key(&format!("aes256-cts:{}", "ab".repeat(16))).unwrap_err().contains("aes256"));
        assert!(kerberos_key("aes:00").unwrap_err().contains("not one enctype"));
        assert!(kerberos_key("nothing").is_err());
    }
}
