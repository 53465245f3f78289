//! Kerberos without SMB: krb5.conf, the credential cache MIT's tools would use, the KDCs of a
//! realm (krb5.conf's, KDC proxies included, or given), a TGT from a password or a keytab, and
//! service tickets through the cache's TGT. The `keyless` command's Kerberos commands are
//! built on this.
//!
//! ```no_run
//! # async fn demo() -> Result<(), keyless::Error> {
//! use keyless::kerberos::Kerberos;
//! // krb5.conf as MIT reads it (KRB5_CONFIG, else /etc/krb5.conf), with a KDC proxy first.
//! let krb = Kerberos::from_env()?.kdc("https://kdc.example.test/KdcProxy")?;
//! let alice = krb.principal("alice")?;
//! let tgt = krb.tgt_with_password(&alice, "secret".to_string().into()).await?;
//! let (cache, _) = krb.initialize_cache(&krb.cache(None)?, &tgt)?;
//! let ticket = krb.service_ticket(&cache, &krb.principal("cifs/files.example.test")?).await?;
//! println!("{} until {}", ticket.server, ticket.end_time);
//! # Ok(()) }
//! ```

use crate::Error;
use keyless_krb::ccache::{CCache, CacheName, Resolved, name};
use keyless_krb::keytab::Keytab;
use keyless_krb::time::unix_seconds;
use keyless_krb::{AsExchange, TgsExchange, TgsOptions};
use keyless_net::OsRandom;
use keyless_net::transport::{self, KdcAddr, KdcDirectory};
use std::path::PathBuf;
use std::time::SystemTime;
use zeroize::Zeroizing;

pub use keyless_crypto::EncType;
pub use keyless_krb::ccache;
pub use keyless_krb::config::Krb5Conf;
pub use keyless_krb::keytab;
pub use keyless_krb::{AsOptions, ClientSecret, Credential, Principal, TicketHeader};

/// Kerberos as this host is configured for it: krb5.conf, plus KDCs and CA certificates the
/// program adds.
#[derive(Debug, Clone)]
pub struct Kerberos {
    conf: Krb5Conf,
    kdcs: Vec<KdcAddr>,
    ca_files: Vec<PathBuf>,
}

/// A service ticket, and whether the cache kept it.
#[derive(Debug)]
pub struct Fetched {
    /// The ticket.
    pub ticket: Credential,
    /// Why the cache did not keep it (read-only, another principal's), when it did not: the
    /// ticket is good all the same.
    pub not_kept: Option<keyless_krb::Error>,
}

impl Kerberos {
    /// krb5.conf as MIT's tools read it: `KRB5_CONFIG`, else `/etc/krb5.conf` (none is an
    /// empty configuration).
    ///
    /// # Errors
    /// A krb5.conf that cannot be read or parsed.
    pub fn from_env() -> Result<Self, Error> {
        Ok(Self::with_config(Krb5Conf::load()?))
    }

    /// This configuration instead of the system's.
    pub fn with_config(conf: Krb5Conf) -> Self {
        Self { conf, kdcs: Vec::new(), ca_files: Vec::new() }
    }

    /// A KDC to try first for the client's realm, and to use for realms krb5.conf does not
    /// know: `host[:port]`, `udp://`/`tcp://host:port`, or an MS-KKDCP proxy `https://…`.
    /// Each call adds one, tried in the order added.
    ///
    /// # Errors
    /// Not a KDC address.
    pub fn kdc(mut self, url: &str) -> Result<Self, Error> {
        self.kdcs.push(KdcAddr::parse(url)?);
        Ok(self)
    }

