//! NTLMSSP (MS-NLMP 2.2, 3.1.5): NEGOTIATE, CHALLENGE and AUTHENTICATE messages, the NTLMv2
//! client with MIC and key exchange (3.1.5.1.2), and an acceptor that verifies NTLMv2 against a
//! password (3.2.5.1.2). No NTLMv1 or LM: they are broken, and keyless never sends them.
//! Decoding checks every offset and length against the message.

use crate::Error;
use keyless_crypto::ntlm::{self, NtlmKey};
use keyless_krb::RandomSource;
use subtle::ConstantTimeEq;

/// NegotiateFlags (MS-NLMP 2.2.2.5).
pub mod flags {
    /// Unicode strings.
    pub const UNICODE: u32 = 0x0000_0001;
    /// Ask for the target name.
    pub const REQUEST_TARGET: u32 = 0x0000_0004;
    /// Message integrity.
    pub const SIGN: u32 = 0x0000_0010;
    /// Message confidentiality.
    pub const SEAL: u32 = 0x0000_0020;
    /// NTLM authentication.
    pub const NTLM: u32 = 0x0000_0200;
    /// Always sign.
    pub const ALWAYS_SIGN: u32 = 0x0000_8000;
    /// Extended session security (NTLM2 session keys).
    pub const EXTENDED_SESSIONSECURITY: u32 = 0x0008_0000;
    /// TargetInfo present.
    pub const TARGET_INFO: u32 = 0x0080_0000;
    /// Version field present.
    pub const VERSION: u32 = 0x0200_0000;
    /// 128-bit keys.
    pub const KEY_128: u32 = 0x2000_0000;
    /// Key exchange.
    pub const KEY_EXCH: u32 = 0x4000_0000;
    /// 56-bit keys.
    pub const KEY_56: u32 = 0x8000_0000;
}

/// What keyless asks for: NTLMv2 with extended session security, 128-bit keys, key exchange,
/// signing and sealing.
pub const CLIENT_FLAGS: u32 = flags::UNICODE
    | flags::REQUEST_TARGET
    | flags::SIGN
    | flags::SEAL
    | flags::NTLM
    | flags::ALWAYS_SIGN
    | flags::EXTENDED_SESSIONSECURITY
    | flags::TARGET_INFO
    | flags::VERSION
    | flags::KEY_128
    | flags::KEY_EXCH
    | flags::KEY_56;

const SIGNATURE: &[u8; 8] = b"NTLMSSP\0";
/// A Version field (MS-NLMP 2.2.2.10): Windows 10.0, NTLMSSP revision 15.
const VERSION: [u8; 8] = [10, 0, 0x61, 0x4a, 0, 0, 0, 15];

keyless_wire_enum::wire_enum! {
    /// AV pair ids (MS-NLMP 2.2.2.1).
    pub struct AvId(u16) {
        /// End of list.
        EOL = 0 => "MsvAvEOL",
        /// NetBIOS computer name.
        NB_COMPUTER_NAME = 1 => "MsvAvNbComputerName",
        /// NetBIOS domain name.
        NB_DOMAIN_NAME = 2 => "MsvAvNbDomainName",
        /// DNS computer name.
        DNS_COMPUTER_NAME = 3 => "MsvAvDnsComputerName",
        /// DNS domain name.
        DNS_DOMAIN_NAME = 4 => "MsvAvDnsDomainName",
        /// Flags (0x2: the AUTHENTICATE message carries a MIC).
        FLAGS = 6 => "MsvAvFlags",
        /// The server's FILETIME.
        TIMESTAMP = 7 => "MsvAvTimestamp",
        /// The SPN the client meant.
        TARGET_NAME = 9 => "MsvAvTargetName",
        /// MD5 of the channel bindings.
        CHANNEL_BINDINGS = 10 => "MsvAvChannelBindings",
    }
}

fn malformed(what: &'static str, detail: impl Into<String>) -> Error {
    Error::Malformed { what, detail: detail.into() }
}

fn u16_at(b: &[u8], at: usize) -> u16 {
    u16::from_le_bytes([b[at], b[at + 1]])
}

