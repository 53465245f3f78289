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
//! them fills. A hole that never fills (a packet the capture lost) is given up at the end, or
//! once 32 MiB wait beyond it, and reading resumes at the next segment that starts a message;
//! it is reported in the notes, never a panic. Each direction's byte stream is cut into
//! messages as it grows: Direct TCP (NBSS) frames on the SMB ports (a zero byte and a 24-bit
//! length; session request/response and keep-alive skipped), RFC 4120 record marks (a 32-bit
//! length) on the Kerberos ports. A Kerberos UDP datagram is one message.
//!
//! A message counts as arriving with the packet that made its last byte contiguous, as tshark
//! shows it, and comes out then: [`Reader`] reads a file through a small buffer and hands each
//! message to the caller as it completes, borrowed, so a capture of any size is read in
//! bounded memory (messages read past a lost hole come out when the hole is given up).
//! [`parse`] collects a whole file's messages in capture order. Conversations are numbered in
//! order of their first packet. Nothing here does I/O.
//!
//! ```
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/captures/samba/smbclient-smbd-signed.pcap");
//! let capture = keyless_capture::parse(&std::fs::read(path).unwrap(), &keyless_capture::Ports::default())?;
//! let first = &capture.messages[0];
//! assert!(first.to_server && first.payload.starts_with(b"\xfeSMB")); // smbclient's NEGOTIATE
//! # Ok::<(), keyless_capture::FormatError>(())
//! ```

mod formats;
mod layers;
mod tcp;
#[cfg(test)]
mod tests;

use std::borrow::Cow;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// The ports to look at (server side).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ports {
    /// Direct TCP SMB (445, and 139 for NBSS sessions).
    pub smb: Vec<u16>,
    /// Kerberos over TCP and UDP (88).
    pub kerberos: Vec<u16>,
    /// TLS whose records are handed out whole (a KDC proxy's HTTPS; none by default).
    pub tls: Vec<u16>,
}

impl Default for Ports {
    fn default() -> Self {
        Self { smb: vec![445, 139], kerberos: vec![88], tls: Vec::new() }
    }
}

impl Ports {
    /// Only SMB, on `port`.
    pub fn smb_only(port: u16) -> Self {
        Self { smb: vec![port], kerberos: Vec::new(), tls: Vec::new() }
    }

    fn protocol(&self, port: u16) -> Option<Protocol> {
        if self.smb.contains(&port) {
            Some(Protocol::Smb)
        } else if self.kerberos.contains(&port) {
            Some(Protocol::Kerberos)
        } else if self.tls.contains(&port) {
            Some(Protocol::Tls)
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
    /// TLS records (whole, header included): HTTPS to a KDC proxy.
    Tls,
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
/// Borrowed as [`Reader`] hands it out, owned in a [`Capture`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message<'a> {
    /// Index of the connection (in order of first appearance).
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
    /// The message, without its 4-byte framing (a TLS record keeps its 5-byte header).
    pub payload: Cow<'a, [u8]>,
}

impl Message<'_> {
    /// The message with its payload copied out.
    pub fn into_owned(self) -> Message<'static> {
        Message { payload: Cow::Owned(self.payload.into_owned()), ..self }
    }
}

/// Everything read from one capture.
#[derive(Debug, Clone, Default)]
pub struct Capture {
    /// Connections on the ports looked at, in order of first appearance.
    pub connections: Vec<Connection>,
    /// The messages, in capture order.
    pub messages: Vec<Message<'static>>,
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

impl FormatError {
    /// Which family of failure this is: always bytes that do not decode.
    pub fn kind(&self) -> keyless_wire_enum::ErrorKind {
        keyless_wire_enum::ErrorKind::InvalidMessage
    }
}

impl std::error::Error for FormatError {}

/// Reads a capture file incrementally, sans-IO: [`Reader::feed`] takes the bytes read so far
/// and hands out each message as it completes; [`Reader::finish`] ends the file.
pub struct Reader {
    format: formats::FileFormat,
    streams: tcp::Reassembler,
    /// Packets not read, counted by why.
    skipped: BTreeMap<String, usize>,
    notes: Vec<String>,
    ended: bool,
}

/// What a whole file held besides its messages.
#[derive(Debug, Clone, Default)]
pub struct Summary {
    /// Connections on the ports looked at, in order of first appearance.
    pub connections: Vec<Connection>,
    /// Packet records read (of any kind).
    pub packets: usize,
    /// What could not be read: gaps in a stream, skipped packets, a truncated file.
    pub notes: Vec<String>,
}

impl Reader {
    /// A reader of the messages on `ports`.
    pub fn new(ports: &Ports) -> Self {
        Self {
            format: formats::FileFormat::new(),
            streams: tcp::Reassembler::new(ports.clone()),
            skipped: BTreeMap::new(),
            notes: Vec::new(),
            ended: false,
        }
    }

