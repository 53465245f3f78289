//! What every Kerberos command shares: krb5.conf, the credential cache location, the KDC
//! directory (krb5.conf plus `--kdc`), password input, and errors as one line with a hint.

use keyless::kerberos::Kerberos;
use keyless_krb::ccache::{CCache, CacheName, Resolved};
use keyless_krb::config::Krb5Conf;
use keyless_krb::{Credential, Error, Principal};
use keyless_net::transport::KdcDirectory;
use std::fmt;
use std::path::PathBuf;
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

/// A library error as a failure of a command, with what to try.
pub fn library(e: keyless::Error) -> Failure {
    crate::hints::library(e)
}

impl From<keyless::Error> for Failure {
    fn from(e: keyless::Error) -> Self {
        library(e)
    }
}

impl From<String> for Failure {
    fn from(s: String) -> Self {
        Self(s)
    }
}

/// The loaded configuration: Kerberos as the library sees it (krb5.conf), to which each
/// command adds its `--kdc` and `--ca-file`.
pub struct Context {
    pub krb: Kerberos,
}

impl Context {
    pub fn load() -> Result<Self, Failure> {
        Ok(Self { krb: Kerberos::from_env().map_err(library)? })
    }

    /// krb5.conf.
    pub fn conf(&self) -> &Krb5Conf {
        self.krb.config()
    }

    /// The configuration with a command's `--kdc` (first) and `--ca-file`.
    pub fn with(&self, kdc: &[String], ca_files: &[PathBuf]) -> Result<Kerberos, Failure> {
        let mut krb = self.krb.clone();
        for k in kdc {
            krb = krb.kdc(k).map_err(library)?;
        }
        for f in ca_files {
            krb = krb.ca_file(f);
        }
        Ok(krb)
    }

    /// The cache a command uses: `-c`, else `KRB5CCNAME`, else krb5.conf's
    /// `default_ccache_name`, else MIT's default; any type (FILE, DIR, KEYRING, KCM).
    pub fn cache(&self, cli: Option<&str>) -> Result<Resolved, Failure> {
        self.krb.cache(cli).map_err(library)
    }

    /// Puts credentials of one client into the cache `resolved` names
    /// ([`Kerberos::put_credentials`]).
    pub fn put_credentials(
        &self,
        resolved: &Resolved,
        creds: &[Credential],
        make_primary: bool,
    ) -> Result<CacheName, Failure> {
        self.krb.put_credentials(resolved, creds, make_primary).map_err(library)
    }

    /// KDCs for the given realms from krb5.conf, with `--kdc` put first for the first realm
    /// and used for realms krb5.conf does not know.
    pub fn kdcs(&self, realms: &[&str], cli: &[String], ca_files: &[PathBuf]) -> Result<KdcDirectory, Failure> {
        self.with(cli, ca_files)?.kdc_directory(realms).map_err(library)
    }

    /// `service/host[@REALM]` ([`Kerberos::service_principal`]).
    pub fn service_principal(&self, spn: &str, client_realm: &str) -> Result<Principal, Failure> {
        self.krb.service_principal(spn, client_realm).map_err(library)
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
        let krb = self.with(kdc, ca_files)?;
        let fetched = rt.block_on(krb.fetch_service_ticket(name, cache, tgt, server)).map_err(library)?;
        // A cache that cannot take the ticket (read-only, another principal's) costs the
        // keeping, not the ticket.
        if let Some(e) = fetched.not_kept {
            eprintln!("keyless: the ticket for {server} was not stored in {name}: {e}");
        }
        Ok(fetched.ticket)
    }

    /// Enctypes allowed by krb5.conf (RC4 only with allow_rc4).
    pub fn enctypes(&self) -> Vec<keyless_crypto::EncType> {
        self.krb.enctypes()
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
