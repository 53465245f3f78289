//! A minimal capture reader for tests: SMB2/3 messages out of pcap and pcapng files.
//!
//! Reads classic pcap (either byte order, micro- or nanosecond) and pcapng (SHB, IDB, EPB, SPB
//! and the obsolete PB, in either byte order; a file may hold several sections), on Ethernet
//! (with 802.1Q/802.1ad tags), raw IP (101, 228, 229), BSD loopback (0, 108) and Linux cooked
//! capture (SLL 113, SLL2 276). IPv4 and IPv6 carry TCP; fragmented IP is skipped with a note.
//!
//! TCP is reassembled per direction the way a receiver would: segments in sequence order,
//! retransmitted and overlapping bytes dropped, out-of-order segments held until the hole before
//! them fills. A hole that never fills ends that direction; it is reported in
//! [`Capture::notes`], never a panic. Each direction's byte stream is then cut into Direct TCP
//! (NBSS) frames: a zero byte and a 24-bit big-endian length, then the SMB2 message, transform
//! (`FD 'SMB'`) or compression transform (`FC 'SMB'`), or SMB1 (`FF 'SMB'`). NBSS session
//! packets of other types (session request/response, keep-alive; port 139) are skipped.
//!
//! Frames of one connection come in capture order: a frame counts as arriving with the packet
//! that made its last byte contiguous, as tshark shows it. Connections come in order of their
//! first packet.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::path::Path;

/// One Direct TCP (NBSS session message) frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmbFrame {
    /// Index of the connection in [`Capture::connections`] (order of first appearance).
    pub connection: usize,
    /// Sent to the server port (client to server).
    pub to_server: bool,
    /// Position of this frame in its connection, both directions counted.
    pub index: usize,
    /// 1-based number of the capture packet that completed the frame (tshark's `frame.number`).
    pub packet: usize,
    /// The message without its 4-byte NBSS header: SMB2 header, transform or compression
    /// transform header, or SMB1.
    pub payload: Vec<u8>,
}

/// A TCP connection to the server port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The client's address and port.
    pub client: SocketAddr,
    /// The server's address and port.
    pub server: SocketAddr,
}

/// Everything read from one capture.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    /// TCP connections with the server port, in order of first appearance.
    pub connections: Vec<Connection>,
    /// NBSS session messages: per connection in capture order, connections one after another.
    pub frames: Vec<SmbFrame>,
    /// Packet records read (TCP or not).
    pub packets: usize,
    /// What could not be read: gaps in a stream, skipped packets, a truncated file.
    pub notes: Vec<String>,
}

/// The `.pcap` and `.pcapng` files in `dir`, sorted (none when it does not exist).
pub fn capture_files(dir: &Path) -> Vec<std::path::PathBuf> {
    let mut files: Vec<std::path::PathBuf> = std::fs::read_dir(dir)
        .map(|entries| {
            entries
                .filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|x| x == "pcap" || x == "pcapng"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// The NBSS frames of the TCP connections with `server_port` (445 for Direct TCP) in a capture.
pub fn smb_frames(path: &Path, server_port: u16) -> Result<Vec<SmbFrame>, String> {
    read_capture(path, server_port).map(|c| c.frames)
}

/// Reads a pcap or pcapng file; see [`parse_capture`].
pub fn read_capture(path: &Path, server_port: u16) -> Result<Capture, String> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse_capture(&bytes, server_port).map_err(|e| format!("{}: {e}", path.display()))
}

/// Reads a pcap or pcapng image held in memory. Errors only when the file format itself is not
/// understood; damage past a valid header ends the reading with a note.
pub fn parse_capture(bytes: &[u8], server_port: u16) -> Result<Capture, String> {
    let mut notes = Vec::new();
    let records = packet_records(bytes, &mut notes)?;
    let mut tcp = Reassembler::new(server_port);
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for (i, rec) in records.iter().enumerate() {
        match decode_packet(rec.linktype, rec.data) {
            Ok(Some(seg)) => tcp.segment(i + 1, seg),
            Ok(None) => {}
            Err(why) => *skipped.entry(why).or_default() += 1,
        }
    }
    for (why, n) in skipped {
        notes.push(format!("{n} packet(s) skipped: {why}"));
    }
    let mut capture = tcp.finish(&mut notes);
    capture.packets = records.len();
    capture.notes.extend(notes);
    Ok(capture)
}

// ---------------------------------------------------------------------------------------------
// File formats

/// One packet as stored: its link type and captured bytes.
#[derive(Debug, Clone, Copy)]
struct Record<'a> {
    linktype: u32,
    data: &'a [u8],
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Endian {
    Little,
    Big,
}

fn u16_at(b: &[u8], off: usize, e: Endian) -> Option<u16> {
    let s: [u8; 2] = b.get(off..off.checked_add(2)?)?.try_into().ok()?;
    Some(match e {
        Endian::Little => u16::from_le_bytes(s),
        Endian::Big => u16::from_be_bytes(s),
    })
}

fn u32_at(b: &[u8], off: usize, e: Endian) -> Option<u32> {
    let s: [u8; 4] = b.get(off..off.checked_add(4)?)?.try_into().ok()?;
    Some(match e {
        Endian::Little => u32::from_le_bytes(s),
        Endian::Big => u32::from_be_bytes(s),
    })
}

fn be16(b: &[u8], off: usize) -> Option<u16> {
    u16_at(b, off, Endian::Big)
}

fn be32(b: &[u8], off: usize) -> Option<u32> {
    u32_at(b, off, Endian::Big)
}

const PCAPNG_SHB: u32 = 0x0A0D_0D0A;

fn packet_records<'a>(bytes: &'a [u8], notes: &mut Vec<String>) -> Result<Vec<Record<'a>>, String> {
    let magic = be32(bytes, 0).ok_or("shorter than a capture file header")?;
    match magic {
        0xA1B2_C3D4 | 0xA1B2_3C4D => pcap_records(bytes, Endian::Big, notes),
        0xD4C3_B2A1 | 0x4D3C_B2A1 => pcap_records(bytes, Endian::Little, notes),
        PCAPNG_SHB => pcapng_records(bytes, notes),
        _ => Err(format!("not a pcap or pcapng file (magic {magic:08x})")),
    }
}

