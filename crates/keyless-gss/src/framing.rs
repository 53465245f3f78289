//! RFC 2743 3.1 "Mechanism-Independent Token Format": an InitialContextToken is
//! `[APPLICATION 0] IMPLICIT SEQUENCE { thisMech MechType, innerToken ANY }`, i.e. the byte
//! 0x60, a DER length, the mechanism OID (tag 0x06), then the mechanism's token. This is not
//! pure DER inside, so it is framed by hand.

use crate::Error;

/// DER of the OID 1.2.840.113554.1.2.2 (Kerberos V5, RFC 1964).
pub const KRB5_OID: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// DER of the OID 1.2.840.48018.1.2.2 (Kerberos V5 as Microsoft spells it in SPNEGO).
pub const MS_KRB5_OID: &[u8] = &[0x06, 0x09, 0x2a, 0x86, 0x48, 0x82, 0xf7, 0x12, 0x01, 0x02, 0x02];
/// DER of the OID 1.3.6.1.5.5.2 (SPNEGO).
pub const SPNEGO_OID: &[u8] = &[0x06, 0x06, 0x2b, 0x06, 0x01, 0x05, 0x05, 0x02];

fn malformed(detail: impl Into<String>) -> Error {
    Error::Malformed { what: "GSS-API token", detail: detail.into() }
}

/// DER length octets.
pub(crate) fn der_length(len: usize, out: &mut Vec<u8>) {
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes = len.to_be_bytes();
        let skip = bytes.iter().take_while(|&&b| b == 0).count();
        out.push(0x80 | (bytes.len() - skip) as u8);
        out.extend_from_slice(&bytes[skip..]);
    }
}

/// Wraps a mechanism token (`oid` is the full DER OID, e.g. [`KRB5_OID`]).
pub fn wrap(oid: &[u8], inner: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(inner.len() + oid.len() + 8);
    out.push(0x60);
    der_length(oid.len() + inner.len(), &mut out);
    out.extend_from_slice(oid);
    out.extend_from_slice(inner);
    out
}

/// Splits an InitialContextToken into (mechanism OID DER, inner token).
///
/// # Errors
/// [`Error::Malformed`] for a token that is not one, or whose lengths do not add up.
pub fn unwrap(token: &[u8]) -> Result<(&[u8], &[u8]), Error> {
    let (&tag, rest) = token.split_first().ok_or_else(|| malformed("empty token"))?;
    if tag != 0x60 {
        return Err(malformed(format!("starts with {tag:#04x}, not 0x60")));
    }
    let (len, rest) = read_length(rest)?;
    if len != rest.len() {
        return Err(malformed(format!("length says {len} bytes, {} follow", rest.len())));
    }
    match rest {
        [0x06, oid_len, ..] if usize::from(*oid_len) < 0x80 && rest.len() >= 2 + usize::from(*oid_len) => {
            Ok(rest.split_at(2 + usize::from(*oid_len)))
        }
        _ => Err(malformed("no mechanism OID")),
    }
}

fn read_length(data: &[u8]) -> Result<(usize, &[u8]), Error> {
    let (&first, rest) = data.split_first().ok_or_else(|| malformed("no length"))?;
    if first < 0x80 {
        return Ok((usize::from(first), rest));
    }
    let n = usize::from(first & 0x7f);
    if n == 0 || n > 4 || rest.len() < n {
        return Err(malformed("bad length"));
    }
    let len = rest[..n].iter().fold(0usize, |acc, &b| (acc << 8) | usize::from(b));
    Ok((len, &rest[n..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_short_and_long() {
        for size in [0usize, 5, 200, 70_000] {
            let inner = vec![7u8; size];
            let token = wrap(KRB5_OID, &inner);
            let (oid, got) = unwrap(&token).unwrap();
            assert_eq!((oid, got), (KRB5_OID, &inner[..]));
        }
        assert!(unwrap(&[0x60, 0x05, 0x06]).is_err());
        assert!(unwrap(&[0x30, 0x00]).is_err());
    }
}
