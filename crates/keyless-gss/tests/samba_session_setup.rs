//! NTLMSSP and Kerberos through SPNEGO in real SMB2 SESSION_SETUPs with Samba smbd. The test
//! speaks just enough SMB 2.1 to carry the tokens (NEGOTIATE, then SESSION_SETUP over direct
//! TCP); the full codec is keyless-smb's. Samba's NEGOTIATE hint (NegTokenInit2) is parsed, its
//! mechListMIC verified, and its signature on the final SESSION_SETUP response checked with
//! the session key keyless derived: proof both sides hold the same key.
#![allow(clippy::disallowed_methods)] // tests drive real peers on the real clock
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "tests fail loudly")]

use keyless_crypto::{Signer, SigningAlgorithm, SigningKey};
use keyless_gss::{ntlmssp, spnego};
use keyless_krb::RandomSource;
use keyless_testbed::{MitKdc, ScratchDir, SmbMode, Smbd};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::SystemTime;

const NEGOTIATE: u16 = 0;
const SESSION_SETUP: u16 = 1;
const STATUS_SUCCESS: u32 = 0;
const STATUS_MORE_PROCESSING_REQUIRED: u32 = 0xC000_0016;
const STATUS_LOGON_FAILURE: u32 = 0xC000_006D;

struct Smb {
    s: TcpStream,
    message_id: u64,
    session_id: u64,
}

impl Smb {
    fn connect(port: u16) -> Self {
        Self { s: TcpStream::connect(("127.0.0.1", port)).unwrap(), message_id: 0, session_id: 0 }
    }

    /// Sends one SMB2 request, returns (status, whole response message).
    fn call(&mut self, command: u16, body: &[u8]) -> (u32, Vec<u8>) {
        let mut msg = vec![0u8; 64];
        msg[..4].copy_from_slice(b"\xfeSMB");
        msg[4..6].copy_from_slice(&64u16.to_le_bytes());
        msg[6..8].copy_from_slice(&1u16.to_le_bytes()); // CreditCharge
        msg[12..14].copy_from_slice(&command.to_le_bytes());
        msg[14..16].copy_from_slice(&8u16.to_le_bytes()); // CreditRequest
        msg[24..32].copy_from_slice(&self.message_id.to_le_bytes());
        msg[40..48].copy_from_slice(&self.session_id.to_le_bytes());
        msg.extend_from_slice(body);
        self.message_id += 1;
        let mut frame = u32::try_from(msg.len()).unwrap().to_be_bytes().to_vec();
        frame.extend_from_slice(&msg);
        self.s.write_all(&frame).unwrap();
        let mut len = [0u8; 4];
        self.s.read_exact(&mut len).unwrap();
        let mut resp = vec![0u8; u32::from_be_bytes(len) as usize];
        self.s.read_exact(&mut resp).unwrap();
        let status = u32::from_le_bytes(resp[8..12].try_into().unwrap());
        self.session_id = u64::from_le_bytes(resp[40..48].try_into().unwrap());
        (status, resp)
    }

    /// NEGOTIATE for SMB 2.1; returns the server's security buffer (the SPNEGO hint).
    fn negotiate(&mut self) -> Vec<u8> {
        let mut body = Vec::new();
        body.extend_from_slice(&36u16.to_le_bytes()); // StructureSize
        body.extend_from_slice(&1u16.to_le_bytes()); // DialectCount
        body.extend_from_slice(&1u16.to_le_bytes()); // SecurityMode: signing enabled
        body.extend_from_slice(&[0; 2 + 4]); // Reserved, Capabilities
        body.extend_from_slice(b"keyless-gss-test"); // ClientGuid
        body.extend_from_slice(&[0; 8]); // ClientStartTime
        body.extend_from_slice(&0x0210u16.to_le_bytes()); // SMB 2.1
        let (status, resp) = self.call(NEGOTIATE, &body);
        assert_eq!(status, STATUS_SUCCESS);
        let off = usize::from(u16::from_le_bytes([resp[64 + 56], resp[64 + 57]]));
        let len = usize::from(u16::from_le_bytes([resp[64 + 58], resp[64 + 59]]));
        resp[off..off + len].to_vec()
    }

    /// SESSION_SETUP with a security blob; returns (status, its security buffer, whole message).
    fn session_setup(&mut self, token: &[u8]) -> (u32, Vec<u8>, Vec<u8>) {
        let mut body = Vec::new();
        body.extend_from_slice(&25u16.to_le_bytes());
        body.extend_from_slice(&[0, 1]); // Flags, SecurityMode: signing enabled
        body.extend_from_slice(&[0; 8]); // Capabilities, Channel
        body.extend_from_slice(&88u16.to_le_bytes());
        body.extend_from_slice(&u16::try_from(token.len()).unwrap().to_le_bytes());
        body.extend_from_slice(&[0; 8]); // PreviousSessionId
        body.extend_from_slice(token);
        let (status, resp) = self.call(SESSION_SETUP, &body);
        let off = usize::from(u16::from_le_bytes([resp[64 + 4], resp[64 + 5]]));
        let len = usize::from(u16::from_le_bytes([resp[64 + 6], resp[64 + 7]]));
        let buf = if len > 0 { resp[off..off + len].to_vec() } else { Vec::new() };
        (status, buf, resp)
    }
}