fn pcap_records<'a>(bytes: &'a [u8], e: Endian, notes: &mut Vec<String>) -> Result<Vec<Record<'a>>, String> {
    let network = u32_at(bytes, 20, e).ok_or("pcap file header truncated")?;
    // The upper bits may carry FCS information (pcap-savefile); the link type is the low 16.
    let linktype = network & 0xFFFF;
    if !linktype_supported(linktype) {
        return Err(format!("unsupported pcap link type {linktype}"));
    }
    let mut out = Vec::new();
    let mut off = 24usize;
    while off < bytes.len() {
        let incl = u32_at(bytes, off + 8, e).map(|n| n as usize);
        let data = incl.and_then(|n| bytes.get(off + 16..(off + 16).checked_add(n)?));
        let Some(data) = data else {
            notes.push(format!("pcap record {} truncated at byte {off}: reading stopped", out.len() + 1));
            break;
        };
        out.push(Record { linktype, data });
        off += 16 + data.len();
    }
    Ok(out)
}

#[derive(Debug, Clone, Copy)]
struct Interface {
    linktype: u32,
    snaplen: u32,
}

fn pcapng_records<'a>(bytes: &'a [u8], notes: &mut Vec<String>) -> Result<Vec<Record<'a>>, String> {
    let mut out = Vec::new();
    let mut e = Endian::Little;
    let mut interfaces: Vec<Interface> = Vec::new();
    let mut off = 0usize;
    while off < bytes.len() {
        // The block type reads the same in both byte orders only for the SHB, which sets the order.
        let Some(raw_type) = be32(bytes, off) else {
            notes.push(format!("pcapng: {} stray byte(s) at the end", bytes.len() - off));
            break;
        };
        if raw_type == PCAPNG_SHB {
            e = match be32(bytes, off + 8) {
                Some(0x1A2B_3C4D) => Endian::Big,
                Some(0x4D3C_2B1A) => Endian::Little,
                _ => return Err(format!("pcapng section header at byte {off}: bad byte-order magic")),
            };
            interfaces.clear();
        }
        let (Some(btype), Some(len)) = (u32_at(bytes, off, e), u32_at(bytes, off + 4, e)) else {
            notes.push(format!("pcapng block at byte {off} truncated: reading stopped"));
            break;
        };
        let len = len as usize;
        let block =
            if len >= 12 && len & 3 == 0 { off.checked_add(len).and_then(|end| bytes.get(off..end)) } else { None };
        let Some(block) = block else {
            if out.is_empty() && btype == PCAPNG_SHB && off == 0 {
                return Err(format!("pcapng section header has a bad length {len}"));
            }
            notes.push(format!(
                "pcapng block at byte {off} (type {btype:#x}, length {len}) is damaged: reading stopped"
            ));
            break;
        };
        if u32_at(block, len - 4, e) != Some(len as u32) {
            notes.push(format!("pcapng block at byte {off}: trailing length differs: reading stopped"));
            break;
        }
        let body = &block[8..len - 4];
        match btype {
            1 => {
                let (Some(lt), Some(snaplen)) = (u16_at(body, 0, e), u32_at(body, 4, e)) else {
                    return Err(format!("pcapng interface block at byte {off} truncated"));
                };
                interfaces.push(Interface { linktype: u32::from(lt), snaplen });
            }
            // Enhanced packet block, and the obsolete packet block (16-bit interface id).
            6 | 2 => {
                let ifid = if btype == 6 { u32_at(body, 0, e) } else { u16_at(body, 0, e).map(u32::from) };
                let caplen = u32_at(body, 12, e).map(|n| n as usize);
                let data = caplen.and_then(|n| body.get(20..20usize.checked_add(n)?));
                let iface = ifid.and_then(|i| interfaces.get(i as usize));
                match (iface, data) {
                    (Some(iface), Some(data)) => out.push(Record { linktype: iface.linktype, data }),
                    (None, _) => return Err(format!("pcapng packet at byte {off} names an undeclared interface")),
                    (_, None) => notes.push(format!("pcapng packet at byte {off} is shorter than its length: skipped")),
                }
            }
            // Simple packet block: interface 0, captured length = min(original, snaplen, room).
            3 => {
                let iface =
                    interfaces.first().ok_or(format!("pcapng simple packet at byte {off} before any interface"))?;
                let orig = u32_at(body, 0, e).map_or(0, |n| n as usize);
                let mut caplen = orig.min(body.len().saturating_sub(4));
                if iface.snaplen != 0 {
                    caplen = caplen.min(iface.snaplen as usize);
                }
                if let Some(data) = body.get(4..4 + caplen) {
                    out.push(Record { linktype: iface.linktype, data });
                }
            }
            _ => {}
        }
        off += len;
    }
    if let Some(i) = interfaces.iter().find(|i| !linktype_supported(i.linktype)) {
        notes.push(format!("pcapng interface with unsupported link type {}: its packets skipped", i.linktype));
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Link, network and transport layers

const LINKTYPE_NULL: u32 = 0;
const LINKTYPE_ETHERNET: u32 = 1;
const LINKTYPE_RAW: u32 = 101;
const LINKTYPE_LOOP: u32 = 108;
const LINKTYPE_LINUX_SLL: u32 = 113;
const LINKTYPE_IPV4: u32 = 228;
const LINKTYPE_IPV6: u32 = 229;
const LINKTYPE_LINUX_SLL2: u32 = 276;

fn linktype_supported(lt: u32) -> bool {
    matches!(
        lt,
        LINKTYPE_NULL
            | LINKTYPE_ETHERNET
            | LINKTYPE_RAW
            | LINKTYPE_LOOP
            | LINKTYPE_LINUX_SLL
            | LINKTYPE_IPV4
            | LINKTYPE_IPV6
            | LINKTYPE_LINUX_SLL2
    )
}

/// A TCP segment as carried: addresses, sequence number, SYN/ACK flags and the captured payload.
#[derive(Debug, Clone, Copy)]
struct Segment<'a> {
    src: SocketAddr,
    dst: SocketAddr,
    seq: u32,
    syn: bool,
    ack: bool,
    payload: &'a [u8],
}

