//! The thin tokio driver that carries Kerberos messages to KDCs: UDP first for small messages,
//! TCP (4-byte length prefix, RFC 4120 7.2.2) when the KDC says KRB_ERR_RESPONSE_TOO_BIG or
//! for `tcp://` KDCs, every KDC of the realm in turn with timeouts. No protocol logic lives
//! here: [`run`] loops over an exchange's [`Step`]s.
//!
//! MS-KKDCP (an HTTPS KDC proxy, `https://host[:port]/path`) is a third transport: the message
//! goes wrapped in a KDC-PROXY-MESSAGE ([`keyless_krb::kkdcp`]) in one POST per request, as MIT does.

use crate::Error;
use keyless_krb::Error as KrbError;
use keyless_krb::error::KrbErrorCode;
use keyless_krb::{Credential, RandomSource, Step};
use std::collections::BTreeMap;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket, lookup_host};
use tokio::time::timeout;

/// Largest message sent over UDP before going straight to TCP: MIT's default for
/// `udp_preference_limit` (krb5.conf may set another; 1 means TCP always).
const UDP_LIMIT: usize = 1465;
/// Largest reply accepted over TCP.
const MAX_REPLY: usize = 1 << 20;

/// How a KDC is reached.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Transport {
    /// UDP, falling back to TCP when the reply is too big.
    Udp,
    /// TCP only.
    Tcp,
    /// MS-KKDCP: HTTPS POST to a KDC proxy.
    Https,
}

/// One KDC address.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KdcAddr {
    /// Transport.
    pub transport: Transport,
    /// Host name or address.
    pub host: String,
    /// Port.
    pub port: u16,
    /// URL path for [`Transport::Https`] (e.g. `/KdcProxy`).
    pub path: String,
}

impl KdcAddr {
    /// Parses `udp://host:port`, `tcp://host:port`, `host:port`, `host`, `[v6]:port`, and MIT's
    /// `tcp/host:port` form.
    ///
    /// # Errors
    /// [`KrbError::Config`] for an unsupported scheme or a bad port.
    pub fn parse(text: &str) -> Result<Self, KrbError> {
        let (transport, rest) = if let Some(r) = text.strip_prefix("udp://") {
            (Transport::Udp, r)
        } else if let Some(r) = text.strip_prefix("tcp://").or_else(|| text.strip_prefix("tcp/")) {
            (Transport::Tcp, r)
        } else if let Some(r) = text.strip_prefix("https://") {
            return Self::parse_https(text, r);
        } else if text.starts_with("http://") {
            return Err(KrbError::Config(format!(
                "KDC proxy {text}: only https:// is supported (Kerberos through a proxy needs TLS)"
            )));
        } else if let Some((scheme, _)) = text.split_once("://") {
            return Err(KrbError::Config(format!(
                "KDC {text}: unknown scheme {scheme}:// (use udp://, tcp:// or host:port)"
            )));
        } else {
            (Transport::Udp, text.strip_prefix("udp/").unwrap_or(text))
        };
        let rest = rest.trim_end_matches('/');
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, p) = v6.split_once(']').ok_or_else(|| KrbError::Config(format!("KDC {text}: unclosed '['")))?;
            (h.to_string(), p.strip_prefix(':'))
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) if !h.contains(':') => (h.to_string(), Some(p)),
                _ => (rest.to_string(), None),
            }
        };
        let port = match port {
            Some(p) => p.parse().map_err(|_| KrbError::Config(format!("KDC {text}: bad port {p:?}")))?,
            None => 88,
        };
        if host.is_empty() {
            return Err(KrbError::Config(format!("KDC {text}: no host")));
        }
        Ok(Self { transport, host, port, path: String::new() })
    }

    fn parse_https(text: &str, rest: &str) -> Result<Self, KrbError> {
        let (authority, path) = match rest.find('/') {
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        let mut addr = Self::parse(&format!("tcp://{authority}"))?;
        if !authority.contains("]:") && (authority.starts_with('[') || !authority.contains(':')) {
            addr.port = 443;
        }
        addr.transport = Transport::Https;
        addr.path = path;
        let _ = text;
        Ok(addr)
    }

    /// `host[:port]` for the HTTP Host header and TLS name.
    fn authority(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        if self.port == 443 { host } else { format!("{host}:{}", self.port) }
    }
}

