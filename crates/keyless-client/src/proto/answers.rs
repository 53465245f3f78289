//! Requests out and answers in: headers written at send time, each received message matched
//! to its request (interim answers, break notifications, compounds), the core's own answers
//! routed to the handshake and restore steps, callers' answers delivered with the share or
//! open they made, and a session expired answered by a reauthentication and a resend.

use super::flights::{Cancel, Flight, Internal, Queued};
use super::request::{Meta, Target, TreeSlot};
use super::session::Phase;
use super::{Connection, Event, Notice, Now, Received, Request, RequestId, Slot};
use crate::error::{Error, Misbehaviour};
use keyless_smb::control::{Cancel as CancelBody, CloseRequest, Echo, Logoff};
use keyless_smb::create::CreateResponse;
use keyless_smb::header::{self, HeaderFields, flags, request_file_id_at};
use keyless_smb::ioctl::{CtlCode, IOCTL_IS_FSCTL, IoctlRequest, IoctlResponse, ValidateNegotiateResponse};
use keyless_smb::tree_connect::{TreeConnectResponse, share_flags};
use keyless_smb::{Command, Dialect, Message, NtStatus};
use std::sync::Arc;

impl Connection {
    /// Every message of one frame from the server.
    pub(super) fn input(&mut self, frame: Vec<u8>, now: Now) -> Result<(), Error> {
        for r in self.channel.open(frame)? {
            let h = r.header;
            if h.message_id == u64::MAX {
                if let Some(ack) = self.shares.on_break(r.bytes())? {
                    self.flights.queue_internal(ack, Internal::LeaseAck);
                }
                continue;
            }
            let member = self.flights.member(h.message_id).ok_or(Misbehaviour::UnknownResponse)?;
            if member.meta.command != h.command {
                return Err(Misbehaviour::CommandMismatch.into());
            }
            if h.status == NtStatus::PENDING && h.flags & flags::ASYNC_COMMAND != 0 {
                // Interim: the final answer follows. A CHANGE_NOTIFY may wait as long as
                // nothing changes; anything else gets another timeout.
                let extended = (h.command != Command::CHANGE_NOTIFY).then(|| now.instant + self.config.timeout);
                self.flights.interim(h.message_id, h.async_or_tree, extended);
                continue;
            }
            if let Some(flight) = self.flights.answer(h.message_id, r) {
                self.finish(flight, now)?;
            }
        }
        Ok(())
    }

    /// A chain fully answered.
    fn finish(&mut self, mut flight: Flight, now: Now) -> Result<(), Error> {
        if let Some(internal) = flight.internal.take() {
            let answer = flight.members.into_iter().next().and_then(|m| m.answer);
            return self.on_internal(internal, answer.ok_or(Misbehaviour::UnknownResponse)?, now);
        }
        if flight.expired() {
            return self.on_expired(flight, now);
        }
        for m in flight.members {
            if let (Some(id), Some(answer)) = (m.id, m.answer) {
                self.deliver(id, &m.meta, m.abandoned, answer)?;
            }
        }
        Ok(())
    }

    /// A caller's answer, after what the core keeps from it (a share, an open, a close).
    fn deliver(&mut self, id: RequestId, meta: &Meta, abandoned: bool, answer: Received) -> Result<(), Error> {
        let ok = answer.status() == NtStatus::SUCCESS;
        let mut slot = None;
        match (meta.command, meta.target) {
            (Command::TREE_CONNECT, _) if ok => {
                let Some(share) = meta.connects.clone() else { return Ok(()) };
                let body = TreeConnectResponse::parse(answer.bytes())?;
                if body.share_flags & share_flags::ENCRYPT_DATA != 0
                    && let Err(error) = self.require_encryption()
                {
                    self.events.push_back(Event::Failed { id, error });
                    return Ok(());
                }
                let dfs = keyless_smb::tree_connect::is_dfs_share(body.share_flags);
                let tree = self.shares.add_tree(share, answer.header.tree_id(), dfs);
                if self.needs_validation() {
                    self.send_validate(tree, Some((id, answer, tree)));
                    return Ok(());
                }
                slot = Some(Slot::Tree(tree));
            }
            (Command::CREATE, target) if ok => {
                if let (Some(spec), Some(tree)) = (meta.opens.clone(), self.shares.tree_of(target)) {
                    let created = CreateResponse::parse(answer.bytes())?;
                    if abandoned {
                        self.close_orphan(tree, created.file_id);
                    } else {
                        slot = Some(Slot::Open(self.shares.add_open(tree, &created, spec)));
                    }
                }
            }
            (Command::CLOSE, Target::Open(o)) => self.shares.forget_open(o),
            (Command::TREE_DISCONNECT, Target::Tree(t)) => self.shares.forget_tree(t),
            _ => {}
        }
        if !abandoned {
            self.events.push_back(Event::Response { id, response: answer, slot });
        }
        Ok(())
    }

