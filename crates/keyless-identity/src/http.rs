//! Requests and answers as values (the sans-IO flows build and read them; keyless-net's `identity`
//! carries them), and the services' error messages in their three shapes.

use crate::Url;
use zeroize::Zeroizing;

/// Largest answer body read from any service.
pub const MAX_BODY: usize = 1 << 20;

/// An HTTP request. Header values may hold secrets (a bearer token, a client assertion):
/// they are zeroed when dropped and left out of `Debug`.
pub struct Request {
    /// `GET` or `POST`.
    pub method: &'static str,
    /// Where to.
    pub url: Url,
    /// Headers besides Host, User-Agent, Content-Length and Connection.
    pub headers: Vec<(&'static str, Zeroizing<String>)>,
    /// The body (a form or nothing).
    pub body: Zeroizing<Vec<u8>>,
}

impl Request {
    /// A request without headers or body.
    pub fn new(method: &'static str, url: Url) -> Self {
        Self { method, url, headers: Vec::new(), body: Zeroizing::new(Vec::new()) }
    }

    /// Adds a header.
    #[must_use]
    pub fn header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, Zeroizing::new(value.into())));
        self
    }

    /// The request on the wire.
    pub fn to_bytes(&self) -> Zeroizing<Vec<u8>> {
        let headers: Vec<(&str, &str)> = self.headers.iter().map(|(n, v)| (*n, v.as_str())).collect();
        keyless_krb::http::request_bytes(self.method, &self.url.authority(), &self.url.path, &headers, &self.body)
    }

    /// A header's value (case-insensitive name).
    pub fn header_value(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, v)| v.as_str())
    }
}

impl std::fmt::Debug for Request {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.headers.iter().map(|(n, _)| *n).collect();
        write!(f, "{} {} (headers {names:?}, {} body bytes)", self.method, self.url, self.body.len())
    }
}

/// An HTTP answer. The body may hold a token or a key: it is zeroed when dropped.
pub struct Response {
    /// Status code.
    pub status: u16,
    /// Headers, names in lowercase.
    pub headers: Vec<(String, String)>,
    /// The body.
    pub body: Zeroizing<Vec<u8>>,
}

impl Response {
    /// An answer as a test writes it.
    #[cfg(test)]
    pub(crate) fn new(status: u16, headers: &[(&str, &str)], body: &str) -> Self {
        Self {
            status,
            headers: headers.iter().map(|(n, v)| (n.to_string(), v.to_string())).collect(),
            body: Zeroizing::new(body.as_bytes().to_vec()),
        }
    }

    /// A header's value (name in lowercase).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// The service's own words about an error, from whichever shape it used: OAuth / IMDS
    /// JSON (`error`, `error_description`), ARM JSON (`error.code`, `error.message`), Azure
    /// Storage XML (`<Code>`, `<Message>`, or the `x-ms-error-code` header), else the first
    /// line of the text. At most 300 characters, one line.
    pub fn service_message(&self) -> String {
        let text = String::from_utf8_lossy(&self.body);
        let message = match serde_json::from_str::<serde_json::Value>(&text) {
            Ok(v) => json_message(&v),
            Err(_) => None,
        }
        .or_else(|| xml_message(&text, self.header("x-ms-error-code")))
        .unwrap_or_else(|| text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("(no message)").to_string());
        one_line(&message, 300)
    }
}

fn json_message(v: &serde_json::Value) -> Option<String> {
    let s = |v: Option<&serde_json::Value>| v.and_then(|x| x.as_str()).map(str::to_string);
    let error = v.get("error")?;
    if let Some(code) = error.as_str() {
        let description = s(v.get("error_description")).unwrap_or_default();
        return Some(if description.is_empty() { code.to_string() } else { format!("{code}: {description}") });
    }
    let (code, message) = (s(error.get("code")), s(error.get("message")));
    match (code, message) {
        (Some(c), Some(m)) => Some(format!("{c}: {m}")),
        (c, m) => c.or(m),
    }
}

fn xml_message(text: &str, header_code: Option<&str>) -> Option<String> {
    let element = |name: &str| {
        let start = text.find(&format!("<{name}>"))? + name.len() + 2;
        let end = text[start..].find(&format!("</{name}>"))? + start;
        Some(text[start..end].trim().to_string())
    };
    let code = element("Code").or_else(|| header_code.map(str::to_string));
    match (code, element("Message")) {
        (Some(c), Some(m)) => Some(format!("{c}: {m}")),
        (c, m) => c.or(m),
    }
}

/// `text` on one line, cut at `max` characters.
fn one_line(text: &str, max: usize) -> String {
    let joined: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
    match joined.char_indices().nth(max) {
        Some((i, _)) => format!("{}...", &joined[..i]),
        None => joined,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn service_messages_in_every_shape() {
        let imds = Response::new(400, &[], r#"{"error":"invalid_request","error_description":"Identity not found"}"#);
        assert_eq!(imds.service_message(), "invalid_request: Identity not found");
        let arm = Response::new(
            404,
            &[],
            r#"{"error":{"code":"ResourceNotFound","message":"The Resource was\nnot found."}}"#,
        );
        assert_eq!(arm.service_message(), "ResourceNotFound: The Resource was not found.");
        let storage = Response::new(
            403,
            &[("x-ms-error-code", "AuthenticationFailed")],
            "<?xml version=\"1.0\"?><Error><Code>AuthenticationFailed</Code><Message>Server failed.\nRequestId:1</Message></Error>",
        );
        assert_eq!(storage.service_message(), "AuthenticationFailed: Server failed. RequestId:1");
        let bare = Response::new(403, &[("x-ms-error-code", "InvalidAuthenticationInfo")], "");
        assert_eq!(bare.service_message(), "InvalidAuthenticationInfo");
        assert_eq!(Response::new(502, &[], "\n  Bad gateway \n more").service_message(), "Bad gateway");
        assert!(Response::new(500, &[], &"x".repeat(1000)).service_message().len() < 310);
    }

    #[test]
    fn debug_never_shows_header_values() {
        let r =
            Request::new("GET", Url::parse("http://h/p?client_id=c").unwrap()).header("Authorization", "Bearer s3cr3t");
        let text = format!("{r:?}");
        assert!(!text.contains("s3cr3t") && text.contains("Authorization"), "{text}");
    }
}
