//! The sans-IO exchanges and the UDP/TCP driver against a real MIT KDC on loopback.
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_crypto::{EncType, KeyUsage, for_etype};
use keyless_krb::keytab::Keytab;
use keyless_krb::{
    AsExchange, AsOptions, ClientSecret, Credential, Error as KrbError, KrbErrorCode, Principal, TgsExchange,
    TgsOptions,
};
use keyless_net::transport::{self, KdcAddr, KdcDirectory, Transport};
use keyless_net::{Error, OsRandom};
use keyless_testbed::{ENCTYPES, MitKdc};
use std::time::{Duration, SystemTime};
use zeroize::Zeroizing;

fn directory(kdc: &MitKdc) -> KdcDirectory {
    let mut dir = KdcDirectory::new();
    for r in &kdc.realms {
        dir.add(&r.name, KdcAddr::parse(&format!("127.0.0.1:{}", r.port)).unwrap());
    }
    dir
}

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

fn kinit(
    kdc: &MitKdc,
    dir: &KdcDirectory,
    opts: AsOptions,
    secret: ClientSecret,
    skew: i64,
) -> Result<Credential, Error> {
    let clock = move || {
        let now = SystemTime::now();
        if skew >= 0 {
            now + Duration::from_secs(skew.unsigned_abs())
        } else {
            now - Duration::from_secs(skew.unsigned_abs())
        }
    };
    let _ = kdc;
    rt().block_on(async {
        let mut rng = OsRandom;
        let (mut ex, first) = AsExchange::start(opts, secret, clock(), &mut rng)?;
        transport::run(dir, &mut ex, first, &mut rng, &clock).await
    })
}

fn password(kdc: &MitKdc) -> ClientSecret {
    ClientSecret::Password(Zeroizing::new(kdc.password.clone()))
}

fn kvno(dir: &KdcDirectory, tgt: Credential, service: &str) -> Result<Credential, Error> {
    let opts = TgsOptions::new(Principal::parse(service, None).unwrap());
    rt().block_on(async {
        let mut rng = OsRandom;
        let (mut ex, first) = TgsExchange::start(tgt, opts, SystemTime::now(), &mut rng)?;
        transport::run(dir, &mut ex, first, &mut rng, &SystemTime::now).await
    })
}

/// Decrypts a service ticket with the service's keytab key: proof the KDC issued it to us.
fn assert_ticket_genuine(kdc: &MitKdc, cred: &Credential) {
    let ticket: rasn_kerberos::Ticket = rasn::der::decode(&cred.ticket).unwrap();
    let keys = Keytab::read(&kdc.service_keytab).unwrap().keys_for(&cred.server);
    let etype = EncType(ticket.enc_part.etype);
    let key = keys.iter().find(|k| k.etype() == etype).unwrap_or_else(|| panic!("no {etype} key for {}", cred.server));
    let plain = for_etype(etype).unwrap().decrypt(key, KeyUsage::TICKET, ticket.enc_part.cipher.as_ref()).unwrap();
    let part: rasn_kerberos::EncTicketPart = rasn::der::decode(&plain).unwrap();
    assert_eq!(part.key.value.as_ref(), cred.session_key.expose_bytes(), "session key in the ticket");
    assert_eq!(Principal::from_asn1(&part.crealm, &part.cname), cred.client);
}

#[test]
fn password_kinit_with_every_enctype_then_service_tickets() {
    let Some(kdc) = MitKdc::start() else { return };
    let dir = directory(&kdc);
    let alice = Principal::parse(&kdc.user, None).unwrap();
    for (name, number) in ENCTYPES {
        let mut opts = AsOptions::new(alice.clone());
        opts.etypes = vec![EncType(number)];
        let tgt = kinit(&kdc, &dir, opts, password(&kdc), 0)
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", kdc.log("EXAMPLE.TEST")));
        assert_eq!(tgt.session_key.etype(), EncType(number), "{name}");
        assert!(tgt.server.is_krbtgt() && tgt.client == alice);
        // A service whose only key is this enctype: the ticket itself is encrypted with it.
        let svc = kvno(&dir, tgt, &format!("cifs/{name}.example.test@EXAMPLE.TEST")).unwrap();
        assert_ticket_genuine(&kdc, &svc);
    }
}

#[test]
fn keytab_kinit_and_tcp_only() {
    let Some(kdc) = MitKdc::start() else { return };
    let alice = Principal::parse(&kdc.user, None).unwrap();
    let keys = Keytab::read(&kdc.user_keytab).unwrap().keys_for(&alice);
    assert!(keys.len() >= 4, "ktadd exported {} keys", keys.len());
    let mut dir = KdcDirectory::new();
    let tcp =
        KdcAddr { transport: Transport::Tcp, host: "127.0.0.1".into(), port: kdc.realms[0].port, path: String::new() };
    dir.add("EXAMPLE.TEST", tcp);
    let tgt = kinit(&kdc, &dir, AsOptions::new(alice), ClientSecret::Keys(keys), 0).unwrap();
    let svc = kvno(&dir, tgt, &kdc.service).unwrap();
    assert_ticket_genuine(&kdc, &svc);
}

