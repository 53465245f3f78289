//! The Kerberos V5 GSS-API mechanism (RFC 4121, token framing of RFC 1964), sans-IO.
//!
//! Initiator: [`Initiator::start`] turns a service ticket into the AP-REQ token (authenticator
//! with the 0x8003 GSS checksum, a fresh subkey and a sequence number);
//! [`Initiator::handle_reply`] verifies the AP-REP and adopts the acceptor's subkey.
//! Acceptor: [`accept`] takes an AP-REQ token with the service's keytab and returns the AP-REP
//! token. Either side ends with a [`Context`] for MIC and Wrap tokens (RFC 4121 4.2) and the
//! session key (MS-KILE 3.1.1.2: the acceptor's subkey when there is one).
//! RC4 session keys would need RFC 4757's token format for MIC/Wrap, which is left out.

use crate::Error;
use crate::framing::{self, KRB5_OID, MS_KRB5_OID};
use keyless_crypto::{EncType, Enctype, Key, KeyUsage, for_etype};
use keyless_krb::keytab::Keytab;
use keyless_krb::messages::{self, MsgType, PVNO};
use keyless_krb::principal::{Principal, realm_asn1};
use keyless_krb::time::{kerberos_time, micros, seconds_of, unix_seconds};
use keyless_krb::{Credential, RandomSource};
use rasn::types::{Integer, OctetString};
use rasn_kerberos::{
    ApOptions, ApRep, ApReq, Authenticator, Checksum, EncApRepPart, EncTicketPart, EncryptedData, EncryptionKey, Ticket,
};
use std::time::SystemTime;
use subtle::ConstantTimeEq;

/// GSS context flags (RFC 2744), as carried in the 0x8003 checksum (RFC 4121 4.1.1.1).
pub mod flags {
    /// Delegate credentials.
    pub const DELEG: u32 = 1;
    /// Mutual authentication (the acceptor answers with an AP-REP).
    pub const MUTUAL: u32 = 2;
    /// Replay detection.
    pub const REPLAY: u32 = 4;
    /// Sequencing.
    pub const SEQUENCE: u32 = 8;
    /// Confidentiality (Wrap with encryption).
    pub const CONF: u32 = 16;
    /// Integrity (MIC).
    pub const INTEG: u32 = 32;
}

/// The GSS checksum type of the authenticator (RFC 4121 4.1.1).
pub const GSS_CHECKSUM: i32 = 0x8003;
/// Inner token ids (RFC 1964 1.1).
const TOK_AP_REQ: [u8; 2] = [0x01, 0x00];
const TOK_AP_REP: [u8; 2] = [0x02, 0x00];
const TOK_KRB_ERROR: [u8; 2] = [0x03, 0x00];
/// Largest clock difference accepted by an acceptor.
const MAX_SKEW: i64 = 300;

fn malformed(what: &'static str, detail: impl Into<String>) -> Error {
    Error::Malformed { what, detail: detail.into() }
}

fn enctype_of(key: &Key) -> Result<&'static dyn Enctype, Error> {
    for_etype(key.etype()).map_err(Error::Crypto)
}

fn random_key(etype: EncType, rng: &mut dyn RandomSource) -> Result<Key, Error> {
    let e = for_etype(etype).map_err(Error::Crypto)?;
    let mut bytes = keyless_crypto::Zeroizing::new(vec![0u8; e.key_len()]);
    rng.fill(&mut bytes)?;
    e.random_to_key(&bytes).map_err(Error::Crypto)
}

fn encrypt(key: &Key, usage: KeyUsage, plain: &[u8], rng: &mut dyn RandomSource) -> Result<Vec<u8>, Error> {
    let e = enctype_of(key)?;
    let mut confounder = [0u8; 16];
    rng.fill(&mut confounder[..e.confounder_len()])?;
    e.encrypt(key, usage, &confounder[..e.confounder_len()], plain).map_err(Error::Crypto)
}

fn seq_number(rng: &mut dyn RandomSource) -> Result<u32, Error> {
    let mut b = [0u8; 4];
    rng.fill(&mut b)?;
    // MIT keeps initial sequence numbers below 2^30 so 32-bit peers never wrap early.
    Ok(u32::from_be_bytes(b) & 0x3fff_ffff)
}

