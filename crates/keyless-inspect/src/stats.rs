//! `keyless inspect --stats`: what a capture holds in a few lines: per SMB connection the
//! dialect, cipher and signing algorithm; counts per command, bytes read and written, and
//! round-trip times (request to its final response, by connection and message id); Kerberos
//! messages per kind.

use crate::Record;
use keyless_capture::Protocol;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// Per command: requests, final and interim (STATUS_PENDING) responses, and round trips in
/// nanoseconds.
#[derive(Default)]
struct Command {
    requests: usize,
    responses: usize,
    interim: usize,
    rtts: Vec<i128>,
}

/// The summary, added up one record at a time (so a capture of any size is summed up as it
/// is read).
#[derive(Default)]
pub struct Stats {
    messages: usize,
    malformed: usize,
    /// Per SMB connection: dialect, cipher, signing.
    connections: BTreeMap<usize, [Value; 3]>,
    commands: BTreeMap<String, Command>,
    kerberos: BTreeMap<String, usize>,
    read: u64,
    written: u64,
    sealed: usize,
    opened: usize,
    /// (connection, message id) -> request time
    pending: HashMap<(usize, u64), i128>,
}

impl Stats {
    /// Counts `r` in.
    pub fn add(&mut self, r: &Record) {
        let field = |name: &str| r.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| &v.0);
        self.messages += 1;
        self.malformed += usize::from(r.broken.is_some());
        if r.protocol == Protocol::Kerberos {
            *self.kerberos.entry(r.kind.clone()).or_default() += 1;
            return;
        }
        if r.kind == crate::smb::TRANSFORM_KIND {
            self.sealed += 1;
            self.opened += usize::from(field("decrypted").is_some());
            return;
        }
        let Some((command, direction)) = r.kind.rsplit_once(' ') else { return };
        let Some(id) = field("message_id").and_then(Value::as_u64) else { return };
        let entry = self.commands.entry(command.to_string()).or_default();
        if direction == "request" {
            entry.requests += 1;
            self.pending.insert((r.connection, id), r.time_ns);
            if command == "WRITE" {
                self.written += field("length").and_then(Value::as_u64).unwrap_or(0);
            }
            return;
        }
        // An interim STATUS_PENDING is not the answer: the final response ends the round trip.
        if r.status.as_deref() == Some("STATUS_PENDING") {
            entry.interim += 1;
            return;
        }
        entry.responses += 1;
        if command == "READ" {
            self.read += field("data_length").and_then(Value::as_u64).unwrap_or(0);
        }
        if command == "NEGOTIATE" && r.status.as_deref() == Some("STATUS_SUCCESS") {
            let settled = ["dialect", "cipher", "signing"].map(|n| field(n).cloned().unwrap_or(Value::Null));
            self.connections.insert(r.connection, settled);
        }
        if let Some(sent) = self.pending.remove(&(r.connection, id)) {
            entry.rtts.push(r.time_ns - sent);
        }
    }

    /// The summary as one JSON object (text).
    pub fn json(&self) -> String {
        self.to_json().to_string()
    }

    /// The summary as lines of text.
    pub fn text(&self) -> String {
        stats_text(&self.to_json())
    }

    fn to_json(&self) -> Value {
        let commands: serde_json::Map<String, Value> = self
            .commands
            .iter()
            .map(|(name, c)| {
                let mut rtts = c.rtts.clone();
                rtts.sort_unstable();
                let ms = |ns: Option<&i128>| ns.map(|&ns| ns as f64 / 1e6);
                let rtt = json!({
                    "min_ms": ms(rtts.first()),
                    "median_ms": ms(rtts.get(rtts.len() / 2)),
                    "max_ms": ms(rtts.last()),
                });
                (name.clone(), json!({ "requests": c.requests, "responses": c.responses, "interim_responses": c.interim, "rtt": rtt }))
            })
            .collect();
        let connections: Vec<Value> = self
            .connections
            .iter()
            .map(|(c, [dialect, cipher, signing])| {
                json!({ "connection": c, "dialect": dialect, "cipher": cipher, "signing": signing })
            })
            .collect();
        json!({
            "messages": self.messages,
            "malformed": self.malformed,
            "smb_connections": connections,
            "commands": commands,
            "bytes_read": self.read,
            "bytes_written": self.written,
            "encrypted_frames": self.sealed,
            "encrypted_frames_opened": self.opened,
            "kerberos": self.kerberos,
        })
    }
}

/// The summary of `records`.
pub fn stats(records: &[Record]) -> Stats {
    let mut s = Stats::default();
    for r in records {
        s.add(r);
    }
    s
}

fn stats_text(s: &Value) -> String {
    let mut out = format!("{} messages, {} MALFORMED\n", s["messages"], s["malformed"]);
    for c in s["smb_connections"].as_array().into_iter().flatten() {
        let name = |v: &Value| v.as_str().unwrap_or("?").to_string();
        out += &format!(
            "SMB connection c{}: dialect {}, cipher {}, signing {}\n",
            c["connection"],
            name(&c["dialect"]),
            name(&c["cipher"]),
            name(&c["signing"])
        );
    }
    out += &format!(
        "read {} bytes, written {} bytes; encrypted frames {} ({} opened)\n",
        s["bytes_read"], s["bytes_written"], s["encrypted_frames"], s["encrypted_frames_opened"]
    );
    if let Some(commands) = s["commands"].as_object().filter(|c| !c.is_empty()) {
        out += &format!(
            "{:<16} {:>8} {:>9} {:>7}   {:>28}\n",
            "command", "requests", "responses", "interim", "round trip ms min/median/max"
        );
        for (name, c) in commands {
            let ms = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.3}"));
            let rtt = &c["rtt"];
            let times = format!("{} / {} / {}", ms(&rtt["min_ms"]), ms(&rtt["median_ms"]), ms(&rtt["max_ms"]));
            let count = |k: &str| c[k].as_u64().unwrap_or(0);
            let (requests, responses, interim) = (count("requests"), count("responses"), count("interim_responses"));
            out += &format!("{name:<16} {requests:>8} {responses:>9} {interim:>7}   {times:>28}\n");
        }
    }
    if let Some(kinds) = s["kerberos"].as_object().filter(|k| !k.is_empty()) {
        let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        out += &format!("Kerberos: {}\n", list.join(", "));
    }
    out
}