impl std::fmt::Display for KdcAddr {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let scheme = match self.transport {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Https => return write!(f, "https://{}{}", self.authority(), self.path),
        };
        if self.host.contains(':') {
            write!(f, "{scheme}://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{scheme}://{}:{}", self.host, self.port)
        }
    }
}

/// Which KDCs serve which realm, and how long to wait for them.
#[derive(Clone, Debug)]
pub struct KdcDirectory {
    realms: BTreeMap<String, Vec<KdcAddr>>,
    /// KDCs for every realm not listed (e.g. `--kdc`).
    fallback: Vec<KdcAddr>,
    /// Per-attempt timeout.
    pub timeout: Duration,
    /// Extra CA files trusted for KDC proxies (besides the system roots).
    pub ca_files: Vec<std::path::PathBuf>,
    /// krb5.conf, for realms met on the way (referrals, cross-realm paths).
    conf: Option<keyless_krb::config::Krb5Conf>,
    #[cfg(feature = "tls")]
    tls: std::sync::OnceLock<crate::http::TlsConfig>,
}

impl KdcDirectory {
    /// An empty directory with a 3-second per-attempt timeout.
    pub fn new() -> Self {
        Self {
            realms: BTreeMap::new(),
            fallback: Vec::new(),
            timeout: Duration::from_secs(3),
            ca_files: Vec::new(),
            conf: None,
            #[cfg(feature = "tls")]
            tls: std::sync::OnceLock::new(),
        }
    }

    /// KDCs from krb5.conf's `[realms] kdc` relations, looked up for each realm when it is
    /// first needed (so realms reached by referral work too), and the `http_anchors = FILE:...`
    /// CA files of every realm.
    ///
    /// # Errors
    /// A `kdc` value of the named realms that does not parse.
    pub fn from_config(conf: &keyless_krb::config::Krb5Conf, realms: &[&str]) -> Result<Self, KrbError> {
        let mut dir = Self::new();
        for realm in realms {
            for k in conf.kdcs(realm) {
                KdcAddr::parse(&k)?; // report bad entries of the realms we know we need, early
            }
        }
        for realm in conf.realm_names() {
            for anchor in conf.realm_values(realm, "http_anchors") {
                dir.ca_files.push(anchor.strip_prefix("FILE:").unwrap_or(&anchor).into());
            }
        }
        dir.conf = Some(conf.clone());
        Ok(dir)
    }

    /// Adds a KDC for a realm.
    pub fn add(&mut self, realm: &str, kdc: KdcAddr) {
        self.realms.entry(realm.to_string()).or_default().push(kdc);
    }

    /// Puts a KDC first for a realm (what `--kdc` does).
    pub fn prefer(&mut self, realm: &str, kdc: KdcAddr) {
        self.realms.entry(realm.to_string()).or_default().insert(0, kdc);
    }

    /// Sets the KDCs used for realms without their own.
    pub fn set_fallback(&mut self, kdcs: Vec<KdcAddr>) {
        self.fallback = kdcs;
    }

    /// The KDCs of a realm: added ones first, then krb5.conf's, else the fallback.
    pub fn kdcs(&self, realm: &str) -> Vec<KdcAddr> {
        let mut out = self.realms.get(realm).cloned().unwrap_or_default();
        if let Some(conf) = &self.conf {
            out.extend(conf.kdcs(realm).iter().filter_map(|k| KdcAddr::parse(k).ok()));
        }
        if out.is_empty() {
            out = self.fallback.clone();
        }
        out
    }

    /// Sends a message to the realm's KDCs, one after another, until one answers.
    ///
    /// # Errors
    /// [`KrbError::NoKdc`], or [`Error::Unreachable`] with the last transport error.
    pub async fn send(&self, realm: &str, message: &[u8]) -> Result<Vec<u8>, Error> {
        let kdcs = self.kdcs(realm);
        if kdcs.is_empty() {
            return Err(KrbError::NoKdc(realm.to_string()).into());
        }
        let mut last = None;
        for kdc in &kdcs {
            let result = match kdc.transport {
                Transport::Https => self.https(kdc, realm, message).await,
                Transport::Udp | Transport::Tcp => self
                    .send_one(kdc, message)
                    .await
                    .map_err(|e| Error::Unreachable { realm: realm.to_string(), detail: format!("{kdc}: {e}") }),
            };
            match result {
                Ok(reply) => return Ok(reply),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| KrbError::NoKdc(realm.to_string()).into()))
    }

