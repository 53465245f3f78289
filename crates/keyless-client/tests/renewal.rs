//! Sessions that outlive their Kerberos ticket, against Debian's smbd and the MIT KDC: the
//! service's tickets live 8 seconds, and smbd ends a session whose ticket has ended
//! (NETWORK_SESSION_EXPIRED). keyless reauthenticates the same session with a fresh ticket
//! before the end, or when the server says it expired; without a source of fresh tickets the
//! user gets one line saying to kinit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_client::{Auth, Client, ErrorKind, Renew, RenewFrom, RenewFuture};
use keyless_krb::Principal;
use keyless_net::Credentials;
use keyless_net::transport::{KdcAddr, KdcDirectory};
use keyless_smb::header::Header;
use keyless_smb::{Command, NtStatus};
use keyless_testbed::{MitKdc, SmbMode, Smbd};
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

const LIFETIME: u64 = 8;

/// Fresh service tickets from the KDC, counted.
struct FromKdc {
    inner: RenewFrom,
    renewals: Arc<AtomicUsize>,
}

impl Renew for FromKdc {
    fn renew<'a>(&'a mut self, expiring: &Auth) -> RenewFuture<'a> {
        self.renewals.fetch_add(1, Ordering::SeqCst);
        self.inner.renew(expiring)
    }
}

struct Setup {
    kdc: MitKdc,
    smbd: Smbd,
    source: FromKdc,
}

/// A KDC whose cifs tickets live [`LIFETIME`] seconds and an smbd (signing, so the
/// transcript shows the commands) that accepts them; tickets from alice's password, or with
/// `ccache` from the TGT that MIT kinit put in a cache.
fn setup(ccache: bool) -> Option<Setup> {
    setup_with(ccache, SmbMode::Signing)
}

fn setup_with(ccache: bool, mode: SmbMode) -> Option<Setup> {
    let kdc = MitKdc::start()?;
    let out = kdc.kadmin("EXAMPLE.TEST", &format!("modprinc -maxlife \"{LIFETIME} seconds\" {}", kdc.service));
    assert!(out.contains("modified"), "{out}");
    let smbd = Smbd::start(&kdc.dir, mode, Some(&kdc))?;
    let mut dir = KdcDirectory::new();
    dir.add("EXAMPLE.TEST", KdcAddr::parse(&kdc.kdc_addr()).unwrap());
    let credentials = if ccache {
        let path = kdc.dir.join("alice.ccache");
        kdc.mit_kinit(&path);
        Credentials::Ccache(keyless_krb::ccache::CacheName::File(path))
    } else {
        Credentials::Password {
            client: Principal::parse(&kdc.user, None).unwrap(),
            password: zeroize::Zeroizing::new(kdc.password.clone()),
        }
    };
    let spn = Principal::parse(&kdc.service, None).unwrap();
    let source = FromKdc { inner: RenewFrom { credentials, spn, kdcs: dir }, renewals: Arc::new(AtomicUsize::new(0)) };
    Some(Setup { kdc, smbd, source })
}

async fn fresh_ticket(source: &FromKdc) -> Auth {
    let RenewFrom { credentials, spn, kdcs } = &source.inner;
    Auth::Kerberos(credentials.service_ticket(spn, kdcs).await.unwrap())
}

/// A recording client of `smbd` as `auth`, renewing from `renew` when given.
async fn connect(smbd: &Smbd, auth: &Auth, renew: Option<Box<dyn Renew>>) -> Client {
    let mut builder = Client::builder("127.0.0.1").port(smbd.port).record(true).auth(auth.clone());
    if let Some(r) = renew {
        builder = builder.renew(r);
    }
    builder.connect().await.unwrap_or_else(|e| panic!("{e}\n{}", smbd.log()))
}

/// SESSION_SETUP requests sent so far, and the SessionIds they named.
fn session_setups(client: &Client) -> Vec<u64> {
    client
        .session()
        .transcript()
        .iter()
        .filter(|(sent, _)| *sent)
        .filter_map(|(_, frame)| Header::parse(frame).ok())
        .filter(|h| h.command() == Command::SESSION_SETUP)
        .map(|h| h.session_id())
        .collect()
}

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap().block_on(f)
}

#[test]
fn session_is_reauthenticated_before_its_ticket_ends() {
    reauthenticated_before_the_end(false, SmbMode::Signing);
}

/// On an encrypted session the reauthenticating SESSION_SETUP goes encrypted too (the
/// transcript is then opaque: that the session outlives its ticket is the proof).
#[test]
fn encrypted_session_is_reauthenticated() {
    reauthenticated_before_the_end(false, SmbMode::Encrypt);
}

