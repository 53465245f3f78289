//! Kerberos decryption for `inspect`, as Wireshark does it with a keytab: a ticket opens with
//! its service's key, an AS-REP enc-part with its client's, and the session keys found inside
//! open the authenticators, AP-REPs and TGS-REPs that follow (RFC 4120 7.5.1 key usages).
//! FAST (RFC 6113) is followed too: the armor key from the TGS-REQ's own AP-REQ (or an AS-REQ's
//! armor AP-REQ) opens the armored request and reply, and the reply's strengthen-key gives the
//! key its enc-part is under. What was decrypted becomes fields of the message's record; what
//! could not be, a field saying why (only when keys were given at all).

use crate::{Record, hex};
use keyless_crypto::{EncType, Key, KeyUsage, for_etype};
use keyless_krb::fast::{self, KrbFastArmoredRep, KrbFastArmoredReq, KrbFastReq, KrbFastResponse};
use keyless_krb::keytab::Keytab;
use keyless_krb::messages::{PaType, decode, decode_enc_kdc_rep_part, find_padata, flags_mask};
use keyless_krb::principal::Principal;
use rasn::Decode;
use rasn_kerberos::{
    ApRep, ApReq, Authenticator, EncApRepPart, EncTicketPart, EncryptedData, EncryptionKey, KdcRep, KdcReq,
    KerberosFlags, KerberosTime, KrbError, MethodData, Ticket,
};
use std::collections::HashMap;

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
    /// Per connection: what the last KDC request left for its reply.
    pending: HashMap<usize, Pending>,
    /// Every key learned, once each (for `--export-keys`).
    pub found: Vec<crate::KerberosKey>,
}

