//! The async driver: a TCP connection to one server, negotiated, with one authenticated session.
//! Requests go out one at a time and wait for their answer (pipelining is still to come).

use crate::auth::{Auth, Authenticator, Step};
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
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

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

/// An authenticated connection.
pub struct Connection {
    stream: TcpStream,
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
    /// Requests awaiting their answer: MessageId → (command, AsyncId once an interim answer
    /// gave one). A response to anything else is refused.
    outstanding: std::collections::HashMap<u64, (Command, Option<u64>)>,
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
        let stream = tokio::time::timeout(options.timeout, TcpStream::connect(addr))
            .await
            .map_err(|_| Error::Timeout("TCP connect"))?
            .map_err(|source| Error::Io { doing: "connecting to the SMB server", source })?;
        let _ = stream.set_nodelay(true);
        let mut rng = OsRandom;
        let mut conn = Self {
            stream,
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
            broken: false,
        };
        let preauth = conn.negotiate(&mut rng).await?;
        conn.session_setup(auth, preauth, &mut rng).await?;
        Ok(conn)
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
        let (mut guid, mut salt) = ([0u8; 16], [0u8; 32]);
        rng.fill(&mut guid)?;
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

    async fn session_setup(
        &mut self,
        auth: &Auth,
        mut preauth: Preauth,
        rng: &mut dyn RandomSource,
    ) -> Result<(), Error> {
        let spn = format!("cifs/{}", self.options.host);
        let (mut authenticator, mut token) = Authenticator::start(auth, rng)?;
        let (key, last) = loop {
            let req = SessionSetupRequest {
                // keyless requires signing (3.2.4.2.3): say so, so the server signs too.
                security_mode: (keyless_smb::negotiate::security_mode::SIGNING_ENABLED
                    | keyless_smb::negotiate::security_mode::SIGNING_REQUIRED) as u8,
                security_buffer: &token,
                ..Default::default()
            };
            let header = self.channel.next_header(Command::SESSION_SETUP, 0, 1)?;
            let msg = req.to_vec(&header)?;
            preauth.add(&msg);
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
                preauth.add(resp.bytes());
            }
            if body.session_flags & (session_flags::IS_GUEST | session_flags::IS_NULL) != 0 {
                return Err(Error::Refused("the server made this a guest or anonymous session"));
            }
            match authenticator.step(body.security_buffer, done, &spn, rng)? {
                Step::Send(next) => token = next,
                Step::Done(key) if done => break (key, resp),
                Step::Done(_) => return Err(Error::Refused("authentication finished before the server agreed")),
            }
        };
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
        Ok(Tree::new(self, tree_id))
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
        self.answer(id).await
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

    /// Sends messages as one compound (their headers made with [`Connection::header`]).
    pub(crate) async fn send_chain(&mut self, messages: Vec<Vec<u8>>) -> Result<(), Error> {
        if self.broken {
            return Err(Error::Refused("the connection was dropped after an earlier failure"));
        }
        for m in &messages {
            let h = Header::parse(m)?;
            if h.command() != Command::CANCEL {
                self.outstanding.insert(h.message_id(), (h.command(), None));
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
        for received in self.channel.open(payload)? {
            let h = &received.header;
            if h.message_id == u64::MAX {
                continue; // an oplock or lease break; keyless asks for none
            }
            let Some((command, async_id)) = self.outstanding.get_mut(&h.message_id) else {
                return Err(Error::Refused("a response to a request keyless did not send"));
            };
            if *command != h.command {
                return Err(Error::Refused("a response whose command differs from its request's"));
            }
            if h.status == NtStatus::PENDING && h.flags & keyless_smb::header::flags::ASYNC_COMMAND != 0 {
                *async_id = Some(h.async_or_tree); // interim: the final answer follows
                continue;
            }
            self.outstanding.remove(&h.message_id);
            self.pending.push_back(received);
        }
        Ok(())
    }

    /// Waits until request `message_id` has gone asynchronous (so a CANCEL can name its
    /// AsyncId) or has been answered.
    pub(crate) async fn wait_interim(&mut self, message_id: u64) -> Result<(), Error> {
        loop {
            match self.outstanding.get(&message_id) {
                None | Some((_, Some(_))) => return Ok(()),
                Some((_, None)) => self.read_one().await?,
            }
        }
    }

    /// Sends one encoded message and waits for its answer (NEGOTIATE and SESSION_SETUP).
    async fn exchange(&mut self, message: Vec<u8>) -> Result<Received, Error> {
        let id = Header::parse(&message)?.message_id();
        self.send_encoded(message).await?;
        self.answer(id).await
    }

    /// The next answer, which must be to request `id` (nothing else is in flight).
    async fn answer(&mut self, id: u64) -> Result<Received, Error> {
        let received = self.receive().await?;
        if received.header.message_id != id {
            return Err(Error::Refused("a response to a request keyless did not send"));
        }
        Ok(received)
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
        if let Some((_, Some(async_id))) = self.outstanding.get(&message_id) {
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
