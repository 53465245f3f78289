//! TCP reassembly per direction, UDP datagrams per endpoint pair, and the cutting of streams
//! into messages (NBSS for SMB, RFC 4120 record marks for Kerberos).

use crate::layers::{Datagram, Segment};
use crate::{Capture, Connection, Message, Ports, Protocol};
use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};
use std::net::SocketAddr;

/// One direction of a connection: the contiguous bytes so far and what waits beyond a hole.
#[derive(Debug, Default)]
struct Direction {
    /// Sequence number of the first SYN seen, if any.
    isn: Option<u32>,
    /// Sequence number of the next contiguous byte (valid once `started`).
    next_seq: u32,
    started: bool,
    data: Vec<u8>,
    /// (stream length after growth, packet that grew it, its time): increasing.
    marks: Vec<(usize, usize, i128)>,
    /// Segments beyond a hole, by stream offset: (bytes, packet, time).
    pending: BTreeMap<i64, (Vec<u8>, usize, i128)>,
}

impl Direction {
    fn syn(&mut self, seq: u32) {
        if !self.started {
            self.isn = Some(seq);
            self.next_seq = seq.wrapping_add(1);
            self.started = true;
        }
    }

    fn data(&mut self, packet: usize, time_ns: i128, seq: u32, payload: &[u8]) {
        if payload.is_empty() {
            return;
        }
        if !self.started {
            // Picked up mid-stream: the first data seen starts the stream.
            self.next_seq = seq;
            self.started = true;
        }
        let next = self.data.len() as i64;
        let start = next + i64::from(seq.wrapping_sub(self.next_seq) as i32);
        if start > next {
            let e = self.pending.entry(start).or_insert_with(|| (Vec::new(), packet, time_ns));
            if payload.len() > e.0.len() {
                e.0 = payload.to_vec();
            }
            return;
        }
        if self.append(start, payload) {
            self.drain_pending();
            self.marks.push((self.data.len(), packet, time_ns));
        }
    }

    /// Appends the part of `bytes` (at stream offset `start` ≤ length) that is new.
    fn append(&mut self, start: i64, bytes: &[u8]) -> bool {
        let have = self.data.len() as i64;
        let skip = (have - start) as usize;
        match bytes.get(skip..) {
            Some(new) if !new.is_empty() => {
                self.data.extend_from_slice(new);
                self.next_seq = self.next_seq.wrapping_add(new.len() as u32);
                true
            }
            _ => false,
        }
    }

    fn drain_pending(&mut self) {
        while let Some(entry) = self.pending.first_entry() {
            if *entry.key() > self.data.len() as i64 {
                break;
            }
            let (start, (bytes, _, _)) = entry.remove_entry();
            self.append(start, &bytes);
        }
    }

    /// The contiguous data, then the pieces beyond each hole that never filled (packets the
    /// capture lost), merged where they touch.
    fn runs(&self) -> Vec<Run<'_>> {
        let mut runs = vec![Run { start: 0, data: Cow::Borrowed(&self.data), marks: Cow::Borrowed(&self.marks) }];
        for (&start, (bytes, packet, time)) in &self.pending {
            let Ok(start) = usize::try_from(start) else { continue };
            let Some(last) = runs.last_mut() else { continue };
            let end = last.start + last.data.len();
            if start > end {
                let marks = vec![(start + bytes.len(), *packet, *time)];
                runs.push(Run { start, data: Cow::Owned(bytes.clone()), marks: Cow::Owned(marks) });
            } else if let Some(new) = bytes.get(end - start..).filter(|n| !n.is_empty()) {
                last.data.to_mut().extend_from_slice(new);
                let end = last.start + last.data.len();
                last.marks.to_mut().push((end, *packet, *time));
            }
        }
        runs
    }
}

/// A contiguous piece of one direction's stream.
struct Run<'a> {
    /// Stream offset of `data[0]`.
    start: usize,
    data: Cow<'a, [u8]>,
    /// (stream offset just past a segment, its packet, its time): increasing.
    marks: Cow<'a, [(usize, usize, i128)]>,
}