#[test]
fn clear_errors_for_wrong_password_unknown_user_skew_and_no_kdc() {
    let Some(kdc) = MitKdc::start() else { return };
    let dir = directory(&kdc);
    let alice = Principal::parse(&kdc.user, None).unwrap();

    let wrong = ClientSecret::Password(Zeroizing::new("not-the-password".into()));
    match kinit(&kdc, &dir, AsOptions::new(alice.clone()), wrong, 0) {
        Err(Error::Kerberos(KrbError::Kdc { code: KrbErrorCode::KDC_ERR_PREAUTH_FAILED, .. })) => {}
        other => panic!("wrong password gave {other:?}"),
    }

    let nobody = Principal::parse("nobody@EXAMPLE.TEST", None).unwrap();
    match kinit(&kdc, &dir, AsOptions::new(nobody), password(&kdc), 0) {
        Err(Error::Kerberos(KrbError::Kdc { code: KrbErrorCode::KDC_ERR_C_PRINCIPAL_UNKNOWN, .. })) => {}
        other => panic!("unknown principal gave {other:?}"),
    }

    // Our clock an hour fast: the KDC refuses the encrypted timestamp.
    match kinit(&kdc, &dir, AsOptions::new(alice.clone()), password(&kdc), 3600) {
        Err(e @ Error::Kerberos(KrbError::ClockSkew { .. })) => assert!(e.to_string().contains("clock"), "{e}"),
        other => panic!("skew gave {other:?}"),
    }

    let mut dead = KdcDirectory::new();
    dead.timeout = Duration::from_millis(400);
    dead.add("EXAMPLE.TEST", KdcAddr::parse(&format!("127.0.0.1:{}", keyless_testbed::free_port())).unwrap());
    match kinit(&kdc, &dead, AsOptions::new(alice), password(&kdc), 0) {
        Err(Error::Unreachable { .. }) => {}
        other => panic!("dead KDC gave {other:?}"),
    }
}

#[test]
fn cross_realm_service_ticket_follows_the_trust() {
    let Some(kdc) = MitKdc::start_realms(&["A.TEST", "B.TEST"]) else { return };
    let dir = directory(&kdc);
    let alice = Principal::parse(&kdc.user, None).unwrap();
    let tgt = kinit(&kdc, &dir, AsOptions::new(alice.clone()), password(&kdc), 0).unwrap();
    let opts = TgsOptions::new(Principal::parse("cifs/files.b.test@B.TEST", None).unwrap());
    let (svc, cross) = rt().block_on(async {
        let mut rng = OsRandom;
        let (mut ex, first) = TgsExchange::start(tgt, opts, SystemTime::now(), &mut rng).unwrap();
        let svc = transport::run(&dir, &mut ex, first, &mut rng, &SystemTime::now).await;
        (svc, ex.cross_realm_tgts().to_vec())
    });
    let svc = svc.unwrap_or_else(|e| panic!("{e}\nA: {}\nB: {}", kdc.log("A.TEST"), kdc.log("B.TEST")));
    assert_eq!(svc.server.to_string(), "cifs/files.b.test@B.TEST");
    assert_eq!(svc.client, alice);
    assert_eq!(cross.len(), 1);
    assert_eq!(cross[0].server.to_string(), "krbtgt/B.TEST@A.TEST");
    assert_ticket_genuine(&kdc, &svc);
}

/// Passes replies through to an exchange and keeps a copy of each.
struct Recording<'a, E> {
    inner: &'a mut E,
    replies: Vec<Vec<u8>>,
}