    /// NETWORK_SESSION_EXPIRED (MS-SMB2 3.2.5.1.6): sent before the last reauthentication, the
    /// chain goes again at once; else it waits for one, with a fresh credential if someone can
    /// get it, and fails with the status if nobody can.
    fn on_expired(&mut self, flight: Flight, now: Now) -> Result<(), Error> {
        let before = flight.generation < self.generation;
        let (ids, frame) = flight.into_resend();
        let Some(frame) = frame.map(|a| {
            Arc::try_unwrap(a).unwrap_or_else(|a| super::Frame { head: a.head.clone(), body: a.body.clone() })
        }) else {
            return Ok(());
        };
        let messages = self.channel.recover(frame)?;
        let give_up = now.instant + self.config.timeout;
        if before {
            self.flights.requeue(ids, messages, false, give_up);
        } else if self.config.renewable {
            self.flights.park(ids, messages, give_up);
            self.want_credential(true);
        } else {
            for (id, meta) in ids {
                let error = Error::Status { command: meta.command, status: NtStatus::NETWORK_SESSION_EXPIRED };
                self.events.push_back(Event::Failed { id, error });
            }
        }
        Ok(())
    }

    /// The core's own answers.
    fn on_internal(&mut self, internal: Internal, answer: Received, now: Now) -> Result<(), Error> {
        match internal {
            Internal::Negotiate => self.on_negotiate(answer, now),
            Internal::SessionSetup => self.on_session_setup(answer, false, now),
            Internal::Reauth => self.on_session_setup(answer, true, now),
            Internal::TreeConnect(slot) => self.on_tree_restored(slot, &answer),
            Internal::Validate(then) => {
                self.check_validation(&answer)?;
                match then {
                    Some((id, response, tree)) => {
                        self.events.push_back(Event::Response { id, response, slot: Some(Slot::Tree(tree)) });
                    }
                    None => self.restore_step_done(),
                }
                Ok(())
            }
            Internal::Reclaim { slot, durable } => {
                match (answer.check(), durable && self.shares.reopens(slot)) {
                    (Ok(()), _) => self.shares.reclaimed(slot, Ok(&CreateResponse::parse(answer.bytes())?)),
                    // The server may refuse to hand a durable open back (smbd does once the
                    // file changed after it saved the open's state, or after a restart):
                    // open it again by name, as cifs.ko does.
                    (Err(_), true) => {
                        let mut create_guid = [0u8; 16];
                        self.rng.fill(&mut create_guid)?;
                        if let Some(r) = self.shares.reclaim_request(slot, Some(create_guid)) {
                            let (request, internal) = r?;
                            self.flights.queue_internal(request, internal);
                            return Ok(());
                        }
                    }
                    (Err(e), false) => {
                        let path = self.shares.path(slot);
                        self.events.push_back(Event::Notice(Notice::OpenLost(format!("{path}: {e}"))));
                        self.shares.reclaimed(slot, Err(Arc::new(e)));
                    }
                }
                self.restore_step_done();
                Ok(())
            }
            Internal::Logoff => {
                self.close(Arc::new(Error::Closed));
                Ok(())
            }
            Internal::Echo | Internal::LeaseAck | Internal::CloseOrphan => Ok(()),
        }
    }

    /// Whether this connection's negotiation still needs FSCTL_VALIDATE_NEGOTIATE_INFO (3.0
    /// and 3.0.2; 3.1.1 has the preauth hash instead, 2.x neither).
    fn needs_validation(&self) -> bool {
        !self.validated && self.negotiated().is_some_and(|n| matches!(n.dialect, Dialect::SMB_30 | Dialect::SMB_302))
    }

    /// Asks the server to repeat, under the session's signature, what it negotiated, so a man
    /// in the middle who rewrote NEGOTIATE (to a weaker dialect, say) is caught.
    fn send_validate(&mut self, tree: TreeSlot, then: Option<(RequestId, Received, TreeSlot)>) {
        let Ok(input) = self.offered.to_bytes() else { return };
        let req = IoctlRequest {
            ctl_code: CtlCode::VALIDATE_NEGOTIATE_INFO,
            file_id: [0xff; 16],
            max_output_response: 24,
            flags: IOCTL_IS_FSCTL,
            input: &input,
            ..Default::default()
        };
        if let Ok(r) = Request::new(&req, Target::Tree(tree)) {
            self.flights.queue_internal(r.payload(input.len()), Internal::Validate(then));
        }
    }

