//! `keyless inspect`: the SMB2/3 and Kerberos messages of a pcap or pcapng file, one line
//! (or JSON object) each; the exit status says whether any did not decode.

use crate::cmd::raw_keys;
use keyless_capture::Ports;
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {
    /// The capture (pcap or pcapng; Ethernet, Linux cooked, loopback or raw IP).
    file: PathBuf,
    /// Also look for Direct TCP SMB on this port (445 and 139 always; repeatable).
    #[arg(long = "port", value_name = "N")]
    ports: Vec<u16>,
    /// Also look for Kerberos (TCP and UDP) on this port (88 always; repeatable).
    #[arg(long = "kerberos-port", value_name = "N")]
    kerberos_ports: Vec<u16>,
    /// Decrypt Kerberos with this keytab's keys: a service's opens its tickets (and from there
    /// authenticators, AP-REPs and SMB sessions), a user's opens AS-REPs (repeatable).
    #[arg(long = "keytab", value_name = "FILE")]
    keytabs: Vec<PathBuf>,
    /// An SMB session's GSS session key (ID as inspect prints it, 0x...; KEY 16 or 32 bytes in
    /// hex): signatures are checked and encrypted frames opened (repeatable).
    #[arg(long = "session-key", value_name = "ID=KEY")]
    session_keys: Vec<String>,
    /// A file whose first line is a password tried on every NTLM AUTHENTICATE: when it
    /// verifies, the session's key follows as with --session-key; also an RC4-HMAC Kerberos
    /// key (repeatable).
    #[arg(long = "password-file", value_name = "FILE")]
    password_files: Vec<PathBuf>,
    /// A password's NT hash (32 hex digits, or LM:NT as secretsdump prints), used as
    /// --password-file uses the password (repeatable).
    #[arg(long = "nt-hash", value_name = "HEX")]
    nt_hashes: Vec<String>,
    /// A raw Kerberos key (`aes256-cts:HEX`, `rc4-hmac:HEX`, or the enctype's number), tried
    /// like a keytab's keys on tickets and KDC replies (repeatable).
    #[arg(long = "key", value_name = "ENCTYPE:HEX")]
    keys: Vec<String>,
    /// A TLS key log (NSS format, as SSLKEYLOGFILE writes it) that opens a KDC proxy's HTTPS:
    /// the Kerberos inside its KDC-PROXY-MESSAGEs is decoded like Kerberos on port 88.
    #[arg(long, value_name = "FILE")]
    tls_keylog: Option<PathBuf>,
    /// The KDC proxy's port, when not 443 (repeatable; with --tls-keylog).
    #[arg(long = "kkdcp-port", value_name = "N", requires = "tls_keylog")]
    kkdcp_ports: Vec<u16>,
    /// Write the keys found into this directory, for Wireshark: `smb2_seskey_list` (each
    /// SMB session's keys), `keys.keytab` (the keys given and every Kerberos key learned) and
    /// `preferences` naming that keytab, so `WIRESHARK_CONFIG_DIR=DIR tshark -r FILE`
    /// decrypts what inspect did.
    #[arg(long, value_name = "DIR")]
    export_keys: Option<PathBuf>,
    /// Rebuild every file the SMB sessions read or wrote (encrypted ones too, when their keys
    /// are known) into this directory, as `server/share/path`, with `manifest.jsonl`: each
    /// file's size, sha256, the bytes seen and the holes (left sparse).
    #[arg(long, value_name = "DIR")]
    export_files: Option<PathBuf>,
    /// One JSON object per message, with every decoded field.
    #[arg(long)]
    json: bool,
    /// Instead of the messages, a summary: per connection the dialect, cipher and signing
    /// algorithm; per command counts and round-trip times; bytes read and written.
    #[arg(long)]
    stats: bool,
}

