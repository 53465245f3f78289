//! SPNEGO (RFC 4178, and MS-SPNG's NegTokenInit2 as SMB servers send it in NEGOTIATE), and
//! Kerberos inside it: [`Krb5Initiator`] and [`accept_krb5`]. The mechListMIC is computed and
//! verified with the negotiated mechanism's MIC over the DER MechTypeList.
//!
//! ```text
//! NegotiationToken ::= CHOICE { negTokenInit [0] NegTokenInit, negTokenResp [1] NegTokenResp }
//! NegTokenInit ::= SEQUENCE { mechTypes [0] MechTypeList, reqFlags [1] ContextFlags OPTIONAL,
//!     mechToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL }
//! NegTokenInit2 ::= SEQUENCE { mechTypes [0], reqFlags [1] OPTIONAL, mechToken [2] OPTIONAL,
//!     negHints [3] NegHints OPTIONAL, mechListMIC [4] OCTET STRING OPTIONAL }   -- MS-SPNG 2.2.1
//! NegTokenResp ::= SEQUENCE { negState [0] ENUMERATED OPTIONAL, supportedMech [1] MechType OPTIONAL,
//!     responseToken [2] OCTET STRING OPTIONAL, mechListMIC [3] OCTET STRING OPTIONAL }
//! ```

use crate::Error;
use crate::framing::{self, SPNEGO_OID};
use crate::krb5::{self, Context};
use crate::ntlmssp;
use keyless_krb::keytab::Keytab;
use keyless_krb::{Credential, RandomSource};
use rasn::prelude::*;
use std::time::SystemTime;

/// OID arcs.
pub mod oid {
    /// Kerberos V5 (RFC 1964).
    pub const KRB5: &[u32] = &[1, 2, 840, 113_554, 1, 2, 2];
    /// Kerberos V5 as Microsoft spells it.
    pub const MS_KRB5: &[u32] = &[1, 2, 840, 48_018, 1, 2, 2];
    /// NTLMSSP (MS-NLMP).
    pub const NTLMSSP: &[u32] = &[1, 3, 6, 1, 4, 1, 311, 2, 2, 10];
}

/// An OID from the constants above (valid by construction: two or more arcs, first below 3).
pub fn oid(arcs: &'static [u32]) -> ObjectIdentifier {
    ObjectIdentifier::new_unchecked(std::borrow::Cow::Borrowed(arcs))
}

/// negState (RFC 4178 4.2.2).
#[derive(AsnType, Clone, Copy, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(enumerated)]
pub enum NegState {
    /// The context is established.
    AcceptCompleted = 0,
    /// More tokens follow.
    AcceptIncomplete = 1,
    /// The acceptor refuses.
    Reject = 2,
    /// The acceptor wants a mechListMIC.
    RequestMic = 3,
}

/// NegTokenInit and MS-SPNG's NegTokenInit2 in one: `[3]` is RFC 4178's mechListMIC or
/// MS-SPNG's negHints, so it is kept as raw DER.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct NegTokenInit {
    /// Mechanisms, most preferred first.
    #[rasn(tag(explicit(0)))]
    pub mech_types: Vec<ObjectIdentifier>,
    /// ContextFlags (deprecated; never sent by keyless).
    #[rasn(tag(explicit(1)))]
    pub req_flags: Option<BitString>,
    /// The optimistic token of the first mechanism.
    #[rasn(tag(explicit(2)))]
    pub mech_token: Option<OctetString>,
    /// mechListMIC (RFC 4178) or negHints (MS-SPNG).
    #[rasn(tag(explicit(3)))]
    pub field3: Option<Any>,
    /// mechListMIC (MS-SPNG NegTokenInit2).
    #[rasn(tag(explicit(4)))]
    pub mech_list_mic: Option<OctetString>,
}

/// NegTokenResp.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
pub struct NegTokenResp {
    /// The state of the negotiation.
    #[rasn(tag(explicit(0)))]
    pub neg_state: Option<NegState>,
    /// The mechanism the acceptor chose (first answer only).
    #[rasn(tag(explicit(1)))]
    pub supported_mech: Option<ObjectIdentifier>,
    /// The mechanism's token.
    #[rasn(tag(explicit(2)))]
    pub response_token: Option<OctetString>,
    /// MIC over the initiator's MechTypeList.
    #[rasn(tag(explicit(3)))]
    pub mech_list_mic: Option<OctetString>,
}

