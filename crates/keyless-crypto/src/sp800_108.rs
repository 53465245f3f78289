//! NIST SP 800-108 key derivation in counter mode with an HMAC PRF, as SMB 3.x (MS-SMB2 3.1.4.2,
//! HMAC-SHA256) and RFC 8009 (KDF-HMAC-SHA2, HMAC-SHA256/384) use it: the counter and the output
//! length L are 32-bit big-endian, and a zero byte separates label and context.

use hmac::{Hmac, KeyInit, Mac};
use sha2::{Sha256, Sha384};

/// PRFs the KDF is used with.
#[derive(Clone, Copy, Debug)]
pub enum Prf {
    /// HMAC-SHA256 (SMB 3.x, RFC 8009 enctype 19).
    HmacSha256,
    /// HMAC-SHA384 (RFC 8009 enctype 20).
    HmacSha384,
}

/// Fills `out` with KDF(key, label, context), L = `out.len()` * 8 bits.
pub fn kdf_counter(prf: Prf, key: &[u8], label: &[u8], context: &[u8], out: &mut [u8]) {
    match prf {
        Prf::HmacSha256 => kdf::<Hmac<Sha256>>(key, label, context, out),
        Prf::HmacSha384 => kdf::<Hmac<Sha384>>(key, label, context, out),
    }
}

fn kdf<M: Mac + KeyInit>(key: &[u8], label: &[u8], context: &[u8], out: &mut [u8]) {
    let bits = u32::try_from(out.len().saturating_mul(8)).unwrap_or(u32::MAX);
    for (i, chunk) in out.chunks_mut(M::output_size()).enumerate() {
        // HMAC takes keys of any length, so new_from_slice cannot fail.
        let Ok(mut mac) = <M as KeyInit>::new_from_slice(key) else {
            return;
        };
        let counter = u32::try_from(i + 1).unwrap_or(u32::MAX);
        mac.update(&counter.to_be_bytes());
        mac.update(label);
        mac.update(&[0]);
        mac.update(context);
        mac.update(&bits.to_be_bytes());
        let block = mac.finalize().into_bytes();
        chunk.copy_from_slice(&block[..chunk.len()]);
    }
}
