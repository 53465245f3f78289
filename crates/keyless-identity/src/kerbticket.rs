//! The Azure Files `kerbticket` exchange (protocols.md 1.3, 1.4): an access token for
//! `https://storage.azure.com` is POSTed to `https://<account>.file.core.windows.net/?restype=service&comp=kerbticket`
//! and the answer carries a Kerberos service ticket for `cifs/<account>.file.core.windows.net`
//! as a base64 KRB-CRED whose enc-part is not encrypted (etype 0). No KDC takes part: the
//! ticket and its session key go straight into SPNEGO, or into a ccache for the kernel.

use crate::http::{Request, Response};
use crate::{AccessToken, Error, Url};
use base64::Engine;
use keyless_krb::Credential;
use std::time::SystemTime;

/// The `x-ms-version` both Microsoft clients send.
pub const VERSION: &str = "2024-05-04";

/// The kerbticket request to the file endpoint `endpoint` (`https://<host>/`).
///
/// # Errors
/// [`Error::Config`] for an `http://` endpoint: the token must not cross the network in clear.
pub fn request(endpoint: &Url, token: &AccessToken, now: SystemTime) -> Result<Request, Error> {
    if !endpoint.https {
        return Err(Error::Config(format!(
            "{endpoint}: the kerbticket endpoint must be https:// (it is sent a token)"
        )));
    }
    let date = chrono::DateTime::from_timestamp(keyless_krb::time::unix_seconds(now), 0)
        .unwrap_or_default()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    let url = endpoint.with_query(&[("restype", "service"), ("comp", "kerbticket")]);
    Ok(Request::new("POST", url)
        .header("Authorization", format!("Bearer {}", token.secret()))
        .header("x-ms-version", VERSION)
        .header("x-ms-date", date)
        .header("Accept", "*/*"))
}

/// The ticket in the endpoint's answer.
///
/// # Errors
/// [`Error::Refused`] with the status and the service's message for anything but 200;
/// [`Error::Malformed`] naming what is wrong with a 200 answer (JSON, base64, KRB-CRED, an
/// encrypted enc-part, no ticket).
pub fn parse_reply(answer: &Response, endpoint: &Url) -> Result<Credential, Error> {
    if answer.status != 200 {
        return Err(Error::Refused {
            service: format!("kerbticket at {endpoint}"),
            status: answer.status,
            message: answer.service_message(),
        });
    }
    parse_body(&answer.body)
}

/// The ticket in a 200 answer's JSON body.
///
/// # Errors
/// As [`parse_reply`].
pub fn parse_body(body: &[u8]) -> Result<Credential, Error> {
    const WHAT: &str = "the kerbticket answer";
    let bad = |detail: String| Error::Malformed { what: WHAT, detail };
    let v: serde_json::Value = serde_json::from_slice(body).map_err(|e| bad(format!("not JSON ({e})")))?;
    let text = v
        .get("kerberosServiceTicket")
        .and_then(serde_json::Value::as_str)
        .ok_or_else(|| bad("no kerberosServiceTicket".into()))?;
    let compact: String = text.split_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(compact)
        .map_err(|_| bad("kerberosServiceTicket is not base64".into()))?;
    let creds = keyless_krb::krb_cred::credentials(&der, None).map_err(|e| match e {
        keyless_krb::Error::Decrypt { source: keyless_crypto::CryptoError::UnsupportedEncType(etype), .. } => bad(format!(
            "its KRB-CRED is encrypted (etype {}); Azure Files sends it unencrypted (etype 0) and there is no key to open it",
            etype.0
        )),
        other => bad(format!("its KRB-CRED: {other}")),
    })?;
    let mut ticket = creds.into_iter().next().ok_or_else(|| bad("its KRB-CRED holds no ticket".into()))?;
    if ticket.end_time == 0 {
        // Only the JSON says when it ends.
        ticket.end_time = v
            .get("expirationTime")
            .and_then(serde_json::Value::as_str)
            .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.timestamp())
            .ok_or_else(|| bad("neither the ticket nor expirationTime says when it ends".into()))?;
    }
    Ok(ticket)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The fuzz seed, DER written by the test harness's Python encoder (RFC 4120 5.8).
    #[test]
    fn reads_an_etype_zero_krb_cred() {
        let body = include_bytes!("../../../fuzz/corpus/identity_answers/kerbticket-ok.json");
        let t = parse_body(body).unwrap();
        assert_eq!(t.server.to_string(), "cifs/files.example.test@EXAMPLE.TEST");
        assert_eq!(t.client.to_string(), "azurefileclient@EXAMPLE.TEST");
        assert_eq!((t.session_key.etype().0, t.session_key.expose_bytes()), (18, &[0x11u8; 32][..]));
        assert_eq!((t.end_time, t.renew_till, t.flags), (1_700_036_000, 0, 0x4080_0000));
    }

    #[test]
    fn request_has_the_headers_azure_files_wants() {
        let endpoint = Url::parse("https://acct.file.core.windows.net/").unwrap();
        let token = AccessToken::given("tok").unwrap();
        let r =
            request(&endpoint, &token, std::time::UNIX_EPOCH + std::time::Duration::from_secs(1_700_000_000)).unwrap();
        assert_eq!(r.url.path, "/?restype=service&comp=kerbticket");
        assert_eq!(r.header_value("x-ms-date"), Some("Tue, 14 Nov 2023 22:13:20 GMT"));
        assert_eq!(r.header_value("x-ms-version"), Some(VERSION));
        let wire = String::from_utf8(r.to_bytes().to_vec()).unwrap();
        assert!(
            wire.starts_with("POST /?restype=service&comp=kerbticket HTTP/1.1\r\nHost: acct.file.core.windows.net\r\n")
        );
        assert!(wire.contains("Authorization: Bearer tok\r\n") && wire.contains("Content-Length: 0\r\n"));
        assert!(request(&Url::parse("http://acct/").unwrap(), &token, std::time::UNIX_EPOCH).is_err());
    }
}
