//! Link, network and transport layers: a packet record down to a TCP segment or UDP datagram.

use crate::formats::{be16, be32};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};

pub(crate) const LINKTYPE_NULL: u32 = 0;
pub(crate) const LINKTYPE_ETHERNET: u32 = 1;
pub(crate) const LINKTYPE_RAW: u32 = 101;
pub(crate) const LINKTYPE_LOOP: u32 = 108;
pub(crate) const LINKTYPE_LINUX_SLL: u32 = 113;
pub(crate) const LINKTYPE_IPV4: u32 = 228;
pub(crate) const LINKTYPE_IPV6: u32 = 229;
pub(crate) const LINKTYPE_LINUX_SLL2: u32 = 276;

pub(crate) fn linktype_supported(lt: u32) -> bool {
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
pub(crate) struct Segment<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub seq: u32,
    pub syn: bool,
    pub ack: bool,
    pub payload: &'a [u8],
}

/// A UDP datagram: addresses and the captured payload.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Datagram<'a> {
    pub src: SocketAddr,
    pub dst: SocketAddr,
    pub payload: &'a [u8],
}

/// What an IP packet carried that is read further.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Transport<'a> {
    Tcp(Segment<'a>),
    Udp(Datagram<'a>),
}

/// `Ok(None)` for a packet that is neither TCP nor UDP; `Err` names why a packet could not be read.
pub(crate) fn decode_packet(linktype: u32, data: &[u8]) -> Result<Option<Transport<'_>>, String> {
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

fn ethertype_payload(mut ethertype: u16, mut rest: &[u8]) -> Result<Option<Transport<'_>>, String> {
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

fn ip_payload(version: u8, p: &[u8]) -> Result<Option<Transport<'_>>, String> {
    match version {
        4 => {
            let ihl = usize::from(p.first().ok_or("IPv4 header truncated")? & 0x0F) * 4;
            if ihl < 20 || p.len() < ihl {
                return Err("IPv4 header truncated or bad IHL".into());
            }
            let total = usize::from(be16(p, 2).ok_or("IPv4 header truncated")?);
            let frag = be16(p, 6).ok_or("IPv4 header truncated")?;
            let protocol = p[9];
            if protocol != 6 && protocol != 17 {
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
            transport(protocol, src, dst, &p[ihl..end])
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
                    6 | 17 => return transport(next, src, dst, rest),
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

fn transport(protocol: u8, src: IpAddr, dst: IpAddr, t: &[u8]) -> Result<Option<Transport<'_>>, String> {
    if protocol == 17 {
        return udp_datagram(src, dst, t);
    }
    tcp_segment(src, dst, t)
}

fn udp_datagram(src: IpAddr, dst: IpAddr, u: &[u8]) -> Result<Option<Transport<'_>>, String> {
    let (Some(sport), Some(dport), Some(len)) = (be16(u, 0), be16(u, 2), be16(u, 4)) else {
        return Err("UDP header truncated".into());
    };
    // The UDP length trims padding; a capture cut short keeps what it has.
    let end = usize::from(len).clamp(8, u.len().max(8));
    Ok(Some(Transport::Udp(Datagram {
        src: SocketAddr::new(src, sport),
        dst: SocketAddr::new(dst, dport),
        payload: u.get(8..end.min(u.len())).unwrap_or_default(),
    })))
}

fn tcp_segment(src: IpAddr, dst: IpAddr, t: &[u8]) -> Result<Option<Transport<'_>>, String> {
    let (Some(sport), Some(dport), Some(seq), Some(&off_byte), Some(&flags)) =
        (be16(t, 0), be16(t, 2), be32(t, 4), t.get(12), t.get(13))
    else {
        return Err("TCP header truncated".into());
    };
    let hlen = usize::from(off_byte >> 4) * 4;
    if hlen < 20 {
        return Err("TCP header length below 20".into());
    }
    Ok(Some(Transport::Tcp(Segment {
        src: SocketAddr::new(src, sport),
        dst: SocketAddr::new(dst, dport),
        seq,
        syn: flags & 0x02 != 0,
        ack: flags & 0x10 != 0,
        // A header cut by the snapshot length leaves no payload (and so a gap if it had one).
        payload: t.get(hlen..).unwrap_or_default(),
    })))
}
