//! The sans-IO SMB2/3 client core, in the shape of quinn-proto's `Connection`: it owns no
//! socket, clock or random source. One core lives as long as the client and spans its TCP
//! connections: when one drops, the core negotiates and authenticates on the next, connects
//! its shares again, reclaims its opens and sends again what was in flight.
//!
//! Call order, for a driver:
//! - [`Connection::new`]; then loop:
//! - [`Connection::poll_transmit`]: write every frame it gives, in order;
//! - [`Connection::poll_event`]: [`Event::Connect`] asks for a TCP connection (answer with
//!   [`Connection::connected`] or [`Connection::connection_lost`]), [`Event::Disconnect`] to
//!   drop it, [`Event::Response`] and [`Event::Failed`] answer submitted requests,
//!   [`Event::CredentialDue`] asks for [`Connection::provide_credential`] or
//!   [`Connection::credential_failed`];
//! - wait for bytes (each Direct TCP frame's payload to [`Connection::handle_input`]), for
//!   commands ([`Connection::submit`], [`Connection::submit_chain`],
//!   [`Connection::abandon`], [`Connection::logoff`]) or for [`Connection::poll_timeout`]
//!   (then [`Connection::handle_timeout`]). A read or write failure goes to
//!   [`Connection::connection_lost`].
//!
//! Time comes in as [`Now`] (a monotonic instant for timers, the wall clock for Kerberos and
//! NTLM), randomness from the `RandomSource` given at construction.

mod answers;
mod channel;
mod flights;
pub mod negotiate;
mod request;
mod session;
mod shares;

pub use channel::{CREDIT_UNIT, Frame, Received};
pub use negotiate::Negotiated;
pub use request::{Durability, OpenSlot, OpenSpec, Request, RequestId, Target, TreeSlot};

use crate::auth::Auth;
use crate::error::Error;
use channel::Channel;
use flights::Flights;
use keyless_krb::RandomSource;
use keyless_smb::Dialect;
use session::Phase;
use shares::Shares;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// How the client connects; shared by the core and its driver.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server's name: it names the SPN (`cifs/<host>`), the tree paths and the 3.1.1
    /// NETNAME context.
    pub host: String,
    /// Dialects to offer.
    pub dialects: Vec<Dialect>,
    /// Refuse to go on without encryption.
    pub require_encryption: bool,
    /// Sign every request and refuse unsigned answers, whatever the server asks (the default,
    /// as Windows 11 24H2's client). `false` signs only what the server or MS-SMB2 requires
    /// (3.1.1's TREE_CONNECT, 3.0's VALIDATE_NEGOTIATE), as smbclient's and cifs.ko's defaults
    /// do; an encrypted session is protected either way.
    pub require_signing: bool,
    /// How long one answer may take, and a TCP connect.
    pub timeout: Duration,
    /// ECHO after this long without hearing from the server (`None`: never).
    pub keepalive: Option<Duration>,
    /// Most bytes one READ or WRITE carries (the server's limit applies too).
    pub max_io: usize,
    /// Credits asked for with every request.
    pub credit_target: u16,
    /// Whether someone answers [`Event::CredentialDue`].
    pub renewable: bool,
}

impl Config {
    /// Defaults for `host`: SMB 3.0 to 3.1.1, every request signed, encryption when the
    /// server asks, 30 s per answer, ECHO after 60 s of silence, 1 MiB READs and WRITEs, 256
    /// credits asked for.
    pub fn new(host: &str) -> Self {
        Self {
            host: host.to_string(),
            // SMB 3 only by default: 2.x has no downgrade protection and no encryption.
            dialects: negotiate::DIALECTS[2..].to_vec(),
            require_encryption: false,
            require_signing: true,
            timeout: Duration::from_secs(30),
            keepalive: Some(Duration::from_secs(60)),
            max_io: 1 << 20,
            credit_target: 256,
            renewable: false,
        }
    }
}

/// The time, as the core needs it: a monotonic instant for its timers and the wall clock for
/// Kerberos authenticators, NTLM timestamps and ticket lifetimes.
#[derive(Debug, Clone, Copy)]
pub struct Now {
    /// Monotonic time.
    pub instant: Instant,
    /// Wall-clock time.
    pub wall: SystemTime,
}