fn u32_at(b: &[u8], at: usize) -> u32 {
    u32::from_le_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

/// The payload a (Len, MaxLen, Offset) field points to, checked against the message.
fn field<'a>(msg: &'a [u8], at: usize, what: &'static str) -> Result<&'a [u8], Error> {
    let len = usize::from(u16_at(msg, at));
    let offset = u32_at(msg, at + 4) as usize;
    offset
        .checked_add(len)
        .and_then(|end| msg.get(offset..end))
        .ok_or_else(|| malformed(what, "field points outside the message"))
}

fn check_header(msg: &[u8], msg_type: u32, min: usize, what: &'static str) -> Result<(), Error> {
    if msg.len() < min {
        return Err(malformed(what, format!("{} bytes, need at least {min}", msg.len())));
    }
    if &msg[..8] != SIGNATURE || u32_at(msg, 8) != msg_type {
        return Err(malformed(what, "not an NTLMSSP message of this type"));
    }
    Ok(())
}

fn utf16(text: &str) -> Vec<u8> {
    text.encode_utf16().flat_map(u16::to_le_bytes).collect()
}

fn from_utf16(b: &[u8]) -> String {
    let units: Vec<u16> = b.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])).collect();
    String::from_utf16_lossy(&units)
}

/// Lays out a message: fixed header with (Len, MaxLen, Offset) slots, then the payloads in
/// the order given.
fn assemble(mut header: Vec<u8>, slots: &[usize], payloads: &[&[u8]]) -> Vec<u8> {
    let mut offset = header.len();
    for (slot, payload) in slots.iter().zip(payloads) {
        let len = u16::try_from(payload.len()).unwrap_or(u16::MAX);
        header[*slot..*slot + 2].copy_from_slice(&len.to_le_bytes());
        header[*slot + 2..*slot + 4].copy_from_slice(&len.to_le_bytes());
        header[*slot + 4..*slot + 8].copy_from_slice(&u32::try_from(offset).unwrap_or(u32::MAX).to_le_bytes());
        offset += payload.len();
    }
    for p in payloads {
        header.extend_from_slice(p);
    }
    header
}

/// NEGOTIATE_MESSAGE (2.2.1.1) with no domain or workstation.
pub fn negotiate(negotiate_flags: u32) -> Vec<u8> {
    let mut m = SIGNATURE.to_vec();
    m.extend_from_slice(&1u32.to_le_bytes());
    m.extend_from_slice(&negotiate_flags.to_le_bytes());
    m.extend_from_slice(&[0; 16]); // DomainNameFields, WorkstationFields: empty
    m.extend_from_slice(&VERSION);
    m
}

/// A decoded CHALLENGE_MESSAGE (2.2.1.2).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Challenge {
    /// NegotiateFlags.
    pub flags: u32,
    /// The server challenge.
    pub server_challenge: [u8; 8],
    /// TargetName.
    pub target_name: String,
    /// TargetInfo (AV pairs, ending with MsvAvEOL).
    pub target_info: Vec<u8>,
}

impl Challenge {
    /// Decodes a CHALLENGE_MESSAGE.
    ///
    /// # Errors
    /// [`Error::Malformed`] naming what is wrong.
    pub fn parse(msg: &[u8]) -> Result<Self, Error> {
        check_header(msg, 2, 48, "NTLM CHALLENGE")?;
        let mut server_challenge = [0u8; 8];
        server_challenge.copy_from_slice(&msg[24..32]);
        let target_info = field(msg, 40, "NTLM CHALLENGE TargetInfo")?.to_vec();
        av_pairs(&target_info)?;
        Ok(Self {
            flags: u32_at(msg, 20),
            server_challenge,
            target_name: from_utf16(field(msg, 12, "NTLM CHALLENGE TargetName")?),
            target_info,
        })
    }

