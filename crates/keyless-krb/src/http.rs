//! Just enough of the HTTP/1.1 message format for MS-KKDCP and the Azure token and ticket
//! endpoints, sans-IO: a request written whole, a head read from its bytes. keyless-net
//! carries them over sockets (the KDC proxy client and server); `keyless-identity` builds its
//! requests with [`request_bytes`].

/// Largest header block either side reads.
pub const MAX_HEAD: usize = 16 * 1024;

/// A parsed request or response head.
#[derive(Debug)]
pub struct Head {
    /// Request: method, path, version. Response: version, status code, reason.
    pub start: [String; 3],
    /// Headers with lowercase names.
    pub headers: Vec<(String, String)>,
}

impl Head {
    /// A header's value.
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(n, _)| n == name).map(|(_, v)| v.as_str())
    }

    /// Parses a head: the bytes before the blank line (`\r\n\r\n`), without it.
    ///
    /// # Errors
    /// A head that is not text.
    pub fn parse(bytes: &[u8]) -> Result<Self, &'static str> {
        let text = std::str::from_utf8(bytes).map_err(|_| "HTTP header is not text")?;
        let mut lines = text.split("\r\n");
        let mut start = lines.next().unwrap_or("").splitn(3, ' ').map(str::to_string);
        let start =
            [start.next().unwrap_or_default(), start.next().unwrap_or_default(), start.next().unwrap_or_default()];
        let headers = lines
            .filter_map(|l| l.split_once(':'))
            .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
            .collect();
        Ok(Self { start, headers })
    }
}

/// Where a head ends in `buf`: the offset of its blank line (`\r\n\r\n`), if it came.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n")
}

/// A whole request (`Connection: close`, one exchange per connection). The buffer is zeroed
/// when dropped: headers may carry bearer tokens.
pub fn request_bytes(
    method: &str,
    host: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: &[u8],
) -> zeroize::Zeroizing<Vec<u8>> {
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(256 + body.len()));
    let mut line = |name: &str, value: &str| {
        out.extend_from_slice(name.as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    };
    line("Host", host);
    line("User-Agent", concat!("keyless/", env!("CARGO_PKG_VERSION")));
    for (name, value) in headers {
        line(name, value);
    }
    if !body.is_empty() || method == "POST" {
        line("Content-Length", &body.len().to_string());
    }
    line("Connection", "close");
    let mut all = zeroize::Zeroizing::new(format!("{method} {path} HTTP/1.1\r\n").into_bytes());
    all.extend_from_slice(&out);
    all.extend_from_slice(b"\r\n");
    all.extend_from_slice(body);
    all
}

/// A whole response with a body (`Connection: close`).
pub fn response_bytes(status: u16, reason: &str, content_type: &str, body: &[u8]) -> Vec<u8> {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_head_parses_with_lowercase_names() {
        let raw = b"HTTP/1.1 200 OK\r\nContent-Type: application/kerberos\r\nContent-Length: 3\r\n\r\nabc";
        let end = head_end(raw).unwrap();
        let head = Head::parse(&raw[..end]).unwrap();
        assert_eq!(head.start, ["HTTP/1.1", "200", "OK"].map(String::from));
        assert_eq!(head.header("content-length"), Some("3"));
        assert!(Head::parse(b"\xff\xfe").is_err());
    }

    #[test]
    fn a_response_has_its_length() {
        let r = response_bytes(404, "Not Found", "text/plain", b"no");
        assert!(r.starts_with(b"HTTP/1.1 404 Not Found\r\n"));
        assert!(r.ends_with(b"Content-Length: 2\r\nConnection: close\r\n\r\nno"));
    }
}
