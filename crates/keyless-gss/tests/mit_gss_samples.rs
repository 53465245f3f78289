//! The Kerberos GSS mechanism against MIT's GSS sample programs (Debian krb5-gss-samples):
//! keyless as initiator to `gss-server`, and keyless as acceptor of `gss-client`, with
//! encrypted Wrap tokens and MICs verified both ways.
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_gss::krb5::{self, flags};
use keyless_krb::keytab::Keytab;
use keyless_krb::{AsExchange, AsOptions, ClientSecret, Credential, Principal, TgsExchange, TgsOptions};
use keyless_net::OsRandom;
use keyless_net::transport::{self, KdcAddr, KdcDirectory};
use keyless_testbed::{MitKdc, free_port, require, wait_for_tcp};
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::time::SystemTime;

// gss-sample token flags (src/appl/gss-sample/gss-misc.h).
const NOOP: u8 = 1;
const CONTEXT: u8 = 2;
const DATA: u8 = 4;
const MIC: u8 = 8;
const CONTEXT_NEXT: u8 = 16;
const WRAPPED: u8 = 32;
const ENCRYPTED: u8 = 64;
const SEND_MIC: u8 = 128;

fn send(s: &mut TcpStream, flags: u8, token: &[u8]) {
    let mut frame = vec![flags];
    frame.extend_from_slice(&u32::try_from(token.len()).unwrap().to_be_bytes());
    frame.extend_from_slice(token);
    s.write_all(&frame).unwrap();
}

fn recv(s: &mut TcpStream) -> (u8, Vec<u8>) {
    let mut head = [0u8; 5];
    s.read_exact(&mut head).unwrap();
    let mut token = vec![0u8; u32::from_be_bytes([head[1], head[2], head[3], head[4]]) as usize];
    s.read_exact(&mut token).unwrap();
    (head[0], token)
}

/// A service ticket for `service`, from keyless's own AS and TGS exchanges.
fn ticket(kdc: &MitKdc, service: &str) -> Credential {
    let mut dir = KdcDirectory::new();
    dir.add(&kdc.realms[0].name, KdcAddr::parse(&kdc.kdc_addr()).unwrap());
    let alice = Principal::parse(&kdc.user, None).unwrap();
    let secret = ClientSecret::Password(zeroize::Zeroizing::new(kdc.password.clone()));
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(async {
        let mut rng = OsRandom;
        let (mut ex, first) = AsExchange::start(AsOptions::new(alice), secret, SystemTime::now(), &mut rng).unwrap();
        let tgt = transport::run(&dir, &mut ex, first, &mut rng, &SystemTime::now).await.unwrap();
        let (mut ex, first) = TgsExchange::start(
            tgt,
            TgsOptions::new(Principal::parse(service, None).unwrap()),
            SystemTime::now(),
            &mut rng,
        )
        .unwrap();
        transport::run(&dir, &mut ex, first, &mut rng, &SystemTime::now).await.unwrap()
    })
}

#[test]
fn keyless_initiator_to_mit_gss_server() {
    let (Some(kdc), Some(())) = (MitKdc::start(), require(&["gss-server"])) else { return };
    let port = free_port();
    // Not -once: the readiness probe would use up its one connection. Stopped by PID below.
    let log = kdc.dir.join("gss-server.log");
    let out_file = std::fs::File::create(&log).unwrap();
    let mut server = Command::new("gss-server")
        .args(["-port", &port.to_string(), "-keytab", kdc.service_keytab.to_str().unwrap(), "cifs@files.example.test"])
        .envs(kdc.client_env())
        .stdout(Stdio::from(out_file.try_clone().unwrap()))
        .stderr(Stdio::from(out_file))
        .spawn()
        .unwrap();
    wait_for_tcp(port, "gss-server");
    let cred = ticket(&kdc, &kdc.service);
    let mut rng = OsRandom;
    let gss_flags = flags::MUTUAL | flags::REPLAY | flags::SEQUENCE | flags::CONF | flags::INTEG;
    let (initiator, ap_req) = krb5::Initiator::start(&cred, gss_flags, &[0; 16], SystemTime::now(), &mut rng).unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    send(&mut s, NOOP | CONTEXT_NEXT, &[]);
    send(&mut s, CONTEXT, &ap_req);
    let (f, ap_rep) = recv(&mut s);
    assert_eq!(f, CONTEXT);
    let mut ctx = initiator.handle_reply(&ap_rep).unwrap();
    let message = b"hello from keyless, sealed";
    send(&mut s, DATA | WRAPPED | ENCRYPTED | SEND_MIC, &ctx.wrap(message, true, &mut rng).unwrap());
    let (f, mic) = recv(&mut s);
    assert_eq!(f, MIC);
    ctx.verify_mic(message, &mic).unwrap();
    send(&mut s, NOOP, &[]);
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest); // the server closes after the NOOP
    keyless_testbed::stop(&mut server);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(text.contains("Accepted connection: \"alice@EXAMPLE.TEST\""), "{text}");
    assert!(text.contains("hello from keyless, sealed"), "{text}");
}

