//! TCP reassembly per direction, UDP datagrams per endpoint pair, and the cutting of streams
//! into messages (NBSS for SMB, RFC 4120 record marks for Kerberos), as the packets come: a
//! direction holds only the bytes of the message it is in the middle of, and what waits
//! beyond a hole.

use crate::layers::{Datagram, Segment};
use crate::{Connection, Message, Ports, Protocol};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

/// Bytes waiting beyond a hole after which the hole counts as lost by the capture (a receive
/// window is far smaller): reading then resumes past it.
const MAX_PENDING: usize = 32 << 20;

/// Where messages go: the consumer's sink, and the notes.
pub(crate) struct Out<'o> {
    pub sink: &'o mut dyn FnMut(&Connection, Message<'_>),
    pub notes: &'o mut Vec<String>,
}

/// Which message of which direction of which connection: what a direction needs to hand a
/// message out.
struct Emit<'c> {
    conn: &'c Connection,
    connection: usize,
    to_server: bool,
    /// The connection's message count, both directions.
    next_index: &'c mut usize,
}

impl Emit<'_> {
    fn what(&self) -> String {
        let (end, dir) = if self.to_server { (self.conn.client, "to server") } else { (self.conn.server, "to client") };
        format!("connection {} {end} {dir}", self.connection)
    }

    fn message(&mut self, out: &mut Out, packet: usize, time_ns: i128, stream_offset: usize, payload: &[u8]) {
        let m = Message {
            connection: self.connection,
            to_server: self.to_server,
            index: *self.next_index,
            packet,
            time_ns,
            stream_offset,
            payload: Cow::Borrowed(payload),
        };
        *self.next_index += 1;
        (out.sink)(self.conn, m);
    }
}

/// After a hole given up as lost: where it was, and how far reading has looked for a
/// message start since.
#[derive(Debug)]
struct Hunt {
    gap_at: usize,
    gap_len: usize,
    /// Stream offsets where segments started since (message starts are looked for there).
    starts: Vec<(usize, usize)>,
}

/// One direction of a connection.
#[derive(Debug, Default)]
struct Direction {
    /// Sequence number of the first SYN seen, if any.
    isn: Option<u32>,
    /// Sequence number of the next contiguous byte (valid once `started`).
    next_seq: u32,
    started: bool,
    /// Stream offset of `data[0]`.
    base: usize,
    /// Contiguous bytes not yet cut into messages.
    data: Vec<u8>,
    /// Segments beyond a hole, by stream offset: (bytes, packet, time).
    pending: BTreeMap<i64, (Vec<u8>, usize, i128)>,
    pending_bytes: usize,
    hunt: Option<Hunt>,
    /// The framing broke: the rest of the direction is not read.
    dead: bool,
}

impl Direction {
    fn end(&self) -> usize {
        self.base + self.data.len()
    }

    fn syn(&mut self, seq: u32) {
        if !self.started {
            self.isn = Some(seq);
            self.next_seq = seq.wrapping_add(1);
            self.started = true;
        }
    }

    fn data(&mut self, at: (usize, i128), seq: u32, payload: &[u8], e: &mut Emit, out: &mut Out) {
        if payload.is_empty() || self.dead {
            return;
        }
        if !self.started {
            // Picked up mid-stream: the first data seen starts the stream.
            self.next_seq = seq;
            self.started = true;
        }
        let end = self.end() as i64;
        let start = end + i64::from(seq.wrapping_sub(self.next_seq) as i32);
        if start > end {
            let slot = self.pending.entry(start).or_insert_with(|| (Vec::new(), at.0, at.1));
            if payload.len() > slot.0.len() {
                self.pending_bytes += payload.len() - slot.0.len();
                slot.0 = payload.to_vec();
            }
            if self.pending_bytes > MAX_PENDING {
                self.give_up_hole(e, out);
            }
            return;
        }
        if self.append(start, payload, at.0) {
            self.drain_pending(None);
            self.cut(at, e, out);
        }
    }

    /// Appends the part of `bytes` (at stream offset `start` ≤ end) that is new.
    fn append(&mut self, start: i64, bytes: &[u8], packet: usize) -> bool {
        let skip = (self.end() as i64 - start) as usize;
        match bytes.get(skip..) {
            Some(new) if !new.is_empty() => {
                let end = self.end();
                if let Some(h) = &mut self.hunt
                    && skip == 0
                {
                    h.starts.push((end, packet));
                }
                self.data.extend_from_slice(new);
                self.next_seq = self.next_seq.wrapping_add(new.len() as u32);
                true
            }
            _ => false,
        }
    }