/// NegotiationToken.
#[derive(AsnType, Clone, Debug, Decode, Encode, PartialEq, Eq)]
#[rasn(choice)]
pub enum NegotiationToken {
    /// The initiator's first token.
    #[rasn(tag(explicit(0)))]
    Init(NegTokenInit),
    /// Every later token.
    #[rasn(tag(explicit(1)))]
    Resp(NegTokenResp),
}

fn encode<T: Encode>(what: &'static str, v: &T) -> Result<Vec<u8>, Error> {
    rasn::der::encode(v).map_err(|e| Error::Malformed { what, detail: e.to_string() })
}

fn decode<T: Decode>(what: &'static str, b: &[u8]) -> Result<T, Error> {
    rasn::ber::decode(b).map_err(|e| Error::Malformed { what, detail: e.to_string() })
}

/// The initiator's first token: GSS-framed NegTokenInit with an optimistic mechanism token.
///
/// # Errors
/// Never for valid OIDs.
pub fn init_token(mech_types: &[ObjectIdentifier], mech_token: &[u8]) -> Result<Vec<u8>, Error> {
    let init = NegTokenInit {
        mech_types: mech_types.to_vec(),
        req_flags: None,
        mech_token: Some(OctetString::from(mech_token.to_vec())),
        field3: None,
        mech_list_mic: None,
    };
    Ok(framing::wrap(SPNEGO_OID, &encode("NegTokenInit", &NegotiationToken::Init(init))?))
}

/// Parses an initiator's first token (or a server's NegTokenInit2 hint).
///
/// # Errors
/// [`Error::Malformed`] when it is not a framed SPNEGO NegTokenInit.
pub fn parse_init(token: &[u8]) -> Result<NegTokenInit, Error> {
    let (mech, inner) = framing::unwrap(token)?;
    if mech != SPNEGO_OID {
        return Err(Error::Malformed { what: "SPNEGO token", detail: "not the SPNEGO mechanism".into() });
    }
    match decode("NegotiationToken", inner)? {
        NegotiationToken::Init(i) => Ok(i),
        NegotiationToken::Resp(_) => Err(Error::Malformed {
            what: "SPNEGO token",
            detail: "a NegTokenResp where NegTokenInit was expected".into(),
        }),
    }
}

/// A later token (NegTokenResp, not GSS-framed).
///
/// # Errors
/// Never for valid values.
pub fn resp_token(resp: NegTokenResp) -> Result<Vec<u8>, Error> {
    encode("NegTokenResp", &NegotiationToken::Resp(resp))
}

/// Parses a NegTokenResp.
///
/// # Errors
/// [`Error::Malformed`].
pub fn parse_resp(token: &[u8]) -> Result<NegTokenResp, Error> {
    match decode("NegotiationToken", token)? {
        NegotiationToken::Resp(r) => Ok(r),
        NegotiationToken::Init(_) => Err(Error::Malformed {
            what: "SPNEGO token",
            detail: "a NegTokenInit where NegTokenResp was expected".into(),
        }),
    }
}

/// The bytes the mechListMIC covers: the DER MechTypeList (RFC 4178 5).
///
/// # Errors
/// Never for valid OIDs.
pub fn mech_list_bytes(mech_types: &[ObjectIdentifier]) -> Result<Vec<u8>, Error> {
    encode("MechTypeList", &mech_types.to_vec())
}

fn is_krb5(o: &ObjectIdentifier) -> bool {
    **o == *oid::KRB5 || **o == *oid::MS_KRB5
}

/// Kerberos through SPNEGO, initiator side.
#[derive(Debug)]
pub struct Krb5Initiator {
    inner: krb5::Initiator,
    mech_types: Vec<ObjectIdentifier>,
}

impl Krb5Initiator {
    /// The first token: NegTokenInit offering Kerberos (MS OID first, as Windows does, then
    /// RFC 1964's) with the AP-REQ as optimistic token.
    ///
    /// # Errors
    /// As [`krb5::Initiator::start`].
    pub fn start(
        ticket: &Credential,
        gss_flags: u32,
        now: SystemTime,
        rng: &mut dyn RandomSource,
    ) -> Result<(Self, Vec<u8>), Error> {
        let (inner, ap_req) = krb5::Initiator::start(ticket, gss_flags, &[0; 16], now, rng)?;
        let mech_types = vec![oid(oid::MS_KRB5), oid(oid::KRB5)];
        let token = init_token(&mech_types, &ap_req)?;
        Ok((Self { inner, mech_types }, token))
    }

