//! [`Client`]: the credentials and settings a program reaches shares with, and one shared SMB
//! session per server (every task's requests pipelined on its connection, which reconnects
//! underneath).

use crate::kerberos::Kerberos;
use crate::share::Share;
use crate::{Credentials, Error, SmbUrl};
use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Reaches shares with one set of credentials. `Clone + Send + Sync`: clones share the
/// sessions.
///
/// ```no_run
/// # async fn demo() -> Result<(), keyless::Error> {
/// use keyless::{Client, Credentials};
/// let client = Client::builder().credentials(Credentials::auto()).require_encryption(true).build()?;
/// let share = client.share("smb://files.example.test/projects").await?;
/// for entry in share.walk("2026").await? {
///     println!("{:>12} {}", entry.metadata.size, entry.path);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    settings: Settings,
    kerberos: Kerberos,
    /// One session per server, made once: the map is locked only to find a server's cell, so
    /// a server that is slow to answer holds up only the callers waiting for it.
    sessions: std::sync::Mutex<HashMap<(String, u16), Arc<SessionCell>>>,
}

/// A server's session, once made.
type SessionCell = OnceCell<keyless_client::Client>;

#[derive(Clone, Debug)]
struct Settings {
    credentials: Credentials,
    require_encryption: bool,
    require_signing: bool,
    timeout: Option<Duration>,
    keepalive: Option<Option<Duration>>,
    address: Option<String>,
    spn: Option<String>,
    port: Option<u16>,
}

impl core::fmt::Debug for Client {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Client").field("settings", &self.inner.settings).finish_non_exhaustive()
    }
}

/// Settings of a [`Client`]; [`Client::builder`] makes one.
#[derive(Debug)]
#[must_use]
pub struct ClientBuilder {
    settings: Settings,
    kerberos: Option<Kerberos>,
    kdcs: Vec<String>,
    ca_files: Vec<PathBuf>,
}

impl ClientBuilder {
    /// Who to be (default: [`Credentials::auto`], the user's Kerberos cache).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.settings.credentials = credentials;
        self
    }

    /// This Kerberos configuration instead of the system's krb5.conf.
    pub fn kerberos(mut self, kerberos: Kerberos) -> Self {
        self.kerberos = Some(kerberos);
        self
    }

    /// A KDC, or an MS-KKDCP KDC proxy (`https://…/KdcProxy`), to ask first for tickets.
    pub fn kdc(mut self, url: &str) -> Self {
        self.kdcs.push(url.to_string());
        self
    }

    /// An extra CA certificate (PEM) to trust for KDC proxies and Azure's endpoints.
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_files.push(path.into());
        self
    }

    /// Refuse sessions and shares that would not be encrypted (default: encrypted when the
    /// server or share asks, signed always).
    pub fn require_encryption(mut self, required: bool) -> Self {
        self.settings.require_encryption = required;
        self
    }

    /// Sign every request and require signed answers, whatever the server asks (the
    /// default); `false` signs only what the server or MS-SMB2 requires, as smbclient and
    /// the kernel's cifs client do by default. Encrypted sessions are protected either way;
    /// an unsigned one can be tampered with by anyone on the path.
    pub fn require_signing(mut self, required: bool) -> Self {
        self.settings.require_signing = required;
        self
    }

    /// How long to wait for an answer before the connection counts as dead (and is made
    /// again).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = Some(timeout);
        self
    }

    /// An ECHO after this much silence, to notice a dead peer (`None`: never).
    pub fn keepalive(mut self, keepalive: Option<Duration>) -> Self {
        self.settings.keepalive = Some(keepalive);
        self
    }

    /// Connect to this address instead of the URL's host (the host still names the Kerberos
    /// service), as `mount -o ip=` does.
    pub fn address(mut self, address: &str) -> Self {
        self.settings.address = Some(address.to_string());
        self
    }

    /// The service principal to ask tickets for (default `cifs/<host>`).
    pub fn spn(mut self, spn: &str) -> Self {
        self.settings.spn = Some(spn.to_string());
        self
    }

    /// The port for URLs that name none (default 445).
    pub fn port(mut self, port: u16) -> Self {
        self.settings.port = Some(port);
        self
    }

    /// The client; no connection is made until a share is asked for.
    ///
    /// # Errors
    /// krb5.conf cannot be read, or a KDC address does not parse.
    pub fn build(self) -> Result<Client, Error> {
        let mut kerberos = match self.kerberos {
            Some(k) => k,
            None => Kerberos::from_env()?,
        };
        for url in &self.kdcs {
            kerberos = kerberos.kdc(url)?;
        }
        for ca in self.ca_files {
            kerberos = kerberos.ca_file(ca);
        }
        let inner = Inner { settings: self.settings, kerberos, sessions: std::sync::Mutex::default() };
        Ok(Client { inner: Arc::new(inner) })
    }
}

