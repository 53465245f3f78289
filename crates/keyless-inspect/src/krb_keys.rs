//! Kerberos decryption for `inspect`, as Wireshark does it with a keytab: a ticket opens with
//! its service's key, an AS-REP enc-part with its client's, and the session keys found inside
//! open the authenticators, AP-REPs and TGS-REPs that follow (RFC 4120 7.5.1 key usages).
//! What was decrypted becomes fields of the message's record; what could not be, a field
//! saying why (only when keys were given at all).

use crate::{Record, hex};
use keyless_crypto::{EncType, Key, KeyUsage, for_etype};
use keyless_krb::keytab::Keytab;
use keyless_krb::messages::{decode, decode_enc_kdc_rep_part, find_padata, flags_mask};
use keyless_krb::principal::Principal;
use rasn::Decode;
use rasn_kerberos::{
    ApRep, ApReq, Authenticator, EncApRepPart, EncTicketPart, EncryptedData, EncryptionKey, KdcRep, KdcReq,
    KerberosFlags, KerberosTime, Ticket,
};
use std::collections::HashMap;

/// PA-TGS-REQ: the AP-REQ of a TGS-REQ (RFC 4120 7.5.2).
const PA_TGS_REQ: i32 = 1;
/// PA-FX-FAST: a FAST-armored request or reply (RFC 6113 7).
const PA_FX_FAST: i32 = keyless_krb::messages::pa_type::FX_FAST;
/// The authenticator checksum type that carries GSS flags (RFC 4121 4.1.1).
const GSS_CHECKSUM: i32 = 0x8003;

/// Ticket flag names by bit, bit 0 first (RFC 4120 5.3; 15 RFC 6806; 16 RFC 8062).
const TICKET_FLAGS: [&str; 17] = [
    "reserved",
    "forwardable",
    "forwarded",
    "proxiable",
    "proxy",
    "may-postdate",
    "postdated",
    "invalid",
    "renewable",
    "initial",
    "pre-authent",
    "hw-authent",
    "transited-policy-checked",
    "ok-as-delegate",
    "flag14",
    "enc-pa-rep",
    "anonymous",
];

/// GSS context flags of the 0x8003 checksum (RFC 4121 4.1.1.1; 0x1000 MS-KILE's DCE style).
const GSS_FLAGS: [(u32, &str); 8] = [
    (1, "deleg"),
    (2, "mutual"),
    (4, "replay"),
    (8, "sequence"),
    (16, "conf"),
    (32, "integ"),
    (64, "anon"),
    (0x1000, "dce-style"),
];

/// The keys given and the session keys learned so far.
pub(crate) struct Keyring<'s> {
    keytabs: &'s [Keytab],
    /// A ticket's enc-part cipher text -> the session key inside it (from the ticket itself,
    /// or from the KDC reply that carried it).
    tickets: HashMap<Vec<u8>, Key>,
    /// Per connection: the keys the next TGS-REP's enc-part may be under.
    tgs_reply_keys: HashMap<usize, Vec<(Key, KeyUsage)>>,
}

/// The keys of a GSS krb5 context as its tokens go by: the ticket's session key and the
/// authenticator's subkey from the AP-REQ, the acceptor's subkey from the AP-REP.
#[derive(Clone, Default)]
pub(crate) struct GssKeys {
    pub ticket: Option<Key>,
    pub subkey: Option<Key>,
    pub acceptor_subkey: Option<Key>,
}

impl GssKeys {
    /// The context's session key: the acceptor's subkey, else the initiator's, else the
    /// ticket's (RFC 4121 2; what SMB takes as its session key, MS-SMB2 3.2.5.3).
    pub fn session_key(&self) -> Option<&Key> {
        self.acceptor_subkey.as_ref().or(self.subkey.as_ref()).or(self.ticket.as_ref())
    }
}

impl<'s> Keyring<'s> {
    pub fn new(keytabs: &'s [Keytab]) -> Self {
        Self { keytabs, tickets: HashMap::new(), tgs_reply_keys: HashMap::new() }
    }

    /// Whether anything can be decrypted at all (else nothing is said about what was not).
    fn active(&self) -> bool {
        !self.keytabs.is_empty() || !self.tickets.is_empty()
    }

    /// The keytab key of `principal` for `e`'s enctype (and key version, when `e` names one).
    fn keytab_key(&self, principal: &Principal, e: &EncryptedData) -> Option<Key> {
        self.keytabs
            .iter()
            .flat_map(|k| &k.entries)
            .filter(|x| x.enctype == e.etype && x.principal.same_name(principal))
            .filter(|x| e.kvno.is_none_or(|v| v == x.kvno))
            .find_map(|x| Key::from_bytes(EncType(x.enctype), &x.key).ok())
    }

