//! A recorded SMB session played back against the sans-IO core, the recording playing the
//! server (hidden from the docs: for the transcript tests and the fuzz target).
//!
//! The recording is a client's session with smbd and the user's NTLM password. Its requests
//! after the handshake are submitted to the core as a caller would; every frame the core sends
//! is matched to the recorded one in the same place, and the recorded answers go back to the
//! core with the core's MessageIds, signed and sealed with the core's own session keys (the
//! player derives them as smbd would: it checks the core's AUTHENTICATE against the password
//! and follows the preauth hash). The GSS token of the last SESSION_SETUP answer is the only
//! recorded byte that cannot be played as it was: its mechListMIC belongs to the recorded
//! client's NTLM session, so the player makes its own.

use crate::auth::Auth;
use crate::proto::{Config, Connection, Event, Frame, Now, Request, Slot, Target, TreeSlot};
use keyless_crypto::{Aead, Cipher, KeySchedule, PreauthHash, SessionCrypto, SigningAlgorithm};
use keyless_gss::spnego::NtlmAcceptor;
use keyless_krb::RandomSource;
use keyless_smb::header::Header;
use keyless_smb::negotiate::NegotiateResponse;
use keyless_smb::session_setup::{SessionSetupRequest, SessionSetupResponse};
use keyless_smb::transform::{TRANSFORM_FLAG_ENCRYPTED, TRANSFORM_LEN, TRANSFORM_PROTOCOL_ID, TransformHeader};
use keyless_smb::tree_connect::TreeConnectRequest;
use keyless_smb::{Command, Message, NtStatus, compound, framing};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};

/// Randomness for reproducible runs: a xorshift stream from a seed. Not for real use.
pub struct Seeded(pub u64);

impl RandomSource for Seeded {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), keyless_krb::Error> {
        for b in buf {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            *b = (self.0 >> 24) as u8;
        }
        Ok(())
    }
}

/// One recorded frame in clear: its messages, and whether it came encrypted.
#[derive(Debug, Clone)]
pub struct PlainFrame {
    /// Sent by the client.
    pub to_server: bool,
    /// It was a TRANSFORM.
    pub encrypted: bool,
    /// Its messages, in clear.
    pub messages: Vec<Vec<u8>>,
}

/// The session key schedule of one NTLM session of a recording.
struct Keys {
    dialect: u16,
    cipher: Option<Cipher>,
    signing: SigningAlgorithm,
    preauth: PreauthHash,
    /// The SPNEGO tokens of the legs: the initiator's first, the acceptor's CHALLENGE.
    init: Option<Vec<u8>>,
    challenge: Option<Vec<u8>>,
    crypto: Option<SessionCrypto>,
}

impl Keys {
    fn new() -> Self {
        Self {
            dialect: 0,
            cipher: None,
            signing: SigningAlgorithm::HmacSha256,
            preauth: PreauthHash::default(),
            init: None,
            challenge: None,
            crypto: None,
        }
    }

    /// Follows one message of the handshake (`to_server` for requests); on the final
    /// SESSION_SETUP request the session key is found from the password.
    fn follow(&mut self, message: &[u8], password: &str) -> Result<Option<Vec<u8>>, String> {
        let h = Header::parse(message).map_err(|e| e.to_string())?;
        match (h.command(), h.is_response()) {
            (Command::NEGOTIATE, false) => {
                self.preauth = PreauthHash::default();
                self.preauth.add(message);
            }
            (Command::NEGOTIATE, true) => {
                self.preauth.add(message);
                let n = NegotiateResponse::parse(message).map_err(|e| e.to_string())?;
                let settled = n.settled().map_err(|e| e.to_string())?;
                self.dialect = n.dialect.0;
                self.cipher = settled.cipher.and_then(Cipher::from_id);
                self.signing = SigningAlgorithm::from_id(settled.signing).ok_or("unknown signing algorithm")?;
            }
            (Command::SESSION_SETUP, false) if self.crypto.is_none() => {
                self.preauth.add(message);
                let token = SessionSetupRequest::parse(message).map_err(|e| e.to_string())?.security_buffer.to_vec();
                if self.init.is_none() {
                    self.init = Some(token);
                } else {
                    return self.authenticate(&token, password).map(Some);
                }
            }
            (Command::SESSION_SETUP, true)
                if self.crypto.is_none() && h.status() == NtStatus::MORE_PROCESSING_REQUIRED =>
            {
                self.preauth.add(message);
                let token = SessionSetupResponse::parse(message).map_err(|e| e.to_string())?.security_buffer;
                self.challenge = Some(token.to_vec());
            }
            _ => {}
        }
        Ok(None)
    }

