//! The handles: [`Client`] (built by [`ClientBuilder`]), [`Session`] (one authenticated
//! connection to one server, kept up by its driver task), and [`Pending`] answers. Every
//! handle is `Clone + Send + Sync`; requests from every task are pipelined on the one
//! connection. Dropping a [`Pending`] (a future dropped part-way under a timeout or a
//! `select!`) tells the driver, which cancels or discards that request alone.

use crate::auth::{Auth, Renew};
use crate::driver::{Answer, Command, Driver, NoticeHook, Reply, Shared};
use crate::error::Error;
use crate::proto::{self, Config, Notice, Now, Request, SessionInfo, Slot, Target};
use crate::tree::Tree;
use keyless_krb::RandomSource;
use keyless_net::OsRandom;
use keyless_smb::Dialect;
use keyless_smb::Message;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};
use tokio::sync::{mpsc, oneshot};

/// How to reach a server and who to be there.
pub struct ClientBuilder {
    config: Config,
    address: Option<String>,
    port: u16,
    auth: Option<Auth>,
    renew: Option<Box<dyn Renew>>,
    record: bool,
    notices: Option<NoticeHook>,
    rng: Option<Box<dyn RandomSource>>,
}

impl core::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("config", &self.config)
            .field("address", &self.address)
            .field("port", &self.port)
            .field("auth", &self.auth)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// A client of `host` (its name: the SPN `cifs/<host>`, tree paths), on port 445, with
    /// the defaults of [`Config::new`].
    pub fn new(host: &str) -> Self {
        Self {
            config: Config::new(host),
            address: None,
            port: 445,
            auth: None,
            renew: None,
            record: false,
            notices: None,
            rng: None,
        }
    }

    /// Connects to `address` instead of the host name (which still names the SPN).
    #[must_use]
    pub fn address(mut self, address: &str) -> Self {
        self.address = Some(address.to_string());
        self
    }

    /// The TCP port (445 by default).
    #[must_use]
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Who the session is.
    #[must_use]
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = Some(auth);
        self
    }

    /// Where fresh credentials come from: the session is then authenticated again before
    /// its ticket ends, even while idle, and when the server says it expired.
    #[must_use]
    pub fn renew(mut self, renew: Box<dyn Renew>) -> Self {
        self.renew = Some(renew);
        self
    }

    /// Dialects to offer (SMB 3.0 to 3.1.1 by default; [`proto::negotiate::DIALECTS`] has
    /// them all).
    #[must_use]
    pub fn dialects(mut self, dialects: &[Dialect]) -> Self {
        self.config.dialects = dialects.to_vec();
        self
    }

    /// Refuse to go on without encryption (otherwise it is used when the server asks).
    #[must_use]
    pub fn require_encryption(mut self, required: bool) -> Self {
        self.config.require_encryption = required;
        self
    }

    /// Sign every request and require signed answers (the default), or, with `false`, sign
    /// only what the server or MS-SMB2 requires, as smbclient and cifs.ko do by default.
    /// An encrypted session is protected either way; an unsigned one is open to tampering.
    #[must_use]
    pub fn require_signing(mut self, required: bool) -> Self {
        self.config.require_signing = required;
        self
    }

    /// How long one answer, or a TCP connect, may take (30 s by default). A request fails
    /// with [`Error::Timeout`] when it waited this long, reconnections included.
    #[must_use]
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.config.timeout = timeout;
        self
    }

    /// ECHO after this long without hearing from the server, so a dead peer is noticed
    /// within `keepalive` plus the timeout (60 s by default; `None`: never).
    #[must_use]
    pub fn keepalive(mut self, keepalive: Option<Duration>) -> Self {
        self.config.keepalive = keepalive;
        self
    }

    /// Credits asked for with every request (256 by default: a window of 1 MiB requests).
    #[must_use]
    pub fn credit_target(mut self, credits: u16) -> Self {
        self.config.credit_target = credits.max(1);
        self
    }

    /// Most bytes one READ or WRITE carries (1 MiB by default; the server's limit applies).
    #[must_use]
    pub fn max_io(mut self, bytes: usize) -> Self {
        self.config.max_io = bytes.max(4096);
        self
    }

    /// Keeps every frame sent and received, for inspection and tests ([`Session::transcript`]).
    #[must_use]
    pub fn record(mut self, record: bool) -> Self {
        self.record = record;
        self
    }

    /// Called with reconnections, failed renewals and opens lost (for a log).
    #[must_use]
    pub fn on_notice(mut self, hook: impl Fn(&Notice) + Send + Sync + 'static) -> Self {
        self.notices = Some(Arc::new(hook));
        self
    }

    /// Draws randomness from `rng` instead of the operating system (for reproducible tests).
    #[must_use]
    pub fn random_source(mut self, rng: Box<dyn RandomSource>) -> Self {
        self.rng = Some(rng);
        self
    }

    /// Connects, negotiates and authenticates; the driver task then keeps the session up.
    /// Must be called within a tokio runtime.
    ///
    /// # Errors
    /// Whatever fails first on the way to the first session: the connection, the
    /// negotiation, the authentication.
    pub async fn connect(mut self) -> Result<Client, Error> {
        let auth = self
            .auth
            .take()
            .ok_or(Error::from(keyless_krb::Error::Config("no credential given to the SMB client".into())))?;
        self.config.renewable = self.renew.is_some();
        let config = Arc::new(self.config);
        let rng = self.rng.unwrap_or_else(|| Box::new(OsRandom));
        let now = Now { instant: Instant::now(), wall: SystemTime::now() };
        let core = proto::Connection::new(config.clone(), auth, rng, now)?;
        let shared = Arc::new(Shared {
            info: Mutex::new(None),
            transcript: self.record.then(|| Mutex::new(Vec::new())),
            buffers: Arc::default(),
        });
        let (commands, receiver) = mpsc::unbounded_channel();
        let (ready, is_ready) = oneshot::channel();
        let address = self.address.unwrap_or_else(|| config.host.clone());
        let driver = Driver::new(
            core,
            (address, self.port),
            config.timeout,
            receiver,
            self.renew,
            shared.clone(),
            self.notices,
            ready,
        );
        tokio::spawn(driver.run());
        let first = is_ready.await.map_err(|_| Error::Closed)??;
        let inner = SessionInner {
            commands,
            shared,
            config,
            first,
            tickets: AtomicU64::new(0),
            referrals_ex_refused: AtomicBool::new(false),
        };
        let session = Session { inner: Arc::new(inner) };
        Ok(Client { session })
    }
}

