//! Kerberos inside a KDC proxy's HTTPS (MS-KKDCP), opened with the TLS key log a client or
//! server wrote (`SSLKEYLOGFILE`, the NSS key log format): TLS 1.2 and 1.3 records with
//! AES-GCM are decrypted (RFC 5246/5288, RFC 8446), the HTTP bodies taken out, and the
//! KDC-PROXY-MESSAGE in each decoded as Kerberos. Each TLS record is a record of its own.

use crate::krb_keys::Keyring;
use crate::{Broken, Record};
use hmac::{Hmac, KeyInit, Mac};
use keyless_capture::{Message as Captured, Protocol};
use keyless_crypto::{Aead, Cipher, CipherKey, Zeroizing};
use sha2::{Sha256, Sha384};
use std::collections::HashMap;

/// Secrets of an NSS key log file, by label and client random.
#[derive(Default)]
pub struct KeyLog {
    entries: HashMap<(String, [u8; 32]), Zeroizing<Vec<u8>>>,
}

impl std::fmt::Debug for KeyLog {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "KeyLog({} secrets)", self.entries.len())
    }
}

impl KeyLog {
    /// `LABEL CLIENT_RANDOM SECRET` lines (hex); comments and other lines are passed over.
    pub fn parse(text: &str) -> Self {
        let mut entries = HashMap::new();
        for line in text.lines() {
            let mut parts = line.split_whitespace();
            let (Some(label), Some(random), Some(secret)) = (parts.next(), parts.next(), parts.next()) else {
                continue;
            };
            let (Some(random), Some(secret)) = (unhex(random), unhex(secret)) else { continue };
            if let Ok(random) = <[u8; 32]>::try_from(random.as_slice()) {
                entries.insert((label.to_string(), random), Zeroizing::new(secret));
            }
        }
        Self { entries }
    }

    /// How many secrets it holds.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether it holds none.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    fn get(&self, label: &str, random: &[u8; 32]) -> Option<&[u8]> {
        self.entries.get(&(label.to_string(), *random)).map(|s| s.as_slice())
    }
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    s.len()
        .is_multiple_of(2)
        .then(|| (0..s.len()).step_by(2).map(|i| u8::from_str_radix(s.get(i..i + 2)?, 16).ok()).collect())?
}

keyless_wire_enum::wire_enum! {
    /// TLS ContentType (RFC 8446 B.1): what a record carries.
    struct ContentType(u8) {
        /// A TLS 1.2 key change (and TLS 1.3's compatibility record).
        CHANGE_CIPHER_SPEC = 20 => "TLS change_cipher_spec",
        /// An alert.
        ALERT = 21 => "TLS alert",
        /// A handshake message.
        HANDSHAKE = 22 => "TLS handshake",
        /// Application data (and, in TLS 1.3, every protected record).
        APPLICATION_DATA = 23 => "TLS application_data",
    }
}

/// One direction's record protection: the keys in the order they come into use (TLS 1.3:
/// handshake, then application traffic), the one in use, and its sequence number.
#[derive(Default)]
struct Protection {
    keys: Vec<RecordKey>,
    current: usize,
    seq: u64,
    /// TLS 1.2: ChangeCipherSpec seen, so what follows is protected.
    on: bool,
}

struct RecordKey {
    aead: Aead,
    /// TLS 1.3: the 12-byte IV; TLS 1.2: the 4-byte implicit part.
    iv: Vec<u8>,
    tls13: bool,
}

#[derive(Default)]
struct Direction {
    protection: Protection,
    /// Decrypted application data not yet read as HTTP.
    http: Vec<u8>,
    /// Its stream offset, for broken-message positions.
    http_offset: usize,
}

#[derive(Default)]
struct Conn {
    client_random: Option<[u8; 32]>,
    server_random: Option<[u8; 32]>,
    suite: Option<u16>,
    tls13: bool,
    to_server: Direction,
    to_client: Direction,
    /// Why the connection's records cannot be opened, once known.
    shut: Option<String>,
}

/// The TLS connections of a capture.
pub(crate) struct Tls<'s> {
    keylog: &'s KeyLog,
    conns: HashMap<usize, Conn>,
}

