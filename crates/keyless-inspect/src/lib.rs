//! What crossed the wire: every SMB2/3 and Kerberos message of a capture as a [`Record`] of
//! named fields, for `keyless inspect` and for tools that embed it. The capture comes from
//! [`keyless_capture`]; nothing here does I/O.
//!
//! A message that does not decode is a record with a [`Broken`] saying where (the byte in
//! its direction's stream) and what broke, never a panic.

mod krb;
mod render;
mod smb;

pub use render::{json_line, text_line};

use keyless_capture::{Capture, Protocol};
use serde_json::Value;

/// One decoded message (one SMB2 header of a compound counts as one message).
#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    /// 1-based capture packet that completed the message.
    pub packet: usize,
    /// Capture time, nanoseconds since 1970.
    pub time_ns: i128,
    /// Index of the connection in the capture.
    pub connection: usize,
    /// Client to server.
    pub to_server: bool,
    /// SMB or Kerberos.
    pub protocol: Protocol,
    /// What it is: `NEGOTIATE request`, `AS-REP`, `TRANSFORM (encrypted)`...
    pub kind: String,
    /// The NTSTATUS of an SMB2 response, the error code of a KRB-ERROR.
    pub status: Option<String>,
    /// Every decoded field, in wire order; the text line shows the main ones.
    pub fields: Vec<(&'static str, Value)>,
    /// Why the message (or a part of it) does not decode.
    pub broken: Option<Broken>,
}

/// Where and why a message does not decode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Broken {
    /// Byte offset in its direction's TCP stream (for UDP: in the datagram) where the
    /// message, or the part that broke, starts.
    pub offset: usize,
    /// The structure and field that broke, as the decoder names them.
    pub what: String,
}

impl Record {
    fn new(m: &keyless_capture::Message, protocol: Protocol, kind: impl Into<String>) -> Self {
        Self {
            packet: m.packet,
            time_ns: m.time_ns,
            connection: m.connection,
            to_server: m.to_server,
            protocol,
            kind: kind.into(),
            status: None,
            fields: Vec::new(),
            broken: None,
        }
    }

    fn field(&mut self, name: &'static str, value: impl Into<Value>) {
        self.fields.push((name, value.into()));
    }
}

/// Every message of `capture`, decoded, in capture order.
pub fn inspect(capture: &Capture) -> Vec<Record> {
    let mut out = Vec::new();
    for m in &capture.messages {
        let Some(conn) = capture.connections.get(m.connection) else { continue };
        match conn.protocol {
            Protocol::Smb => smb::describe(m, &mut out),
            Protocol::Kerberos => out.push(krb::describe(m, conn.udp)),
        }
    }
    out
}

/// `bytes` as lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// For fuzzing: a capture through the reader, reassembly, framing, every decoder and both
/// renderings; never a panic, and every message points into the capture.
#[doc(hidden)]
pub fn fuzz(bytes: &[u8]) {
    if let Ok(c) = keyless_capture::parse(bytes, &keyless_capture::Ports::default()) {
        for m in &c.messages {
            assert!(m.connection < c.connections.len() && (1..=c.packets).contains(&m.packet));
        }
        for r in inspect(&c) {
            let _ = text_line(&r, 0);
            let _ = json_line(&r);
        }
    }
}