/// `Ok(None)` for a packet that is not TCP; `Err` names why a packet could not be read.
fn decode_packet(linktype: u32, data: &[u8]) -> Result<Option<Segment<'_>>, String> {
    match linktype {
        LINKTYPE_ETHERNET => {
            let ethertype = be16(data, 12).ok_or("Ethernet header truncated")?;
            ethertype_payload(ethertype, data.get(14..).unwrap_or_default())
        }
        LINKTYPE_LINUX_SLL => {
            let proto = be16(data, 14).ok_or("SLL header truncated")?;
            ethertype_payload(proto, data.get(16..).unwrap_or_default())
        }
        LINKTYPE_LINUX_SLL2 => {
            let proto = be16(data, 0).ok_or("SLL2 header truncated")?;
            ethertype_payload(proto, data.get(20..).unwrap_or_default())
        }
        LINKTYPE_NULL | LINKTYPE_LOOP => {
            // The address family, in the writer's byte order (NULL) or big-endian (LOOP).
            let raw: [u8; 4] = data.get(..4).and_then(|s| s.try_into().ok()).ok_or("loopback header truncated")?;
            let family = if raw[0] == 0 && raw[1] == 0 { u32::from_be_bytes(raw) } else { u32::from_le_bytes(raw) };
            let rest = data.get(4..).unwrap_or_default();
            match family {
                2 => ip_payload(4, rest),
                24 | 28 | 30 => ip_payload(6, rest),
                _ => Ok(None),
            }
        }
        LINKTYPE_RAW => ip_payload(data.first().ok_or("empty raw IP packet")? >> 4, data),
        LINKTYPE_IPV4 => ip_payload(4, data),
        LINKTYPE_IPV6 => ip_payload(6, data),
        other => Err(format!("unsupported link type {other}")),
    }
}

fn ethertype_payload(mut ethertype: u16, mut rest: &[u8]) -> Result<Option<Segment<'_>>, String> {
    // 802.1Q, 802.1ad and the old QinQ tag: 2 bytes of tag control, then the next ethertype.
    while matches!(ethertype, 0x8100 | 0x88A8 | 0x9100) {
        ethertype = be16(rest, 2).ok_or("VLAN tag truncated")?;
        rest = rest.get(4..).unwrap_or_default();
    }
    match ethertype {
        0x0800 => ip_payload(4, rest),
        0x86DD => ip_payload(6, rest),
        _ => Ok(None),
    }
}

fn ip_payload(version: u8, p: &[u8]) -> Result<Option<Segment<'_>>, String> {
    match version {
        4 => {
            let ihl = usize::from(p.first().ok_or("IPv4 header truncated")? & 0x0F) * 4;
            if ihl < 20 || p.len() < ihl {
                return Err("IPv4 header truncated or bad IHL".into());
            }
            let total = usize::from(be16(p, 2).ok_or("IPv4 header truncated")?);
            let frag = be16(p, 6).ok_or("IPv4 header truncated")?;
            if p[9] != 6 {
                return Ok(None);
            }
            if frag & 0x3FFF != 0 {
                return Err("fragmented IPv4 (not reassembled)".into());
            }
            let src = IpAddr::V4(Ipv4Addr::new(p[12], p[13], p[14], p[15]));
            let dst = IpAddr::V4(Ipv4Addr::new(p[16], p[17], p[18], p[19]));
            // Total length 0 happens with TCP segmentation offload: take what was captured.
            // Otherwise it trims Ethernet padding; a capture cut short keeps what it has.
            let end = if total == 0 { p.len() } else { total.clamp(ihl, p.len()) };
            tcp_segment(src, dst, &p[ihl..end])
        }
        6 => {
            let hdr: &[u8; 40] = p.get(..40).and_then(|s| s.try_into().ok()).ok_or("IPv6 header truncated")?;
            let plen = usize::from(u16::from_be_bytes([hdr[4], hdr[5]]));
            let mut next = hdr[6];
            let src = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&hdr[8..24]).map_err(|e| e.to_string())?));
            let dst = IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&hdr[24..40]).map_err(|e| e.to_string())?));
            let end = if plen == 0 { p.len() } else { (40 + plen).min(p.len()) };
            let mut rest = &p[40..end];
            loop {
                match next {
                    6 => return tcp_segment(src, dst, rest),
                    // Hop-by-hop, routing, destination options: (len + 1) * 8 bytes.
                    0 | 43 | 60 => {
                        let n = (usize::from(*rest.get(1).ok_or("IPv6 extension truncated")?) + 1) * 8;
                        next = rest[0];
                        rest = rest.get(n..).ok_or("IPv6 extension truncated")?;
                    }
                    // Authentication header: (len + 2) * 4 bytes.
                    51 => {
                        let n = (usize::from(*rest.get(1).ok_or("IPv6 AH truncated")?) + 2) * 4;
                        next = rest[0];
                        rest = rest.get(n..).ok_or("IPv6 AH truncated")?;
                    }
                    44 => {
                        let fo = be16(rest, 2).ok_or("IPv6 fragment header truncated")?;
                        if fo & 0xFFF9 != 0 {
                            return Err("fragmented IPv6 (not reassembled)".into());
                        }
                        next = rest[0];
                        rest = rest.get(8..).ok_or("IPv6 fragment header truncated")?;
                    }
                    _ => return Ok(None),
                }
            }
        }
        v => Err(format!("IP version {v}")),
    }
}

fn tcp_segment(src: IpAddr, dst: IpAddr, t: &[u8]) -> Result<Option<Segment<'_>>, String> {
    let (Some(sport), Some(dport), Some(seq), Some(&off_byte), Some(&flags)) =
        (be16(t, 0), be16(t, 2), be32(t, 4), t.get(12), t.get(13))
    else {
        return Err("TCP header truncated".into());
    };
    let hlen = usize::from(off_byte >> 4) * 4;
    if hlen < 20 {
        return Err("TCP header length below 20".into());
    }
    Ok(Some(Segment {
        src: SocketAddr::new(src, sport),
        dst: SocketAddr::new(dst, dport),
        seq,
        syn: flags & 0x02 != 0,
        ack: flags & 0x10 != 0,
        // A header cut by the snapshot length leaves no payload (and so a gap if it had one).
        payload: t.get(hlen..).unwrap_or_default(),
    }))
}

