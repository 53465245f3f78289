//! NTLMSSP against MS-NLMP 4.2.4 (the published CHALLENGE and AUTHENTICATE messages) and
//! between keyless's own client and server, including the MIC and refusals.
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_gss::ntlmssp::{self, AuthInputs, Authenticate, Challenge, Client, Server};
use keyless_krb::RandomSource;
use std::time::SystemTime;

struct Counter(u8);
impl RandomSource for Counter {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), keyless_krb::Error> {
        for b in buf {
            self.0 = self.0.wrapping_mul(31).wrapping_add(17);
            *b = self.0;
        }
        Ok(())
    }
}

#[test]
fn ms_nlmp_4_2_4_messages() {
    let kat = keyless_kat::load("ms-nlmp/ntlmv2.kat");
    let r = kat.records.iter().find(|r| r.name == "ms_nlmp_4_2_4_ntlmv2").unwrap();
    let challenge = r.bytes("challenge_message");
    let c = Challenge::parse(&challenge).unwrap();
    assert_eq!(c.server_challenge, r.array::<8>("server_challenge"));
    assert_eq!(c.target_info, r.bytes("target_info"));
    assert_eq!(c.target_name, "Server");

    let theirs = Authenticate::parse(&r.bytes("authenticate_message")).unwrap();
    assert_eq!(
        (theirs.user.as_str(), theirs.domain.as_str(), theirs.workstation.as_str()),
        ("User", "Domain", "COMPUTER")
    );
    assert_eq!(theirs.mic, None, "4.2.4 has no MsvAvTimestamp, so no MIC");

    let (client, _) = Client::start("User", "Domain", b"Password").unwrap();
    let inputs = AuthInputs {
        client_challenge: r.array("client_challenge"),
        exported_session_key: r.array("random_session_key"),
        time: 0,
    };
    let done = client.authenticate(&challenge, None, inputs).unwrap();
    let ours = Authenticate::parse(&done.authenticate).unwrap();
    assert_eq!(ours.nt_response, r.bytes("ntlmv2_response"), "NtChallengeResponse");
    assert_eq!(ours.lm_response, r.bytes("lmv2_response"), "LmChallengeResponse");
    assert_eq!(ours.encrypted_session_key, r.bytes("encrypted_random_session_key"));
    assert_eq!(ours.nt_response, theirs.nt_response);
    assert_eq!(ours.encrypted_session_key, theirs.encrypted_session_key);
    assert_eq!(done.session_key.expose_bytes(), &r.array::<16>("exported_session_key"));
}

#[test]
fn client_and_server_agree_with_a_mic_and_refuse_the_wrong_password() {
    let mut rng = Counter(3);
    let now = SystemTime::now();
    let inputs = AuthInputs::random(keyless_wire_enum::filetime::from_system_time(now), &mut rng).unwrap();
    let (client, negotiate) = Client::start("alice", "KEYLESS", "pässwörd".as_bytes()).unwrap();
    let (server, challenge) = Server::challenge(&negotiate, "KEYLESS", now, &mut rng).unwrap();
    let done = client.authenticate(&challenge, Some("cifs/files.example.test"), inputs).unwrap();
    let parsed = Authenticate::parse(&done.authenticate).unwrap();
    assert!(parsed.mic.is_some(), "the server sent a timestamp, so the client must send a MIC");
    assert_eq!(parsed.lm_response, [0u8; 24]);
    let (auth, key) = server.verify(&done.authenticate, "pässwörd".as_bytes()).unwrap();
    assert_eq!(auth.user, "alice");
    assert_eq!(key.expose_bytes(), done.session_key.expose_bytes());

    // The same exchange with the wrong password, and with an altered MIC.
    let (client, negotiate) = Client::start("alice", "KEYLESS", b"right").unwrap();
    let (server, challenge) = Server::challenge(&negotiate, "KEYLESS", now, &mut rng).unwrap();
    let done = client.authenticate(&challenge, None, inputs).unwrap();
    assert!(server.verify(&done.authenticate, b"wrong").is_err());
    let (client, negotiate) = Client::start("alice", "KEYLESS", b"right").unwrap();
    let (server, challenge) = Server::challenge(&negotiate, "KEYLESS", now, &mut rng).unwrap();
    let mut tampered = client.authenticate(&challenge, None, inputs).unwrap().authenticate;
    tampered[80] ^= 1;
    assert!(server.verify(&tampered, b"right").is_err());
}