    /// MS-SMB2 3.2.5.14.12: only ACCESS_DENIED (or an unprotected answer, which the channel
    /// refuses) ends the connection; older servers answer a signed NOT_SUPPORTED, and the
    /// negotiation then stays unvalidated.
    fn check_validation(&mut self, answer: &Received) -> Result<(), Error> {
        // Signed (verified by the channel) or encrypted, whether or not the session signs.
        if !answer.encrypted && answer.header.flags & flags::SIGNED == 0 {
            return Err(Misbehaviour::UnsignedResponse.into());
        }
        match answer.status() {
            NtStatus::SUCCESS => {}
            NtStatus::ACCESS_DENIED => return Err(Misbehaviour::ValidationRefused.into()),
            _ => return Ok(()),
        }
        let got = ValidateNegotiateResponse::parse(IoctlResponse::parse(answer.bytes())?.output)?;
        let n = self.negotiated().ok_or(Misbehaviour::UnknownResponse)?;
        let expected = ValidateNegotiateResponse {
            capabilities: n.capabilities,
            guid: n.server_guid,
            security_mode: n.security_mode,
            dialect: n.dialect,
        };
        if got != expected {
            return Err(Misbehaviour::NegotiationTampered.into());
        }
        self.validated = true;
        self.refresh_info();
        Ok(())
    }

    /// After SESSION_SETUP on a new connection: the shares again, then the opens.
    pub(super) fn begin_restore(&mut self) {
        let trees = self.shares.trees_to_connect();
        self.phase = Phase::Restore { pending: trees.len(), opens: false };
        for (slot, share) in trees {
            if let Ok(r) = Request::tree_connect(&self.config.host, &share) {
                self.flights.queue_internal(r, Internal::TreeConnect(slot));
            }
        }
        if self.restore_pending() == Some(0) {
            self.restore_opens();
        }
    }

    fn restore_pending(&self) -> Option<usize> {
        match self.phase {
            Phase::Restore { pending, .. } => Some(pending),
            _ => None,
        }
    }

    fn on_tree_restored(&mut self, slot: TreeSlot, answer: &Received) -> Result<(), Error> {
        if let Err(e) = answer.check() {
            // The share is gone: its opens are lost with it, the rest goes on.
            let share = self.shares.share(slot).unwrap_or_default();
            self.events.push_back(Event::Notice(Notice::OpenLost(format!("share {share} and its files: {e}"))));
            self.shares.forget_tree(slot);
        } else {
            let body = TreeConnectResponse::parse(answer.bytes())?;
            if body.share_flags & share_flags::ENCRYPT_DATA != 0 {
                self.require_encryption()?;
            }
            self.shares.tree_connected(slot, answer.header.tree_id());
            if self.needs_validation() {
                if let Phase::Restore { pending, .. } = &mut self.phase {
                    *pending += 1;
                }
                self.send_validate(slot, None);
            }
        }
        self.restore_step_done();
        Ok(())
    }

    /// One share or open restored (or given up).
    fn restore_step_done(&mut self) {
        let Phase::Restore { pending, opens } = &mut self.phase else { return };
        *pending = pending.saturating_sub(1);
        match (*pending, *opens) {
            (0, false) => self.restore_opens(),
            (0, true) => self.ready(),
            _ => {}
        }
    }

    fn restore_opens(&mut self) {
        let opens = self.shares.opens_to_reclaim();
        if opens.is_empty() {
            self.ready();
            return;
        }
        self.phase = Phase::Restore { pending: opens.len(), opens: true };
        for slot in opens {
            match self.shares.reclaim_request(slot, None) {
                Some(Ok((request, internal))) => self.flights.queue_internal(request, internal),
                _ => self.restore_step_done(),
            }
        }
    }

