//! MS-KKDCP 2.2.2 KDC-PROXY-MESSAGE: Kerberos over HTTPS through a KDC proxy. The codec for both
//! sides, sans-IO; keyless-net's `transport` and `kdc_proxy` carry it.
//!
//! ```text
//! KDC-PROXY-MESSAGE ::= SEQUENCE {
//!     kerb-message   [0] OCTET STRING,
//!     target-domain  [1] KERB-REALM OPTIONAL,
//!     dclocator-hint [2] INTEGER OPTIONAL
//! }
//! ```
//!
//! `kerb-message` carries the Kerberos message *with* its 4-byte big-endian TCP length prefix
//! (RFC 4120 7.2.2), in requests and replies alike; `target-domain` names the realm in requests.

use crate::Error;
use crate::principal::realm_asn1;
use rasn::prelude::*;

/// MS-KKDCP 2.2.2 KDC-PROXY-MESSAGE.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct KdcProxyMessage {
    /// The Kerberos message with its 4-byte length prefix.
    #[rasn(tag(explicit(0)))]
    pub kerb_message: OctetString,
    /// The realm the message is for (client to proxy).
    #[rasn(tag(explicit(1)))]
    pub target_domain: Option<GeneralString>,
    /// A DC locator hint (unused by keyless).
    #[rasn(tag(explicit(2)))]
    pub dclocator_hint: Option<Integer>,
}

/// The HTTP Content-Type of both directions.
pub const CONTENT_TYPE: &str = "application/kerberos";

/// Largest Kerberos message either side accepts through a proxy (kdcproxy uses 128 KiB).
pub const MAX_MESSAGE: usize = 128 * 1024;

fn framed(message: &[u8]) -> Result<OctetString, Error> {
    let len = u32::try_from(message.len()).ok().filter(|&n| (n as usize) <= MAX_MESSAGE).ok_or(Error::Malformed {
        what: "KDC-PROXY-MESSAGE",
        detail: format!("Kerberos message of {} bytes is over {MAX_MESSAGE}", message.len()),
    })?;
    let mut out = Vec::with_capacity(4 + message.len());
    out.extend_from_slice(&len.to_be_bytes());
    out.extend_from_slice(message);
    Ok(OctetString::from(out))
}

fn unframed(msg: &KdcProxyMessage) -> Result<Vec<u8>, Error> {
    let bad = |detail: String| Error::Malformed { what: "KDC-PROXY-MESSAGE kerb-message", detail };
    let body: &[u8] = msg.kerb_message.as_ref();
    let (len, rest) =
        body.split_first_chunk::<4>().ok_or_else(|| bad(format!("{} bytes, no length prefix", body.len())))?;
    let len = u32::from_be_bytes(*len) as usize;
    if len != rest.len() {
        return Err(bad(format!("length prefix says {len} bytes, {} follow", rest.len())));
    }
    if len > MAX_MESSAGE {
        return Err(bad(format!("{len} bytes is over {MAX_MESSAGE}")));
    }
    Ok(rest.to_vec())
}

/// Client side: wraps a Kerberos message for `realm`.
///
/// # Errors
/// A message over [`MAX_MESSAGE`] or a realm that cannot be encoded.
pub fn wrap_request(message: &[u8], realm: &str) -> Result<Vec<u8>, Error> {
    let msg = KdcProxyMessage {
        kerb_message: framed(message)?,
        target_domain: Some(realm_asn1(realm)?),
        dclocator_hint: None,
    };
    crate::messages::encode("KDC-PROXY-MESSAGE", &msg)
}

/// Client side: the Kerberos reply inside a proxy's answer.
///
/// # Errors
/// [`Error::Malformed`] for anything but a well-formed message with a consistent prefix.
pub fn unwrap_reply(body: &[u8]) -> Result<Vec<u8>, Error> {
    let msg: KdcProxyMessage = crate::messages::decode("KDC-PROXY-MESSAGE", body)?;
    unframed(&msg)
}

/// Proxy side: the Kerberos message and the realm a client asks for.
///
/// # Errors
/// [`Error::Malformed`] for a body that is not a request a proxy can forward.
pub fn unwrap_request(body: &[u8]) -> Result<(Vec<u8>, String), Error> {
    let msg: KdcProxyMessage = crate::messages::decode("KDC-PROXY-MESSAGE", body)?;
    let realm = msg
        .target_domain
        .as_ref()
        .map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned())
        .filter(|r| !r.is_empty())
        .ok_or(Error::Malformed { what: "KDC-PROXY-MESSAGE", detail: "no target-domain".into() })?;
    Ok((unframed(&msg)?, realm))
}

/// Proxy side: wraps a KDC's reply (no target-domain, as MS-KKDCP 2.2.2 says for servers).
///
/// # Errors
/// A reply over [`MAX_MESSAGE`].
pub fn wrap_reply(message: &[u8]) -> Result<Vec<u8>, Error> {
    let msg = KdcProxyMessage { kerb_message: framed(message)?, target_domain: None, dclocator_hint: None };
    crate::messages::encode("KDC-PROXY-MESSAGE", &msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_and_reply_round_trip() {
        let req = wrap_request(b"\x6a\x03abc", "EXAMPLE.TEST").unwrap();
        let (msg, realm) = unwrap_request(&req).unwrap();
        assert_eq!((msg.as_slice(), realm.as_str()), (&b"\x6a\x03abc"[..], "EXAMPLE.TEST"));
        let rep = wrap_reply(b"\x6b\x01x").unwrap();
        assert_eq!(unwrap_reply(&rep).unwrap(), b"\x6b\x01x");
        // The outer SEQUENCE, [0] OCTET STRING with the length prefix inside.
        assert_eq!(&rep[..4], [0x30, 0x0b, 0xa0, 0x09]);
        assert_eq!(&rep[6..10], [0, 0, 0, 3]);
    }

    #[test]
    fn inconsistent_prefix_is_refused() {
        let msg = KdcProxyMessage {
            kerb_message: OctetString::from(vec![0, 0, 0, 9, 1, 2]),
            target_domain: None,
            dclocator_hint: None,
        };
        let der = rasn::der::encode(&msg).unwrap();
        assert!(matches!(unwrap_reply(&der), Err(Error::Malformed { .. })));
        assert!(matches!(unwrap_request(&wrap_reply(b"x").unwrap()), Err(Error::Malformed { .. })));
    }
}
