//! A record as one line of text (the main fields) or one JSON object (every field).

use crate::Record;
use keyless_capture::Protocol;
use serde_json::{Map, Value, json};

/// Fields left off the text line (long, or said by the line's other columns).
const VERBOSE: [&str; 9] = [
    "command",
    "nt_status",
    "signature",
    "nonce",
    "client_guid",
    "server_guid",
    "capabilities",
    "security_mode",
    "padata",
];

/// One line: packet, seconds since `t0_ns`, connection and direction, what it is, status,
/// the main fields; a message that does not decode ends with where and why.
pub fn text_line(r: &Record, t0_ns: i128) -> String {
    let secs = (r.time_ns - t0_ns) as f64 / 1e9;
    let arrow = if r.to_server { "->" } else { "<-" };
    let proto = match r.protocol {
        Protocol::Smb => "SMB",
        Protocol::Kerberos => "KRB",
        Protocol::Tls => "TLS",
    };
    let mut line = format!("{:>6} {secs:>11.6} c{}{arrow} {proto} {}", r.packet, r.connection, r.kind);
    if let Some(s) = &r.status {
        line.push_str(&format!(" [{s}]"));
    }
    for (name, value) in r.fields.iter().filter(|(n, _)| !VERBOSE.contains(n)) {
        line.push_str(&format!(" {name}={value}"));
    }
    if let Some(b) = &r.broken {
        line.push_str(&format!("  MALFORMED at stream byte {}: {}", b.offset, b.what));
    }
    line
}

/// A field value as the text line shows it: strings bare (quoted when they hold spaces or are
/// empty), lists comma-joined.
pub(crate) fn plain(v: &Value) -> String {
    match v {
        Value::String(s) if s.is_empty() || s.contains(char::is_whitespace) => format!("{s:?}"),
        Value::String(s) => s.clone(),
        Value::Array(a) => a.iter().map(plain).collect::<Vec<_>>().join(","),
        other => other.to_string(),
    }
}

/// One JSON object with every decoded field.
pub fn json_line(r: &Record) -> String {
    let mut fields = Map::new();
    for (name, value) in &r.fields {
        fields.insert((*name).to_string(), value.0.clone());
    }
    let mut o = json!({
        "packet": r.packet,
        "time": (r.time_ns as f64) / 1e9,
        "connection": r.connection,
        "direction": if r.to_server { "to_server" } else { "to_client" },
        "protocol": match r.protocol { Protocol::Smb => "smb2", Protocol::Kerberos => "kerberos", Protocol::Tls => "tls" },
        "kind": r.kind,
        "fields": fields,
    });
    if let Some(s) = &r.status {
        o["status"] = json!(s);
    }
    if let Some(b) = &r.broken {
        o["malformed"] = json!({ "offset": b.offset, "what": b.what });
    }
    o.to_string()
}