impl<'s> Tls<'s> {
    pub fn new(keylog: &'s KeyLog) -> Self {
        Self { keylog, conns: HashMap::new() }
    }

    /// One TLS record (header included): its record, then those of what it carried.
    pub fn describe(&mut self, m: &Captured, keys: &mut Keyring, out: &mut Vec<Record>) {
        let rec = &m.payload;
        // The capture hands out whole records, header included; anything shorter is no record.
        let Some((&[kind, major, minor, ..], body)) = rec.split_at_checked(5) else { return };
        let kind = ContentType(kind);
        let mut r = Record::new(m, Protocol::Tls, record_kind(kind));
        r.field("content_type", kind.0);
        r.field("version", format!("{major}.{minor}"));
        r.field("length", body.len());
        let conn = self.conns.entry(m.connection).or_default();
        let dir = if m.to_server { &mut conn.to_server } else { &mut conn.to_client };
        let protected =
            kind == ContentType::APPLICATION_DATA || (dir.protection.on && kind != ContentType::CHANGE_CIPHER_SPEC);
        if kind == ContentType::CHANGE_CIPHER_SPEC && !conn.tls13 {
            dir.protection.on = true;
            dir.protection.seq = 0;
        }
        if !protected {
            if kind == ContentType::HANDSHAKE {
                handshake(&mut r, conn, body, m.to_server);
                if conn.server_random.is_some()
                    && conn.to_server.protection.keys.is_empty()
                    && conn.shut.is_none()
                    && let Err(why) = conn.derive(self.keylog)
                {
                    conn.shut = Some(why);
                }
            }
            return out.push(r);
        }
        if let Some(why) = &conn.shut {
            r.field("not_decrypted", why.clone());
            return out.push(r);
        }
        let dir = if m.to_server { &mut conn.to_server } else { &mut conn.to_client };
        match dir.protection.open(rec) {
            Ok((inner, plain)) => {
                r.field("decrypted", true);
                r.field("inner_type", record_kind(ContentType(inner)));
                out.push(r);
                if ContentType(inner) == ContentType::APPLICATION_DATA {
                    dir.http.extend_from_slice(&plain);
                    http_messages(m, dir, keys, out);
                }
            }
            Err(why) => {
                r.field("not_decrypted", why);
                out.push(r);
            }
        }
    }
}

fn record_kind(kind: ContentType) -> &'static str {
    kind.name().unwrap_or("TLS record")
}

/// Plaintext handshake messages: ClientHello's and ServerHello's randoms, the cipher suite
/// and (TLS 1.3) the version chosen.
fn handshake(r: &mut Record, conn: &mut Conn, body: &[u8], to_server: bool) {
    let mut at = 0;
    let mut kinds = Vec::new();
    while let Some(h) = body.get(at..at + 4) {
        let len = usize::from(h[1]) << 16 | usize::from(h[2]) << 8 | usize::from(h[3]);
        let Some(msg) = body.get(at + 4..at + 4 + len) else { break };
        kinds.push(h[0]);
        let random = msg.get(2..34).and_then(|r| <[u8; 32]>::try_from(r).ok());
        match (h[0], to_server) {
            (1, true) => conn.client_random = random,
            (2, false) => {
                conn.server_random = random;
                let session_id = usize::from(*msg.get(34).unwrap_or(&0));
                let suite_at = 35 + session_id;
                conn.suite = msg.get(suite_at..suite_at + 2).map(|s| u16::from_be_bytes([s[0], s[1]]));
                conn.tls13 =
                    extensions(msg.get(suite_at + 3..).unwrap_or_default()).any(|(t, v)| t == 43 && v == [3, 4]);
                if let Some(s) = conn.suite {
                    r.field("cipher_suite", format!("{s:#06x}"));
                }
                r.field("tls_version", if conn.tls13 { "1.3" } else { "1.2" });
            }
            _ => {}
        }
        at += 4 + len;
    }
    r.field("handshake", kinds);
}

/// A hello's extensions (after their 2-byte total length): (type, data).
fn extensions(b: &[u8]) -> impl Iterator<Item = (u16, &[u8])> {
    let mut at = 2;
    std::iter::from_fn(move || {
        let t = u16::from_be_bytes(b.get(at..at + 2)?.try_into().ok()?);
        let len = usize::from(u16::from_be_bytes(b.get(at + 2..at + 4)?.try_into().ok()?));
        let v = b.get(at + 4..at + 4 + len)?;
        at += 4 + len;
        Some((t, v))
    })
}