    /// Moves the pending segments that now touch the stream onto it; with `each`, cuts after
    /// every segment as completed by its own packet (segments read past a lost hole), else
    /// the packet that filled the hole completes them all.
    fn drain_pending(&mut self, mut each: Option<(&mut Emit, &mut Out)>) {
        loop {
            let end = self.end() as i64;
            let Some(entry) = self.pending.first_entry() else { break };
            if *entry.key() > end {
                break;
            }
            let (start, (bytes, packet, time)) = entry.remove_entry();
            self.pending_bytes -= bytes.len();
            let grew = self.append(start, &bytes, packet);
            if let Some((e, out)) = each.as_mut().filter(|_| grew) {
                self.cut((packet, time), e, out);
            }
        }
    }

    /// The hole before the first pending segment never filled (the capture lost it): what
    /// is cut short before it is noted, and reading goes on from the first segment after it
    /// that starts a message.
    fn give_up_hole(&mut self, e: &mut Emit, out: &mut Out) {
        let Some((&start, _)) = self.pending.first_key_value() else { return };
        let Ok(start) = usize::try_from(start) else {
            self.pending.clear();
            self.pending_bytes = 0;
            return;
        };
        self.note_cut_short(e, out);
        self.end_hunt(e, out);
        let gap_at = self.end();
        self.next_seq = self.next_seq.wrapping_add((start - gap_at) as u32);
        self.data.clear();
        self.base = start;
        self.hunt = Some(Hunt { gap_at, gap_len: start - gap_at, starts: Vec::new() });
        self.drain_pending(Some((e, out)));
    }

    /// A hunt that ends without finding a message start says so.
    fn end_hunt(&mut self, e: &Emit, out: &mut Out) {
        if let Some(h) = self.hunt.take() {
            let seen = self.end() - h.gap_at - h.gap_len;
            out.notes.push(format!(
                "{}: gap of {} byte(s) at stream offset {} (lost by the capture); the {seen} byte(s) after it hold no message start",
                e.what(),
                h.gap_len,
                h.gap_at
            ));
        }
    }

    /// Whether a message plausibly starts at stream offset `at` (to pick up after a gap): an
    /// NBSS session message holding an SMB protocol id, or a record mark and a Kerberos
    /// APPLICATION tag. `None` while too few bytes are there to tell.
    fn starts_message(&self, at: usize, protocol: Protocol) -> Option<bool> {
        let b = self.data.get(at - self.base..)?;
        let first = *b.first()?;
        Some(match protocol {
            Protocol::Smb => {
                let id = b.get(4..8)?;
                first == 0 && matches!(id, b"\xfeSMB" | b"\xfdSMB" | b"\xfcSMB" | b"\xffSMB")
            }
            Protocol::Kerberos => first == 0 && (0x6a..=0x7e).contains(b.get(4)?),
            Protocol::Tls => (20..=24).contains(&first) && b.get(1) == Some(&3),
        })
    }

    /// While hunting after a lost hole: drops what comes before the first segment that starts
    /// a message, and says where reading resumed. False while still hunting.
    fn hunted(&mut self, e: &Emit, out: &mut Out) -> bool {
        let Some(h) = &mut self.hunt else { return true };
        let starts = std::mem::take(&mut h.starts);
        for (i, &(at, packet)) in starts.iter().enumerate() {
            match self.starts_message(at, e.conn.protocol) {
                Some(true) => {
                    let Some(h) = self.hunt.take() else { return true };
                    out.notes.push(format!(
                        "{}: gap of {} byte(s) at stream offset {} (lost by the capture); resumed at offset {at}, packet {packet}",
                        e.what(),
                        h.gap_len,
                        h.gap_at
                    ));
                    self.data.drain(..at - self.base);
                    self.base = at;
                    return true;
                }
                Some(false) => {}
                None => {
                    // Too short to tell yet: keep it for when more bytes come.
                    if let Some(h) = &mut self.hunt {
                        h.starts = starts[i..].to_vec();
                    }
                    let drop = at - self.base;
                    self.data.drain(..drop);
                    self.base = at;
                    return false;
                }
            }
        }
        // Nothing here starts a message: the bytes are passed over.
        self.base = self.end();
        self.data.clear();
        false
    }

