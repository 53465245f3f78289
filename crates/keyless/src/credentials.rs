//! Who a program is to a share, and where fresh credentials come from while it is connected:
//! the credential cache MIT's tools use, a keytab, a password, a managed identity, or a token
//! the program already has. [`Credentials::auto`] chooses as the `keyless` command does, and
//! the command uses it.

use crate::Error;
use crate::kerberos::{Kerberos, cifs_spn, tgt_in};
use keyless_client::{Auth, Renew, RenewFrom, RenewFuture};
use keyless_identity::source::{Kind, Source};
use keyless_identity::{AccessToken, Identity, Url};
use keyless_krb::keytab::Keytab;
use keyless_krb::time::unix_seconds;
use keyless_net::{HttpClient, OAuthTickets};
use std::path::PathBuf;
use std::time::SystemTime;
use zeroize::Zeroizing;

/// Where a session's credential comes from.
///
/// ```no_run
/// # async fn demo() -> Result<(), keyless::Error> {
/// use keyless::{Client, Credentials, ManagedIdentity};
/// // The user's Kerberos tickets, as `klist` shows them (KRB5CCNAME, krb5.conf, MIT's default).
/// let from_cache = Credentials::auto();
/// // A service's own keys.
/// let from_keytab = Credentials::keytab("/etc/backup.keytab", Some("backup@EXAMPLE.TEST"));
/// // An Azure VM's managed identity (SMB OAuth: the token is traded for a Kerberos ticket).
/// let from_identity = Credentials::managed_identity(ManagedIdentity::auto());
/// let client = Client::builder().credentials(from_identity).build()?;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Credentials {
    how: How,
}

#[derive(Clone)]
enum How {
    Ccache(Option<String>),
    Keytab { path: PathBuf, client: Option<String> },
    Ntlm { user: String, domain: String, password: Zeroizing<String> },
    KerberosPassword { client: String, password: Zeroizing<String> },
    Identity(ManagedIdentity),
}

impl core::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut core::fmt::Formatter<'_>) -> core::fmt::Result {
        match &self.how {
            How::Ccache(None) => f.write_str("Credentials::auto()"),
            How::Ccache(Some(name)) => write!(f, "Credentials::ccache({name:?})"),
            How::Keytab { path, client } => write!(f, "Credentials::keytab({path:?}, {client:?})"),
            How::Ntlm { user, domain, .. } => write!(f, "Credentials::password({domain}\\{user}, ..)"),
            How::KerberosPassword { client, .. } => write!(f, "Credentials::kerberos_password({client}, ..)"),
            How::Identity(m) => write!(f, "Credentials::managed_identity({m:?})"),
        }
    }
}

/// A session's credential, and what renews it while the session lasts.
pub struct Authenticated {
    /// The credential for SESSION_SETUP.
    pub auth: Auth,
    /// Where the next one comes from (Kerberos tickets and OAuth tokens end; passwords do not).
    pub renew: Option<Box<dyn Renew>>,
    /// What went wrong on the side without failing (a new ticket the cache could not keep).
    pub warnings: Vec<String>,
}

impl Credentials {
    /// Kerberos from the cache MIT's tools use (`KRB5CCNAME`, else krb5.conf's
    /// `default_ccache_name`, else `/tmp/krb5cc_UID`), of any type: a valid ticket for
    /// `cifs/<host>`, else one got with the cache's TGT from the realm's KDCs (krb5.conf's, KDC
    /// proxies included), stored back in the cache; renewed the same way while connected.
    pub fn auto() -> Self {
        Self { how: How::Ccache(None) }
    }

    /// Kerberos from the named cache (`FILE:…`, `DIR:…`, `KEYRING:…`, `KCM:…`), as
    /// [`Credentials::auto`] uses the default one.
    pub fn ccache(name: &str) -> Self {
        Self { how: How::Ccache(Some(name.to_string())) }
    }

