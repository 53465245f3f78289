//! The async driver: a TCP connection to one server, negotiated, with one authenticated session
//! that is reauthenticated before its ticket ends and can be re-established on a new
//! connection after the old one dropped.

use crate::auth::{Auth, Authenticator, Renew, Step};
use crate::channel::{Channel, Received, Sealing};
use crate::negotiate::{self, Negotiated};
use crate::{Error, Tree};
use keyless_crypto::{Aead, Derivation, SessionKeys, Signer, SigningKey, preauth_hash_step};
use keyless_krb::{OsRandom, RandomSource};
use keyless_smb::header::{Header, HeaderFields};
use keyless_smb::ioctl::{
    IOCTL_IS_FSCTL, IoctlRequest, IoctlResponse, ValidateNegotiateRequest, ValidateNegotiateResponse, ctl_code,
};
use keyless_smb::negotiate::NegotiateResponse;
use keyless_smb::session_setup::{SessionSetupRequest, SessionSetupResponse, session_flags};
use keyless_smb::tree_connect::{TreeConnectRequest, TreeConnectResponse, share_flags};
use keyless_smb::{Command, Dialect, Message, NtStatus, framing};
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use zeroize::Zeroizing;

/// How to connect.
#[derive(Debug, Clone)]
pub struct Options {
    /// The server's name: it names the SPN (`cifs/<host>`) and the tree paths.
    pub host: String,
    /// Dialects to offer (all of them by default).
    pub dialects: Vec<Dialect>,
    /// Refuse to go on without encryption.
    pub require_encryption: bool,
    /// How long to wait for any one answer.
    pub timeout: Duration,
    /// Keep every frame sent and received (as on the wire), for inspection and tests.
    pub record: bool,
    /// Most bytes one READ or WRITE carries (the server's limit applies too).
    pub max_io: usize,
}

impl Options {
    /// Defaults for `host`: SMB 3.0 to 3.1.1 (2.x only when asked for), encryption when the
    /// server asks, 30 s per answer.
    pub fn new(host: &str) -> Self {
        Self {
            host: host.to_string(),
            // SMB 3 only by default: 2.x has no downgrade protection and no encryption.
            dialects: negotiate::DIALECTS[2..].to_vec(),
            require_encryption: false,
            timeout: Duration::from_secs(30),
            record: false,
            max_io: 1 << 20,
        }
    }
}

/// A request awaiting its answer.
struct Outstanding {
    command: Command,
    /// The AsyncId, once an interim answer gave one.
    async_id: Option<u64>,
    /// The session's authentication generation when it was sent.
    generation: u32,
    /// Sent by the connection itself (a lease break acknowledgment): its answer is not
    /// handed out.
    internal: bool,
}

/// Seconds between renewal attempts after one failed.
const RENEW_RETRY: i64 = 30;

/// An authenticated connection.
pub struct Connection {
    stream: TcpStream,
    /// Where the server is, for reconnecting.
    addr: (String, u16),
    /// The session's credential.
    auth: Auth,
    /// Where a fresh credential comes from, if anywhere.
    renew: Option<Box<dyn Renew>>,
    /// After a renewal that failed or gave nothing fresher: no new try before this time
    /// (seconds since the epoch; the server's NETWORK_SESSION_EXPIRED still gets one).
    renew_after: i64,
    /// Why the last renewal failed, until someone asks ([`Connection::renewal_failure`]).
    renewal_failure: Option<String>,
    /// Bumped by each reauthentication and reconnection: an answer of NETWORK_SESSION_EXPIRED
    /// to a request sent before it needs no new renewal.
    generation: u32,
    /// Our ClientGuid: the same on every reconnection, since the server binds durable handles
    /// to it.
    client_guid: [u8; 16],
    channel: Channel,
    negotiated: Negotiated,
    options: Options,
    /// What we sent in NEGOTIATE, for FSCTL_VALIDATE_NEGOTIATE_INFO.
    offered: ValidateNegotiateRequest,
    /// Whether the negotiation has been validated (or needs no validation).
    validated: bool,
    /// Frames as on the wire (`true`: sent), when `Options::record` asks for them.
    transcript: Vec<(bool, Vec<u8>)>,
    /// Checked final responses not yet handed out (a compound answer brings several).
    pending: std::collections::VecDeque<Received>,
    /// Requests awaiting their answer, by MessageId. A response to anything else is refused.
    outstanding: std::collections::HashMap<u64, Outstanding>,
    /// Leases held, by key: the tree their open is on (a break is acknowledged there).
    leases: std::collections::HashMap<[u8; 16], u32>,
    /// Set by an I/O, timeout, integrity or protocol failure: the byte stream can no longer be
    /// trusted to be in step, so nothing more is sent or read.
    broken: bool,
}

