//! Tokens and tickets from the Azure endpoint emulators of the test harness (written from the
//! public documentation, on loopback), with REAL service tickets from the MIT KDC behind the
//! kerbticket endpoint: every token source, the retry rules, and each way a service can fail.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_identity::flow::{RetryPolicy, TokenFlow};
use keyless_identity::source::Kind;
use keyless_identity::{HttpClient, Identity, OAuthTickets, STORAGE_RESOURCE, Source, Url};
use keyless_testbed::{AzureEmulator, MitKdc, TICKET_CLIENT};
use std::time::Duration;

fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap().block_on(f)
}

fn setup(identities: usize) -> Option<(MitKdc, AzureEmulator)> {
    let kdc = MitKdc::start()?;
    let azure = AzureEmulator::start(&kdc, ("alice", "alice-Passw0rd"), identities)?;
    Some((kdc, azure))
}

fn client(azure: &AzureEmulator) -> HttpClient {
    HttpClient::new(vec![azure.cert.ca.clone()])
}

fn source(kind: Kind, vars: Vec<(&'static str, String)>, identity: Option<Identity>, imds: Option<&str>) -> Source {
    Source::from_env(kind, &move |n| vars.iter().find(|(k, _)| *k == n).map(|(_, v)| v.clone()), identity, imds)
        .unwrap()
}

fn imds(azure: &AzureEmulator) -> Source {
    source(Kind::Auto, vec![], None, Some(&azure.http))
}

fn tickets(azure: &AzureEmulator, source: Source) -> OAuthTickets {
    OAuthTickets::new(client(azure), source, Url::parse(&azure.https).unwrap())
}

#[test]
fn imds_token_buys_a_real_service_ticket() {
    let Some((kdc, azure)) = setup(1) else { return };
    let ticket =
        block_on(tickets(&azure, imds(&azure)).ticket()).unwrap_or_else(|e| panic!("{e}\n{}", azure.log(&kdc.dir)));
    assert_eq!(ticket.server.to_string(), kdc.service);
    assert_eq!(ticket.client.to_string(), format!("{TICKET_CLIENT}@EXAMPLE.TEST"));
    assert!(ticket.end_time > keyless_krb::time::unix_seconds(std::time::SystemTime::now()));
    // The ticket opens with the service's key: it is the KDC's, not made up.
    let keytab = keyless_krb::keytab::Keytab::read(&kdc.service_keytab).unwrap();
    let t: rasn_kerberos::Ticket = rasn::der::decode(&ticket.ticket).unwrap();
    let entry = keytab
        .entries
        .iter()
        .find(|e| e.enctype == t.enc_part.etype && e.principal.to_string() == kdc.service)
        .unwrap();
    let key = keyless_crypto::Key::from_bytes(keyless_crypto::EncType(entry.enctype), &entry.key).unwrap();
    keyless_crypto::for_etype(key.etype())
        .unwrap()
        .decrypt(&key, keyless_crypto::KeyUsage::TICKET, &t.enc_part.cipher)
        .unwrap();
    let log = azure.requests();
    assert!(log.contains(r#""x-ms-version": "2024-05-04""#) && log.contains(r#""metadata": "true""#), "{log}");
    assert!(
        log.contains("resource=https%3A%2F%2Fstorage.azure.com&")
            || log.contains("resource=https%3A%2F%2Fstorage.azure.com\""),
        "{log}"
    );
}