    /// The context as the kernel's cifs client uses it: established on the AP-REQ alone and
    /// keyed with the authenticator's subkey, since the kernel never hands back the AP-REP.
    pub fn without_reply(self) -> Context {
        self.inner.without_reply()
    }

    /// Takes the acceptor's NegTokenResp: checks the chosen mechanism, verifies the AP-REP and,
    /// when present, the acceptor's mechListMIC. When the acceptor asks for our mechListMIC
    /// (accept-incomplete or request-mic), the returned token carries it and must be sent.
    ///
    /// # Errors
    /// A rejection, another mechanism, a bad AP-REP or a bad mechListMIC.
    pub fn handle_reply(self, token: &[u8]) -> Result<(Context, Option<Vec<u8>>), Error> {
        let resp = parse_resp(token)?;
        if resp.neg_state == Some(NegState::Reject) {
            return Err(Error::Refused("the acceptor rejected every mechanism offered"));
        }
        if let Some(m) = &resp.supported_mech
            && !is_krb5(m)
        {
            return Err(Error::Refused("the acceptor chose a mechanism other than Kerberos"));
        }
        let ap_rep = resp.response_token.as_ref().ok_or(Error::Refused("no AP-REP in the SPNEGO answer"))?;
        let mut ctx = self.inner.handle_reply(ap_rep)?;
        let list = mech_list_bytes(&self.mech_types)?;
        if let Some(mic) = &resp.mech_list_mic {
            ctx.verify_mic(&list, mic)?;
        }
        let ours = match resp.neg_state {
            Some(NegState::AcceptIncomplete | NegState::RequestMic) => {
                let mic = ctx.get_mic(&list)?;
                Some(resp_token(NegTokenResp {
                    neg_state: None,
                    supported_mech: None,
                    response_token: None,
                    mech_list_mic: Some(OctetString::from(mic)),
                })?)
            }
            _ => None,
        };
        Ok((ctx, ours))
    }
}

/// Kerberos through SPNEGO, acceptor side: the answer token and the established context.
///
/// # Errors
/// A token without a Kerberos optimistic token, or whatever [`krb5::accept`] refuses.
pub fn accept_krb5(
    keytab: &Keytab,
    token: &[u8],
    now: SystemTime,
    rng: &mut dyn RandomSource,
) -> Result<(krb5::Accepted, Vec<u8>), Error> {
    let init = parse_init(token)?;
    let first = init
        .mech_types
        .first()
        .ok_or_else(|| Error::Malformed { what: "NegTokenInit", detail: "no mechanisms".into() })?;
    if !is_krb5(first) {
        return Err(Error::Refused("the initiator's preferred mechanism is not Kerberos"));
    }
    let ap_req = init.mech_token.as_ref().ok_or(Error::Refused("no optimistic Kerberos token"))?;
    let mut accepted = krb5::accept(keytab, ap_req, now, rng)?;
    // No mechListMIC: we only ever accept the initiator's first choice, so nothing could have
    // been downgraded, and RFC 4178 5 makes the MIC optional exactly then (sending one would
    // cost the initiator another round trip).
    let resp = NegTokenResp {
        neg_state: Some(NegState::AcceptCompleted),
        supported_mech: Some(first.clone()),
        response_token: accepted.reply.take().map(OctetString::from),
        mech_list_mic: None,
    };
    Ok((accepted, resp_token(resp)?))
}

fn is_ntlm(o: &ObjectIdentifier) -> bool {
    **o == *oid::NTLMSSP
}

/// NTLM through SPNEGO, initiator side, waiting for the CHALLENGE.
#[derive(Debug)]
pub struct NtlmInitiator {
    client: ntlmssp::Client,
    mech_types: Vec<ObjectIdentifier>,
}

/// NTLM through SPNEGO, initiator side, AUTHENTICATE sent, waiting for the acceptor's verdict.
#[derive(Debug)]
pub struct NtlmPending {
    context: ntlmssp::Context,
    mech_types: Vec<ObjectIdentifier>,
}

