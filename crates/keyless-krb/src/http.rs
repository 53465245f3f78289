//! Just enough HTTP/1.1 for MS-KKDCP and the Azure token and ticket endpoints: one request and
//! its answer per connection, with every size bounded, used by the proxy client
//! ([`crate::transport`]), the proxy server ([`crate::kdc_proxy`]) and `keyless-identity`.

use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// Largest header block either side reads.
const MAX_HEAD: usize = 16 * 1024;

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
}

fn invalid(what: impl Into<String>) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, what.into())
}

/// Reads a head (up to the blank line) and the body (Content-Length, chunked, or to EOF),
/// refusing heads over 16 KiB and bodies over `max_body`.
///
/// # Errors
/// I/O errors and malformed or oversized messages.
pub async fn read_message<R: AsyncRead + Unpin>(
    r: &mut R,
    max_body: usize,
    body_to_eof: bool,
) -> io::Result<(Head, Vec<u8>)> {
    let mut buf = Vec::with_capacity(1024);
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > MAX_HEAD {
            return Err(invalid("HTTP header block too large"));
        }
        let mut chunk = [0u8; 2048];
        let n = r.read(&mut chunk).await?;
        if n == 0 {
            return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "connection closed before the HTTP header ended"));
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head_text = std::str::from_utf8(&buf[..head_end]).map_err(|_| invalid("HTTP header is not text"))?;
    let mut lines = head_text.split("\r\n");
    let mut start = lines.next().unwrap_or("").splitn(3, ' ').map(str::to_string);
    let start = [start.next().unwrap_or_default(), start.next().unwrap_or_default(), start.next().unwrap_or_default()];
    let headers = lines
        .filter_map(|l| l.split_once(':'))
        .map(|(n, v)| (n.trim().to_ascii_lowercase(), v.trim().to_string()))
        .collect();
    let head = Head { start, headers };
    let mut body = buf[head_end + 4..].to_vec();
    if let Some(len) = head.header("content-length") {
        let len: usize = len.parse().map_err(|_| invalid("bad Content-Length"))?;
        if len > max_body {
            return Err(invalid(format!("HTTP body of {len} bytes is over {max_body}")));
        }
        if body.len() > len {
            body.truncate(len);
        }
        let have = body.len();
        body.resize(len, 0);
        r.read_exact(&mut body[have..]).await?;
    } else if head.header("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")) {
        body = read_chunked(r, body, max_body).await?;
    } else if body_to_eof {
        r.take(max_body as u64 + 1).read_to_end(&mut body).await?;
        if body.len() > max_body {
            return Err(invalid(format!("HTTP body over {max_body} bytes")));
        }
    } else {
        return Err(invalid("HTTP request without Content-Length"));
    }
    Ok((head, body))
}

async fn read_chunked<R: AsyncRead + Unpin>(r: &mut R, mut pending: Vec<u8>, max_body: usize) -> io::Result<Vec<u8>> {
    let mut body = Vec::new();
    loop {
        while !pending.windows(2).any(|w| w == b"\r\n") {
            let mut chunk = [0u8; 1024];
            let n = r.read(&mut chunk).await?;
            if n == 0 || pending.len() > 64 {
                return Err(invalid("bad chunked encoding"));
            }
            pending.extend_from_slice(&chunk[..n]);
        }
        let i = pending.windows(2).position(|w| w == b"\r\n").unwrap_or(0);
        let size_text = std::str::from_utf8(&pending[..i]).map_err(|_| invalid("bad chunk size"))?;
        let size = usize::from_str_radix(size_text.split(';').next().unwrap_or("").trim(), 16)
            .map_err(|_| invalid("bad chunk size"))?;
        pending.drain(..i + 2);
        if size == 0 {
            return Ok(body);
        }
        if body.len() + size > max_body {
            return Err(invalid(format!("HTTP body over {max_body} bytes")));
        }
        while pending.len() < size + 2 {
            let mut chunk = vec![0u8; size + 2 - pending.len()];
            let n = r.read(&mut chunk).await?;
            if n == 0 {
                return Err(io::Error::new(io::ErrorKind::UnexpectedEof, "chunked body cut short"));
            }
            pending.extend_from_slice(&chunk[..n]);
        }
        body.extend_from_slice(&pending[..size]);
        pending.drain(..size + 2);
    }
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

/// One request and its answer on a new connection to `host:port` (connected within
/// `connect_timeout`), over TLS when `tls` is given (the server name checked against `host`).
/// The answer's body may run to EOF.
///
/// # Errors
/// I/O errors; TLS failures come as I/O errors wrapping a `rustls::Error`.
pub async fn round_trip(
    host: &str,
    port: u16,
    tls: Option<std::sync::Arc<rustls::ClientConfig>>,
    request: &[u8],
    max_body: usize,
    connect_timeout: std::time::Duration,
) -> io::Result<(Head, Vec<u8>)> {
    let tcp =
        tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect((host, port))).await.map_err(|_| {
            io::Error::new(io::ErrorKind::TimedOut, format!("no connection within {} s", connect_timeout.as_secs()))
        })??;
    match tls {
        Some(config) => {
            let name = rustls::pki_types::ServerName::try_from(host.to_string())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("bad TLS server name {host}")))?;
            let mut stream = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await?;
            stream.write_all(request).await?;
            stream.flush().await?;
            read_message(&mut stream, max_body, true).await
        }
        None => {
            let mut stream = tcp;
            stream.write_all(request).await?;
            stream.flush().await?;
            read_message(&mut stream, max_body, true).await
        }
    }
}

/// Writes a response with a body and closes the exchange.
///
/// # Errors
/// I/O errors.
pub async fn write_response<W: AsyncWrite + Unpin>(
    w: &mut W,
    status: u16,
    reason: &str,
    content_type: &str,
    body: &[u8],
) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    let mut out = head.into_bytes();
    out.extend_from_slice(body);
    w.write_all(&out).await?;
    w.shutdown().await
}