    /// Cuts the complete messages at the front of the stream; `at`: the packet (and its
    /// time) that completed them.
    fn cut(&mut self, at: (usize, i128), e: &mut Emit, out: &mut Out) {
        if !self.hunted(e, out) {
            return;
        }
        let mut off = 0;
        let header = header_len(e.conn.protocol);
        while let Some(hdr) = self.data.get(off..off + header) {
            let (len, message) = match framing(e.conn.protocol, hdr) {
                Framing::Message(len) => (len, true),
                Framing::Skip(len) => (len, false),
                Framing::Broken(why) => {
                    out.notes.push(format!("{}: {why} at stream offset {}: direction ends", e.what(), self.base + off));
                    self.dead = true;
                    self.data = Vec::new();
                    self.pending.clear();
                    self.pending_bytes = 0;
                    return;
                }
            };
            let Some(body) = self.data.get(off + header..off + header + len) else { break };
            if message {
                // A TLS record keeps its header: it is the record's authenticated data.
                let whole = if e.conn.protocol == Protocol::Tls { &self.data[off..off + header + len] } else { body };
                e.message(out, at.0, at.1, self.base + off, whole);
            }
            off += header + len;
        }
        self.data.drain(..off);
        self.base += off;
    }

    /// What is left unread at the end of the stream (or before a lost hole).
    fn note_cut_short(&self, e: &Emit, out: &mut Out) {
        if self.data.is_empty() || self.hunt.is_some() || self.dead {
            return;
        }
        let what = e.what();
        let header = header_len(e.conn.protocol);
        match self.data.get(..header).map(|h| framing(e.conn.protocol, h)) {
            None => {
                out.notes.push(format!("{what}: {} byte(s) at the end, shorter than a framing header", self.data.len()))
            }
            Some(Framing::Message(len) | Framing::Skip(len)) => out.notes.push(format!(
                "{what}: message at stream offset {} needs {len} byte(s), {} captured",
                self.base,
                self.data.len() - header
            )),
            Some(Framing::Broken(_)) => {}
        }
    }

    /// The end of the capture: every hole is lost, and what is left is noted.
    fn finish(&mut self, e: &mut Emit, out: &mut Out) {
        while !self.pending.is_empty() && !self.dead {
            self.give_up_hole(e, out);
        }
        self.note_cut_short(e, out);
        self.end_hunt(e, out);
    }
}

/// What a framing header announces.
enum Framing {
    /// A message of this length follows.
    Message(usize),
    /// Bytes of this length to pass over (NBSS session control).
    Skip(usize),
    /// Not a framing header: the direction cannot be read further.
    Broken(String),
}

/// What the framing header at a message boundary says: NBSS on the SMB ports (RFC 1002 4.3;
/// MS-SMB2 2.1: type byte and a 24-bit length), an RFC 4120 7.2.2 record mark on the Kerberos
/// ports (32-bit length, top bit reserved for extensions keyless does not know), a TLS
/// record header on the TLS ports.
fn framing(protocol: Protocol, hdr: &[u8]) -> Framing {
    let be = |b: &[u8]| b.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
    match protocol {
        Protocol::Smb => match hdr[0] {
            // A session message; an empty one is skipped.
            0x00 if be(&hdr[1..]) > 0 => Framing::Message(be(&hdr[1..])),
            // Session request, positive/negative response, retarget, keep-alive.
            0x00 | 0x81..=0x85 => Framing::Skip(be(&hdr[1..])),
            t => Framing::Broken(format!("not NBSS (type byte {t:#04x})")),
        },
        Protocol::Kerberos if hdr[0] & 0x80 != 0 => {
            Framing::Broken("a record mark with the reserved bit set".to_string())
        }
        Protocol::Kerberos => Framing::Message(be(hdr)),
        // ContentType, ProtocolVersion (3.x), length (RFC 8446 5.1: at most 2^14 + 256).
        Protocol::Tls if !(20..=24).contains(&hdr[0]) || hdr[1] != 3 => {
            Framing::Broken(format!("not a TLS record (type {}, version {}.{})", hdr[0], hdr[1], hdr[2]))
        }
        Protocol::Tls => Framing::Message(be(&hdr[3..])),
    }
}

/// Bytes of the framing header: NBSS and the Kerberos record mark 4, a TLS record's 5.
fn header_len(protocol: Protocol) -> usize {
    if protocol == Protocol::Tls { 5 } else { 4 }
}

