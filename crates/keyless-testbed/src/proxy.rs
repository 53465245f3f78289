//! A TCP proxy on loopback that cuts connections: the first one after some bytes, every live
//! one on demand or every few seconds. Both sockets of a connection are shut down at once, so
//! whatever was in the middle of a frame is lost, as on a network that failed. Threads only:
//! tests with or without a runtime can use it.

use std::io::{Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

struct State {
    upstream: u16,
    /// Both sockets of every connection alive, for cutting.
    live: Mutex<Vec<(TcpStream, TcpStream)>>,
    accepted: AtomicUsize,
    cuts: AtomicUsize,
    /// Bytes the first connection may carry before it is cut.
    first_limit: usize,
    /// Bytes any later connection may carry before it is cut.
    each_limit: AtomicUsize,
    /// Connections numbered below this pass nothing more (silently: they stay open).
    frozen_below: AtomicUsize,
    /// New connections wait (accepted, not yet relayed) while set.
    held: AtomicBool,
    stop: AtomicBool,
}

/// The proxy; stopped (and every connection cut) when dropped.
pub struct CuttingProxy {
    /// Where clients connect.
    pub port: u16,
    state: Arc<State>,
    threads: Vec<JoinHandle<()>>,
}

impl CuttingProxy {
    /// A proxy to `127.0.0.1:upstream` that cuts nothing by itself.
    pub fn start(upstream: u16) -> Self {
        Self::with_limit(upstream, usize::MAX)
    }

    /// A proxy whose first connection is cut once `bytes` have crossed it either way.
    pub fn cutting_first_after(upstream: u16, bytes: usize) -> Self {
        Self::with_limit(upstream, bytes)
    }

    fn with_limit(upstream: u16, first_limit: usize) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            upstream,
            live: Mutex::new(Vec::new()),
            accepted: AtomicUsize::new(0),
            cuts: AtomicUsize::new(0),
            first_limit,
            each_limit: AtomicUsize::new(usize::MAX),
            frozen_below: AtomicUsize::new(0),
            held: AtomicBool::new(false),
            stop: AtomicBool::new(false),
        });
        let s = state.clone();
        let accept = std::thread::spawn(move || {
            for client in listener.incoming() {
                if s.stop.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(client) = client else { continue };
                while s.held.load(Ordering::SeqCst) && !s.stop.load(Ordering::SeqCst) {
                    std::thread::sleep(Duration::from_millis(10));
                }
                let Ok(server) = TcpStream::connect(("127.0.0.1", s.upstream)) else { continue };
                let index = s.accepted.fetch_add(1, Ordering::SeqCst);
                let each = s.each_limit.load(Ordering::SeqCst);
                let limit = if index == 0 { s.first_limit.min(each) } else { each };
                relay(&s, client, server, limit, index);
            }
        });
        Self { port, state, threads: vec![accept] }
    }

    /// Cuts every live connection now; how many there were.
    pub fn cut(&self) -> usize {
        cut_all(&self.state)
    }

    /// Cuts every live connection each `period`, from now until dropped.
    pub fn cut_every(&mut self, period: Duration) {
        let s = self.state.clone();
        self.threads.push(std::thread::spawn(move || {
            loop {
                let mut slept = Duration::ZERO;
                while slept < period {
                    if s.stop.load(Ordering::SeqCst) {
                        return;
                    }
                    std::thread::sleep(Duration::from_millis(50));
                    slept += Duration::from_millis(50);
                }
                cut_all(&s);
            }
        }));
    }

    /// Every connection from now on is cut once `bytes` have crossed it either way.
    pub fn cut_each_after(&self, bytes: usize) {
        self.state.each_limit.store(bytes, Ordering::SeqCst);
    }

    /// Every live connection goes silent: bytes are taken from both sides and passed on to
    /// neither, the sockets stay open (a peer that hangs, a network that drops everything).
    /// Later connections pass as usual.
    pub fn freeze(&self) {
        self.state.frozen_below.store(self.accepted(), Ordering::SeqCst);
    }

    /// New connections wait, their bytes unread, until [`CuttingProxy::release`] (a client
    /// reconnecting meets a network that is not back yet).
    pub fn hold(&self) {
        self.state.held.store(true, Ordering::SeqCst);
    }

    /// Connections waiting since [`CuttingProxy::hold`] go through, and later ones pass.
    pub fn release(&self) {
        self.state.held.store(false, Ordering::SeqCst);
    }

    /// Connections accepted so far.
    pub fn accepted(&self) -> usize {
        self.state.accepted.load(Ordering::SeqCst)
    }

    /// Connections cut so far (by a limit, a period or [`CuttingProxy::cut`]).
    pub fn cuts(&self) -> usize {
        self.state.cuts.load(Ordering::SeqCst)
    }
}

impl Drop for CuttingProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect(("127.0.0.1", self.port)); // wakes the accept loop
        cut_all(&self.state);
        for t in self.threads.drain(..) {
            let _ = t.join();
        }
    }
}

fn cut_all(s: &State) -> usize {
    let live: Vec<_> = s.live.lock().unwrap().drain(..).collect();
    // A connection that already ended refuses the shutdown: only live ones count.
    let cut =
        live.iter().filter(|(a, b)| a.shutdown(Shutdown::Both).is_ok() | b.shutdown(Shutdown::Both).is_ok()).count();
    s.cuts.fetch_add(cut, Ordering::SeqCst);
    cut
}

/// Moves bytes both ways on two threads until either side closes, the connection is cut, or
/// `limit` bytes have passed (then it is cut).
fn relay(s: &Arc<State>, client: TcpStream, server: TcpStream, limit: usize, index: usize) {
    let _ = client.set_nodelay(true);
    let _ = server.set_nodelay(true);
    let (Ok(c2), Ok(s2), Ok(c3), Ok(s3)) =
        (client.try_clone(), server.try_clone(), client.try_clone(), server.try_clone())
    else {
        return;
    };
    s.live.lock().unwrap().push((c3, s3));
    let passed = Arc::new(AtomicUsize::new(0));
    for (mut from, mut to) in [(client, s2), (server, c2)] {
        let (s, passed) = (s.clone(), passed.clone());
        std::thread::spawn(move || {
            let mut buf = vec![0u8; 65_536];
            loop {
                let n = match from.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => n,
                };
                if index < s.frozen_below.load(Ordering::SeqCst) {
                    continue; // frozen: swallowed
                }
                let before = passed.fetch_add(n, Ordering::SeqCst);
                let allowed = limit.saturating_sub(before).min(n);
                if to.write_all(&buf[..allowed]).is_err() {
                    break;
                }
                if allowed < n {
                    s.cuts.fetch_add(1, Ordering::SeqCst);
                    break;
                }
            }
            let _ = from.shutdown(Shutdown::Both);
            let _ = to.shutdown(Shutdown::Both);
        });
    }
}
