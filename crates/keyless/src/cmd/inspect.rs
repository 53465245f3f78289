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
    /// One JSON object per message, with every decoded field.
    #[arg(long)]
    json: bool,
}

/// 0: every message decoded; 1: the file could not be read; 2: some messages did not decode
/// (each is reported where it broke).
pub fn run(a: Args) -> ExitCode {
    let bytes = match std::fs::read(&a.file) {
        Ok(b) => b,
        Err(e) => return fail(&format!("{}: {e}", a.file.display())),
    };
    let mut ports = Ports::default();
    ports.smb.extend(a.ports);
    ports.kerberos.extend(a.kerberos_ports);
    let capture = match keyless_capture::parse(&bytes, &ports) {
        Ok(c) => c,
        Err(e) => return fail(&format!("{}: {e}", a.file.display())),
    };
    let records = keyless_inspect::inspect(&capture);
    let t0 = records.first().map_or(0, |r| r.time_ns);
    let mut out = std::io::stdout().lock();
    for r in &records {
        let line = if a.json { keyless_inspect::json_line(r) } else { keyless_inspect::text_line(r, t0) };
        if writeln!(out, "{line}").is_err() {
            return ExitCode::SUCCESS; // the reader went away (| head)
        }
    }
    for note in &capture.notes {
        eprintln!("keyless inspect: note: {note}");
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
