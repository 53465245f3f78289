//! The AS exchange (RFC 4120 3.1) as a sans-IO state machine: it says what to send to which
//! realm and takes the replies, with the time and randomness passed in.
//!
//! Call order: [`AsExchange::start`] gives the first [`Step`]; while it is [`Step::Send`], the
//! driver delivers the message to a KDC of that realm and hands the reply to
//! [`AsExchange::handle_reply`]. Handled in between: KDC_ERR_PREAUTH_REQUIRED (answered with
//! PA-ENC-TIMESTAMP under the key that ETYPE-INFO2's salt and s2kparams give) and
//! KDC_ERR_WRONG_REALM client referrals (RFC 6806 7), bounded.

use crate::credential::Credential;
use crate::error::KrbErrorCode;
use crate::messages::{self, KdcReply, MsgType, PVNO, PaType, kdc_options};
use crate::principal::{Principal, realm_asn1};
use crate::random::{RandomSource, nonce};
use crate::time::{after, kerberos_time, micros, seconds_of, unix_seconds};
use crate::{Error, Step};
use keyless_crypto::{EncType, Key, KeyUsage, for_etype};
use rasn::types::{Integer, OctetString};
use rasn_kerberos::{
    AsRep, AsReq, EncKdcRepPart, EncryptedData, EtypeInfo2, EtypeInfo2Entry, KdcOptions, KdcReq, KdcReqBody, PaData,
    PaEncTsEnc,
};
use std::time::{Duration, SystemTime};
use zeroize::Zeroizing;

/// How many client referrals to follow before giving up.
const MAX_REFERRALS: usize = 5;

/// What proves the client's identity.
pub enum ClientSecret {
    /// A password (string-to-key with the KDC's salt).
    Password(Zeroizing<String>),
    /// Long-term keys, e.g. from a keytab (one per enctype).
    Keys(Vec<Key>),
}

impl std::fmt::Debug for ClientSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password(_) => f.write_str("Password(..)"),
            Self::Keys(k) => f.debug_tuple("Keys").field(&k.iter().map(Key::etype).collect::<Vec<_>>()).finish(),
        }
    }
}

/// What to ask for.
#[derive(Clone, Debug)]
pub struct AsOptions {
    /// The client principal.
    pub client: Principal,
    /// The service (default `krbtgt/REALM@REALM`).
    pub service: Option<Principal>,
    /// Acceptable enctypes, most preferred first.
    pub etypes: Vec<EncType>,
    /// Requested ticket lifetime.
    pub lifetime: Duration,
    /// Requested renewable lifetime, if any.
    pub renew_lifetime: Option<Duration>,
    /// Ask for a forwardable ticket.
    pub forwardable: bool,
    /// PA-PAC-REQUEST: `Some(false)` asks the KDC for a ticket without a PAC.
    pub request_pac: Option<bool>,
    /// Allow the KDC to canonicalize names (RFC 6806).
    pub canonicalize: bool,
    /// Largest clock difference tolerated between the KDC and us.
    pub max_skew: Duration,
}

impl AsOptions {
    /// Defaults for a TGT for `client`: all supported enctypes, 10 hours, forwardable.
    pub fn new(client: Principal) -> Self {
        Self {
            client,
            service: None,
            etypes: keyless_crypto::SUPPORTED.to_vec(),
            lifetime: Duration::from_secs(10 * 3600),
            renew_lifetime: None,
            forwardable: true,
            request_pac: None,
            canonicalize: true,
            max_skew: Duration::from_secs(300),
        }
    }
}

/// The key that protects the exchange, once chosen.
struct ReplyKey {
    key: Key,
}

/// An AS exchange in progress.
pub struct AsExchange {
    opts: AsOptions,
    secret: ClientSecret,
    realm: String,
    service: Principal,
    nonce: u32,
    reply_key: Option<ReplyKey>,
    sent_preauth: bool,
    referrals: usize,
}

impl std::fmt::Debug for AsExchange {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AsExchange")
            .field("client", &self.opts.client)
            .field("realm", &self.realm)
            .finish_non_exhaustive()
    }
}

