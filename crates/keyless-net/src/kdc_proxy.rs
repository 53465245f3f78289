//! An MS-KKDCP KDC proxy server (tokio + rustls): it takes KDC-PROXY-MESSAGEs over HTTPS,
//! forwards them over TCP to the KDCs of the realms it was configured for, and returns the
//! replies. It is no open relay: other realms are refused. Requests are bounded in size and
//! time, connections in number, so a flood of junk cannot stop it serving good requests.

use crate::transport::{KdcAddr, KdcDirectory, Transport};
use keyless_krb::{Error, kkdcp};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// What the proxy serves.
#[derive(Debug, Clone)]
pub struct ProxyConfig {
    /// Realm (as configured) -> its KDCs.
    pub realms: BTreeMap<String, Vec<KdcAddr>>,
    /// Time allowed for one connection (TLS handshake, request, KDC, answer).
    pub timeout: Duration,
    /// Connections served at once; more wait for the TCP backlog.
    pub max_connections: usize,
}

impl ProxyConfig {
    /// Parses `REALM=KDC[,KDC...]` options; KDCs are reached over TCP.
    ///
    /// # Errors
    /// [`Error::Config`] for a malformed option.
    pub fn from_options(options: &[String]) -> Result<Self, Error> {
        let mut realms = BTreeMap::new();
        for opt in options {
            let (realm, kdcs) =
                opt.split_once('=').ok_or_else(|| Error::Config(format!("--realm {opt}: expected REALM=KDC[,KDC]")))?;
            let list = kdcs
                .split(',')
                .map(|k| {
                    let mut addr = KdcAddr::parse(k)?;
                    if addr.transport == Transport::Https {
                        return Err(Error::Config(format!(
                            "--realm {opt}: a proxy forwards to KDCs, not to another proxy"
                        )));
                    }
                    addr.transport = Transport::Tcp;
                    Ok(addr)
                })
                .collect::<Result<Vec<_>, Error>>()?;
            realms.insert(realm.to_string(), list);
        }
        if realms.is_empty() {
            return Err(Error::Config("no --realm given: the proxy would serve nothing".into()));
        }
        Ok(Self { realms, timeout: Duration::from_secs(15), max_connections: 256 })
    }

    /// The configured realm matching a target-domain (MS-KKDCP: case-insensitive).
    fn realm(&self, target: &str) -> Option<(&str, &[KdcAddr])> {
        self.realms.iter().find(|(r, _)| r.eq_ignore_ascii_case(target)).map(|(r, k)| (r.as_str(), k.as_slice()))
    }
}

/// Why a request was refused (the HTTP status and a line for the client).
#[derive(Debug)]
struct Refusal(u16, &'static str, String);

/// Checks one proxied request and produces the KDC reply to send back (sans-IO apart from the
/// KDC round trip, which `forward` performs).
async fn handle_request(config: &ProxyConfig, method: &str, body: &[u8]) -> Result<Vec<u8>, Refusal> {
    if method != "POST" {
        return Err(Refusal(405, "Method Not Allowed", "only POST".into()));
    }
    let (message, target) = kkdcp::unwrap_request(body).map_err(|e| Refusal(400, "Bad Request", e.to_string()))?;
    // Only Kerberos requests a client may send: AS-REQ, TGS-REQ.
    if !matches!(message.first(), Some(0x6a | 0x6c)) {
        return Err(Refusal(400, "Bad Request", "not an AS-REQ or TGS-REQ".into()));
    }
    let (realm, kdcs) = config
        .realm(&target)
        .ok_or_else(|| Refusal(400, "Bad Request", format!("realm {target} is not served here")))?;
    let mut dir = KdcDirectory::new();
    for k in kdcs {
        dir.add(realm, k.clone());
    }
    let reply = dir.send(realm, &message).await.map_err(|e| Refusal(503, "Service Unavailable", e.to_string()))?;
    kkdcp::wrap_reply(&reply).map_err(|e| Refusal(502, "Bad Gateway", e.to_string()))
}

/// Serves until the listener fails. Each connection: TLS, one request, one answer.
///
/// # Errors
/// Only an error of the listening socket ends the loop.
pub async fn serve(listener: TcpListener, tls: crate::tls::ServerIdentity, config: ProxyConfig) -> std::io::Result<()> {
    let config = Arc::new(config);
    let acceptor = tokio_rustls::TlsAcceptor::from(tls.0);
    let slots = Arc::new(Semaphore::new(config.max_connections));
    loop {
        let Ok(permit) = slots.clone().acquire_owned().await else { return Ok(()) };
        let (tcp, _) = listener.accept().await?;
        let (acceptor, config) = (acceptor.clone(), config.clone());
        tokio::spawn(async move {
            let _permit = permit;
            let _ = tokio::time::timeout(config.timeout, connection(tcp, acceptor, &config)).await;
        });
    }
}

async fn connection(
    tcp: tokio::net::TcpStream,
    acceptor: tokio_rustls::TlsAcceptor,
    config: &ProxyConfig,
) -> std::io::Result<()> {
    let mut tls = acceptor.accept(tcp).await?;
    let (head, body) = match crate::http::read_message(&mut tls, kkdcp::MAX_MESSAGE + 64, false).await {
        Ok(m) => m,
        Err(e) => {
            return crate::http::write_response(&mut tls, 400, "Bad Request", "text/plain", e.to_string().as_bytes())
                .await;
        }
    };
    match handle_request(config, &head.start[0], &body).await {
        Ok(reply) => crate::http::write_response(&mut tls, 200, "OK", kkdcp::CONTENT_TYPE, &reply).await,
        Err(Refusal(status, reason, text)) => {
            crate::http::write_response(&mut tls, status, reason, "text/plain", text.as_bytes()).await
        }
    }
}
