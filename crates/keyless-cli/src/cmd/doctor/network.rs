//! The network links: the name and the SPN it implies, TCP reach, what NEGOTIATE settles
//! (one NEGOTIATE exchanged by hand, so that it is known even when authentication fails
//! later), and the clock against the server's and the KDC's.

use super::report::{Verdict, Wrong};
use crate::cmd::smb::{Connect, SmbUrl};
use keyless::kerberos::canonical_host;
use keyless_client::negotiate::{self, DIALECTS};
use keyless_krb::time::unix_seconds;
use keyless_smb::negotiate::{NegotiateResponse, caps, security_mode};
use keyless_smb::{Command, Dialect, Message, NtStatus, framing, header};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::time::{Duration, SystemTime};

/// How long one network step may take.
const PATIENCE: Duration = Duration::from_secs(5);

/// The largest NEGOTIATE response read.
const MAX_NEGOTIATE: usize = 64 * 1024;

/// Kerberos' usual tolerance (krb5.conf clockskew), in seconds.
pub const MAX_SKEW: i64 = 300;

/// Where the share is and what it is called.
pub struct Target {
    host: String,
    port: u16,
    ip: Option<String>,
}

impl Target {
    pub fn new(url: &SmbUrl, c: &Connect) -> Self {
        Self { host: url.host.clone(), port: c.port_for(url), ip: c.ip().map(str::to_string) }
    }
}

/// The address to connect to, and the SPN the name implies.
pub fn resolve(t: &Target) -> Verdict<SocketAddr> {
    let spn = crate::cmd::smb::default_spn(&t.host);
    let private = if canonical_host(&t.host) != t.host.to_ascii_lowercase() { " (private endpoint)" } else { "" };
    if let Some(ip) = &t.ip {
        let addr = (ip.as_str(), t.port)
            .to_socket_addrs()
            .ok()
            .and_then(|mut a| a.next())
            .ok_or_else(|| Wrong::new(format!("--ip {ip} is not an address"), "give an IPv4 or IPv6 address"))?;
        return Ok((addr, format!("{} reached at {ip} (--ip); SPN {spn}{private}", t.host)));
    }
    let addrs: Vec<SocketAddr> = (t.host.as_str(), t.port)
        .to_socket_addrs()
        .map_err(|e| {
            Wrong::new(
                format!("{} does not resolve: {e}", t.host),
                "check the name and the DNS server (behind a private endpoint: its private DNS zone)",
            )
        })?
        .collect();
    let first = *addrs.first().ok_or_else(|| Wrong::new(format!("{} has no address", t.host), "check DNS"))?;
    let list: Vec<String> = addrs.iter().map(|a| a.ip().to_string()).collect();
    Ok((first, format!("{} → {}; SPN {spn}{private}", t.host, list.join(", "))))
}

/// A TCP connection to the SMB port.
pub fn reach(addr: SocketAddr) -> Verdict<TcpStream> {
    let stream = TcpStream::connect_timeout(&addr, PATIENCE).map_err(|e| {
        Wrong::new(
            format!("{addr}: {e}"),
            "port 445 must be open on the way (many ISPs and some firewalls block it; Azure needs it outbound)",
        )
    })?;
    let _ = stream.set_read_timeout(Some(PATIENCE));
    let _ = stream.set_write_timeout(Some(PATIENCE));
    Ok((stream, format!("{addr} accepts connections")))
}

/// What NEGOTIATE told.
pub struct Negotiated {
    /// The server's clock (Unix seconds), when it sends one.
    pub clock: Option<i64>,
    /// The dialect settled.
    pub dialect: Dialect,
}

/// One NEGOTIATE: what the server settles with keyless's offer.
pub fn negotiate(stream: TcpStream, t: &Target, allow_smb2: bool) -> Verdict<Negotiated> {
    let offered: Vec<_> = if allow_smb2 { DIALECTS.to_vec() } else { DIALECTS[2..].to_vec() };
    let peer = stream.peer_addr().ok();
    let body = exchange(stream, &offered, &t.host)?;
    let status = header::Header::parse(&body).map(|h| h.status()).map_err(|e| broken(e.to_string()))?;
    if status != NtStatus::SUCCESS {
        // Ask again with SMB 2 only, to say what the server does speak.
        let smb2 = peer
            .filter(|_| !allow_smb2)
            .and_then(|p| TcpStream::connect_timeout(&p, PATIENCE).ok())
            .inspect(|s| {
                let _ = s.set_read_timeout(Some(PATIENCE));
                let _ = s.set_write_timeout(Some(PATIENCE));
            })
            .and_then(|s| exchange(s, &DIALECTS[..2], &t.host).ok())
            .and_then(|b| NegotiateResponse::parse(&b).ok().map(|r| r.dialect));
        return Err(match smb2 {
            Some(d) => only_smb2(d, &format!("it refused SMB 3 with {status}")),
            None => Wrong::new(
                format!("the server refused NEGOTIATE with {status}"),
                "it offers none of the dialects keyless does (SMB 3.0 to 3.1.1); enable SMB 3 on the server",
            ),
        });
    }
    let resp = NegotiateResponse::parse(&body).map_err(|e| broken(e.to_string()))?;
    let settled = negotiate::accept(&resp, &offered).map_err(|e| {
        if is_smb2(resp.dialect) || !offered.contains(&resp.dialect) {
            only_smb2(resp.dialect, &e.to_string())
        } else {
            Wrong::plain(format!("NEGOTIATE: {e}"))
        }
    })?;
    let signing = if settled.security_mode & security_mode::SIGNING_REQUIRED != 0 { "required" } else { "offered" };
    let encryption = match settled.cipher {
        Some(c) => format!("encryption {}", c.name()),
        None if resp.capabilities & caps::ENCRYPTION != 0 => "encryption offered".to_string(),
        None => "no encryption (SMB 2 cannot encrypt)".to_string(),
    };
    let clock =
        (resp.system_time != 0).then(|| unix_seconds(keyless_client::filetime::to_system_time(resp.system_time)));
    Ok((
        Negotiated { clock, dialect: settled.dialect },
        format!("SMB {}, signing {} ({signing}), {encryption}", settled.dialect, settled.signing.name()),
    ))
}

