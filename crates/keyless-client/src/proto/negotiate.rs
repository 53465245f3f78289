//! NEGOTIATE from the client's side: what keyless offers, and the checks on what the server
//! chose (MS-SMB2 3.2.4.2.2, 3.2.5.2). Pure functions over the codec's types.

use crate::error::{Error, Incompatibility};
use keyless_crypto::{Cipher, SigningAlgorithm};
use keyless_smb::Dialect;
use keyless_smb::negotiate::{
    ContextType, HashAlgorithm, NegotiateContext, NegotiateRequest, NegotiateResponse, caps, security_mode,
};

/// Ciphers in keyless's order of preference: GCM before CCM, 256 before 128.
pub const CIPHERS: [Cipher; 4] = [Cipher::Aes256Gcm, Cipher::Aes128Gcm, Cipher::Aes256Ccm, Cipher::Aes128Ccm];

/// Signing algorithms in order of preference (3.1.1).
pub const SIGNING: [SigningAlgorithm; 3] =
    [SigningAlgorithm::AesGmac, SigningAlgorithm::AesCmac, SigningAlgorithm::HmacSha256];

/// Every dialect keyless speaks, oldest first.
pub const DIALECTS: [Dialect; 5] =
    [Dialect::SMB_202, Dialect::SMB_21, Dialect::SMB_30, Dialect::SMB_302, Dialect::SMB_311];

/// Capabilities keyless announces.
pub const CAPABILITIES: u32 = caps::DFS | caps::LARGE_MTU | caps::ENCRYPTION;

/// What the connection runs with.
#[derive(Debug, Clone)]
pub struct Negotiated {
    /// The dialect.
    pub dialect: Dialect,
    /// The server's SecurityMode.
    pub security_mode: u16,
    /// The server's Capabilities.
    pub capabilities: u32,
    /// ServerGuid.
    pub server_guid: [u8; 16],
    /// MaxTransactSize.
    pub max_transact: u32,
    /// MaxReadSize.
    pub max_read: u32,
    /// MaxWriteSize.
    pub max_write: u32,
    /// The cipher, when the dialect has encryption and the server agreed to one.
    pub cipher: Option<Cipher>,
    /// How messages are signed.
    pub signing: SigningAlgorithm,
    /// The server's SPNEGO hint.
    pub gss_hint: Vec<u8>,
}

/// The NEGOTIATE request for `dialects`, with the 3.1.1 contexts when 3.1.1 is among them;
/// `require_signing` says so in its SecurityMode.
pub fn offer(
    dialects: &[Dialect],
    client_guid: [u8; 16],
    salt: &[u8; 32],
    server_name: &str,
    require_signing: bool,
) -> NegotiateRequest {
    let contexts = vec![
        NegotiateContext::preauth_sha512(salt),
        NegotiateContext::id_list(ContextType::ENCRYPTION, &CIPHERS.map(Cipher::id)),
        NegotiateContext::id_list(ContextType::SIGNING, &SIGNING.map(SigningAlgorithm::id)),
        NegotiateContext::netname(server_name),
    ];
    NegotiateRequest {
        security_mode: signing_mode(require_signing),
        capabilities: CAPABILITIES,
        client_guid,
        dialects: dialects.to_vec(),
        contexts: if dialects.contains(&Dialect::SMB_311) { contexts } else { Vec::new() },
    }
}

/// The SecurityMode keyless sends in NEGOTIATE and SESSION_SETUP: signing enabled, and
/// required when the caller requires it (3.2.4.2.2, 3.2.4.2.3); a server that sees it required
/// signs its answers too.
pub fn signing_mode(require_signing: bool) -> u16 {
    let required = if require_signing { security_mode::SIGNING_REQUIRED } else { 0 };
    security_mode::SIGNING_ENABLED | required
}

/// Checks the server's choices against the offer.
///
/// # Errors
/// [`Error::Incompatible`] for a dialect not offered, a 3.1.1 response without SHA-512 preauth
/// integrity, or a cipher or signing algorithm keyless did not offer.
pub fn accept(resp: &NegotiateResponse<'_>, offered: &[Dialect]) -> Result<Negotiated, Error> {
    if !offered.contains(&resp.dialect) {
        return Err(Incompatibility::NoCommonDialect.into());
    }
    let settled = resp.settled()?;
    if resp.dialect == Dialect::SMB_311 && settled.preauth_hashes != [HashAlgorithm::SHA512.0] {
        return Err(Incompatibility::NoSha512Preauth.into());
    }
    let cipher = match settled.cipher {
        Some(id) => Some(
            Cipher::from_id(id)
                .filter(|c| CIPHERS.contains(c))
                .ok_or(Error::Incompatible(Incompatibility::CipherNotOffered))?,
        ),
        None => None,
    };
    let signing =
        SigningAlgorithm::from_id(settled.signing).ok_or(Error::Incompatible(Incompatibility::SigningNotOffered))?;
    // 3.2.5.2: a server that cannot take 64 KiB requests is not one to talk to.
    if resp.max_transact_size < 65_536 || resp.max_read_size < 65_536 || resp.max_write_size < 65_536 {
        return Err(Incompatibility::SmallMaxSize.into());
    }
    Ok(Negotiated {
        dialect: resp.dialect,
        security_mode: resp.security_mode,
        capabilities: resp.capabilities,
        server_guid: resp.server_guid,
        max_transact: resp.max_transact_size,
        max_read: resp.max_read_size,
        max_write: resp.max_write_size,
        cipher,
        signing,
        gss_hint: resp.security_buffer.to_vec(),
    })
}