/// The AES-GCM suites keyless opens: (key length, SHA-384 for the PRF/HKDF?).
fn suite(id: u16) -> Option<(usize, bool)> {
    Some(match id {
        0x1301 => (16, false),
        0x1302 => (32, true),
        0xC02B | 0xC02F | 0x009C => (16, false),
        0xC02C | 0xC030 | 0x009D => (32, true),
        _ => return None,
    })
}

impl Conn {
    /// The record keys of both directions, from the key log's secrets for this connection.
    fn derive(&mut self, keylog: &KeyLog) -> Result<(), String> {
        let (Some(cr), Some(sr), Some(id)) = (self.client_random, self.server_random, self.suite) else {
            return Err("the handshake was not captured".into());
        };
        let (key_len, sha384) = suite(id).ok_or_else(|| format!("cipher suite {id:#06x} is not AES-GCM"))?;
        let cipher = if key_len == 16 { Cipher::Aes128Gcm } else { Cipher::Aes256Gcm };
        let missing = |label: &str| format!("the key log has no {label} for this connection");
        if self.tls13 {
            for (dir, labels) in [
                (&mut self.to_server, ["CLIENT_HANDSHAKE_TRAFFIC_SECRET", "CLIENT_TRAFFIC_SECRET_0"]),
                (&mut self.to_client, ["SERVER_HANDSHAKE_TRAFFIC_SECRET", "SERVER_TRAFFIC_SECRET_0"]),
            ] {
                for label in labels {
                    let secret = keylog.get(label, &cr).ok_or_else(|| missing(label))?;
                    let key = expand_label(secret, "key", key_len, sha384);
                    let iv = expand_label(secret, "iv", 12, sha384);
                    dir.protection.keys.push(record_key(cipher, &key, iv.to_vec(), true)?);
                }
                dir.protection.on = true;
            }
        } else {
            let master = keylog.get("CLIENT_RANDOM", &cr).ok_or_else(|| missing("CLIENT_RANDOM"))?;
            let seed = [&sr[..], &cr[..]].concat();
            let block = prf(master, "key expansion", &seed, 2 * key_len + 8, sha384);
            let (c_key, rest) = block.split_at(key_len);
            let (s_key, rest) = rest.split_at(key_len);
            let (c_iv, s_iv) = rest.split_at(4);
            self.to_server.protection.keys.push(record_key(cipher, c_key, c_iv.to_vec(), false)?);
            self.to_client.protection.keys.push(record_key(cipher, s_key, s_iv.to_vec(), false)?);
        }
        Ok(())
    }
}

fn record_key(cipher: Cipher, key: &[u8], iv: Vec<u8>, tls13: bool) -> Result<RecordKey, String> {
    let key = CipherKey::from_bytes(key).ok_or("a key of the wrong length")?;
    Ok(RecordKey { aead: Aead::new(cipher, &key).map_err(|e| e.to_string())?, iv, tls13 })
}

impl Protection {
    /// Opens a protected record: its inner content type and plaintext. In TLS 1.3 a record
    /// that does not open with the key in use is tried with the next (handshake, then
    /// application traffic), whose sequence starts again at 0.
    fn open(&mut self, rec: &[u8]) -> Result<(u8, Vec<u8>), String> {
        if self.keys.is_empty() {
            return Err("no keys for this connection (the key log lacks it, or the handshake was not captured)".into());
        }
        for attempt in self.current..self.keys.len() {
            let seq = if attempt == self.current { self.seq } else { 0 };
            if let Some(opened) = self.keys[attempt].open(rec, seq) {
                self.current = attempt;
                self.seq = seq + 1;
                return Ok(opened);
            }
        }
        Err("does not decrypt with the key log's secrets".into())
    }
}

