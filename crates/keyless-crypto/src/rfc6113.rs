//! KRB-FX-CF2 and PRF+ (RFC 6113 5.1): how FAST combines two keys into one, for the armor key
//! of a TGS-REQ and the strengthened reply key.

use crate::{CryptoError, Key, for_etype};
use zeroize::Zeroizing;

/// PRF+(key, pepper): PRF(key, 1 || pepper) || PRF(key, 2 || pepper) || ..., cut to `len`
/// bytes (the counter is one byte, starting at 1).
///
/// # Errors
/// An enctype keyless does not know, or more than 255 PRF blocks asked for.
pub fn prf_plus(key: &Key, pepper: &[u8], len: usize) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let e = for_etype(key.etype())?;
    let mut out = Zeroizing::new(Vec::with_capacity(len));
    let mut input = Vec::with_capacity(1 + pepper.len());
    input.push(0u8);
    input.extend_from_slice(pepper);
    for counter in 1..=255u8 {
        if out.len() >= len {
            break;
        }
        input[0] = counter;
        out.extend_from_slice(&e.prf(key, &input)?);
    }
    if out.len() < len {
        return Err(CryptoError::BadLength { what: "PRF+ output", expected: len, got: out.len() });
    }
    out.truncate(len);
    Ok(out)
}

/// KRB-FX-CF2(k1, pepper1, k2, pepper2) = random-to-key(PRF+(k1, pepper1) XOR PRF+(k2,
/// pepper2)), a key of k1's enctype.
///
/// # Errors
/// As [`prf_plus`].
pub fn krb_fx_cf2(k1: &Key, pepper1: &[u8], k2: &Key, pepper2: &[u8]) -> Result<Key, CryptoError> {
    let e = for_etype(k1.etype())?;
    let mut a = prf_plus(k1, pepper1, e.key_len())?;
    let b = prf_plus(k2, pepper2, e.key_len())?;
    for (x, y) in a.iter_mut().zip(b.iter()) {
        *x ^= y;
    }
    e.random_to_key(&a)
}
