//! The handshake on each connection, as typed phases (MS-SMB2 3.2.4.2, 3.2.5.2, 3.2.5.3):
//! NEGOTIATE with the 3.1.1 preauth chain, the SESSION_SETUP legs through SPNEGO, the key
//! schedule, then the shares and opens restored before callers' requests go out; and the
//! reauthentication of an established session with a fresh credential (3.2.4.2.3).

use super::channel::Received;
use super::flights::Internal;
use super::negotiate::{self, Negotiated};
use super::{Connection, Event, Notice, Now, Request, SessionInfo, Target};
use crate::error::{Error, Incompatibility, Misbehaviour};
use keyless_crypto::{KeySchedule, PreauthHash, SessionCrypto};
use keyless_gss::spnego::{InitStep as Step, Initiator as Authenticator};
use keyless_smb::header::HeaderFields;
use keyless_smb::ioctl::ValidateNegotiateRequest;
use keyless_smb::negotiate::{NegotiateResponse, caps, security_mode};
use keyless_smb::session_setup::{SessionSetupRequest, SessionSetupResponse, session_flags};
use keyless_smb::{Command, Dialect, Message, NtStatus};
use std::sync::Arc;
use std::time::Instant;
use zeroize::Zeroizing;

/// Where the core is on its current connection.
pub(crate) enum Phase {
    /// No connection; the next attempt at `retry_at`.
    Down { retry_at: Instant },
    /// The driver is opening a TCP connection.
    Dialing,
    /// NEGOTIATE sent.
    Negotiate(Box<ExpectNegotiate>),
    /// Negotiated; the credential has ended and a fresh one is awaited.
    AwaitCredential(Box<PreauthHash>),
    /// SESSION_SETUP legs of a new session.
    SessionSetup(Box<Setup>),
    /// Authenticated; `pending` shares (then, with `opens`, opens) are being restored.
    Restore { pending: usize, opens: bool },
    /// Callers' requests flow.
    Ready,
    /// Given up for good.
    Closed,
}

impl core::fmt::Debug for Phase {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        f.write_str(match self {
            Self::Down { .. } => "Down",
            Self::Dialing => "Dialing",
            Self::Negotiate(_) => "Negotiate",
            Self::AwaitCredential(_) => "AwaitCredential",
            Self::SessionSetup(_) => "SessionSetup",
            Self::Restore { .. } => "Restore",
            Self::Ready => "Ready",
            Self::Closed => "Closed",
        })
    }
}

impl Phase {
    /// When to try connecting again.
    pub(crate) fn retry_at(&self) -> Option<Instant> {
        match self {
            Self::Down { retry_at } => Some(*retry_at),
            _ => None,
        }
    }
}

/// NEGOTIATE was sent: the preauth hash so far and what was offered (for validation).
pub(crate) struct ExpectNegotiate {
    preauth: PreauthHash,
}

/// A session being authenticated: the GSS state and, for a new session, the preauth hash.
pub(crate) struct Setup {
    authenticator: Authenticator,
    preauth: Option<PreauthHash>,
}

impl Connection {
    /// NEGOTIATE on a fresh connection.
    pub(super) fn start_negotiate(&mut self, now: Now) {
        if let Err(e) = self.try_negotiate() {
            self.lose(e, now);
        }
    }

    fn try_negotiate(&mut self) -> Result<(), Error> {
        self.flights.clear_internal();
        let mut salt = [0u8; 32];
        self.rng.fill(&mut salt)?;
        let offered = self.config.dialects.clone();
        let req = negotiate::offer(&offered, self.client_guid, &salt, &self.config.host, self.config.require_signing);
        self.offered = ValidateNegotiateRequest {
            capabilities: req.capabilities,
            guid: self.client_guid,
            security_mode: req.security_mode,
            dialects: offered,
        };
        self.validated = false;
        let request = Request::new(&req, Target::Session)?;
        self.flights.queue_internal(request, Internal::Negotiate);
        self.phase = Phase::Negotiate(Box::new(ExpectNegotiate { preauth: PreauthHash::default() }));
        Ok(())
    }