/// The same with tickets from a credential cache's TGT, as `keyless` does: the cached
/// service ticket, about to end, is passed over for a new one.
#[test]
fn session_is_reauthenticated_from_a_ccache() {
    reauthenticated_before_the_end(true, SmbMode::Signing);
}

fn reauthenticated_before_the_end(ccache: bool, mode: SmbMode) {
    let Some(s) = setup_with(ccache, mode) else { return };
    block_on(async {
        let auth = fresh_ticket(&s.source).await;
        let Auth::Kerberos(ticket) = &auth else { unreachable!() };
        let life = ticket.end_time - ticket.auth_time.max(ticket.start_time);
        assert!(life <= LIFETIME as i64, "the KDC issued a {life} s ticket");
        let renewals = s.source.renewals.clone();
        let client = connect(&s.smbd, &auth, Some(Box::new(s.source))).await;
        let first = session_setups(&client);
        let share = client.tree(&s.smbd.share).await.unwrap();
        share.put("r.txt", &mut &b"before"[..]).await.unwrap();
        // Past the ticket's last quarter, then past its end: requests go on, on one session.
        for _ in 0..3 {
            tokio::time::sleep(Duration::from_secs(LIFETIME / 2)).await;
            let names: Vec<String> = share.list("").await.unwrap().into_iter().map(|m| m.name).collect();
            assert!(names.contains(&"r.txt".to_string()), "{names:?}");
        }
        assert!(renewals.load(Ordering::SeqCst) >= 1);
        if mode != SmbMode::Signing {
            return;
        }
        let setups = session_setups(&client);
        assert!(setups.len() > first.len(), "no reauthentication: {setups:?}");
        let expired = client
            .session()
            .transcript()
            .iter()
            .filter(|(sent, _)| !*sent)
            .any(|(_, frame)| Header::parse(frame).is_ok_and(|h| h.status() == NtStatus::NETWORK_SESSION_EXPIRED));
        assert!(!expired, "renewed only after the server said the session expired");
        let sid = setups[first.len()];
        assert!(sid != 0 && setups[first.len()..].iter().all(|&id| id == sid), "{setups:?}");
    });
    drop(s.kdc);
}

/// A ticket keyless believes valid that the server has seen end: the server's
/// NETWORK_SESSION_EXPIRED makes keyless reauthenticate and send the request again.
#[test]
fn expired_session_is_recovered_when_the_server_says_so() {
    let Some(s) = setup(false) else { return };
    block_on(async {
        let Auth::Kerberos(mut ticket) = fresh_ticket(&s.source).await else { unreachable!() };
        ticket.end_time += 3600; // what keyless thinks; the server knows better
        let renewals = s.source.renewals.clone();
        let client = connect(&s.smbd, &Auth::Kerberos(ticket), Some(Box::new(s.source))).await;
        let share = client.tree(&s.smbd.share).await.unwrap();
        share.put("big.bin", &mut &vec![7u8; 3 << 20][..]).await.unwrap();
        tokio::time::sleep(Duration::from_secs(LIFETIME + 2)).await;
        assert_eq!(renewals.load(Ordering::SeqCst), 0);
        // A pipelined read and write whose requests all come back expired.
        let mut back = Vec::new();
        assert_eq!(share.get("big.bin", &mut back).await.unwrap(), 3 << 20);
        assert!(back.iter().all(|&b| b == 7));
        assert_eq!(renewals.load(Ordering::SeqCst), 1);
        tokio::time::sleep(Duration::from_secs(LIFETIME + 2)).await;
        share.put("big2.bin", &mut &back[..]).await.unwrap();
        assert_eq!(renewals.load(Ordering::SeqCst), 2);
        assert_eq!(share.stat("big2.bin").await.unwrap().size, 3 << 20);
    });
    drop(s.kdc);
}

/// Without a source of fresh tickets the session ends with one line that says what to do.
#[test]
fn expired_session_without_renewal_says_kinit() {
    let Some(s) = setup(false) else { return };
    block_on(async {
        let auth = fresh_ticket(&s.source).await;
        let client = connect(&s.smbd, &auth, None).await;
        let share = client.tree(&s.smbd.share).await.unwrap();
        tokio::time::sleep(Duration::from_secs(LIFETIME + 2)).await;
        let e = share.list("").await.unwrap_err();
        assert_eq!(e.status(), Some(NtStatus::NETWORK_SESSION_EXPIRED), "{e}");
        assert_eq!(e.kind(), ErrorKind::SessionExpired, "{e}");
    });
    drop(s.kdc);
}
