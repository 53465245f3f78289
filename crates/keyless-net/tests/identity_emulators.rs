//! Tokens and tickets from the Azure endpoint emulators of the test harness (written from the
//! public documentation, on loopback), with REAL service tickets from the MIT KDC behind the
//! kerbticket endpoint: every token source, the retry rules, and each way a service can fail.
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_identity::flow::{RetryPolicy, TokenFlow};
use keyless_identity::source::Kind;
use keyless_identity::{Identity, STORAGE_RESOURCE, Source, Url};
use keyless_net::{HttpClient, OAuthTickets};
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

fn storage_token(azure: &AzureEmulator, source: Source) -> Result<keyless_identity::AccessToken, String> {
    block_on(client(azure).token(TokenFlow::new(source, STORAGE_RESOURCE))).map_err(|e| e.to_string())
}

#[test]
fn every_source_gets_a_token_for_azure_files() {
    let Some((_kdc, azure)) = setup(1) else { return };
    for (name, source) in [
        ("workload", source(Kind::Auto, azure.workload_env(), None, None)),
        ("app service", source(Kind::Auto, azure.app_service_env(), None, None)),
        ("arc", source(Kind::Auto, azure.arc_env(), None, None)),
        ("imds", imds(&azure)),
    ] {
        let token = storage_token(&azure, source).unwrap_or_else(|e| panic!("{name}: {e}"));
        assert_eq!(token.audience.as_deref(), Some(STORAGE_RESOURCE), "{name}");
        assert!(token.expires_on > keyless_krb::time::unix_seconds(std::time::SystemTime::now()) + 3000, "{name}");
    }
    let log = azure.requests();
    // Workload identity: the projected token went as the client assertion, scope .default.
    assert!(log.contains("client_assertion=eyJhbGciOiJSUzI1NiJ9"), "{log}");
    assert!(log.contains("scope=https%3A%2F%2Fstorage.azure.com%2F.default"), "{log}");
    // Arc: first the challenge, then the answer from the file (which the emulator deleted).
    assert_eq!(log.matches(r#""endpoint": "arc""#).count(), 2, "{log}");
    assert!(log.contains(r#""authorization": "Basic "#), "{log}");
    assert!(log.contains(r#""x-identity-header": ""#) && log.contains("api-version=2019-08-01"), "{log}");
}

#[test]
fn imds_picks_the_identity_asked_for() {
    let Some((_kdc, azure)) = setup(2) else { return };
    let e = storage_token(&azure, imds(&azure)).unwrap_err();
    assert!(e.ends_with("HTTP 400: invalid_request: Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request"), "{e}");
    for identity in [
        Identity::ClientId(azure.imds_identities[1].0.clone()),
        Identity::ObjectId(azure.imds_identities[1].1.clone()),
        Identity::ResourceId(azure.imds_identities[1].2.clone()),
    ] {
        let s = source(Kind::Imds, vec![], Some(identity.clone()), Some(&azure.http));
        storage_token(&azure, s).unwrap_or_else(|e| panic!("{identity:?}: {e}"));
    }
    let s = source(Kind::Imds, vec![], Some(Identity::ClientId("nobody".into())), Some(&azure.http));
    assert!(storage_token(&azure, s).unwrap_err().ends_with("HTTP 400: invalid_request: Identity not found"));
}

#[test]
fn imds_is_retried_as_documented_and_given_up_on_clearly() {
    let Some((_kdc, azure)) = setup(1) else { return };
    let quick = RetryPolicy {
        backoff: Duration::from_millis(10),
        retries: 3,
        gone_interval: Duration::from_millis(10),
        gone_for: Duration::from_millis(70),
    };
    let flow = || TokenFlow::with_policy(imds(&azure), STORAGE_RESOURCE, quick);
    azure.script("imds", &[404, 410, 410, 429, 500]);
    block_on(client(&azure).token(flow())).unwrap();
    azure.script("imds", &[500, 503, 500, 500]);
    let e = block_on(client(&azure).token(flow())).unwrap_err().to_string();
    assert!(e.ends_with("answered HTTP 500: internal_error: Internal error"), "{e}");
    azure.script("imds", &[403]);
    assert!(block_on(client(&azure).token(flow())).unwrap_err().to_string().contains("HTTP 403"));
    let log = azure.requests();
    assert_eq!(log.matches(r#""endpoint": "imds""#).count(), 6 + 4 + 1, "{log}");
    // Nobody listening: one line naming IMDS, no retries.
    let closed = format!("http://127.0.0.1:{}", keyless_testbed::free_port());
    let e = block_on(client(&azure).token(TokenFlow::with_policy(
        source(Kind::Imds, vec![], None, Some(&closed)),
        STORAGE_RESOURCE,
        quick,
    )))
    .unwrap_err();
    assert!(
        e.to_string().starts_with(&format!("IMDS at {closed}/metadata/identity/oauth2/token did not answer")),
        "{e}"
    );
    assert!(matches!(e, keyless_identity::Error::Unreachable { .. }), "{e:?}");
}

#[test]
fn workload_identity_with_a_wrong_assertion_is_refused_by_entra() {
    let Some((_kdc, azure)) = setup(1) else { return };
    std::fs::write(&azure.workload_token_file, "eyJ.stale.token").unwrap();
    let e = storage_token(&azure, source(Kind::Auto, azure.workload_env(), None, None)).unwrap_err();
    assert!(e.contains("answered HTTP 401: invalid_client: AADSTS700213"), "{e}");
}

#[test]
fn kerbticket_failures_are_one_clear_error() {
    let Some((_kdc, azure)) = setup(1) else { return };
    let given = |aud: &str, life: i64| {
        let token = keyless_identity::AccessToken::given(&azure.token(aud, life)).unwrap();
        tickets(&azure, Source::Given(token))
    };
    // Caught before anything is sent: a token for another audience, an expired one.
    let e = block_on(given("https://storage.azure.com/", 3600).ticket()).unwrap_err();
    assert_eq!(e.to_string(), "the token is for audience https://storage.azure.com/, not https://storage.azure.com");
    let e = block_on(given(STORAGE_RESOURCE, -60).ticket()).unwrap_err();
    assert!(e.to_string().starts_with("the token expired at"), "{e}");
    // The service refuses (the identity lacks the role): status and Azure Storage's words.
    azure.script("kerbticket", &[403]);
    let e = block_on(given(STORAGE_RESOURCE, 3600).ticket()).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!(
            "kerbticket at {} answered HTTP 403: AuthorizationPermissionMismatch: This request is not authorized",
            azure.https
        )),
        "{e}"
    );
    assert!(matches!(e, keyless_identity::Error::Refused { status: 403, .. }), "{e:?}");
    // A 200 whose ticket is garbage, or encrypted with a key nobody gave us.
    azure.set_kerbticket_mode("garbage");
    let e = block_on(given(STORAGE_RESOURCE, 3600).ticket()).unwrap_err().to_string();
    assert!(e.starts_with("the kerbticket answer is malformed: its KRB-CRED:"), "{e}");
    azure.set_kerbticket_mode("encrypted");
    let e = block_on(given(STORAGE_RESOURCE, 3600).ticket()).unwrap_err().to_string();
    assert!(e.contains("its KRB-CRED is encrypted (etype 18); Azure Files sends it unencrypted"), "{e}");
    // A file endpoint whose certificate is not trusted.
    let untrusted = OAuthTickets::new(HttpClient::new(vec![]), imds(&azure), Url::parse(&azure.https).unwrap());
    let e = block_on({
        let mut u = untrusted;
        async move { u.ticket().await }
    })
    .unwrap_err()
    .to_string();
    assert!(e.contains("did not answer: TLS: invalid peer certificate"), "{e}");
}

/// A KRB-CRED whose enc-part is really encrypted (aes256, key usage 14) is refused with the
/// same clear line: Azure Files sends none, and keyless holds no key for one.
#[test]
fn a_really_encrypted_krb_cred_is_refused() {
    let Some((kdc, azure)) = setup(1) else { return };
    let ticket = block_on(tickets(&azure, imds(&azure)).ticket()).unwrap();
    let der = keyless_krb::krb_cred::encode_unencrypted(&[ticket]).unwrap();
    let mut cred: rasn_kerberos::KrbCred = rasn::der::decode(&der).unwrap();
    let key = keyless_crypto::Key::from_bytes(keyless_crypto::EncType(18), &[7u8; 32]).unwrap();
    let sealed = keyless_crypto::for_etype(key.etype())
        .unwrap()
        .encrypt(&key, keyless_crypto::KeyUsage::KRB_CRED_ENC_PART, &[9u8; 16], &cred.enc_part.cipher)
        .unwrap();
    cred.enc_part = rasn_kerberos::EncryptedData { etype: 18, kvno: None, cipher: sealed.into() };
    let b64 = base64::Engine::encode(&base64::engine::general_purpose::STANDARD, rasn::der::encode(&cred).unwrap());
    let body =
        format!(r#"{{"kerberosServiceTicket":"{b64}","sessionKey":"","expirationTime":"2030-01-01T00:00:00.000Z"}}"#);
    let e = keyless_identity::kerbticket::parse_body(body.as_bytes()).unwrap_err().to_string();
    assert!(e.contains("encrypted (etype 18)"), "{e}");
    drop(kdc);
}

#[test]
fn storage_keys_come_from_arm_with_an_arm_token() {
    let Some((_kdc, azure)) = setup(1) else { return };
    let (subscription, resource_group, name) = azure.arm_account.clone();
    let account = keyless_identity::arm::Account { subscription, resource_group, name };
    let arm = Url::parse(&azure.https).unwrap();
    let keys = block_on(client(&azure).storage_keys(&imds(&azure), &arm, &account)).unwrap();
    assert_eq!((keys[0].name.as_str(), keys[0].value.as_str()), ("key1", "alice-Passw0rd"));
    let log = azure.requests();
    assert!(log.contains("resource=https%3A%2F%2Fmanagement.azure.com%2F"), "{log}");
    let wrong = keyless_identity::arm::Account { name: "other".into(), ..account };
    let e = block_on(client(&azure).storage_keys(&imds(&azure), &arm, &wrong)).unwrap_err();
    assert!(e.to_string().contains("answered HTTP 404: ResourceNotFound"), "{e}");
    assert!(matches!(e, keyless_identity::Error::Refused { status: 404, .. }), "{e:?}");
}
