//! Requests from submission to answer: the queues (the core's own requests first, then the
//! callers'), the chains in flight by MessageId with the frame each went in (kept so it can go
//! again on the next connection), the chains parked until the session is authenticated again,
//! and the deadlines of all of them.

use super::channel::{Channel, Frame, Received};
use super::request::{Meta, Request, RequestId};
use keyless_smb::{Command, NtStatus};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Instant;

/// Requests the core sends for itself, and what their answer is for.
#[derive(Debug)]
pub(crate) enum Internal {
    Negotiate,
    /// A leg of a new session's SESSION_SETUP.
    SessionSetup,
    /// A leg of a reauthentication.
    Reauth,
    /// TREE_CONNECT of a known share on a new connection.
    TreeConnect(super::TreeSlot),
    /// FSCTL_VALIDATE_NEGOTIATE_INFO; a caller's TREE_CONNECT answer waits for it.
    Validate(Option<(RequestId, Received, super::TreeSlot)>),
    /// CREATE reclaiming (durable) or opening again an open on a new connection.
    Reclaim {
        slot: super::OpenSlot,
        durable: bool,
    },
    Echo,
    LeaseAck,
    /// CLOSE of an open whose caller went away.
    CloseOrphan,
    Logoff,
}

/// One request of a chain.
#[derive(Debug)]
pub(crate) struct Member {
    pub(crate) id: Option<RequestId>,
    pub(crate) request: Request,
}

/// A chain waiting to be sent.
#[derive(Debug)]
pub(crate) struct Queued {
    pub(crate) members: Vec<Member>,
    pub(crate) internal: Option<Internal>,
    /// When the caller gives up (callers' requests only).
    pub(crate) give_up: Option<Instant>,
    /// Sent before on a connection that dropped: it goes with the replay flag.
    pub(crate) replay: bool,
}

/// One request of a chain in flight.
#[derive(Debug)]
pub(crate) struct Flying {
    pub(crate) mid: u64,
    pub(crate) id: Option<RequestId>,
    pub(crate) meta: Meta,
    pub(crate) async_id: Option<u64>,
    pub(crate) abandoned: bool,
    pub(crate) answer: Option<Received>,
}

/// A chain in flight.
#[derive(Debug)]
pub(crate) struct Flight {
    /// The frame it went in (callers' chains: to send again after a reconnection).
    frame: Option<Arc<Frame>>,
    pub(crate) members: Vec<Flying>,
    pub(crate) internal: Option<Internal>,
    /// The session generation it was sent under.
    pub(crate) generation: u32,
    /// When the connection is judged dead if no answer came.
    answer_by: Option<Instant>,
    give_up: Option<Instant>,
    left: usize,
}

impl Flight {
    /// Whether some answer says the session expired.
    pub(crate) fn expired(&self) -> bool {
        self.members.iter().any(|m| m.answer.as_ref().is_some_and(|a| a.status() == NtStatus::NETWORK_SESSION_EXPIRED))
    }

    /// The frame and ids, to send again.
    pub(crate) fn into_resend(self) -> (Vec<(RequestId, Meta)>, Option<Arc<Frame>>) {
        let ids = self.members.into_iter().filter_map(|m| Some((m.id?, m.meta))).collect();
        (ids, self.frame)
    }
}

/// What to cancel: a request's MessageId, and its AsyncId once it went asynchronous.
pub(crate) struct Cancel {
    pub(crate) mid: u64,
    pub(crate) async_id: Option<u64>,
}

/// A chain in flight when the connection dropped.
pub(crate) enum Lost {
    /// A caller's chain, with the frame it went in.
    User(Vec<(RequestId, Meta)>, Frame),
    /// The core's own: it makes them again.
    Internal,
}

#[derive(Default)]
pub(crate) struct Flights {
    next_request: u64,
    next_chain: u64,
    user: VecDeque<Queued>,
    internal: VecDeque<Queued>,
    parked: Vec<Queued>,
    flying: HashMap<u64, Flight>,
    by_mid: HashMap<u64, (u64, usize)>,
}

/// Whether the credits at hand pay for `q`.
fn affordable(q: &Queued, channel: &Channel) -> bool {
    channel.affords(q.members.iter().map(|m| channel.charge_for(m.request.meta.payload)))
}

impl Flights {
    /// Queues a caller's chain; the ids of its requests.
    pub(crate) fn queue_user(&mut self, requests: Vec<Request>, give_up: Instant) -> Vec<RequestId> {
        let members: Vec<Member> = requests
            .into_iter()
            .map(|request| {
                self.next_request += 1;
                Member { id: Some(RequestId(self.next_request)), request }
            })
            .collect();
        let ids = members.iter().filter_map(|m| m.id).collect();
        self.user.push_back(Queued { members, internal: None, give_up: Some(give_up), replay: false });
        ids
    }

