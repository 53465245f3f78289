//! Managed identity for the CLI: the options that say where tokens come from, and the
//! commands built on them: `oauth-ticket` (a ccache for the kernel's cifs client, kept fresh
//! with `--refresh`), `storage-key` (ARM listKeys) and `token`.

use crate::context::{Context, Failure, runtime};
use keyless::ManagedIdentity;
use keyless_client::Auth;
use keyless_identity::Url;
use keyless_identity::arm::{self, Account};
use keyless_identity::source::{Kind, Source};
use keyless_krb::Credential;
use keyless_krb::time::{format_utc, unix_seconds};
use keyless_net::OAuthTickets;
use std::io::Read;
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

impl From<keyless_identity::Error> for Failure {
    fn from(e: keyless_identity::Error) -> Self {
        match (crate::hints::identity(&e), e) {
            (_, keyless_identity::Error::Krb(k)) => k.into(),
            (Some(h), e) => format!("{e}; {h}").into(),
            (None, e) => e.to_string().into(),
        }
    }
}

/// Where the token comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum SourceArg {
    /// By the environment: workload identity, App Service, Azure Arc, else IMDS.
    Auto,
    /// The VM's instance metadata service.
    Imds,
    /// AKS workload identity (AZURE_FEDERATED_TOKEN_FILE, AZURE_CLIENT_ID, AZURE_TENANT_ID).
    Workload,
    /// App Service / Functions / Container Apps (IDENTITY_ENDPOINT, IDENTITY_HEADER).
    AppService,
    /// Azure Arc-enabled server (IDENTITY_ENDPOINT, IMDS_ENDPOINT).
    Arc,
}

/// Options of the managed-identity paths.
#[derive(clap::Args, Clone, Debug)]
#[command(next_help_heading = "Managed identity (--auth oauth, --auth storage-key)")]
pub struct IdentityArgs {
    /// Where tokens come from.
    #[arg(long, value_enum, default_value = "auto")]
    identity_source: SourceArg,
    /// A user-assigned identity, by client id.
    #[arg(long, value_name = "ID", conflicts_with_all = ["object_id", "resource_id"])]
    client_id: Option<String>,
    /// A user-assigned identity, by object (principal) id.
    #[arg(long, value_name = "ID", conflicts_with = "resource_id")]
    object_id: Option<String>,
    /// A user-assigned identity, by ARM resource id.
    #[arg(long, value_name = "ID")]
    resource_id: Option<String>,
    /// A token for https://storage.azure.com you already have: a file, or - for stdin.
    #[arg(long, value_name = "FILE")]
    token_file: Option<PathBuf>,
    /// IMDS base URL (default: AZURE_POD_IDENTITY_AUTHORITY_HOST, else http://169.254.169.254).
    #[arg(long, value_name = "URL")]
    imds_endpoint: Option<String>,
    /// Where to trade the token for a ticket (default: https://<host of the share>/).
    #[arg(long, value_name = "URL")]
    file_endpoint: Option<String>,
    /// storage-key: the account's subscription id.
    #[arg(long, value_name = "ID")]
    subscription: Option<String>,
    /// storage-key: the account's resource group.
    #[arg(long, value_name = "NAME")]
    resource_group: Option<String>,
    /// storage-key: the storage account (default: the first label of the host).
    #[arg(long, value_name = "NAME")]
    account: Option<String>,
    /// storage-key: Azure Resource Manager's URL.
    #[arg(long, value_name = "URL", default_value = arm::ENDPOINT)]
    arm_endpoint: String,
}

impl IdentityArgs {
    /// The same identity for another server: without the endpoint and account that name
    /// this one's (they follow from the other host).
    pub fn for_another_host(&self) -> Self {
        Self { file_endpoint: None, account: None, ..self.clone() }
    }