#[test]
fn mit_gss_client_to_keyless_acceptor() {
    let (Some(kdc), Some(())) = (MitKdc::start(), require(&["gss-client", "kinit"])) else { return };
    let keytab = Keytab::read(&kdc.service_keytab).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let (f, _) = recv(&mut s);
        assert_eq!(f, NOOP | CONTEXT_NEXT);
        let (f, token) = recv(&mut s);
        assert_eq!(f, CONTEXT);
        let mut rng = OsRandom;
        // The acceptor judges the client's clock and the ticket's end, and says it is they
        // (not a KDC) that are off: an hour ahead of the client, then two days on.
        let hour = std::time::Duration::from_secs(3600);
        let skewed = krb5::accept(&keytab, &token, SystemTime::now() + hour, &mut rng).err().unwrap();
        assert!(matches!(skewed, keyless_gss::Error::ClockSkew { .. }), "{skewed:?}");
        let said = skewed.to_string();
        assert!(
            said.starts_with("clock skew too great: the client's clock is 36")
                && said.ends_with("s behind this service's"),
            "{said}"
        );
        let later = krb5::accept(&keytab, &token, SystemTime::now() + 48 * hour, &mut rng).err().unwrap();
        assert!(matches!(later, keyless_gss::Error::TicketExpired { .. }), "{later:?}");
        let said = later.to_string();
        assert!(
            said.starts_with("the ticket for cifs/files.example.test@EXAMPLE.TEST expired ") && !said.contains("KDC"),
            "{said}"
        );
        let accepted = krb5::accept(&keytab, &token, SystemTime::now(), &mut rng).unwrap();
        send(&mut s, CONTEXT, accepted.reply.as_deref().expect("gss-client asks for mutual authentication"));
        let mut ctx = accepted.context;
        let (f, wrapped) = recv(&mut s);
        assert_eq!(f & (DATA | WRAPPED), DATA | WRAPPED, "flags {f:#x}");
        let message = ctx.unwrap(&wrapped).unwrap();
        assert!(f & SEND_MIC != 0);
        send(&mut s, MIC, &ctx.get_mic(&message).unwrap());
        let (f, _) = recv(&mut s);
        assert_eq!(f, NOOP);
        (accepted.client.to_string(), String::from_utf8(message).unwrap())
    });
    let cc = format!("FILE:{}", kdc.dir.join("cc-gss").display());
    kdc.mit_kinit(std::path::Path::new(cc.trim_start_matches("FILE:")));
    let out = Command::new("gss-client")
        .args(["-port", &port.to_string(), "127.0.0.1", "cifs@files.example.test", "hello from MIT, sealed"])
        .envs(kdc.client_env())
        .env("KRB5CCNAME", &cc)
        .output()
        .unwrap();
    let (client, message) = acceptor.join().unwrap();
    assert!(
        out.status.success(),
        "gss-client: {}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(client, "alice@EXAMPLE.TEST");
    assert_eq!(message, "hello from MIT, sealed");
    // gss-client checked our MIC ("Signature verified.").
    assert!(
        String::from_utf8_lossy(&out.stdout).contains("Signature verified"),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
}

#[test]
fn spnego_both_ways_with_mit() {
    let (Some(kdc), Some(())) = (MitKdc::start(), require(&["gss-server", "gss-client", "kinit"])) else { return };
    use keyless_gss::spnego;
    // keyless SPNEGO initiator -> MIT gss-server (which accepts SPNEGO as well as raw krb5).
    let port = free_port();
    let log = kdc.dir.join("gss-server-spnego.log");
    let out_file = std::fs::File::create(&log).unwrap();
    let mut server = Command::new("gss-server")
        .args(["-port", &port.to_string(), "-keytab", kdc.service_keytab.to_str().unwrap(), "cifs@files.example.test"])
        .envs(kdc.client_env())
        .stdout(Stdio::from(out_file.try_clone().unwrap()))
        .stderr(Stdio::from(out_file))
        .spawn()
        .unwrap();
    wait_for_tcp(port, "gss-server");
    let cred = ticket(&kdc, &kdc.service);
    let mut rng = OsRandom;
    let gss_flags = flags::MUTUAL | flags::REPLAY | flags::SEQUENCE | flags::CONF | flags::INTEG;
    let (initiator, token) = spnego::Krb5Initiator::start(&cred, gss_flags, SystemTime::now(), &mut rng).unwrap();
    let mut s = TcpStream::connect(("127.0.0.1", port)).unwrap();
    send(&mut s, NOOP | CONTEXT_NEXT, &[]);
    send(&mut s, CONTEXT, &token);
    let (f, answer) = recv(&mut s);
    assert_eq!(f, CONTEXT);
    let (mut ctx, more) = initiator.handle_reply(&answer).unwrap();
    assert!(more.is_none(), "MIT completes without asking for our mechListMIC");
    send(&mut s, DATA | WRAPPED | ENCRYPTED | SEND_MIC, &ctx.wrap(b"spnego from keyless", true, &mut rng).unwrap());
    let (_, mic) = recv(&mut s);
    ctx.verify_mic(b"spnego from keyless", &mic).unwrap();
    send(&mut s, NOOP, &[]);
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    keyless_testbed::stop(&mut server);
    let text = std::fs::read_to_string(&log).unwrap();
    assert!(
        text.contains("Accepted connection: \"alice@EXAMPLE.TEST\"") && text.contains("spnego from keyless"),
        "{text}"
    );

    // MIT gss-client -spnego -> keyless SPNEGO acceptor.
    let keytab = Keytab::read(&kdc.service_keytab).unwrap();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let _ = recv(&mut s);
        let (_, token) = recv(&mut s);
        let mut rng = OsRandom;
        let (accepted, answer) = spnego::accept_krb5(&keytab, &token, SystemTime::now(), &mut rng).unwrap();
        send(&mut s, CONTEXT, &answer);
        let mut ctx = accepted.context;
        let (_, wrapped) = recv(&mut s);
        let message = ctx.unwrap(&wrapped).unwrap();
        send(&mut s, MIC, &ctx.get_mic(&message).unwrap());
        let _ = recv(&mut s);
        String::from_utf8(message).unwrap()
    });
    let cc = format!("FILE:{}", kdc.dir.join("cc-spnego").display());
    kdc.mit_kinit(std::path::Path::new(cc.trim_start_matches("FILE:")));
    let out = Command::new("gss-client")
        .args(["-port", &port.to_string(), "-spnego", "127.0.0.1", "cifs@files.example.test", "spnego from MIT"])
        .envs(kdc.client_env())
        .env("KRB5CCNAME", &cc)
        .output()
        .unwrap();
    let message = acceptor.join().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "gss-client -spnego: {stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert_eq!(message, "spnego from MIT");
    assert!(stdout.contains("Signature verified"), "{stdout}");
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn spnego_kerberos_both_ways_with_pyspnego() {
    use keyless_gss::spnego;
    let Some(kdc) = MitKdc::start() else { return };
    let has_gssapi = Command::new("python3")
        .args(["-c", "import gssapi"])
        .env("PYTHONPATH", keyless_testbed::PySpnego::python_path())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_gssapi {
        assert!(std::env::var_os("CI").is_none(), "python-gssapi missing in target/py: run cargo xtask deps");
        eprintln!("skipped: python-gssapi is not installed");
        return;
    }
    let env: Vec<(&str, std::path::PathBuf)> =
        vec![("KRB5_CONFIG", kdc.krb5_conf.clone()), ("KRB5_KTNAME", kdc.service_keytab.clone())];
    let env_ref: Vec<(&str, &std::path::Path)> = env.iter().map(|(k, v)| (*k, v.as_path())).collect();

    // keyless SPNEGO/Kerberos initiator -> pyspnego Negotiate acceptor (python-gssapi, keytab).
    let Some(mut py) = keyless_testbed::PySpnego::start("server", "negotiate", &[], &env_ref) else { return };
    let cred = ticket(&kdc, &kdc.service);
    let mut rng = OsRandom;
    let (init, token) =
        spnego::Krb5Initiator::start(&cred, flags::MUTUAL | flags::INTEG | flags::CONF, SystemTime::now(), &mut rng)
            .unwrap();
    py.send(&token);
    let answer = py.recv();
    let (ctx, more) = init.handle_reply(&answer).unwrap();
    if let Some(mic) = more {
        py.send(&mic);
        let _ = py.recv_line();
    }
    assert_eq!(py.recv_line(), format!("SESSIONKEY {}", hex(ctx.session_key().expose_bytes())));

    // pyspnego Negotiate initiator (Kerberos from a ccache) -> keyless SPNEGO/Kerberos acceptor.
    let cc = kdc.dir.join("cc-pyspnego");
    kdc.mit_kinit(&cc);
    let ccname = std::path::PathBuf::from(format!("FILE:{}", cc.display()));
    let client_env = [("KRB5_CONFIG", kdc.krb5_conf.as_path()), ("KRB5CCNAME", ccname.as_path())];
    let Some(mut py) = keyless_testbed::PySpnego::start("client", "negotiate", &["-", "-"], &client_env) else {
        return;
    };
    let init = py.recv();
    let keytab = Keytab::read(&kdc.service_keytab).unwrap();
    let (accepted, answer) = spnego::accept_krb5(&keytab, &init, SystemTime::now(), &mut rng).unwrap();
    assert_eq!(accepted.client.to_string(), "alice@EXAMPLE.TEST");
    py.send(&answer);
    let _ = py.recv_line(); // the client's last (empty) token
    assert_eq!(py.recv_line(), format!("SESSIONKEY {}", hex(accepted.context.session_key().expose_bytes())));
}
