//! How a session authenticates: the GSS steps of SESSION_SETUP through SPNEGO, Kerberos or
//! NTLMv2 (`keyless-gss`), as a small state machine the connection feeds server tokens to.

use crate::Error;
use keyless_gss::credentials::Credentials;
use keyless_gss::{ntlmssp, spnego};
use keyless_krb::{Credential, RandomSource};
use std::future::Future;
use std::pin::Pin;
use std::time::SystemTime;
use zeroize::Zeroizing;

/// Who the session is.
#[derive(Clone)]
pub enum Auth {
    /// NTLMv2 with a password (also a storage account key with user `Azure\<account>`).
    Ntlm {
        /// User name.
        user: String,
        /// Domain (empty: the server's).
        domain: String,
        /// Password.
        password: Zeroizing<String>,
    },
    /// Kerberos with a service ticket for `cifs/<host>`.
    Kerberos(Credential),
}

impl core::fmt::Debug for Auth {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match self {
            Self::Ntlm { user, domain, .. } => write!(f, "Ntlm({domain}\\{user})"),
            Self::Kerberos(c) => write!(f, "Kerberos({} for {})", c.client, c.server),
        }
    }
}

impl Auth {
    /// When the credential stops being accepted (seconds since the epoch): a Kerberos
    /// ticket's end time; `None` for a password, which does not expire.
    pub fn expires_at(&self) -> Option<i64> {
        match self {
            Self::Ntlm { .. } => None,
            Self::Kerberos(c) => Some(c.end_time),
        }
    }

    /// How long the credential was issued for (seconds), when it expires.
    fn lifetime(&self) -> Option<i64> {
        match self {
            Self::Ntlm { .. } => None,
            Self::Kerberos(c) => Some(c.end_time - if c.start_time != 0 { c.start_time } else { c.auth_time }),
        }
    }

    /// Whether to renew before `now`'s next request: within five minutes of the end, or a
    /// quarter of the lifetime for short tickets.
    pub(crate) fn due_for_renewal(&self, now: i64) -> bool {
        match (self.expires_at(), self.lifetime()) {
            (Some(end), Some(life)) => now >= end - (life / 4).clamp(1, 300),
            _ => false,
        }
    }
}

/// The future [`Renew::renew`] returns.
pub type RenewFuture<'a> = Pin<Box<dyn Future<Output = Result<Auth, String>> + 'a>>;

/// Where a fresh credential comes from when the session's is about to expire (a new service
/// ticket from the cache's TGT, say). The connection reauthenticates with it before the
/// ticket ends, and again when the server says the session expired; the error is one line
/// for the user.
pub trait Renew: Send {
    /// A fresh credential for the same user, to replace `expiring`.
    fn renew<'a>(&'a mut self, expiring: &Auth) -> RenewFuture<'a>;
}

/// Fresh service tickets from Kerberos [`Credentials`]: a cache's TGT (what `keyless` uses),
/// a keytab, or a password.
pub struct RenewFrom {
    /// Where tickets come from.
    pub credentials: Credentials,
    /// The service (`cifs/<host>`).
    pub spn: keyless_krb::Principal,
    /// The KDCs to ask.
    pub kdcs: keyless_krb::transport::KdcDirectory,
}

impl Renew for RenewFrom {
    fn renew<'a>(&'a mut self, expiring: &Auth) -> RenewFuture<'a> {
        let after = expiring.expires_at().unwrap_or(i64::MIN);
        Box::pin(async move {
            let ticket = self.credentials.service_ticket_ending_after(&self.spn, &self.kdcs, after).await;
            ticket.map(Auth::Kerberos).map_err(|e| format!("a new ticket for {}: {e}", self.spn))
        })
    }
}

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
    pub(crate) fn start(auth: &Auth, rng: &mut dyn RandomSource) -> Result<(Self, Vec<u8>), Error> {
        Ok(match auth {
            Auth::Ntlm { user, domain, password } => {
                let (init, token) = spnego::NtlmInitiator::start(user, domain, password.as_bytes())?;
                (Self::NtlmStart(init), token)
            }
            Auth::Kerberos(ticket) => {
                let flags = keyless_gss::krb5::flags::MUTUAL | keyless_gss::krb5::flags::INTEG;
                let (init, token) = spnego::Krb5Initiator::start(ticket, flags, SystemTime::now(), rng)?;
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
        rng: &mut dyn RandomSource,
    ) -> Result<Step, Error> {
        match std::mem::replace(self, Self::Spent) {
            Self::NtlmStart(init) if !done => {
                let inputs = ntlmssp::AuthInputs::random(ntlmssp::filetime(SystemTime::now()), rng)?;
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
                    _ => Err(Error::Refused("the server's SESSION_SETUP status does not match its SPNEGO state")),
                }
            }
            Self::Established(key) if done => Ok(Step::Done(key)),
            _ => Err(Error::Refused("the server's SESSION_SETUP status does not match its SPNEGO state")),
        }
    }
}