    /// A ticket: opened with its service's keytab key when there is one (fields `ticket_*`);
    /// returns its session key, from there or from the KDC reply that carried it.
    pub fn ticket(&mut self, r: &mut Record, t: &Ticket) -> Option<Key> {
        let known = self.tickets.get(t.enc_part.cipher.as_ref()).cloned();
        let service = Principal::from_asn1(&t.realm, &t.sname);
        let Some(key) = self.keytab_key(&service, &t.enc_part) else {
            if !self.keytabs.is_empty() {
                let etype = EncType(t.enc_part.etype);
                r.field("ticket_not_decrypted", format!("no {etype} key of {service} in the keytabs"));
            }
            return known;
        };
        match open::<EncTicketPart>(&key, KeyUsage::TICKET, &t.enc_part, "EncTicketPart") {
            Ok(p) => {
                r.field("ticket_client", Principal::from_asn1(&p.crealm, &p.cname).to_string());
                r.field("ticket_flags", ticket_flags(&p.flags.0));
                r.field("ticket_authtime", time(&p.auth_time));
                if let Some(t) = &p.start_time {
                    r.field("ticket_starttime", time(t));
                }
                r.field("ticket_endtime", time(&p.end_time));
                if let Some(t) = &p.renew_till {
                    r.field("ticket_renew_till", time(t));
                }
                let session = key_of(&p.key);
                if let Some(k) = &session {
                    r.field("ticket_session_key", show(k));
                    self.tickets.insert(t.enc_part.cipher.to_vec(), k.clone());
                }
                session
            }
            Err(why) => {
                r.field("ticket_not_decrypted", why);
                known
            }
        }
    }

    /// An AP-REQ (alone, in SPNEGO with usage 11, or in a TGS-REQ's padata with usage 7): its
    /// ticket, then its authenticator with the ticket's session key.
    pub fn ap_req(&mut self, r: &mut Record, a: &ApReq, usage: KeyUsage) -> GssKeys {
        let ticket = self.ticket(r, &a.ticket);
        let Some(key) = &ticket else {
            if self.active() {
                r.field(
                    "authenticator_not_decrypted",
                    "the ticket's session key is unknown (no service key given, no KDC reply seen)",
                );
            }
            return GssKeys::default();
        };
        match open::<Authenticator>(key, usage, &a.authenticator, "Authenticator") {
            Ok(au) => {
                r.field("authenticator_client", Principal::from_asn1(&au.crealm, &au.cname).to_string());
                r.field("authenticator_ctime", time(&au.ctime));
                if let Some(seq) = au.seq_number {
                    r.field("authenticator_seq", seq);
                }
                if let Some(c) = au.cksum.as_ref().filter(|c| c.r#type == GSS_CHECKSUM && c.checksum.len() >= 24) {
                    let v = c.checksum.as_ref();
                    let flags = u32::from_le_bytes([v[20], v[21], v[22], v[23]]);
                    let names: Vec<&str> =
                        GSS_FLAGS.iter().filter(|(bit, _)| flags & bit != 0).map(|(_, n)| *n).collect();
                    r.field("gss_flags", names);
                }
                let subkey = au.subkey.as_ref().and_then(key_of);
                if let Some(k) = &subkey {
                    r.field("authenticator_subkey", show(k));
                }
                GssKeys { ticket, subkey, acceptor_subkey: None }
            }
            Err(why) => {
                r.field("authenticator_not_decrypted", why);
                GssKeys { ticket, ..GssKeys::default() }
            }
        }
    }

    /// An AP-REP, opened with the session key of the ticket its AP-REQ carried; the acceptor's
    /// subkey goes into `gss`.
    pub fn ap_rep(&self, r: &mut Record, a: &ApRep, gss: &mut GssKeys) {
        let Some(key) = &gss.ticket else {
            if self.active() {
                r.field("enc_part_not_decrypted", "the AP-REQ's ticket session key is unknown");
            }
            return;
        };
        match open::<EncApRepPart>(key, KeyUsage::AP_REP_ENC_PART, &a.enc_part, "EncAPRepPart") {
            Ok(p) => {
                r.field("ap_rep_ctime", time(&p.ctime));
                if let Some(seq) = p.seq_number {
                    r.field("ap_rep_seq", seq);
                }
                gss.acceptor_subkey = p.subkey.as_ref().and_then(key_of);
                if let Some(k) = &gss.acceptor_subkey {
                    r.field("ap_rep_subkey", show(k));
                }
            }
            Err(why) => r.field("enc_part_not_decrypted", why),
        }
    }