impl RecordKey {
    fn open(&self, rec: &[u8], seq: u64) -> Option<(u8, Vec<u8>)> {
        let (header, fragment) = rec.split_at_checked(5)?;
        if self.tls13 {
            let (data, tag) = fragment.split_at(fragment.len().checked_sub(16)?);
            let mut nonce = [0u8; 12];
            nonce.copy_from_slice(&self.iv);
            for (n, s) in nonce[4..].iter_mut().zip(seq.to_be_bytes()) {
                *n ^= s;
            }
            let mut plain = data.to_vec();
            self.aead.open_in_place(&nonce, header, &mut plain, tag.try_into().ok()?).ok()?;
            // TLSInnerPlaintext: content, the real type, zero padding.
            let end = plain.iter().rposition(|&b| b != 0)?;
            let inner = plain[end];
            plain.truncate(end);
            Some((inner, plain))
        } else {
            let explicit = fragment.get(..8)?;
            let (data, tag) = fragment[8..].split_at(fragment.len().checked_sub(8 + 16)?);
            let nonce = [&self.iv[..], explicit].concat();
            let len = u16::try_from(data.len()).ok()?;
            let aad = [&seq.to_be_bytes()[..], &header[..3], &len.to_be_bytes()].concat();
            let mut plain = data.to_vec();
            self.aead.open_in_place(&nonce, &aad, &mut plain, tag.try_into().ok()?).ok()?;
            Some((header[0], plain))
        }
    }
}

/// HKDF-Expand-Label (RFC 8446 7.1) with an empty context.
fn expand_label(secret: &[u8], label: &str, len: usize, sha384: bool) -> Zeroizing<Vec<u8>> {
    let full = format!("tls13 {label}");
    let mut info = Vec::with_capacity(4 + full.len());
    info.extend_from_slice(&u16::try_from(len).unwrap_or(0).to_be_bytes());
    info.push(u8::try_from(full.len()).unwrap_or(0));
    info.extend_from_slice(full.as_bytes());
    info.push(0);
    // HKDF-Expand: T(1) = HMAC(secret, info | 0x01), ... (len is at most one hash here).
    let mut block = info;
    block.push(1);
    let mut t = hmac(secret, &[&block], sha384);
    t.truncate(len);
    t
}

/// The TLS 1.2 PRF (RFC 5246 5): P_SHA256, or P_SHA384 for the SHA-384 suites.
fn prf(secret: &[u8], label: &str, seed: &[u8], len: usize, sha384: bool) -> Zeroizing<Vec<u8>> {
    let seed = [label.as_bytes(), seed].concat();
    let mut out = Zeroizing::new(Vec::with_capacity(len + 48));
    let mut a = hmac(secret, &[&seed], sha384);
    while out.len() < len {
        out.extend_from_slice(&hmac(secret, &[&a, &seed], sha384));
        a = hmac(secret, &[&a], sha384);
    }
    out.truncate(len);
    out
}

fn hmac(key: &[u8], parts: &[&[u8]], sha384: bool) -> Zeroizing<Vec<u8>> {
    Zeroizing::new(if sha384 {
        let mut mac = <Hmac<Sha384> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("any key length"));
        parts.iter().for_each(|p| mac.update(p));
        mac.finalize().into_bytes().to_vec()
    } else {
        let mut mac = <Hmac<Sha256> as KeyInit>::new_from_slice(key).unwrap_or_else(|_| unreachable!("any key length"));
        parts.iter().for_each(|p| mac.update(p));
        mac.finalize().into_bytes().to_vec()
    })
}