    /// Queues one request of the core's own.
    pub(crate) fn queue_internal(&mut self, request: Request, internal: Internal) {
        let members = vec![Member { id: None, request }];
        self.internal.push_back(Queued { members, internal: Some(internal), give_up: None, replay: false });
    }

    /// The next chain of the core's own, if the credits pay for it.
    pub(crate) fn next_internal(&mut self, channel: &Channel) -> Option<Queued> {
        if affordable(self.internal.front()?, channel) { self.internal.pop_front() } else { None }
    }

    /// The next caller's chain, if the credits pay for it (in order: a large WRITE is not
    /// overtaken).
    pub(crate) fn next_user(&mut self, channel: &Channel) -> Option<Queued> {
        if affordable(self.user.front()?, channel) { self.user.pop_front() } else { None }
    }

    /// Whether requests wait for credits that no answer in flight will bring (callers' only
    /// when they may go, `ready`).
    pub(crate) fn starved(&self, channel: &Channel, ready: bool) -> bool {
        let waiting = self.internal.front().or(if ready { self.user.front() } else { None });
        self.flying.is_empty() && waiting.is_some_and(|q| !affordable(q, channel))
    }

    /// Records a chain just sent as `mids`, in `frame` (kept for callers' chains).
    pub(crate) fn record(&mut self, q: Queued, mids: &[u64], frame: Arc<Frame>, generation: u32, answer_by: Instant) {
        self.next_chain += 1;
        let chain = self.next_chain;
        let members: Vec<Flying> = q
            .members
            .into_iter()
            .zip(mids)
            .enumerate()
            .map(|(i, (m, &mid))| {
                self.by_mid.insert(mid, (chain, i));
                Flying { mid, id: m.id, meta: m.request.meta, async_id: None, abandoned: false, answer: None }
            })
            .collect();
        let left = members.len();
        let frame = q.internal.is_none().then_some(frame);
        let flight = Flight {
            frame,
            members,
            internal: q.internal,
            generation,
            answer_by: Some(answer_by),
            give_up: q.give_up,
            left,
        };
        self.flying.insert(chain, flight);
    }

    /// The request a response with MessageId `mid` answers.
    pub(crate) fn member(&mut self, mid: u64) -> Option<&mut Flying> {
        let (chain, i) = *self.by_mid.get(&mid)?;
        self.flying.get_mut(&chain)?.members.get_mut(i)
    }

    /// An interim answer: the request went asynchronous; a CHANGE_NOTIFY may then wait
    /// forever, anything else gets another `timeout`.
    pub(crate) fn interim(&mut self, mid: u64, async_id: u64, extended: Option<Instant>) {
        let Some(&(chain, i)) = self.by_mid.get(&mid) else { return };
        if let Some(f) = self.flying.get_mut(&chain) {
            if let Some(m) = f.members.get_mut(i) {
                m.async_id = Some(async_id);
            }
            f.answer_by = extended;
            if f.give_up.is_some() {
                f.give_up = extended;
            }
        }
    }

    /// Files the final answer to `mid`; the chain once every member is answered.
    pub(crate) fn answer(&mut self, mid: u64, response: Received) -> Option<Flight> {
        let (chain, i) = self.by_mid.remove(&mid)?;
        let flight = self.flying.get_mut(&chain)?;
        let member = flight.members.get_mut(i)?;
        member.answer = Some(response);
        flight.left -= 1;
        if flight.left > 0 {
            return None;
        }
        self.flying.remove(&chain)
    }

    /// The caller went away from `id`: drops it from the queue, or marks it in flight (its
    /// answer is then discarded) and says what to cancel.
    pub(crate) fn abandon(&mut self, id: RequestId) -> Option<Cancel> {
        for q in self.user.iter_mut().chain(self.parked.iter_mut()) {
            if q.members.iter().any(|m| m.id == Some(id)) {
                // A chain stays whole (its others may still be awaited); alone, it goes.
                if q.members.len() == 1 {
                    q.members.clear();
                }
                self.user.retain(|q| !q.members.is_empty());
                self.parked.retain(|q| !q.members.is_empty());
                return None;
            }
        }
        let m = self.flying.values_mut().flat_map(|f| f.members.iter_mut()).find(|m| m.id == Some(id))?;
        m.abandoned = true;
        // Only what can wait long is worth a CANCEL; a quick answer is discarded on arrival.
        let long = m.async_id.is_some() || matches!(m.meta.command, Command::CHANGE_NOTIFY | Command::LOCK);
        long.then_some(Cancel { mid: m.mid, async_id: m.async_id })
    }