/// A client of one server: the entry point of the library.
///
/// ```no_run
/// # async fn demo() -> Result<(), keyless_client::Error> {
/// use keyless_client::{Auth, Client};
/// let auth = Auth::Ntlm { user: "alice".into(), domain: String::new(), password: "secret".to_string().into() };
/// let client = Client::builder("files.example.test").auth(auth).connect().await?;
/// let share = client.tree("share").await?;
/// for entry in share.list("").await? {
///     println!("{} {}", entry.size, entry.name);
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct Client {
    session: Session,
}

impl Client {
    /// A builder for a client of `host`.
    pub fn builder(host: &str) -> ClientBuilder {
        ClientBuilder::new(host)
    }

    /// The session with the server.
    pub fn session(&self) -> &Session {
        &self.session
    }

    /// Connects to `share`.
    ///
    /// # Errors
    /// [`Error::Status`] with BAD_NETWORK_NAME for a share that does not exist, and the like.
    pub async fn tree(&self, share: &str) -> Result<Tree, Error> {
        self.session.tree_connect(share).await
    }
}

struct SessionInner {
    commands: mpsc::UnboundedSender<Command>,
    shared: Arc<Shared>,
    config: Arc<Config>,
    /// The first session's info (the driver keeps the latest in `shared`).
    first: Arc<SessionInfo>,
    tickets: AtomicU64,
    /// The server refused the EX form of DFS referral requests.
    referrals_ex_refused: AtomicBool,
}

/// One authenticated connection to one server, reconnected by its driver when it drops.
#[derive(Clone)]
pub struct Session {
    inner: Arc<SessionInner>,
}

impl core::fmt::Debug for Session {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Session").field("host", &self.inner.config.host).finish_non_exhaustive()
    }
}

impl Session {
    /// Receive buffers of READ answers, for the connection's next frames.
    pub(crate) fn buffers(&self) -> &Arc<crate::buffers::Buffers> {
        &self.inner.shared.buffers
    }

    /// Whether the server refused the EX form of DFS referral requests (set once it did).
    pub(crate) fn referrals_ex_refused(&self) -> &AtomicBool {
        &self.inner.referrals_ex_refused
    }

    /// The session as last established (it may change after a reconnection).
    pub fn info(&self) -> Arc<SessionInfo> {
        self.inner.shared.info.lock().ok().and_then(|i| i.clone()).unwrap_or_else(|| self.inner.first.clone())
    }

    /// The server's name.
    pub fn host(&self) -> &str {
        &self.inner.config.host
    }

