//! What every Kerberos command shares: krb5.conf, the credential cache location, the KDC
//! directory (krb5.conf plus `--kdc`), password input, and errors as one line with a hint.

use keyless_krb::ccache::{CCache, CacheName, Resolved, name};
use keyless_krb::config::Krb5Conf;
use keyless_krb::time::unix_seconds;
use keyless_krb::{Credential, Error, Principal, TgsExchange, TgsOptions};
use keyless_net::OsRandom;
use keyless_net::transport::{self, KdcAddr, KdcDirectory};
use std::fmt;
use std::path::PathBuf;
use std::time::SystemTime;
use zeroize::Zeroizing;

/// A command's failure: one line, with what to try after a semicolon.
pub struct Failure(String);

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<Error> for Failure {
    fn from(e: Error) -> Self {
        match crate::hints::krb(&e) {
            Some(h) => Self(format!("{e}; {h}")),
            None => Self(e.to_string()),
        }
    }
}

impl From<keyless_net::Error> for Failure {
    fn from(e: keyless_net::Error) -> Self {
        match crate::hints::net(&e) {
            Some(h) => Self(format!("{e}; {h}")),
            None => Self(e.to_string()),
        }
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// The loaded configuration.
pub struct Context {
    pub conf: Krb5Conf,
}

impl Context {
    pub fn load() -> Result<Self, Failure> {
        Ok(Self { conf: Krb5Conf::load()? })
    }

    /// The cache a command uses: `-c`, else `KRB5CCNAME`, else krb5.conf's
    /// `default_ccache_name`, else MIT's default; any type (FILE, DIR, KEYRING, KCM).
    pub fn cache(&self, cli: Option<&str>) -> Result<Resolved, Failure> {
        let spec = name::default_spec(cli, self.conf.default_ccache_name());
        Ok(name::resolve(&spec, &self.conf.kcm_socket())?)
    }

    /// Where new credentials of `client` go, as MIT's kinit picks: a cache named outright is
    /// that cache; in a collection named as a whole, the cache already holding `client`, else
    /// the primary when it is empty or unreadable, else a new cache of the collection. A cache
    /// holding another principal is never picked behind the user's back.
    pub fn cache_for(&self, resolved: &Resolved, client: &Principal) -> Result<CacheName, Failure> {
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

    /// Puts credentials of one client into the cache `resolved` names, picked as
    /// [`Context::cache_for`] picks: added to what the cache holds, or a new cache when there
    /// is none; with `make_primary`, a collection's primary then becomes that cache.
    pub fn put_credentials(
        &self,
        resolved: &Resolved,
        creds: &[Credential],
        make_primary: bool,
    ) -> Result<CacheName, Failure> {
        let Some(first) = creds.first() else { return Ok(resolved.cache.clone()) };
        let target = self.cache_for(resolved, &first.client)?;
        let now = unix_seconds(SystemTime::now());
        match target.read() {
            Ok(_) => target.store(creds, now)?,
            Err(Error::NoCache(_)) => {
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

    /// KDCs for the given realms from krb5.conf, with `--kdc` put first for the first realm
    /// and used for realms krb5.conf does not know.
    pub fn kdcs(&self, realms: &[&str], cli: &[String], ca_files: &[PathBuf]) -> Result<KdcDirectory, Failure> {
        let mut dir = KdcDirectory::from_config(&self.conf, realms)?;
        // Extra CAs for KDC proxies: --ca-file, SSL_CERT_FILE, and krb5.conf's http_anchors.
        dir.ca_files.extend(ca_files.iter().cloned());
        if let Some(f) = std::env::var_os("SSL_CERT_FILE") {
            dir.ca_files.push(f.into());
        }
        let given: Vec<KdcAddr> = cli.iter().map(|k| KdcAddr::parse(k)).collect::<Result<_, _>>()?;
        if let Some(first) = realms.first() {
            for k in given.iter().rev() {
                dir.prefer(first, k.clone());
            }
        }
        dir.set_fallback(given);
        Ok(dir)
    }

    /// `service/host[@REALM]`; without a realm, the host's realm by [domain_realm], else the
    /// client's realm (the KDC may then refer us onwards).
    pub fn service_principal(&self, spn: &str, client_realm: &str) -> Result<Principal, Failure> {
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

    /// A valid ticket for `server`: from the cache, else through TGS exchanges with `tgt`
    /// (following referrals and cross-realm trusts); new tickets go into `cache` and are
    /// stored in the cache `name`.
    #[allow(clippy::too_many_arguments, reason = "each command passes its own flags through")]
    pub fn service_ticket(
        &self,
        name: &CacheName,
        cache: &mut CCache,
        tgt: &Credential,
        server: &Principal,
        kdc: &[String],
        ca_files: &[PathBuf],
        rt: &tokio::runtime::Runtime,
    ) -> Result<Credential, Failure> {
        let now = unix_seconds(SystemTime::now());
        if let Some(c) = cache.find(server, now) {
            return Ok(c);
        }
        let client_realm = tgt.client.realm.clone();
        let mut realms: Vec<&str> = vec![&client_realm];
        if server.realm != client_realm {
            realms.push(&server.realm);
        }
        let dir = self.kdcs(&realms, kdc, ca_files)?;
        let mut opts = TgsOptions::new(server.clone());
        opts.etypes = self.enctypes();
        let (cred, cross) = rt.block_on(async {
            let mut rng = OsRandom;
            let (mut ex, first) = TgsExchange::start(tgt.clone(), opts, SystemTime::now(), &mut rng)?;
            let cred = transport::run(&dir, &mut ex, first, &mut rng, &SystemTime::now).await?;
            Ok::<_, keyless_net::Error>((cred, ex.cross_realm_tgts().to_vec()))
        })?;
        let mut got = cross;
        got.push(cred.clone());
        for c in &got {
            cache.store(c);
        }
        // A cache that cannot take the ticket (read-only, another principal's) costs the
        // keeping, not the ticket.
        if let Err(e) = name.store(&got, now) {
            eprintln!("keyless: the ticket for {server} was not stored in {name}: {e}");
        }
        Ok(cred)
    }

    /// Enctypes allowed by krb5.conf (RC4 only with allow_rc4).
    pub fn enctypes(&self) -> Vec<keyless_crypto::EncType> {
        let mut e = self.conf.permitted_enctypes();
        if !self.conf.allow_rc4() {
            e.retain(|&t| t != keyless_crypto::EncType::RC4_HMAC);
        }
        e
    }
}

/// A password: from a file's first line, else from the terminal without echo, else one line of
/// standard input. Never from the command line.
pub fn read_password(prompt: &str, file: Option<&PathBuf>) -> Result<Zeroizing<String>, Failure> {
    use std::io::IsTerminal;
    let line = if let Some(path) = file {
        let text = Zeroizing::new(std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?);
        Zeroizing::new(text.lines().next().unwrap_or("").to_string())
    } else if std::io::stdin().is_terminal() {
        Zeroizing::new(rpassword::prompt_password(prompt).map_err(|e| format!("cannot read the password: {e}"))?)
    } else {
        let mut line = Zeroizing::new(String::new());
        std::io::stdin().read_line(&mut line).map_err(|e| format!("cannot read the password from stdin: {e}"))?;
        Zeroizing::new(line.trim_end_matches(['\n', '\r']).to_string())
    };
    if line.is_empty() {
        return Err(Failure("empty password".into()));
    }
    Ok(line)
}

/// The runtime for one command's network exchanges.
pub fn runtime() -> Result<tokio::runtime::Runtime, Failure> {
    // One worker beside the calling thread: an SMB session's driver task (network and crypto)
    // runs there while the command reads or writes local files, and keeps an idle mount's
    // session alive. A second worker bought no speed and kept a second malloc arena of
    // frames (a 1 GiB get peaked at 14 MB instead of 11).
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .map_err(|e| Failure(format!("cannot start the runtime: {e}")))
}
