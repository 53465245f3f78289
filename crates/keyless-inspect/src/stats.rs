//! `keyless inspect --stats`: what a capture holds in a few lines: per SMB connection the
//! dialect, cipher and signing algorithm; counts per command, bytes read and written, and
//! round-trip times (request to its final response, by connection and message id); Kerberos
//! messages per kind.

use crate::Record;
use keyless_capture::Protocol;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

/// Per command: requests, responses, and round trips in nanoseconds.
#[derive(Default)]
struct Command {
    requests: usize,
    responses: usize,
    rtts: Vec<i128>,
}

/// The summary of `records`, as a JSON object.
pub fn stats(records: &[Record]) -> Value {
    let field = |r: &Record, name: &str| r.fields.iter().find(|(n, _)| *n == name).map(|(_, v)| v.clone());
    let mut connections = BTreeMap::new();
    let mut commands: BTreeMap<String, Command> = BTreeMap::new();
    let mut kerberos: BTreeMap<String, usize> = BTreeMap::new();
    let (mut read, mut written, mut sealed, mut opened, mut malformed) = (0u64, 0u64, 0usize, 0usize, 0usize);
    // (connection, message id) -> (command, request time)
    let mut pending: HashMap<(usize, u64), (String, i128)> = HashMap::new();
    for r in records {
        malformed += usize::from(r.broken.is_some());
        if r.protocol == Protocol::Kerberos {
            *kerberos.entry(r.kind.clone()).or_default() += 1;
            continue;
        }
        if r.kind == crate::smb::TRANSFORM_KIND {
            sealed += 1;
            opened += usize::from(field(r, "decrypted").is_some());
            continue;
        }
        let Some((command, direction)) = r.kind.rsplit_once(' ') else { continue };
        let Some(id) = field(r, "message_id").and_then(|v| v.as_u64()) else { continue };
        let entry = commands.entry(command.to_string()).or_default();
        if direction == "request" {
            entry.requests += 1;
            pending.insert((r.connection, id), (command.to_string(), r.time_ns));
            written += field(r, "length").filter(|_| command == "WRITE").and_then(|v| v.as_u64()).unwrap_or(0);
            continue;
        }
        entry.responses += 1;
        read += field(r, "data_length").filter(|_| command == "READ").and_then(|v| v.as_u64()).unwrap_or(0);
        if command == "NEGOTIATE" && r.status.as_deref() == Some("STATUS_SUCCESS") {
            let settled = ["dialect", "cipher", "signing"].map(|n| field(r, n).unwrap_or(Value::Null));
            connections.insert(r.connection, settled);
        }
        // An interim STATUS_PENDING is not the answer: the final response ends the round trip.
        if r.status.as_deref() != Some("STATUS_PENDING")
            && let Some((_, sent)) = pending.remove(&(r.connection, id))
        {
            entry.rtts.push(r.time_ns - sent);
        }
    }
    let commands: serde_json::Map<String, Value> = commands
        .into_iter()
        .map(|(name, mut c)| {
            c.rtts.sort_unstable();
            let ms = |ns: Option<&i128>| ns.map(|&ns| ns as f64 / 1e6);
            let rtt = json!({
                "min_ms": ms(c.rtts.first()),
                "median_ms": ms(c.rtts.get(c.rtts.len() / 2)),
                "max_ms": ms(c.rtts.last()),
            });
            (name, json!({ "requests": c.requests, "responses": c.responses, "rtt": rtt }))
        })
        .collect();
    let connections: Vec<Value> = connections
        .into_iter()
        .map(|(c, [dialect, cipher, signing])| {
            json!({ "connection": c, "dialect": dialect, "cipher": cipher, "signing": signing })
        })
        .collect();
    json!({
        "messages": records.len(),
        "malformed": malformed,
        "smb_connections": connections,
        "commands": commands,
        "bytes_read": read,
        "bytes_written": written,
        "encrypted_frames": sealed,
        "encrypted_frames_opened": opened,
        "kerberos": kerberos,
    })
}

/// The summary as text.
pub fn stats_text(s: &Value) -> String {
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
            "{:<16} {:>8} {:>9}   {:>28}\n",
            "command", "requests", "responses", "round trip ms min/median/max"
        );
        for (name, c) in commands {
            let ms = |v: &Value| v.as_f64().map_or("-".to_string(), |x| format!("{x:.3}"));
            let rtt = &c["rtt"];
            let times = format!("{} / {} / {}", ms(&rtt["min_ms"]), ms(&rtt["median_ms"]), ms(&rtt["max_ms"]));
            let (requests, responses) = (c["requests"].as_u64().unwrap_or(0), c["responses"].as_u64().unwrap_or(0));
            out += &format!("{name:<16} {requests:>8} {responses:>9}   {times:>28}\n");
        }
    }
    if let Some(kinds) = s["kerberos"].as_object().filter(|k| !k.is_empty()) {
        let list: Vec<String> = kinds.iter().map(|(k, n)| format!("{k} {n}")).collect();
        out += &format!("Kerberos: {}\n", list.join(", "));
    }
    out
}