impl NtlmInitiator {
    /// NegTokenInit offering NTLMSSP with the NEGOTIATE message.
    ///
    /// # Errors
    /// A password that is not UTF-8.
    pub fn start(user: &str, domain: &str, password: &[u8]) -> Result<(Self, Vec<u8>), Error> {
        let (client, negotiate) = ntlmssp::Client::start(user, domain, password)?;
        let mech_types = vec![oid(oid::NTLMSSP)];
        let token = init_token(&mech_types, &negotiate)?;
        Ok((Self { client, mech_types }, token))
    }

    /// Takes the NegTokenResp with the CHALLENGE; answers with AUTHENTICATE and the
    /// mechListMIC (required with NTLM, MS-SPNG 3.3.5.1), made with the new NTLM context.
    ///
    /// # Errors
    /// A rejection, another mechanism, or a bad CHALLENGE.
    pub fn handle_challenge(
        self,
        token: &[u8],
        spn: Option<&str>,
        inputs: ntlmssp::AuthInputs,
    ) -> Result<(NtlmPending, Vec<u8>), Error> {
        let resp = parse_resp(token)?;
        if resp.neg_state == Some(NegState::Reject) {
            return Err(Error::Refused("the acceptor rejected NTLM"));
        }
        if resp.supported_mech.as_ref().is_some_and(|m| !is_ntlm(m)) {
            return Err(Error::Refused("the acceptor chose a mechanism other than NTLM"));
        }
        let challenge = resp.response_token.as_ref().ok_or(Error::Refused("no NTLM CHALLENGE in the SPNEGO answer"))?;
        let done = self.client.authenticate(challenge, spn, inputs)?;
        let mut context = ntlmssp::Context::new(&done.session_key, done.flags, keyless_crypto::ntlm::Side::Client);
        let mic = context.get_mic(&mech_list_bytes(&self.mech_types)?);
        let answer = resp_token(NegTokenResp {
            neg_state: None,
            supported_mech: None,
            response_token: Some(OctetString::from(done.authenticate)),
            mech_list_mic: Some(OctetString::from(mic.to_vec())),
        })?;
        Ok((NtlmPending { context, mech_types: self.mech_types }, answer))
    }
}

impl NtlmPending {
    /// Takes the acceptor's final NegTokenResp: accept-completed, and its mechListMIC verified
    /// when sent.
    ///
    /// # Errors
    /// A rejection or a bad mechListMIC.
    pub fn finish(mut self, token: &[u8]) -> Result<ntlmssp::Context, Error> {
        let resp = parse_resp(token)?;
        if resp.neg_state != Some(NegState::AcceptCompleted) {
            return Err(Error::Refused("the acceptor did not complete NTLM authentication"));
        }
        if let Some(mic) = &resp.mech_list_mic {
            self.context.verify_mic(&mech_list_bytes(&self.mech_types)?, mic)?;
        }
        Ok(self.context)
    }
}

/// NTLM through SPNEGO, acceptor side: CHALLENGE sent, waiting for AUTHENTICATE.
#[derive(Debug)]
pub struct NtlmAcceptor {
    server: ntlmssp::Server,
    mech_types: Vec<ObjectIdentifier>,
}

impl NtlmAcceptor {
    /// Takes the initiator's NegTokenInit (NTLMSSP first, with NEGOTIATE) and answers with the
    /// CHALLENGE.
    ///
    /// # Errors
    /// A token that does not offer NTLM first with a NEGOTIATE.
    pub fn start(
        token: &[u8],
        target: &str,
        now: SystemTime,
        rng: &mut dyn RandomSource,
    ) -> Result<(Self, Vec<u8>), Error> {
        let init = parse_init(token)?;
        if !init.mech_types.first().is_some_and(is_ntlm) {
            return Err(Error::Refused("the initiator's preferred mechanism is not NTLM"));
        }
        let negotiate = init.mech_token.as_ref().ok_or(Error::Refused("no NTLM NEGOTIATE in the SPNEGO token"))?;
        let (server, challenge) = ntlmssp::Server::challenge(negotiate, target, now, rng)?;
        let answer = resp_token(NegTokenResp {
            neg_state: Some(NegState::AcceptIncomplete),
            supported_mech: Some(oid(oid::NTLMSSP)),
            response_token: Some(OctetString::from(challenge)),
            mech_list_mic: None,
        })?;
        Ok((Self { server, mech_types: init.mech_types }, answer))
    }