    /// Checks AUTHENTICATE as smbd would; installs the session's keys; the acceptor's final
    /// SPNEGO token.
    fn authenticate(&mut self, token: &[u8], password: &str) -> Result<Vec<u8>, String> {
        let (Some(init), Some(challenge)) = (&self.init, &self.challenge) else {
            return Err("AUTHENTICATE before NEGOTIATE and CHALLENGE".into());
        };
        let acceptor = NtlmAcceptor::resume(init, challenge).map_err(|e| e.to_string())?;
        let (_, context, answer) =
            acceptor.finish(token, |_, _| Some(password.as_bytes().to_vec())).map_err(|e| e.to_string())?;
        let keys = KeySchedule::for_dialect(self.dialect, &self.preauth)
            .derive(context.session_key().expose_bytes(), self.cipher);
        self.crypto = Some(SessionCrypto::new(&keys, self.cipher, self.signing).map_err(|e| e.to_string())?);
        Ok(answer)
    }

    /// Opens a frame sealed with this session's keys (`to_server`: the client's key).
    fn open(&self, frame: &[u8], to_server: bool) -> Result<Vec<u8>, String> {
        if !frame.starts_with(&TRANSFORM_PROTOCOL_ID) {
            return Ok(frame.to_vec());
        }
        let c = self.crypto.as_ref().ok_or("an encrypted frame before the session's keys")?;
        let aead = if to_server { &c.encrypt } else { &c.decrypt };
        let aead = aead.as_ref().ok_or("an encrypted frame and no cipher")?;
        let (th, ciphertext) = TransformHeader::parse(frame).map_err(|e| e.to_string())?;
        let mut plain = ciphertext.to_vec();
        let aad = TransformHeader::aad(frame).unwrap_or_default();
        aead.open_in_place(&th.nonce[..aead.cipher().nonce_len()], aad, &mut plain, &th.signature)
            .map_err(|e| e.to_string())?;
        Ok(plain)
    }
}

fn split(frame: &[u8]) -> Result<Vec<Vec<u8>>, String> {
    compound::messages(frame).map(|m| m.map(<[u8]>::to_vec).map_err(|e| e.to_string())).collect()
}

/// A recording's frames (Direct TCP payloads, `true` for the client's) in clear, opened with
/// the keys `password` gives its NTLM session.
///
/// # Errors
/// A frame that does not open, or an exchange that does not follow.
pub fn open_recording(frames: &[(bool, Vec<u8>)], password: &str) -> Result<Vec<PlainFrame>, String> {
    let mut keys = Keys::new();
    let mut out = Vec::with_capacity(frames.len());
    for (to_server, payload) in frames {
        let encrypted = payload.starts_with(&TRANSFORM_PROTOCOL_ID);
        let messages = split(&keys.open(payload, *to_server)?)?;
        for m in &messages {
            keys.follow(m, password)?;
        }
        out.push(PlainFrame { to_server: *to_server, encrypted, messages });
    }
    Ok(out)
}

/// What the core did with a recording.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Every frame the core sent, as on the wire.
    pub sent: Vec<Vec<u8>>,
    /// Each request's command and the status of its answer, in order.
    pub answers: Vec<(Command, NtStatus)>,
    /// Why anything failed (a request, or the connection).
    pub failures: Vec<String>,
    /// The last frame played to the core, as on the wire.
    pub last_answer: Option<Vec<u8>>,
}