    /// Encodes it (an acceptor's answer to NEGOTIATE).
    pub fn encode(&self) -> Vec<u8> {
        let mut h = SIGNATURE.to_vec();
        h.extend_from_slice(&2u32.to_le_bytes());
        h.extend_from_slice(&[0; 8]); // TargetNameFields
        h.extend_from_slice(&self.flags.to_le_bytes());
        h.extend_from_slice(&self.server_challenge);
        h.extend_from_slice(&[0; 8]); // Reserved
        h.extend_from_slice(&[0; 8]); // TargetInfoFields
        h.extend_from_slice(&VERSION);
        assemble(h, &[12, 40], &[&utf16(&self.target_name), &self.target_info])
    }
}

/// AV pairs as (id, value), checked; the list must end with MsvAvEOL.
///
/// # Errors
/// [`Error::Malformed`] for a list that runs past its end or has no MsvAvEOL.
pub fn av_pairs(info: &[u8]) -> Result<Vec<(AvId, &[u8])>, Error> {
    let mut out = Vec::new();
    let mut rest = info;
    loop {
        if rest.len() < 4 {
            return Err(malformed("NTLM AV pairs", "no MsvAvEOL"));
        }
        let (id, len) = (AvId(u16_at(rest, 0)), usize::from(u16_at(rest, 2)));
        let value = rest.get(4..4 + len).ok_or_else(|| malformed("NTLM AV pairs", "an AV pair runs past the end"))?;
        if id == AvId::EOL {
            return Ok(out);
        }
        out.push((id, value));
        rest = &rest[4 + len..];
    }
}

fn put_av(out: &mut Vec<u8>, id: AvId, value: &[u8]) {
    out.extend_from_slice(&id.0.to_le_bytes());
    out.extend_from_slice(&u16::try_from(value.len()).unwrap_or(0).to_le_bytes());
    out.extend_from_slice(value);
}

/// The client's side of an NTLMv2 authentication.
#[derive(Debug)]
pub struct Client {
    user: String,
    domain: String,
    nt_hash: NtlmKey,
    negotiate: Vec<u8>,
}

/// What the client knows once AUTHENTICATE is built.
#[derive(Debug)]
pub struct ClientDone {
    /// The AUTHENTICATE_MESSAGE to send.
    pub authenticate: Vec<u8>,
    /// ExportedSessionKey: what SMB derives its keys from.
    pub session_key: NtlmKey,
    /// The negotiated flags.
    pub flags: u32,
}

/// Fixed inputs of AUTHENTICATE, normally random or from the clock; given in tests.
#[derive(Debug, Clone, Copy)]
pub struct AuthInputs {
    /// The client challenge.
    pub client_challenge: [u8; 8],
    /// The exported session key for key exchange.
    pub exported_session_key: [u8; 16],
    /// FILETIME to use when the server sends no MsvAvTimestamp.
    pub time: u64,
}

impl AuthInputs {
    /// Random challenge and key, the given time (100 ns ticks since 1601).
    ///
    /// # Errors
    /// No randomness.
    pub fn random(time: u64, rng: &mut dyn RandomSource) -> Result<Self, Error> {
        let mut client_challenge = [0u8; 8];
        let mut exported_session_key = [0u8; 16];
        rng.fill(&mut client_challenge)?;
        rng.fill(&mut exported_session_key)?;
        Ok(Self { client_challenge, exported_session_key, time })
    }
}

impl Client {
    /// Starts with a user, domain and password; returns the NEGOTIATE message to send.
    ///
    /// # Errors
    /// A password that is not UTF-8.
    pub fn start(user: &str, domain: &str, password: &[u8]) -> Result<(Self, Vec<u8>), Error> {
        let nt_hash = ntlm::nt_hash(password).map_err(Error::Crypto)?;
        let negotiate = negotiate(CLIENT_FLAGS);
        Ok((Self { user: user.into(), domain: domain.into(), nt_hash, negotiate: negotiate.clone() }, negotiate))
    }

