//! KRB-CRED (RFC 4120 5.8): credentials handed over whole, as Microsoft Entra does with a cloud
//! TGT and as Azure Files' kerbticket endpoint does with a service ticket. Their enc-part is
//! either encrypted (key usage 14) or, as both Microsoft services send it, carried in the clear
//! as `EncryptedData { etype: 0, cipher: DER(EncKrbCredPart) }`.
//! Also: a credential from an AS-REP plus the key that opens it (Entra's `tgt_cloud`
//! `messageBuffer` and `clientKey`, protocols.md 2.2).

use crate::Error;
use crate::credential::Credential;
use crate::messages::{self, KdcReply, MsgType, PVNO};
use crate::principal::Principal;
use crate::time::{kerberos_time, seconds_of};
use keyless_crypto::{EncType, Key, KeyUsage, for_etype};
use rasn::types::{Integer, OctetString};
use rasn_kerberos::{EncKrbCredPart, EncryptedData, EncryptionKey, KrbCred, KrbCredInfo, Ticket, TicketFlags};

/// The credentials in a KRB-CRED. `key` opens an encrypted enc-part; an etype-0 enc-part needs none.
///
/// # Errors
/// [`Error::Malformed`] for bytes that are not a KRB-CRED, [`Error::Decrypt`] for an encrypted
/// enc-part without the right key, [`Error::ReplyMismatch`] for tickets without names.
pub fn credentials(der: &[u8], key: Option<&Key>) -> Result<Vec<Credential>, Error> {
    let cred: KrbCred = messages::decode("KRB-CRED", der)?;
    let plain = match (cred.enc_part.etype, key) {
        (0, _) => cred.enc_part.cipher.to_vec(),
        (etype, Some(k)) if etype == k.etype().0 => for_etype(k.etype())
            .map_err(Error::Crypto)?
            .decrypt(k, KeyUsage::KRB_CRED_ENC_PART, cred.enc_part.cipher.as_ref())
            .map_err(|source| Error::Decrypt { what: "the KRB-CRED", source })?
            .to_vec(),
        (etype, _) => {
            return Err(Error::Decrypt {
                what: "the KRB-CRED",
                source: keyless_crypto::CryptoError::UnsupportedEncType(EncType(etype)),
            });
        }
    };
    let part: EncKrbCredPart = messages::decode("EncKrbCredPart", &plain)?;
    if part.ticket_info.len() != cred.tickets.len() {
        return Err(Error::Malformed { what: "KRB-CRED", detail: "ticket and ticket-info counts differ".into() });
    }
    cred.tickets.iter().zip(&part.ticket_info).map(|(ticket, info)| credential(ticket, info)).collect()
}

fn credential(ticket: &Ticket, info: &KrbCredInfo) -> Result<Credential, Error> {
    let (Some(prealm), Some(pname)) = (&info.prealm, &info.pname) else {
        return Err(Error::ReplyMismatch("KRB-CRED ticket info without a client name"));
    };
    let server = match (&info.srealm, &info.sname) {
        (Some(r), Some(n)) => Principal::from_asn1(r, n),
        _ => Principal::from_asn1(&ticket.realm, &ticket.sname),
    };
    let time = |t: &Option<rasn_kerberos::KerberosTime>| t.as_ref().map(seconds_of).unwrap_or(0);
    Ok(Credential {
        client: Principal::from_asn1(prealm, pname),
        server,
        session_key: Key::from_bytes(EncType(info.key.r#type), info.key.value.as_ref()).map_err(Error::Crypto)?,
        auth_time: time(&info.auth_time),
        start_time: time(&info.start_time),
        end_time: time(&info.end_time),
        renew_till: time(&info.renew_till),
        flags: info.flags.as_ref().map(|f| messages::flags_mask(&f.0)).unwrap_or(0),
        ticket: messages::encode("Ticket", ticket)?,
    })
}

/// A KRB-CRED carrying credentials with an unencrypted (etype 0) enc-part.
///
/// # Errors
/// Names or tickets that cannot be encoded.
pub fn encode_unencrypted(creds: &[Credential]) -> Result<Vec<u8>, Error> {
    let mut tickets = Vec::new();
    let mut infos = Vec::new();
    for c in creds {
        tickets.push(messages::decode::<Ticket>("Ticket", &c.ticket)?);
        let t = |s: i64| (s != 0).then(|| kerberos_time(s));
        infos.push(KrbCredInfo {
            key: EncryptionKey {
                r#type: c.session_key.etype().0,
                value: OctetString::from(c.session_key.expose_bytes().to_vec()),
            },
            prealm: Some(crate::principal::realm_asn1(&c.client.realm)?),
            pname: Some(c.client.to_asn1()?),
            flags: Some(TicketFlags(messages::flags(c.flags))),
            auth_time: t(c.auth_time),
            start_time: t(c.start_time),
            end_time: t(c.end_time),
            renew_till: t(c.renew_till),
            srealm: Some(crate::principal::realm_asn1(&c.server.realm)?),
            sname: Some(c.server.to_asn1()?),
            caddr: None,
        });
    }
    let part = EncKrbCredPart {
        ticket_info: infos,
        nonce: None,
        timestamp: None,
        usec: None,
        sender_address: None,
        recipient_address: None,
    };
    let cred = KrbCred {
        pvno: Integer::from(PVNO),
        msg_type: Integer::from(MsgType::KRB_CRED.0),
        tickets,
        enc_part: EncryptedData {
            etype: 0,
            kvno: None,
            cipher: OctetString::from(messages::encode("EncKrbCredPart", &part)?),
        },
    };
    messages::encode("KRB-CRED", &cred)
}

/// The credential in an AS-REP, opened with the key it was encrypted for (the client's key,
/// or Entra's `clientKey`). No request was sent by us, so there is no nonce to check.
///
/// # Errors
/// [`Error::Malformed`] for anything but an AS-REP, [`Error::Decrypt`] for the wrong key.
pub fn from_as_rep(der: &[u8], key: &Key) -> Result<Credential, Error> {
    let KdcReply::As(rep) = messages::decode_reply(der)? else {
        return Err(Error::Malformed { what: "AS-REP", detail: "not an AS-REP".into() });
    };
    let rep = rep.0;
    if rep.enc_part.etype != key.etype().0 {
        return Err(Error::Decrypt {
            what: "the AS-REP",
            source: keyless_crypto::CryptoError::KeyTypeMismatch {
                expected: EncType(rep.enc_part.etype),
                got: key.etype(),
            },
        });
    }
    let plain = for_etype(key.etype())
        .map_err(Error::Crypto)?
        .decrypt(key, KeyUsage::AS_REP_ENC_PART, rep.enc_part.cipher.as_ref())
        .map_err(|source| Error::Decrypt { what: "the AS-REP", source })?;
    let enc = messages::decode_enc_kdc_rep_part(&plain)?;
    let client = Principal::from_asn1(&rep.crealm, &rep.cname);
    let server = Principal::from_asn1(&enc.srealm, &enc.sname);
    crate::as_exchange::credential_from(client, server, &enc, messages::encode("Ticket", &rep.ticket)?)
}