    /// Every chain in flight (the connection dropped), oldest first.
    pub(crate) fn take_in_flight(&mut self) -> Vec<Lost> {
        self.by_mid.clear();
        let mut flights: Vec<(u64, Flight)> = self.flying.drain().collect();
        flights.sort_by_key(|(chain, _)| *chain);
        flights
            .into_iter()
            .map(|(_, f)| {
                if f.internal.is_some() {
                    return Lost::Internal;
                }
                let waited = f.members.iter().any(|m| !m.abandoned);
                let (ids, frame) = f.into_resend();
                match frame.map(Frame::unshare) {
                    Some(frame) if waited => Lost::User(ids, frame),
                    _ => Lost::Internal,
                }
            })
            .collect()
    }

    /// Queues again, ahead of the rest, a chain that was in flight (with the replay flag when
    /// the server may have carried it out), to be given up at `give_up`.
    pub(crate) fn requeue(
        &mut self,
        ids: Vec<(RequestId, Meta)>,
        messages: Vec<Vec<u8>>,
        replay: bool,
        give_up: Instant,
    ) {
        let members = ids
            .into_iter()
            .zip(messages)
            .map(|((id, meta), message)| Member { id: Some(id), request: Request { message, meta } })
            .collect();
        self.user.push_front(Queued { members, internal: None, give_up: Some(give_up), replay });
    }

    /// Parks a chain until the session is authenticated again (or `give_up`).
    pub(crate) fn park(&mut self, ids: Vec<(RequestId, Meta)>, messages: Vec<Vec<u8>>, give_up: Instant) {
        let members = ids
            .into_iter()
            .zip(messages)
            .map(|((id, meta), message)| Member { id: Some(id), request: Request { message, meta } })
            .collect();
        self.parked.push(Queued { members, internal: None, give_up: Some(give_up), replay: false });
    }

    /// Parked chains go out again (the session was authenticated again, or is new).
    pub(crate) fn unpark(&mut self) {
        for q in self.parked.drain(..).rev() {
            self.user.push_front(q);
        }
    }

    /// The ids of parked requests, which fail.
    pub(crate) fn drain_parked(&mut self) -> Vec<RequestId> {
        self.parked.drain(..).flat_map(|q| q.members).filter_map(|m| m.id).collect()
    }

    /// The ids of every queued caller's request, which fail.
    pub(crate) fn drain_user_queue(&mut self) -> Vec<RequestId> {
        let parked = self.drain_parked();
        self.user.drain(..).flat_map(|q| q.members).filter_map(|m| m.id).chain(parked).collect()
    }

    /// Every caller's request in flight, which fail.
    pub(crate) fn take_all_user(&mut self) -> Vec<(RequestId, Meta)> {
        self.by_mid.clear();
        self.flying.drain().flat_map(|(_, f)| f.into_resend().0).collect()
    }

    /// Drops the core's own queued requests (a new connection makes them anew).
    pub(crate) fn clear_internal(&mut self) {
        self.internal.clear();
    }

    /// Callers' requests whose time is up: queued ones are dropped, ones in flight marked
    /// abandoned (their answers are discarded).
    pub(crate) fn overdue_queued(&mut self, now: Instant) -> Vec<RequestId> {
        let mut out = Vec::new();
        let overdue = |q: &Queued| q.give_up.is_some_and(|t| now >= t);
        for q in self.user.iter().chain(self.parked.iter()).filter(|q| overdue(q)) {
            out.extend(q.members.iter().filter_map(|m| m.id));
        }
        self.user.retain(|q| !overdue(q));
        self.parked.retain(|q| !overdue(q));
        for f in self.flying.values_mut().filter(|f| f.give_up.is_some_and(|t| now >= t)) {
            f.give_up = None;
            for m in f.members.iter_mut().filter(|m| !m.abandoned) {
                m.abandoned = true;
                out.extend(m.id);
            }
        }
        out
    }

    /// Whether some chain in flight got no answer in time: the connection is dead.
    pub(crate) fn overdue_in_flight(&self, now: Instant) -> bool {
        self.flying.values().any(|f| f.answer_by.is_some_and(|t| now >= t))
    }

    /// The earliest deadline of anything queued or in flight.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        let queued = self.user.iter().chain(self.parked.iter()).filter_map(|q| q.give_up);
        let flying = self.flying.values().flat_map(|f| [f.answer_by, f.give_up]).flatten();
        queued.chain(flying).min()
    }

    /// Whether something awaits an answer in bounded time (then no ECHO is needed).
    pub(crate) fn any_with_deadline(&self) -> bool {
        self.flying.values().any(|f| f.answer_by.is_some())
    }
}