impl Client {
    /// Settings to build a client from.
    ///
    /// ```no_run
    /// # fn demo() -> Result<(), keyless::Error> {
    /// use keyless::{Client, Credentials};
    /// use std::time::Duration;
    /// let client = Client::builder()
    ///     .credentials(Credentials::keytab("/etc/backup.keytab", Some("backup@EXAMPLE.TEST")))
    ///     .kdc("https://kdc.example.test/KdcProxy") // through a KDC proxy, before krb5.conf's KDCs
    ///     .address("10.0.0.5") // reach the server here; its name still names the ticket
    ///     .require_encryption(true)
    ///     .timeout(Duration::from_secs(30))
    ///     .build()?;
    /// # Ok(()) }
    /// ```
    pub fn builder() -> ClientBuilder {
        let settings = Settings {
            credentials: Credentials::auto(),
            require_encryption: false,
            require_signing: true,
            timeout: None,
            keepalive: None,
            address: None,
            spn: None,
            port: None,
        };
        ClientBuilder { settings, kerberos: None, kdcs: Vec::new(), ca_files: Vec::new() }
    }

    /// The Kerberos configuration in use.
    pub fn kerberos(&self) -> &Kerberos {
        &self.inner.kerberos
    }

    /// The share `smb://host[:port]/share` names (a path in the URL is not used: paths are
    /// given to the share's methods). The server's session is made on first use and shared.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), keyless::Error> {
    /// let client = keyless::Client::builder().build()?;
    /// // Two tasks, one session with the server.
    /// let (a, b) = tokio::join!(client.share("smb://files.example.test/a"), client.share("smb://files.example.test/b"));
    /// let (a, b) = (a?, b?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// Not an SMB URL, no credential, the server's refusal (BAD_NETWORK_NAME for no such
    /// share, ACCESS_DENIED), or no connection.
    pub async fn share(&self, url: &str) -> Result<Share, Error> {
        self.share_of(&SmbUrl::parse(url)?).await
    }

    /// [`Client::share`] with a parsed URL.
    ///
    /// # Errors
    /// As [`Client::share`].
    pub async fn share_of(&self, url: &SmbUrl) -> Result<Share, Error> {
        let session = self.session(&url.host, url.port).await?;
        Ok(Share::new(session.tree(&url.share).await?))
    }

    /// The shared SMB session with `host` (made, authenticated, if there is none), for what
    /// the share handle does not offer (DFS referrals, raw requests).
    ///
    /// # Errors
    /// As [`Client::share`].
    pub async fn session(&self, host: &str, port: Option<u16>) -> Result<keyless_client::Client, Error> {
        let s = &self.inner.settings;
        let port = port.or(s.port).unwrap_or(445);
        let cell = {
            let mut sessions = self.inner.sessions.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
            sessions.entry((host.to_ascii_lowercase(), port)).or_default().clone()
        };
        // The first caller connects; the others wait for its session (or try in turn if it failed).
        cell.get_or_try_init(|| self.connect(host, port)).await.cloned()
    }

    async fn connect(&self, host: &str, port: u16) -> Result<keyless_client::Client, Error> {
        let s = &self.inner.settings;
        let authenticated = s.credentials.authenticate(&self.inner.kerberos, host, s.spn.as_deref()).await?;
        let mut builder = keyless_client::Client::builder(host)
            .port(port)
            .require_encryption(s.require_encryption)
            .require_signing(s.require_signing)
            .auth(authenticated.auth);
        if let Some(address) = &s.address {
            builder = builder.address(address);
        }
        if let Some(renew) = authenticated.renew {
            builder = builder.renew(renew);
        }
        if let Some(t) = s.timeout {
            builder = builder.timeout(t);
        }
        if let Some(k) = s.keepalive {
            builder = builder.keepalive(k);
        }
        Ok(builder.connect().await?)
    }
}
