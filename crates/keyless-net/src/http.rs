//! The HTTP/1.1 exchanges of MS-KKDCP and the Azure token and ticket endpoints over sockets:
//! one request and its answer per connection, every size bounded. The message format itself
//! is keyless-krb's sans-IO [`keyless_krb::http`]; this reads and writes it on a stream.

use keyless_krb::http::{Head, MAX_HEAD, head_end};

/// A TLS client configuration; uninhabited when built without the `tls` feature.
#[cfg(feature = "tls")]
pub type TlsConfig = std::sync::Arc<rustls::ClientConfig>;
/// A TLS client configuration; uninhabited when built without the `tls` feature.
#[cfg(not(feature = "tls"))]
#[derive(Debug)]
pub enum TlsConfig {}
use std::io;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

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
    let end = loop {
        if let Some(i) = head_end(&buf) {
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
    let head = Head::parse(&buf[..end]).map_err(invalid)?;
    let mut body = buf[end + 4..].to_vec();
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

/// One request and its answer on a new connection to `host:port` (connected within
/// `connect_timeout`), over TLS when `tls` is given (the server name checked against `host`).
/// The answer's body may run to EOF.
///
/// # Errors
/// I/O errors; TLS failures come as I/O errors wrapping a `rustls::Error`.
pub async fn round_trip(
    host: &str,
    port: u16,
    tls: Option<TlsConfig>,
    request: &[u8],
    max_body: usize,
    connect_timeout: std::time::Duration,
) -> io::Result<(Head, Vec<u8>)> {
    let tcp =
        tokio::time::timeout(connect_timeout, tokio::net::TcpStream::connect((host, port))).await.map_err(|_| {
            io::Error::new(io::ErrorKind::TimedOut, format!("no connection within {} s", connect_timeout.as_secs()))
        })??;
    match tls {
        #[cfg(not(feature = "tls"))]
        Some(never) => match never {},
        #[cfg(feature = "tls")]
        Some(config) => {
            let name = rustls::pki_types::ServerName::try_from(host.to_string())
                .map_err(|_| io::Error::new(io::ErrorKind::InvalidInput, format!("bad TLS server name {host}")))?;
            let stream = tokio_rustls::TlsConnector::from(config).connect(name, tcp).await?;
            exchange(stream, request, max_body).await
        }
        None => exchange(tcp, request, max_body).await,
    }
}

/// Sends `request` on `stream` and reads the answer (its body may run to EOF).
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    mut stream: S,
    request: &[u8],
    max_body: usize,
) -> io::Result<(Head, Vec<u8>)> {
    stream.write_all(request).await?;
    stream.flush().await?;
    read_message(&mut stream, max_body, true).await
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
    let out = keyless_krb::http::response_bytes(status, reason, content_type, body);
    w.write_all(&out).await?;
    w.shutdown().await
}
