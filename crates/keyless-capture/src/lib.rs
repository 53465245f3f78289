//! Packet captures as protocol messages: SMB2/3 and Kerberos out of pcap and pcapng files.
//!
//! Reads classic pcap (either byte order, micro- or nanosecond) and pcapng (SHB, IDB, EPB, SPB
//! and the obsolete PB, in either byte order, any `if_tsresol`; a file may hold several
//! sections), on Ethernet (with 802.1Q/802.1ad tags), raw IP (101, 228, 229), BSD loopback
//! (0, 108) and Linux cooked capture (SLL 113, SLL2 276). IPv4 and IPv6 carry TCP and UDP;
//! fragmented IP is skipped with a note.
//!
//! TCP is reassembled per direction the way a receiver would: segments in sequence order,
//! retransmitted and overlapping bytes dropped, out-of-order segments held until the hole before
//! them fills. A hole that never fills ends that direction; it is reported in
//! [`Capture::notes`], never a panic. Each direction's byte stream is then cut into messages:
//! Direct TCP (NBSS) frames on the SMB ports (a zero byte and a 24-bit length; session
//! request/response and keep-alive skipped), RFC 4120 record marks (a 32-bit length) on the
//! Kerberos ports. A Kerberos UDP datagram is one message.
//!
//! Messages come in capture order: a message counts as arriving with the packet that made its
//! last byte contiguous, as tshark shows it. Conversations are numbered in order of their
//! first packet. Nothing here does I/O: [`parse`] takes the file's bytes.

mod formats;
mod layers;
mod tcp;
#[cfg(test)]
mod tests;

use std::collections::BTreeMap;
use std::net::SocketAddr;

/// The ports to look at (server side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports {
    /// Direct TCP SMB (445, and 139 for NBSS sessions).
    pub smb: Vec<u16>,
    /// Kerberos over TCP and UDP (88).
    pub kerberos: Vec<u16>,
}

impl Default for Ports {
    fn default() -> Self {
        Self { smb: vec![445, 139], kerberos: vec![88] }
    }
}

impl Ports {
    /// Only SMB, on `port`.
    pub fn smb_only(port: u16) -> Self {
        Self { smb: vec![port], kerberos: Vec::new() }
    }

    fn protocol(&self, port: u16) -> Option<Protocol> {
        if self.smb.contains(&port) {
            Some(Protocol::Smb)
        } else if self.kerberos.contains(&port) {
            Some(Protocol::Kerberos)
        } else {
            None
        }
    }
}

/// What a conversation speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Protocol {
    /// SMB2/3 over Direct TCP.
    Smb,
    /// Kerberos over TCP or UDP.
    Kerberos,
}

/// A TCP connection, or the UDP datagrams between two endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Connection {
    /// The client's address and port.
    pub client: SocketAddr,
    /// The server's address and port.
    pub server: SocketAddr,
    /// What it speaks (by the server's port).
    pub protocol: Protocol,
    /// UDP rather than TCP.
    pub udp: bool,
}

/// One protocol message: an NBSS frame's payload (SMB2 header, transform, compression
/// transform, or SMB1), a Kerberos message without its record mark, or a UDP datagram.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    /// Index of the connection in [`Capture::connections`].
    pub connection: usize,
    /// Sent to the server port (client to server).
    pub to_server: bool,
    /// Position of this message in its connection, both directions counted.
    pub index: usize,
    /// 1-based number of the capture packet that completed the message (tshark's `frame.number`).
    pub packet: usize,
    /// When that packet was captured: nanoseconds since 1970.
    pub time_ns: i128,
    /// Where the message's framing starts in its direction's byte stream (0 for UDP).
    pub stream_offset: usize,
    /// The message, without its 4-byte framing.
    pub payload: Vec<u8>,
}

/// Everything read from one capture.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    /// Connections on the ports looked at, in order of first appearance.
    pub connections: Vec<Connection>,
    /// The messages, in capture order.
    pub messages: Vec<Message>,
    /// Packet records read (of any kind).
    pub packets: usize,
    /// What could not be read: gaps in a stream, skipped packets, a truncated file.
    pub notes: Vec<String>,
}

/// A file that is not a capture this reader understands (damage after a valid start is a
/// note in [`Capture::notes`] instead).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FormatError(pub String);

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FormatError {}

/// Reads a pcap or pcapng image: the messages on `ports`.
///
/// # Errors
/// Only when the file format itself is not understood; damage past a valid header ends the
/// reading with a note.
pub fn parse(bytes: &[u8], ports: &Ports) -> Result<Capture, FormatError> {
    let mut notes = Vec::new();
    let records = formats::packet_records(bytes, &mut notes).map_err(FormatError)?;
    let mut streams = tcp::Reassembler::new(ports.clone());
    let mut skipped: BTreeMap<String, usize> = BTreeMap::new();
    for (i, rec) in records.iter().enumerate() {
        match layers::decode_packet(rec.linktype, rec.data) {
            Ok(Some(layers::Transport::Tcp(seg))) => streams.segment(i + 1, rec.time_ns, seg),
            Ok(Some(layers::Transport::Udp(d))) => streams.datagram(i + 1, rec.time_ns, d),
            Ok(None) => {}
            Err(why) => *skipped.entry(why).or_default() += 1,
        }
    }
    for (why, n) in skipped {
        notes.push(format!("{n} packet(s) skipped: {why}"));
    }
    let mut capture = streams.finish(&mut notes);
    capture.packets = records.len();
    capture.notes.extend(notes);
    Ok(capture)
}