    /// An extra CA certificate (PEM) to trust for `https://` KDC proxies (besides the
    /// system's, `SSL_CERT_FILE`'s and krb5.conf's `http_anchors`).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_files.push(path.into());
        self
    }

    /// The krb5.conf in use.
    pub fn config(&self) -> &Krb5Conf {
        &self.conf
    }

    /// `name` or `name@REALM` (the default realm when it has none).
    ///
    /// # Errors
    /// A malformed name, or no realm and no `default_realm`.
    pub fn principal(&self, name: &str) -> Result<Principal, Error> {
        Ok(Principal::parse(name, self.conf.default_realm())?)
    }

    /// The cache named `name`, else `KRB5CCNAME`, else krb5.conf's `default_ccache_name`,
    /// else MIT's default; of any type (FILE, DIR, KEYRING, KCM).
    ///
    /// # Errors
    /// A name of an unknown type.
    pub fn cache(&self, name: Option<&str>) -> Result<Resolved, Error> {
        let spec = name::default_spec(name, self.conf.default_ccache_name());
        Ok(name::resolve(&spec, &self.conf.kcm_socket())?)
    }

    /// Where new credentials of `client` go, as MIT's kinit picks: a cache named outright is
    /// that cache; in a collection named as a whole, the cache already holding `client`, else
    /// the primary when it is empty or unreadable, else a new cache of the collection. A cache
    /// holding another principal is never picked behind the user's back.
    ///
    /// # Errors
    /// The collection cannot be read or extended.
    pub fn cache_for(&self, resolved: &Resolved, client: &Principal) -> Result<CacheName, Error> {
        if !resolved.collection_only {
            return Ok(resolved.cache.clone());
        }
        if let Some(found) = resolved.collection.find(client)? {
            return Ok(found);
        }
        match resolved.cache.read() {
            Ok(held) if !held.principal.same_name(client) => Ok(resolved.collection.new_unique(&mut OsRandom)?),
            _ => Ok(resolved.cache.clone()),
        }
    }

    /// Adds credentials of one client to the cache `resolved` names, picked as
    /// [`Kerberos::cache_for`] picks (a new cache when there is none); with `make_primary`, a
    /// collection's primary then becomes that cache.
    ///
    /// # Errors
    /// The cache cannot be read or written.
    pub fn put_credentials(
        &self,
        resolved: &Resolved,
        creds: &[Credential],
        make_primary: bool,
    ) -> Result<CacheName, Error> {
        let Some(first) = creds.first() else { return Ok(resolved.cache.clone()) };
        let target = self.cache_for(resolved, &first.client)?;
        let now = unix_seconds(SystemTime::now());
        match target.read() {
            Ok(_) => target.store(creds, now)?,
            Err(keyless_krb::Error::NoCache(_)) => {
                let mut cache = CCache::new(first.client.clone());
                for c in creds {
                    cache.store(c);
                }
                target.initialize(&cache, now)?;
            }
            Err(e) => return Err(e.into()),
        }
        if make_primary && resolved.collection_only {
            resolved.collection.switch_to(&target)?;
        }
        Ok(target)
    }

    /// Replaces what the cache `resolved` names holds with `tgt` alone, as kinit does (the
    /// cache picked as [`Kerberos::cache_for`] picks); in a collection, that cache becomes the
    /// primary. Returns the cache written, and whose tickets it held before when they were
    /// another principal's (a cache named outright is replaced, as MIT's kinit does).
    ///
    /// # Errors
    /// The cache cannot be written.
    pub fn initialize_cache(
        &self,
        resolved: &Resolved,
        tgt: &Credential,
    ) -> Result<(CacheName, Option<Principal>), Error> {
        let target = self.cache_for(resolved, &tgt.client)?;
        let replaced = target.read().ok().map(|held| held.principal).filter(|p| !p.same_name(&tgt.client));
        let mut cache = CCache::new(tgt.client.clone());
        cache.store(tgt);
        target.initialize(&cache, unix_seconds(SystemTime::now()))?;
        if resolved.collection_only {
            resolved.collection.switch_to(&target)?;
        }
        Ok((target, replaced))
    }

    /// The KDCs of `realms` from krb5.conf, with the added ones first for the first realm and
    /// for realms krb5.conf does not know; CA certificates from [`Kerberos::ca_file`] and
    /// `SSL_CERT_FILE`.
    ///
    /// # Errors
    /// A KDC address in krb5.conf that does not parse.
    pub fn kdc_directory(&self, realms: &[&str]) -> Result<KdcDirectory, Error> {
        let mut dir = KdcDirectory::from_config(&self.conf, realms)?;
        dir.ca_files.extend(self.ca_files.iter().cloned());
        if let Some(first) = realms.first() {
            for k in self.kdcs.iter().rev() {
                dir.prefer(first, k.clone());
            }
        }
        dir.set_fallback(self.kdcs.clone());
        Ok(dir)
    }

    /// `service/host[@REALM]`; without a realm, the host's realm by krb5.conf's
    /// `[domain_realm]`, else `client_realm` (the KDC may then refer the client onwards).
    ///
    /// # Errors
    /// A malformed name.
    pub fn service_principal(&self, spn: &str, client_realm: &str) -> Result<Principal, Error> {
        if spn.contains('@') {
            return Ok(Principal::parse(spn, None)?);
        }
        let mut p = Principal::parse(spn, Some(client_realm))?;
        if let Some(host) = p.components.get(1)
            && let Some(realm) = self.conf.realm_for_host(host)
        {
            p.realm = realm.to_string();
        }
        Ok(p)
    }

    /// The enctypes krb5.conf permits (RC4 only with `allow_rc4`).
    pub fn enctypes(&self) -> Vec<EncType> {
        let mut e = self.conf.permitted_enctypes();
        if !self.conf.allow_rc4() {
            e.retain(|&t| t != EncType::RC4_HMAC);
        }
        e
    }

    /// The AS request's options for `client` with krb5.conf's enctypes (lifetime 10 hours);
    /// change them before [`Kerberos::tgt`].
    pub fn as_options(&self, client: &Principal) -> AsOptions {
        let mut opts = AsOptions::new(client.clone());
        opts.etypes = self.enctypes();
        opts
    }

    /// A TGT through an AS exchange with the realm's KDCs.
    ///
    /// # Errors
    /// No KDC reachable, or the KDC's refusal (a wrong password, an unknown principal, ...).
    pub async fn tgt(&self, options: AsOptions, secret: ClientSecret) -> Result<Credential, Error> {
        let dir = self.kdc_directory(&[&options.client.realm])?;
        let mut rng = OsRandom;
        let (mut ex, first) = AsExchange::start(options, secret, SystemTime::now(), &mut rng)?;
        Ok(transport::run(&dir, &mut ex, first, &mut rng, &SystemTime::now).await?)
    }

    /// A TGT for `client` with its password.
    ///
    /// # Errors
    /// As [`Kerberos::tgt`].
    pub async fn tgt_with_password(
        &self,
        client: &Principal,
        password: Zeroizing<String>,
    ) -> Result<Credential, Error> {
        self.tgt(self.as_options(client), ClientSecret::Password(password)).await
    }

    /// A TGT for `client` with its keys from `keytab`.
    ///
    /// # Errors
    /// The keytab holds no key of `client`, or as [`Kerberos::tgt`].
    pub async fn tgt_with_keytab(&self, client: &Principal, keytab: &Keytab) -> Result<Credential, Error> {
        let keys = keytab.keys_for(client);
        if keys.is_empty() {
            return Err(keyless_krb::Error::NoKeyInKeytab(client.clone()).into());
        }
        self.tgt(self.as_options(client), ClientSecret::Keys(keys)).await
    }

    /// A valid ticket for `server` from the cache `name`, else through TGS exchanges with
    /// its TGT (following referrals and cross-realm trusts); new tickets are stored back.
    ///
    /// # Errors
    /// No cache, no valid TGT in it ([`Error::NoTicket`]), or the KDC's refusal.
    pub async fn service_ticket(&self, name: &CacheName, server: &Principal) -> Result<Credential, Error> {
        let mut cache = name.read()?;
        let now = unix_seconds(SystemTime::now());
        if let Some(c) = cache.find(server, now) {
            return Ok(c);
        }
        let tgt = tgt_in(&cache, name, now)?;
        Ok(self.fetch_service_ticket(name, &mut cache, &tgt, server).await?.ticket)
    }

    /// A valid ticket for `server` from `cache` (read from `name`), else through TGS
    /// exchanges with `tgt`; new tickets go into `cache` and are stored in `name`.
    ///
    /// # Errors
    /// No KDC reachable, or the KDC's refusal.
    pub async fn fetch_service_ticket(
        &self,
        name: &CacheName,
        cache: &mut CCache,
        tgt: &Credential,
        server: &Principal,
    ) -> Result<Fetched, Error> {
        let now = unix_seconds(SystemTime::now());
        if let Some(ticket) = cache.find(server, now) {
            return Ok(Fetched { ticket, not_kept: None });
        }
        let client_realm = tgt.client.realm.clone();
        let mut realms: Vec<&str> = vec![&client_realm];
        if server.realm != client_realm {
            realms.push(&server.realm);
        }
        let dir = self.kdc_directory(&realms)?;
        let mut opts = TgsOptions::new(server.clone());
        opts.etypes = self.enctypes();
        let mut rng = OsRandom;
        let (mut ex, first) = TgsExchange::start(tgt.clone(), opts, SystemTime::now(), &mut rng)?;
        let ticket = transport::run(&dir, &mut ex, first, &mut rng, &SystemTime::now).await?;
        let mut got = ex.cross_realm_tgts().to_vec();
        got.push(ticket.clone());
        for c in &got {
            cache.store(c);
        }
        let not_kept = name.store(&got, now).err();
        Ok(Fetched { ticket, not_kept })
    }

    /// The KDCs of `client`'s realm and, when it differs, `server`'s.
    ///
    /// # Errors
    /// As [`Kerberos::kdc_directory`].
    pub fn kdcs_between(&self, client: &Principal, server: &Principal) -> Result<KdcDirectory, Error> {
        let mut realms = vec![client.realm.as_str()];
        if server.realm != client.realm {
            realms.push(&server.realm);
        }
        self.kdc_directory(&realms)
    }
}

/// The cache's valid TGT for its own principal's realm.
pub(crate) fn tgt_in(cache: &CCache, name: &CacheName, now: i64) -> Result<Credential, Error> {
    cache
        .find_tgt(&cache.principal.realm, now)
        .ok_or_else(|| Error::NoTicket { client: cache.principal.to_string(), cache: name.to_string() })
}

/// `cifs/<host>` for a share's host; Azure's private-endpoint names
/// (`<account>.privatelink.file.core.windows.net`) are mapped to the name tickets are issued
/// for.
///
/// ```
/// assert_eq!(keyless::kerberos::cifs_spn("Acct.privatelink.file.core.windows.net"), "cifs/acct.file.core.windows.net");
/// assert_eq!(keyless::kerberos::cifs_spn("files.example.test"), "cifs/files.example.test");
/// ```
pub fn cifs_spn(host: &str) -> String {
    format!("cifs/{}", canonical_host(host))
}

/// The host name a share's tickets are issued for (see [`cifs_spn`]).
pub fn canonical_host(host: &str) -> String {
    let host = host.to_ascii_lowercase();
    match host.strip_suffix(".privatelink.file.core.windows.net") {
        Some(account) => format!("{account}.file.core.windows.net"),
        None => host,
    }
}
