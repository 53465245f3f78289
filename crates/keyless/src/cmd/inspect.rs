//! `keyless inspect`: the SMB2/3 and Kerberos messages of a pcap or pcapng file, one line
//! (or JSON object) each; the exit status says whether any did not decode.

use keyless_capture::Ports;
use std::io::Write;
use std::path::PathBuf;
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
    for arg in &a.session_keys {
        secrets.session_keys.push(session_key(arg).map_err(|why| format!("--session-key: {why}"))?);
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
    let digits = key.trim();
    let bytes: Option<Vec<u8>> = (digits.len() % 2 == 0)
        .then(|| (0..digits.len()).step_by(2).map(|i| u8::from_str_radix(digits.get(i..i + 2)?, 16).ok()).collect())
        .flatten();
    match bytes {
        Some(b) if b.len() == 16 || b.len() == 32 => Ok((id, keyless_crypto::Zeroizing::new(b))),
        _ => Err(format!("the key of session {id:#018x} is not 16 or 32 bytes of hex")),
    }
}

/// 0: every message decoded; 1: the file could not be read; 2: some messages did not decode
/// (each is reported where it broke).
pub fn run(a: Args) -> ExitCode {
    let bytes = match std::fs::read(&a.file) {
        Ok(b) => b,
        Err(e) => return fail(&format!("{}: {e}", a.file.display())),
    };
    let mut ports = Ports::default();
    ports.smb.extend(&a.ports);
    ports.kerberos.extend(&a.kerberos_ports);
    let capture = match keyless_capture::parse(&bytes, &ports) {
        Ok(c) => c,
        Err(e) => return fail(&format!("{}: {e}", a.file.display())),
    };
    let secrets = match secrets(&a) {
        Ok(s) => s,
        Err(why) => return fail(&why),
    };
    let records = keyless_inspect::inspect(&capture, &secrets);
    let t0 = records.first().map_or(0, |r| r.time_ns);
    let mut out = std::io::stdout().lock();
    if a.stats {
        let s = keyless_inspect::stats(&records);
        let text = if a.json { format!("{s}\n") } else { keyless_inspect::stats_text(&s) };
        let _ = out.write_all(text.as_bytes());
    }
    for r in records.iter().filter(|_| !a.stats) {
        let line = if a.json { keyless_inspect::json_line(r) } else { keyless_inspect::text_line(r, t0) };
        if writeln!(out, "{line}").is_err() {
            return ExitCode::SUCCESS; // the reader went away (| head)
        }
    }
    for note in &capture.notes {
        eprintln!("keyless inspect: note: {note}");
    }
    let has = |name: &str, value: Option<&str>| {
        records.iter().filter(|r| r.fields.iter().any(|(n, v)| *n == name && value.is_none_or(|x| v == x))).count()
    };
    let (bad, closed) = (has("signature_check", Some("BAD")), has("not_decrypted", None));
    if bad + closed > 0 {
        eprintln!("keyless inspect: {bad} bad signatures, {closed} encrypted frames that did not open (wrong key?)");
    }
    let broken = records.iter().filter(|r| r.broken.is_some()).count();
    if broken > 0 {
        eprintln!("keyless inspect: {broken} of {} messages do not decode (marked MALFORMED)", records.len());
        return ExitCode::from(2);
    }
    if records.is_empty() {
        eprintln!(
            "keyless inspect: no SMB2 or Kerberos messages in {} packets (ports: SMB {:?}, Kerberos {:?}; --port adds one)",
            capture.packets, ports.smb, ports.kerberos
        );
    }
    ExitCode::SUCCESS
}

fn fail(why: &str) -> ExitCode {
    eprintln!("keyless inspect: {why}");
    ExitCode::FAILURE
}
