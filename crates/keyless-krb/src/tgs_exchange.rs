//! The TGS exchange (RFC 4120 3.3) as a sans-IO state machine, with cross-realm TGTs and
//! referrals (RFC 6806 8): to reach a service in realm B with a TGT of realm A it asks A for
//! `krbtgt/B@A`, follows whatever `krbtgt/X@...` the KDCs hand back, and asks B for the
//! service, up to [`MAX_HOPS`] hops.

use crate::as_exchange::{credential_from, encrypt};
use crate::credential::Credential;
use crate::messages::{self, KdcReply, MsgType, PVNO, PaType, kdc_options};
use crate::principal::{Principal, realm_asn1};
use crate::random::{RandomSource, nonce};
use crate::time::{after, kerberos_time, micros, unix_seconds};
use crate::{Error, Step};
use keyless_crypto::{EncType, KeyUsage, for_etype};
use rasn::types::{Integer, OctetString};
use rasn_kerberos::{
    ApOptions, ApReq, Authenticator, Checksum, EncryptedData, KdcOptions, KdcReq, KdcReqBody, PaData, TgsRep, TgsReq,
    Ticket,
};
use std::time::{Duration, SystemTime};

/// Most realms crossed on the way to a service.
pub const MAX_HOPS: usize = 10;

/// What to ask for.
#[derive(Clone, Debug)]
pub struct TgsOptions {
    /// The service, with the realm it lives in (or the client's realm, to let referrals find it).
    pub server: Principal,
    /// Acceptable session-key enctypes, most preferred first.
    pub etypes: Vec<EncType>,
    /// Requested lifetime.
    pub lifetime: Duration,
    /// Ask for a forwardable ticket.
    pub forwardable: bool,
    /// Allow the KDC to canonicalize the name and answer with referrals.
    pub canonicalize: bool,
}

impl TgsOptions {
    /// Defaults: all supported enctypes, 10 hours, canonicalize.
    pub fn new(server: Principal) -> Self {
        Self {
            server,
            etypes: keyless_crypto::SUPPORTED.to_vec(),
            lifetime: Duration::from_secs(10 * 3600),
            forwardable: false,
            canonicalize: true,
        }
    }
}

/// A TGS exchange in progress.
#[derive(Debug)]
pub struct TgsExchange {
    opts: TgsOptions,
    /// The TGT used for the current request.
    tgt: Credential,
    /// What the current request asks for.
    requested: Principal,
    nonce: u32,
    hops: usize,
    /// Cross-realm TGTs picked up on the way (worth caching).
    cross_realm: Vec<Credential>,
}

impl TgsExchange {
    /// Starts from a TGT (`krbtgt/R@...`): asks R for the service if it lives in R, otherwise
    /// for a TGT of the service's realm.
    ///
    /// # Errors
    /// A TGT that is not one, names that cannot be encoded, no randomness.
    pub fn start(
        tgt: Credential,
        opts: TgsOptions,
        now: SystemTime,
        rng: &mut dyn RandomSource,
    ) -> Result<(Self, Step), Error> {
        if !tgt.server.is_krbtgt() {
            return Err(Error::ReplyMismatch("the credential given as TGT is not a krbtgt ticket"));
        }
        let mut ex = Self { requested: opts.server.clone(), opts, tgt, nonce: 0, hops: 0, cross_realm: Vec::new() };
        let step = ex.next_request(now, rng)?;
        Ok((ex, step))
    }

    /// Cross-realm TGTs obtained so far.
    pub fn cross_realm_tgts(&self) -> &[Credential] {
        &self.cross_realm
    }

    fn tgt_realm(&self) -> &str {
        self.tgt.server.krbtgt_target().unwrap_or(&self.tgt.server.realm)
    }

    fn next_request(&mut self, now: SystemTime, rng: &mut dyn RandomSource) -> Result<Step, Error> {
        let realm = self.tgt_realm().to_string();
        self.requested = if self.opts.server.realm == realm {
            self.opts.server.clone()
        } else {
            Principal::krbtgt(&self.opts.server.realm, &realm)
        };
        self.nonce = nonce(rng)?;
        let message = self.request(&realm, now, rng)?;
        Ok(Step::Send { realm, message })
    }

    /// Takes the KDC's reply to the last [`Step::Send`].
    ///
    /// # Errors
    /// The KDC's error, a reply that does not decode, decrypt or match, or too many hops.
    pub fn handle_reply(&mut self, reply: &[u8], now: SystemTime, rng: &mut dyn RandomSource) -> Result<Step, Error> {
        let rep = match messages::decode_reply(reply)? {
            KdcReply::Tgs(rep) => rep,
            KdcReply::Error(err) => return Err(messages::kdc_error(&err, self.tgt_realm())),
            KdcReply::As(_) => return Err(Error::ReplyMismatch("an AS-REP answered a TGS-REQ")),
        };
        let cred = self.credential(&rep)?;
        if cred.server.same_name(&self.requested) && !self.requested.is_krbtgt() {
            return Ok(Step::Done(Box::new(cred)));
        }
        let Some(next_realm) = cred.server.krbtgt_target().map(str::to_string) else {
            // A service ticket for another name than asked: only with canonicalization.
            if self.opts.canonicalize && !self.requested.is_krbtgt() {
                return Ok(Step::Done(Box::new(cred)));
            }
            return Err(Error::ReplyMismatch("service name"));
        };
        if next_realm == self.tgt_realm() {
            return Err(Error::ReplyMismatch("the KDC referred us back to its own realm"));
        }
        self.hops += 1;
        if self.hops > MAX_HOPS {
            return Err(Error::TooManyReferrals(self.hops));
        }
        // A referral for the service itself tells us the realm it lives in.
        if !self.requested.is_krbtgt() {
            self.opts.server.realm = next_realm.clone();
        }
        self.cross_realm.push(cred.clone());
        self.tgt = cred;
        if self.requested.krbtgt_target() == Some(next_realm.as_str()) && self.opts.server.is_krbtgt() {
            // We wanted exactly this TGT.
            return Ok(Step::Done(Box::new(self.tgt.clone())));
        }
        self.next_request(now, rng)
    }