    /// Whether requests go out encrypted.
    pub fn encrypted(&self) -> bool {
        self.info().encrypted
    }

    /// The frames sent (`true`) and received so far, as on the wire (Direct TCP payloads),
    /// when the builder asked to record them.
    pub fn transcript(&self) -> Vec<(bool, Vec<u8>)> {
        self.inner.shared.transcript.as_ref().and_then(|t| t.lock().ok().map(|t| t.clone())).unwrap_or_default()
    }

    fn ticket(&self) -> u64 {
        self.inner.tickets.fetch_add(1, Ordering::Relaxed)
    }

    /// Sends `request` (pipelined with every other); the answer is awaited from the
    /// [`Pending`] returned.
    ///
    /// # Errors
    /// [`Error::Closed`] when the driver is gone.
    pub fn submit(&self, request: Request) -> Result<Pending, Error> {
        self.submit_chain(vec![request]).map(|mut v| v.remove(0))
    }

    /// Sends `requests` as one related compound; one [`Pending`] per request.
    ///
    /// # Errors
    /// [`Error::Closed`] when the driver is gone.
    pub fn submit_chain(&self, requests: Vec<Request>) -> Result<Vec<Pending>, Error> {
        let mut chain = Vec::with_capacity(requests.len());
        let mut pending = Vec::with_capacity(requests.len());
        for request in requests {
            let ticket = self.ticket();
            let (tx, rx): (Reply, _) = oneshot::channel();
            chain.push((ticket, request, Some(tx)));
            pending.push(Pending { rx, ticket, commands: self.inner.commands.clone(), done: false });
        }
        self.inner.commands.send(Command::Submit(chain)).map_err(|_| Error::Closed)?;
        Ok(pending)
    }

    /// Sends `request` and forgets it (a CLOSE of a handle dropped).
    pub(crate) fn fire(&self, request: Request) {
        let _ = self.inner.commands.send(Command::Submit(vec![(self.ticket(), request, None)]));
    }

    /// Sends `request` and waits for its answer.
    ///
    /// # Errors
    /// I/O, timeout, integrity and wire errors (a status is the caller's to judge).
    pub async fn call(&self, request: Request) -> Result<Answer, Error> {
        self.submit(request)?.await
    }

    /// Connects to `share`.
    ///
    /// # Errors
    /// [`Error::Status`] with BAD_NETWORK_NAME for a share that does not exist, and the like.
    pub async fn tree_connect(&self, share: &str) -> Result<Tree, Error> {
        let answer = self.call(Request::tree_connect(self.host(), share)?).await?;
        answer.response.check()?;
        let body = keyless_smb::tree_connect::TreeConnectResponse::parse(answer.response.bytes())?;
        match answer.slot {
            Some(Slot::Tree(slot)) => Ok(Tree::new(self.clone(), slot, share, body.share_flags, body.capabilities)),
            _ => Err(crate::error::Misbehaviour::UnknownResponse.into()),
        }
    }

    /// ECHO: proves the server and the connection alive.
    ///
    /// # Errors
    /// I/O, timeout, integrity errors.
    pub async fn echo(&self) -> Result<(), Error> {
        self.call(Request::new(&keyless_smb::control::Echo, Target::Session)?).await?.response.check()
    }

    /// Logs off and closes the connection; every handle fails from then on.
    pub async fn logoff(&self) {
        let (done, closed) = oneshot::channel();
        if self.inner.commands.send(Command::Logoff(done)).is_ok() {
            let _ = closed.await;
        }
    }
}

/// The answer to a submitted request, to await. Dropping it before the answer came tells the
/// driver, which cancels the request where it waits long and discards its answer.
#[must_use = "dropping a Pending abandons its request"]
pub struct Pending {
    rx: oneshot::Receiver<Result<Answer, Error>>,
    ticket: u64,
    commands: mpsc::UnboundedSender<Command>,
    done: bool,
}

impl core::fmt::Debug for Pending {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Pending").field("ticket", &self.ticket).finish_non_exhaustive()
    }
}

impl Future for Pending {
    type Output = Result<Answer, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match Pin::new(&mut self.rx).poll(cx) {
            Poll::Ready(r) => {
                self.done = true;
                Poll::Ready(r.unwrap_or(Err(Error::Closed)))
            }
            Poll::Pending => Poll::Pending,
        }
    }
}

impl Drop for Pending {
    fn drop(&mut self) {
        if !self.done {
            let _ = self.commands.send(Command::Abandon(self.ticket));
        }
    }
}
