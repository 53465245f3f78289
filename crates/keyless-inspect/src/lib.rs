//! What crossed the wire: every SMB2/3 and Kerberos message of a capture as a [`Record`] of
//! named fields, for `keyless inspect` and for tools that embed it. The capture comes from
//! [`keyless_capture`]; nothing here does I/O.
//!
//! A message that does not decode is a record with a [`Broken`] saying where (the byte in
//! its direction's stream) and what broke, never a panic.

mod krb;
mod krb_keys;
mod render;
mod smb;
mod smb_keys;
mod stats;

pub use render::{json_line, text_line};
pub use stats::{stats, stats_text};

use keyless_capture::{Capture, Protocol};
use keyless_crypto::Zeroizing;
use keyless_krb::keytab::Keytab;
use serde_json::Value;

/// What `inspect` may decrypt with: keytabs (services' keys open tickets, users' keys open
/// AS-REPs) and SMB session keys. What they open shows as fields; keys found inside (ticket
/// session keys, subkeys, SMB signing and cipher keys) are shown too, since revealing them
/// is what the user holding these secrets asked for.
#[derive(Default)]
pub struct Secrets {
    /// Keytabs, searched by principal, enctype and key version.
    pub keytabs: Vec<Keytab>,
    /// GSS session keys (16 or 32 bytes) by SMB session id.
    pub session_keys: Vec<(u64, Zeroizing<Vec<u8>>)>,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("keytabs", &self.keytabs.len())
            .field("session_keys", &self.session_keys.iter().map(|(id, _)| format!("{id:#018x}")).collect::<Vec<_>>())
            .finish()
    }
}

/// The keys as the capture is read: the secrets given and what they opened so far.
pub(crate) struct Keys<'s> {
    krb: krb_keys::Keyring<'s>,
    smb: smb_keys::SmbKeys<'s>,
}

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

/// Every message of `capture`, decoded (and decrypted where `secrets` allow), in capture
/// order.
pub fn inspect(capture: &Capture, secrets: &Secrets) -> Vec<Record> {
    let mut keys =
        Keys { krb: krb_keys::Keyring::new(&secrets.keytabs), smb: smb_keys::SmbKeys::new(&secrets.session_keys) };
    let mut out = Vec::new();
    for m in &capture.messages {
        let Some(conn) = capture.connections.get(m.connection) else { continue };
        match conn.protocol {
            Protocol::Smb => smb::describe(m, &mut keys, &mut out),
            Protocol::Kerberos => out.push(krb::describe(m, conn.udp, &mut keys.krb)),
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
        for r in inspect(&c, &Secrets::default()) {
            let _ = text_line(&r, 0);
            let _ = json_line(&r);
        }
    }
}
