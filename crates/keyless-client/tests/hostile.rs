//! A hostile network: a proxy between the client and a real smbd rewrites what the server says
//! (a bad signature, no common dialect, zero credits, a STATUS_PENDING that never ends, a cut
//! frame, an absurd length). Each time the client stops with one clear error, within its
//! timeout, and never panics or hangs.
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_client::{Auth, Client, Error, ErrorKind};
use keyless_smb::Command;
use keyless_testbed::{ScratchDir, SmbMode, Smbd};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy does with one server frame (its payload, without the 4-byte header).
enum Act {
    Pass,
    Replace(Vec<u8>),
    /// Send these raw bytes (header included) and close.
    RawThenClose(Vec<u8>),
    /// Send nothing more, keep the connection open.
    Swallow,
}

async fn read_frame(s: &mut (impl AsyncReadExt + Unpin)) -> Option<Vec<u8>> {
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await.ok()?;
    let len = usize::from(head[1]) << 16 | usize::from(head[2]) << 8 | usize::from(head[3]);
    let mut p = vec![0u8; len];
    s.read_exact(&mut p).await.ok()?;
    Some(p)
}

fn framed(p: &[u8]) -> Vec<u8> {
    let mut f = Vec::new();
    keyless_smb::framing::write_frame_header(p.len(), &mut f).unwrap();
    f.extend_from_slice(p);
    f
}

/// Proxies one connection to `server`, passing server frames through `act`.
async fn proxy(server: u16, act: impl Fn(&[u8]) -> Act + Send + 'static) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        let (client, _) = listener.accept().await.unwrap();
        let upstream = TcpStream::connect(("127.0.0.1", server)).await.unwrap();
        let (mut cr, mut cw) = client.into_split();
        let (mut sr, mut sw) = upstream.into_split();
        tokio::spawn(async move {
            let _ = tokio::io::copy(&mut cr, &mut sw).await;
        });
        while let Some(p) = read_frame(&mut sr).await {
            match act(&p) {
                Act::Pass => cw.write_all(&framed(&p)).await.unwrap(),
                Act::Replace(q) => cw.write_all(&framed(&q)).await.unwrap(),
                Act::RawThenClose(raw) => {
                    let _ = cw.write_all(&raw).await;
                    return;
                }
                Act::Swallow => {
                    tokio::time::sleep(Duration::from_secs(60)).await;
                    return;
                }
            }
        }
    });
    port
}

fn command(p: &[u8]) -> Command {
    Command(u16::from_le_bytes([p[12], p[13]]))
}

/// Connects through a proxy applying `act`, then opens the share: the error, and how long it took.
fn through(smbd: &Smbd, act: impl Fn(&[u8]) -> Act + Send + 'static) -> (Error, Duration) {
    through_signing(smbd, true, act)
}

/// [`through`] with the client's signing requirement given.
fn through_signing(
    smbd: &Smbd,
    require_signing: bool,
    act: impl Fn(&[u8]) -> Act + Send + 'static,
) -> (Error, Duration) {
    let rt = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
    rt.block_on(async {
        let port = proxy(smbd.port, act).await;
        let auth =
            Auth::Ntlm { user: smbd.user.clone(), domain: String::new(), password: smbd.password.clone().into() };
        let start = Instant::now();
        let result = async {
            let builder = Client::builder("127.0.0.1")
                .port(port)
                .timeout(Duration::from_secs(2))
                .require_signing(require_signing)
                .auth(auth);
            builder.connect().await?.tree(&smbd.share).await.map(|_| ())
        }
        .await;
        (result.expect_err("the hostile server must make the client fail"), start.elapsed())
    })
}

