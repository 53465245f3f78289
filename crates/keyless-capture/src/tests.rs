//! Synthetic captures in every format and link type, with the usual TCP hazards.

use super::*;
use crate::formats::{Endian, PCAPNG_SHB};
use crate::layers::*;
use std::net::IpAddr;

fn parse_capture(bytes: &[u8], port: u16) -> Result<Capture, FormatError> {
    parse(bytes, &Ports::smb_only(port))
}

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
        put32(&mut out, 7 * i as u32, e);
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

/// A pcapng section header and one interface block with `options`.
fn pcapng_head(e: Endian, linktype: u32, options: &[u8]) -> Vec<u8> {
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
    idb.extend(options);
    block(&mut out, e, 1, &idb);
    out
}

/// A pcapng file; `simple` writes simple packet blocks instead of enhanced ones.
fn pcapng(e: Endian, linktype: u32, packets: &[Vec<u8>], simple: bool) -> Vec<u8> {
    let mut out = pcapng_head(e, linktype, &[]);
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
    let got: Vec<(bool, Vec<u8>)> = cap.messages.iter().map(|f| (f.to_server, f.payload.to_vec())).collect();
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
                    assert_eq!(cap.connections[0], Connection { client, server, protocol: Protocol::Smb, udp: false });
                    assert_eq!(cap.packets, packets.len());
                    let at: Vec<usize> = cap.messages.iter().map(|f| f.packet).collect();
                    assert_eq!(at, [6, 8, 9, 10, 10]);
                    let idx: Vec<usize> = cap.messages.iter().map(|f| f.index).collect();
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
fn a_gap_without_a_message_start_after_it_is_reported() {
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
    assert_eq!(cap.messages.len(), 1);
    assert_eq!(cap.messages[0].payload, a);
    assert!(cap.notes.iter().any(|n| n.contains("gap of 20 byte(s) at stream offset 100")), "{:?}", cap.notes);
    assert!(
        cap.notes.iter().any(|n| n.contains("at stream offset 84 needs 80 byte(s), 12 captured")),
        "{:?}",
        cap.notes
    );
    assert!(cap.notes.iter().any(|n| n.contains("hold no message start")), "{:?}", cap.notes);
    // On port 445 nothing is found: the traffic is on 4445.
    assert!(parse_capture(&pcap(Endian::Little, false, 1, &packets), 445).unwrap().messages.is_empty());
}

/// Packets the capture lost leave a hole that never fills: reading picks up again at the
/// first later segment that starts a message, as tshark does.
#[test]
fn reading_resumes_after_a_lost_packet() {
    let client: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let server: SocketAddr = "10.0.0.2:445".parse().unwrap();
    let frames: Vec<Vec<u8>> = (1..=4).map(|t| smb2(t, 100)).collect();
    let stream: Vec<u8> = frames.iter().flat_map(|f| nbss(f)).collect();
    let pkt = |seq: u32, p: &[u8]| ip(client, server, &tcp(client, server, seq, 0x18, p));
    // Frame 2 (bytes 104..208) is lost; frames 3 and 4 come in their own segments.
    let packets = vec![pkt(1, &stream[..104]), pkt(209, &stream[208..312]), pkt(313, &stream[312..])];
    let cap = parse_capture(&pcap(Endian::Little, false, LINKTYPE_RAW, &packets), 445).unwrap();
    let got: Vec<(&[u8], usize, usize)> =
        cap.messages.iter().map(|m| (&m.payload[..], m.packet, m.stream_offset)).collect();
    assert_eq!(got, [(&frames[0][..], 1, 0), (&frames[2][..], 2, 208), (&frames[3][..], 3, 312)]);
    assert!(
        cap.notes
            .iter()
            .any(|n| n.contains("gap of 104 byte(s) at stream offset 104")
                && n.contains("resumed at offset 208, packet 2")),
        "{:?}",
        cap.notes
    );
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
    let got: Vec<(usize, &[u8])> = cap.messages.iter().map(|f| (f.connection, &f.payload[..])).collect();
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
    assert!(cap.messages.is_empty());
    assert!(cap.notes.iter().any(|n| n.contains("not NBSS")), "{:?}", cap.notes);
}

fn udp(src: SocketAddr, dst: SocketAddr, payload: &[u8]) -> Vec<u8> {
    let mut u = Vec::new();
    u.extend(src.port().to_be_bytes());
    u.extend(dst.port().to_be_bytes());
    u.extend((8 + payload.len() as u16).to_be_bytes());
    u.extend([0, 0]);
    u.extend(payload);
    let mut p = ip(src, dst, &u);
    if src.is_ipv4() {
        p[9] = 17;
    } else {
        p[40] = 17; // the hop-by-hop header's next header
    }
    p
}

#[test]
fn kerberos_over_tcp_and_udp() {
    let client: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let kdc: SocketAddr = "10.0.0.2:88".parse().unwrap();
    let as_req = [0x6A, 3, 1, 2, 3];
    let as_rep = [0x6B, 4, 9, 9, 9, 9];
    let mut stream = (as_req.len() as u32).to_be_bytes().to_vec();
    stream.extend(as_req);
    let reply = [&(as_rep.len() as u32).to_be_bytes()[..], &as_rep].concat();
    let c = |seq: u32, p: &[u8]| ip(client, kdc, &tcp(client, kdc, seq, 0x18, p));
    let s = |seq: u32, p: &[u8]| ip(kdc, client, &tcp(kdc, client, seq, 0x18, p));
    let v6: (SocketAddr, SocketAddr) = ("[2001:db8::1]:5000".parse().unwrap(), "[2001:db8::2]:88".parse().unwrap());
    let packets = vec![
        c(1, &stream[..3]), // the record mark split over two segments
        c(4, &stream[3..]),
        s(1, &reply),
        udp(client, kdc, &as_req),
        udp(kdc, client, &as_rep),
        udp(v6.0, v6.1, &as_req),
        udp("10.0.0.1:53".parse().unwrap(), "10.0.0.9:53".parse().unwrap(), b"dns"), // not looked at
    ];
    let cap = parse(&pcap(Endian::Little, true, LINKTYPE_RAW, &packets), &Ports::default()).unwrap();
    assert!(cap.notes.is_empty(), "{:?}", cap.notes);
    let got: Vec<(usize, bool, usize, &[u8])> =
        cap.messages.iter().map(|m| (m.connection, m.to_server, m.packet, &m.payload[..])).collect();
    assert_eq!(
        got,
        [
            (0, true, 2, &as_req[..]),
            (0, false, 3, &as_rep[..]),
            (1, true, 4, &as_req),
            (1, false, 5, &as_rep),
            (2, true, 6, &as_req)
        ]
    );
    assert_eq!(cap.connections[1], Connection { client, server: kdc, protocol: Protocol::Kerberos, udp: true });
    assert!(!cap.connections[0].udp && cap.connections[2].server == v6.1);
    // Packet i (from 0) is at 1_700_000_000 + i seconds and 7i units (see `pcap`).
    assert_eq!(cap.messages[0].time_ns, 1_700_000_001 * 1_000_000_000 + 7);
    let micro = parse(&pcap(Endian::Big, false, LINKTYPE_RAW, &packets), &Ports::default()).unwrap();
    assert_eq!(micro.messages[0].time_ns, 1_700_000_001 * 1_000_000_000 + 7_000);
}

#[test]
fn pcapng_timestamp_resolution_is_read() {
    let client: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let kdc: SocketAddr = "10.0.0.2:88".parse().unwrap();
    let body = udp(client, kdc, &[0x6A, 0]);
    for (tsresol, units, want_ns) in
        [(None, 1_500_000u64, 1_500_000_000i128), (Some(9u8), 7, 7), (Some(0x80 | 10), 2048, 2_000_000_000)]
    {
        let e = Endian::Little;
        let options = tsresol.map(|r| vec![9, 0, 1, 0, r, 0, 0, 0, 0, 0, 0, 0]).unwrap_or_default();
        let mut out = pcapng_head(e, LINKTYPE_RAW, &options);
        let mut epb = Vec::new();
        put32(&mut epb, 0, e);
        put32(&mut epb, (units >> 32) as u32, e);
        put32(&mut epb, units as u32, e);
        put32(&mut epb, body.len() as u32, e);
        put32(&mut epb, body.len() as u32, e);
        epb.extend(&body);
        block(&mut out, e, 6, &epb);
        let cap = parse(&out, &Ports::default()).unwrap();
        assert_eq!(cap.messages[0].time_ns, want_ns, "if_tsresol {tsresol:?}");
    }
}

/// The messages a [`Reader`] hands out when fed `bytes` in pieces of `step` bytes, with the
/// number that came out before `finish`.
fn fed_in_pieces(bytes: &[u8], step: usize, port: u16) -> (Vec<Message<'static>>, usize, Summary) {
    let mut reader = Reader::new(&Ports::smb_only(port));
    let mut got = Vec::new();
    let mut sink = |_: &Connection, m: Message<'_>| got.push(m.into_owned());
    let mut held = Vec::new();
    for piece in bytes.chunks(step) {
        held.extend_from_slice(piece);
        let used = reader.feed(&held, false, &mut sink).unwrap();
        held.drain(..used);
    }
    let used = reader.feed(&held, true, &mut sink).unwrap();
    assert_eq!(used, held.len(), "at the end everything is used");
    let before_finish = got.len();
    let summary = reader.finish(&mut |_: &Connection, m: Message<'_>| got.push(m.into_owned()));
    (got, before_finish, summary)
}

/// However the file's bytes arrive, the messages are the same, and they come out as their
/// packets are read (before the end).
#[test]
fn fed_in_pieces_as_read_whole() {
    let client: SocketAddr = "192.0.2.1:50000".parse().unwrap();
    let server: SocketAddr = "192.0.2.2:445".parse().unwrap();
    let (packets, want) = conversation(client, server);
    let framed: Vec<Vec<u8>> = packets.iter().map(|p| frame(Link::Ether, p).1).collect();
    for file in
        [pcap(Endian::Big, true, LINKTYPE_ETHERNET, &framed), pcapng(Endian::Little, LINKTYPE_ETHERNET, &framed, false)]
    {
        let whole = check(&file, &want, 445);
        for step in [1, 3, 64, 1000, file.len()] {
            let (got, before_finish, summary) = fed_in_pieces(&file, step, 445);
            assert_eq!(got, whole.messages, "pieces of {step}");
            assert_eq!(before_finish, want.len(), "pieces of {step}: every message out before the end");
            assert_eq!((summary.packets, summary.connections.len()), (whole.packets, 1));
        }
    }
}

/// A hole that never fills is given up once 32 MiB wait beyond it: reading resumes past it
/// while the file is still being read, so memory stays bounded.
#[test]
fn a_lost_hole_is_given_up_before_the_end() {
    let client: SocketAddr = "10.0.0.1:40000".parse().unwrap();
    let server: SocketAddr = "10.0.0.2:445".parse().unwrap();
    // One 60,000-byte frame a segment, 600 of them (36 MB); the second is lost.
    let frames: Vec<Vec<u8>> = (0..600).map(|t| smb2(t as u8, 60_000)).collect();
    let stream: Vec<u8> = frames.iter().flat_map(|f| nbss(f)).collect();
    let step = 60_004;
    let pkt = |at: usize| ip(client, server, &tcp(client, server, 1 + at as u32, 0x18, &stream[at..at + step]));
    let packets: Vec<Vec<u8>> = (0..600).filter(|&i| i != 1).map(|i| pkt(i * step)).collect();
    let file = pcap(Endian::Little, false, LINKTYPE_RAW, &packets);
    let (got, before_finish, summary) = fed_in_pieces(&file, 1 << 20, 445);
    assert_eq!(got.len(), 599, "{:?}", summary.notes);
    assert!(before_finish > 500, "messages past the hole came out while reading: {before_finish}");
    assert!(
        summary.notes.iter().any(|n| n.contains(&format!("gap of {step} byte(s) at stream offset {step}"))
            && n.contains(&format!("resumed at offset {}", 2 * step))),
        "{:?}",
        summary.notes
    );
}