    /// Answers the server's CHALLENGE with AUTHENTICATE (NTLMv2, MIC when the server sent a
    /// timestamp, key exchange when negotiated). `spn` goes into MsvAvTargetName.
    ///
    /// # Errors
    /// A malformed CHALLENGE, or a server that does not offer NTLMv2's extended security.
    pub fn authenticate(self, challenge: &[u8], spn: Option<&str>, inputs: AuthInputs) -> Result<ClientDone, Error> {
        let c = Challenge::parse(challenge)?;
        let flags = c.flags & CLIENT_FLAGS;
        if flags & flags::NTLM == 0 || flags & flags::EXTENDED_SESSIONSECURITY == 0 && c.target_info.is_empty() {
            return Err(Error::Refused("the server does not offer NTLMv2"));
        }
        let pairs = av_pairs(&c.target_info)?;
        let server_time =
            pairs.iter().find(|(id, _)| *id == AvId::TIMESTAMP).and_then(|(_, v)| <[u8; 8]>::try_from(*v).ok());
        let time = server_time.map(u64::from_le_bytes).unwrap_or(inputs.time);
        let with_mic = server_time.is_some();
        // The client's TargetInfo: the server's pairs, MsvAvFlags (MIC), channel bindings, SPN.
        let mut info = Vec::with_capacity(c.target_info.len() + 64);
        let mut av_flags = 0u32;
        for (id, value) in &pairs {
            if *id == AvId::FLAGS {
                av_flags = <[u8; 4]>::try_from(*value).map(u32::from_le_bytes).unwrap_or(0);
            } else {
                put_av(&mut info, *id, value);
            }
        }
        if with_mic {
            av_flags |= 0x2;
        }
        if av_flags != 0 {
            put_av(&mut info, AvId::FLAGS, &av_flags.to_le_bytes());
        }
        if with_mic {
            put_av(&mut info, AvId::CHANNEL_BINDINGS, &[0; 16]);
            if let Some(spn) = spn {
                put_av(&mut info, AvId::TARGET_NAME, &utf16(spn));
            }
        }
        put_av(&mut info, AvId::EOL, &[]);

        let key = ntlm::ntowf_v2(&self.nt_hash, &self.user, &self.domain);
        let temp = ntlm::ntlmv2_client_blob(time, &inputs.client_challenge, &info);
        let proof = ntlm::nt_proof_str(&key, &c.server_challenge, &temp);
        let nt_response = [&proof[..], &temp].concat();
        // With a server timestamp the LM response is zeros (3.1.5.1.2); otherwise LMv2.
        let lm_response = if with_mic {
            vec![0u8; 24]
        } else {
            ntlm::lmv2_response(&key, &c.server_challenge, &inputs.client_challenge).to_vec()
        };
        let base = ntlm::session_base_key(&key, &proof);
        let (session_key, encrypted_key) = if flags & flags::KEY_EXCH != 0 {
            let exported = NtlmKey::from_bytes(inputs.exported_session_key);
            let encrypted = ntlm::rc4k(&base, exported.expose_bytes());
            (exported, encrypted.to_vec())
        } else {
            (base, Vec::new())
        };
        let mut h = SIGNATURE.to_vec();
        h.extend_from_slice(&3u32.to_le_bytes());
        h.extend_from_slice(&[0; 48]); // six (Len, MaxLen, Offset) fields
        h.extend_from_slice(&flags.to_le_bytes());
        h.extend_from_slice(&VERSION);
        if with_mic {
            h.extend_from_slice(&[0; 16]); // MIC, filled below
        }
        // Payload order as Windows lays it out: domain, user, workstation, LM, NT, key.
        let mut msg = assemble(
            h,
            &[28, 36, 44, 12, 20, 52],
            &[&utf16(&self.domain), &utf16(&self.user), &[], &lm_response, &nt_response, &encrypted_key],
        );
        if with_mic {
            let mic = ntlm::message_integrity_code(&session_key, &self.negotiate, challenge, &msg);
            msg[72..88].copy_from_slice(&mic);
        }
        Ok(ClientDone { authenticate: msg, session_key, flags })
    }
}