// ---------------------------------------------------------------------------------------------
// TCP reassembly

/// One direction of a connection: the contiguous bytes so far and what waits beyond a hole.
#[derive(Debug, Default)]
struct Direction {
    /// Sequence number of the first SYN seen, if any.
    isn: Option<u32>,
    /// Sequence number of the next contiguous byte (valid once `started`).
    next_seq: u32,
    started: bool,
    data: Vec<u8>,
    /// (stream length after growth, packet that grew it): increasing in both.
    marks: Vec<(usize, usize)>,
    /// Segments beyond a hole, by stream offset: (bytes, packet).
    pending: BTreeMap<i64, (Vec<u8>, usize)>,
}

impl Direction {
    fn syn(&mut self, seq: u32) {
        if !self.started {
            self.isn = Some(seq);
            self.next_seq = seq.wrapping_add(1);
            self.started = true;
        }
    }

    fn data(&mut self, packet: usize, seq: u32, payload: &[u8]) {
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
            let e = self.pending.entry(start).or_insert_with(|| (Vec::new(), packet));
            if payload.len() > e.0.len() {
                *e = (payload.to_vec(), e.1);
            }
            return;
        }
        if self.append(start, payload) {
            self.drain_pending();
            self.marks.push((self.data.len(), packet));
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
            let (start, (bytes, _)) = entry.remove_entry();
            self.append(start, &bytes);
        }
    }

    /// The packet that made stream byte `end - 1` contiguous.
    fn packet_completing(&self, end: usize) -> usize {
        let i = self.marks.partition_point(|&(len, _)| len < end);
        self.marks.get(i).map_or(0, |&(_, p)| p)
    }
}

#[derive(Debug)]
struct ConnState {
    conn: Connection,
    to_server: Direction,
    to_client: Direction,
}

struct Reassembler {
    server_port: u16,
    conns: Vec<ConnState>,
    by_key: HashMap<(SocketAddr, SocketAddr), usize>,
}

impl Reassembler {
    fn new(server_port: u16) -> Self {
        Self { server_port, conns: Vec::new(), by_key: HashMap::new() }
    }

    fn segment(&mut self, packet: usize, s: Segment<'_>) {
        let to_server = if s.dst.port() == self.server_port && s.src.port() != self.server_port {
            true
        } else if s.src.port() == self.server_port && s.dst.port() != self.server_port {
            false
        } else if s.src.port() == self.server_port {
            // Both ends on the server port: whoever was seen first (or sent the SYN) is the client.
            match self.by_key.get(&(s.src, s.dst)).or_else(|| self.by_key.get(&(s.dst, s.src))) {
                Some(&i) => self.conns[i].conn.server == s.dst,
                None => !(s.syn && s.ack),
            }
        } else {
            return;
        };
        let key = if to_server { (s.src, s.dst) } else { (s.dst, s.src) };
        let reused = self.by_key.get(&key).is_some_and(|&i| {
            let c = &self.conns[i].to_server;
            // A new client SYN on a used 4-tuple starts a new connection.
            to_server && s.syn && !s.ack && (c.isn.is_some_and(|isn| isn != s.seq) || !c.data.is_empty())
        });
        let idx = match self.by_key.get(&key) {
            Some(&i) if !reused => i,
            _ => {
                self.conns.push(ConnState {
                    conn: Connection { client: key.0, server: key.1 },
                    to_server: Direction::default(),
                    to_client: Direction::default(),
                });
                self.by_key.insert(key, self.conns.len() - 1);
                self.conns.len() - 1
            }
        };
        let dir = if to_server { &mut self.conns[idx].to_server } else { &mut self.conns[idx].to_client };
        let mut seq = s.seq;
        if s.syn {
            dir.syn(s.seq);
            seq = seq.wrapping_add(1);
        }
        dir.data(packet, seq, s.payload);
    }

    fn finish(self, notes: &mut Vec<String>) -> Capture {
        let mut capture = Capture::default();
        for (ci, st) in self.conns.into_iter().enumerate() {
            let mut frames = Vec::new();
            for (to_server, dir) in [(true, &st.to_server), (false, &st.to_client)] {
                let what = format!(
                    "connection {ci} {} {}",
                    if to_server { st.conn.client } else { st.conn.server },
                    if to_server { "to server" } else { "to client" },
                );
                if let Some((&at, (bytes, packet))) = dir.pending.first_key_value() {
                    let lost: usize = dir.pending.values().map(|(b, _)| b.len()).sum();
                    notes.push(format!(
                        "{what}: gap of {} byte(s) at stream offset {}; {lost} later byte(s) from packet {packet} on \
                         ({} segment(s), {} byte(s) in the first) dropped",
                        at - dir.data.len() as i64,
                        dir.data.len(),
                        dir.pending.len(),
                        bytes.len(),
                    ));
                }
                split_nbss(dir, to_server, ci, &what, &mut frames, notes);
            }
            // Stable: frames completed by one packet are of one direction, already in order.
            frames.sort_by_key(|f| f.packet);
            for (i, f) in frames.iter_mut().enumerate() {
                f.index = i;
            }
            capture.frames.extend(frames);
            capture.connections.push(st.conn);
        }
        capture
    }
}