/// Plays a recorded session to the core as the server.
pub struct Player {
    recording: Vec<PlainFrame>,
    password: String,
    /// The next recorded client frame to match.
    next: usize,
    /// The recorded answers already played, by frame index.
    played: Vec<bool>,
    keys: Keys,
    /// Nonces for what the player seals.
    nonce: u64,
}

/// The core's frame, as sent.
fn wire(frame: &Frame) -> Vec<u8> {
    [&frame.head[..], &frame.body[..]].concat()
}

impl Player {
    /// A player of `recording` (from [`open_recording`]) for a client knowing `password`.
    pub fn new(recording: Vec<PlainFrame>, password: &str) -> Self {
        let played = vec![false; recording.len()];
        Self { recording, password: password.to_string(), next: 0, played, keys: Keys::new(), nonce: 0 }
    }

    /// The recorded client frames after the session was set up (what a caller asks for).
    fn requests(&self) -> Vec<PlainFrame> {
        self.recording
            .iter()
            .filter(|f| f.to_server)
            .skip_while(|f| {
                let first = f.messages.first().and_then(|m| Header::parse(m).ok());
                first.is_some_and(|h| matches!(h.command(), Command::NEGOTIATE | Command::SESSION_SETUP))
            })
            .cloned()
            .collect()
    }

    /// The answers to one frame the core sent (the recorded ones to the recorded frame in the
    /// same place), as the core is to read them.
    ///
    /// # Errors
    /// The core sent something else than the recording has there.
    pub fn answer(&mut self, frame: &Frame) -> Result<Vec<Vec<u8>>, String> {
        let payload = &wire(frame)[4..];
        // An encrypted request is answered encrypted (the recorded client sent some requests,
        // an ECHO, outside its session, and smbd answered those in clear).
        let sealed = payload.starts_with(&TRANSFORM_PROTOCOL_ID);
        let ours = split(&self.keys.open(payload, true)?)?;
        let (k, recorded) = self
            .recording
            .iter()
            .enumerate()
            .filter(|(_, f)| f.to_server)
            .nth(self.next)
            .map(|(k, f)| (k, f.clone()))
            .ok_or("the core sent more than the recording holds")?;
        self.next += 1;
        if ours.len() != recorded.messages.len() {
            return Err(format!(
                "the core sent {} messages where the recording has {}",
                ours.len(),
                recorded.messages.len()
            ));
        }
        let mut ids = HashMap::new();
        let mut final_token = None;
        for (o, r) in ours.iter().zip(&recorded.messages) {
            let (oh, rh) = (Header::parse(o).map_err(|e| e.to_string())?, Header::parse(r).map_err(|e| e.to_string())?);
            if oh.command() != rh.command() {
                return Err(format!("the core sent {} where the recording has {}", oh.command(), rh.command()));
            }
            ids.insert(rh.message_id(), oh.message_id());
            if let Some(token) = self.keys.follow(o, &self.password)? {
                final_token = Some(token);
            }
        }
        // Every recorded server frame answering those, in order (interim answers included).
        let mut out = Vec::new();
        for i in k + 1..self.recording.len() {
            let f = &self.recording[i];
            let answers = !f.to_server
                && !self.played[i]
                && f.messages.iter().any(|m| Header::parse(m).is_ok_and(|h| ids.contains_key(&h.message_id())));
            if !answers {
                continue;
            }
            self.played[i] = true;
            let f = f.clone();
            let session = ours.first().and_then(|m| Header::parse(m).ok()).map_or(0, |h| h.session_id());
            out.push(self.replay(&f, &ids, final_token.as_deref(), sealed.then_some(session))?);
        }
        Ok(out)
    }