/// The complete HTTP messages at the front of a direction's decrypted bytes: each as a record,
/// and the Kerberos message in its KDC-PROXY-MESSAGE body as a record of its own.
fn http_messages(m: &Captured, dir: &mut Direction, keys: &mut Keyring, out: &mut Vec<Record>) {
    while let Some(head_end) = dir.http.windows(4).position(|w| w == b"\r\n\r\n") {
        let head = String::from_utf8_lossy(&dir.http[..head_end]).into_owned();
        let length = head
            .lines()
            .find_map(|l| l.split_once(':').filter(|(n, _)| n.trim().eq_ignore_ascii_case("content-length")))
            .and_then(|(_, v)| v.trim().parse::<usize>().ok());
        let Some(length) = length else {
            let mut r = Record::new(m, Protocol::Tls, "HTTP");
            r.broken = Some(Broken { offset: dir.http_offset, what: "an HTTP message without Content-Length".into() });
            out.push(r);
            dir.http.clear();
            return;
        };
        let start = head_end + 4;
        let Some(body) = dir.http.get(start..start + length) else { return };
        let mut r = Record::new(m, Protocol::Tls, "HTTP");
        r.field("start_line", head.lines().next().unwrap_or_default().to_string());
        r.field("content_length", length);
        out.push(r);
        match keyless_krb::kkdcp::unwrap_reply(body) {
            Ok(kerberos) => out.push(crate::krb::in_kkdcp(m, &kerberos, dir.http_offset + start, keys)),
            Err(e) => {
                let mut r = Record::new(m, Protocol::Kerberos, "KDC-PROXY-MESSAGE");
                r.broken = Some(Broken { offset: dir.http_offset + start, what: e.to_string() });
                out.push(r);
            }
        }
        dir.http.drain(..start + length);
        dir.http_offset += start + length;
    }
}

/// For fuzzing: the first 48 bytes are a secret, the rest TLS records as a connection's two
/// directions would carry them (the high bit of each record's first length byte picks the
/// direction). Every secret label is keyed to the ClientHello's random, so records reach the
/// decryption paths; never a panic.
#[cfg(feature = "fuzzing")]
pub fn fuzz(data: &[u8]) {
    let Some((secret, mut rest)) = data.split_at_checked(48) else { return };
    let mut records = Vec::new();
    while let [t, v, w, a, b, tail @ ..] = rest {
        let to_server = a & 0x80 != 0;
        let len = (usize::from(a & 0x7f) << 8 | usize::from(*b)).min(tail.len());
        let mut rec = vec![*t, *v, *w, (len >> 8) as u8, len as u8];
        rec.extend_from_slice(&tail[..len]);
        records.push((to_server, rec));
        rest = &tail[len..];
    }
    let random = records.iter().find_map(|(_, r)| r.get(11..43).and_then(|x| <[u8; 32]>::try_from(x).ok()));
    let mut keylog = KeyLog::default();
    for label in [
        "CLIENT_RANDOM",
        "CLIENT_HANDSHAKE_TRAFFIC_SECRET",
        "SERVER_HANDSHAKE_TRAFFIC_SECRET",
        "CLIENT_TRAFFIC_SECRET_0",
        "SERVER_TRAFFIC_SECRET_0",
    ] {
        keylog.entries.insert((label.to_string(), random.unwrap_or([0; 32])), Zeroizing::new(secret.to_vec()));
    }
    let keytabs = Vec::new();
    let mut keys = Keyring::new(&keytabs);
    let mut tls = Tls::new(&keylog);
    let mut out = Vec::new();
    for (i, (to_server, rec)) in records.into_iter().enumerate() {
        if !(20..=24).contains(&rec[0]) || rec[1] != 3 {
            continue;
        }
        let m = Captured {
            connection: 0,
            to_server,
            index: i,
            packet: i + 1,
            time_ns: 0,
            stream_offset: 0,
            payload: std::borrow::Cow::Owned(rec),
        };
        tls.describe(&m, &mut keys, &mut out);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// RFC 8448 3 (a simple 1-RTT handshake): the server's handshake traffic secret gives its
    /// write key and IV.
    #[test]
    fn rfc8448_server_handshake_key_and_iv() {
        let secret = unhex("b67b7d690cc16c4e75e54213cb2d37b4e9c912bcded9105d42befd59d391ad38").unwrap();
        assert_eq!(*expand_label(&secret, "key", 16, false), unhex("3fce516009c21727d0f2e4e86ee403bc").unwrap());
        assert_eq!(*expand_label(&secret, "iv", 12, false), unhex("5d313eb2671276ee13000b30").unwrap());
    }

    #[test]
    fn key_log_lines_are_read_and_junk_passed_over() {
        let random = "ab".repeat(32);
        let log =
            KeyLog::parse(&format!("# comment\nCLIENT_RANDOM {random} {}\nnonsense\nX {random} zz\n", "01".repeat(48)));
        assert_eq!(log.len(), 1);
        assert_eq!(log.get("CLIENT_RANDOM", &[0xab; 32]).map(<[u8]>::len), Some(48));
    }
}
