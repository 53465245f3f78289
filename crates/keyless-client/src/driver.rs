//! The one tokio task that owns a session's core and socket: a loop with no protocol in it
//! (quinn's `ConnectionDriver`). It writes what the core transmits, feeds it what the socket
//! reads, its timers and the callers' commands, dials when the core asks, runs credential
//! renewals, and hands each answer to the caller waiting for it.
//!
//! Reading and writing run in two small tasks of their own, so a large WRITE going out never
//! stops READ answers coming in (a server blocked on a full socket stops reading too).

use crate::auth::{Auth, Renew};
use crate::error::{Error, Misbehaviour, RenewError};
use crate::proto::{self, Event, Frame, Notice, Now, Received, Request, RequestId, SessionInfo, Slot};
use keyless_smb::framing;
use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{mpsc, oneshot};

/// A caller's answer: the response and the share or open it made.
#[derive(Debug)]
pub struct Answer {
    /// The response (its status is the caller's to judge).
    pub response: Received,
    /// The share or open it made.
    pub slot: Option<Slot>,
}

pub(crate) type Reply = oneshot::Sender<Result<Answer, Error>>;

/// What a handle asks of the driver.
pub(crate) enum Command {
    /// Requests as one chain, each with the ticket the caller knows it by and where its
    /// answer goes (`None`: nobody waits).
    Submit(Vec<(u64, Request, Option<Reply>)>),
    /// The caller stopped waiting for this ticket.
    Abandon(u64),
    /// Log off; the reply once closed.
    Logoff(oneshot::Sender<()>),
}

/// Frames as on the wire (Direct TCP payloads), `true` for those sent.
pub type Transcript = Vec<(bool, Vec<u8>)>;

/// Called with what a long-running caller may want to log.
pub type NoticeHook = Arc<dyn Fn(&Notice) + Send + Sync>;

/// What the driver shares with the handles.
pub(crate) struct Shared {
    /// The session as last established.
    pub(crate) info: Mutex<Option<Arc<SessionInfo>>>,
    /// Frames as on the wire, when recording.
    pub(crate) transcript: Option<Mutex<Transcript>>,
    /// Receive buffers of READ answers, for the next frames.
    pub(crate) buffers: Arc<crate::buffers::Buffers>,
}

/// A frame read, or why reading or writing stopped, tagged with the connection it belongs to.
enum Io {
    Frame(u64, Vec<u8>),
    Failed(u64, Error),
}

type Dial = Pin<Box<dyn Future<Output = Result<TcpStream, Error>> + Send>>;
type Renewal = Pin<Box<dyn Future<Output = (Box<dyn Renew>, Result<Auth, RenewError>)> + Send>>;

/// The socket of the current connection.
struct Socket {
    writer: mpsc::UnboundedSender<Arc<Frame>>,
    tasks: [tokio::task::JoinHandle<()>; 2],
}