    /// The NEGOTIATE response: the server's choices checked, then the session.
    pub(super) fn on_negotiate(&mut self, resp: Received, now: Now) -> Result<(), Error> {
        let Phase::Negotiate(mut expect) = std::mem::replace(&mut self.phase, Phase::Dialing) else {
            return Err(Misbehaviour::UnknownResponse.into());
        };
        resp.check()?;
        expect.preauth.add(resp.bytes());
        let n = negotiate::accept(&NegotiateResponse::parse(resp.bytes())?, &self.config.dialects)?;
        self.channel.multi_credit = n.dialect != Dialect::SMB_202 && n.capabilities & caps::LARGE_MTU != 0;
        if self.config.require_encryption && n.cipher.is_none() {
            return Err(Incompatibility::NoEncryption.into());
        }
        // Signed throughout when either side requires it (3.2.5.3.1, Session.SigningRequired).
        self.channel.sign_all = self.config.require_signing || n.security_mode & security_mode::SIGNING_REQUIRED != 0;
        self.negotiated = Some(n);
        self.start_session_setup(expect.preauth, now)
    }

    /// The first leg of a new session, or a wait for a fresh credential when the one at
    /// hand has ended.
    fn start_session_setup(&mut self, preauth: PreauthHash, now: Now) -> Result<(), Error> {
        let ended = self.auth.expires_at().is_some_and(|end| end <= now.wall);
        if ended && self.config.renewable {
            self.phase = Phase::AwaitCredential(Box::new(preauth));
            self.want_credential(true);
            return Ok(());
        }
        let (authenticator, token) = Authenticator::start(self.auth.mechanism(), now.wall, self.rng.as_mut())?;
        let setup = Setup { authenticator, preauth: Some(preauth) };
        self.send_leg(&token, false)?;
        self.phase = Phase::SessionSetup(Box::new(setup));
        Ok(())
    }

    /// A fresh credential came: a session waiting for one starts, an established one is
    /// authenticated again.
    pub(super) fn credential_arrived(&mut self, now: Now) {
        let result = match std::mem::replace(&mut self.phase, Phase::Dialing) {
            Phase::AwaitCredential(preauth) => self.start_session_setup(*preauth, now),
            Phase::Ready => {
                self.phase = Phase::Ready;
                self.start_reauth(now)
            }
            other => {
                self.phase = other;
                Ok(())
            }
        };
        if let Err(e) = result {
            self.lose(e, now);
        }
    }

    /// A reauthentication with the credential at hand (requests in flight go on).
    fn start_reauth(&mut self, now: Now) -> Result<(), Error> {
        if self.reauth.is_some() {
            return Ok(());
        }
        let (authenticator, token) = Authenticator::start(self.auth.mechanism(), now.wall, self.rng.as_mut())?;
        let setup = Setup { authenticator, preauth: None };
        self.send_leg(&token, true)?;
        self.reauth = Some(Box::new(setup));
        Ok(())
    }

    /// Queues one SESSION_SETUP leg carrying `token`; a new session's goes into its hash.
    fn send_leg(&mut self, token: &[u8], reauth: bool) -> Result<(), Error> {
        let previous = if reauth { 0 } else { self.previous_session };
        let body = SessionSetupRequest {
            security_mode: negotiate::signing_mode(self.config.require_signing) as u8,
            previous_session_id: previous,
            security_buffer: token,
            ..Default::default()
        };
        let request = Request::new(&body, Target::Session)?;
        let internal = if reauth { Internal::Reauth } else { Internal::SessionSetup };
        // A new session's hash takes the request as sent: see `hash_sent_leg`.
        self.flights.queue_internal(request, internal);
        Ok(())
    }

    /// Adds a SESSION_SETUP request, as sent, to the new session's preauth hash.
    pub(super) fn hash_sent_leg(&mut self, message: &[u8]) {
        match &mut self.phase {
            Phase::SessionSetup(setup) => {
                if let Some(p) = &mut setup.preauth {
                    p.add(message);
                }
            }
            Phase::Negotiate(expect) => expect.preauth.add(message),
            _ => {}
        }
    }