struct Counter(u8);
impl RandomSource for Counter {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), keyless_krb::Error> {
        for b in buf {
            self.0 = self.0.wrapping_mul(29).wrapping_add(101);
            *b = self.0;
        }
        Ok(())
    }
}

/// Samba signs the final SESSION_SETUP response with the session key (SMB 2.1: HMAC-SHA256).
fn assert_signed_with(resp: &[u8], session_key: &[u8]) {
    let flags = u32::from_le_bytes(resp[16..20].try_into().unwrap());
    assert!(flags & 0x8 != 0, "the final SESSION_SETUP response is signed");
    Signer::new(SigningAlgorithm::HmacSha256, &SigningKey::smb2(session_key))
        .verify(resp)
        .expect("Samba signed with the key keyless derived");
}

fn ntlm_session(smbd: &Smbd, password: &[u8]) -> (u32, Option<Vec<u8>>, Vec<u8>) {
    let mut smb = Smb::connect(smbd.port);
    let hint = spnego::parse_init(&smb.negotiate()).expect("Samba's NegTokenInit2 hint parses");
    assert!(hint.mech_types.iter().any(|m| **m == *spnego::oid::NTLMSSP), "{:?}", hint.mech_types);
    let (init, token) = spnego::NtlmInitiator::start(&smbd.user, "", password).unwrap();
    let (status, challenge, _) = smb.session_setup(&token);
    assert_eq!(status, STATUS_MORE_PROCESSING_REQUIRED);
    let mut rng = Counter(5);
    let inputs =
        ntlmssp::AuthInputs::random(keyless_wire_enum::filetime::from_system_time(SystemTime::now()), &mut rng)
            .unwrap();
    let (pending, answer) = init.handle_challenge(&challenge, Some("cifs/127.0.0.1"), inputs).unwrap();
    let (status, done, resp) = smb.session_setup(&answer);
    if status != STATUS_SUCCESS {
        return (status, None, resp);
    }
    let ctx = pending.finish(&done).expect("Samba's mechListMIC verifies");
    (status, Some(ctx.session_key().expose_bytes().to_vec()), resp)
}

#[test]
fn ntlm_session_setup_with_samba() {
    let scratch = ScratchDir::new("smb-ntlm");
    let Some(smbd) = Smbd::start(&scratch, SmbMode::Signing, None) else { return };
    let (status, key, resp) = ntlm_session(&smbd, smbd.password.as_bytes());
    assert_eq!(status, STATUS_SUCCESS, "{}", smbd.log());
    assert_signed_with(&resp, &key.unwrap());
    let (status, _, _) = ntlm_session(&smbd, b"wrong-password");
    assert_eq!(status, STATUS_LOGON_FAILURE);
}

#[test]
fn kerberos_session_setup_with_samba() {
    let Some(kdc) = MitKdc::start() else { return };
    let Some(smbd) = Smbd::start(&kdc.dir, SmbMode::Signing, Some(&kdc)) else { return };
    let mut dir = keyless_net::transport::KdcDirectory::new();
    dir.add("EXAMPLE.TEST", keyless_net::transport::KdcAddr::parse(&kdc.kdc_addr()).unwrap());
    let creds = keyless_net::Credentials::Password {
        client: keyless_krb::Principal::parse(&kdc.user, None).unwrap(),
        password: zeroize::Zeroizing::new(kdc.password.clone()),
    };
    let spn = keyless_krb::Principal::parse(&kdc.service, None).unwrap();
    let ticket = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(creds.service_ticket(&spn, &dir))
        .unwrap();

    let mut smb = Smb::connect(smbd.port);
    let hint = spnego::parse_init(&smb.negotiate()).unwrap();
    assert!(
        hint.mech_types.iter().any(|m| **m == *spnego::oid::KRB5 || **m == *spnego::oid::MS_KRB5),
        "{:?}",
        hint.mech_types
    );
    let mut rng = keyless_net::OsRandom;
    let gss_flags = keyless_gss::krb5::flags::MUTUAL | keyless_gss::krb5::flags::INTEG;
    let (init, token) = spnego::Krb5Initiator::start(&ticket, gss_flags, SystemTime::now(), &mut rng).unwrap();
    let (mut status, answer, mut resp) = smb.session_setup(&token);
    let (ctx, more) = init.handle_reply(&answer).unwrap_or_else(|e| panic!("{e} (status {status:#x})\n{}", smbd.log()));
    if let Some(mic) = more {
        (status, _, resp) = smb.session_setup(&mic);
    }
    assert_eq!(status, STATUS_SUCCESS, "{}", smbd.log());
    assert_signed_with(&resp, ctx.session_key().expose_bytes());
}
