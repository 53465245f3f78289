//! Credentials that later layers share: how to obtain the service ticket for an SPN from a
//! password, a keytab, a credential cache (with a TGT, or holding only the service ticket, as
//! Azure Files SMB OAuth produces), or a ticket already in memory. The exchanges are
//! keyless-krb's sans-IO ones, driven by its transport.

use crate::Error;
use crate::OsRandom;
use crate::transport::{self, KdcDirectory};
use keyless_krb::Error as KrbError;
use keyless_krb::ccache::CacheName;
use keyless_krb::keytab::Keytab;
use keyless_krb::time::unix_seconds;
use keyless_krb::{AsExchange, AsOptions, ClientSecret, Credential, Principal, TgsExchange, TgsOptions};
use std::time::SystemTime;
use zeroize::Zeroizing;

/// Where a client's Kerberos identity comes from.
pub enum Credentials {
    /// A principal and its password (an AS exchange, then TGS).
    Password {
        /// The client.
        client: Principal,
        /// The password.
        password: Zeroizing<String>,
    },
    /// A principal and a keytab holding its keys.
    Keytab {
        /// The client.
        client: Principal,
        /// The keytab.
        keytab: Keytab,
    },
    /// A credential cache of any type (FILE, DIR, KEYRING, KCM): a valid ticket for the SPN
    /// is used as is; otherwise its TGT gets one, which is stored back.
    Ccache(CacheName),
    /// A ticket obtained elsewhere (e.g. the Azure Files kerbticket exchange).
    Ticket(Box<Credential>),
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Password { client, .. } => f.debug_struct("Password").field("client", client).finish_non_exhaustive(),
            Self::Keytab { client, .. } => f.debug_struct("Keytab").field("client", client).finish_non_exhaustive(),
            Self::Ccache(name) => f.debug_tuple("Ccache").field(&name.to_string()).finish(),
            Self::Ticket(t) => f.debug_tuple("Ticket").field(&t.server).finish(),
        }
    }
}

impl Credentials {
    /// The service ticket for `spn`, contacting KDCs in `dir` only when needed.
    ///
    /// # Errors
    /// A ticket for another service, no usable ticket or TGT in a cache, or the KDC's errors.
    pub async fn service_ticket(&self, spn: &Principal, dir: &KdcDirectory) -> Result<Credential, Error> {
        self.service_ticket_ending_after(spn, dir, i64::MIN).await
    }

    /// As [`Credentials::service_ticket`], for a ticket that ends later than `after` (seconds
    /// since the epoch): renewing a session before its ticket ends passes over a cached
    /// ticket that ends no later and gets a new one from the TGT.
    ///
    /// # Errors
    /// As [`Credentials::service_ticket`].
    pub async fn service_ticket_ending_after(
        &self,
        spn: &Principal,
        dir: &KdcDirectory,
        after: i64,
    ) -> Result<Credential, Error> {
        let now = unix_seconds(SystemTime::now());
        let mut rng = OsRandom;
        let fresh = |c: &Credential| c.is_valid_at(now, 0) && c.end_time > after;
        match self {
            Self::Ticket(t) if t.server.same_name(spn) && fresh(t) => Ok((**t).clone()),
            Self::Ticket(t) => {
                Err(KrbError::NotInCache(format!("a valid ticket for {spn} (the ticket given is for {})", t.server))
                    .into())
            }
            Self::Ccache(name) => {
                let cache = name.read()?;
                if let Some(c) = cache.find(spn, now).filter(fresh) {
                    return Ok(c);
                }
                let realm = cache.principal.realm.clone();
                let tgt = cache
                    .find_tgt(&realm, now)
                    .ok_or_else(|| KrbError::NotInCache(format!("a ticket for {spn}, or a valid TGT for {realm}")))?;
                let (ticket, mut got) = tgs(tgt, spn, dir, &mut rng).await?;
                got.push(ticket.clone());
                name.store(&got, now)?;
                Ok(ticket)
            }
            Self::Password { client, password } => {
                let tgt = as_exchange(client, ClientSecret::Password(password.clone()), dir, &mut rng).await?;
                Ok(tgs(tgt, spn, dir, &mut rng).await?.0)
            }
            Self::Keytab { client, keytab } => {
                let keys = keytab.keys_for(client);
                if keys.is_empty() {
                    return Err(KrbError::NoKeyInKeytab(client.clone()).into());
                }
                let tgt = as_exchange(client, ClientSecret::Keys(keys), dir, &mut rng).await?;
                Ok(tgs(tgt, spn, dir, &mut rng).await?.0)
            }
        }
    }
}

async fn as_exchange(
    client: &Principal,
    secret: ClientSecret,
    dir: &KdcDirectory,
    rng: &mut OsRandom,
) -> Result<Credential, Error> {
    let (mut ex, first) = AsExchange::start(AsOptions::new(client.clone()), secret, SystemTime::now(), rng)?;
    transport::run(dir, &mut ex, first, rng, &SystemTime::now).await
}

async fn tgs(
    tgt: Credential,
    spn: &Principal,
    dir: &KdcDirectory,
    rng: &mut OsRandom,
) -> Result<(Credential, Vec<Credential>), Error> {
    let (mut ex, first) = TgsExchange::start(tgt, TgsOptions::new(spn.clone()), SystemTime::now(), rng)?;
    let ticket = transport::run(dir, &mut ex, first, rng, &SystemTime::now).await?;
    Ok((ticket, ex.cross_realm_tgts().to_vec()))
}