    /// A SESSION_SETUP response (of a new session, or of a reauthentication).
    pub(super) fn on_session_setup(&mut self, resp: Received, reauth: bool, now: Now) -> Result<(), Error> {
        let mut setup = if reauth {
            self.reauth.take().ok_or(Misbehaviour::UnknownResponse)?
        } else {
            match std::mem::replace(&mut self.phase, Phase::Dialing) {
                Phase::SessionSetup(s) => s,
                _ => return Err(Misbehaviour::UnknownResponse.into()),
            }
        };
        let status = resp.status();
        if status != NtStatus::SUCCESS && status != NtStatus::MORE_PROCESSING_REQUIRED {
            let e = Error::Status { command: Command::SESSION_SETUP, status };
            if reauth {
                self.reauth_failed(e.to_string(), now);
                return Ok(());
            }
            return Err(e);
        }
        let sid = resp.header.session_id;
        if sid == 0 || (self.channel.session_id != 0 && sid != self.channel.session_id) {
            return Err(Misbehaviour::SessionIdChanged.into());
        }
        self.channel.session_id = sid;
        let body = SessionSetupResponse::parse(resp.bytes())?;
        let done = status == NtStatus::SUCCESS;
        if !done && let Some(p) = &mut setup.preauth {
            p.add(resp.bytes());
        }
        if body.session_flags & (session_flags::IS_GUEST | session_flags::IS_NULL) != 0 {
            return Err(Misbehaviour::GuestSession.into());
        }
        let spn = format!("cifs/{}", self.config.host);
        let step = setup.authenticator.step(body.security_buffer, done, &spn, now.wall, self.rng.as_mut()).map_err(
            |e| match e {
                keyless_gss::Error::OutOfTurn => Misbehaviour::AuthStateMismatch.into(),
                e => Error::from(e),
            },
        );
        let step = match (step, reauth) {
            (Ok(s), _) => s,
            (Err(e), true) => {
                self.reauth_failed(e.to_string(), now);
                return Ok(());
            }
            (Err(e), false) => return Err(e),
        };
        match step {
            Step::Send(token) => {
                self.send_leg(&token, reauth)?;
                if reauth {
                    self.reauth = Some(setup);
                } else {
                    self.phase = Phase::SessionSetup(setup);
                }
                Ok(())
            }
            Step::Done(_) if !done => Err(Misbehaviour::AuthStateMismatch.into()),
            Step::Done(_) if reauth => {
                self.finish_reauth(now);
                Ok(())
            }
            Step::Done(key) => self.finish_session(&key, &resp, setup.preauth.unwrap_or_default(), now),
        }
    }

    /// Keys installed (MS-SMB2 3.2.5.3.1), the final response verified with them, encryption
    /// switched on when the session or the caller wants it; then the shares and opens.
    fn finish_session(
        &mut self,
        gss_key: &Zeroizing<Vec<u8>>,
        last: &Received,
        preauth: PreauthHash,
        now: Now,
    ) -> Result<(), Error> {
        let n = self.negotiated.as_ref().ok_or(Misbehaviour::UnknownResponse)?;
        let keys = KeySchedule::for_dialect(n.dialect.0, &preauth).derive(gss_key, n.cipher);
        let crypto = SessionCrypto::new(&keys, n.cipher, n.signing)?;
        let mut prefix = [0u8; 4];
        self.rng.fill(&mut prefix)?;
        self.channel.install(crypto, prefix);
        if !last.encrypted {
            // 3.1.1 signs it even on a session that signs nothing else (3.3.5.5.3).
            let required = self.channel.sign_all || n.dialect == Dialect::SMB_311;
            self.channel.verify(last.bytes(), required)?;
        }
        let flags = SessionSetupResponse::parse(last.bytes())?.session_flags;
        if flags & session_flags::ENCRYPT_DATA != 0 || self.config.require_encryption {
            self.require_encryption()?;
        }
        self.generation += 1;
        self.schedule_renewal(now);
        self.begin_restore();
        Ok(())
    }