impl Now {
    /// The wall-clock time `wall` as an instant on this clock (the past clamps to now).
    pub(crate) fn instant_of(&self, wall: SystemTime) -> Instant {
        self.instant + wall.duration_since(self.wall).unwrap_or_default()
    }
}

/// An established session, as the caller sees it.
#[derive(Debug, Clone)]
pub struct SessionInfo {
    /// What NEGOTIATE settled.
    pub negotiated: Negotiated,
    /// Whether requests go out encrypted.
    pub encrypted: bool,
    /// Whether every request is signed and every answer must be (when not encrypted).
    pub signed: bool,
    /// Whether the negotiation is protected against a downgrade (3.0.x validated, or 3.1.1).
    pub validated: bool,
    /// Bytes one READ carries.
    pub read_size: usize,
    /// Bytes one WRITE carries.
    pub write_size: usize,
}

/// Something a long-running caller may want to log.
#[derive(Debug, Clone)]
pub enum Notice {
    /// The connection dropped; the core connects again.
    Lost(String),
    /// A new connection and session are up, shares and opens restored.
    Reconnected,
    /// Getting a fresh credential failed; the session goes on until it really ends.
    RenewalFailed(String),
    /// An open could not be reclaimed or opened again.
    OpenLost(String),
}

/// What a shared share or open became, named in a response.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// A TREE_CONNECT's share.
    Tree(TreeSlot),
    /// A tracked CREATE's open.
    Open(OpenSlot),
}

/// What the core has for its driver.
#[derive(Debug)]
pub enum Event {
    /// Open a TCP connection to the server, then call [`Connection::connected`].
    Connect,
    /// Close the TCP connection (after a failure, or once logged off).
    Disconnect,
    /// The first session is up.
    Ready(Arc<SessionInfo>),
    /// What the session runs with changed (validated, encrypted, or a new connection).
    Info(Arc<SessionInfo>),
    /// The final answer to a request.
    Response {
        /// The request.
        id: RequestId,
        /// The answer (its status is the caller's to judge).
        response: Received,
        /// The share or open it made.
        slot: Option<Slot>,
    },
    /// A request that will not be answered.
    Failed {
        /// The request.
        id: RequestId,
        /// Why.
        error: Error,
    },
    /// A fresh credential is wanted (`expired`: the server already said the session ended).
    CredentialDue {
        /// The server said the session expired.
        expired: bool,
    },
    /// For the log.
    Notice(Notice),
    /// The core gave up for good (the first connection failed, or it was logged off); every
    /// request fails from now on.
    Closed(Arc<Error>),
}

/// The SMB client core: one session with one server over successive TCP connections.
pub struct Connection {
    config: Arc<Config>,
    auth: Auth,
    rng: Box<dyn RandomSource>,
    client_guid: [u8; 16],
    phase: Phase,
    channel: Channel,
    /// What this connection's NEGOTIATE settled.
    negotiated: Option<Negotiated>,
    /// What was offered, for FSCTL_VALIDATE_NEGOTIATE_INFO.
    offered: keyless_smb::ioctl::ValidateNegotiateRequest,
    /// Whether this connection's negotiation was validated.
    validated: bool,
    /// A reauthentication in progress.
    reauth: Option<Box<session::Setup>>,
    info: Option<Arc<SessionInfo>>,
    /// The session a new connection's SESSION_SETUP replaces (0: none).
    previous_session: u64,
    /// Whether a session was ever established (before that, failures are final).
    ever_ready: bool,
    /// Connection attempts since the last success (for the backoff).
    attempts: u32,
    /// Why the last connection ended.
    last_loss: Option<Arc<Error>>,
    /// Bumped by each session setup and reauthentication.
    generation: u32,
    /// Bumped by each reconnection that had requests in flight (3.x ChannelSequence).
    channel_sequence: u16,
    flights: Flights,
    shares: Shares,
    /// When to get a fresh credential; whether one is being fetched.
    renew_at: Option<Instant>,
    renewing: bool,
    /// The credential being fetched replaces one the server (or its end time) already ended:
    /// any valid one will do, fresher or not.
    renewal_urgent: bool,
    /// When the server was last heard from.
    last_heard: Instant,
    transmit: VecDeque<Arc<Frame>>,
    events: VecDeque<Event>,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("host", &self.config.host)
            .field("phase", &self.phase)
            .field("session_id", &self.channel.session_id)
            .finish_non_exhaustive()
    }
}