/// The keytabs and session keys given, or the one line saying which is unusable.
fn secrets(a: &Args) -> Result<keyless_inspect::Secrets, String> {
    let mut secrets = keyless_inspect::Secrets::default();
    for path in &a.keytabs {
        secrets
            .keytabs
            .push(keyless_krb::keytab::Keytab::read(path).map_err(|e| format!("--keytab {}: {e}", path.display()))?);
    }
    // The NT hashes are RC4-HMAC keys too; raw keys belong to no principal: both are tried
    // as a keytab's keys of other names are.
    let mut given = keyless_krb::keytab::Keytab::default();
    let mut nt_hash = |hash: keyless_crypto::ntlm::NtlmKey, option: &str| {
        given.entries.push(raw_keys::unnamed_entry(&raw_keys::rc4_key_of(&hash), option, 0));
        secrets.nt_hashes.push(hash);
    };
    for path in &a.password_files {
        let password = crate::context::read_password("", Some(path)).map_err(|e| format!("--password-file: {e}"))?;
        let hash = keyless_crypto::ntlm::nt_hash(password.as_bytes()).map_err(|e| format!("--password-file: {e}"))?;
        nt_hash(hash, "--password-file");
    }
    for arg in &a.nt_hashes {
        nt_hash(raw_keys::nt_hash(arg).map_err(|why| format!("--nt-hash: {why}"))?, "--nt-hash");
    }
    for arg in &a.keys {
        let key = raw_keys::kerberos_key(arg).map_err(|why| format!("--key: {why}"))?;
        given.entries.push(raw_keys::unnamed_entry(&key, "--key", 0));
    }
    if !given.entries.is_empty() {
        secrets.keytabs.push(given);
    }
    for arg in &a.session_keys {
        secrets.session_keys.push(session_key(arg).map_err(|why| format!("--session-key: {why}"))?);
    }
    if let Some(path) = &a.tls_keylog {
        let text = std::fs::read_to_string(path).map_err(|e| format!("--tls-keylog {}: {e}", path.display()))?;
        secrets.tls_keylog = keyless_inspect::KeyLog::parse(&text);
        if secrets.tls_keylog.is_empty() {
            return Err(format!(
                "--tls-keylog {}: no secrets in NSS key log format (LABEL RANDOM SECRET)",
                path.display()
            ));
        }
    }
    Ok(secrets)
}

/// `ID=KEY`: the session id as 0x-hex or decimal, the key as 32 or 64 hex digits.
fn session_key(arg: &str) -> Result<(u64, keyless_crypto::Zeroizing<Vec<u8>>), String> {
    let (id, key) = arg.split_once('=').ok_or("expected ID=KEY, e.g. 0x0000100000000001=00112233...")?;
    let id = match id.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16),
        None => id.parse(),
    }
    .map_err(|_| format!("session id {id:?} is neither 0x-hex nor decimal"))?;
    match raw_keys::hex(key) {
        Some(b) if b.len() == 16 || b.len() == 32 => Ok((id, b)),
        _ => Err(format!("the key of session {id:#018x} is not 16 or 32 bytes of hex")),
    }
}

/// What the records shown so far add up to, for the closing lines and the exit status.
#[derive(Default)]
struct Tally {
    records: usize,
    broken: usize,
    bad_signatures: usize,
    shut: usize,
    /// The first record's time: the text lines count from it.
    t0: Option<i128>,
}

impl Tally {
    fn add(&mut self, r: &keyless_inspect::Record) {
        self.records += 1;
        self.broken += usize::from(r.broken.is_some());
        for (name, value) in &r.fields {
            self.bad_signatures += usize::from(*name == "signature_check" && value == "BAD");
            self.shut += usize::from(*name == "not_decrypted");
        }
        self.t0.get_or_insert(r.time_ns);
    }
}

/// The file read through a buffer of this size to begin with (it grows for a larger record).
const READ_BUFFER: usize = 4 << 20;