impl AsExchange {
    /// Starts an exchange; the first request carries no pre-authentication, so the KDC tells
    /// us which enctype, salt and s2kparams to use.
    ///
    /// # Errors
    /// A principal that cannot be encoded, or no randomness.
    pub fn start(
        opts: AsOptions,
        secret: ClientSecret,
        now: SystemTime,
        rng: &mut dyn RandomSource,
    ) -> Result<(Self, Step), Error> {
        let realm = opts.client.realm.clone();
        let service = opts.service.clone().unwrap_or_else(|| Principal::krbtgt(&realm, &realm));
        let ex = Self {
            opts,
            secret,
            realm,
            service,
            nonce: nonce(rng)?,
            reply_key: None,
            sent_preauth: false,
            referrals: 0,
        };
        let message = ex.request(Vec::new(), now)?;
        let step = Step::Send { realm: ex.realm.clone(), message };
        Ok((ex, step))
    }

    /// Takes the KDC's reply to the last [`Step::Send`].
    ///
    /// # Errors
    /// The KDC's error (wrong password, unknown principal, clock skew...), a reply that does not
    /// decode, decrypt or match the request.
    pub fn handle_reply(&mut self, reply: &[u8], now: SystemTime, rng: &mut dyn RandomSource) -> Result<Step, Error> {
        match messages::decode_reply(reply)? {
            KdcReply::Error(err) => self.handle_error(&err, now, rng),
            KdcReply::As(rep) => self.handle_as_rep(&rep, now).map(|c| Step::Done(Box::new(c))),
            KdcReply::Tgs(_) => Err(Error::ReplyMismatch("a TGS-REP answered an AS-REQ")),
        }
    }

    fn handle_error(
        &mut self,
        err: &rasn_kerberos::KrbError,
        now: SystemTime,
        rng: &mut dyn RandomSource,
    ) -> Result<Step, Error> {
        let code = messages::error_code(err);
        match code {
            KrbErrorCode::KDC_ERR_PREAUTH_REQUIRED if !self.sent_preauth => {
                let method_data: Vec<PaData> = match err.e_data.as_ref() {
                    Some(d) => messages::decode("METHOD-DATA in KRB-ERROR", d)?,
                    None => Vec::new(),
                };
                let key = self.choose_key(Some(&method_data), None)?;
                let padata = self.enc_timestamp(&key, now, rng)?;
                self.reply_key = Some(ReplyKey { key });
                self.sent_preauth = true;
                self.nonce = nonce(rng)?;
                let message = self.request(vec![padata], now)?;
                Ok(Step::Send { realm: self.realm.clone(), message })
            }
            KrbErrorCode::KDC_ERR_WRONG_REALM => {
                let referred = err.crealm.as_ref().map(|r| String::from_utf8_lossy(r.as_bytes()).into_owned());
                match referred {
                    Some(r) if r != self.realm => {
                        self.referrals += 1;
                        if self.referrals > MAX_REFERRALS {
                            return Err(Error::TooManyReferrals(self.referrals));
                        }
                        if self.service.is_krbtgt() {
                            self.service = Principal::krbtgt(&r, &r);
                        }
                        self.realm = r;
                        self.sent_preauth = false;
                        self.reply_key = None;
                        self.nonce = nonce(rng)?;
                        let message = self.request(Vec::new(), now)?;
                        Ok(Step::Send { realm: self.realm.clone(), message })
                    }
                    _ => Err(messages::kdc_error(err, &self.realm)),
                }
            }
            KrbErrorCode::KRB_AP_ERR_SKEW => {
                Err(Error::ClockSkew { kdc_ahead_by: seconds_of(&err.stime) - unix_seconds(now) })
            }
            _ => Err(messages::kdc_error(err, &self.realm)),
        }
    }