/// A decoded AUTHENTICATE_MESSAGE (2.2.1.3).
#[derive(Debug, Clone)]
pub struct Authenticate {
    /// NegotiateFlags.
    pub flags: u32,
    /// LmChallengeResponse.
    pub lm_response: Vec<u8>,
    /// NtChallengeResponse.
    pub nt_response: Vec<u8>,
    /// Domain name.
    pub domain: String,
    /// User name.
    pub user: String,
    /// Workstation.
    pub workstation: String,
    /// EncryptedRandomSessionKey.
    pub encrypted_session_key: Vec<u8>,
    /// The MIC, when the message has room for one.
    pub mic: Option<[u8; 16]>,
}

impl Authenticate {
    /// Decodes an AUTHENTICATE_MESSAGE.
    ///
    /// # Errors
    /// [`Error::Malformed`] naming what is wrong.
    pub fn parse(msg: &[u8]) -> Result<Self, Error> {
        check_header(msg, 3, 64, "NTLM AUTHENTICATE")?;
        let flags = u32_at(msg, 60);
        // The MIC sits at 72 when every payload starts at or after 88.
        let first_payload = [12usize, 20, 28, 36, 44, 52]
            .iter()
            .filter(|&&at| u16_at(msg, at) > 0)
            .map(|&at| u32_at(msg, at + 4) as usize)
            .min()
            .unwrap_or(msg.len());
        let mic = (first_payload >= 88 && msg.len() >= 88).then(|| {
            let mut m = [0u8; 16];
            m.copy_from_slice(&msg[72..88]);
            m
        });
        Ok(Self {
            flags,
            lm_response: field(msg, 12, "NTLM AUTHENTICATE LmChallengeResponse")?.to_vec(),
            nt_response: field(msg, 20, "NTLM AUTHENTICATE NtChallengeResponse")?.to_vec(),
            domain: from_utf16(field(msg, 28, "NTLM AUTHENTICATE DomainName")?),
            user: from_utf16(field(msg, 36, "NTLM AUTHENTICATE UserName")?),
            workstation: from_utf16(field(msg, 44, "NTLM AUTHENTICATE Workstation")?),
            encrypted_session_key: field(msg, 52, "NTLM AUTHENTICATE EncryptedRandomSessionKey")?.to_vec(),
            mic,
        })
    }
}

/// The server side: a challenge sent, waiting for AUTHENTICATE.
#[derive(Debug)]
pub struct Server {
    negotiate: Vec<u8>,
    challenge: Vec<u8>,
    server_challenge: [u8; 8],
}

impl Server {
    /// Answers a NEGOTIATE with a CHALLENGE (with a timestamp, so clients send a MIC).
    ///
    /// # Errors
    /// A malformed NEGOTIATE.
    pub fn challenge(
        negotiate: &[u8],
        target: &str,
        now: std::time::SystemTime,
        rng: &mut dyn RandomSource,
    ) -> Result<(Self, Vec<u8>), Error> {
        check_header(negotiate, 1, 16, "NTLM NEGOTIATE")?;
        let client_flags = u32_at(negotiate, 12);
        let mut server_challenge = [0u8; 8];
        rng.fill(&mut server_challenge)?;
        let mut info = Vec::new();
        put_av(&mut info, AvId::NB_DOMAIN_NAME, &utf16(target));
        put_av(&mut info, AvId::NB_COMPUTER_NAME, &utf16(target));
        put_av(&mut info, AvId::TIMESTAMP, &keyless_wire_enum::filetime::from_system_time(now).to_le_bytes());
        put_av(&mut info, AvId::EOL, &[]);
        let c = Challenge {
            flags: (client_flags & CLIENT_FLAGS) | flags::TARGET_INFO | flags::NTLM,
            server_challenge,
            target_name: target.into(),
            target_info: info,
        };
        let challenge = c.encode();
        Ok((Self { negotiate: negotiate.to_vec(), challenge: challenge.clone(), server_challenge }, challenge))
    }