impl core::fmt::Debug for Connection {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.debug_struct("Connection")
            .field("host", &self.options.host)
            .field("dialect", &self.negotiated.dialect)
            .field("session_id", &self.channel.session_id)
            .finish_non_exhaustive()
    }
}

/// The running SHA-512 preauth integrity hash (3.1.1).
struct Preauth([u8; 64]);

fn unix_now() -> i64 {
    SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64)
}

async fn dial(addr: (&str, u16), timeout: Duration) -> Result<TcpStream, Error> {
    let stream = tokio::time::timeout(timeout, TcpStream::connect(addr))
        .await
        .map_err(|_| Error::Timeout("TCP connect"))?
        .map_err(|source| Error::Io { doing: "connecting to the SMB server", source })?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

impl Preauth {
    fn add(&mut self, message: &[u8]) {
        self.0 = preauth_hash_step(&self.0, message);
    }
}

impl Connection {
    /// Connects to `addr`, negotiates, and authenticates.
    ///
    /// # Errors
    /// Whatever fails first, as one [`Error`].
    pub async fn connect(addr: (&str, u16), options: Options, auth: &Auth) -> Result<Self, Error> {
        let stream = dial(addr, options.timeout).await?;
        let mut client_guid = [0u8; 16];
        OsRandom.fill(&mut client_guid)?;
        let mut conn = Self {
            stream,
            addr: (addr.0.to_string(), addr.1),
            auth: auth.clone(),
            renew: None,
            renew_after: 0,
            renewal_failure: None,
            generation: 0,
            client_guid,
            channel: Channel::new(),
            negotiated: Negotiated {
                dialect: Dialect::SMB_202,
                security_mode: 0,
                capabilities: 0,
                server_guid: [0; 16],
                max_transact: 65_536,
                max_read: 65_536,
                max_write: 65_536,
                cipher: None,
                signing: keyless_crypto::SigningAlgorithm::HmacSha256,
                gss_hint: Vec::new(),
            },
            options,
            offered: ValidateNegotiateRequest::default(),
            validated: false,
            transcript: Vec::new(),
            pending: std::collections::VecDeque::new(),
            outstanding: std::collections::HashMap::new(),
            leases: std::collections::HashMap::new(),
            broken: false,
        };
        conn.establish(0).await?;
        Ok(conn)
    }

    /// Where fresh credentials come from: the session is then reauthenticated before its
    /// ticket ends, and when the server says it expired.
    pub fn set_renewal(&mut self, renew: Box<dyn Renew>) {
        self.renew = Some(renew);
    }

    /// NEGOTIATE and SESSION_SETUP on a fresh stream; `previous` names the session this one
    /// replaces (0: none), so the server lets go of it at once.
    async fn establish(&mut self, previous: u64) -> Result<(), Error> {
        let mut rng = OsRandom;
        let preauth = self.negotiate(&mut rng).await?;
        self.session_setup(preauth, previous, &mut rng).await
    }

    /// A new TCP connection and session in place of one that dropped (same ClientGuid, the
    /// old session named as previous), with a fresh credential when the old one is due.
    /// Trees must be connected again, and durable handles reclaimed, by their owners.
    ///
    /// # Errors
    /// As [`Connection::connect`].
    pub async fn reconnect(&mut self) -> Result<(), Error> {
        let previous = self.channel.session_id;
        self.broken = true;
        if self.auth.due_for_renewal(unix_now()) {
            if let Some(renew) = self.renew.as_mut() {
                self.auth = renew.renew(&self.auth).await.map_err(Error::Renewal)?;
            }
        }
        self.stream = dial((&self.addr.0, self.addr.1), self.options.timeout).await?;
        self.channel = Channel::new();
        self.pending.clear();
        self.outstanding.clear();
        self.leases.clear();
        self.validated = false;
        self.generation += 1;
        self.broken = false;
        let result = self.establish(previous).await;
        self.broken = result.is_err();
        result
    }

    /// Whether the connection failed and must be re-established before more requests.
    pub fn is_broken(&self) -> bool {
        self.broken
    }

    /// What was negotiated.
    pub fn negotiated(&self) -> &Negotiated {
        &self.negotiated
    }

    /// Bytes per READ or WRITE: the server's limit and ours, 64 KiB without LARGE_MTU.
    pub(crate) fn io_size(&self, server_max: u32) -> usize {
        let cap = if self.channel.multi_credit { self.options.max_io } else { 65_536 };
        (server_max as usize).min(cap).max(4096)
    }

    /// Whether the negotiation is protected against a downgrade: FSCTL_VALIDATE_NEGOTIATE_INFO
    /// confirmed it (3.0/3.0.2, once a tree is connected), or the preauth hash binds it (3.1.1).
    /// Never for 2.x, which has neither.
    pub fn negotiation_validated(&self) -> bool {
        self.validated && !matches!(self.negotiated.dialect, Dialect::SMB_202 | Dialect::SMB_21)
    }

    /// The frames sent (`true`) and received so far, as on the wire (Direct TCP payloads),
    /// when [`Options::record`] is set.
    pub fn transcript(&self) -> &[(bool, Vec<u8>)] {
        &self.transcript
    }

    /// Whether requests go out encrypted.
    pub fn encrypted(&self) -> bool {
        self.channel.encrypt_all
    }

    async fn negotiate(&mut self, rng: &mut dyn RandomSource) -> Result<Preauth, Error> {
        let (guid, mut salt) = (self.client_guid, [0u8; 32]);
        rng.fill(&mut salt)?;
        let offered = self.options.dialects.clone();
        let req = negotiate::offer(&offered, guid, &salt, &self.options.host);
        self.offered = ValidateNegotiateRequest {
            capabilities: req.capabilities,
            guid,
            security_mode: req.security_mode,
            dialects: offered.clone(),
        };
        let header = self.channel.next_header(Command::NEGOTIATE, 0, 0)?;
        let msg = req.to_vec(&header)?;
        let mut preauth = Preauth([0; 64]);
        preauth.add(&msg);
        let resp = self.exchange(msg).await?;
        check_status(&resp, Command::NEGOTIATE)?;
        preauth.add(resp.bytes());
        let n = negotiate::accept(&NegotiateResponse::parse(resp.bytes())?, &offered)?;
        self.channel.multi_credit =
            n.dialect != Dialect::SMB_202 && n.capabilities & keyless_smb::negotiate::caps::LARGE_MTU != 0;
        if self.options.require_encryption && n.cipher.is_none() {
            return Err(Error::Refused("encryption is required (--require-encryption) but the server offers none"));
        }
        self.negotiated = n;
        Ok(preauth)
    }

    /// A new session: SESSION_SETUP legs with the preauth hash running, then the keys.
    async fn session_setup(
        &mut self,
        mut preauth: Preauth,
        previous: u64,
        rng: &mut dyn RandomSource,
    ) -> Result<(), Error> {
        let auth = self.auth.clone();
        let (key, last) = self.setup_legs(&auth, Some(&mut preauth), previous, rng).await?;
        self.install_keys(&key, &preauth)?;
        // The final SESSION_SETUP response is signed with the new key (3.2.5.3.1): check it.
        if let Some(signer) = &self.channel.signer {
            if !last.encrypted {
                if last.header.flags & keyless_smb::header::flags::SIGNED == 0 {
                    return Err(Error::Refused("the server did not sign the final SESSION_SETUP response"));
                }
                signer.verify(last.bytes())?;
            }
        }
        let flags = SessionSetupResponse::parse(last.bytes())?.session_flags;
        if flags & session_flags::ENCRYPT_DATA != 0 || self.options.require_encryption {
            self.require_encryption()?;
        }
        Ok(())
    }

    /// Authenticates the established session again with `auth` (a fresh ticket for the same
    /// user, 3.2.4.2.3): the keys stay as they are; requests in flight go on.
    ///
    /// # Errors
    /// The server's refusal (LOGON_FAILURE, say), or I/O.
    pub async fn reauthenticate(&mut self, auth: Auth) -> Result<(), Error> {
        self.setup_legs(&auth, None, 0, &mut OsRandom).await?;
        self.auth = auth;
        self.generation += 1;
        Ok(())
    }

    /// SESSION_SETUP legs until the server agrees; the GSS session key and the final answer.
    /// `preauth` runs the 3.1.1 hash over the legs of a new session.
    async fn setup_legs(
        &mut self,
        auth: &Auth,
        mut preauth: Option<&mut Preauth>,
        previous: u64,
        rng: &mut dyn RandomSource,
    ) -> Result<(Zeroizing<Vec<u8>>, Received), Error> {
        let spn = format!("cifs/{}", self.options.host);
        let (mut authenticator, mut token) = Authenticator::start(auth, rng)?;
        loop {
            let req = SessionSetupRequest {
                // keyless requires signing (3.2.4.2.3): say so, so the server signs too.
                security_mode: (keyless_smb::negotiate::security_mode::SIGNING_ENABLED
                    | keyless_smb::negotiate::security_mode::SIGNING_REQUIRED) as u8,
                previous_session_id: previous,
                security_buffer: &token,
                ..Default::default()
            };
            let header = self.channel.next_header(Command::SESSION_SETUP, 0, 1)?;
            let msg = req.to_vec(&header)?;
            if let Some(p) = preauth.as_deref_mut() {
                p.add(&msg);
            }
            let resp = self.exchange(msg).await?;
            let status = resp.header.status;
            if status != NtStatus::SUCCESS && status != NtStatus::MORE_PROCESSING_REQUIRED {
                return Err(Error::Status { command: Command::SESSION_SETUP, status });
            }
            let sid = resp.header.session_id;
            if sid == 0 || (self.channel.session_id != 0 && sid != self.channel.session_id) {
                return Err(Error::Refused("the server changed the SessionId during SESSION_SETUP"));
            }
            self.channel.session_id = sid;
            let body = SessionSetupResponse::parse(resp.bytes())?;
            let done = status == NtStatus::SUCCESS;
            if !done {
                if let Some(p) = preauth.as_deref_mut() {
                    p.add(resp.bytes());
                }
            }
            if body.session_flags & (session_flags::IS_GUEST | session_flags::IS_NULL) != 0 {
                return Err(Error::Refused("the server made this a guest or anonymous session"));
            }
            match authenticator.step(body.security_buffer, done, &spn, rng)? {
                Step::Send(next) => token = next,
                Step::Done(key) if done => return Ok((key, resp)),
                Step::Done(_) => return Err(Error::Refused("authentication finished before the server agreed")),
            }
        }
    }

    /// Before a request: a fresh ticket and reauthentication when the session's is near its
    /// end. A renewal that fails or gives nothing fresher is not an error yet: the session
    /// goes on until the server says it expired.
    async fn keep_fresh(&mut self) -> Result<(), Error> {
        let now = unix_now();
        if now < self.renew_after || self.channel.credits() == 0 || !self.auth.due_for_renewal(now) {
            return Ok(());
        }
        let Some(renew) = self.renew.as_mut() else { return Ok(()) };
        match renew.renew(&self.auth).await {
            Ok(auth) if auth.expires_at() > self.auth.expires_at() => {
                self.reauthenticate(auth).await?;
                self.renew_after = 0;
            }
            failed => {
                // The session goes on until it really ends; try again in a while.
                self.renew_after = now + RENEW_RETRY;
                self.renewal_failure = Some(match failed {
                    Err(e) => e,
                    Ok(_) => "the new credential ends no later than the current one".into(),
                });
            }
        }
        Ok(())
    }

    /// Why the last renewal ahead of the session's end failed, once (for a long-running
    /// caller's log); the session keeps being used until the server ends it.
    pub fn renewal_failure(&mut self) -> Option<String> {
        self.renewal_failure.take()
    }

    /// After a NETWORK_SESSION_EXPIRED answer: whether the request may go again, the session
    /// having been reauthenticated since it was sent (now, or by an earlier answer).
    ///
    /// # Errors
    /// [`Error::Renewal`] when no fresh credential could be had; the reauthentication's.
    pub(crate) async fn recover_expired(&mut self, resp: &Received) -> Result<bool, Error> {
        if resp.generation != self.generation {
            return Ok(true);
        }
        let Some(renew) = self.renew.as_mut() else { return Ok(false) };
        let auth = renew.renew(&self.auth).await.map_err(Error::Renewal)?;
        if auth.expires_at().is_some_and(|end| end <= unix_now()) {
            return Ok(false);
        }
        self.reauthenticate(auth).await?;
        self.renew_after = 0;
        Ok(true)
    }

    fn install_keys(&mut self, gss_key: &[u8], preauth: &Preauth) -> Result<(), Error> {
        let n = &self.negotiated;
        let (signing_key, sealing) = match n.dialect {
            Dialect::SMB_202 | Dialect::SMB_21 => (SigningKey::smb2(gss_key), None),
            d => {
                let derivation = if d == Dialect::SMB_311 {
                    Derivation::Smb311 { preauth_hash: &preauth.0 }
                } else {
                    Derivation::Smb30
                };
                let keys = SessionKeys::derive(gss_key, derivation, n.cipher);
                let sealing = match n.cipher {
                    Some(c) => {
                        let mut prefix = [0u8; 4];
                        OsRandom.fill(&mut prefix)?;
                        Some(Sealing {
                            encrypt: Aead::new(c, &keys.encryption)?,
                            decrypt: Aead::new(c, &keys.decryption)?,
                            nonce_prefix: prefix,
                            nonce_counter: 0,
                        })
                    }
                    None => None,
                };
                (keys.signing.clone(), sealing)
            }
        };
        self.channel.signer = Some(Signer::new(n.signing, &signing_key));
        self.channel.sealing = sealing;
        Ok(())
    }

    fn require_encryption(&mut self) -> Result<(), Error> {
        if self.channel.sealing.is_none() {
            return Err(Error::Refused("encryption is required but this dialect or server cannot encrypt"));
        }
        self.channel.encrypt_all = true;
        Ok(())
    }

    /// Connects to a share (`share` is its name).
    ///
    /// # Errors
    /// [`Error::Status`] with BAD_NETWORK_NAME for a share that does not exist, and the like.
    pub async fn tree_connect(&mut self, share: &str) -> Result<Tree<'_>, Error> {
        let id = self.connect_tree(share).await?;
        Ok(Tree::new(self, id, share))
    }

    /// A share connected earlier ([`Tree::id`]) on this connection, for a caller that keeps
    /// the connection and the tree id apart (a mounted file system).
    pub fn tree(&mut self, id: u32, share: &str) -> Tree<'_> {
        Tree::new(self, id, share)
    }

    /// TREE_CONNECT (and negotiation validation on the first): the TreeId.
    pub(crate) async fn connect_tree(&mut self, share: &str) -> Result<u32, Error> {
        let req =
            TreeConnectRequest { flags: 0, path: format!("\\\\{}\\{share}", self.options.host), contexts: vec![] };
        let resp = self.request(0, &req, 0).await?;
        check_status(&resp, Command::TREE_CONNECT)?;
        let body = TreeConnectResponse::parse(resp.bytes())?;
        if body.share_flags & share_flags::ENCRYPT_DATA != 0 {
            self.require_encryption()?;
        }
        // The sync header keeps TreeId in the upper half of the AsyncId/Reserved+TreeId word.
        let tree_id = (resp.header.async_or_tree >> 32) as u32;
        if !self.validated {
            self.validate_negotiate(tree_id).await?;
        }
        Ok(tree_id)
    }

    /// FSCTL_VALIDATE_NEGOTIATE_INFO (3.0 and 3.0.2; 3.1.1 has the preauth hash instead): the
    /// server repeats, under the session's signature, what it negotiated, so a man in the
    /// middle who rewrote the NEGOTIATE exchange (to a weaker dialect, say) is caught.
    async fn validate_negotiate(&mut self, tree_id: u32) -> Result<(), Error> {
        if !matches!(self.negotiated.dialect, Dialect::SMB_30 | Dialect::SMB_302) {
            self.validated = true;
            return Ok(());
        }
        let input = self.offered.to_bytes()?;
        let req = IoctlRequest {
            ctl_code: ctl_code::VALIDATE_NEGOTIATE_INFO,
            file_id: [0xff; 16],
            max_output_response: 24,
            flags: IOCTL_IS_FSCTL,
            input: &input,
            ..Default::default()
        };
        let resp = self.request(tree_id, &req, input.len()).await?;
        match resp.header.status {
            NtStatus::SUCCESS => {}
            // 3.2.5.14.12: only ACCESS_DENIED (or an unprotected answer, which the channel
            // already refuses) ends the connection; older servers answer a signed
            // NOT_SUPPORTED, and the negotiation then stays unvalidated.
            NtStatus::ACCESS_DENIED => {
                return Err(Error::Refused(
                    "the server refused to validate the negotiation (FSCTL_VALIDATE_NEGOTIATE_INFO)",
                ));
            }
            _ => return Ok(()),
        }
        let got = ValidateNegotiateResponse::parse(IoctlResponse::parse(resp.bytes())?.output)?;
        let n = &self.negotiated;
        let expected = ValidateNegotiateResponse {
            capabilities: n.capabilities,
            guid: n.server_guid,
            security_mode: n.security_mode,
            dialect: n.dialect,
        };
        if got != expected {
            return Err(Error::Refused("the negotiation was tampered with (validate negotiate info differs)"));
        }
        self.validated = true;
        Ok(())
    }

    /// Sends one request on tree `tree_id` (charged for `payload` bytes) and returns its answer.
    ///
    /// # Errors
    /// I/O, timeout, integrity and wire errors (a status is the caller's to judge).
    pub async fn request<'a, M: Message<'a>>(
        &mut self,
        tree_id: u32,
        body: &M,
        payload: usize,
    ) -> Result<Received, Error> {
        let id = self.send(tree_id, body, payload).await?;
        let resp = self.answer(id).await?;
        if resp.header.status == NtStatus::NETWORK_SESSION_EXPIRED && self.recover_expired(&resp).await? {
            let id = self.send(tree_id, body, payload).await?;
            return self.answer(id).await;
        }
        Ok(resp)
    }

    /// Sends one request without waiting; returns its message id. Answers come from
    /// [`Connection::receive`], in whatever order the server sends them.
    ///
    /// # Errors
    /// No credits left, or an I/O error.
    pub async fn send<'a, M: Message<'a>>(&mut self, tree_id: u32, body: &M, payload: usize) -> Result<u64, Error> {
        let charge = self.channel.charge_for(payload);
        let header = self.channel.next_header(M::COMMAND, tree_id, charge)?;
        self.send_encoded(body.to_vec(&header)?).await?;
        Ok(header.message_id)
    }

    /// The header of the next request (message id and credits taken), for a compound.
    pub(crate) fn header(&mut self, command: Command, tree_id: u32, payload: usize) -> Result<HeaderFields, Error> {
        let charge = self.channel.charge_for(payload);
        self.channel.next_header(command, tree_id, charge)
    }

    /// The most payload bytes (up to `chunk`) the credits at hand pay for in one request; 0 when
    /// none are left until answers bring more.
    pub(crate) fn affordable(&self, chunk: usize) -> usize {
        let credits = self.channel.credits() as usize;
        if self.channel.multi_credit {
            chunk.min(credits * crate::CREDIT_UNIT)
        } else if credits > 0 {
            chunk.min(crate::CREDIT_UNIT)
        } else {
            0
        }
    }

    /// Credits available for more requests in flight.
    pub fn credits(&self) -> u32 {
        self.channel.credits()
    }

    /// Sends messages as one compound (their headers made with [`Connection::header`]),
    /// reauthenticating first if the session's ticket is near its end.
    pub(crate) async fn send_chain(&mut self, messages: Vec<Vec<u8>>) -> Result<(), Error> {
        self.keep_fresh().await?;
        self.transmit(messages).await
    }

    async fn transmit(&mut self, messages: Vec<Vec<u8>>) -> Result<(), Error> {
        if self.broken {
            return Err(Error::Refused("the connection was dropped after an earlier failure"));
        }
        for m in &messages {
            let h = Header::parse(m)?;
            if h.command() != Command::CANCEL {
                let internal = h.command() == Command::OPLOCK_BREAK;
                let o = Outstanding { command: h.command(), async_id: None, generation: self.generation, internal };
                self.outstanding.insert(h.message_id(), o);
            }
        }
        let result = self.write_chain(messages).await;
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    async fn write_chain(&mut self, messages: Vec<Vec<u8>>) -> Result<(), Error> {
        let sealed = self.channel.seal(messages)?;
        if self.options.record {
            let mut payload = sealed.head[4..].to_vec();
            payload.extend_from_slice(&sealed.body);
            self.transcript.push((true, payload));
        }
        // Head and body in one vectored write (one segment for small messages, no copy).
        let (mut head, mut body) = (&sealed.head[..], &sealed.body[..]);
        while !head.is_empty() || !body.is_empty() {
            let slices = [std::io::IoSlice::new(head), std::io::IoSlice::new(body)];
            // A server that stops reading must not hang us: each write has the answer timeout.
            let n = tokio::time::timeout(self.options.timeout, self.stream.write_vectored(&slices))
                .await
                .map_err(|_| Error::Timeout("sending to the SMB server (it stopped reading)"))?
                .map_err(|source| Error::Io { doing: "sending to the SMB server", source })?;
            if n == 0 {
                return Err(Error::Io {
                    doing: "sending to the SMB server",
                    source: std::io::ErrorKind::WriteZero.into(),
                });
            }
            let from_head = n.min(head.len());
            head = &head[from_head..];
            body = &body[n - from_head..];
        }
        Ok(())
    }

    /// Sends a message already encoded with a header from [`Connection::header`].
    pub(crate) async fn send_encoded(&mut self, message: Vec<u8>) -> Result<(), Error> {
        self.send_chain(vec![message]).await
    }

    /// Waits for the next final response (interim STATUS_PENDING answers and break
    /// notifications are passed over).
    ///
    /// # Errors
    /// I/O, timeout, integrity and wire errors.
    pub async fn receive(&mut self) -> Result<Received, Error> {
        loop {
            if let Some(r) = self.pending.pop_front() {
                return Ok(r);
            }
            self.read_one().await?;
        }
    }

    /// Reads one frame and files what it holds: final answers into `pending`, AsyncIds of
    /// interim answers into `outstanding`; break notifications are passed over. A failure
    /// marks the connection broken.
    async fn read_one(&mut self) -> Result<(), Error> {
        if self.broken {
            return Err(Error::Refused("the connection was dropped after an earlier failure"));
        }
        let result = self.read_and_file().await;
        if result.is_err() {
            self.broken = true;
        }
        result
    }

    async fn read_and_file(&mut self) -> Result<(), Error> {
        let payload = tokio::time::timeout(self.options.timeout, self.read_frame())
            .await
            .map_err(|_| Error::Timeout("waiting for an SMB response"))??;
        if self.options.record {
            self.transcript.push((false, payload.clone()));
        }
        for mut received in self.channel.open(payload)? {
            let h = &received.header;
            if h.message_id == u64::MAX {
                self.acknowledge_break(&received).await?;
                continue;
            }
            let Some(o) = self.outstanding.get_mut(&h.message_id) else {
                return Err(Error::Refused("a response to a request keyless did not send"));
            };
            if o.command != h.command {
                return Err(Error::Refused("a response whose command differs from its request's"));
            }
            if h.status == NtStatus::PENDING && h.flags & keyless_smb::header::flags::ASYNC_COMMAND != 0 {
                o.async_id = Some(h.async_or_tree); // interim: the final answer follows
                continue;
            }
            received.generation = o.generation;
            let internal = o.internal;
            self.outstanding.remove(&h.message_id);
            if !internal {
                self.pending.push_back(received);
            }
        }
        Ok(())
    }

    /// A lease break: the server wants a lease given up (another client opened the file).
    /// keyless caches nothing under a lease, so it agrees at once to the state offered.
    async fn acknowledge_break(&mut self, notice: &Received) -> Result<(), Error> {
        use keyless_smb::oplock::{Break, LeaseBreakAck};
        let Break::LeaseNotification(n) = Break::parse(notice.bytes())? else { return Ok(()) };
        let Some(&tree_id) = self.leases.get(&n.lease_key) else { return Ok(()) };
        if n.flags & 1 == 0 {
            return Ok(()); // no acknowledgment wanted
        }
        let header = self.channel.next_header(Command::OPLOCK_BREAK, tree_id, 0)?;
        let ack = LeaseBreakAck { flags: 0, lease_key: n.lease_key, state: n.new_state };
        self.transmit(vec![ack.to_vec(&header)?]).await
    }

    /// Notes a lease held on an open of tree `tree_id` (so its breaks are acknowledged).
    pub(crate) fn hold_lease(&mut self, key: [u8; 16], tree_id: u32) {
        self.leases.insert(key, tree_id);
    }

    /// Forgets a lease (its open is closed).
    pub(crate) fn drop_lease(&mut self, key: &[u8; 16]) {
        self.leases.remove(key);
    }

    /// Waits until request `message_id` has gone asynchronous (so a CANCEL can name its
    /// AsyncId) or has been answered.
    pub(crate) async fn wait_interim(&mut self, message_id: u64) -> Result<(), Error> {
        loop {
            match self.outstanding.get(&message_id) {
                Some(Outstanding { async_id: None, .. }) => self.read_one().await?,
                _ => return Ok(()),
            }
        }
    }

    /// Sends one encoded message and waits for its answer (NEGOTIATE and SESSION_SETUP).
    async fn exchange(&mut self, message: Vec<u8>) -> Result<Received, Error> {
        let id = Header::parse(&message)?.message_id();
        self.transmit(vec![message]).await?;
        self.answer(id).await
    }

    /// The answer to request `id`; answers to others in flight stay for [`Connection::receive`].
    async fn answer(&mut self, id: u64) -> Result<Received, Error> {
        loop {
            let at = self.pending.iter().position(|r| r.header.message_id == id);
            if let Some(found) = at.and_then(|at| self.pending.remove(at)) {
                return Ok(found);
            }
            self.read_one().await?;
        }
    }

    /// The largest frame a well-behaved server sends us: the negotiated maxima plus headers
    /// (1 MiB before NEGOTIATE says more).
    fn max_frame(&self) -> usize {
        let n = &self.negotiated;
        let most = n.max_read.max(n.max_write).max(n.max_transact) as usize;
        most.max(1 << 20) + 65_536
    }

    async fn read_frame(&mut self) -> Result<Vec<u8>, Error> {
        let mut head = [0u8; 4];
        self.stream
            .read_exact(&mut head)
            .await
            .map_err(|source| Error::Io { doing: "reading from the SMB server", source })?;
        let len = framing::payload_length(&head)?;
        if len > self.max_frame() {
            return Err(Error::Refused("the server announced a frame larger than anything negotiated"));
        }
        // Read into spare capacity (no zeroing of a megabyte per response first).
        let mut payload = Vec::with_capacity(len);
        let got = (&mut self.stream)
            .take(len as u64)
            .read_to_end(&mut payload)
            .await
            .map_err(|source| Error::Io { doing: "reading from the SMB server", source })?;
        if got < len {
            return Err(Error::Io {
                doing: "reading from the SMB server",
                source: std::io::ErrorKind::UnexpectedEof.into(),
            });
        }
        Ok(payload)
    }

    /// CANCEL for a request still in flight (one sent with [`Connection::send`]); its answer
    /// then comes with STATUS_CANCELLED, or as usual if it had already finished. A CANCEL has
    /// no answer of its own and spends no credit.
    ///
    /// # Errors
    /// An I/O error.
    pub async fn cancel(&mut self, message_id: u64) -> Result<(), Error> {
        let mut header = HeaderFields {
            credit_charge: 0,
            credits: 0,
            ..HeaderFields::request(Command::CANCEL, message_id, self.channel.session_id, 0)
        };
        // A request that went asynchronous is named by its AsyncId (2.2.1).
        if let Some(Outstanding { async_id: Some(async_id), .. }) = self.outstanding.get(&message_id) {
            header.flags |= keyless_smb::header::flags::ASYNC_COMMAND;
            header.async_or_tree = *async_id;
        }
        let msg = keyless_smb::control::Cancel.to_vec(&header)?;
        self.send_encoded(msg).await
    }

    /// ECHO: proves the server and the connection are alive (a keep-alive for idle sessions).
    ///
    /// # Errors
    /// I/O, timeout, integrity errors.
    pub async fn echo(&mut self) -> Result<(), Error> {
        let resp = self.request(0, &keyless_smb::control::Echo, 0).await?;
        check_status(&resp, Command::ECHO)
    }

    /// Logs off and closes the connection.
    ///
    /// # Errors
    /// An I/O error on the way out.
    pub async fn logoff(mut self) -> Result<(), Error> {
        let resp = self.request(0, &keyless_smb::control::Logoff, 0).await?;
        check_status(&resp, Command::LOGOFF)?;
        let _ = self.stream.shutdown().await;
        Ok(())
    }
}

/// [`Error::Status`] unless the response says SUCCESS.
pub(crate) fn check_status(resp: &Received, command: Command) -> Result<(), Error> {
    match resp.header.status {
        NtStatus::SUCCESS => Ok(()),
        status => Err(Error::Status { command, status }),
    }
}