    async fn send_one(&self, kdc: &KdcAddr, message: &[u8]) -> Result<Vec<u8>, std::io::Error> {
        let limit =
            self.conf.as_ref().and_then(keyless_krb::config::Krb5Conf::udp_preference_limit).unwrap_or(UDP_LIMIT);
        if kdc.transport == Transport::Udp && message.len() <= limit {
            let reply = self.udp(kdc, message).await?;
            if !is_response_too_big(&reply) {
                return Ok(reply);
            }
        }
        self.tcp(kdc, message).await
    }

    async fn udp(&self, kdc: &KdcAddr, message: &[u8]) -> Result<Vec<u8>, std::io::Error> {
        let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, "host has no address");
        for addr in lookup_host((kdc.host.as_str(), kdc.port)).await? {
            let bind = if addr.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" };
            let sock = UdpSocket::bind(bind).await?;
            sock.connect(addr).await?;
            // Two tries per address: UDP may lose the datagram.
            for _ in 0..2 {
                sock.send(message).await?;
                let mut buf = vec![0u8; 65536];
                match timeout(self.timeout / 2, sock.recv(&mut buf)).await {
                    Ok(Ok(n)) => {
                        buf.truncate(n);
                        return Ok(buf);
                    }
                    Ok(Err(e)) => {
                        last = e;
                        break;
                    }
                    Err(_) => last = std::io::Error::new(std::io::ErrorKind::TimedOut, "no answer over UDP"),
                }
            }
        }
        Err(last)
    }

    /// MS-KKDCP without TLS built in: refused.
    #[cfg(not(feature = "tls"))]
    async fn https(&self, kdc: &KdcAddr, _realm: &str, _message: &[u8]) -> Result<Vec<u8>, Error> {
        Err(KrbError::Config(format!("{kdc}: this build of keyless-net has no TLS (feature `tls`)")).into())
    }

    /// MS-KKDCP: one HTTPS POST of a KDC-PROXY-MESSAGE, one answer.
    #[cfg(feature = "tls")]
    async fn https(&self, kdc: &KdcAddr, realm: &str, message: &[u8]) -> Result<Vec<u8>, Error> {
        let config = match self.tls.get() {
            Some(c) => c.clone(),
            None => {
                let c = crate::tls::client_config(&self.ca_files)?;
                self.tls.get_or_init(|| c).clone()
            }
        };
        let io_err = |e: std::io::Error| {
            // tokio-rustls reports certificate problems as I/O errors wrapping a rustls::Error.
            if let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                return Error::Tls { url: kdc.to_string(), detail: tls.to_string() };
            }
            let detail = match e.kind() {
                std::io::ErrorKind::UnexpectedEof => "the connection closed before the answer was complete".to_string(),
                _ => e.to_string(),
            };
            Error::Unreachable { realm: realm.to_string(), detail: format!("{kdc}: {detail}") }
        };
        let body = keyless_krb::kkdcp::wrap_request(message, realm)?;
        let request = keyless_krb::http::request_bytes(
            "POST",
            &kdc.authority(),
            &kdc.path,
            &[("Content-Type", keyless_krb::kkdcp::CONTENT_TYPE)],
            &body,
        );
        let exchange = crate::http::round_trip(
            &kdc.host,
            kdc.port,
            Some(config),
            &request,
            keyless_krb::kkdcp::MAX_MESSAGE + 64,
            self.timeout,
        );
        let (head, reply) = timeout(self.timeout * 3, exchange)
            .await
            .map_err(|_| io_err(std::io::Error::new(std::io::ErrorKind::TimedOut, "KDC proxy did not answer in time")))?
            .map_err(io_err)?;
        if head.start[1] != "200" {
            let kind = head.header("content-type").unwrap_or("no content type");
            return Err(Error::Proxy {
                url: kdc.to_string(),
                status: head.start[1].clone(),
                detail: format!("{} ({kind})", head.start[2]),
            });
        }
        keyless_krb::kkdcp::unwrap_reply(&reply).map_err(|e| Error::Proxy {
            url: kdc.to_string(),
            status: "200".into(),
            detail: format!("not a KDC proxy answer: {e}"),
        })
    }

    async fn tcp(&self, kdc: &KdcAddr, message: &[u8]) -> Result<Vec<u8>, std::io::Error> {
        let timed_out = |what| std::io::Error::new(std::io::ErrorKind::TimedOut, what);
        let mut stream = timeout(self.timeout, TcpStream::connect((kdc.host.as_str(), kdc.port)))
            .await
            .map_err(|_| timed_out("TCP connect timed out"))??;
        let exchange = async {
            let len = u32::try_from(message.len()).map_err(|_| std::io::Error::other("message too long"))?;
            let mut framed = Vec::with_capacity(4 + message.len());
            framed.extend_from_slice(&len.to_be_bytes());
            framed.extend_from_slice(message);
            stream.write_all(&framed).await?;
            let mut len = [0u8; 4];
            stream.read_exact(&mut len).await?;
            let len = u32::from_be_bytes(len) as usize;
            // The high bit is reserved for extensions (RFC 4120 7.2.2); no KDC may set it for us.
            if len > MAX_REPLY {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    format!("reply length {len} over {MAX_REPLY}"),
                ));
            }
            let mut reply = vec![0u8; len];
            stream.read_exact(&mut reply).await?;
            Ok(reply)
        };
        timeout(self.timeout * 3, exchange).await.map_err(|_| timed_out("TCP exchange timed out"))?
    }
}

