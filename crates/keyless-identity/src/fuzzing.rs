//! Entry points for the fuzz targets: every parser of untrusted answers, which must return
//! errors and never panic.

use crate::http::Response;
use zeroize::Zeroizing;

/// The kerbticket answer (JSON, base64, KRB-CRED), a token answer, a listKeys answer and the
/// error-message reader, all on the same bytes.
pub fn service_answers(data: &[u8]) {
    let _ = crate::kerbticket::parse_body(data);
    let _ = crate::AccessToken::from_reply(data, 1_700_000_000, "fuzz");
    let answer = Response { status: 200, headers: vec![], body: Zeroizing::new(data.to_vec()) };
    let url = crate::Url { https: true, host: "h".into(), port: 443, path: "/".into() };
    let _ = crate::arm::parse_keys(&answer, &url);
    let failed = Response { status: 403, headers: vec![("x-ms-error-code".into(), "X".into())], ..answer };
    let _ = failed.service_message();
    if let Ok(text) = std::str::from_utf8(data) {
        let _ = crate::token::Claims::of(text);
        let _ = crate::Url::parse(text);
    }
}