    /// The server's state from a NEGOTIATE and the CHALLENGE that answered it, as a capture
    /// recorded them (to verify the AUTHENTICATE that follows, and recover its session key).
    ///
    /// # Errors
    /// [`Error::Malformed`] for a NEGOTIATE or CHALLENGE that does not decode.
    pub fn resume(negotiate: &[u8], challenge: &[u8]) -> Result<Self, Error> {
        check_header(negotiate, 1, 16, "NTLM NEGOTIATE")?;
        let server_challenge = Challenge::parse(challenge)?.server_challenge;
        Ok(Self { negotiate: negotiate.to_vec(), challenge: challenge.to_vec(), server_challenge })
    }

    /// Verifies AUTHENTICATE against `password` (looked up by the caller for the user and
    /// domain in the message): the NTProofStr and, when present, the MIC. Returns the message
    /// and the ExportedSessionKey.
    ///
    /// # Errors
    /// [`Error::NtlmProof`] for a wrong password or MIC, [`Error::Malformed`] for junk, and
    /// [`Error::Refused`] for anything but NTLMv2.
    pub fn verify(self, authenticate: &[u8], password: &[u8]) -> Result<(Authenticate, NtlmKey), Error> {
        self.verify_with_nt_hash(authenticate, &ntlm::nt_hash(password).map_err(Error::Crypto)?)
    }

    /// [`Self::verify`] with the password's NT hash (MD4 of its UTF-16LE), which is all the
    /// check needs: what a domain's account database, secretsdump or mimikatz give.
    ///
    /// # Errors
    /// As [`Self::verify`].
    pub fn verify_with_nt_hash(self, authenticate: &[u8], nt_hash: &NtlmKey) -> Result<(Authenticate, NtlmKey), Error> {
        let auth = Authenticate::parse(authenticate)?;
        if auth.nt_response.len() < 16 + 28 {
            return Err(Error::Refused("not an NTLMv2 response (NTLMv1 is refused)"));
        }
        let key = ntlm::ntowf_v2(nt_hash, &auth.user, &auth.domain);
        let (proof, temp) = auth.nt_response.split_at(16);
        let expected = ntlm::nt_proof_str(&key, &self.server_challenge, temp);
        if !bool::from(expected.ct_eq(proof)) {
            return Err(Error::NtlmProof { user: auth.user.clone() });
        }
        let base = ntlm::session_base_key(&key, &expected);
        let session_key = if auth.flags & flags::KEY_EXCH != 0 {
            let enc: [u8; 16] = auth
                .encrypted_session_key
                .as_slice()
                .try_into()
                .map_err(|_| malformed("NTLM AUTHENTICATE", "EncryptedRandomSessionKey is not 16 bytes"))?;
            NtlmKey::from_bytes(ntlm::rc4k(&base, &enc))
        } else {
            base
        };
        let mic_promised = av_pairs(&temp[28..])
            .ok()
            .and_then(|p| p.iter().find(|(id, _)| *id == AvId::FLAGS).and_then(|(_, v)| <[u8; 4]>::try_from(*v).ok()))
            .is_some_and(|f| u32::from_le_bytes(f) & 0x2 != 0);
        if mic_promised {
            let mic = auth.mic.ok_or(Error::Refused("MsvAvFlags promises a MIC the message has no room for"))?;
            let mut zeroed = authenticate.to_vec();
            zeroed[72..88].fill(0);
            let expected = ntlm::message_integrity_code(&session_key, &self.negotiate, &self.challenge, &zeroed);
            if !bool::from(expected.ct_eq(&mic)) {
                return Err(Error::NtlmProof { user: auth.user.clone() });
            }
        }
        Ok((auth, session_key))
    }
}

/// An established NTLM context (MS-NLMP 3.4 with extended session security): signatures and
/// sealing, one RC4 stream and sequence number per direction. A signature is
/// `Version(1) | Checksum(8) | SeqNum(4)`, the checksum being HMAC-MD5 of `SeqNum | message`
/// under the direction's signing key, RC4-sealed when key exchange was negotiated. Wrap tokens
/// are `signature | sealed message`, as SSPI and pyspnego lay them out.
#[derive(Debug)]
pub struct Context {
    send_sign: NtlmKey,
    send_seal: ntlm::SealingHandle,
    send_seq: u32,
    recv_sign: NtlmKey,
    recv_seal: ntlm::SealingHandle,
    recv_seq: u32,
    key_exch: bool,
    session_key: NtlmKey,
}