impl Drop for Socket {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub(crate) struct Driver {
    core: proto::Connection,
    addr: (String, u16),
    timeout: std::time::Duration,
    commands: mpsc::UnboundedReceiver<Command>,
    /// Who waits for which request, by the core's id and by the caller's ticket.
    waiters: HashMap<RequestId, (u64, Option<Reply>)>,
    tickets: HashMap<u64, RequestId>,
    renew: Option<Box<dyn Renew>>,
    renewal: Option<Renewal>,
    dial: Option<Dial>,
    socket: Option<Socket>,
    epoch: u64,
    io_tx: mpsc::Sender<Io>,
    io_rx: mpsc::Receiver<Io>,
    max_frame: Arc<AtomicUsize>,
    shared: Arc<Shared>,
    notices: Option<NoticeHook>,
    /// Told once the first session is up, or why it could not be.
    ready: Option<oneshot::Sender<Result<Arc<SessionInfo>, Error>>>,
    logoffs: Vec<oneshot::Sender<()>>,
}

fn now() -> Now {
    Now { instant: Instant::now(), wall: SystemTime::now() }
}

impl Driver {
    #[allow(clippy::too_many_arguments, reason = "one constructor, called once by the handle")]
    pub(crate) fn new(
        core: proto::Connection,
        addr: (String, u16),
        timeout: std::time::Duration,
        commands: mpsc::UnboundedReceiver<Command>,
        renew: Option<Box<dyn Renew>>,
        shared: Arc<Shared>,
        notices: Option<NoticeHook>,
        ready: oneshot::Sender<Result<Arc<SessionInfo>, Error>>,
    ) -> Self {
        // A few frames read ahead of the core at most: the rest waits in the kernel.
        let (io_tx, io_rx) = mpsc::channel(1);
        Self {
            core,
            addr,
            timeout,
            commands,
            waiters: HashMap::new(),
            tickets: HashMap::new(),
            renew,
            renewal: None,
            dial: None,
            socket: None,
            epoch: 0,
            io_tx,
            io_rx,
            max_frame: Arc::new(AtomicUsize::new(1 << 20)),
            shared,
            notices,
            ready: Some(ready),
            logoffs: Vec::new(),
        }
    }

    /// Runs until the session is closed and no handle is left.
    pub(crate) async fn run(mut self) {
        let mut handles_left = true;
        loop {
            self.drain_core();
            if !handles_left && self.core.is_closed() {
                return;
            }
            let deadline = self.core.poll_timeout();
            let sleep = async {
                match deadline {
                    Some(t) => tokio::time::sleep_until(t.into()).await,
                    None => std::future::pending().await,
                }
            };
            tokio::select! {
                command = self.commands.recv(), if handles_left => match command {
                    Some(c) => self.command(c),
                    None => {
                        // Every handle is gone: log off, then end.
                        handles_left = false;
                        self.core.logoff(now());
                    }
                },
                Some(io) = self.io_rx.recv() => self.io(io),
                dialed = maybe(self.dial.as_mut()), if self.dial.is_some() => {
                    self.dial = None;
                    match dialed {
                        Ok(stream) => self.connected(stream),
                        Err(e) => self.core.connection_lost(e, now()),
                    }
                }
                (renew, result) = maybe(self.renewal.as_mut()), if self.renewal.is_some() => {
                    self.renewal = None;
                    self.renew = Some(renew);
                    match result {
                        Ok(auth) => self.core.provide_credential(auth, now()),
                        Err(e) => self.core.credential_failed(e.to_string(), now()),
                    }
                }
                () = sleep => {
                    self.core.handle_timeout(now());
                    // Idle (a timer fired, the ECHO's at the latest, and nobody waits): the
                    // spare receive buffers go back.
                    if self.waiters.is_empty() {
                        self.shared.buffers.release();
                    }
                }
            }
        }
    }

    fn command(&mut self, command: Command) {
        match command {
            Command::Submit(chain) => {
                let mut requests = Vec::with_capacity(chain.len());
                let mut callers = Vec::with_capacity(chain.len());
                for (ticket, request, reply) in chain {
                    requests.push(request);
                    callers.push((ticket, reply));
                }
                let ids = self.core.submit_chain(requests, now());
                for (id, (ticket, reply)) in ids.into_iter().zip(callers) {
                    if reply.is_some() {
                        self.tickets.insert(ticket, id);
                    }
                    self.waiters.insert(id, (ticket, reply));
                }
            }
            Command::Abandon(ticket) => {
                if let Some(id) = self.tickets.remove(&ticket) {
                    self.waiters.remove(&id);
                    self.core.abandon(id, now());
                }
            }
            Command::Logoff(done) => {
                self.logoffs.push(done);
                self.core.logoff(now());
            }
        }
    }