    /// A recorded server frame with the core's ids, protected with the core's keys.
    fn replay(
        &mut self,
        f: &PlainFrame,
        ids: &HashMap<u64, u64>,
        final_token: Option<&[u8]>,
        sealed: Option<u64>,
    ) -> Result<Vec<u8>, String> {
        let encrypt = f.encrypted || sealed.is_some();
        let mut messages = Vec::with_capacity(f.messages.len());
        for m in &f.messages {
            let h = Header::parse(m).map_err(|e| e.to_string())?;
            let mut fields = h.fields();
            fields.message_id = *ids.get(&h.message_id()).unwrap_or(&h.message_id());
            fields.signature = [0; 16];
            let mut message = match (h.command(), final_token) {
                (Command::SESSION_SETUP, Some(token)) if h.status() == NtStatus::SUCCESS => {
                    let body = SessionSetupResponse::parse(m).map_err(|e| e.to_string())?;
                    SessionSetupResponse { session_flags: body.session_flags, security_buffer: token }
                        .to_vec(&fields)
                        .map_err(|e| e.to_string())?
                }
                _ => {
                    let mut message = m.clone();
                    if let Some(raw) = message.first_chunk_mut() {
                        fields.write(raw);
                    }
                    message
                }
            };
            self.keys.follow(&message, &self.password)?;
            // Signed as smbd signs an answer in a session: all but interim answers and breaks
            // (the recorded client sent some requests, an ECHO, with no session at all).
            let interim = h.status() == NtStatus::PENDING && h.is_async();
            let session = fields.session_id != 0 || h.command() == Command::ECHO;
            if let (Some(c), false) = (&self.keys.crypto, encrypt)
                && session
                && !interim
                && h.message_id() != u64::MAX
            {
                c.signer.sign(&mut message).map_err(|e| e.to_string())?;
            }
            messages.push(message);
        }
        let body = messages.concat();
        let payload = if encrypt { self.seal(body, sealed)? } else { body };
        let mut frame = Vec::with_capacity(4 + payload.len());
        framing::write_frame_header(payload.len(), &mut frame).map_err(|e| e.to_string())?;
        frame.extend_from_slice(&payload);
        Ok(frame)
    }

    /// A TRANSFORM of `plain` under the session's server-to-client key, for `session` (else
    /// the one the message names).
    fn seal(&mut self, mut plain: Vec<u8>, session: Option<u64>) -> Result<Vec<u8>, String> {
        let c = self.keys.crypto.as_ref().ok_or("an encrypted answer before the session's keys")?;
        let aead: &Aead = c.decrypt.as_ref().ok_or("an encrypted answer and no cipher")?;
        self.nonce += 1;
        let mut nonce = [0u8; 16];
        nonce[..8].copy_from_slice(&self.nonce.to_le_bytes());
        let named = Header::parse(&plain).map(|h| h.session_id()).map_err(|e| e.to_string())?;
        let session_id = session.unwrap_or(named);
        let mut th = TransformHeader {
            signature: [0; 16],
            nonce,
            original_message_size: plain.len() as u32,
            flags: TRANSFORM_FLAG_ENCRYPTED,
            session_id,
        };
        let mut head = Vec::with_capacity(TRANSFORM_LEN);
        th.encode(&mut head);
        let aad = TransformHeader::aad(&head).unwrap_or_default().to_vec();
        th.signature =
            aead.seal_in_place(&nonce[..aead.cipher().nonce_len()], &aad, &mut plain).map_err(|e| e.to_string())?;
        let mut out = Vec::with_capacity(TRANSFORM_LEN + plain.len());
        th.encode(&mut out);
        out.extend_from_slice(&plain);
        Ok(out)
    }
}

/// A fixed clock: the instant `seconds` after `base`, at a fixed wall time.
fn at(base: Instant, seconds: u64) -> Now {
    Now {
        instant: base + Duration::from_secs(seconds),
        wall: SystemTime::UNIX_EPOCH + Duration::from_secs(1_765_000_000 + seconds),
    }
}