/// 0: every message decoded; 1: the file could not be read; 2: some messages did not decode
/// (each is reported where it broke). The file is read and its messages shown as they come,
/// in bounded memory whatever its size.
pub fn run(a: Args) -> ExitCode {
    let secrets = match secrets(&a) {
        Ok(s) => s,
        Err(why) => return fail(&why),
    };
    let mut file = match std::fs::File::open(&a.file) {
        Ok(f) => f,
        Err(e) => return fail(&format!("{}: {e}", a.file.display())),
    };
    let mut ports = Ports::default();
    ports.smb.extend(&a.ports);
    ports.kerberos.extend(&a.kerberos_ports);
    if a.tls_keylog.is_some() {
        ports.tls = if a.kkdcp_ports.is_empty() { vec![443] } else { a.kkdcp_ports.clone() };
    }
    let mut reader = keyless_capture::Reader::new(&ports);
    let mut inspector = keyless_inspect::Inspector::new(&secrets);
    if a.export_files.is_some() {
        inspector = inspector.with_files();
    }
    let mut export = a.export_files.clone().map(super::export_files::Export::new);
    let mut stats = keyless_inspect::Stats::default();
    let mut tally = Tally::default();
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let gone = std::cell::Cell::new(false); // the reader of our output went away (| head)
    let mut records = Vec::new();
    let mut show = |conn: &keyless_capture::Connection, m: keyless_capture::Message<'_>| {
        inspector.message(conn, &m, &mut records);
        if let Some(e) = &mut export {
            inspector.drain_pieces(|f, offset, data| e.piece(f, offset, data));
        }
        for r in records.drain(..) {
            tally.add(&r);
            if a.stats {
                stats.add(&r);
            } else if !gone.get() {
                let line = if a.json {
                    keyless_inspect::json_line(&r)
                } else {
                    keyless_inspect::text_line(&r, tally.t0.unwrap_or(r.time_ns))
                };
                gone.set(writeln!(out, "{line}").is_err());
            }
        }
    };
    let mut buf = vec![0u8; READ_BUFFER];
    let mut held = 0;
    loop {
        let n = match file.read(&mut buf[held..]) {
            Ok(n) => n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(e) => return fail(&format!("{}: {e}", a.file.display())),
        };
        held += n;
        let eof = n == 0;
        let used = match reader.feed(&buf[..held], eof, &mut show) {
            Ok(used) => used,
            Err(e) => return fail(&format!("{}: {e}", a.file.display())),
        };
        buf.copy_within(used..held, 0);
        held -= used;
        if eof || reader.ended() || gone.get() {
            break;
        }
        if held == buf.len() {
            buf.resize(buf.len() * 2, 0); // one record larger than the buffer
        }
    }
    let summary = reader.finish(&mut show);
    if let (Some(e), Some(dir)) = (export, &a.export_files) {
        match e.finish(inspector.files()) {
            Ok(n) => eprintln!("keyless inspect: {n} files rebuilt in {} (manifest.jsonl)", dir.display()),
            Err(why) => return fail(&format!("--export-files {}: {why}", dir.display())),
        }
    }
    if let Some(dir) = &a.export_keys
        && let Err(why) = export_keys(dir, &secrets, &inspector.found())
    {
        return fail(&format!("--export-keys {}: {why}", dir.display()));
    }
    if a.stats {
        let text = if a.json { format!("{}\n", stats.json()) } else { stats.text() };
        gone.set(out.write_all(text.as_bytes()).is_err());
    }
    if gone.get() || out.flush().is_err() {
        return ExitCode::SUCCESS;
    }
    for note in &summary.notes {
        eprintln!("keyless inspect: note: {note}");
    }
    if tally.bad_signatures + tally.shut > 0 {
        eprintln!(
            "keyless inspect: {} bad signatures, {} encrypted frames that did not open (wrong key?)",
            tally.bad_signatures, tally.shut
        );
    }
    if tally.broken > 0 {
        eprintln!("keyless inspect: {} of {} messages do not decode (marked MALFORMED)", tally.broken, tally.records);
        return ExitCode::from(2);
    }
    if tally.records == 0 {
        eprintln!(
            "keyless inspect: no SMB2 or Kerberos messages in {} packets (ports: SMB {:?}, Kerberos {:?}; --port adds one)",
            summary.packets, ports.smb, ports.kerberos
        );
    }
    ExitCode::SUCCESS
}

/// Wireshark's files for the keys found (see `--export-keys`), readable by the user alone.
fn export_keys(
    dir: &Path,
    secrets: &keyless_inspect::Secrets,
    found: &keyless_inspect::Found<'_>,
) -> Result<(), String> {
    use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
    std::fs::DirBuilder::new().recursive(true).mode(0o700).create(dir).map_err(|e| e.to_string())?;
    let write = |name: &str, text: &str| {
        std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(dir.join(name))
            .and_then(|mut f| f.write_all(text.as_bytes()))
            .map_err(|e| format!("{name}: {e}"))
    };
    write("smb2_seskey_list", &keyless_inspect::wireshark_seskey_list(found.smb))?;
    let mut keytab = keyless_krb::keytab::Keytab::default();
    keytab.entries.extend(secrets.keytabs.iter().flat_map(|k| k.entries.iter().cloned()));
    for k in found.kerberos {
        let mut entry = raw_keys::unnamed_entry(&k.key, k.what, k.kvno);
        if let Some(p) = &k.principal {
            entry.principal = p.clone();
        }
        keytab.entries.push(entry);
    }
    let keytab_path = std::path::absolute(dir.join("keys.keytab")).map_err(|e| e.to_string())?;
    keytab.write(&keytab_path).map_err(|e| e.to_string())?;
    write("preferences", &format!("kerberos.decrypt: TRUE\nkerberos.file: {}\n", keytab_path.display()))
}

fn fail(why: &str) -> ExitCode {
    eprintln!("keyless inspect: {why}");
    ExitCode::FAILURE
}
