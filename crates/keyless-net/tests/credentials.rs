//! Every kind of credential yields the service ticket, against a real MIT KDC; a cache holding
//! only a service ticket (what Azure Files SMB OAuth produces) works without any KDC.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_krb::ccache::CCache;
use keyless_krb::ccache::CacheName;
use keyless_krb::keytab::Keytab;
use keyless_krb::{Error as KrbError, Principal};
use keyless_net::Credentials;
use keyless_net::Error;
use keyless_net::transport::{KdcAddr, KdcDirectory};
use keyless_testbed::{MitKdc, free_port};

fn rt() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap()
}

#[test]
fn password_keytab_ccache_and_ticket() {
    let Some(kdc) = MitKdc::start() else { return };
    let mut dir = KdcDirectory::new();
    dir.add("EXAMPLE.TEST", KdcAddr::parse(&kdc.kdc_addr()).unwrap());
    let spn = Principal::parse(&kdc.service, None).unwrap();
    let alice = Principal::parse(&kdc.user, None).unwrap();

    let by_password =
        Credentials::Password { client: alice.clone(), password: zeroize::Zeroizing::new(kdc.password.clone()) };
    let ticket = rt().block_on(by_password.service_ticket(&spn, &dir)).unwrap();
    assert!(ticket.server.same_name(&spn) && ticket.client == alice);

    let by_keytab = Credentials::Keytab { client: alice.clone(), keytab: Keytab::read(&kdc.user_keytab).unwrap() };
    assert!(rt().block_on(by_keytab.service_ticket(&spn, &dir)).unwrap().server.same_name(&spn));

    // A cache from MIT kinit (TGT only): the ticket is fetched and stored back.
    let cc = kdc.dir.join("cc-tgt");
    kdc.mit_kinit(&cc);
    assert!(
        rt().block_on(Credentials::Ccache(CacheName::File(cc.clone())).service_ticket(&spn, &dir))
            .unwrap()
            .server
            .same_name(&spn)
    );
    assert!(CCache::read(&cc).unwrap().find(&spn, 0).is_some(), "stored back");

    // A cache with only the service ticket, and no KDC that answers: no KDC is needed.
    let only = kdc.dir.join("cc-service-only");
    let mut cache = CCache::new(alice.clone());
    cache.store(&ticket);
    cache.write(&only).unwrap();
    let mut dead = KdcDirectory::new();
    dead.add("EXAMPLE.TEST", KdcAddr::parse(&format!("127.0.0.1:{}", free_port())).unwrap());
    assert!(
        rt().block_on(Credentials::Ccache(CacheName::File(only.clone())).service_ticket(&spn, &dead))
            .unwrap()
            .server
            .same_name(&spn)
    );
    let other = Principal::parse("cifs/elsewhere.example.test@EXAMPLE.TEST", None).unwrap();
    match rt().block_on(Credentials::Ccache(CacheName::File(only)).service_ticket(&other, &dead)) {
        Err(e @ Error::Kerberos(KrbError::NotInCache(_))) => assert!(e.to_string().contains("TGT"), "{e}"),
        other => panic!("{other:?}"),
    }

    // A ticket in memory: for its own service only.
    let in_memory = Credentials::Ticket(Box::new(ticket));
    assert!(rt().block_on(in_memory.service_ticket(&spn, &dead)).is_ok());
    assert!(rt().block_on(in_memory.service_ticket(&other, &dead)).is_err());
}