impl Default for KdcDirectory {
    fn default() -> Self {
        Self::new()
    }
}

fn is_response_too_big(reply: &[u8]) -> bool {
    matches!(keyless_krb::messages::decode_reply(reply), Ok(keyless_krb::messages::KdcReply::Error(e)) if keyless_krb::messages::error_code(&e) == KrbErrorCode::KRB_ERR_RESPONSE_TOO_BIG)
}

/// Something that takes KDC replies: an AS or TGS exchange.
pub trait Exchange {
    /// Hands over the reply to the last [`Step::Send`].
    ///
    /// # Errors
    /// Whatever the exchange finds wrong.
    fn handle_reply(&mut self, reply: &[u8], now: SystemTime, rng: &mut dyn RandomSource) -> Result<Step, KrbError>;
}

impl Exchange for keyless_krb::AsExchange {
    fn handle_reply(&mut self, reply: &[u8], now: SystemTime, rng: &mut dyn RandomSource) -> Result<Step, KrbError> {
        keyless_krb::AsExchange::handle_reply(self, reply, now, rng)
    }
}

impl Exchange for keyless_krb::TgsExchange {
    fn handle_reply(&mut self, reply: &[u8], now: SystemTime, rng: &mut dyn RandomSource) -> Result<Step, KrbError> {
        keyless_krb::TgsExchange::handle_reply(self, reply, now, rng)
    }
}

/// Drives an exchange to its end: sends each message, feeds back each reply, with the real
/// clock (plus `clock_offset`, for testing skew) and the caller's randomness.
///
/// # Errors
/// Transport or protocol errors.
pub async fn run<E: Exchange>(
    dir: &KdcDirectory,
    exchange: &mut E,
    first: Step,
    rng: &mut dyn RandomSource,
    clock: &(dyn Fn() -> SystemTime + Sync),
) -> Result<Credential, Error> {
    let mut step = first;
    loop {
        match step {
            Step::Done(c) => return Ok(*c),
            Step::Send { realm, message } => {
                let reply = dir.send(&realm, &message).await?;
                step = exchange.handle_reply(&reply, clock(), rng)?;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kdc_address_forms() {
        let p = |s| KdcAddr::parse(s).unwrap();
        assert_eq!(
            p("127.0.0.1:8888"),
            KdcAddr { transport: Transport::Udp, host: "127.0.0.1".into(), port: 8888, path: String::new() }
        );
        assert_eq!(p("tcp://kdc.example:88").transport, Transport::Tcp);
        assert_eq!(p("tcp/kdc.example").port, 88);
        assert_eq!(p("[::1]:750").host, "::1");
        assert_eq!(p("udp://kdc").port, 88);
        assert!(KdcAddr::parse("ftp://x").is_err());
        assert!(KdcAddr::parse("host:notaport").is_err());
    }
}
