//! Kerberos messages as records (RFC 4120 5): the message type by its APPLICATION tag, then
//! names, realms, enctypes, key versions and error codes.

use crate::krb_keys::{GssKeys, Keyring};
use crate::{Broken, Record};
use keyless_capture::{Message as Captured, Protocol};
use keyless_crypto::KeyUsage;
use keyless_krb::KrbErrorCode;
use keyless_krb::messages::{MsgType, decode, decode_kdc_req};
use keyless_krb::principal::Principal;
use rasn::types::GeneralString;
use rasn_kerberos::{
    ApRep, ApReq, AsRep, EncryptedData, KdcRep, KdcReq, KrbCred, KrbError, PrincipalName, TgsRep, Ticket,
};

pub(crate) fn describe(m: &Captured, udp: bool, keys: &mut Keyring) -> Record {
    let mut r = Record::new(m, Protocol::Kerberos, "Kerberos");
    message(&mut r, &m.payload, framing(m, udp), keys, &mut GssKeys::default());
    r
}

/// The Kerberos message a KDC-PROXY-MESSAGE carried (MS-KKDCP, inside HTTPS), at stream byte
/// `offset` of the decrypted HTTP, as a record of its own.
pub(crate) fn in_kkdcp(m: &Captured, kerberos: &[u8], offset: usize, keys: &mut Keyring) -> Record {
    let mut r = Record::new(m, Protocol::Kerberos, "Kerberos");
    r.field("carried_in", "KKDCP");
    message(&mut r, kerberos, offset, keys, &mut GssKeys::default());
    r
}

/// The Kerberos message in a SESSION_SETUP's krb5 GSS token (the mech token of its SPNEGO,
/// or the whole blob) at stream byte `offset`, as a record of its own. `gss` follows the
/// context's keys.
pub(crate) fn in_security_token(
    m: &Captured,
    token: &[u8],
    offset: usize,
    keys: &mut Keyring,
    gss: &mut GssKeys,
) -> Record {
    let mut r = Record::new(m, Protocol::Kerberos, "Kerberos");
    r.field("carried_in", "SESSION_SETUP");
    match keyless_gss::krb5::token_message(token) {
        Ok(inner) => message(&mut r, inner, offset, keys, gss),
        Err(e) => r.broken = Some(Broken { offset, what: e.to_string() }),
    }
    r
}

/// Decodes one Kerberos message into `r` (and decrypts what `keys` allow).
fn message(r: &mut Record, bytes: &[u8], offset: usize, keys: &mut Keyring, gss: &mut GssKeys) {
    // The outer tag is [APPLICATION msg-type], constructed: 0x60 | msg-type (RFC 4120 5.10).
    let msg_type = bytes.first().filter(|&&b| b & 0xE0 == 0x60).map(|&b| MsgType(i32::from(b & 0x1F)));
    let kind = msg_type.and_then(MsgType::name).unwrap_or("");
    let connection = r.connection;
    let decoded = match kind {
        "AS-REQ" | "TGS-REQ" => decode_kdc_req(bytes).map(|q| {
            request(r, &q);
            keys.kdc_req(r, &q, kind == "TGS-REQ", connection);
        }),
        "AS-REP" => decode::<AsRep>(kind, bytes).map(|p| reply(r, &p.0, true, keys)),
        "TGS-REP" => decode::<TgsRep>(kind, bytes).map(|p| reply(r, &p.0, false, keys)),
        "AP-REQ" => decode::<ApReq>(kind, bytes).map(|a| {
            ticket(r, &a.ticket);
            encrypted(r, "authenticator", &a.authenticator);
            *gss = keys.ap_req(r, &a, KeyUsage::AP_REQ_AUTHENTICATOR);
        }),
        "AP-REP" => decode::<ApRep>(kind, bytes).map(|a| {
            encrypted(r, "enc_part", &a.enc_part);
            keys.ap_rep(r, &a, gss);
        }),
        "KRB-CRED" => decode::<KrbCred>(kind, bytes).map(|c| {
            for t in &c.tickets {
                ticket(r, t);
            }
            encrypted(r, "enc_part", &c.enc_part);
        }),
        "KRB-ERROR" => decode::<KrbError>(kind, bytes).map(|e| {
            error(r, &e);
            keys.krb_error(r, &e, connection);
        }),
        _ => {
            let first = bytes.first().copied().unwrap_or_default();
            r.broken = Some(Broken {
                offset,
                what: format!("not a Kerberos message: first byte {first:#04x} is no RFC 4120 APPLICATION tag"),
            });
            return;
        }
    };
    r.kind = kind.to_string();
    if let Err(e) = decoded {
        r.broken = Some(Broken { offset, what: e.to_string() });
    }
}

/// Where the message starts: after the record mark on TCP, at the datagram's start on UDP.
fn framing(m: &Captured, udp: bool) -> usize {
    if udp { 0 } else { m.stream_offset + 4 }
}

fn name(realm: &GeneralString, n: &PrincipalName) -> String {
    Principal::from_asn1(realm, n).to_string()
}

fn request(r: &mut Record, q: &KdcReq) {
    let b = &q.req_body;
    if let Some(c) = &b.cname {
        r.field("client", name(&b.realm, c));
    }
    if let Some(s) = &b.sname {
        r.field("server", name(&b.realm, s));
    }
    r.field("realm", String::from_utf8_lossy(b.realm.as_ref()).into_owned());
    r.field("nonce", b.nonce);
    r.field("etypes", b.etype.clone());
    r.field("till", b.till.0.to_rfc3339());
    let padata: Vec<i32> = q.padata.iter().flatten().map(|p| p.r#type).collect();
    r.field("padata", padata);
}

fn reply(r: &mut Record, p: &KdcRep, as_rep: bool, keys: &mut Keyring) {
    r.field("client", name(&p.crealm, &p.cname));
    ticket(r, &p.ticket);
    encrypted(r, "enc_part", &p.enc_part);
    let padata: Vec<i32> = p.padata.iter().flatten().map(|p| p.r#type).collect();
    r.field("padata", padata);
    let connection = r.connection;
    keys.kdc_rep(r, p, as_rep, connection);
}

fn ticket(r: &mut Record, t: &Ticket) {
    r.field("server", name(&t.realm, &t.sname));
    encrypted(r, "ticket", &t.enc_part);
}

/// `<what>_etype` and `<what>_kvno` of an EncryptedData.
fn encrypted(r: &mut Record, what: &'static str, e: &EncryptedData) {
    let (etype, kvno) = match what {
        "ticket" => ("ticket_etype", "ticket_kvno"),
        "authenticator" => ("authenticator_etype", "authenticator_kvno"),
        _ => ("enc_part_etype", "enc_part_kvno"),
    };
    r.field(etype, e.etype);
    if let Some(k) = e.kvno {
        r.field(kvno, k);
    }
}

fn error(r: &mut Record, e: &KrbError) {
    let code = KrbErrorCode(e.error_code);
    r.status = Some(format!("{code} ({})", e.error_code));
    r.field("error_code", e.error_code);
    r.field("server", name(&e.realm, &e.sname));
    if let (Some(realm), Some(c)) = (&e.crealm, &e.cname) {
        r.field("client", name(realm, c));
    }
    if let Some(text) = &e.e_text {
        r.field("e_text", String::from_utf8_lossy(text.as_ref()).into_owned());
    }
    r.field("stime", e.stime.0.to_rfc3339());
}
