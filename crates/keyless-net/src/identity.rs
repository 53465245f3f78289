//! The thin async driver: carries the flows' requests over HTTP or HTTPS (rustls, the
//! system's roots plus any `--ca-file`), sleeps where a flow says to wait, reads the files
//! it asks for, and keeps a token until shortly before it expires.

use keyless_identity::arm::{self, Account, StorageKey};
use keyless_identity::flow::{Next, TokenFlow};
use keyless_identity::http::{MAX_BODY, Request, Response};
use keyless_identity::{ARM_RESOURCE, AccessToken, Error, STORAGE_RESOURCE, Source, Url, kerbticket};
use keyless_krb::Credential;
use keyless_krb::time::unix_seconds;
use std::io::Read;
use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};
use zeroize::Zeroizing;

/// A token is renewed this long before it expires.
const TOKEN_MARGIN: i64 = 300;

/// Sends requests; one connection per request.
pub struct HttpClient {
    ca_files: Vec<PathBuf>,
    tls: OnceLock<Arc<rustls::ClientConfig>>,
    /// Time allowed for one request and its answer (the Azure clients: 30 s).
    pub timeout: Duration,
    /// Time allowed to connect (the Azure clients: 10 s).
    pub connect_timeout: Duration,
}

impl HttpClient {
    /// A client trusting the system's CAs and `ca_files` (PEM).
    pub fn new(ca_files: Vec<PathBuf>) -> Self {
        Self {
            ca_files,
            tls: OnceLock::new(),
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
        }
    }

    fn tls(&self) -> Result<Arc<rustls::ClientConfig>, Error> {
        if let Some(c) = self.tls.get() {
            return Ok(c.clone());
        }
        let config = crate::tls::client_config(&self.ca_files)?;
        Ok(self.tls.get_or_init(|| config).clone())
    }

    /// Sends `request` and reads the answer; `service` names it in errors.
    ///
    /// # Errors
    /// [`Error::Unreachable`] when no answer came (refused, timed out, TLS failed).
    pub async fn send(&self, request: &Request, service: &str) -> Result<Response, Error> {
        let tls = if request.url.https { Some(self.tls()?) } else { None };
        let bytes = request.to_bytes();
        // Link-local IMDS answers at once or is not there (not an Azure VM): no long wait.
        let connect = if request.url.host == "169.254.169.254" { Duration::from_secs(2) } else { self.connect_timeout };
        let exchange = crate::http::round_trip(&request.url.host, request.url.port, tls, &bytes, MAX_BODY, connect);
        let unreachable = |detail: String| Error::Unreachable { service: service.to_string(), detail };
        let (head, body) = tokio::time::timeout(self.timeout, exchange)
            .await
            .map_err(|_| unreachable(format!("no answer within {} s", self.timeout.as_secs())))?
            .map_err(|e| {
                if let Some(tls) = e.get_ref().and_then(|inner| inner.downcast_ref::<rustls::Error>()) {
                    return unreachable(format!("TLS: {tls}"));
                }
                unreachable(e.to_string())
            })?;
        let status = head.start[1].parse().map_err(|_| Error::Malformed {
            what: "an HTTP answer",
            detail: format!("status line {:?}", head.start.join(" ")),
        })?;
        Ok(Response { status, headers: head.headers, body: Zeroizing::new(body) })
    }

    /// Runs a token flow to its end.
    ///
    /// # Errors
    /// The flow's errors, unreachable services, unreadable files.
    pub async fn token(&self, mut flow: TokenFlow) -> Result<AccessToken, Error> {
        let service = flow.service();
        let mut next = flow.start();
        loop {
            next = match next {
                Next::Done(token) => return Ok(token),
                Next::Send(request, wait) => {
                    tokio::time::sleep(wait).await;
                    let answer = self.send(&request, &service).await?;
                    flow.on_response(&answer, unix_seconds(SystemTime::now()))?
                }
                Next::Read(path) => flow.on_file(&read_small(&path)?)?,
            }
        }
    }

    /// Storage account keys through ARM `listKeys`, with a token for ARM from `source`.
    ///
    /// # Errors
    /// Token and ARM errors.
    pub async fn storage_keys(&self, source: &Source, arm: &Url, account: &Account) -> Result<Vec<StorageKey>, Error> {
        let token = self.token(TokenFlow::new(source.clone(), ARM_RESOURCE)).await?;
        token.check(&[ARM_RESOURCE, ARM_RESOURCE.trim_end_matches('/')], unix_seconds(SystemTime::now()))?;
        let request = arm::list_keys_request(arm, account, &token)?;
        let answer = self.send(&request, &format!("ARM at {arm}")).await?;
        arm::parse_keys(&answer, arm)
    }
}

/// A file of at most 64 KiB (a federated token, an Arc challenge), zeroed after use.
fn read_small(path: &std::path::Path) -> Result<Zeroizing<Vec<u8>>, Error> {
    let mut bytes = Zeroizing::new(Vec::new());
    std::fs::File::open(path)
        .and_then(|f| f.take(64 * 1024).read_to_end(&mut bytes))
        .map_err(|e| Error::Config(format!("{}: {e}", path.display())))?;
    Ok(bytes)
}

/// Kerberos service tickets for an Azure Files account, bought with a managed identity's
/// storage token: what `--auth oauth` and `keyless oauth-ticket` use, again and again while
/// a session or a mount lives.
pub struct OAuthTickets {
    /// Sends the requests.
    pub client: HttpClient,
    /// Where tokens come from.
    pub source: Source,
    /// The file endpoint (`https://<account>.file.core.windows.net/`).
    pub file_endpoint: Url,
    token: Option<AccessToken>,
}

impl OAuthTickets {
    /// Tickets from `file_endpoint` with tokens from `source`.
    pub fn new(client: HttpClient, source: Source, file_endpoint: Url) -> Self {
        Self { client, source, file_endpoint, token: None }
    }

    /// A storage token: the one held while it has five minutes left, else a new one.
    ///
    /// # Errors
    /// The source's errors; [`Error::Token`] for a token for another audience or expired.
    pub async fn token(&mut self) -> Result<AccessToken, Error> {
        let now = unix_seconds(SystemTime::now());
        if let Some(t) = self.token.as_ref().filter(|t| t.is_fresh(now, TOKEN_MARGIN)) {
            return Ok(t.clone());
        }
        let token = self.client.token(TokenFlow::new(self.source.clone(), STORAGE_RESOURCE)).await?;
        token.check(&[STORAGE_RESOURCE], unix_seconds(SystemTime::now()))?;
        self.token = Some(token.clone());
        Ok(token)
    }

    /// A fresh service ticket for the account.
    ///
    /// # Errors
    /// Token errors, and the kerbticket endpoint's.
    pub async fn ticket(&mut self) -> Result<Credential, Error> {
        let token = self.token().await?;
        let request = kerbticket::request(&self.file_endpoint, &token, SystemTime::now())?;
        let service = format!("kerbticket at {}", self.file_endpoint);
        let answer = self.client.send(&request, &service).await?;
        kerbticket::parse_reply(&answer, &self.file_endpoint)
    }
}
