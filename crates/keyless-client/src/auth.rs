//! Who a session is ([`Auth`]) and where fresh credentials come from while it lasts
//! ([`Renew`]). The driver runs a renewal when the core says one is due.

use crate::error::RenewError;
use keyless_krb::Credential;
use keyless_net::Credentials;
use std::future::Future;
use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};
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
    /// When the credential stops being accepted: a Kerberos ticket's end time; `None` for a
    /// password, which does not expire.
    pub fn expires_at(&self) -> Option<SystemTime> {
        match self {
            Self::Ntlm { .. } => None,
            Self::Kerberos(c) => Some(unix(c.end_time)),
        }
    }

    /// What SPNEGO authenticates with.
    pub(crate) fn mechanism(&self) -> keyless_gss::spnego::Mechanism<'_> {
        match self {
            Self::Ntlm { user, domain, password } => {
                keyless_gss::spnego::Mechanism::Ntlm { user, domain, password: password.as_bytes() }
            }
            Self::Kerberos(ticket) => keyless_gss::spnego::Mechanism::Kerberos(ticket),
        }
    }

    /// When to get a fresh one: five minutes before the end, or in the last quarter of a
    /// short ticket's life.
    pub(crate) fn renew_at(&self) -> Option<SystemTime> {
        let Self::Kerberos(c) = self else { return None };
        let start = if c.start_time != 0 { c.start_time } else { c.auth_time };
        let margin = ((c.end_time - start) / 4).clamp(1, 300);
        Some(unix(c.end_time - margin))
    }
}

fn unix(seconds: i64) -> SystemTime {
    UNIX_EPOCH + Duration::from_secs(u64::try_from(seconds).unwrap_or(0))
}

/// The future [`Renew::renew`] returns.
pub type RenewFuture<'a> = Pin<Box<dyn Future<Output = Result<Auth, RenewError>> + Send + 'a>>;

/// Where a fresh credential comes from when the session's is about to end (a new service
/// ticket from the cache's TGT, an OAuth token traded for a ticket). The client reauthenticates
/// with it before the old one ends, and when the server says the session expired.
pub trait Renew: Send {
    /// A fresh credential for the same user, to replace `expiring`.
    fn renew<'a>(&'a mut self, expiring: &Auth) -> RenewFuture<'a>;
}

/// Fresh service tickets from Kerberos [`Credentials`]: a cache's TGT, a keytab, or a password.
pub struct RenewFrom {
    /// Where tickets come from.
    pub credentials: Credentials,
    /// The service (`cifs/<host>`).
    pub spn: keyless_krb::Principal,
    /// The KDCs to ask.
    pub kdcs: keyless_net::transport::KdcDirectory,
}

impl Renew for RenewFrom {
    fn renew<'a>(&'a mut self, expiring: &Auth) -> RenewFuture<'a> {
        let after = match expiring {
            Auth::Kerberos(c) => c.end_time,
            Auth::Ntlm { .. } => i64::MIN,
        };
        Box::pin(async move {
            let ticket = self.credentials.service_ticket_ending_after(&self.spn, &self.kdcs, after).await;
            ticket.map(Auth::Kerberos).map_err(|e| format!("a new ticket for {}: {e}", self.spn).into())
        })
    }
}