    /// The managed identity (or the token) the options name, as the library takes it.
    pub fn managed(&self, ca_files: &[PathBuf]) -> Result<ManagedIdentity, Failure> {
        let kind = match self.identity_source {
            SourceArg::Auto => Kind::Auto,
            SourceArg::Imds => Kind::Imds,
            SourceArg::Workload => Kind::Workload,
            SourceArg::AppService => Kind::AppService,
            SourceArg::Arc => Kind::Arc,
        };
        let mut m = match &self.token_file {
            Some(path) => {
                let mut text = zeroize::Zeroizing::new(String::new());
                let read = if path.as_os_str() == "-" {
                    std::io::stdin().read_to_string(&mut text)
                } else {
                    std::fs::File::open(path).and_then(|mut f| f.read_to_string(&mut text))
                };
                read.map_err(|e| format!("{}: {e}", path.display()))?;
                ManagedIdentity::given(&text)?
            }
            None => ManagedIdentity::of(kind),
        };
        if let Some(id) = &self.client_id {
            m = m.client_id(id);
        } else if let Some(id) = &self.object_id {
            m = m.object_id(id);
        } else if let Some(id) = &self.resource_id {
            m = m.resource_id(id);
        }
        if let Some(url) = &self.imds_endpoint {
            m = m.imds_endpoint(url);
        }
        if let Some(url) = &self.file_endpoint {
            m = m.file_endpoint(url);
        }
        Ok(ca_files.iter().fold(m, |m, f| m.ca_file(f)))
    }

    /// The token source the options and the environment name.
    fn source(&self) -> Result<Source, Failure> {
        Ok(self.managed(&[])?.source()?)
    }

    /// Tickets for the share on `host`.
    pub fn tickets(&self, host: &str, ca_files: &[PathBuf]) -> Result<OAuthTickets, Failure> {
        Ok(self.managed(ca_files)?.tickets(host)?)
    }

    /// The storage account's key, from ARM with the identity's token, as NTLM credentials
    /// for `Azure\<account>`.
    pub fn storage_key_auth(
        &self,
        host: &str,
        ca_files: &[PathBuf],
        rt: &tokio::runtime::Runtime,
    ) -> Result<Auth, Failure> {
        let account = self.account(host)?;
        let keys = self.storage_keys(&account, ca_files, rt)?;
        let Some(key) = keys.into_iter().next() else { return Err("ARM listed no key".to_string().into()) };
        Ok(Auth::Ntlm { user: account.name, domain: "Azure".into(), password: key.value })
    }

    fn account(&self, host: &str) -> Result<Account, Failure> {
        let need = |v: &Option<String>, flag: &str| {
            v.clone().ok_or_else(|| Failure::from(format!("a storage key from ARM needs {flag}")))
        };
        Ok(Account {
            subscription: need(&self.subscription, "--subscription")?,
            resource_group: need(&self.resource_group, "--resource-group")?,
            name: self.account.clone().unwrap_or_else(|| host.split('.').next().unwrap_or(host).to_string()),
        })
    }

    fn storage_keys(
        &self,
        account: &Account,
        ca_files: &[PathBuf],
        rt: &tokio::runtime::Runtime,
    ) -> Result<Vec<arm::StorageKey>, Failure> {
        let arm = Url::parse(&self.arm_endpoint)?;
        let source = self.source()?;
        Ok(rt.block_on(self.managed(ca_files)?.http_client().storage_keys(&source, &arm, account))?)
    }
}

/// The host of `https://host/...`, `smb://host/...`, `//host/...` or a bare host.
fn host_of(target: &str) -> String {
    let rest = ["https://", "smb://", "//"].iter().find_map(|p| target.strip_prefix(p)).unwrap_or(target);
    rest.split(['/', ':']).next().unwrap_or(rest).to_string()
}

/// `keyless oauth-ticket`.
#[derive(clap::Args)]
pub struct OAuthTicketArgs {
    /// The file endpoint or share: https://<account>.file.core.windows.net/ (or smb://host/share).
    target: String,
    /// Credential cache to write (default: KRB5CCNAME, krb5.conf, /tmp/krb5cc_UID).
    #[arg(short = 'c', value_name = "CCACHE")]
    ccache: Option<String>,
    /// Keep running and renew the ticket before it ends (5 minutes ahead, or a quarter of a
    /// short ticket's life).
    #[arg(long)]
    refresh: bool,
    /// Extra CA certificate (PEM) to trust for the endpoints.
    #[arg(long, value_name = "FILE")]
    ca_file: Vec<PathBuf>,
    #[command(flatten)]
    identity: IdentityArgs,
}