#[derive(Debug)]
struct ConnState {
    conn: Connection,
    to_server: Direction,
    to_client: Direction,
    next_index: usize,
}

impl ConnState {
    /// The direction `to_server` names, and what it needs to hand messages out.
    fn split(&mut self, connection: usize, to_server: bool) -> (&mut Direction, Emit<'_>) {
        let Self { conn, to_server: s, to_client: c, next_index } = self;
        let dir = if to_server { s } else { c };
        (dir, Emit { conn, connection, to_server, next_index })
    }
}

pub(crate) struct Reassembler {
    ports: Ports,
    conns: Vec<ConnState>,
    by_key: HashMap<(SocketAddr, SocketAddr, bool), usize>,
}

impl Reassembler {
    pub(crate) fn new(ports: Ports) -> Self {
        Self { ports, conns: Vec::new(), by_key: HashMap::new() }
    }

    /// Which way a packet between `src` and `dst` goes (to the server?) and what it speaks;
    /// None when neither end is on a port looked at.
    fn direction(&self, src: SocketAddr, dst: SocketAddr, udp: bool, syn_ack: bool) -> Option<(bool, Protocol)> {
        match (self.ports.protocol(dst.port()), self.ports.protocol(src.port())) {
            (Some(p), None) => Some((true, p)),
            (None, Some(p)) => Some((false, p)),
            (Some(p), Some(_)) => {
                // Both ends on a server port: whoever was seen first (or sent the SYN) is the client.
                let known = self.by_key.get(&(src, dst, udp)).or_else(|| self.by_key.get(&(dst, src, udp)));
                Some(match known {
                    Some(&i) => (self.conns[i].conn.server == dst, p),
                    None => (!syn_ack, p),
                })
            }
            (None, None) => None,
        }
    }

    fn connection(&mut self, key: (SocketAddr, SocketAddr, bool), protocol: Protocol, new: bool) -> usize {
        match self.by_key.get(&key) {
            Some(&i) if !new => i,
            _ => {
                let conn = Connection { client: key.0, server: key.1, protocol, udp: key.2 };
                self.conns.push(ConnState {
                    conn,
                    to_server: Direction::default(),
                    to_client: Direction::default(),
                    next_index: 0,
                });
                self.by_key.insert(key, self.conns.len() - 1);
                self.conns.len() - 1
            }
        }
    }

    pub(crate) fn segment(&mut self, packet: usize, time_ns: i128, s: Segment<'_>, out: &mut Out) {
        let Some((to_server, protocol)) = self.direction(s.src, s.dst, false, s.syn && s.ack) else { return };
        let key = if to_server { (s.src, s.dst, false) } else { (s.dst, s.src, false) };
        let reused = self.by_key.get(&key).is_some_and(|&i| {
            let c = &self.conns[i].to_server;
            // A new client SYN on a used 4-tuple starts a new connection.
            to_server && s.syn && !s.ack && (c.isn.is_some_and(|isn| isn != s.seq) || c.end() > 0)
        });
        let idx = self.connection(key, protocol, reused);
        let (dir, mut emit) = self.conns[idx].split(idx, to_server);
        let mut seq = s.seq;
        if s.syn {
            dir.syn(s.seq);
            seq = seq.wrapping_add(1);
        }
        dir.data((packet, time_ns), seq, s.payload, &mut emit, out);
    }

    pub(crate) fn datagram(&mut self, packet: usize, time_ns: i128, d: Datagram<'_>, out: &mut Out) {
        let Some((to_server, protocol)) = self.direction(d.src, d.dst, true, false) else { return };
        if protocol != Protocol::Kerberos || d.payload.is_empty() {
            return;
        }
        let key = if to_server { (d.src, d.dst, true) } else { (d.dst, d.src, true) };
        let idx = self.connection(key, protocol, false);
        let (_, mut emit) = self.conns[idx].split(idx, to_server);
        emit.message(out, packet, time_ns, 0, d.payload);
    }

    /// The end of the capture: holes count as lost, what is cut short is noted; the
    /// connections seen, in order of first appearance.
    pub(crate) fn finish(mut self, out: &mut Out) -> Vec<Connection> {
        for (i, st) in self.conns.iter_mut().enumerate() {
            for to_server in [true, false] {
                let (dir, mut emit) = st.split(i, to_server);
                dir.finish(&mut emit, out);
            }
        }
        self.conns.into_iter().map(|c| c.conn).collect()
    }
}