/// Sends a NEGOTIATE offering `offered` and reads the answer (the whole message).
fn exchange(mut stream: TcpStream, offered: &[Dialect], host: &str) -> Result<Vec<u8>, Wrong> {
    let request = negotiate::offer(offered, *b"keyless-doctor!\0", &[7; 32], host, true);
    let message = request
        .to_vec(&header::HeaderFields::request(Command::NEGOTIATE, 0, 0, 0))
        .map_err(|e| broken(e.to_string()))?;
    let mut frame = Vec::with_capacity(message.len() + 4);
    framing::write_frame_header(message.len(), &mut frame).map_err(|e| broken(e.to_string()))?;
    frame.extend_from_slice(&message);
    stream.write_all(&frame).map_err(|e| broken(e.to_string()))?;
    let mut head = [0u8; 4];
    stream.read_exact(&mut head).map_err(|e| match e.kind() {
        std::io::ErrorKind::UnexpectedEof | std::io::ErrorKind::ConnectionReset => Wrong::new(
            "the server closed the connection at NEGOTIATE: it speaks none of the dialects offered",
            "enable SMB 3 on the server",
        ),
        _ => broken(e.to_string()),
    })?;
    let len = framing::payload_length(&head).map_err(|e| broken(e.to_string()))?;
    // A NEGOTIATE response is a few hundred bytes; more is no SMB server worth reading.
    if len > MAX_NEGOTIATE {
        return Err(broken(format!("a {len}-byte answer to NEGOTIATE")));
    }
    let mut body = vec![0; len];
    stream.read_exact(&mut body).map_err(|e| broken(e.to_string()))?;
    Ok(body)
}

fn broken(e: String) -> Wrong {
    Wrong::new(format!("NEGOTIATE: {e}"), "is this port an SMB server?")
}

fn only_smb2(d: Dialect, why: &str) -> Wrong {
    Wrong::new(
        format!("the server offers only SMB {d} ({why})"),
        "SMB 2 cannot encrypt and has no downgrade protection: enable SMB 3 on the server (or, knowingly, --allow-smb2)",
    )
}

/// SMB 2.0.2 and 2.1: no encryption.
pub fn is_smb2(d: Dialect) -> bool {
    matches!(d, Dialect::SMB_202 | Dialect::SMB_21)
}

/// This machine's clock against the server's and the KDC's (Unix seconds when read); `None`
/// when neither was read.
pub fn clock(server: Option<i64>, kdc: Option<(String, i64)>) -> Option<Verdict<()>> {
    if server.is_none() && kdc.is_none() {
        return None;
    }
    let now = unix_seconds(SystemTime::now());
    let mut parts = Vec::new();
    let mut worst: Option<(String, i64)> = None;
    for (who, t) in server.map(|t| ("the server".to_string(), t)).into_iter().chain(kdc) {
        let ahead = now - t;
        parts.push(format!("{} {}", who, offset(ahead)));
        if ahead.abs() > MAX_SKEW && worst.as_ref().is_none_or(|(_, w)| ahead.abs() > w.abs()) {
            worst = Some((who, ahead));
        }
    }
    Some(match worst {
        None => Ok(((), format!("within 5 min: {}", parts.join(", ")))),
        Some((who, ahead)) => Err(Wrong::new(
            format!(
                "this machine's clock is {} {} {who} (Kerberos allows 5 min)",
                span(ahead.unsigned_abs()),
                if ahead > 0 { "ahead of" } else { "behind" }
            ),
            "set the time right (chrony, systemd-timesyncd, or ntpdate against the domain controller)",
        )),
    })
}

/// `+3 s` / `-1 h 2 min`: how far this machine is ahead of the other.
fn offset(ahead: i64) -> String {
    format!("{}{}", if ahead < 0 { "-" } else { "+" }, span(ahead.unsigned_abs()))
}

fn span(s: u64) -> String {
    match s {
        0..120 => format!("{s} s"),
        120..3600 => format!("{} min", s / 60),
        _ => format!("{} h {} min", s / 3600, s % 3600 / 60),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_clock_fails_beyond_five_minutes_either_way() {
        let now = unix_seconds(SystemTime::now());
        assert!(matches!(clock(Some(now - 10), None), Some(Ok(_))));
        let Some(Err(w)) = clock(Some(now), Some(("the KDC".into(), now + 3700))) else { panic!() };
        assert!(format!("{w:?}").contains("1 h 1 min behind the KDC"), "{w:?}");
        let Some(Err(w)) = clock(Some(now - 400), None) else { panic!() };
        assert!(format!("{w:?}").contains("6 min ahead of the server"), "{w:?}");
        assert!(clock(None, None).is_none());
    }
}