pub fn oauth_ticket(a: OAuthTicketArgs) -> Result<(), Failure> {
    let ctx = Context::load()?;
    let resolved = ctx.cache(a.ccache.as_deref())?;
    let mut tickets = a.identity.tickets(&host_of(&a.target), &a.ca_file)?;
    let rt = runtime()?;
    let mut ticket = rt.block_on(tickets.ticket())?;
    store(&ctx, &resolved, &ticket)?;
    if !a.refresh {
        return Ok(());
    }
    loop {
        let life = ticket.end_time - ticket.start_time.max(ticket.auth_time);
        let renew_at = ticket.end_time - (life / 4).clamp(1, 300);
        let wait = u64::try_from(renew_at - unix_seconds(SystemTime::now())).unwrap_or(0);
        std::thread::sleep(Duration::from_secs(wait));
        match rt.block_on(tickets.ticket()).map_err(Failure::from).and_then(|t| store(&ctx, &resolved, &t).map(|()| t))
        {
            Ok(t) => ticket = t,
            Err(e) => {
                // Keep the old ticket while it lasts and try again shortly.
                eprintln!("keyless oauth-ticket: renewal failed: {e}");
                let left = ticket.end_time - unix_seconds(SystemTime::now());
                std::thread::sleep(Duration::from_secs(u64::try_from(left.clamp(1, 30)).unwrap_or(1)));
            }
        }
    }
}

/// Puts the ticket into the cache (a new cache for its client if there is none, replacing an
/// older ticket for the same service; never into a cache holding another principal).
fn store(ctx: &Context, resolved: &keyless_krb::ccache::Resolved, ticket: &Credential) -> Result<(), Failure> {
    let target = ctx.put_credentials(resolved, std::slice::from_ref(ticket), true)?;
    println!(
        "stored a ticket for {} (client {}) valid until {} UTC in {target}",
        ticket.server,
        ticket.client,
        format_utc(ticket.end_time),
    );
    Ok(())
}

/// `keyless storage-key`.
#[derive(clap::Args)]
pub struct StorageKeyArgs {
    /// Print the key itself (a secret: for a pipe or a file of mode 0600).
    #[arg(long)]
    raw: bool,
    /// Extra CA certificate (PEM) to trust for ARM.
    #[arg(long, value_name = "FILE")]
    ca_file: Vec<PathBuf>,
    #[command(flatten)]
    identity: IdentityArgs,
}

pub fn storage_key(a: StorageKeyArgs) -> Result<(), Failure> {
    let host = a.identity.account.clone().ok_or_else(|| Failure::from("give --account".to_string()))?;
    let account = a.identity.account(&host)?;
    let keys = a.identity.storage_keys(&account, &a.ca_file, &runtime()?)?;
    for (i, k) in keys.iter().enumerate() {
        if a.raw {
            if i == 0 {
                println!("{}", k.value.as_str());
            }
        } else {
            println!("{} {} {} (the value only with --raw)", account.name, k.name, k.permissions);
        }
    }
    Ok(())
}

/// `keyless token`.
#[derive(clap::Args)]
pub struct TokenArgs {
    /// The audience.
    #[arg(long, default_value = keyless_identity::STORAGE_RESOURCE)]
    resource: String,
    /// Print the token itself (a secret).
    #[arg(long)]
    raw: bool,
    /// Extra CA certificate (PEM) to trust.
    #[arg(long, value_name = "FILE")]
    ca_file: Vec<PathBuf>,
    #[command(flatten)]
    identity: IdentityArgs,
}

pub fn token(a: TokenArgs) -> Result<(), Failure> {
    let source = a.identity.source()?;
    let what = source.describe();
    let flow = keyless_identity::flow::TokenFlow::new(source, &a.resource);
    let token = runtime()?.block_on(a.identity.managed(&a.ca_file)?.http_client().token(flow))?;
    if a.raw {
        println!("{}", token.secret());
    } else {
        println!(
            "a token for {} from {what}, valid until {} UTC (the token only with --raw)",
            token.audience.as_deref().unwrap_or(&a.resource),
            format_utc(token.expires_on)
        );
    }
    Ok(())
}