    fn credential(&self, rep: &TgsRep) -> Result<Credential, Error> {
        let rep = &rep.0;
        let key = &self.tgt.session_key;
        if rep.enc_part.etype != key.etype().0 {
            return Err(Error::ReplyMismatch("TGS-REP encrypted with another enctype than the session key"));
        }
        let plain = for_etype(key.etype())
            .map_err(Error::Crypto)?
            .decrypt(key, KeyUsage::TGS_REP_ENC_PART_SESSION_KEY, rep.enc_part.cipher.as_ref())
            .map_err(|source| Error::Decrypt { what: "the TGS-REP", source })?;
        let enc = messages::decode_enc_kdc_rep_part(&plain)?;
        if enc.nonce != self.nonce {
            return Err(Error::ReplyMismatch("nonce"));
        }
        let client = Principal::from_asn1(&rep.crealm, &rep.cname);
        if !client.same_name(&self.tgt.client) {
            return Err(Error::ReplyMismatch("client name"));
        }
        let server = Principal::from_asn1(&enc.srealm, &enc.sname);
        let ticket = messages::encode("Ticket", &rep.ticket)?;
        credential_from(client, server, &enc, ticket)
    }

    /// TGS-REQ with PA-TGS-REQ: an AP-REQ whose authenticator checksums the request body.
    fn request(&self, realm: &str, now: SystemTime, rng: &mut dyn RandomSource) -> Result<Vec<u8>, Error> {
        let mut options = 0;
        if self.opts.forwardable {
            options |= kdc_options::FORWARDABLE;
        }
        if self.opts.canonicalize {
            options |= kdc_options::CANONICALIZE;
        }
        let body = KdcReqBody {
            kdc_options: KdcOptions(messages::flags(options)),
            cname: None,
            realm: realm_asn1(realm)?,
            sname: Some(self.requested.to_asn1()?),
            from: None,
            till: kerberos_time(after(now, self.opts.lifetime)),
            rtime: None,
            nonce: self.nonce,
            etype: self.opts.etypes.iter().map(|e| e.0).collect(),
            addresses: None,
            enc_authorization_data: None,
            additional_tickets: None,
        };
        let body_der = messages::encode("KDC-REQ-BODY", &body)?;
        let ap_req = self.ap_req(&body_der, now, rng)?;
        let req = TgsReq(KdcReq {
            pvno: Integer::from(PVNO),
            msg_type: Integer::from(MsgType::TGS_REQ.0),
            padata: Some(vec![PaData { r#type: PaType::TGS_REQ.0, value: OctetString::from(ap_req) }]),
            req_body: body,
        });
        messages::encode("TGS-REQ", &req)
    }

    fn ap_req(&self, body_der: &[u8], now: SystemTime, rng: &mut dyn RandomSource) -> Result<Vec<u8>, Error> {
        let key = &self.tgt.session_key;
        let e = for_etype(key.etype()).map_err(Error::Crypto)?;
        let cksum = e.checksum(key, KeyUsage::TGS_REQ_AUTH_CKSUM, body_der).map_err(Error::Crypto)?;
        let authenticator = Authenticator {
            authenticator_vno: Integer::from(PVNO),
            crealm: realm_asn1(&self.tgt.client.realm)?,
            cname: self.tgt.client.to_asn1()?,
            cksum: Some(Checksum { r#type: e.checksum_type().0, checksum: OctetString::from(cksum) }),
            cusec: Integer::from(micros(now)),
            ctime: kerberos_time(unix_seconds(now)),
            subkey: None,
            seq_number: None,
            authorization_data: None,
        };
        let plain = messages::encode("Authenticator", &authenticator)?;
        let cipher = encrypt(key, KeyUsage::TGS_REQ_AUTHENTICATOR, &plain, rng)?;
        let ticket: Ticket = messages::decode("Ticket in the credential cache", &self.tgt.ticket)?;
        let ap_req = ApReq {
            pvno: Integer::from(PVNO),
            msg_type: Integer::from(MsgType::AP_REQ.0),
            ap_options: ApOptions(messages::flags(0)),
            ticket,
            authenticator: EncryptedData { etype: key.etype().0, kvno: None, cipher: OctetString::from(cipher) },
        };
        messages::encode("AP-REQ", &ap_req)
    }
}
