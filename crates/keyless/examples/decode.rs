//! Decodes protocol bytes without a connection: an SMB2 message's header and a Kerberos
//! ticket's clear part, from files of raw bytes (a frame cut from a capture, a ticket out of a
//! credential cache).
//!
//! ```text
//! cargo run -p keyless --example decode -- smb2 negotiate-response.bin
//! cargo run -p keyless --example decode -- ticket cifs-ticket.der
//! ```

use keyless::kerberos::TicketHeader;
use keyless::smb::header::Header;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [what, file, ..] = args.as_slice() else { return Err("usage: decode smb2|ticket FILE".into()) };
    let bytes = std::fs::read(file)?;
    match what.as_str() {
        "smb2" => {
            // A message as it follows the 4-byte Direct TCP length, or with it.
            let message = if bytes.starts_with(b"\xfeSMB") { &bytes[..] } else { bytes.get(4..).unwrap_or(&[]) };
            let h = Header::parse(message)?;
            println!(
                "SMB2 {} {} message_id={} credits={} status={} session_id={:#x}",
                h.command(),
                if h.is_response() { "response" } else { "request" },
                h.message_id(),
                h.credits(),
                h.status(),
                h.session_id(),
            );
        }
        "ticket" => {
            let t = TicketHeader::decode(&bytes)?;
            let kvno = t.kvno.map_or_else(|| "none".to_string(), |k| k.to_string());
            println!("Ticket for {} enctype={} kvno={kvno}", t.server, t.etype);
        }
        other => return Err(format!("{other}: say smb2 or ticket").into()),
    }
    Ok(())
}