    /// The acceptor's state from the initiator's NegTokenInit and the NegTokenResp carrying
    /// the CHALLENGE that answered it, as a capture holds them (a recorded server played
    /// again, or an analyst checking an exchange).
    ///
    /// # Errors
    /// A token that does not offer NTLM first with a NEGOTIATE, or no CHALLENGE in the answer.
    pub fn resume(init_token: &[u8], challenge_token: &[u8]) -> Result<Self, Error> {
        let init = parse_init(init_token)?;
        if !init.mech_types.first().is_some_and(is_ntlm) {
            return Err(Error::Refused("the initiator's preferred mechanism is not NTLM"));
        }
        let negotiate = init.mech_token.as_ref().ok_or(Error::Refused("no NTLM NEGOTIATE in the SPNEGO token"))?;
        let resp = parse_resp(challenge_token)?;
        let challenge = resp.response_token.as_ref().ok_or(Error::Refused("no NTLM CHALLENGE in the SPNEGO token"))?;
        let server = ntlmssp::Server::resume(negotiate, challenge)?;
        Ok(Self { server, mech_types: init.mech_types })
    }

    /// Verifies AUTHENTICATE with the password `lookup` gives for (user, domain) and the
    /// initiator's mechListMIC; answers accept-completed with our own mechListMIC.
    ///
    /// # Errors
    /// An unknown user, a wrong password, a missing or wrong mechListMIC.
    pub fn finish(
        self,
        token: &[u8],
        lookup: impl Fn(&str, &str) -> Option<Vec<u8>>,
    ) -> Result<(ntlmssp::Authenticate, ntlmssp::Context, Vec<u8>), Error> {
        let resp = parse_resp(token)?;
        let authenticate =
            resp.response_token.as_ref().ok_or(Error::Refused("no NTLM AUTHENTICATE in the SPNEGO token"))?;
        let peek = ntlmssp::Authenticate::parse(authenticate)?;
        let password = lookup(&peek.user, &peek.domain).ok_or(Error::Refused("unknown NTLM user"))?;
        let (auth, session_key) = self.server.verify(authenticate, &password)?;
        let mut context = ntlmssp::Context::new(&session_key, auth.flags, keyless_crypto::ntlm::Side::Server);
        let list = mech_list_bytes(&self.mech_types)?;
        let mic = resp.mech_list_mic.as_ref().ok_or(Error::Refused("no mechListMIC with NTLM"))?;
        context.verify_mic(&list, mic)?;
        let ours = context.get_mic(&list);
        let answer = resp_token(NegTokenResp {
            neg_state: Some(NegState::AcceptCompleted),
            supported_mech: None,
            response_token: None,
            mech_list_mic: Some(OctetString::from(ours.to_vec())),
        })?;
        Ok((auth, context, answer))
    }
}

/// What an [`Initiator`] authenticates with.
#[derive(Clone, Copy)]
pub enum Mechanism<'a> {
    /// NTLMv2 with a password.
    Ntlm {
        /// User name.
        user: &'a str,
        /// Domain (empty: the acceptor's).
        domain: &'a str,
        /// Password.
        password: &'a [u8],
    },
    /// Kerberos with a service ticket for the acceptor.
    Kerberos(&'a Credential),
}

/// What an [`Initiator`] wants after a step.
pub enum InitStep {
    /// Send this token to the acceptor.
    Send(Vec<u8>),
    /// Authentication is complete: the GSS session key.
    Done(zeroize::Zeroizing<Vec<u8>>),
}

impl std::fmt::Debug for InitStep {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Send(token) => write!(f, "Send({} bytes)", token.len()),
            Self::Done(_) => f.write_str("Done(session key)"),
        }
    }
}

/// SPNEGO, initiator side, over NTLM or Kerberos: the whole exchange as one state machine that
/// an application protocol (SMB's SESSION_SETUP) feeds the acceptor's tokens to, with the
/// acceptor's verdict (`accepted`: the exchange succeeded on its side) beside each.
pub struct Initiator(InitState);

impl std::fmt::Debug for Initiator {
    /// The state's name only: an established state holds the session key.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match self.0 {
            InitState::NtlmStart(_) => "NtlmStart",
            InitState::NtlmPending(_) => "NtlmPending",
            InitState::Krb5(_) => "Krb5",
            InitState::Established(_) => "Established",
            InitState::Spent => "Spent",
        };
        f.debug_tuple("Initiator").field(&state).finish()
    }
}