    /// A TGS-REQ's PA-TGS-REQ: its AP-REQ, whose keys then open the TGS-REP on `connection`.
    pub fn tgs_req(&mut self, r: &mut Record, q: &KdcReq, connection: usize) {
        let Some(bytes) = find_padata(q.padata.as_deref(), PA_TGS_REQ) else { return };
        let a = match decode::<ApReq>("PA-TGS-REQ AP-REQ", bytes) {
            Ok(a) => a,
            Err(e) => return r.field("pa_tgs_req_not_decoded", e.to_string()),
        };
        let keys = self.ap_req(r, &a, KeyUsage::TGS_REQ_AUTHENTICATOR);
        let mut reply = Vec::new();
        if let Some(k) = keys.subkey {
            reply.push((k, KeyUsage::TGS_REP_ENC_PART_SUBKEY));
        }
        if let Some(k) = keys.ticket {
            reply.push((k, KeyUsage::TGS_REP_ENC_PART_SESSION_KEY));
        }
        self.tgs_reply_keys.insert(connection, reply);
    }

    /// An AS-REP (opened with the client's keytab key) or a TGS-REP (with the keys of the
    /// TGS-REQ before it on `connection`): the session key and times of the ticket it carries,
    /// and that ticket's key remembered for the AP-REQs that will present it.
    pub fn kdc_rep(&mut self, r: &mut Record, p: &KdcRep, as_rep: bool, connection: usize) {
        self.ticket(r, &p.ticket);
        let candidates = if as_rep {
            let client = Principal::from_asn1(&p.crealm, &p.cname);
            match self.keytab_key(&client, &p.enc_part) {
                Some(k) => vec![(k, KeyUsage::AS_REP_ENC_PART)],
                None if self.keytabs.is_empty() => return,
                None => {
                    let etype = EncType(p.enc_part.etype);
                    return r.field("enc_part_not_decrypted", format!("no {etype} key of {client} in the keytabs"));
                }
            }
        } else {
            match self.tgs_reply_keys.remove(&connection) {
                Some(keys) if !keys.is_empty() => keys,
                _ if !self.active() => return,
                _ => return r.field("enc_part_not_decrypted", "the keys of its TGS-REQ are unknown"),
            }
        };
        if find_padata(p.padata.as_deref(), PA_FX_FAST).is_some() {
            // RFC 6113 5.4.3: the enc-part is under a key strengthened inside the armored reply.
            return r
                .field("enc_part_not_decrypted", "a FAST-armored reply (RFC 6113): keyless does not open FAST yet");
        }
        let mut why = String::new();
        for (key, usage) in &candidates {
            let part = open_bytes(key, *usage, &p.enc_part)
                .and_then(|plain| decode_enc_kdc_rep_part(&plain).map_err(|e| e.to_string()));
            match part {
                Ok(part) => {
                    r.field("enc_server", Principal::from_asn1(&part.srealm, &part.sname).to_string());
                    r.field("enc_nonce", part.nonce);
                    r.field("flags", ticket_flags(&part.flags.0));
                    r.field("authtime", time(&part.auth_time));
                    r.field("endtime", time(&part.end_time));
                    if let Some(t) = &part.renew_till {
                        r.field("renew_till", time(t));
                    }
                    if let Some(k) = key_of(&part.key) {
                        r.field("session_key", show(&k));
                        self.tickets.insert(p.ticket.enc_part.cipher.to_vec(), k);
                    }
                    return;
                }
                Err(e) => why = e,
            }
        }
        r.field("enc_part_not_decrypted", why);
    }
}

/// Decrypts `e` with `key` for `usage` and decodes the plaintext as `T`.
fn open<T: Decode>(key: &Key, usage: KeyUsage, e: &EncryptedData, what: &'static str) -> Result<T, String> {
    let plain = open_bytes(key, usage, e)?;
    decode::<T>(what, &plain).map_err(|e| e.to_string())
}

fn open_bytes(key: &Key, usage: KeyUsage, e: &EncryptedData) -> Result<keyless_crypto::Zeroizing<Vec<u8>>, String> {
    if EncType(e.etype) != key.etype() {
        return Err(format!("encrypted with {}, the key is {}", EncType(e.etype), key.etype()));
    }
    let enctype = for_etype(key.etype()).map_err(|e| e.to_string())?;
    enctype.decrypt(key, usage, e.cipher.as_ref()).map_err(|e| format!("does not decrypt with the key found ({e})"))
}

fn key_of(k: &EncryptionKey) -> Option<Key> {
    Key::from_bytes(EncType(k.r#type), k.value.as_ref()).ok()
}

/// A key as `etype:hex` (the user gave the keys that opened it: showing it is the point).
pub(crate) fn show(k: &Key) -> String {
    format!("{}:{}", k.etype(), hex(k.expose_bytes()))
}

fn time(t: &KerberosTime) -> String {
    t.0.to_rfc3339()
}

fn ticket_flags(bits: &KerberosFlags) -> Vec<&'static str> {
    let mask = flags_mask(bits);
    TICKET_FLAGS.iter().enumerate().filter(|(bit, _)| mask & (0x8000_0000 >> bit) != 0).map(|(_, n)| *n).collect()
}