/// Backoff before connection attempt `n` after a loss: 0, 0.1, 0.2, 0.4 ... capped at 5 s.
fn backoff(n: u32) -> Duration {
    if n == 0 { Duration::ZERO } else { Duration::from_millis(100u64 << (n - 1).min(6)).min(Duration::from_secs(5)) }
}

impl Connection {
    /// A core for `config` authenticating with `auth`; its first event asks for a connection.
    ///
    /// # Errors
    /// The random source failed.
    pub fn new(config: Arc<Config>, auth: Auth, mut rng: Box<dyn RandomSource>, now: Now) -> Result<Self, Error> {
        // Our ClientGuid: the same on every reconnection, since the server binds durable
        // handles to it.
        let mut client_guid = [0u8; 16];
        rng.fill(&mut client_guid)?;
        let mut core = Self {
            config,
            auth,
            rng,
            client_guid,
            phase: Phase::Dialing,
            channel: Channel::new(),
            negotiated: None,
            offered: keyless_smb::ioctl::ValidateNegotiateRequest::default(),
            validated: false,
            reauth: None,
            info: None,
            previous_session: 0,
            ever_ready: false,
            attempts: 0,
            last_loss: None,
            generation: 0,
            channel_sequence: 0,
            flights: Flights::default(),
            shares: Shares::default(),
            renew_at: None,
            renewing: false,
            renewal_urgent: false,
            last_heard: now.instant,
            transmit: VecDeque::new(),
            events: VecDeque::new(),
        };
        core.events.push_back(Event::Connect);
        Ok(core)
    }

    /// The session as established (after [`Event::Ready`]).
    pub fn info(&self) -> Option<&Arc<SessionInfo>> {
        self.info.as_ref()
    }

    /// The credential the session runs with (the one to renew).
    pub fn credential(&self) -> &Auth {
        &self.auth
    }

    /// The largest frame a well-behaved server sends: the negotiated maxima plus headers
    /// (1 MiB before NEGOTIATE says more).
    pub fn max_frame(&self) -> usize {
        let most = self.info.as_ref().map_or(0, |i| {
            let n = &i.negotiated;
            n.max_read.max(n.max_write).max(n.max_transact) as usize
        });
        most.max(1 << 20) + 65_536
    }

    /// Whether the core gave up for good.
    pub fn is_closed(&self) -> bool {
        matches!(self.phase, Phase::Closed)
    }

    /// The next frame to write.
    #[must_use]
    pub fn poll_transmit(&mut self) -> Option<Arc<Frame>> {
        self.transmit.pop_front()
    }

    /// The next event.
    #[must_use]
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    /// When [`Connection::handle_timeout`] is next due.
    #[must_use]
    pub fn poll_timeout(&self) -> Option<Instant> {
        let mut at = self.flights.next_deadline();
        let mut consider = |t: Option<Instant>| {
            if let Some(t) = t {
                at = Some(at.map_or(t, |a: Instant| a.min(t)));
            }
        };
        consider(self.phase.retry_at());
        if matches!(self.phase, Phase::Ready) && !self.renewing && self.config.renewable {
            consider(self.renew_at);
        }
        consider(self.keepalive_at());
        at
    }

    /// The TCP connection the core asked for is up.
    pub fn connected(&mut self, now: Now) {
        if matches!(self.phase, Phase::Dialing) {
            self.last_heard = now.instant;
            self.start_negotiate(now);
        }
        self.dispatch(now);
    }

    /// The TCP connection failed, broke or could not be made: the core starts over on a new
    /// one (or gives up, when no session was ever established).
    pub fn connection_lost(&mut self, error: Error, now: Now) {
        if matches!(self.phase, Phase::Down { .. }) {
            return; // reported already
        }
        self.lose(error, now);
        self.dispatch(now);
    }

    /// A Direct TCP frame's payload from the server. Frames while no connection is up (a
    /// reader's last ones, after the loss was reported) belong to no session and are dropped.
    pub fn handle_input(&mut self, frame: Vec<u8>, now: Now) {
        if !self.has_connection() {
            return;
        }
        self.last_heard = now.instant;
        if let Err(e) = self.input(frame, now) {
            self.lose(e, now);
        }
        self.dispatch(now);
    }