impl Run<'_> {
    /// The packet (and its time) that made stream byte `end - 1` contiguous.
    fn packet_completing(&self, end: usize) -> (usize, i128) {
        let i = self.marks.partition_point(|&(e, _, _)| e < end);
        self.marks.get(i).map_or((0, 0), |&(_, p, t)| (p, t))
    }

    /// Where segments start, as offsets into `data`.
    fn segment_starts(&self) -> impl Iterator<Item = usize> + '_ {
        std::iter::once(0).chain(self.marks.iter().map(|&(e, _, _)| e - self.start)).filter(|&o| o < self.data.len())
    }
}

#[derive(Debug)]
struct ConnState {
    conn: Connection,
    to_server: Direction,
    to_client: Direction,
    /// UDP: the datagrams as they came (to server, packet, time, payload).
    datagrams: Vec<(bool, usize, i128, Vec<u8>)>,
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
                    datagrams: Vec::new(),
                });
                self.by_key.insert(key, self.conns.len() - 1);
                self.conns.len() - 1
            }
        }
    }

    pub(crate) fn segment(&mut self, packet: usize, time_ns: i128, s: Segment<'_>) {
        let Some((to_server, protocol)) = self.direction(s.src, s.dst, false, s.syn && s.ack) else { return };
        let key = if to_server { (s.src, s.dst, false) } else { (s.dst, s.src, false) };
        let reused = self.by_key.get(&key).is_some_and(|&i| {
            let c = &self.conns[i].to_server;
            // A new client SYN on a used 4-tuple starts a new connection.
            to_server && s.syn && !s.ack && (c.isn.is_some_and(|isn| isn != s.seq) || !c.data.is_empty())
        });
        let idx = self.connection(key, protocol, reused);
        let dir = if to_server { &mut self.conns[idx].to_server } else { &mut self.conns[idx].to_client };
        let mut seq = s.seq;
        if s.syn {
            dir.syn(s.seq);
            seq = seq.wrapping_add(1);
        }
        dir.data(packet, time_ns, seq, s.payload);
    }

    pub(crate) fn datagram(&mut self, packet: usize, time_ns: i128, d: Datagram<'_>) {
        let Some((to_server, protocol)) = self.direction(d.src, d.dst, true, false) else { return };
        if protocol != Protocol::Kerberos || d.payload.is_empty() {
            return;
        }
        let key = if to_server { (d.src, d.dst, true) } else { (d.dst, d.src, true) };
        let idx = self.connection(key, protocol, false);
        self.conns[idx].datagrams.push((to_server, packet, time_ns, d.payload.to_vec()));
    }

    pub(crate) fn finish(self, notes: &mut Vec<String>) -> Capture {
        let mut capture = Capture::default();
        for (ci, st) in self.conns.into_iter().enumerate() {
            let mut messages = Vec::new();
            for (to_server, packet, time_ns, payload) in st.datagrams {
                messages.push(Message {
                    connection: ci,
                    to_server,
                    index: 0,
                    packet,
                    time_ns,
                    stream_offset: 0,
                    payload,
                });
            }
            for (to_server, dir) in [(true, &st.to_server), (false, &st.to_client)] {
                let what = format!(
                    "connection {ci} {} {}",
                    if to_server { st.conn.client } else { st.conn.server },
                    if to_server { "to server" } else { "to client" },
                );
                let runs = dir.runs();
                for (i, run) in runs.iter().enumerate() {
                    let cut = Cut { run, to_server, connection: ci, what: &what, protocol: st.conn.protocol };
                    let from = if i == 0 {
                        0
                    } else {
                        let end = runs[i - 1].start + runs[i - 1].data.len();
                        let at = run.segment_starts().find(|&o| cut.starts_message(o));
                        notes.push(format!(
                            "{what}: gap of {} byte(s) at stream offset {end} (lost by the capture); {}",
                            run.start - end,
                            match at {
                                Some(o) => format!("resumed at offset {}, packet {}", run.start + o, cut.packet_at(o)),
                                None => format!("the {} byte(s) after it hold no message start", run.data.len()),
                            }
                        ));
                        let Some(at) = at else { continue };
                        at
                    };
                    cut.messages(from, &mut messages, notes);
                }
            }
            // Stable: messages completed by one packet are of one direction, already in order.
            messages.sort_by_key(|m| m.packet);
            for (i, m) in messages.iter_mut().enumerate() {
                m.index = i;
            }
            capture.messages.extend(messages);
            capture.connections.push(st.conn);
        }
        capture.messages.sort_by_key(|m| m.packet);
        capture
    }
}