#[test]
fn hostile_servers_get_clear_errors() {
    let scratch = ScratchDir::new("client-hostile");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };

    // A bit flipped in the signature of the TREE_CONNECT response.
    let (e, _) = through(&smbd, |p| {
        if command(p) == Command::TREE_CONNECT {
            let mut q = p.to_vec();
            q[50] ^= 1;
            Act::Replace(q)
        } else {
            Act::Pass
        }
    });
    assert_eq!(e.kind(), ErrorKind::ServerMisbehaved, "{e}");
    assert!(e.to_string().contains("message integrity"), "{e}");

    // The TREE_CONNECT response re-signed is impossible for the proxy; a changed body is caught too.
    let (e, _) = through(&smbd, |p| {
        if command(p) == Command::TREE_CONNECT {
            let mut q = p.to_vec();
            q[64 + 4] ^= 0x80; // ShareFlags
            Act::Replace(q)
        } else {
            Act::Pass
        }
    });
    assert_eq!(e.kind(), ErrorKind::ServerMisbehaved, "{e}");

    // A response dressed as SESSION_SETUP after the session exists (once skipped the checks).
    let (e, _) = through(&smbd, |p| {
        if command(p) == Command::TREE_CONNECT {
            let mut q = p.to_vec();
            q[12..14].copy_from_slice(&Command::SESSION_SETUP.0.to_le_bytes());
            q[16] &= !0x08; // and unsigned
            Act::Replace(q)
        } else {
            Act::Pass
        }
    });
    assert_eq!(e.kind(), ErrorKind::ServerMisbehaved, "{e}");

    // No common dialect.
    let (e, _) = through(&smbd, |p| {
        if command(p) == Command::NEGOTIATE {
            let mut q = p.to_vec();
            q[64 + 4..64 + 6].copy_from_slice(&0x0399u16.to_le_bytes());
            Act::Replace(q)
        } else {
            Act::Pass
        }
    });
    assert!(e.to_string().contains("no common dialect"), "{e}");

    // Zero credits granted.
    let (e, _) = through(&smbd, |p| {
        if command(p) == Command::NEGOTIATE {
            let mut q = p.to_vec();
            q[14..16].copy_from_slice(&[0, 0]);
            Act::Replace(q)
        } else {
            Act::Pass
        }
    });
    assert!(e.to_string().contains("no credits"), "{e}");

    // A STATUS_PENDING that never completes: the client gives up at its timeout.
    let (e, took) = through(&smbd, |p| {
        if command(p) == Command::TREE_CONNECT {
            let mut q = p[..64].to_vec();
            q[8..12].copy_from_slice(&0x0000_0103u32.to_le_bytes()); // STATUS_PENDING
            let flags = u32::from_le_bytes(q[16..20].try_into().unwrap()) | 0x2; // async
            q[16..20].copy_from_slice(&flags.to_le_bytes());
            q.extend_from_slice(&[9, 0, 0, 0, 0, 0, 0, 0, 0]);
            Act::Replace(q)
        } else {
            Act::Pass
        }
    });
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // A frame cut short, then the connection closed: the request waits for a new connection
    // (the proxy takes no second one) until its time is up, and says why.
    let (e, took) = through(&smbd, |p| {
        if command(p) == Command::TREE_CONNECT { Act::RawThenClose(framed(p)[..40].to_vec()) } else { Act::Pass }
    });
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert!(e.to_string().contains("the connection is down: "), "{e}");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // An absurd frame length.
    let (e, took) = through(&smbd, |p| {
        if command(p) == Command::TREE_CONNECT {
            Act::RawThenClose(vec![0, 0xff, 0xff, 0xff, 0xfe, b'S'])
        } else {
            Act::Pass
        }
    });
    assert!(e.to_string().contains("larger than anything negotiated"), "{e}");
    assert!(took < Duration::from_secs(5));

    // Silence after NEGOTIATE: the timeout, not a hang.
    let (e, took) = through(&smbd, |p| if command(p) == Command::SESSION_SETUP { Act::Swallow } else { Act::Pass });
    assert_eq!(e.kind(), ErrorKind::TimedOut, "{e}");
    assert!(took < Duration::from_secs(5), "{took:?}");

    // A client that signs only what must be: the TREE_CONNECT answer with its signature
    // stripped is still refused, and a man in the middle who hides that the server requires
    // signing is caught by 3.1.1's preauth hash (the final SESSION_SETUP is signed over it).
    let (e, _) = through_signing(&smbd, false, |p| {
        if command(p) == Command::TREE_CONNECT {
            let mut q = p.to_vec();
            q[16] &= !0x08;
            q[48..64].fill(0);
            Act::Replace(q)
        } else {
            Act::Pass
        }
    });
    assert_eq!(e.kind(), ErrorKind::ServerMisbehaved, "{e}");
    assert!(e.to_string().contains("unsigned"), "{e}");
    let (e, _) = through_signing(&smbd, false, |p| {
        if command(p) == Command::NEGOTIATE {
            let mut q = p.to_vec();
            q[64 + 2] &= !0x02; // SecurityMode: SIGNING_REQUIRED cleared
            Act::Replace(q)
        } else {
            Act::Pass
        }
    });
    assert_eq!(e.kind(), ErrorKind::ServerMisbehaved, "{e}");
    assert!(e.to_string().contains("message integrity"), "{e}");
}