/// The 0x8003 checksum value: Lgth=16, Bnd (channel-binding hash or zeros), Flags (RFC 4121 4.1.1).
fn gss_checksum(bindings: &[u8; 16], gss_flags: u32) -> Vec<u8> {
    let mut v = Vec::with_capacity(24);
    v.extend_from_slice(&16u32.to_le_bytes());
    v.extend_from_slice(bindings);
    v.extend_from_slice(&gss_flags.to_le_bytes());
    v
}

/// An initiator waiting for the AP-REP.
#[derive(Debug)]
pub struct Initiator {
    session_key: Key,
    subkey: Key,
    ctime: i64,
    cusec: u32,
    seq: u32,
    gss_flags: u32,
}

impl Initiator {
    /// Builds the AP-REQ token for a service ticket. `bindings` is the 16-byte channel-binding
    /// hash (zeros for none, as SMB uses).
    ///
    /// # Errors
    /// A credential whose ticket or names cannot be encoded, no randomness.
    pub fn start(
        ticket: &Credential,
        gss_flags: u32,
        bindings: &[u8; 16],
        now: SystemTime,
        rng: &mut dyn RandomSource,
    ) -> Result<(Self, Vec<u8>), Error> {
        let session_key = ticket.session_key.clone();
        let subkey = random_key(session_key.etype(), rng)?;
        let seq = seq_number(rng)?;
        let (ctime, cusec) = (unix_seconds(now), micros(now));
        let authenticator = Authenticator {
            authenticator_vno: Integer::from(PVNO),
            crealm: realm_asn1(&ticket.client.realm)?,
            cname: ticket.client.to_asn1()?,
            cksum: Some(Checksum {
                r#type: GSS_CHECKSUM,
                checksum: OctetString::from(gss_checksum(bindings, gss_flags)),
            }),
            cusec: Integer::from(cusec),
            ctime: kerberos_time(ctime),
            subkey: Some(EncryptionKey {
                r#type: subkey.etype().0,
                value: OctetString::from(subkey.expose_bytes().to_vec()),
            }),
            seq_number: Some(seq),
            authorization_data: None,
        };
        let plain = keyless_crypto::Zeroizing::new(messages::encode("Authenticator", &authenticator)?);
        let cipher = encrypt(&session_key, KeyUsage::AP_REQ_AUTHENTICATOR, &plain, rng)?;
        let ap_options = if gss_flags & flags::MUTUAL != 0 { 0x2000_0000 } else { 0 };
        let ap_req = ApReq {
            pvno: Integer::from(PVNO),
            msg_type: Integer::from(MsgType::AP_REQ.0),
            ap_options: ApOptions(messages::flags(ap_options)),
            ticket: messages::decode::<Ticket>("Ticket", &ticket.ticket)?,
            authenticator: EncryptedData {
                etype: session_key.etype().0,
                kvno: None,
                cipher: OctetString::from(cipher),
            },
        };
        let mut inner = TOK_AP_REQ.to_vec();
        inner.extend_from_slice(&messages::encode("AP-REQ", &ap_req)?);
        let me = Self { session_key, subkey, ctime, cusec, seq, gss_flags };
        Ok((me, framing::wrap(KRB5_OID, &inner)))
    }

    /// The established context without waiting for an AP-REP (mutual authentication not asked).
    pub fn without_reply(self) -> Context {
        Context::new(Role::Initiator, self.subkey, false, self.seq, self.seq, self.gss_flags)
    }

