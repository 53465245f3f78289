//! What crossed the wire: every SMB2/3 and Kerberos message of a capture as a [`Record`] of
//! named fields, for `keyless inspect` and for tools that embed it. The capture comes from
//! [`keyless_capture`]; nothing here does I/O.
//!
//! A message that does not decode is a record with a [`Broken`] saying where (the byte in
//! its direction's stream) and what broke, never a panic.
//!
//! ```
//! let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata/captures/samba/smbclient-smbd-signed.pcap");
//! let capture = keyless_capture::parse(&std::fs::read(path).unwrap(), &keyless_capture::Ports::default()).unwrap();
//! let records = keyless_inspect::inspect(&capture, &keyless_inspect::Secrets::default());
//! assert_eq!(records[0].kind, "NEGOTIATE request");
//! let dialect = records[1].fields.iter().find(|(name, _)| *name == "dialect").map(|(_, v)| v.to_string());
//! assert_eq!(dialect.as_deref(), Some("3.1.1"));
//! println!("{}", keyless_inspect::text_line(&records[1], records[0].time_ns));
//! ```

mod dfs;
pub mod files;
mod krb;
mod krb_keys;
mod ntlm;
mod render;
mod smb;
mod smb_keys;
mod stats;
mod tls;

pub use render::{json_line, text_line};
pub use stats::{Stats, stats};

use keyless_capture::{Capture, Connection, Message, Protocol};
use keyless_crypto::Zeroizing;
use keyless_crypto::ntlm::NtlmKey;
use keyless_krb::keytab::Keytab;
use serde_json::Value;
pub use tls::KeyLog;

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
    /// NT hashes (of passwords, or as secretsdump and mimikatz give them) tried on every NTLM
    /// AUTHENTICATE: the one that verifies gives its session key.
    pub nt_hashes: Vec<NtlmKey>,
    /// TLS secrets (NSS key log) that open a KDC proxy's HTTPS.
    pub tls_keylog: KeyLog,
}

impl std::fmt::Debug for Secrets {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Secrets")
            .field("keytabs", &self.keytabs.len())
            .field("session_keys", &self.session_keys.iter().map(|(id, _)| format!("{id:#018x}")).collect::<Vec<_>>())
            .field("nt_hashes", &self.nt_hashes.len())
            .field("tls_keylog", &self.tls_keylog)
            .finish()
    }
}

/// The keys as the capture is read: the secrets given and what they opened so far.
pub(crate) struct Keys<'s> {
    krb: krb_keys::Keyring<'s>,
    smb: smb_keys::SmbKeys<'s>,
    nt_hashes: &'s [NtlmKey],
    /// The files being rebuilt (`--export-files`), and their pieces not yet handed out.
    files: Option<files::Rebuilder>,
    pieces: Vec<(usize, u64, Vec<u8>)>,
    tls: tls::Tls<'s>,
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
    pub fields: Vec<(&'static str, FieldValue)>,
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
        self.fields.push((name, FieldValue(value.into())));
    }
}

/// A decoded field's value: a number, a string (names, hex), a flag, or a list or object of
/// them, as the JSON rendering shows it.
#[derive(Debug, Clone, PartialEq)]
pub struct FieldValue(pub(crate) Value);

impl FieldValue {
    /// The value as an unsigned number, when it is one.
    pub fn as_u64(&self) -> Option<u64> {
        self.0.as_u64()
    }

    /// The value as a string, when it is one.
    pub fn as_str(&self) -> Option<&str> {
        self.0.as_str()
    }

    /// The value as a flag, when it is one.
    pub fn as_bool(&self) -> Option<bool> {
        self.0.as_bool()
    }

    /// The value as JSON text.
    pub fn to_json(&self) -> String {
        self.0.to_string()
    }
}

/// As the text line shows it: strings bare (quoted when they hold spaces or are empty),
/// lists comma-joined, the rest as JSON.
impl std::fmt::Display for FieldValue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&render::plain(&self.0))
    }
}

impl PartialEq<str> for FieldValue {
    fn eq(&self, other: &str) -> bool {
        self.0.as_str() == Some(other)
    }
}

impl PartialEq<&str> for FieldValue {
    fn eq(&self, other: &&str) -> bool {
        self == *other
    }
}