impl Context {
    /// The context of one side, from the ExportedSessionKey and the negotiated flags.
    pub fn new(session_key: &NtlmKey, negotiated: u32, side: ntlm::Side) -> Self {
        let other = match side {
            ntlm::Side::Client => ntlm::Side::Server,
            ntlm::Side::Server => ntlm::Side::Client,
        };
        Self {
            send_sign: ntlm::sign_key(session_key, side),
            send_seal: ntlm::SealingHandle::new(&ntlm::seal_key(session_key, side)),
            send_seq: 0,
            recv_sign: ntlm::sign_key(session_key, other),
            recv_seal: ntlm::SealingHandle::new(&ntlm::seal_key(session_key, other)),
            recv_seq: 0,
            key_exch: negotiated & flags::KEY_EXCH != 0,
            session_key: session_key.clone(),
        }
    }

    /// The ExportedSessionKey (what SMB derives its keys from).
    pub fn session_key(&self) -> &NtlmKey {
        &self.session_key
    }

    fn signature(&mut self, message: &[u8]) -> [u8; 16] {
        let seq = self.send_seq;
        self.send_seq = self.send_seq.wrapping_add(1);
        let mut checksum = *ntlm::signature_checksum(&self.send_sign, seq, message);
        if self.key_exch {
            self.send_seal.apply(&mut checksum);
        }
        let mut sig = [0u8; 16];
        sig[..4].copy_from_slice(&1u32.to_le_bytes());
        sig[4..12].copy_from_slice(&checksum);
        sig[12..].copy_from_slice(&seq.to_le_bytes());
        sig
    }

    fn check(&mut self, message: &[u8], sig: &[u8]) -> Result<(), Error> {
        let sig: &[u8; 16] = sig.try_into().map_err(|_| malformed("NTLM signature", "not 16 bytes"))?;
        let mut checksum = [0u8; 8];
        checksum.copy_from_slice(&sig[4..12]);
        if self.key_exch {
            self.recv_seal.apply(&mut checksum);
        }
        let seq = self.recv_seq;
        self.recv_seq = self.recv_seq.wrapping_add(1);
        let expected = ntlm::signature_checksum(&self.recv_sign, seq, message);
        let seq_ok = sig[12..] == seq.to_le_bytes() && sig[..4] == 1u32.to_le_bytes();
        if seq_ok && bool::from(expected.ct_eq(&checksum)) {
            Ok(())
        } else {
            Err(Error::Integrity { what: "an NTLM signature" })
        }
    }

    /// A signature over `message` (GSS_GetMIC).
    pub fn get_mic(&mut self, message: &[u8]) -> [u8; 16] {
        self.signature(message)
    }

    /// Verifies a signature (GSS_VerifyMIC). The context is unusable after a failure: the RC4
    /// stream has moved on.
    ///
    /// # Errors
    /// [`Error::Integrity`] or a malformed signature.
    pub fn verify_mic(&mut self, message: &[u8], sig: &[u8]) -> Result<(), Error> {
        self.check(message, sig)
    }

    /// Seals `message`: `signature | RC4(message)` (the message is sealed first, then the
    /// checksum, on the same stream, MS-NLMP 3.4.3).
    pub fn wrap(&mut self, message: &[u8]) -> Vec<u8> {
        let mut sealed = message.to_vec();
        self.send_seal.apply(&mut sealed);
        let sig = self.signature(message);
        [&sig[..], &sealed].concat()
    }

    /// Opens a sealed token.
    ///
    /// # Errors
    /// A token shorter than a signature, or one that does not verify.
    pub fn unwrap(&mut self, token: &[u8]) -> Result<Vec<u8>, Error> {
        let (sig, sealed) =
            token.split_at_checked(16).ok_or_else(|| malformed("NTLM wrap token", "shorter than its signature"))?;
        let mut message = sealed.to_vec();
        self.recv_seal.apply(&mut message);
        self.check(&message, sig)?;
        Ok(message)
    }
}