/// Everything the core has to say: frames to the player (its answers fed back), events kept.
fn pump(
    core: &mut Connection,
    player: &mut Player,
    now: Now,
    out: &mut Outcome,
    events: &mut Vec<Event>,
) -> Result<(), String> {
    loop {
        let mut busy = false;
        while let Some(e) = core.poll_event() {
            busy = true;
            match e {
                Event::Connect => core.connected(now),
                Event::Closed(cause) => return Err(format!("the core gave up: {cause}")),
                Event::Notice(n) => out.failures.push(format!("{n:?}")),
                e => events.push(e),
            }
        }
        while let Some(frame) = core.poll_transmit() {
            busy = true;
            out.sent.push(wire(&frame));
            for answer in player.answer(&frame)? {
                core.handle_input(answer[4..].to_vec(), now);
                out.last_answer = Some(answer);
            }
        }
        if !busy {
            return Ok(());
        }
    }
}

/// A core and a player of a recording, the core driven as a caller would drive it.
struct Playback {
    base: Instant,
    core: Connection,
    player: Player,
    /// The recorded client frames after the handshake.
    requests: Vec<PlainFrame>,
    out: Outcome,
    events: Vec<Event>,
    /// The core's shares, by the TreeId the recording gave them.
    trees: HashMap<u32, TreeSlot>,
}

impl Playback {
    /// The core authenticating as `user` with `password` (randomness from `seed`) through the
    /// handshake of a recording played by a server knowing `server_password`.
    fn start(
        recording: Vec<PlainFrame>,
        server_password: &str,
        user: &str,
        password: &str,
        seed: u64,
    ) -> Result<Self, String> {
        let base = Instant::now();
        let player = Player::new(recording, server_password);
        let requests = player.requests();
        let mut config = Config::new("127.0.0.1");
        config.dialects = crate::negotiate::DIALECTS.to_vec();
        config.keepalive = None;
        let auth = Auth::Ntlm { user: user.into(), domain: String::new(), password: password.to_string().into() };
        let core =
            Connection::new(Arc::new(config), auth, Box::new(Seeded(seed)), at(base, 0)).map_err(|e| e.to_string())?;
        let mut playback =
            Self { base, core, player, requests, out: Outcome::default(), events: Vec::new(), trees: HashMap::new() };
        playback.pump(at(base, 0))?;
        Ok(playback)
    }

    fn pump(&mut self, now: Now) -> Result<(), String> {
        pump(&mut self.core, &mut self.player, now, &mut self.out, &mut self.events)
    }

    /// Submits the recorded client frame `i` as one chain and files its answers.
    fn step(&mut self, i: usize) -> Result<(), String> {
        let now = at(self.base, 1 + i as u64);
        let frame = self.requests.get(i).ok_or("no such request")?;
        let mut chain = Vec::with_capacity(frame.messages.len());
        for m in &frame.messages {
            let h = Header::parse(m).map_err(|e| e.to_string())?;
            let request = if h.command() == Command::TREE_CONNECT {
                let path = TreeConnectRequest::parse(m).map_err(|e| e.to_string())?.path;
                let share = path.rsplit('\\').next().unwrap_or_default().to_string();
                Request::tree_connect("127.0.0.1", &share).map_err(|e| e.to_string())?
            } else {
                let target = match h.tree_id().filter(|t| *t != 0) {
                    Some(t) => Target::Tree(*self.trees.get(&t).ok_or(format!("request on unknown tree {t:#x}"))?),
                    None => Target::Session,
                };
                let charge = usize::from(h.credit_charge().max(1));
                Request::encoded(h.command(), m.clone(), target).payload(charge * crate::proto::CREDIT_UNIT)
            };
            chain.push(request);
        }
        let ids = self.core.submit_chain(chain, now);
        self.pump(now)?;
        for id in ids {
            let found = self
                .events
                .iter()
                .position(|e| matches!(e, Event::Response { id: r, .. } | Event::Failed { id: r, .. } if *r == id));
            match found.map(|p| self.events.remove(p)) {
                Some(Event::Response { response, slot, .. }) => {
                    if let Some(Slot::Tree(t)) = slot {
                        self.trees.insert(response.header.tree_id(), t);
                    }
                    self.out.answers.push((response.header.command, response.status()));
                }
                Some(Event::Failed { error, .. }) => self.out.failures.push(error.to_string()),
                _ => self.out.failures.push(format!("request {i} was not answered")),
            }
        }
        Ok(())
    }
}