    /// Kerberos with a keytab's keys: an AS exchange, then a ticket for `cifs/<host>`; new
    /// tickets come from the keytab while connected. The client is `client` (`name` or
    /// `name@REALM`), else the keytab's first principal.
    pub fn keytab(path: impl Into<PathBuf>, client: Option<&str>) -> Self {
        Self { how: How::Keytab { path: path.into(), client: client.map(str::to_string) } }
    }

    /// NTLMv2 with a user (`name` or `DOMAIN\name`) and its password (also a storage
    /// account's key, with user `Azure\<account>`).
    pub fn password(user: &str, password: Zeroizing<String>) -> Self {
        let (domain, name) = user.split_once('\\').unwrap_or(("", user));
        Self { how: How::Ntlm { user: name.to_string(), domain: domain.to_string(), password } }
    }

    /// Kerberos with a principal's password (an AS exchange, then TGS; again when the
    /// ticket nears its end).
    pub fn kerberos_password(client: &str, password: Zeroizing<String>) -> Self {
        Self { how: How::KerberosPassword { client: client.to_string(), password } }
    }

    /// A managed identity's token, traded for a Kerberos ticket by Azure Files (SMB OAuth);
    /// new tokens and tickets while connected.
    pub fn managed_identity(identity: ManagedIdentity) -> Self {
        Self { how: How::Identity(identity) }
    }

    /// An access token for `https://storage.azure.com` the program already has, traded for a
    /// ticket as a managed identity's is. It is not renewed: a session outliving the token
    /// fails at its ticket's end.
    ///
    /// # Errors
    /// Not a token (not a JWT with an expiry).
    pub fn token(token: &str) -> Result<Self, Error> {
        Ok(Self::managed_identity(ManagedIdentity::given(token)?))
    }

    /// The credential for the server `host` (its service principal `spn`, else
    /// `cifs/<host>`), and how it is renewed. [`crate::Client`] calls this; a program that
    /// drives `keyless_client` itself can too.
    ///
    /// ```no_run
    /// # async fn demo() -> Result<(), keyless::Error> {
    /// use keyless::{Credentials, kerberos::Kerberos};
    /// // The session credential for a server driven through keyless_client directly.
    /// let krb = Kerberos::from_env()?;
    /// let got = Credentials::auto().authenticate(&krb, "files.example.test", None).await?;
    /// let mut builder = keyless::smb_client::Client::builder("files.example.test").auth(got.auth);
    /// if let Some(renew) = got.renew {
    ///     builder = builder.renew(renew);
    /// }
    /// let session = builder.connect().await?;
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// No valid ticket in the cache ([`Error::NoTicket`]), a keytab without the client's
    /// keys, the KDC's or the identity endpoint's refusal.
    pub async fn authenticate(&self, krb: &Kerberos, host: &str, spn: Option<&str>) -> Result<Authenticated, Error> {
        let spn = spn.map_or_else(|| cifs_spn(host), str::to_string);
        match &self.how {
            How::Ntlm { user, domain, password } => Ok(Authenticated {
                auth: Auth::Ntlm { user: user.clone(), domain: domain.clone(), password: password.clone() },
                renew: None,
                warnings: Vec::new(),
            }),
            How::Ccache(name) => from_cache(krb, name.as_deref(), &spn).await,
            How::Keytab { path, client } => {
                let keytab = Keytab::read(path).map_err(|e| Error::Keytab { path: path.clone(), source: Some(e) })?;
                let client = match client {
                    Some(c) => krb.principal(c)?,
                    None => keytab
                        .entries
                        .first()
                        .map(|e| e.principal.clone())
                        .ok_or(Error::Keytab { path: path.clone(), source: None })?,
                };
                if keytab.keys_for(&client).is_empty() {
                    return Err(keyless_krb::Error::NoKeyInKeytab(client).into());
                }
                from_kdc(krb, client.clone(), keyless_net::Credentials::Keytab { client, keytab }, &spn).await
            }
            How::KerberosPassword { client, password } => {
                let client = krb.principal(client)?;
                let credentials =
                    keyless_net::Credentials::Password { client: client.clone(), password: password.clone() };
                from_kdc(krb, client, credentials, &spn).await
            }
            How::Identity(identity) => {
                let mut tickets = identity.tickets(host)?;
                let ticket = tickets.ticket().await?;
                Ok(Authenticated {
                    auth: Auth::Kerberos(ticket),
                    renew: Some(Box::new(OAuthRenewal(tickets))),
                    warnings: Vec::new(),
                })
            }
        }
    }
}

