//! Entry points for the cargo-fuzz targets (`fuzz/fuzz_targets/krb_*.rs`), so `cargo test`
//! replays the committed corpus through the same code. None may panic on any input.

use crate::ccache::CCache;
use crate::keytab::Keytab;

/// KDC reply decoding (AS-REP, TGS-REP, KRB-ERROR) and the credential fields a client reads.
pub fn kdc_reply(data: &[u8]) {
    if let Ok(crate::messages::KdcReply::Error(e)) = crate::messages::decode_reply(data) {
        let _ = crate::messages::kdc_error(&e, "FUZZ").to_string();
    }
    let _ = crate::messages::decode_enc_kdc_rep_part(data);
}

/// ccache parsing; what parses must serialize and parse back to the same entries.
pub fn ccache(data: &[u8]) {
    if let Ok(c) = CCache::parse(data)
        && let Ok(bytes) = c.to_bytes()
    {
        let again = CCache::parse(&bytes).ok();
        assert_eq!(again.map(|a| a.entries.len()), Some(c.entries.len()));
    }
}

/// KCM replies: the reply frame, then its data read as each kind of answer.
pub fn kcm_reply(data: &[u8]) {
    use crate::ccache::kcm;
    if let Ok(Ok(body)) = kcm::parse_reply(data) {
        let _ = kcm::parse_cred_list(&body);
        let _ = kcm::parse_principal(&body);
    }
}

/// KEYRING key payloads: the first byte picks the key's description, the rest is its payload.
pub fn keyring_payload(data: &[u8]) {
    use crate::ccache::keyring;
    let Some((&pick, payload)) = data.split_first() else { return };
    let description =
        ["__krb5_princ__", "__krb5_time_offsets__", "krbtgt/EXAMPLE.TEST@EXAMPLE.TEST"][usize::from(pick % 3)];
    let _ = keyring::parse_key(description, payload);
    let _ = keyring::parse_primary(payload);
}

/// keytab parsing; what parses must serialize and parse back to the same entries.
pub fn keytab(data: &[u8]) {
    if let Ok(k) = Keytab::parse(data)
        && let Ok(bytes) = k.to_bytes()
    {
        let again = Keytab::parse(&bytes).ok();
        assert_eq!(again.map(|a| a.entries.len()), Some(k.entries.len()));
    }
}

/// MS-KKDCP codec, both sides: what unwraps must wrap back to a message that unwraps the same.
pub fn kkdcp(data: &[u8]) {
    if let Ok(reply) = crate::kkdcp::unwrap_reply(data) {
        let again = crate::kkdcp::wrap_reply(&reply).ok().and_then(|w| crate::kkdcp::unwrap_reply(&w).ok());
        assert_eq!(again.as_deref(), Some(&reply[..]));
    }
    if let Ok((message, realm)) = crate::kkdcp::unwrap_request(data)
        && let Ok(w) = crate::kkdcp::wrap_request(&message, &realm)
    {
        let again = crate::kkdcp::unwrap_request(&w).ok();
        assert_eq!(again, Some((message, realm)));
    }
}

/// PAC parsing (MS-PAC): the buffers, the NDR logon information, the client and UPN buffers,
/// and both checksums checked with a fixed key; errors, never a panic.
pub fn pac(data: &[u8]) {
    let Ok(pac) = crate::pac::Pac::parse(data) else { return };
    if let Some(Ok(info)) = pac.logon_info() {
        let _ = (info.user_sid().map(|s| s.to_string()), info.group_sids());
    }
    let _ = (pac.client_info(), pac.upn_dns());
    if let Ok(key) = keyless_crypto::Key::from_bytes(keyless_crypto::EncType::AES256_CTS_HMAC_SHA1_96, &[7; 32]) {
        let _ = (pac.verify_server_checksum(&key), pac.verify_kdc_checksum(&key));
    }
}
