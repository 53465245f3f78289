//! What every Kerberos command shares: krb5.conf, the credential cache location, the KDC
//! directory (krb5.conf plus `--kdc`), password input, and errors as one line with a hint.

use keyless_krb::ccache::CCache;
use keyless_krb::config::Krb5Conf;
use keyless_krb::time::unix_seconds;
use keyless_krb::transport::{KdcAddr, KdcDirectory};
use keyless_krb::{Credential, Error, OsRandom, Principal, TgsExchange, TgsOptions, transport};
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
        match e.hint() {
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

    /// The ccache path from `-c`, `KRB5CCNAME`, krb5.conf or the default.
    pub fn ccache_path(&self, cli: Option<&str>) -> Result<PathBuf, Failure> {
        Ok(keyless_krb::ccache::resolve(cli, self.conf.default_ccache_name())?)
    }

    /// Reads a cache, saying plainly when there is none.
    pub fn read_cache(&self, path: &std::path::Path) -> Result<keyless_krb::ccache::CCache, Failure> {
        keyless_krb::ccache::CCache::read(path).map_err(|e| match e {
            Error::File { source, .. } if source.kind() == std::io::ErrorKind::NotFound => {
                Failure(format!("no credentials cache found (FILE:{}); run keyless kinit first", path.display()))
            }
            other => other.into(),
        })
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
        if let Some(host) = p.components.get(1) {
            if let Some(realm) = self.conf.realm_for_host(host) {
                p.realm = realm.to_string();
            }
        }
        Ok(p)
    }

    /// A valid ticket for `server`: from the cache, else through TGS exchanges with `tgt`
    /// (following referrals and cross-realm trusts); new tickets go into `cache` (the caller
    /// writes it).
    pub fn service_ticket(
        &self,
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
            Ok::<_, Error>((cred, ex.cross_realm_tgts().to_vec()))
        })?;
        for c in cross.iter().chain(std::iter::once(&cred)) {
            cache.store(c);
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