    /// Reads the packets at the front of `buf` (the file's unread bytes; `eof` when no more
    /// will come), handing each completed message to `sink` with its connection. Returns how
    /// many bytes were used: the caller keeps the rest and calls again with more after them.
    /// A record larger than `buf` uses nothing until `buf` holds it whole.
    ///
    /// # Errors
    /// Only when the file's header says it is no capture this reader understands; damage past
    /// a valid header ends the reading with a note (see [`Reader::ended`]).
    pub fn feed(
        &mut self,
        buf: &[u8],
        eof: bool,
        sink: &mut dyn FnMut(&Connection, Message<'_>),
    ) -> Result<usize, FormatError> {
        let mut used = 0;
        while !self.ended {
            let rest = buf.get(used..).unwrap_or_default();
            match self.format.next(rest, eof, &mut self.notes).map_err(FormatError)? {
                formats::Next::Packet(rec, n) => {
                    let packet = self.format.packets();
                    let mut out = tcp::Out { sink: &mut *sink, notes: &mut self.notes };
                    match layers::decode_packet(rec.linktype, rec.data) {
                        Ok(Some(layers::Transport::Tcp(seg))) => {
                            self.streams.segment(packet, rec.time_ns, seg, &mut out)
                        }
                        Ok(Some(layers::Transport::Udp(d))) => self.streams.datagram(packet, rec.time_ns, d, &mut out),
                        Ok(None) => {}
                        Err(why) => *self.skipped.entry(why).or_default() += 1,
                    }
                    used += n;
                }
                formats::Next::Skip(n) => used += n,
                formats::Next::NeedMore => break,
                formats::Next::End => self.ended = true,
            }
        }
        // Once the reading has ended, what is left is not read.
        Ok(if self.ended { buf.len() } else { used })
    }

    /// Whether the reading has ended (the file's end, or damage that stops it).
    pub fn ended(&self) -> bool {
        self.ended
    }

    /// The end of the file: holes count as lost (messages read past them go to `sink`),
    /// and what was read is summed up.
    pub fn finish(mut self, sink: &mut dyn FnMut(&Connection, Message<'_>)) -> Summary {
        let mut notes = std::mem::take(&mut self.notes);
        for (why, n) in &self.skipped {
            notes.push(format!("{n} packet(s) skipped: {why}"));
        }
        let connections = self.streams.finish(&mut tcp::Out { sink, notes: &mut notes });
        Summary { connections, packets: self.format.packets(), notes }
    }
}

/// Reads a whole pcap or pcapng image: the messages on `ports`, in capture order.
///
/// # Errors
/// Only when the file format itself is not understood; damage past a valid header ends the
/// reading with a note.
pub fn parse(bytes: &[u8], ports: &Ports) -> Result<Capture, FormatError> {
    let mut reader = Reader::new(ports);
    let mut messages = Vec::new();
    let mut collect = |_: &Connection, m: Message<'_>| messages.push(m.into_owned());
    reader.feed(bytes, true, &mut collect)?;
    let summary = reader.finish(&mut collect);
    // Messages read past a lost hole came out late: back into capture order (stable, so
    // those of one packet stay in stream order), numbered again within each connection.
    messages.sort_by_key(|m| m.packet);
    let mut counts = vec![0usize; summary.connections.len()];
    for m in &mut messages {
        if let Some(n) = counts.get_mut(m.connection) {
            m.index = *n;
            *n += 1;
        }
    }
    Ok(Capture { connections: summary.connections, messages, packets: summary.packets, notes: summary.notes })
}