/// Plays `recording` (opened by [`open_recording`]) as a server knowing the user's
/// `server_password` to a core authenticating as `user` with `password`, its randomness from
/// `seed`: the recorded client's requests after the handshake are submitted one frame at a
/// time, as a caller would.
///
/// # Errors
/// The core sent something else than the recording holds, or gave up.
pub fn play(
    recording: Vec<PlainFrame>,
    server_password: &str,
    user: &str,
    password: &str,
    seed: u64,
) -> Result<Outcome, String> {
    let mut playback = Playback::start(recording, server_password, user, password, seed)?;
    for i in 0..playback.requests.len() {
        playback.step(i)?;
    }
    Ok(playback.out)
}

/// A connection lost after `steps` recorded requests, a request submitted while it is down,
/// then the last frame the lost connection carried handed to the core once more, as a reader
/// that had it already would hand it on after the loss was reported. What the core made of
/// that frame: failed requests, or giving up (nothing, when it drops it as it should).
///
/// # Errors
/// The recording could not be played up to `steps`.
pub fn late_frame_after_loss(recording: Vec<PlainFrame>, steps: usize) -> Result<Vec<String>, String> {
    let password = "alice-Passw0rd";
    let mut p = Playback::start(recording, password, "alice", password, 7)?;
    for i in 0..steps {
        p.step(i)?;
    }
    let late = p.out.last_answer.clone().ok_or("nothing was played")?;
    let now = at(p.base, 1000);
    let cut = std::io::Error::from(std::io::ErrorKind::ConnectionReset);
    p.core.connection_lost(crate::Error::Io { doing: "reading from the SMB server", source: cut }, now);
    let echo = Request::new(&keyless_smb::control::Echo, Target::Session).map_err(|e| e.to_string())?;
    p.core.submit(echo, now);
    while p.core.poll_event().is_some() {}
    p.core.handle_input(late[4..].to_vec(), now);
    let mut said = Vec::new();
    while let Some(e) = p.core.poll_event() {
        match e {
            Event::Failed { error, .. } => said.push(format!("a request failed: {error}")),
            Event::Closed(cause) => said.push(format!("the core gave up: {cause}")),
            _ => {}
        }
    }
    Ok(said)
}

/// The fuzz target: the recording played up to the state `input[0]` picks, then the rest of
/// `input` (frames of up to 64 KiB, each prefixed by its 16-bit length) sent as the server,
/// each signed with the session's key when it has one so it reaches what follows the
/// signature check. The core must turn every one into an answer, an error or a reconnection,
/// and never panic.
pub fn hostile_server(recording: &[PlainFrame], input: &[u8]) {
    let Some((&state, mut rest)) = input.split_first() else { return };
    let password = "alice-Passw0rd";
    let Ok(mut p) = Playback::start(recording.to_vec(), password, "alice", password, 7) else { return };
    for i in 0..usize::from(state).min(p.requests.len()) {
        if p.step(i).is_err() {
            break;
        }
    }
    let mut second = 1000;
    while rest.len() >= 2 {
        let len = usize::from(u16::from_le_bytes([rest[0], rest[1]]));
        let (frame, tail) = rest[2..].split_at(len.min(rest.len() - 2));
        rest = tail;
        let mut frame = frame.to_vec();
        if let Some(c) = &p.player.keys.crypto
            && Header::parse(&frame).is_ok()
            && frame.len() >= 64
        {
            let _ = c.signer.sign(&mut frame);
        }
        let now = at(p.base, second);
        p.core.handle_input(frame, now);
        p.core.handle_timeout(now);
        second += 7;
        while p.core.poll_event().is_some() || p.core.poll_transmit().is_some() {}
    }
}
