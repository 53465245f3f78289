//! The GSS side of SESSION_SETUP: SPNEGO over Kerberos or NTLMv2 (`keyless-gss`), a small state
//! machine the core feeds server tokens to, with the time and randomness the core was given.

use crate::auth::Auth;
use crate::error::{Error, Misbehaviour};
use keyless_gss::{ntlmssp, spnego};
use keyless_krb::RandomSource;
use std::time::SystemTime;
use zeroize::Zeroizing;

/// What to do after a step.
pub(crate) enum Step {
    /// Send this token in the next SESSION_SETUP.
    Send(Vec<u8>),
    /// Authentication is complete; the GSS session key.
    Done(Zeroizing<Vec<u8>>),
}

/// The authentication in progress.
pub(crate) enum Authenticator {
    NtlmStart(spnego::NtlmInitiator),
    NtlmPending(Box<spnego::NtlmPending>),
    Krb5(spnego::Krb5Initiator),
    /// Kerberos is established; the server may still owe its final answer.
    Established(Zeroizing<Vec<u8>>),
    Spent,
}

impl Authenticator {
    /// The first token.
    pub(crate) fn start(auth: &Auth, now: SystemTime, rng: &mut dyn RandomSource) -> Result<(Self, Vec<u8>), Error> {
        Ok(match auth {
            Auth::Ntlm { user, domain, password } => {
                let (init, token) = spnego::NtlmInitiator::start(user, domain, password.as_bytes())?;
                (Self::NtlmStart(init), token)
            }
            Auth::Kerberos(ticket) => {
                let flags = keyless_gss::krb5::flags::MUTUAL | keyless_gss::krb5::flags::INTEG;
                let (init, token) = spnego::Krb5Initiator::start(ticket, flags, now, rng)?;
                (Self::Krb5(init), token)
            }
        })
    }

    /// Takes the server's token; `done` says whether SESSION_SETUP answered STATUS_SUCCESS.
    pub(crate) fn step(
        &mut self,
        token: &[u8],
        done: bool,
        spn: &str,
        now: SystemTime,
        rng: &mut dyn RandomSource,
    ) -> Result<Step, Error> {
        let mismatch = Error::PeerMisbehaved(Misbehaviour::AuthStateMismatch);
        match std::mem::replace(self, Self::Spent) {
            Self::NtlmStart(init) if !done => {
                let inputs = ntlmssp::AuthInputs::random(ntlmssp::filetime(now), rng)?;
                let (pending, answer) = init.handle_challenge(token, Some(spn), inputs)?;
                *self = Self::NtlmPending(Box::new(pending));
                Ok(Step::Send(answer))
            }
            Self::NtlmPending(pending) if done => {
                let ctx = pending.finish(token)?;
                Ok(Step::Done(Zeroizing::new(ctx.session_key().expose_bytes().to_vec())))
            }
            Self::Krb5(init) => {
                let (ctx, more) = init.handle_reply(token)?;
                let key = Zeroizing::new(ctx.session_key().expose_bytes().to_vec());
                match (more, done) {
                    (Some(mic), false) => {
                        *self = Self::Established(key);
                        Ok(Step::Send(mic))
                    }
                    (None, true) => Ok(Step::Done(key)),
                    _ => Err(mismatch),
                }
            }
            Self::Established(key) if done => Ok(Step::Done(key)),
            _ => Err(mismatch),
        }
    }
}