/// A ticket for `spn` from the cache, or through its TGT; later ones the same way (when the
/// realms' KDCs are known).
async fn from_cache(krb: &Kerberos, name: Option<&str>, spn: &str) -> Result<Authenticated, Error> {
    let name = krb.cache(name)?.cache;
    let mut cache = name.read()?;
    let client = cache.principal.clone();
    let server = krb.service_principal(spn, &client.realm)?;
    let now = unix_seconds(SystemTime::now());
    let mut warnings = Vec::new();
    let ticket = match cache.find(&server, now) {
        Some(t) => t,
        None => {
            let tgt = tgt_in(&cache, &name, now)?;
            let fetched =
                krb.fetch_service_ticket(&name, &mut cache, &tgt, &server).await.map_err(|e| e.for_ticket(&server))?;
            if let Some(e) = fetched.not_kept {
                warnings.push(format!("the ticket for {server} was not stored in {name}: {e}"));
            }
            fetched.ticket
        }
    };
    let renew = krb.kdcs_between(&client, &server).ok().map(|kdcs| {
        Box::new(RenewFrom { credentials: keyless_net::Credentials::Ccache(name.clone()), spn: server, kdcs })
            as Box<dyn Renew>
    });
    Ok(Authenticated { auth: Auth::Kerberos(ticket), renew, warnings })
}

/// A ticket for `spn` from the KDCs with `client`'s `credentials`; later ones the same way.
async fn from_kdc(
    krb: &Kerberos,
    client: keyless_krb::Principal,
    credentials: keyless_net::Credentials,
    spn: &str,
) -> Result<Authenticated, Error> {
    let server = krb.service_principal(spn, &client.realm)?;
    let kdcs = krb.kdcs_between(&client, &server)?;
    let ticket = credentials.service_ticket(&server, &kdcs).await.map_err(|e| Error::from(e).for_ticket(&server))?;
    Ok(Authenticated {
        auth: Auth::Kerberos(ticket),
        renew: Some(Box::new(RenewFrom { credentials, spn: server, kdcs })),
        warnings: Vec::new(),
    })
}

/// A managed identity of Azure (or a token given), for SMB OAuth: its token is traded for a
/// Kerberos ticket at the storage account's file endpoint.
///
/// ```no_run
/// # fn demo() -> Result<(), keyless::Error> {
/// use keyless::{Credentials, ManagedIdentity};
/// let user_assigned = ManagedIdentity::auto().client_id("7c9e6679-7425-40de-944b-e07fc1f90ae7");
/// let credentials = Credentials::managed_identity(user_assigned);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ManagedIdentity {
    kind: Kind,
    identity: Option<Identity>,
    imds_endpoint: Option<String>,
    file_endpoint: Option<String>,
    ca_files: Vec<PathBuf>,
    given: Option<std::sync::Arc<AccessToken>>,
}

impl ManagedIdentity {
    /// The identity the environment declares: AKS workload identity
    /// (`AZURE_FEDERATED_TOKEN_FILE`), App Service and Functions (`IDENTITY_ENDPOINT` and
    /// `IDENTITY_HEADER`), Azure Arc, else the VM's instance metadata service.
    pub fn auto() -> Self {
        Self::of(Kind::Auto)
    }