    /// Verifies the acceptor's AP-REP token and returns the established context.
    ///
    /// # Errors
    /// A KRB-ERROR from the acceptor ([`Error::RejectedByService`] with its code), or an AP-REP that does not
    /// decode, decrypt, or answer our authenticator.
    pub fn handle_reply(self, token: &[u8]) -> Result<Context, Error> {
        let (_, inner) = framing::unwrap(token)?;
        let (tok_id, body) =
            inner.split_first_chunk::<2>().ok_or_else(|| malformed("Kerberos GSS token", "no token id"))?;
        match *tok_id {
            TOK_AP_REP => {}
            TOK_KRB_ERROR => {
                let err: rasn_kerberos::KrbError = messages::decode("KRB-ERROR in a GSS token", body)?;
                return Err(Error::RejectedByService { code: messages::error_code(&err) });
            }
            other => return Err(malformed("Kerberos GSS token", format!("token id {other:02x?}, expected an AP-REP"))),
        }
        let rep: ApRep = messages::decode("AP-REP", body)?;
        let plain = enctype_of(&self.session_key)?
            .decrypt(&self.session_key, KeyUsage::AP_REP_ENC_PART, rep.enc_part.cipher.as_ref())
            .map_err(|source| Error::Decrypt { what: "the AP-REP", source })?;
        let part: EncApRepPart = messages::decode("EncAPRepPart", &plain)?;
        if seconds_of(&part.ctime) != self.ctime || part.cusec != Integer::from(self.cusec) {
            return Err(Error::Refused("the AP-REP does not echo our authenticator's time"));
        }
        let (key, acceptor_subkey) = match &part.subkey {
            Some(k) => (Key::from_bytes(EncType(k.r#type), k.value.as_ref()).map_err(Error::Crypto)?, true),
            None => (self.subkey, false),
        };
        let recv_seq = part.seq_number.unwrap_or(self.seq);
        Ok(Context::new(Role::Initiator, key, acceptor_subkey, self.seq, recv_seq, self.gss_flags))
    }
}

/// The Kerberos message in a krb5 mechanism token, seen from outside any context (as
/// `keyless inspect` sees SESSION_SETUP blobs): the AP-REQ, AP-REP or KRB-ERROR after the
/// GSS framing and the two-byte token id (RFC 4121 4.1).
///
/// # Errors
/// [`Error::Malformed`] for a token that is not a framed krb5 context token.
pub fn token_message(token: &[u8]) -> Result<&[u8], Error> {
    let (oid, inner) = framing::unwrap(token)?;
    if oid != KRB5_OID && oid != MS_KRB5_OID {
        return Err(malformed("GSS-API token", "not a Kerberos mechanism token"));
    }
    match inner.split_first_chunk::<2>() {
        Some((id, body)) if [TOK_AP_REQ, TOK_AP_REP, TOK_KRB_ERROR].contains(id) => Ok(body),
        _ => Err(malformed("Kerberos GSS token", "no AP-REQ, AP-REP or KRB-ERROR token id")),
    }
}

/// What an acceptor learned from an AP-REQ.
#[derive(Debug)]
pub struct Accepted {
    /// The established context.
    pub context: Context,
    /// The client principal.
    pub client: Principal,
    /// The AP-REP token to send back (when the initiator asked for mutual authentication).
    pub reply: Option<Vec<u8>>,
}

/// Accepts an AP-REQ token with the service's keytab.
///
/// # Errors
/// A token that is not an AP-REQ, a ticket for a key the keytab lacks, a ticket or
/// authenticator that does not decrypt, names that do not match, or a clock skew too great.
pub fn accept(keytab: &Keytab, token: &[u8], now: SystemTime, rng: &mut dyn RandomSource) -> Result<Accepted, Error> {
    let (oid, inner) = framing::unwrap(token)?;
    if oid != KRB5_OID && oid != MS_KRB5_OID {
        return Err(malformed("GSS-API token", "not a Kerberos mechanism token"));
    }
    let body = inner.strip_prefix(&TOK_AP_REQ[..]).ok_or_else(|| malformed("Kerberos GSS token", "not an AP-REQ"))?;
    let ap_req: ApReq = messages::decode("AP-REQ", body)?;
    let service = Principal::from_asn1(&ap_req.ticket.realm, &ap_req.ticket.sname);
    let etype = EncType(ap_req.ticket.enc_part.etype);
    let service_key = keytab
        .keys_for(&service)
        .into_iter()
        .find(|k| k.etype() == etype)
        .ok_or_else(|| Error::Kerberos(keyless_krb::Error::NoKeyInKeytab(service.clone())))?;
    let ticket_plain = enctype_of(&service_key)?
        .decrypt(&service_key, KeyUsage::TICKET, ap_req.ticket.enc_part.cipher.as_ref())
        .map_err(|source| Error::Decrypt { what: "the ticket (keytab out of date?)", source })?;
    let ticket: EncTicketPart = messages::decode("EncTicketPart", &ticket_plain)?;
    let now_s = unix_seconds(now);
    if seconds_of(&ticket.end_time) + MAX_SKEW < now_s {
        return Err(Error::TicketExpired { service, ago: now_s - seconds_of(&ticket.end_time) });
    }
    let session_key = Key::from_bytes(EncType(ticket.key.r#type), ticket.key.value.as_ref()).map_err(Error::Crypto)?;
    let auth_plain = enctype_of(&session_key)?
        .decrypt(&session_key, KeyUsage::AP_REQ_AUTHENTICATOR, ap_req.authenticator.cipher.as_ref())
        .map_err(|source| Error::Decrypt { what: "the authenticator", source })?;
    let auth: Authenticator = messages::decode("Authenticator", &auth_plain)?;
    let client = Principal::from_asn1(&ticket.crealm, &ticket.cname);
    if !Principal::from_asn1(&auth.crealm, &auth.cname).same_name(&client) {
        return Err(Error::Refused("the authenticator names another client than the ticket"));
    }
    if (seconds_of(&auth.ctime) - now_s).abs() > MAX_SKEW {
        return Err(Error::ClockSkew { client_ahead_by: seconds_of(&auth.ctime) - now_s });
    }
    let gss_flags = match &auth.cksum {
        Some(c) if c.r#type == GSS_CHECKSUM && c.checksum.len() >= 24 => {
            let v = c.checksum.as_ref();
            u32::from_le_bytes([v[20], v[21], v[22], v[23]])
        }
        _ => return Err(malformed("Authenticator", "no GSS (0x8003) checksum")),
    };
    let initiator_key = match &auth.subkey {
        Some(k) => Key::from_bytes(EncType(k.r#type), k.value.as_ref()).map_err(Error::Crypto)?,
        None => session_key.clone(),
    };
    let peer_seq = auth.seq_number.unwrap_or(0);
    let mutual = gss_flags & flags::MUTUAL != 0 || messages::flags_mask(&ap_req.ap_options.0) & 0x2000_0000 != 0;
    if !mutual {
        let context = Context::new(Role::Acceptor, initiator_key, false, peer_seq, peer_seq, gss_flags);
        return Ok(Accepted { context, client, reply: None });
    }
    let acceptor_key = random_key(initiator_key.etype(), rng)?;
    let seq = seq_number(rng)?;
    let part = EncApRepPart {
        ctime: auth.ctime.clone(),
        cusec: auth.cusec.clone(),
        subkey: Some(EncryptionKey {
            r#type: acceptor_key.etype().0,
            value: OctetString::from(acceptor_key.expose_bytes().to_vec()),
        }),
        seq_number: Some(seq),
    };
    let plain = keyless_crypto::Zeroizing::new(messages::encode("EncAPRepPart", &part)?);
    let cipher = encrypt(&session_key, KeyUsage::AP_REP_ENC_PART, &plain, rng)?;
    let rep = ApRep {
        pvno: Integer::from(PVNO),
        msg_type: Integer::from(MsgType::AP_REP.0),
        enc_part: EncryptedData { etype: session_key.etype().0, kvno: None, cipher: OctetString::from(cipher) },
    };
    let mut inner = TOK_AP_REP.to_vec();
    inner.extend_from_slice(&messages::encode("AP-REP", &rep)?);
    let context = Context::new(Role::Acceptor, acceptor_key, true, seq, peer_seq, gss_flags);
    Ok(Accepted { context, client, reply: Some(framing::wrap(KRB5_OID, &inner)) })
}

/// Which side of the context we are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// The client.
    Initiator,
    /// The service.
    Acceptor,
}

/// RFC 4121 token flags.
const SENT_BY_ACCEPTOR: u8 = 0x01;
const SEALED: u8 = 0x02;
const ACCEPTOR_SUBKEY: u8 = 0x04;
const TOK_MIC: [u8; 2] = [0x04, 0x04];
const TOK_WRAP: [u8; 2] = [0x05, 0x04];

/// An established Kerberos GSS context: MIC and Wrap tokens, sequence numbers, the session key.
#[derive(Debug)]
pub struct Context {
    role: Role,
    key: Key,
    acceptor_subkey: bool,
    send_seq: u64,
    recv_seq: u64,
    gss_flags: u32,
}

impl Context {
    fn new(role: Role, key: Key, acceptor_subkey: bool, send_seq: u32, recv_seq: u32, gss_flags: u32) -> Self {
        Self { role, key, acceptor_subkey, send_seq: u64::from(send_seq), recv_seq: u64::from(recv_seq), gss_flags }
    }

    /// The session key both sides now share (the acceptor's subkey when it sent one): what SMB
    /// derives its keys from.
    pub fn session_key(&self) -> &Key {
        &self.key
    }

    /// The flags the initiator asked for.
    pub fn flags(&self) -> u32 {
        self.gss_flags
    }

    fn usages(&self, sending: bool) -> (KeyUsage, KeyUsage) {
        let by_acceptor = (self.role == Role::Acceptor) == sending;
        if by_acceptor {
            (KeyUsage::GSS_ACCEPTOR_SIGN, KeyUsage::GSS_ACCEPTOR_SEAL)
        } else {
            (KeyUsage::GSS_INITIATOR_SIGN, KeyUsage::GSS_INITIATOR_SEAL)
        }
    }

    fn header(&self, tok_id: [u8; 2], sealed: bool, ec: u16, rrc: u16, seq: u64) -> [u8; 16] {
        let mut flags = if self.role == Role::Acceptor { SENT_BY_ACCEPTOR } else { 0 };
        if sealed {
            flags |= SEALED;
        }
        if self.acceptor_subkey {
            flags |= ACCEPTOR_SUBKEY;
        }
        let mut h = [0u8; 16];
        h[..2].copy_from_slice(&tok_id);
        h[2] = flags;
        if tok_id == TOK_MIC {
            h[3..8].fill(0xff);
        } else {
            h[3] = 0xff;
            h[4..6].copy_from_slice(&ec.to_be_bytes());
            h[6..8].copy_from_slice(&rrc.to_be_bytes());
        }
        h[8..].copy_from_slice(&seq.to_be_bytes());
        h
    }

    /// Checks an incoming header: token id, direction, and the sequence number (no replays).
    /// The sequence number is committed by [`Context::accept_seq`] only once the token
    /// verifies, so a forged token cannot move the window.
    fn check_header(&self, token: &[u8], tok_id: [u8; 2]) -> Result<([u8; 16], u64), Error> {
        let header: [u8; 16] = token
            .get(..16)
            .and_then(|h| h.try_into().ok())
            .ok_or_else(|| malformed("GSS token", "shorter than its header"))?;
        if header[..2] != tok_id {
            return Err(malformed("GSS token", format!("token id {:02x?}", &header[..2])));
        }
        let from_acceptor = header[2] & SENT_BY_ACCEPTOR != 0;
        if from_acceptor == (self.role == Role::Acceptor) {
            return Err(Error::Refused("a GSS token from our own side of the context"));
        }
        let mut seq = [0u8; 8];
        seq.copy_from_slice(&header[8..]);
        let seq = u64::from_be_bytes(seq);
        if seq < self.recv_seq {
            return Err(Error::Refused("a replayed or out-of-order GSS token"));
        }
        Ok((header, seq))
    }

    fn accept_seq(&mut self, seq: u64) {
        self.recv_seq = seq.saturating_add(1);
    }

    /// A MIC token over `message` (RFC 4121 4.2.6.1).
    ///
    /// # Errors
    /// Only for an unusable key.
    pub fn get_mic(&mut self, message: &[u8]) -> Result<Vec<u8>, Error> {
        let header = self.header(TOK_MIC, false, 0, 0, self.send_seq);
        self.send_seq += 1;
        let (sign, _) = self.usages(true);
        let cksum =
            enctype_of(&self.key)?.checksum(&self.key, sign, &[message, &header].concat()).map_err(Error::Crypto)?;
        Ok([&header[..], &cksum].concat())
    }

    /// Verifies a MIC token over `message`, in constant time.
    ///
    /// # Errors
    /// A malformed, replayed or wrong token.
    pub fn verify_mic(&mut self, message: &[u8], token: &[u8]) -> Result<(), Error> {
        let (header, seq) = self.check_header(token, TOK_MIC)?;
        let (sign, _) = self.usages(false);
        let expected =
            enctype_of(&self.key)?.checksum(&self.key, sign, &[message, &header].concat()).map_err(Error::Crypto)?;
        if !bool::from(expected.ct_eq(&token[16..])) {
            return Err(Error::Integrity { what: "a MIC token" });
        }
        self.accept_seq(seq);
        Ok(())
    }

    /// A Wrap token (RFC 4121 4.2.6.2), encrypted when `seal`, otherwise with a checksum.
    ///
    /// # Errors
    /// Only for an unusable key or no randomness.
    pub fn wrap(&mut self, message: &[u8], seal: bool, rng: &mut dyn RandomSource) -> Result<Vec<u8>, Error> {
        let seq = self.send_seq;
        self.send_seq += 1;
        let (sign, seal_usage) = self.usages(true);
        let e = enctype_of(&self.key)?;
        if seal {
            let header = self.header(TOK_WRAP, true, 0, 0, seq);
            let cipher = encrypt(&self.key, seal_usage, &[message, &header].concat(), rng)?;
            Ok([&header[..], &cipher].concat())
        } else {
            let ec = u16::try_from(e.checksum_len()).unwrap_or(u16::MAX);
            let zeroed = self.header(TOK_WRAP, false, 0, 0, seq);
            let cksum = e.checksum(&self.key, sign, &[message, &zeroed].concat()).map_err(Error::Crypto)?;
            let header = self.header(TOK_WRAP, false, ec, 0, seq);
            Ok([&header[..], message, &cksum].concat())
        }
    }

    /// Opens a Wrap token: undoes the RRC rotation, decrypts or verifies, returns the message.
    ///
    /// # Errors
    /// A malformed, replayed, altered or wrong token.
    pub fn unwrap(&mut self, token: &[u8]) -> Result<Vec<u8>, Error> {
        let (header, seq) = self.check_header(token, TOK_WRAP)?;
        let ec = usize::from(u16::from_be_bytes([header[4], header[5]]));
        let rrc = usize::from(u16::from_be_bytes([header[6], header[7]]));
        let mut data = token[16..].to_vec();
        if !data.is_empty() {
            let n = rrc % data.len();
            data.rotate_left(n);
        }
        let (sign, seal_usage) = self.usages(false);
        let e = enctype_of(&self.key)?;
        if header[2] & SEALED != 0 {
            let plain = e
                .decrypt(&self.key, seal_usage, &data)
                .map_err(|source| Error::Decrypt { what: "a Wrap token", source })?;
            let body_len = plain
                .len()
                .checked_sub(16 + ec)
                .ok_or_else(|| malformed("Wrap token", "shorter than its filler and header"))?;
            let inner_header = &plain[plain.len() - 16..];
            // The encrypted header copy must match, RRC aside (RFC 4121 4.2.4).
            if inner_header[..6] != header[..6] || inner_header[8..] != header[8..] {
                return Err(malformed("Wrap token", "the encrypted header does not match"));
            }
            self.accept_seq(seq);
            Ok(plain[..body_len].to_vec())
        } else {
            let cklen = e.checksum_len();
            let body_len =
                data.len().checked_sub(cklen).ok_or_else(|| malformed("Wrap token", "shorter than its checksum"))?;
            let (body, cksum) = data.split_at(body_len);
            let mut zeroed = header;
            zeroed[4..8].fill(0);
            let expected = e.checksum(&self.key, sign, &[body, &zeroed].concat()).map_err(Error::Crypto)?;
            if bool::from(expected.ct_eq(cksum)) {
                self.accept_seq(seq);
                Ok(body.to_vec())
            } else {
                Err(Error::Integrity { what: "a Wrap token's checksum" })
            }
        }
    }
}