    fn handle_as_rep(&mut self, rep: &AsRep, now: SystemTime) -> Result<Credential, Error> {
        let rep = &rep.0;
        let etype = EncType(rep.enc_part.etype);
        // The reply key: the one pre-authentication used, unless the KDC chose another enctype.
        let key = match self.reply_key.take() {
            Some(k) if k.key.etype() == etype => k.key,
            _ => self.choose_key(rep.padata.as_deref(), Some(etype))?,
        };
        let plain = for_etype(etype)
            .map_err(Error::Crypto)?
            .decrypt(&key, KeyUsage::AS_REP_ENC_PART, rep.enc_part.cipher.as_ref())
            .map_err(|source| Error::Decrypt { what: "the AS-REP (wrong password or key?)", source })?;
        let enc = messages::decode_enc_kdc_rep_part(&plain)?;
        if enc.nonce != self.nonce {
            return Err(Error::ReplyMismatch("nonce"));
        }
        let client = Principal::from_asn1(&rep.crealm, &rep.cname);
        let server = Principal::from_asn1(&enc.srealm, &enc.sname);
        if !self.opts.canonicalize && !client.same_name(&self.opts.client) {
            return Err(Error::ReplyMismatch("client name"));
        }
        // With canonicalization the KDC may rename the service, but not turn a TGT into another kind of ticket.
        let acceptable = server.same_name(&self.service)
            || (self.opts.canonicalize && server.is_krbtgt() == self.service.is_krbtgt());
        if !acceptable {
            return Err(Error::ReplyMismatch("service name"));
        }
        let auth_time = seconds_of(&enc.auth_time);
        let offset = auth_time - unix_seconds(now);
        if offset.unsigned_abs() > self.opts.max_skew.as_secs() {
            return Err(Error::ClockSkew { kdc_ahead_by: offset });
        }
        let ticket = messages::encode("Ticket", &rep.ticket)?;
        credential_from(client, server, &enc, ticket)
    }

    /// The client's long-term key for the enctype the KDC asks for (from its ETYPE-INFO2, or
    /// `etype` when the KDC already chose), or the first mutually supported one.
    fn choose_key(&self, padata: Option<&[PaData]>, etype: Option<EncType>) -> Result<Key, Error> {
        let info: EtypeInfo2 = match messages::find_padata(padata, PaType::ETYPE_INFO2) {
            Some(v) => messages::decode("ETYPE-INFO2", v)?,
            None => Vec::new(),
        };
        let offered: Vec<EncType> = info.iter().map(|e| EncType(e.etype)).collect();
        let usable = |e: EncType| {
            self.opts.etypes.contains(&e)
                && match &self.secret {
                    ClientSecret::Password(_) => for_etype(e).is_ok(),
                    ClientSecret::Keys(keys) => keys.iter().any(|k| k.etype() == e),
                }
        };
        let chosen: Option<(EncType, Option<&EtypeInfo2Entry>)> = match etype {
            Some(e) => usable(e).then(|| (e, info.iter().find(|i| i.etype == e.0))),
            None if info.is_empty() => self.opts.etypes.iter().copied().find(|&e| usable(e)).map(|e| (e, None)),
            None => info.iter().find(|i| usable(EncType(i.etype))).map(|i| (EncType(i.etype), Some(i))),
        };
        let Some((etype, entry)) = chosen else {
            if let ClientSecret::Keys(_) = self.secret {
                return Err(Error::NoKeyInKeytab(self.opts.client.clone()));
            }
            return Err(Error::NoCommonEncType { offered });
        };
        match &self.secret {
            ClientSecret::Keys(keys) => keys
                .iter()
                .find(|k| k.etype() == etype)
                .cloned()
                .ok_or_else(|| Error::NoKeyInKeytab(self.opts.client.clone())),
            ClientSecret::Password(password) => {
                let e = for_etype(etype).map_err(Error::Crypto)?;
                let salt = match entry.and_then(|i| i.salt.as_ref()) {
                    Some(s) => s.as_bytes().to_vec(),
                    None => self.opts.client.default_salt(),
                };
                let params = entry.and_then(|i| i.s2kparams.as_ref()).map(|p| p.to_vec());
                if let Some(p) = params.as_deref() {
                    // A KDC (or someone in between) must not talk us into a weak key derivation.
                    if p.len() == 4 && u32::from_be_bytes([p[0], p[1], p[2], p[3]]) < e.default_iterations() {
                        return Err(Error::Crypto(keyless_crypto::CryptoError::BadS2kParams));
                    }
                }
                e.string_to_key(password.as_bytes(), &salt, params.as_deref()).map_err(Error::Crypto)
            }
        }
    }