    /// A token for `https://storage.azure.com` the program already has, instead of a
    /// managed identity's (see [`Credentials::token`]).
    ///
    /// # Errors
    /// Not a token (not a JWT with an expiry).
    pub fn given(token: &str) -> Result<Self, Error> {
        let given = AccessToken::given(token)?;
        Ok(Self { given: Some(std::sync::Arc::new(given)), ..Self::auto() })
    }

    /// Tokens from this source only.
    pub fn of(kind: Kind) -> Self {
        Self { kind, identity: None, imds_endpoint: None, file_endpoint: None, ca_files: Vec::new(), given: None }
    }

    /// A user-assigned identity by client id.
    pub fn client_id(self, id: &str) -> Self {
        Self { identity: Some(Identity::ClientId(id.to_string())), ..self }
    }

    /// A user-assigned identity by object (principal) id.
    pub fn object_id(self, id: &str) -> Self {
        Self { identity: Some(Identity::ObjectId(id.to_string())), ..self }
    }

    /// A user-assigned identity by ARM resource id.
    pub fn resource_id(self, id: &str) -> Self {
        Self { identity: Some(Identity::ResourceId(id.to_string())), ..self }
    }

    /// The IMDS base URL (default: `AZURE_POD_IDENTITY_AUTHORITY_HOST`, else
    /// `http://169.254.169.254`).
    pub fn imds_endpoint(self, url: &str) -> Self {
        Self { imds_endpoint: Some(url.to_string()), ..self }
    }

    /// Where to trade the token for a ticket (default: `https://<host of the share>/`).
    pub fn file_endpoint(self, url: &str) -> Self {
        Self { file_endpoint: Some(url.to_string()), ..self }
    }

    /// An extra CA certificate (PEM) to trust for the endpoints (besides the system's and
    /// `SSL_CERT_FILE`'s).
    pub fn ca_file(mut self, path: impl Into<PathBuf>) -> Self {
        self.ca_files.push(path.into());
        self
    }

    /// The same identity for another server: without the file endpoint, which follows from
    /// the server's name.
    pub fn for_another_host(&self) -> Self {
        Self { file_endpoint: None, ..self.clone() }
    }

    /// Where tokens come from, as the environment and these settings say.
    ///
    /// # Errors
    /// The environment declares a source that lacks a variable it needs.
    pub fn source(&self) -> Result<Source, Error> {
        if let Some(token) = &self.given {
            return Ok(Source::Given((**token).clone()));
        }
        let env = |name: &str| std::env::var(name).ok();
        Ok(Source::from_env(self.kind, &env, self.identity.clone(), self.imds_endpoint.as_deref())?)
    }

    /// An HTTPS client trusting the system's CAs, these settings' and `SSL_CERT_FILE`.
    pub fn http_client(&self) -> HttpClient {
        HttpClient::new(self.ca_files.clone())
    }

    /// Tickets for the share on `host`, fetched on demand.
    ///
    /// # Errors
    /// As [`ManagedIdentity::source`], or a file endpoint that is not a URL.
    pub fn tickets(&self, host: &str) -> Result<OAuthTickets, Error> {
        let endpoint = match &self.file_endpoint {
            Some(u) => Url::parse(u)?,
            None => Url::parse(&format!("https://{host}/"))?,
        };
        Ok(OAuthTickets::new(self.http_client(), self.source()?, endpoint))
    }
}

/// Fresh tickets from Azure Files while a session lives.
struct OAuthRenewal(OAuthTickets);

impl Renew for OAuthRenewal {
    fn renew<'a>(&'a mut self, _expiring: &Auth) -> RenewFuture<'a> {
        Box::pin(async move {
            let ticket =
                self.0.ticket().await.map_err(|e| format!("a new ticket from {}: {e}", self.0.file_endpoint))?;
            Ok(Auth::Kerberos(ticket))
        })
    }
}