    /// Every request is encrypted from now on.
    pub(super) fn require_encryption(&mut self) -> Result<(), Error> {
        if !self.channel.can_encrypt() {
            return Err(Incompatibility::NoEncryption.into());
        }
        if !self.channel.encrypt_all {
            self.channel.encrypt_all = true;
            self.refresh_info();
        }
        Ok(())
    }

    /// When to renew the credential at hand.
    pub(super) fn schedule_renewal(&mut self, now: Now) {
        self.renew_at = self.auth.renew_at().map(|t| now.instant_of(t));
    }

    fn finish_reauth(&mut self, now: Now) {
        self.generation += 1;
        self.schedule_renewal(now);
        self.flights.unpark();
    }

    fn reauth_failed(&mut self, why: String, now: Now) {
        self.reauth = None;
        self.credential_failed(format!("reauthenticating the session: {why}"), now);
    }

    /// Fails every request parked until a reauthentication.
    pub(super) fn fail_parked(&mut self, error: impl Fn() -> Error) {
        for id in self.flights.drain_parked() {
            self.events.push_back(Event::Failed { id, error: error() });
        }
    }

    /// What the session runs with now.
    fn session_info(&self) -> Option<Arc<SessionInfo>> {
        let n = self.negotiated.clone()?;
        let read_size = self.io_size(n.max_read);
        let write_size = self.io_size(n.max_write);
        let validated =
            self.validated && !matches!(n.dialect, Dialect::SMB_202 | Dialect::SMB_21) || n.dialect == Dialect::SMB_311;
        Some(Arc::new(SessionInfo {
            negotiated: n,
            encrypted: self.channel.encrypt_all,
            signed: self.channel.sign_all && !self.channel.encrypt_all,
            validated,
            read_size,
            write_size,
        }))
    }

    /// Tells the driver when what the session runs with changed.
    pub(super) fn refresh_info(&mut self) {
        if !self.ever_ready {
            return;
        }
        if let Some(info) = self.session_info() {
            self.info = Some(info.clone());
            self.events.push_back(Event::Info(info));
        }
    }

    /// A session is up on this connection.
    pub(super) fn ready(&mut self) {
        let Some(info) = self.session_info() else { return };
        self.info = Some(info.clone());
        self.phase = Phase::Ready;
        self.attempts = 0;
        if self.ever_ready {
            self.events.push_back(Event::Info(info));
            self.events.push_back(Event::Notice(Notice::Reconnected));
        } else {
            self.ever_ready = true;
            self.events.push_back(Event::Ready(info));
        }
    }

    /// Bytes per READ or WRITE: the server's limit and ours, 64 KiB without LARGE_MTU.
    fn io_size(&self, server_max: u32) -> usize {
        let cap = if self.channel.multi_credit { self.config.max_io } else { 65_536 };
        (server_max as usize).min(cap).max(4096)
    }

    /// What the negotiation settled, after NEGOTIATE.
    pub(super) fn negotiated(&self) -> Option<&Negotiated> {
        self.negotiated.as_ref()
    }

    /// The header of a request about to be sent.
    pub(super) fn header_for(&self, command: Command, charge: u16, mid: u64, tree_id: u32, flags: u32) -> HeaderFields {
        let smb3 = self.negotiated.as_ref().is_some_and(|n| n.dialect >= Dialect::SMB_30);
        HeaderFields {
            credit_charge: charge,
            // ChannelSequence (3.x): bumped by each reconnection with requests in flight.
            status: NtStatus(if smb3 { u32::from(self.channel_sequence) } else { 0 }),
            command,
            credits: self.config.credit_target,
            flags,
            next_command: 0,
            message_id: mid,
            async_or_tree: u64::from(tree_id) << 32,
            session_id: self.channel.session_id,
            signature: [0; 16],
        }
    }
}