/// An SMB session's keys as inspect derived them: what Wireshark's `smb2_seskey_list` takes.
#[derive(Clone)]
pub struct SmbSessionKeys {
    /// The session id.
    pub session_id: u64,
    /// The GSS session key (given, or from NTLM or Kerberos).
    pub session_key: Zeroizing<Vec<u8>>,
    /// The client-to-server cipher key (SMB 3.x).
    pub c2s: Option<Zeroizing<Vec<u8>>>,
    /// The server-to-client cipher key (SMB 3.x).
    pub s2c: Option<Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for SmbSessionKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SmbSessionKeys")
            .field("session_id", &format_args!("{:#018x}", self.session_id))
            .finish_non_exhaustive()
    }
}

/// A Kerberos key inspect learned or used.
#[derive(Debug, Clone)]
pub struct KerberosKey {
    /// The field that showed it (`ticket_session_key`, `ap_rep_subkey`, ...), or
    /// `service_key` for a key given under another name that opened a service's ticket.
    pub what: &'static str,
    /// The key.
    pub key: keyless_crypto::Key,
    /// The principal it is the key of, when known.
    pub principal: Option<keyless_krb::Principal>,
    /// Its key version (0: unknown).
    pub kvno: u32,
}

/// The keys a capture gave up: each SMB session's, and every Kerberos key learned.
#[derive(Debug)]
pub struct Found<'a> {
    /// SMB sessions, in the order they were established.
    pub smb: &'a [SmbSessionKeys],
    /// Kerberos keys learned: ticket session keys, subkeys, FAST keys, service keys by name.
    pub kerberos: &'a [KerberosKey],
}

/// Wireshark's `smb2_seskey_list` file (a UAT: Session ID as on the wire, little-endian;
/// Session Key; Server-to-Client; Client-to-Server, in hex), one line per session.
pub fn wireshark_seskey_list(sessions: &[SmbSessionKeys]) -> String {
    let optional = |k: &Option<Zeroizing<Vec<u8>>>| k.as_ref().map(|k| hex(k)).unwrap_or_default();
    sessions
        .iter()
        .map(|s| {
            let id = hex(&s.session_id.to_le_bytes());
            format!("{id},{},{},{}\n", hex(&s.session_key), optional(&s.s2c), optional(&s.c2s))
        })
        .collect()
}

/// Decodes messages as a capture is read, following the keys from one message to the next
/// (so messages must come in capture order, as [`keyless_capture::Reader`] hands them out).
pub struct Inspector<'s> {
    keys: Keys<'s>,
}

impl<'s> Inspector<'s> {
    /// An inspector that decrypts with `secrets`.
    pub fn new(secrets: &'s Secrets) -> Self {
        Self {
            keys: Keys {
                krb: krb_keys::Keyring::new(&secrets.keytabs),
                smb: smb_keys::SmbKeys::new(&secrets.session_keys),
                nt_hashes: &secrets.nt_hashes,
                files: None,
                pieces: Vec::new(),
                tls: tls::Tls::new(&secrets.tls_keylog),
            },
        }
    }

    /// Rebuilds the files the SMB sessions read and wrote: their pieces come out of
    /// [`Self::drain_pieces`], their names and coverage from [`Self::files`].
    #[must_use]
    pub fn with_files(mut self) -> Self {
        self.keys.files = Some(files::Rebuilder::default());
        self
    }

    /// The pieces of files the messages so far carried, handed to `write` once each.
    pub fn drain_pieces(&mut self, mut write: impl FnMut(&files::RebuiltFile, u64, &[u8])) {
        let Some(rebuilder) = &self.keys.files else { return };
        for (file, offset, data) in self.keys.pieces.drain(..) {
            write(&rebuilder.files[file], offset, &data);
        }
    }

    /// The files rebuilt so far (with [`Self::with_files`]).
    pub fn files(&self) -> &[files::RebuiltFile] {
        self.keys.files.as_ref().map_or(&[], |f| &f.files)
    }

    /// The keys found so far.
    pub fn found(&self) -> Found<'_> {
        Found { smb: &self.keys.smb.established, kerberos: &self.keys.krb.found }
    }

    /// The records of message `m` of connection `conn`, pushed onto `out`.
    pub fn message(&mut self, conn: &Connection, m: &Message<'_>, out: &mut Vec<Record>) {
        match conn.protocol {
            Protocol::Smb => smb::describe(m, &mut self.keys, out),
            Protocol::Kerberos => out.push(krb::describe(m, conn.udp, &mut self.keys.krb)),
            Protocol::Tls => self.keys.tls.describe(m, &mut self.keys.krb, out),
        }
    }
}