/// What a KDC request leaves for its reply: the keys a TGS-REP's enc-part may be under, and
/// the FAST armor key.
#[derive(Default)]
struct Pending {
    reply_keys: Vec<(Key, KeyUsage)>,
    armor: Option<Key>,
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
        Self { keytabs, tickets: HashMap::new(), pending: HashMap::new(), found: Vec::new() }
    }

    /// A key learned: shown as `field` of `r`, and kept for export.
    fn learned(&mut self, r: &mut Record, field: &'static str, k: &Key) {
        r.field(field, show(k));
        self.keep(crate::KerberosKey { what: field, key: k.clone(), principal: None, kvno: 0 });
    }

    fn keep(&mut self, found: crate::KerberosKey) {
        let same = |f: &crate::KerberosKey| {
            f.key.etype() == found.key.etype()
                && f.key.expose_bytes() == found.key.expose_bytes()
                && f.kvno == found.kvno
        };
        if !self.found.iter().any(same) {
            self.found.push(found);
        }
    }

    /// Whether anything can be decrypted at all (else nothing is said about what was not).
    fn active(&self) -> bool {
        !self.keytabs.is_empty() || !self.tickets.is_empty()
    }

    /// The keytab keys that may open `e`, sent to `principal`: that principal's keys of the
    /// enctype (and key version, when `e` names one) first, then every other key of the
    /// enctype, as Wireshark tries them: in AD one account's keys serve all its names (host/,
    /// cifs/, ...), and a keytab exported for one opens tickets for the others. Each comes with
    /// the principal it was stored for.
    fn keytab_keys(&self, principal: &Principal, e: &EncryptedData) -> Vec<(Key, &'s Principal)> {
        let entries = self.keytabs.iter().flat_map(|k| &k.entries).filter(|x| x.enctype == e.etype);
        let (exact, others): (Vec<_>, Vec<_>) = entries.partition(|x| x.principal.same_name(principal));
        let exact = exact.into_iter().filter(|x| e.kvno.is_none_or(|v| v == x.kvno));
        exact
            .chain(others)
            .filter_map(|x| Some((Key::from_bytes(EncType(x.enctype), &x.key).ok()?, &x.principal)))
            .collect()
    }

    /// A ticket: opened with its service's keytab key when there is one (fields `ticket_*`);
    /// returns its session key, from there or from the KDC reply that carried it.
    pub fn ticket(&mut self, r: &mut Record, t: &Ticket) -> Option<Key> {
        let known = self.tickets.get(t.enc_part.cipher.as_ref()).cloned();
        let service = Principal::from_asn1(&t.realm, &t.sname);
        let candidates = self.keytab_keys(&service, &t.enc_part);
        if candidates.is_empty() {
            if !self.keytabs.is_empty() {
                let etype = EncType(t.enc_part.etype);
                r.field("ticket_not_decrypted", format!("no {etype} key in the keytabs (the ticket is for {service})"));
            }
            return known;
        }
        let mut why = None;
        let tried = candidates.len();
        for (key, stored_for) in candidates {
            let p = match open::<EncTicketPart>(&key, KeyUsage::TICKET, &t.enc_part, "EncTicketPart") {
                Ok(p) => p,
                Err(e) => {
                    // The service's own key says why; another name's key failing says little.
                    why = why.or(stored_for.same_name(&service).then_some(e));
                    continue;
                }
            };
            if !stored_for.same_name(&service) {
                r.field("ticket_key_of", stored_for.to_string());
                // Kept under the name and version it serves, which is how Wireshark picks it.
                let kvno = t.enc_part.kvno.unwrap_or(0);
                self.keep(crate::KerberosKey {
                    what: "service_key",
                    key: key.clone(),
                    principal: Some(service.clone()),
                    kvno,
                });
            }
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
            if let Some(pac) = p.authorization_data.as_deref().and_then(keyless_krb::pac::find) {
                self.pac(r, &pac, &key);
            }
            let session = key_of(&p.key);
            if let Some(k) = &session {
                self.learned(r, "ticket_session_key", k);
                self.tickets.insert(t.enc_part.cipher.to_vec(), k.clone());
            }
            return session;
        }
        let etype = EncType(t.enc_part.etype);
        let why =
            why.unwrap_or_else(|| format!("no {etype} key of {service} in the keytabs ({tried} of other names tried)"));
        r.field("ticket_not_decrypted", why);
        known
    }

    /// The PAC of a ticket opened with `service_key`: who and which groups, and its
    /// checksums verified (the server's with that key, the KDC's with a krbtgt key given).
    fn pac(&self, r: &mut Record, bytes: &[u8], service_key: &Key) {
        let pac = match keyless_krb::pac::Pac::parse(bytes) {
            Ok(p) => p,
            Err(e) => return r.field("pac_not_decoded", e.to_string()),
        };
        r.field("pac_buffers", pac.buffers.iter().map(|b| b.kind.0).collect::<Vec<_>>());
        match pac.logon_info() {
            Some(Ok(info)) => {
                r.field("pac_user", info.effective_name.clone());
                if !info.full_name.is_empty() {
                    r.field("pac_full_name", info.full_name.clone());
                }
                r.field("pac_logon_domain", info.logon_domain_name.clone());
                r.field("pac_logon_server", info.logon_server.clone());
                r.field("pac_logon_time", filetime(info.logon_time));
                if let Some(sid) = info.user_sid() {
                    r.field("pac_user_sid", sid.to_string());
                }
                if let Some(d) = &info.logon_domain_id {
                    r.field("pac_primary_group_sid", d.with_rid(info.primary_group_id).to_string());
                }
                r.field("pac_group_sids", info.group_sids().iter().map(ToString::to_string).collect::<Vec<_>>());
                r.field("pac_user_flags", format!("{:#x}", info.user_flags));
                r.field("pac_user_account_control", format!("{:#x}", info.user_account_control));
            }
            Some(Err(e)) => r.field("pac_logon_info_not_decoded", e.to_string()),
            None => {}
        }
        if let Some(Ok((_, name))) = pac.client_info() {
            r.field("pac_client_name", name);
        }
        match pac.upn_dns() {
            Some(Ok(u)) => {
                r.field("pac_upn", u.upn);
                r.field("pac_dns_domain", u.dns_domain);
                if let Some(sam) = u.sam_name {
                    r.field("pac_sam_name", sam);
                }
            }
            Some(Err(e)) => r.field("pac_upn_dns_not_decoded", e.to_string()),
            None => {}
        }
        let verdict = |res: Result<(), keyless_krb::Error>| match res {
            Ok(()) => "good".to_string(),
            Err(e) => format!("BAD ({e})"),
        };
        r.field("pac_server_checksum", verdict(pac.verify_server_checksum(service_key)));
        // The KDC's checksum needs the KDC's key: a krbtgt key given, of the checksum's enctype.
        let wanted = pac
            .signature(keyless_krb::pac::BufferType::KDC_CHECKSUM)
            .and_then(|(t, _)| keyless_crypto::for_cksumtype(t).ok())
            .map(|e| e.etype());
        let krbtgt = self
            .keytabs
            .iter()
            .flat_map(|k| &k.entries)
            .filter(|e| e.principal.components.first().is_some_and(|c| c == "krbtgt"))
            .filter_map(|e| Key::from_bytes(EncType(e.enctype), &e.key).ok())
            .find(|k| Some(k.etype()) == wanted);
        match krbtgt {
            Some(k) => r.field("pac_kdc_checksum", verdict(pac.verify_kdc_checksum(&k))),
            None => r.field("pac_kdc_checksum", "not checked (no krbtgt key given)"),
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
                if let Some(c) =
                    au.cksum.as_ref().filter(|c| c.r#type == keyless_gss::krb5::GSS_CHECKSUM && c.checksum.len() >= 24)
                {
                    let v = c.checksum.as_ref();
                    let flags = u32::from_le_bytes([v[20], v[21], v[22], v[23]]);
                    let names: Vec<&str> =
                        GSS_FLAGS.iter().filter(|(bit, _)| flags & bit != 0).map(|(_, n)| *n).collect();
                    r.field("gss_flags", names);
                }
                let subkey = au.subkey.as_ref().and_then(key_of);
                if let Some(k) = &subkey {
                    self.learned(r, "authenticator_subkey", k);
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
    pub fn ap_rep(&mut self, r: &mut Record, a: &ApRep, gss: &mut GssKeys) {
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
                    self.learned(r, "ap_rep_subkey", k);
                }
            }
            Err(why) => r.field("enc_part_not_decrypted", why),
        }
    }

    /// An AS-REQ or TGS-REQ on `connection`: a TGS-REQ's PA-TGS-REQ (its AP-REQ, whose keys
    /// open the TGS-REP), then a PA-FX-FAST's armored request with the armor key (explicit
    /// armor, or the PA-TGS-REQ's implicit one). What the reply will need is kept.
    pub fn kdc_req(&mut self, r: &mut Record, q: &KdcReq, tgs: bool, connection: usize) {
        let mut pending = Pending::default();
        let mut implicit = GssKeys::default();
        if tgs && let Some(bytes) = find_padata(q.padata.as_deref(), PaType::TGS_REQ) {
            match decode::<ApReq>("PA-TGS-REQ AP-REQ", bytes) {
                Ok(a) => implicit = self.ap_req(r, &a, KeyUsage::TGS_REQ_AUTHENTICATOR),
                Err(e) => r.field("pa_tgs_req_not_decoded", e.to_string()),
            }
            if let Some(k) = &implicit.subkey {
                pending.reply_keys.push((k.clone(), KeyUsage::TGS_REP_ENC_PART_SUBKEY));
            }
            if let Some(k) = &implicit.ticket {
                pending.reply_keys.push((k.clone(), KeyUsage::TGS_REP_ENC_PART_SESSION_KEY));
            }
        }
        match fast::armored_request(q.padata.as_deref()) {
            Ok(Some(armored)) => pending.armor = self.fast_request(r, &armored, implicit),
            Ok(None) => {}
            Err(e) => r.field("fast_not_decoded", e.to_string()),
        }
        self.pending.insert(connection, pending);
    }

    /// A FAST-armored request: its armor key (from the armor AP-REQ, else `implicit`, the
    /// keys of the TGS-REQ's own AP-REQ), and what the armored part holds.
    fn fast_request(&mut self, r: &mut Record, a: &KrbFastArmoredReq, implicit: GssKeys) -> Option<Key> {
        let armor_keys = match &a.armor {
            Some(armor) if armor.armor_type == fast::ARMOR_AP_REQUEST => {
                match decode::<ApReq>("KrbFastArmor AP-REQ", armor.armor_value.as_ref()) {
                    Ok(ap) => {
                        r.field("fast_armor", "AP-REQ");
                        self.ap_req(r, &ap, KeyUsage::AP_REQ_AUTHENTICATOR)
                    }
                    Err(e) => {
                        r.field("fast_not_decoded", e.to_string());
                        return None;
                    }
                }
            }
            Some(armor) => {
                r.field("fast_not_decrypted", format!("armor type {} is not an AP-REQ", armor.armor_type));
                return None;
            }
            None => {
                r.field("fast_armor", "implicit (the TGS-REQ's ticket)");
                implicit
            }
        };
        let (Some(subkey), Some(ticket)) = (&armor_keys.subkey, &armor_keys.ticket) else {
            if self.active() {
                r.field("fast_not_decrypted", "the armor's ticket session key or subkey is unknown");
            }
            return None;
        };
        let armor = match fast::armor_key(subkey, ticket) {
            Ok(k) => k,
            Err(e) => {
                r.field("fast_not_decrypted", e.to_string());
                return None;
            }
        };
        self.learned(r, "fast_armor_key", &armor);
        match open::<KrbFastReq>(&armor, KeyUsage::FAST_ENC, &a.enc_fast_req, "KrbFastReq") {
            Ok(inner) => {
                r.field("fast_options", flags_mask(&inner.fast_options));
                r.field("fast_padata", inner.padata.iter().map(|p| p.r#type).collect::<Vec<_>>());
            }
            Err(why) => r.field("fast_not_decrypted", why),
        }
        Some(armor)
    }

    /// A FAST-armored reply opened with the armor key of the request on `connection`:
    /// the inner padata and what the KDC says it authenticated are shown, the response
    /// returned (its strengthen-key changes the reply key).
    fn fast_reply(
        &mut self,
        r: &mut Record,
        a: &KrbFastArmoredRep,
        connection: usize,
    ) -> Result<KrbFastResponse, String> {
        let armor = self
            .pending
            .get(&connection)
            .and_then(|p| p.armor.as_ref())
            .ok_or("a FAST-armored reply (RFC 6113) whose request's armor key is unknown")?;
        let inner = open::<KrbFastResponse>(armor, KeyUsage::FAST_REP, &a.enc_fast_rep, "KrbFastResponse")?;
        r.field("fast_padata", inner.padata.iter().map(|p| p.r#type).collect::<Vec<_>>());
        if let Some(k) = inner.strengthen_key.as_ref().and_then(key_of) {
            self.learned(r, "fast_strengthen_key", &k);
        }
        if let Some(f) = &inner.finished {
            r.field("fast_client", Principal::from_asn1(&f.crealm, &f.cname).to_string());
            r.field("fast_timestamp", time(&f.timestamp));
        }
        Ok(inner)
    }

    /// A KRB-ERROR answering an armored request: the error inside its PA-FX-FAST (RFC 6113
    /// 5.4.3: PA-FX-ERROR), opened with the request's armor key.
    pub fn krb_error(&mut self, r: &mut Record, e: &KrbError, connection: usize) {
        let Some(method_data) = e.e_data.as_ref().and_then(|d| decode::<MethodData>("METHOD-DATA", d).ok()) else {
            return;
        };
        let armored = match fast::armored_reply(Some(&method_data)) {
            Ok(Some(a)) => a,
            Ok(None) => return,
            Err(why) => return r.field("fast_not_decoded", why.to_string()),
        };
        let inner = match self.fast_reply(r, &armored, connection) {
            Ok(inner) => inner,
            Err(why) => return r.field("fast_not_decrypted", why),
        };
        if let Some(bytes) = find_padata(Some(&inner.padata), PaType::FX_ERROR) {
            match decode::<KrbError>("PA-FX-ERROR KRB-ERROR", bytes) {
                Ok(inner_error) => {
                    let code = keyless_krb::KrbErrorCode(inner_error.error_code);
                    r.field("fast_error", format!("{code} ({})", inner_error.error_code));
                }
                Err(why) => r.field("fast_not_decoded", why.to_string()),
            }
        }
    }

    /// An AS-REP (opened with the client's keytab key) or a TGS-REP (with the keys of the
    /// TGS-REQ before it on `connection`), through FAST's strengthened key when it is armored:
    /// the session key and times of the ticket it carries, and that ticket's key remembered
    /// for the AP-REQs that will present it.
    pub fn kdc_rep(&mut self, r: &mut Record, p: &KdcRep, as_rep: bool, connection: usize) {
        self.ticket(r, &p.ticket);
        let mut candidates = if as_rep {
            let client = Principal::from_asn1(&p.crealm, &p.cname);
            let keys = self.keytab_keys(&client, &p.enc_part);
            if keys.is_empty() {
                if !self.keytabs.is_empty() {
                    let etype = EncType(p.enc_part.etype);
                    r.field("enc_part_not_decrypted", format!("no {etype} key of {client} in the keytabs"));
                }
                return;
            }
            keys.into_iter().map(|(k, _)| (k, KeyUsage::AS_REP_ENC_PART)).collect()
        } else {
            match self.pending.get(&connection).map(|p| &p.reply_keys) {
                Some(keys) if !keys.is_empty() => keys.clone(),
                _ if !self.active() => return,
                _ => return r.field("enc_part_not_decrypted", "the keys of its TGS-REQ are unknown"),
            }
        };
        match fast::armored_reply(p.padata.as_deref()) {
            Ok(None) => {}
            Ok(Some(armored)) => match self.fast_reply(r, &armored, connection) {
                Ok(inner) => {
                    if let Some(strengthen) = inner.strengthen_key.as_ref().and_then(key_of) {
                        candidates = candidates
                            .into_iter()
                            .filter_map(|(k, u)| Some((fast::strengthened_reply_key(&strengthen, &k).ok()?, u)))
                            .collect();
                    }
                }
                Err(why) => return r.field("enc_part_not_decrypted", why),
            },
            Err(why) => return r.field("enc_part_not_decrypted", why.to_string()),
        }
        self.pending.remove(&connection);
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
                        self.learned(r, "session_key", &k);
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

/// A FILETIME (100 ns since 1601) as RFC 3339, or its number when out of range.
fn filetime(t: u64) -> String {
    rasn::types::UtcTime::from_timestamp(keyless_wire_enum::filetime::to_unix_seconds(t), 0)
        .map_or_else(|| t.to_string(), |d| d.to_rfc3339())
}

fn time(t: &KerberosTime) -> String {
    t.0.to_rfc3339()
}

fn ticket_flags(bits: &KerberosFlags) -> Vec<&'static str> {
    let mask = flags_mask(bits);
    TICKET_FLAGS.iter().enumerate().filter(|(bit, _)| mask & (0x8000_0000 >> bit) != 0).map(|(_, n)| *n).collect()
}