    /// PA-ENC-TIMESTAMP (RFC 4120 5.2.7.2) under the client key.
    fn enc_timestamp(&self, key: &Key, now: SystemTime, rng: &mut dyn RandomSource) -> Result<PaData, Error> {
        let ts = PaEncTsEnc { patimestamp: kerberos_time(unix_seconds(now)), pausec: Some(Integer::from(micros(now))) };
        let plain = messages::encode("PA-ENC-TS-ENC", &ts)?;
        let cipher = encrypt(key, KeyUsage::AS_REQ_PA_ENC_TIMESTAMP, &plain, rng)?;
        let data = EncryptedData { etype: key.etype().0, kvno: None, cipher: OctetString::from(cipher) };
        Ok(PaData {
            r#type: PaType::ENC_TIMESTAMP.0,
            value: OctetString::from(messages::encode("PA-ENC-TIMESTAMP", &data)?),
        })
    }

    fn request(&self, mut padata: Vec<PaData>, now: SystemTime) -> Result<Vec<u8>, Error> {
        if let Some(include_pac) = self.opts.request_pac {
            let v = messages::encode("PA-PAC-REQUEST", &messages::PaPacRequest { include_pac })?;
            padata.push(PaData { r#type: PaType::PAC_REQUEST.0, value: OctetString::from(v) });
        }
        let mut options = kdc_options::RENEWABLE_OK;
        if self.opts.forwardable {
            options |= kdc_options::FORWARDABLE;
        }
        if self.opts.canonicalize {
            options |= kdc_options::CANONICALIZE;
        }
        if self.opts.renew_lifetime.is_some() {
            options |= kdc_options::RENEWABLE;
        }
        let service = Principal { realm: self.realm.clone(), ..self.service.clone() };
        let body = KdcReqBody {
            kdc_options: KdcOptions(messages::flags(options)),
            cname: Some(self.opts.client.to_asn1()?),
            realm: realm_asn1(&self.realm)?,
            sname: Some(service.to_asn1()?),
            from: None,
            till: kerberos_time(after(now, self.opts.lifetime)),
            rtime: self.opts.renew_lifetime.map(|r| kerberos_time(after(now, r))),
            nonce: self.nonce,
            etype: self.opts.etypes.iter().map(|e| e.0).collect(),
            addresses: None,
            enc_authorization_data: None,
            additional_tickets: None,
        };
        let req = AsReq(KdcReq {
            pvno: Integer::from(PVNO),
            msg_type: Integer::from(MsgType::AS_REQ.0),
            padata: (!padata.is_empty()).then_some(padata),
            req_body: body,
        });
        messages::encode("AS-REQ", &req)
    }
}

/// Encrypts with a fresh confounder from `rng`.
pub(crate) fn encrypt(key: &Key, usage: KeyUsage, plain: &[u8], rng: &mut dyn RandomSource) -> Result<Vec<u8>, Error> {
    let e = for_etype(key.etype()).map_err(Error::Crypto)?;
    let mut confounder = [0u8; 16];
    let confounder = &mut confounder[..e.confounder_len()];
    rng.fill(confounder)?;
    e.encrypt(key, usage, confounder, plain).map_err(Error::Crypto)
}

/// A credential from a decrypted reply part.
pub(crate) fn credential_from(
    client: Principal,
    server: Principal,
    enc: &EncKdcRepPart,
    ticket: Vec<u8>,
) -> Result<Credential, Error> {
    let session_key = Key::from_bytes(EncType(enc.key.r#type), enc.key.value.as_ref()).map_err(Error::Crypto)?;
    Ok(Credential {
        client,
        server,
        session_key,
        auth_time: seconds_of(&enc.auth_time),
        start_time: enc.start_time.as_ref().map(seconds_of).unwrap_or(0),
        end_time: seconds_of(&enc.end_time),
        renew_till: enc.renew_till.as_ref().map(seconds_of).unwrap_or(0),
        flags: messages::flags_mask(&enc.flags.0),
        ticket,
    })
}