/// Every message of `capture`, decoded (and decrypted where `secrets` allow), in capture
/// order.
pub fn inspect(capture: &Capture, secrets: &Secrets) -> Vec<Record> {
    let mut inspector = Inspector::new(secrets);
    let mut out = Vec::new();
    for m in &capture.messages {
        if let Some(conn) = capture.connections.get(m.connection) {
            inspector.message(conn, m, &mut out);
        }
    }
    out
}

/// `bytes` as lowercase hex.
fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The fuzz targets' entry points (`capture`, `inspect_files`, `inspect_tls`).
#[cfg(feature = "fuzzing")]
pub mod fuzzing {
    use super::*;
    pub use crate::files::fuzz as files;
    pub use crate::tls::fuzz as tls;

    /// For fuzzing: a capture through the reader, reassembly, framing, every decoder and both
    /// renderings; never a panic, every message points into the capture, and the file fed in
    /// pieces (as `keyless inspect` reads it) gives the same messages as read whole.
    pub fn capture(bytes: &[u8]) {
        let mut ports = keyless_capture::Ports::default();
        ports.tls.push(443);
        let Ok(c) = keyless_capture::parse(bytes, &ports) else { return };
        for m in &c.messages {
            assert!(m.connection < c.connections.len() && (1..=c.packets).contains(&m.packet));
        }
        for secrets in [Secrets::default(), fuzz_secrets(&c)] {
            for r in inspect(&c, &secrets) {
                let _ = text_line(&r, 0);
                let _ = json_line(&r);
            }
        }
        let mut reader = keyless_capture::Reader::new(&ports);
        let mut pieces = Vec::new();
        let mut sink = |_: &Connection, m: Message<'_>| pieces.push(m.into_owned());
        let mut held = Vec::new();
        for chunk in bytes.chunks(1 + bytes.len() % 97) {
            held.extend_from_slice(chunk);
            let used = reader.feed(&held, false, &mut sink).unwrap_or(usize::MAX);
            assert!(used <= held.len(), "a header read whole is read in pieces too");
            held.drain(..used);
        }
        let used = reader.feed(&held, true, &mut sink);
        assert!(used.is_ok());
        reader.finish(&mut sink);
        pieces.sort_by_key(|m| m.packet);
        let key = |m: &Message<'_>| (m.packet, m.connection, m.to_server, m.stream_offset, m.payload.to_vec());
        assert!(pieces.iter().map(key).eq(c.messages.iter().map(key)), "pieces and whole differ");
    }
}

/// Secrets for fuzzing: a key for each SMB session the capture names (16 and 32 bytes) and a
/// key of every enctype in a keytab (tried on every ticket of that enctype), so the key state
/// machines, signature checks and decryptions run on whatever the fuzzer makes.
#[cfg(feature = "fuzzing")]
fn fuzz_secrets(c: &Capture) -> Secrets {
    let mut ids: Vec<u64> = c
        .messages
        .iter()
        .filter_map(|m| keyless_smb::header::Header::parse(&m.payload).ok().map(|h| h.session_id()))
        .filter(|&id| id != 0)
        .collect();
    ids.sort_unstable();
    ids.dedup();
    let session_keys = ids.into_iter().take(4).map(|id| (id, Zeroizing::new(vec![0x42; 16 << (id & 1)]))).collect();
    let entries =
        [(17, 16), (18, 32), (19, 16), (20, 32), (23, 16)].map(|(enctype, len)| keyless_krb::keytab::KeytabEntry {
            principal: keyless_krb::Principal {
                realm: "FUZZ".into(),
                name_type: keyless_krb::principal::NameType::PRINCIPAL,
                components: vec!["fuzz".into()],
            },
            timestamp: 0,
            kvno: 1,
            enctype,
            key: Zeroizing::new(vec![0x24; len]),
        });
    let nt_hashes = vec![NtlmKey::from_bytes([0x5a; 16])];
    Secrets { keytabs: vec![Keytab { entries: entries.to_vec() }], session_keys, nt_hashes, ..Secrets::default() }
}