enum InitState {
    NtlmStart(NtlmInitiator),
    NtlmPending(Box<NtlmPending>),
    Krb5(Krb5Initiator),
    /// Kerberos is established; the acceptor may still owe its final answer.
    Established(zeroize::Zeroizing<Vec<u8>>),
    Spent,
}

impl Initiator {
    /// The first token (mutual authentication and integrity asked of Kerberos).
    ///
    /// # Errors
    /// A ticket whose key cannot be used.
    pub fn start(
        mechanism: Mechanism<'_>,
        now: SystemTime,
        rng: &mut dyn RandomSource,
    ) -> Result<(Self, Vec<u8>), Error> {
        Ok(match mechanism {
            Mechanism::Ntlm { user, domain, password } => {
                let (init, token) = NtlmInitiator::start(user, domain, password)?;
                (Self(InitState::NtlmStart(init)), token)
            }
            Mechanism::Kerberos(ticket) => {
                let flags = krb5::flags::MUTUAL | krb5::flags::INTEG;
                let (init, token) = Krb5Initiator::start(ticket, flags, now, rng)?;
                (Self(InitState::Krb5(init)), token)
            }
        })
    }

    /// Takes the acceptor's `token`; `accepted` says whether the acceptor ended the exchange
    /// with success; `target` is the acceptor's name for NTLM's target info (`cifs/host`).
    ///
    /// # Errors
    /// The mechanism's errors; [`Error::OutOfTurn`] when the acceptor's verdict does not fit
    /// the exchange (success before the mechanism is done, or more after it is).
    pub fn step(
        &mut self,
        token: &[u8],
        accepted: bool,
        target: &str,
        now: SystemTime,
        rng: &mut dyn RandomSource,
    ) -> Result<InitStep, Error> {
        let key = |k: &[u8]| zeroize::Zeroizing::new(k.to_vec());
        match std::mem::replace(&mut self.0, InitState::Spent) {
            InitState::NtlmStart(init) if !accepted => {
                let inputs = ntlmssp::AuthInputs::random(keyless_wire_enum::filetime::from_system_time(now), rng)?;
                let (pending, answer) = init.handle_challenge(token, Some(target), inputs)?;
                self.0 = InitState::NtlmPending(Box::new(pending));
                Ok(InitStep::Send(answer))
            }
            InitState::NtlmPending(pending) if accepted => {
                Ok(InitStep::Done(key(pending.finish(token)?.session_key().expose_bytes())))
            }
            InitState::Krb5(init) => {
                let (ctx, more) = init.handle_reply(token)?;
                let session_key = key(ctx.session_key().expose_bytes());
                match (more, accepted) {
                    (Some(mic), false) => {
                        self.0 = InitState::Established(session_key);
                        Ok(InitStep::Send(mic))
                    }
                    (None, true) => Ok(InitStep::Done(session_key)),
                    _ => Err(Error::OutOfTurn),
                }
            }
            InitState::Established(session_key) if accepted => Ok(InitStep::Done(session_key)),
            _ => Err(Error::OutOfTurn),
        }
    }
}

#[cfg(test)]
mod initiator_tests {
    use super::*;

    struct Zeros;
    impl RandomSource for Zeros {
        fn fill(&mut self, buf: &mut [u8]) -> Result<(), keyless_krb::Error> {
            buf.fill(0);
            Ok(())
        }
    }

    fn ntlm() -> Initiator {
        let mechanism = Mechanism::Ntlm { user: "alice", domain: "", password: b"pw" };
        let (init, token) = Initiator::start(mechanism, SystemTime::UNIX_EPOCH, &mut Zeros).unwrap();
        assert!(matches!(parse_init(&token), Ok(t) if t.mech_types.iter().any(|m| m == oid::NTLMSSP)));
        init
    }

    #[test]
    fn success_before_the_challenge_is_out_of_turn() {
        let mut init = ntlm();
        let step = init.step(b"", true, "cifs/host", SystemTime::UNIX_EPOCH, &mut Zeros);
        assert!(matches!(step, Err(Error::OutOfTurn)));
        assert_eq!(format!("{init:?}"), "Initiator(\"Spent\")");
    }

    #[test]
    fn a_malformed_challenge_is_named() {
        let mut init = ntlm();
        let step = init.step(b"\x30\x00", false, "cifs/host", SystemTime::UNIX_EPOCH, &mut Zeros);
        assert!(matches!(step, Err(Error::Malformed { .. })), "{step:?}");
    }
}