/// Cuts one direction's stream into NBSS session messages.
fn split_nbss(
    dir: &Direction,
    to_server: bool,
    connection: usize,
    what: &str,
    frames: &mut Vec<SmbFrame>,
    notes: &mut Vec<String>,
) {
    let data = &dir.data;
    let mut off = 0usize;
    while off < data.len() {
        let Some(hdr) = data.get(off..off + 4) else {
            notes.push(format!("{what}: {} byte(s) at the end, shorter than an NBSS header", data.len() - off));
            return;
        };
        let len = (usize::from(hdr[1]) << 16) | (usize::from(hdr[2]) << 8) | usize::from(hdr[3]);
        let end = off + 4 + len;
        match hdr[0] {
            // Session message; skip the empty ones.
            0x00 => {
                let Some(payload) = data.get(off + 4..end) else {
                    notes.push(format!(
                        "{what}: last NBSS frame at stream offset {off} needs {len} byte(s), {} captured",
                        data.len() - off - 4
                    ));
                    return;
                };
                if len > 0 {
                    let packet = dir.packet_completing(end);
                    frames.push(SmbFrame { connection, to_server, index: 0, packet, payload: payload.to_vec() });
                }
            }
            // Session request, positive/negative response, retarget, keep-alive (RFC 1002 4.3).
            0x81..=0x85 => {}
            t => {
                notes.push(format!("{what}: not NBSS at stream offset {off} (type byte {t:#04x}): direction ends"));
                return;
            }
        }
        off = end;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::process::Command;

    // -- writers for synthetic captures ---------------------------------------------------------

    fn put16(out: &mut Vec<u8>, v: u16, e: Endian) {
        out.extend(if e == Endian::Big { v.to_be_bytes() } else { v.to_le_bytes() });
    }

    fn put32(out: &mut Vec<u8>, v: u32, e: Endian) {
        out.extend(if e == Endian::Big { v.to_be_bytes() } else { v.to_le_bytes() });
    }

    fn pcap(e: Endian, nanos: bool, linktype: u32, packets: &[Vec<u8>]) -> Vec<u8> {
        let mut out = Vec::new();
        put32(&mut out, if nanos { 0xA1B2_3C4D } else { 0xA1B2_C3D4 }, e);
        put16(&mut out, 2, e);
        put16(&mut out, 4, e);
        put32(&mut out, 0, e);
        put32(&mut out, 0, e);
        put32(&mut out, 262_144, e);
        put32(&mut out, linktype, e);
        for (i, p) in packets.iter().enumerate() {
            put32(&mut out, 1_700_000_000 + i as u32, e);
            put32(&mut out, 0, e);
            put32(&mut out, p.len() as u32, e);
            put32(&mut out, p.len() as u32, e);
            out.extend(p);
        }
        out
    }

    fn block(out: &mut Vec<u8>, e: Endian, btype: u32, body: &[u8]) {
        let mut body = body.to_vec();
        while body.len() & 3 != 0 {
            body.push(0);
        }
        let len = 12 + body.len() as u32;
        put32(out, btype, e);
        put32(out, len, e);
        out.extend(body);
        put32(out, len, e);
    }

    /// A pcapng file; `simple` writes simple packet blocks instead of enhanced ones.
    fn pcapng(e: Endian, linktype: u32, packets: &[Vec<u8>], simple: bool) -> Vec<u8> {
        let mut out = Vec::new();
        let mut shb = Vec::new();
        put32(&mut shb, 0x1A2B_3C4D, e);
        put16(&mut shb, 1, e);
        put16(&mut shb, 0, e);
        shb.extend([0xFF; 8]);
        block(&mut out, e, PCAPNG_SHB, &shb);
        let mut idb = Vec::new();
        put16(&mut idb, linktype as u16, e);
        put16(&mut idb, 0, e);
        put32(&mut idb, 0, e);
        block(&mut out, e, 1, &idb);
        // An unknown block in between is skipped.
        block(&mut out, e, 0x0BAD, &[1, 2, 3]);
        for p in packets {
            let mut b = Vec::new();
            if simple {
                put32(&mut b, p.len() as u32, e);
            } else {
                put32(&mut b, 0, e);
                put32(&mut b, 0, e);
                put32(&mut b, 0, e);
                put32(&mut b, p.len() as u32, e);
                put32(&mut b, p.len() as u32, e);
            }
            b.extend(p);
            block(&mut out, e, if simple { 3 } else { 6 }, &b);
        }
        out
    }

    fn tcp(src: SocketAddr, dst: SocketAddr, seq: u32, flags: u8, payload: &[u8]) -> Vec<u8> {
        let mut t = Vec::new();
        t.extend(src.port().to_be_bytes());
        t.extend(dst.port().to_be_bytes());
        t.extend(seq.to_be_bytes());
        t.extend(0u32.to_be_bytes());
        t.extend([0x50, flags, 0xFF, 0xFF, 0, 0, 0, 0]);
        t.extend(payload);
        t
    }

    fn ip(src: SocketAddr, dst: SocketAddr, seg: &[u8]) -> Vec<u8> {
        match (src.ip(), dst.ip()) {
            (IpAddr::V4(s), IpAddr::V4(d)) => {
                let mut p = vec![0x45, 0];
                p.extend((20 + seg.len() as u16).to_be_bytes());
                p.extend([0, 0, 0x40, 0, 64, 6, 0, 0]);
                p.extend(s.octets());
                p.extend(d.octets());
                p.extend(seg);
                p
            }
            (IpAddr::V6(s), IpAddr::V6(d)) => {
                // With a hop-by-hop options header in front of TCP.
                let mut p = vec![0x60, 0, 0, 0];
                p.extend((8 + seg.len() as u16).to_be_bytes());
                p.extend([0, 64]);
                p.extend(s.octets());
                p.extend(d.octets());
                p.extend([6, 0, 1, 4, 0, 0, 0, 0]);
                p.extend(seg);
                p
            }
            _ => unreachable!(),
        }
    }

    #[derive(Clone, Copy)]
    enum Link {
        Ether,
        Vlan,
        Raw,
        Sll,
        Sll2,
        Null,
    }

    fn frame(link: Link, ip: &[u8]) -> (u32, Vec<u8>) {
        let v6 = ip[0] >> 4 == 6;
        let et: [u8; 2] = if v6 { [0x86, 0xDD] } else { [0x08, 0x00] };
        let mut f = Vec::new();
        let lt = match link {
            Link::Ether | Link::Vlan => {
                f.extend([2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2]);
                if matches!(link, Link::Vlan) {
                    f.extend([0x88, 0xA8, 0, 7, 0x81, 0x00, 0, 42]);
                }
                f.extend(et);
                LINKTYPE_ETHERNET
            }
            Link::Raw => LINKTYPE_RAW,
            Link::Sll => {
                f.extend([0, 0, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
                f.extend(et);
                LINKTYPE_LINUX_SLL
            }
            Link::Sll2 => {
                f.extend(et);
                f.extend([0, 0, 0, 0, 0, 2, 0, 1, 0, 6, 2, 0, 0, 0, 0, 1, 0, 0]);
                LINKTYPE_LINUX_SLL2
            }
            Link::Null => {
                f.extend(if v6 { 30u32 } else { 2u32 }.to_le_bytes());
                LINKTYPE_NULL
            }
        };
        f.extend(ip);
        if matches!(link, Link::Ether) && f.len() < 60 {
            f.resize(60, 0); // Ethernet padding, which the IP length must trim away.
        }
        (lt, f)
    }

    fn nbss(payload: &[u8]) -> Vec<u8> {
        let n = payload.len() as u32;
        let mut v = vec![0, (n >> 16) as u8, (n >> 8) as u8, n as u8];
        v.extend(payload);
        v
    }

    fn smb2(tag: u8, len: usize) -> Vec<u8> {
        let mut v = vec![0xFE, b'S', b'M', b'B'];
        v.resize(len, tag);
        v
    }

    /// Frames expected: (to server, payload).
    type Expected = Vec<(bool, Vec<u8>)>;

    /// A conversation with the usual TCP hazards: segments split across NBSS frame edges, several
    /// frames in one segment, a keep-alive, a retransmission, an overlap and an out-of-order pair.
    fn conversation(client: SocketAddr, server: SocketAddr) -> (Vec<Vec<u8>>, Expected) {
        let (c_isn, s_isn) = (0xFFFF_FF00u32, 1000u32); // the client's sequence numbers wrap
        let req1 = smb2(1, 100);
        let req2 = smb2(2, 70);
        let resp1 = smb2(3, 300);
        let resp2 = smb2(4, 20);
        let resp3 = smb2(5, 64);
        let mut c_stream = nbss(&req1);
        c_stream.extend([0x85, 0, 0, 0]); // keep-alive
        c_stream.extend(nbss(&req2));
        let mut s_stream = nbss(&resp1);
        s_stream.extend(nbss(&resp2));
        s_stream.extend(nbss(&resp3));
        let c = |seq: u32, flags: u8, p: &[u8]| ip(client, server, &tcp(client, server, seq, flags, p));
        let s = |seq: u32, flags: u8, p: &[u8]| ip(server, client, &tcp(server, client, seq, flags, p));
        let cs = c_isn.wrapping_add(1);
        let ss = s_isn + 1;
        let packets = vec![
            c(c_isn, 0x02, &[]),
            s(s_isn, 0x12, &[]),
            c(cs, 0x10, &[]),
            c(cs, 0x18, &c_stream[..50]),
            c(cs, 0x18, &c_stream[..50]),                     // retransmission
            c(cs.wrapping_add(30), 0x18, &c_stream[30..104]), // overlaps, completes req1
            s(ss + 200, 0x18, &s_stream[200..304]),           // out of order: held
            s(ss, 0x18, &s_stream[..200]),                    // fills the hole: resp1 complete
            c(cs.wrapping_add(104), 0x18, &c_stream[104..]),  // keep-alive + req2
            s(ss + 304, 0x18, &s_stream[304..]),              // resp2 and resp3 in one segment
            s(ss + 304, 0x18, &s_stream[304..310]),           // stale retransmission
        ];
        let want = vec![(true, req1), (false, resp1), (true, req2), (false, resp2), (false, resp3)];
        (packets, want)
    }

    fn check(bytes: &[u8], want: &[(bool, Vec<u8>)], server_port: u16) -> Capture {
        let cap = parse_capture(bytes, server_port).unwrap();
        let got: Vec<(bool, Vec<u8>)> = cap.frames.iter().map(|f| (f.to_server, f.payload.clone())).collect();
        assert_eq!(got.len(), want.len(), "{:?}", cap.notes);
        assert!(got == want, "frames differ; notes {:?}", cap.notes);
        assert!(cap.notes.is_empty(), "{:?}", cap.notes);
        assert_eq!(cap.connections.len(), 1);
        cap
    }

    #[test]
    fn synthetic_captures_in_every_format() {
        let v4 = ("192.0.2.1:50000".parse().unwrap(), "192.0.2.2:445".parse().unwrap());
        let v6 = ("[2001:db8::1]:50000".parse().unwrap(), "[2001:db8::2]:445".parse().unwrap());
        for (client, server) in [v4, v6] {
            let (packets, want) = conversation(client, server);
            for link in [Link::Ether, Link::Vlan, Link::Raw, Link::Sll, Link::Sll2, Link::Null] {
                let framed: Vec<(u32, Vec<u8>)> = packets.iter().map(|p| frame(link, p)).collect();
                let lt = framed[0].0;
                let bodies: Vec<Vec<u8>> = framed.into_iter().map(|(_, f)| f).collect();
                for e in [Endian::Little, Endian::Big] {
                    for image in [
                        pcap(e, false, lt, &bodies),
                        pcap(e, true, lt, &bodies),
                        pcapng(e, lt, &bodies, false),
                        pcapng(e, lt, &bodies, true),
                    ] {
                        let cap = check(&image, &want, 445);
                        assert_eq!(cap.connections[0], Connection { client, server });
                        assert_eq!(cap.packets, packets.len());
                        let at: Vec<usize> = cap.frames.iter().map(|f| f.packet).collect();
                        assert_eq!(at, [6, 8, 9, 10, 10]);
                        let idx: Vec<usize> = cap.frames.iter().map(|f| f.index).collect();
                        assert_eq!(idx, [0, 1, 2, 3, 4]);
                    }
                }
            }
            // Raw IPv4/IPv6 link types.
            let lt = if client.is_ipv4() { LINKTYPE_IPV4 } else { LINKTYPE_IPV6 };
            check(&pcap(Endian::Little, false, lt, &packets), &want, 445);
        }
    }

    #[test]
    fn a_gap_ends_the_direction_and_is_reported() {
        let client: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let server: SocketAddr = "10.0.0.2:4445".parse().unwrap();
        let a = smb2(1, 80);
        let b = smb2(2, 80);
        let c = smb2(3, 80);
        let mut stream = nbss(&a);
        stream.extend(nbss(&b));
        stream.extend(nbss(&c));
        let pkt = |seq: u32, p: &[u8]| frame(Link::Ether, &ip(client, server, &tcp(client, server, seq, 0x18, p))).1;
        // Picked up mid-stream (no SYN); the middle of frame b is never captured.
        let packets = vec![pkt(7, &stream[..100]), pkt(7 + 120, &stream[120..])];
        let cap = parse_capture(&pcap(Endian::Little, false, LINKTYPE_ETHERNET, &packets), 4445).unwrap();
        assert_eq!(cap.frames.len(), 1);
        assert_eq!(cap.frames[0].payload, a);
        assert!(cap.notes.iter().any(|n| n.contains("gap of 20 byte(s) at stream offset 100")), "{:?}", cap.notes);
        assert!(cap.notes.iter().any(|n| n.contains("last NBSS frame")), "{:?}", cap.notes);
        // On port 445 nothing is found: the traffic is on 4445.
        assert!(parse_capture(&pcap(Endian::Little, false, 1, &packets), 445).unwrap().frames.is_empty());
    }

    #[test]
    fn port_reuse_starts_a_new_connection() {
        let client: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let server: SocketAddr = "10.0.0.2:445".parse().unwrap();
        let a = smb2(1, 80);
        let b = smb2(2, 90);
        let pkt = |seq: u32, flags: u8, p: &[u8]| ip(client, server, &tcp(client, server, seq, flags, p));
        let packets =
            vec![pkt(100, 0x02, &[]), pkt(101, 0x18, &nbss(&a)), pkt(5000, 0x02, &[]), pkt(5001, 0x18, &nbss(&b))];
        let cap = parse_capture(&pcap(Endian::Little, false, LINKTYPE_RAW, &packets), 445).unwrap();
        assert_eq!(cap.connections.len(), 2);
        let got: Vec<(usize, &[u8])> = cap.frames.iter().map(|f| (f.connection, &f.payload[..])).collect();
        assert_eq!(got, [(0, &a[..]), (1, &b[..])]);
    }

    #[test]
    fn odd_input_is_an_error_or_a_note_never_a_panic() {
        assert!(parse_capture(b"", 445).is_err());
        assert!(parse_capture(b"hello world, not a capture", 445).is_err());
        assert!(parse_capture(&pcap(Endian::Little, false, 147, &[]), 445).is_err());
        let client: SocketAddr = "10.0.0.1:40000".parse().unwrap();
        let server: SocketAddr = "10.0.0.2:445".parse().unwrap();
        let (packets, _) = conversation(client, server);
        let bodies: Vec<Vec<u8>> = packets.iter().map(|p| frame(Link::Vlan, p).1).collect();
        let mut state = 0x2545_F491_4F6C_DD1Du64;
        for image in [pcap(Endian::Big, false, 1, &bodies), pcapng(Endian::Little, 1, &bodies, false)] {
            // Every truncation, and a sweep of single-byte corruptions.
            for cut in 0..image.len() {
                let _ = parse_capture(&image[..cut], 445);
            }
            for _ in 0..4000 {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let mut bad = image.clone();
                let i = (state % bad.len() as u64) as usize;
                bad[i] = (state >> 32) as u8;
                let _ = parse_capture(&bad, 445);
            }
        }
        // Garbage instead of NBSS.
        let junk = ip(client, server, &tcp(client, server, 1, 0x18, b"GET / HTTP/1.1\r\n\r\n"));
        let cap = parse_capture(&pcap(Endian::Little, false, LINKTYPE_RAW, &[junk]), 445).unwrap();
        assert!(cap.frames.is_empty());
        assert!(cap.notes.iter().any(|n| n.contains("not NBSS")), "{:?}", cap.notes);
    }

    // -- the public captures ----------------------------------------------------------------

    /// Our committed Samba captures, and the public ones kept beside the repository in
    /// `../shared/captures/public-smb2` when the workspace has them (third-party data, not
    /// committed; see testdata/SOURCES.md).
    fn public_captures() -> Vec<PathBuf> {
        let root = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
        let mut files = capture_files(&root.join("testdata/captures/samba"));
        assert!(!files.is_empty(), "no captures in testdata/captures/samba");
        files.extend(capture_files(&root.join("../shared/captures/public-smb2")));
        files
    }

    fn magic(f: &SmbFrame) -> [u8; 4] {
        f.payload.get(..4).and_then(|m| m.try_into().ok()).unwrap_or_default()
    }

    const SMB2: [u8; 4] = *b"\xfeSMB";
    const TRANSFORM: [u8; 4] = *b"\xfdSMB";
    const COMPRESSED: [u8; 4] = *b"\xfcSMB";
    const SMB1: [u8; 4] = *b"\xffSMB";

    #[test]
    fn public_captures_yield_smb2_frames() {
        for path in public_captures() {
            let cap = read_capture(&path, 445).unwrap();
            let name = path.file_name().unwrap().to_string_lossy();
            assert!(!cap.frames.is_empty(), "{name}: no frames; notes {:?}", cap.notes);
            let mut counts = [0usize; 4];
            for f in &cap.frames {
                match magic(f) {
                    SMB2 => counts[0] += 1,
                    TRANSFORM => counts[1] += 1,
                    COMPRESSED => counts[2] += 1,
                    // SMB1 only as the multi-protocol NEGOTIATE that starts an SMB2 connection.
                    SMB1 => {
                        assert_eq!(f.payload.get(4), Some(&0x72), "{name}: SMB1 other than NEGOTIATE");
                        counts[3] += 1;
                    }
                    m => panic!("{name}: frame {} of connection {} starts {m:02x?}", f.index, f.connection),
                }
            }
            assert!(counts[0] > 0, "{name}: no SMB2 header at all");
            eprintln!(
                "{name}: {} connection(s), {} frame(s): SMB2 {} transform {} compressed {} SMB1 negotiate {}; notes {:?}",
                cap.connections.len(),
                cap.frames.len(),
                counts[0],
                counts[1],
                counts[2],
                counts[3],
                cap.notes
            );
        }
    }

    /// tshark's count of NBSS session messages on port 445, split into SMB1 and the rest.
    fn tshark_counts(path: &Path) -> (usize, usize) {
        let nbss = tshark_fields(path, "nbss && tcp.port == 445", &["nbss.type"]);
        let messages = nbss.split([',', '\n']).filter(|t| *t == "0x00").count();
        let smb1 = tshark_fields(path, "smb && tcp.port == 445", &["smb.server_component"]);
        let smb1 = smb1.split([',', '\n']).filter(|t| !t.is_empty()).count();
        (messages - smb1, smb1)
    }

    fn tshark_fields(path: &Path, filter: &str, fields: &[&str]) -> String {
        let mut cmd = Command::new("tshark");
        cmd.arg("-r").arg(path).args(["-Y", filter, "-T", "fields"]);
        for f in fields {
            cmd.args(["-e", f]);
        }
        let out = cmd.output().unwrap();
        assert!(out.status.success(), "{cmd:?}: {}", String::from_utf8_lossy(&out.stderr));
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// Per packet, as tshark prints `frame.number smb2.cmd smb2.msg_id smb2.header.transform.msg_size`:
    /// every SMB2 header of every compound in the frames that packet completed, and the
    /// original size named by each transform header.
    fn our_summary(cap: &Capture) -> Vec<String> {
        let le = |b: &[u8], at: usize, n: usize| -> u64 {
            b.get(at..at + n).map_or(u64::MAX, |s| s.iter().rev().fold(0, |acc, &x| (acc << 8) | u64::from(x)))
        };
        // (packet, commands, message ids, transform sizes)
        type Row = (usize, Vec<String>, Vec<String>, Vec<String>);
        let mut rows: Vec<Row> = Vec::new();
        // tshark goes packet by packet; we go connection by connection.
        let mut frames: Vec<&SmbFrame> = cap.frames.iter().collect();
        frames.sort_by_key(|f| f.packet);
        for f in frames {
            let (cmds, ids, sizes) = match rows.last_mut() {
                Some(r) if r.0 == f.packet => (&mut r.1, &mut r.2, &mut r.3),
                _ => {
                    rows.push((f.packet, Vec::new(), Vec::new(), Vec::new()));
                    let r = rows.last_mut().unwrap();
                    (&mut r.1, &mut r.2, &mut r.3)
                }
            };
            match magic(f) {
                SMB2 => {
                    let mut at = 0usize;
                    loop {
                        let h = &f.payload[at..];
                        cmds.push(le(h, 12, 2).to_string());
                        ids.push(le(h, 24, 8).to_string());
                        match le(h, 20, 4) {
                            0 => break,
                            next => at += next as usize,
                        }
                        assert!(at < f.payload.len(), "packet {}: compound runs past its frame", f.packet);
                    }
                }
                TRANSFORM | COMPRESSED => {
                    sizes.push(le(&f.payload, if magic(f) == TRANSFORM { 36 } else { 4 }, 4).to_string())
                }
                _ => {}
            }
        }
        rows.into_iter()
            .filter(|r| !r.1.is_empty() || !r.3.is_empty())
            .map(|(p, c, i, s)| format!("{p}\t{}\t{}\t{}", c.join(","), i.join(","), s.join(",")))
            .collect()
    }

    /// Frame counts match tshark's, and every SMB2 header (command and message id) and transform
    /// lands in the same packet as tshark dissects it in.
    #[test]
    fn public_captures_agree_with_tshark() {
        if crate::require(&["tshark"]).is_none() {
            return;
        }
        for path in public_captures() {
            let cap = read_capture(&path, 445).unwrap();
            let ours_smb1 = cap.frames.iter().filter(|f| magic(f) == SMB1).count();
            let ours = cap.frames.len() - ours_smb1;
            let (theirs, theirs_smb1) = tshark_counts(&path);
            let name = path.file_name().unwrap().to_string_lossy();
            eprintln!("{name}: SMB2/3 frames ours {ours} tshark {theirs}; SMB1 ours {ours_smb1} tshark {theirs_smb1}");
            assert_eq!((ours, ours_smb1), (theirs, theirs_smb1), "{name}: notes {:?}", cap.notes);
            let fields = ["frame.number", "smb2.cmd", "smb2.msg_id", "smb2.header.transform.msg_size"];
            let theirs = tshark_fields(&path, "smb2 && tcp.port == 445", &fields);
            let theirs: Vec<&str> = theirs.lines().collect();
            let ours = our_summary(&cap);
            let first_diff = ours.iter().zip(&theirs).position(|(a, b)| a != b);
            assert!(
                first_diff.is_none() && ours.len() == theirs.len(),
                "{name}: packet summaries differ at row {first_diff:?} (ours {} rows, tshark {}):\nours   {:?}\ntshark {:?}",
                ours.len(),
                theirs.len(),
                first_diff.and_then(|i| ours.get(i)),
                first_diff.and_then(|i| theirs.get(i)),
            );
        }
    }

    /// The same packets rewritten by editcap as nanosecond pcap and as pcapng give the same frames.
    #[test]
    fn public_captures_survive_editcap_conversion() {
        if crate::require(&["editcap"]).is_none() {
            return;
        }
        let scratch = crate::ScratchDir::new("pcap");
        for path in public_captures() {
            let want = smb_frames(&path, 445).unwrap();
            for format in ["nsecpcap", "pcapng", "pcap"] {
                let out = scratch.join(&format!("converted.{format}"));
                crate::run(Command::new("editcap").args(["-F", format]).arg(&path).arg(&out));
                let got = smb_frames(&out, 445).unwrap();
                assert!(got == want, "{} as {format}: frames differ", path.display());
            }
        }
    }
}