    /// Timers: answers overdue, keepalive, renewal, the next connection attempt.
    pub fn handle_timeout(&mut self, now: Now) {
        if let Some(at) = self.phase.retry_at()
            && now.instant >= at
        {
            self.phase = Phase::Dialing;
            self.events.push_back(Event::Connect);
        }
        self.fail_overdue(now);
        if self.flights.overdue_in_flight(now.instant) {
            let e = Error::Timeout { waiting_for: "waiting for an SMB response", cause: None };
            self.lose(e, now);
        }
        if matches!(self.phase, Phase::Ready) {
            if self.renew_at.is_some_and(|t| now.instant >= t) && self.config.renewable {
                self.renew_at = None;
                self.want_credential(false);
            }
            if self.keepalive_at().is_some_and(|t| now.instant >= t) {
                self.send_echo();
            }
        }
        self.dispatch(now);
    }

    /// Queues `request`; its answer comes as an event with the id returned.
    pub fn submit(&mut self, request: Request, now: Now) -> RequestId {
        self.submit_chain(vec![request], now).pop().unwrap_or(RequestId(u64::MAX))
    }

    /// Queues `requests` as one related compound (MS-SMB2 3.2.4.1.4): those after the first
    /// act on what the first opens (FileId all ones). Each has its own answer.
    pub fn submit_chain(&mut self, requests: Vec<Request>, now: Now) -> Vec<RequestId> {
        let deadline = now.instant + self.config.timeout;
        let ids = self.flights.queue_user(requests, deadline);
        if let Phase::Closed = self.phase {
            let cause = self.last_loss.clone().unwrap_or_else(|| Arc::new(Error::Closed));
            self.fail_queued(&cause);
        }
        self.dispatch(now);
        ids
    }

    /// The caller no longer waits for `id`: a queued request is dropped, one in flight is
    /// cancelled where it went asynchronous, and its answer is discarded (an open it made is
    /// closed).
    pub fn abandon(&mut self, id: RequestId, now: Now) {
        if let Some(cancel) = self.flights.abandon(id) {
            self.send_cancel(cancel);
        }
        self.dispatch(now);
    }

    /// A fresh credential, after [`Event::CredentialDue`]: the session is authenticated
    /// again with it (or the next one is).
    pub fn provide_credential(&mut self, auth: Auth, now: Now) {
        self.renewing = false;
        let urgent = std::mem::take(&mut self.renewal_urgent);
        let fresher = auth.expires_at() > self.auth.expires_at() || self.auth.expires_at().is_none();
        let valid = auth.expires_at().is_none_or(|end| end > now.wall);
        if !(fresher || urgent && valid) {
            let why = "the new credential ends no later than the current one".to_string();
            self.credential_failed(why, now);
            return;
        }
        self.auth = auth;
        self.credential_arrived(now);
        self.dispatch(now);
    }

    /// No fresh credential could be had: the session goes on until the server ends it; a
    /// request the server already refused as expired fails.
    pub fn credential_failed(&mut self, reason: String, now: Now) {
        self.renewing = false;
        self.renewal_urgent = false;
        self.renew_at = Some(now.instant + Duration::from_secs(30));
        self.fail_parked(|| Error::Renewal(reason.clone().into()));
        self.events.push_back(Event::Notice(Notice::RenewalFailed(reason)));
        self.dispatch(now);
    }

    /// Logs the session off; [`Event::Closed`] follows its answer.
    pub fn logoff(&mut self, now: Now) {
        if matches!(self.phase, Phase::Ready) {
            self.send_logoff();
        } else {
            self.close(Arc::new(Error::Closed));
        }
        self.dispatch(now);
    }

    /// Asks the driver for a fresh credential (once at a time).
    fn want_credential(&mut self, expired: bool) {
        self.renewal_urgent |= expired;
        if !self.renewing {
            self.renewing = true;
            self.events.push_back(Event::CredentialDue { expired });
        }
    }