#[test]
fn malformed_messages_are_errors() {
    for junk in [&b""[..], b"NTLMSSP\0", &[0u8; 100], b"NTLMSSP\0\x02\0\0\0\x10\0\x10\0\xff\xff\0\0"] {
        assert!(Challenge::parse(junk).is_err());
        assert!(Authenticate::parse(junk).is_err());
    }
    let mut msg =
        Challenge { flags: 0, server_challenge: [1; 8], target_name: "x".into(), target_info: vec![0, 0, 0, 0] }
            .encode();
    msg[44..48].copy_from_slice(&9999u32.to_le_bytes()); // TargetInfo offset past the end
    assert!(Challenge::parse(&msg).is_err());
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

#[test]
fn keyless_client_to_pyspnego_ntlm_server() {
    let dir = keyless_testbed::ScratchDir::new("pyspnego");
    let users = dir.join("ntlm-users");
    std::fs::write(&users, "KEYLESS:alice:alice-Passw0rd\n").unwrap();
    let Some(mut py) = keyless_testbed::PySpnego::start("server", "ntlm", &[], &[("NTLM_USER_FILE", users.as_path())])
    else {
        return;
    };
    let (client, negotiate) = Client::start("alice", "KEYLESS", b"alice-Passw0rd").unwrap();
    py.send(&negotiate);
    let challenge = py.recv();
    let mut rng = Counter(9);
    let inputs =
        AuthInputs::random(keyless_wire_enum::filetime::from_system_time(SystemTime::now()), &mut rng).unwrap();
    let done = client.authenticate(&challenge, Some("cifs/files.example.test"), inputs).unwrap();
    py.send(&done.authenticate);
    let _final_token = py.recv_line();
    let line = py.recv_line();
    assert_eq!(
        line,
        format!("SESSIONKEY {}", hex(done.session_key.expose_bytes())),
        "pyspnego accepted us and derived the same key"
    );
}

#[test]
fn pyspnego_ntlm_client_to_keyless_server() {
    let Some(mut py) = keyless_testbed::PySpnego::start("client", "ntlm", &["KEYLESS\\alice", "alice-Passw0rd"], &[])
    else {
        return;
    };
    let negotiate = py.recv();
    let mut rng = Counter(11);
    let (server, challenge) = Server::challenge(&negotiate, "KEYLESS", SystemTime::now(), &mut rng).unwrap();
    py.send(&challenge);
    let authenticate = py.recv();
    let (auth, key) = server.verify(&authenticate, b"alice-Passw0rd").unwrap();
    assert_eq!((auth.user.as_str(), auth.domain.as_str()), ("alice", "KEYLESS"));
    assert!(auth.mic.is_some(), "pyspnego sends a MIC, which we verified");
    assert_eq!(py.recv_line(), format!("SESSIONKEY {}", hex(key.expose_bytes())));
}

#[test]
fn fuzz_seeds_replay() {
    let dir = keyless_kat::testdata_dir().join("../fuzz/corpus/gss_ntlmssp");
    let mut n = 0;
    for entry in std::fs::read_dir(&dir).unwrap() {
        keyless_gss::fuzzing::ntlmssp(&std::fs::read(entry.unwrap().path()).unwrap());
        n += 1;
    }
    assert!(n >= 3);
}

#[test]
fn ms_nlmp_4_2_4_4_seal_through_the_context() {
    use keyless_crypto::ntlm::{NtlmKey, Side};
    let kat = keyless_kat::load("ms-nlmp/ntlmv2.kat");
    let r = kat.records.iter().find(|r| r.name == "ms_nlmp_4_2_4_ntlmv2").unwrap();
    let seal = kat.records.iter().find(|r| r.name == "ms_nlmp_4_2_4_4_gss_wrapex_seal").unwrap();
    let flags = u32::from_le_bytes(r.array("negotiate_flags_le"));
    let mut client = ntlmssp::Context::new(&NtlmKey::from_bytes(r.array("exported_session_key")), flags, Side::Client);
    let token = client.wrap(&seal.bytes("plaintext"));
    assert_eq!(token[..16], seal.bytes("signature")[..], "signature");
    assert_eq!(token[16..], seal.bytes("sealed_message")[..], "sealed message");
    let mut server = ntlmssp::Context::new(&NtlmKey::from_bytes(r.array("exported_session_key")), flags, Side::Server);
    assert_eq!(server.unwrap(&token).unwrap(), seal.bytes("plaintext"));
}

#[test]
fn spnego_ntlm_both_ways_with_pyspnego_negotiate() {
    use keyless_gss::spnego;
    // keyless SPNEGO/NTLM initiator -> pyspnego Negotiate acceptor.
    let dir = keyless_testbed::ScratchDir::new("pyspnego-nego");
    let users = dir.join("ntlm-users");
    std::fs::write(&users, "KEYLESS:alice:alice-Passw0rd\n").unwrap();
    let Some(mut py) =
        keyless_testbed::PySpnego::start("server", "negotiate", &[], &[("NTLM_USER_FILE", users.as_path())])
    else {
        return;
    };
    let (init, token) = spnego::NtlmInitiator::start("alice", "KEYLESS", b"alice-Passw0rd").unwrap();
    py.send(&token);
    let challenge = py.recv();
    let mut rng = Counter(21);
    let inputs =
        AuthInputs::random(keyless_wire_enum::filetime::from_system_time(SystemTime::now()), &mut rng).unwrap();
    let (pending, answer) = init.handle_challenge(&challenge, Some("cifs/files.example.test"), inputs).unwrap();
    py.send(&answer);
    let done = py.recv();
    let ctx = pending.finish(&done).unwrap();
    assert_eq!(py.recv_line(), format!("SESSIONKEY {}", hex(ctx.session_key().expose_bytes())));

    // pyspnego Negotiate initiator -> keyless SPNEGO/NTLM acceptor.
    let Some(mut py) =
        keyless_testbed::PySpnego::start("client", "negotiate", &["KEYLESS\\alice", "alice-Passw0rd"], &[])
    else {
        return;
    };
    let init = py.recv();
    let (acceptor, challenge) = spnego::NtlmAcceptor::start(&init, "KEYLESS", SystemTime::now(), &mut rng).unwrap();
    py.send(&challenge);
    let authenticate = py.recv();
    let (auth, ctx, answer) = acceptor
        .finish(&authenticate, |user, domain| {
            (user == "alice" && domain == "KEYLESS").then(|| b"alice-Passw0rd".to_vec())
        })
        .unwrap();
    assert_eq!(auth.user, "alice");
    py.send(&answer);
    let _ = py.recv_line(); // pyspnego's (empty) last token
    assert_eq!(py.recv_line(), format!("SESSIONKEY {}", hex(ctx.session_key().expose_bytes())));
}