impl<E: transport::Exchange> transport::Exchange for Recording<'_, E> {
    fn handle_reply(
        &mut self,
        reply: &[u8],
        now: SystemTime,
        rng: &mut dyn keyless_krb::RandomSource,
    ) -> Result<keyless_krb::Step, KrbError> {
        self.replies.push(reply.to_vec());
        self.inner.handle_reply(reply, now, rng)
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

/// Real KDC replies for fuzz seeds and benchmarks, with the (throwaway) keys that open them.
/// Writes `testdata/captures/mit-krb5/` only when `KEYLESS_WRITE_CAPTURES=1`
/// (`tests/captures.rs` checks the committed files).
#[test]
fn capture_kdc_replies() {
    let Some(kdc) = MitKdc::start() else { return };
    let dir = directory(&kdc);
    let alice = Principal::parse(&kdc.user, None).unwrap();
    let mut opts = AsOptions::new(alice);
    opts.etypes = vec![EncType::AES256_CTS_HMAC_SHA1_96];
    let (tgt, as_replies, tgs_replies) = rt().block_on(async {
        let mut rng = OsRandom;
        let (mut ex, first) = AsExchange::start(opts, password(&kdc), SystemTime::now(), &mut rng).unwrap();
        let mut rec = Recording { inner: &mut ex, replies: Vec::new() };
        let tgt = transport::run(&dir, &mut rec, first, &mut rng, &SystemTime::now).await.unwrap();
        let as_replies = rec.replies;
        let (mut ex, first) = TgsExchange::start(
            tgt.clone(),
            TgsOptions::new(Principal::parse(&kdc.service, None).unwrap()),
            SystemTime::now(),
            &mut rng,
        )
        .unwrap();
        let mut rec = Recording { inner: &mut ex, replies: Vec::new() };
        transport::run(&dir, &mut rec, first, &mut rng, &SystemTime::now).await.unwrap();
        (tgt, as_replies, rec.replies)
    });
    assert_eq!(as_replies.len(), 2, "KRB-ERROR (preauth required), then AS-REP");
    let out = keyless_kat_dir().join("captures/mit-krb5");
    if std::env::var_os("KEYLESS_WRITE_CAPTURES").is_some() {
        std::fs::create_dir_all(&out).unwrap();
        std::fs::write(out.join("krb-error-preauth-required.bin"), &as_replies[0]).unwrap();
        std::fs::write(out.join("as-rep-aes256.bin"), &as_replies[1]).unwrap();
        std::fs::write(out.join("tgs-rep-aes256.bin"), &tgs_replies[0]).unwrap();
        let kat = format!(
            "# source: MIT krb5 1.20.1 (Debian 12) KDC on loopback, captured by keyless-krb/tests/mit_kdc.rs capture_kdc_replies\n\
             # Throwaway test principals; the keys below open the captured replies.\n\n\
             name = alice_aes256\nas_rep_file = \"as-rep-aes256.bin\"\ntgs_rep_file = \"tgs-rep-aes256.bin\"\npassword = \"{}\"\n\
             salt = \"EXAMPLE.TESTalice\"\nenctype = 18\ntgt_session_key = {}\n",
            kdc.password,
            hex(tgt.session_key.expose_bytes())
        );
        std::fs::write(out.join("replies.kat"), kat).unwrap();
    }
}

fn keyless_kat_dir() -> std::path::PathBuf {
    std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../../testdata"))
}

/// A KRB-ERROR KRB_ERR_RESPONSE_TOO_BIG, as a KDC sends over UDP when the reply won't fit.
fn response_too_big() -> Vec<u8> {
    let err = rasn_kerberos::KrbError {
        pvno: 5.into(),
        msg_type: 30.into(),
        ctime: None,
        cusec: None,
        stime: keyless_krb::time::kerberos_time(1_700_000_000),
        susec: 0.into(),
        error_code: KrbErrorCode::KRB_ERR_RESPONSE_TOO_BIG.0,
        crealm: None,
        cname: None,
        realm: keyless_krb::principal::realm_asn1("EXAMPLE.TEST").unwrap(),
        sname: Principal::krbtgt("EXAMPLE.TEST", "EXAMPLE.TEST").to_asn1().unwrap(),
        e_text: None,
        e_data: None,
    };
    rasn::der::encode(&err).unwrap()
}

/// On one loopback port: UDP answers every datagram with RESPONSE_TOO_BIG; TCP is relayed to
/// the real KDC. A client that gets a ticket there must have fallen back to TCP.
fn too_big_over_udp_kdc(real_port: u16) -> u16 {
    let port = keyless_testbed::free_port();
    let udp = std::net::UdpSocket::bind(("127.0.0.1", port)).unwrap();
    let tcp = std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
    let reply = response_too_big();
    std::thread::spawn(move || {
        let mut buf = [0u8; 65536];
        while let Ok((_, from)) = udp.recv_from(&mut buf) {
            let _ = udp.send_to(&reply, from);
        }
    });
    std::thread::spawn(move || {
        for client in tcp.incoming().flatten() {
            let upstream = std::net::TcpStream::connect(("127.0.0.1", real_port)).unwrap();
            let (mut c1, mut u1) = (client.try_clone().unwrap(), upstream.try_clone().unwrap());
            std::thread::spawn(move || std::io::copy(&mut c1, &mut u1));
            let (mut c2, mut u2) = (client, upstream);
            std::thread::spawn(move || std::io::copy(&mut u2, &mut c2));
        }
    });
    port
}

#[test]
fn falls_back_to_tcp_when_udp_is_too_small_and_fails_over_past_a_dead_kdc() {
    let Some(kdc) = MitKdc::start() else { return };
    let alice = Principal::parse(&kdc.user, None).unwrap();
    let mut dir = KdcDirectory::new();
    dir.timeout = Duration::from_millis(400);
    // First a KDC nobody runs, then the one that needs TCP.
    dir.add("EXAMPLE.TEST", KdcAddr::parse(&format!("127.0.0.1:{}", keyless_testbed::free_port())).unwrap());
    dir.add(
        "EXAMPLE.TEST",
        KdcAddr::parse(&format!("127.0.0.1:{}", too_big_over_udp_kdc(kdc.realms[0].port))).unwrap(),
    );
    let tgt = kinit(&kdc, &dir, AsOptions::new(alice), password(&kdc), 0).unwrap();
    assert!(tgt.is_tgt_for("EXAMPLE.TEST"));
    let svc = kvno(&dir, tgt, &kdc.service).unwrap();
    assert_ticket_genuine(&kdc, &svc);
}