    /// Writes the headers of a chain (ids, credits, TreeId, FileId, flags), protects it, and
    /// queues the frame.
    pub(super) fn send_chain(&mut self, mut q: Queued, now: Now) {
        // Every target must be usable before any credit is spent.
        let mut ids = Vec::with_capacity(q.members.len());
        for m in &q.members {
            match self.shares.ids(m.request.meta.target) {
                Ok(found) => ids.push(found),
                Err(e) => {
                    let cause = Arc::new(e);
                    for id in q.members.iter().filter_map(|m| m.id) {
                        let error = match cause.as_ref() {
                            Error::OpenLost { path, cause } => {
                                Error::OpenLost { path: path.clone(), cause: cause.clone() }
                            }
                            _ => Error::Interrupted(cause.clone()),
                        };
                        self.events.push_back(Event::Failed { id, error });
                    }
                    return;
                }
            }
        }
        let new_session = matches!(q.internal, Some(Internal::Negotiate | Internal::SessionSetup));
        let smb3 = self.negotiated().is_some_and(|n| n.dialect >= Dialect::SMB_30);
        let mut messages = Vec::with_capacity(q.members.len());
        let mut mids = Vec::with_capacity(q.members.len());
        for (i, (m, (tree_id, file_id))) in q.members.iter_mut().zip(ids).enumerate() {
            let meta = &m.request.meta;
            let charge = self.channel.charge_for(meta.payload);
            let mid = self.channel.take_id(charge);
            let mut header_flags = if i > 0 { flags::RELATED_OPERATIONS } else { 0 };
            if q.replay && smb3 {
                header_flags |= flags::REPLAY_OPERATION;
            }
            // A CREATE on a DFS share names its file by DFS path (the Tree writes it so).
            if meta.command == Command::CREATE && self.shares.is_dfs(meta.target) {
                header_flags |= flags::DFS_OPERATIONS;
            }
            let header = self.header_for(meta.command, charge, mid, tree_id, header_flags);
            let mut message = std::mem::take(&mut m.request.message);
            if let Some(raw) = message.first_chunk_mut::<{ header::LEN }>() {
                header.write(raw);
            }
            if let (Some(id), Some(at)) = (file_id, request_file_id_at(meta.command))
                && let Some(field) = message.get_mut(at..at + 16)
            {
                field.copy_from_slice(&id);
            }
            if new_session {
                self.hash_sent_leg(&message);
            }
            messages.push(message);
            mids.push(mid);
        }
        // MS-SMB2 3.2.4.1.1: TREE_CONNECT (3.1.1) and VALIDATE_NEGOTIATE (3.0.x) are signed
        // even on a session that signs nothing else.
        let must_sign = matches!(q.internal, Some(Internal::Validate(_)))
            || q.members.iter().any(|m| m.request.meta.command == Command::TREE_CONNECT);
        match self.channel.seal(messages, !new_session, must_sign) {
            Ok(frame) => {
                let frame = Arc::new(frame);
                self.transmit.push_back(frame.clone());
                self.flights.record(q, &mids, frame, self.generation, now.instant + self.config.timeout);
            }
            Err(e) => {
                let cause = Arc::new(e);
                for id in q.members.iter().filter_map(|m| m.id) {
                    self.events.push_back(Event::Failed { id, error: Error::Interrupted(cause.clone()) });
                }
            }
        }
    }

    /// SMB2 CANCEL of a request in flight; it has no answer and spends no credit.
    pub(super) fn send_cancel(&mut self, cancel: Cancel) {
        if !matches!(self.phase, Phase::Ready | Phase::Restore { .. }) {
            return;
        }
        let mut header = HeaderFields {
            credit_charge: 0,
            credits: 0,
            ..HeaderFields::request(Command::CANCEL, cancel.mid, self.channel.session_id, 0)
        };
        // A request that went asynchronous is named by its AsyncId (2.2.1).
        if let Some(async_id) = cancel.async_id {
            header.flags |= flags::ASYNC_COMMAND;
            header.async_or_tree = async_id;
        }
        let Ok(message) = CancelBody.to_vec(&header) else { return };
        if let Ok(frame) = self.channel.seal(vec![message], true, false) {
            self.transmit.push_back(Arc::new(frame));
        }
    }

    /// An ECHO, proving the server and the connection alive.
    pub(super) fn send_echo(&mut self) {
        if let Ok(r) = Request::new(&Echo, Target::Session) {
            self.flights.queue_internal(r, Internal::Echo);
        }
    }

    pub(super) fn send_logoff(&mut self) {
        if let Ok(r) = Request::new(&Logoff, Target::Session) {
            self.flights.queue_internal(r, Internal::Logoff);
        }
    }

    /// Closes an open whose caller went away before its CREATE was answered.
    fn close_orphan(&mut self, tree: TreeSlot, file_id: keyless_smb::control::FileId) {
        if let Ok(r) = Request::new(&CloseRequest { flags: 0, file_id }, Target::Tree(tree)) {
            self.flights.queue_internal(r, Internal::CloseOrphan);
        }
    }
}