/// One run of a direction's stream, to cut into messages (offsets into the run).
struct Cut<'a> {
    run: &'a Run<'a>,
    to_server: bool,
    connection: usize,
    what: &'a str,
    protocol: Protocol,
}

impl Cut<'_> {
    fn push(&self, messages: &mut Vec<Message>, off: usize, payload: &[u8]) {
        let stream_offset = self.run.start + off;
        let (packet, time_ns) = self.run.packet_completing(stream_offset + 4 + payload.len());
        messages.push(Message {
            connection: self.connection,
            to_server: self.to_server,
            index: 0,
            packet,
            time_ns,
            stream_offset,
            payload: payload.to_vec(),
        });
    }

    fn packet_at(&self, off: usize) -> usize {
        self.run.packet_completing(self.run.start + off + 1).0
    }

    /// Whether a message plausibly starts at `off` (to pick up after a gap): an NBSS session
    /// message holding an SMB protocol id, or a record mark and a Kerberos APPLICATION tag.
    fn starts_message(&self, off: usize) -> bool {
        let data = &self.run.data;
        match self.protocol {
            Protocol::Smb => {
                data.get(off) == Some(&0)
                    && matches!(data.get(off + 4..off + 8), Some(b"\xfeSMB" | b"\xfdSMB" | b"\xfcSMB" | b"\xffSMB"))
            }
            Protocol::Kerberos => {
                data.get(off) == Some(&0) && data.get(off + 4).is_some_and(|t| (0x6a..=0x7e).contains(t))
            }
        }
    }

    /// The 4-byte header at `off` and the `len` bytes after it, or a note that the run
    /// ends first.
    fn body(&self, off: usize, len: usize, notes: &mut Vec<String>) -> Option<&[u8]> {
        let data = &self.run.data;
        let body = data.get(off + 4..off + 4 + len);
        if body.is_none() {
            notes.push(format!(
                "{}: message at stream offset {} needs {len} byte(s), {} captured",
                self.what,
                self.run.start + off,
                data.len() - off - 4
            ));
        }
        body
    }

    /// What the 4-byte framing header at a message boundary says: NBSS on the SMB ports
    /// (RFC 1002 4.3; MS-SMB2 2.1: type byte and a 24-bit length), an RFC 4120 7.2.2 record
    /// mark on the Kerberos ports (32-bit length, top bit reserved for extensions keyless
    /// does not know).
    fn header(&self, hdr: &[u8]) -> Framing {
        let be = |b: &[u8]| b.iter().fold(0usize, |acc, &x| (acc << 8) | usize::from(x));
        match self.protocol {
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
        }
    }

    /// Cuts the run, from offset `from`, into messages at their framing headers.
    fn messages(&self, from: usize, messages: &mut Vec<Message>, notes: &mut Vec<String>) {
        let data = &self.run.data;
        let mut off = from;
        while off < data.len() {
            let Some(hdr) = data.get(off..off + 4) else {
                notes.push(format!(
                    "{}: {} byte(s) at the end, shorter than a framing header",
                    self.what,
                    data.len() - off
                ));
                return;
            };
            let len = match self.header(hdr) {
                Framing::Message(len) => {
                    let Some(payload) = self.body(off, len, notes) else { return };
                    self.push(messages, off, payload);
                    len
                }
                Framing::Skip(len) => len,
                Framing::Broken(why) => {
                    notes.push(format!(
                        "{}: {why} at stream offset {}: direction ends",
                        self.what,
                        self.run.start + off
                    ));
                    return;
                }
            };
            off += 4 + len;
        }
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