    fn io(&mut self, io: Io) {
        match io {
            Io::Frame(epoch, payload) if epoch == self.epoch => {
                if let Some(t) = &self.shared.transcript
                    && let Ok(mut t) = t.lock()
                {
                    t.push((false, payload.clone()));
                }
                self.core.handle_input(payload, now());
            }
            Io::Failed(epoch, e) if epoch == self.epoch => self.core.connection_lost(e, now()),
            _ => {} // from a connection already dropped
        }
    }

    /// A new TCP connection: reader and writer tasks for it, and the core told.
    fn connected(&mut self, stream: TcpStream) {
        let _ = stream.set_nodelay(true);
        self.epoch += 1;
        let (read, write) = stream.into_split();
        let (writer, frames) = mpsc::unbounded_channel();
        let reader = tokio::spawn(read_frames(
            read,
            self.epoch,
            self.io_tx.clone(),
            self.max_frame.clone(),
            self.shared.buffers.clone(),
        ));
        let writer_task = tokio::spawn(write_frames(write, frames, self.epoch, self.io_tx.clone(), self.timeout));
        self.socket = Some(Socket { writer, tasks: [reader, writer_task] });
        self.core.connected(now());
    }

    /// Everything the core has for us: frames to write, then events.
    fn drain_core(&mut self) {
        loop {
            let mut progressed = false;
            while let Some(frame) = self.core.poll_transmit() {
                progressed = true;
                if let Some(t) = &self.shared.transcript
                    && let Ok(mut t) = t.lock()
                {
                    let mut payload = frame.head[4..].to_vec();
                    payload.extend_from_slice(&frame.body);
                    t.push((true, payload));
                }
                if let Some(s) = &self.socket {
                    let _ = s.writer.send(frame);
                }
            }
            while let Some(event) = self.core.poll_event() {
                progressed = true;
                self.event(event);
            }
            if !progressed {
                return;
            }
        }
    }

    fn event(&mut self, event: Event) {
        match event {
            Event::Connect => {
                self.socket = None;
                let (host, port, timeout) = (self.addr.0.clone(), self.addr.1, self.timeout);
                self.dial = Some(Box::pin(dial(host, port, timeout)));
            }
            Event::Disconnect => {
                self.socket = None;
                self.dial = None;
                // Frames its reader had already passed on are stale from now on.
                self.epoch += 1;
            }
            Event::Ready(info) => {
                self.session_info(info.clone());
                if let Some(r) = self.ready.take() {
                    let _ = r.send(Ok(info));
                }
            }
            Event::Info(info) => self.session_info(info),
            Event::Response { id, response, slot } => self.answer(id, Ok(Answer { response, slot })),
            Event::Failed { id, error } => self.answer(id, Err(error)),
            Event::CredentialDue { .. } => self.start_renewal(),
            Event::Notice(n) => {
                if let Some(hook) = &self.notices {
                    hook(&n);
                }
            }
            Event::Closed(cause) => {
                if let Some(r) = self.ready.take() {
                    let e = Arc::try_unwrap(cause).unwrap_or_else(Error::Interrupted);
                    let _ = r.send(Err(e));
                }
                for done in self.logoffs.drain(..) {
                    let _ = done.send(());
                }
            }
        }
    }

    fn session_info(&mut self, info: Arc<SessionInfo>) {
        self.max_frame.store(self.core.max_frame(), Ordering::Relaxed);
        if let Ok(mut i) = self.shared.info.lock() {
            *i = Some(info);
        }
    }

    fn answer(&mut self, id: RequestId, result: Result<Answer, Error>) {
        if let Some((ticket, reply)) = self.waiters.remove(&id) {
            self.tickets.remove(&ticket);
            if let Some(reply) = reply {
                let _ = reply.send(result);
            }
        }
    }