    /// Ends everything with `cause` (before a first session, or after a logoff). Requests
    /// submitted later fail as closed.
    fn close(&mut self, cause: Arc<Error>) {
        self.phase = Phase::Closed;
        // Not kept: the one waiting for the first session gets the cause itself.
        self.last_loss = None;
        self.fail_queued(&cause);
        for (id, _) in self.flights.take_all_user() {
            self.events.push_back(Event::Failed { id, error: Error::Interrupted(cause.clone()) });
        }
        self.events.push_back(Event::Disconnect);
        self.events.push_back(Event::Closed(cause));
    }

    /// Fails every queued request with `cause`.
    fn fail_queued(&mut self, cause: &Arc<Error>) {
        for id in self.flights.drain_user_queue() {
            self.events.push_back(Event::Failed { id, error: Error::Interrupted(cause.clone()) });
        }
    }

    /// Fails queued requests whose time is up.
    fn fail_overdue(&mut self, now: Now) {
        for id in self.flights.overdue_queued(now.instant) {
            let cause = self.last_loss.clone();
            self.events.push_back(Event::Failed {
                id,
                error: Error::Timeout { waiting_for: "waiting for an SMB response", cause },
            });
        }
    }

    /// When to send an ECHO: after `keepalive` of silence, with nothing awaiting an answer.
    fn keepalive_at(&self) -> Option<Instant> {
        let keepalive = self.config.keepalive?;
        (matches!(self.phase, Phase::Ready) && !self.flights.any_with_deadline()).then_some(self.last_heard + keepalive)
    }

    /// After the connection dropped or failed: requests in flight go again on the next
    /// connection when the cause was the network (else they fail with it), shares and opens
    /// are restored there; before any session was established, the failure is final.
    fn lose(&mut self, error: Error, now: Now) {
        if matches!(self.phase, Phase::Closed) {
            return;
        }
        let cause = Arc::new(error);
        self.events.push_back(Event::Disconnect);
        if !self.ever_ready {
            self.close(cause);
            return;
        }
        self.events.push_back(Event::Notice(Notice::Lost(cause.to_string())));
        let network = cause.is_connection_loss();
        let mut resent = false;
        for chain in self.flights.take_in_flight() {
            match chain {
                flights::Lost::User(ids, frame) if network => match self.channel.recover(frame) {
                    Ok(messages) => {
                        resent = true;
                        self.flights.requeue(ids, messages, true, now.instant + self.config.timeout);
                    }
                    Err(e) => {
                        let e = Arc::new(e);
                        for (id, _) in ids {
                            self.events.push_back(Event::Failed { id, error: Error::Interrupted(e.clone()) });
                        }
                    }
                },
                flights::Lost::User(ids, _) => {
                    for (id, _) in ids {
                        self.events.push_back(Event::Failed { id, error: Error::Interrupted(cause.clone()) });
                    }
                }
                flights::Lost::Internal => {}
            }
        }
        if !network {
            self.fail_queued(&cause);
        }
        self.flights.unpark();
        if resent && self.info.as_ref().is_some_and(|i| i.negotiated.dialect >= Dialect::SMB_30) {
            self.channel_sequence = self.channel_sequence.wrapping_add(1);
        }
        if self.channel.session_id != 0 {
            self.previous_session = self.channel.session_id;
        }
        self.channel = Channel::new();
        self.reauth = None;
        self.transmit.clear();
        self.shares.connection_lost(&cause);
        self.last_loss = Some(cause);
        self.phase = Phase::Down { retry_at: now.instant + backoff(self.attempts) };
        self.attempts = self.attempts.saturating_add(1);
    }

    /// Whether a TCP connection is up (from `connected` until its loss).
    fn has_connection(&self) -> bool {
        !matches!(self.phase, Phase::Down { .. } | Phase::Dialing | Phase::Closed)
    }

    /// Sends what is queued, as far as the phase and the credits allow.
    fn dispatch(&mut self, now: Now) {
        while let Some(chain) = self.flights.next_internal(&self.channel) {
            self.send_chain(chain, now);
        }
        if matches!(self.phase, Phase::Ready) {
            while let Some(chain) = self.flights.next_user(&self.channel) {
                self.send_chain(chain, now);
            }
        }
        if self.has_connection() && self.flights.starved(&self.channel, matches!(self.phase, Phase::Ready)) {
            self.lose(crate::error::Misbehaviour::NoCredits.into(), now);
        }
    }
}