    fn start_renewal(&mut self) {
        if self.renewal.is_some() {
            return;
        }
        let Some(mut renew) = self.renew.take() else {
            self.core.credential_failed("no source of fresh credentials".into(), now());
            return;
        };
        let expiring = self.core.credential().clone();
        self.renewal = Some(Box::pin(async move {
            let result = renew.renew(&expiring).await;
            (renew, result)
        }));
    }
}

/// Awaits `f` when there is one (a `select!` branch guards on it).
async fn maybe<F: Future + Unpin>(f: Option<&mut F>) -> F::Output {
    match f {
        Some(f) => f.await,
        None => std::future::pending().await,
    }
}

async fn dial(host: String, port: u16, timeout: std::time::Duration) -> Result<TcpStream, Error> {
    tokio::time::timeout(timeout, TcpStream::connect((host.as_str(), port)))
        .await
        .map_err(|_| Error::Timeout { waiting_for: "a TCP connection to the server", cause: None })?
        .map_err(|source| Error::Io { doing: "connecting to the SMB server", source })
}

/// Reads Direct TCP frames until the connection ends; each payload goes to the driver.
async fn read_frames(
    mut read: OwnedReadHalf,
    epoch: u64,
    to: mpsc::Sender<Io>,
    max: Arc<AtomicUsize>,
    buffers: Arc<crate::buffers::Buffers>,
) {
    let failed = |source| Io::Failed(epoch, Error::Io { doing: "reading from the SMB server", source });
    loop {
        let mut head = [0u8; 4];
        if let Err(e) = read.read_exact(&mut head).await {
            let _ = to.send(failed(e)).await;
            return;
        }
        let len = match framing::payload_length(&head) {
            Ok(len) if len <= max.load(Ordering::Relaxed) => len,
            Ok(_) => {
                let _ = to.send(Io::Failed(epoch, Misbehaviour::FrameTooLarge.into())).await;
                return;
            }
            Err(e) => {
                let _ = to.send(Io::Failed(epoch, e.into())).await;
                return;
            }
        };
        // Into spare capacity: no zeroing of a megabyte per response first, and never past
        // the frame's end (a recycled buffer may have room for more).
        let mut payload = buffers.take(len);
        while payload.len() < len {
            let left = (len - payload.len()) as u64;
            match (&mut read).take(left).read_buf(&mut payload).await {
                Ok(0) => {
                    let _ = to.send(failed(std::io::ErrorKind::UnexpectedEof.into())).await;
                    return;
                }
                Ok(_) => {}
                Err(e) => {
                    let _ = to.send(failed(e)).await;
                    return;
                }
            }
        }
        if to.send(Io::Frame(epoch, payload)).await.is_err() {
            return;
        }
    }
}

/// Writes frames in order, head and body in one vectored write (no copy); a server that
/// stops reading for `timeout` is a dead one.
async fn write_frames(
    mut write: OwnedWriteHalf,
    mut frames: mpsc::UnboundedReceiver<Arc<Frame>>,
    epoch: u64,
    to: mpsc::Sender<Io>,
    timeout: std::time::Duration,
) {
    while let Some(frame) = frames.recv().await {
        let (mut head, mut body) = (&frame.head[..], &frame.body[..]);
        while !head.is_empty() || !body.is_empty() {
            let slices = [std::io::IoSlice::new(head), std::io::IoSlice::new(body)];
            let n = match tokio::time::timeout(timeout, write.write_vectored(&slices)).await {
                Ok(Ok(0)) => {
                    Err(Error::Io { doing: "sending to the SMB server", source: std::io::ErrorKind::WriteZero.into() })
                }
                Ok(Ok(n)) => Ok(n),
                Ok(Err(source)) => Err(Error::Io { doing: "sending to the SMB server", source }),
                Err(_) => Err(Error::Timeout { waiting_for: "the server to read what was sent", cause: None }),
            };
            match n {
                Ok(n) => {
                    let from_head = n.min(head.len());
                    head = &head[from_head..];
                    body = &body[n - from_head..];
                }
                Err(e) => {
                    let _ = to.send(Io::Failed(epoch, e)).await;
                    return;
                }
            }
        }
    }
    let _ = write.shutdown().await;
}
