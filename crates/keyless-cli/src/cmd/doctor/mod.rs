//! `keyless doctor [URL]`: walks the chain from this machine to a share, one line per link,
//! each ok or what is wrong and what to do about it. The links run in the order a connection
//! needs them; a link whose precondition failed is skipped, not failed again. The exit status
//! is the code of the first failing link ([`Link::code`]), 0 when none fails.

mod kerberos;
mod kernel;
mod network;
mod oauth;
mod report;

use crate::cmd::smb::{self, AuthKind, Connect, SmbUrl};
use crate::context::{Context, Failure, runtime};
use keyless_client::{Auth, Client};
use keyless_krb::Credential;
use report::{Report, Verdict};
use std::path::PathBuf;
use std::process::ExitCode;

/// `keyless doctor`.
#[derive(clap::Args)]
#[command(after_help = Link::TABLE)]
pub struct Args {
    /// The share: smb://host[:port]/share. Without it only this machine's side is checked.
    url: Option<String>,
    /// Also check the kernel cifs client's path (`mount -t cifs -o sec=krb5`): the request-key
    /// rule for cifs.spnego, the upcall it runs, and the cifs module.
    #[arg(long)]
    kernel: bool,
    /// request-key's rules (default /etc/request-key.conf and the files of /etc/request-key.d).
    #[arg(long, value_name = "PATH", requires = "kernel")]
    request_key_conf: Vec<PathBuf>,
    /// The same report as JSON: {"links":[{"link","status","code","detail"}...],"exit":N}.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    connect: Connect,
}

/// A link of the chain, in the order the walk checks them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Link {
    /// The host name resolves; the SPN it implies.
    Name,
    /// The SMB port accepts a TCP connection.
    Tcp,
    /// NEGOTIATE: dialect, signing, encryption.
    Negotiate,
    /// This machine's clock against the server's and the KDC's.
    Clock,
    /// krb5.conf: the host's realm and that realm's KDCs.
    Realm,
    /// The credential cache: its type, that it exists, whose it is.
    Cache,
    /// A valid TGT in the cache.
    Tgt,
    /// A KDC of the client's realm answers.
    Kdc,
    /// A service ticket for cifs/<host>.
    Ticket,
    /// A managed identity's token (--auth oauth).
    Identity,
    /// The token's audience and lifetime.
    Token,
    /// Azure Files' kerbticket endpoint trades the token for a ticket.
    Kerbticket,
    /// SESSION_SETUP and TREE_CONNECT with the credential.
    Session,
    /// request-key has a rule for cifs.spnego.
    RequestKey,
    /// The upcall program that rule runs.
    Upcall,
    /// The kernel's cifs module.
    CifsModule,
}

impl Link {
    /// The exit status when this is the first link to fail.
    pub fn code(self) -> u8 {
        10 + self as u8
    }

    /// The name printed and put in JSON.
    pub fn name(self) -> &'static str {
        match self {
            Self::Name => "name",
            Self::Tcp => "tcp",
            Self::Negotiate => "negotiate",
            Self::Clock => "clock",
            Self::Realm => "realm",
            Self::Cache => "cache",
            Self::Tgt => "tgt",
            Self::Kdc => "kdc",
            Self::Ticket => "ticket",
            Self::Identity => "identity",
            Self::Token => "token",
            Self::Kerbticket => "kerbticket",
            Self::Session => "session",
            Self::RequestKey => "request-key",
            Self::Upcall => "upcall",
            Self::CifsModule => "cifs-module",
        }
    }

    const TABLE: &'static str = "Exit status: 0 when every link is ok, else the first failing link's code:
  10 name, 11 tcp, 12 negotiate, 13 clock, 14 realm, 15 cache, 16 tgt, 17 kdc, 18 ticket,
  19 identity, 20 token, 21 kerbticket, 22 session, 23 request-key, 24 upcall, 25 cifs-module;
  1 when the options themselves are wrong.";
}

/// Runs the walk and prints the report.
pub fn run(a: Args) -> ExitCode {
    let report = match walk(&a) {
        Ok(r) => r,
        Err(e) => {
            eprintln!("keyless doctor: {e}");
            return ExitCode::FAILURE;
        }
    };
    if a.json {
        println!("{}", report.json());
    } else {
        print!("{}", report.text());
    }
    ExitCode::from(report.first_failure().map_or(0, Link::code))
}

fn walk(a: &Args) -> Result<Report, Failure> {
    let mut report = Report::default();
    let url = a.url.as_deref().map(crate::cmd::smb::parse_url).transpose()?;
    let rt = runtime()?;
    let c = &a.connect;
    let mut negotiated = None;
    if let Some(url) = &url {
        let target = network::Target::new(url, c);
        let addr = report.check(Link::Name, || network::resolve(&target));
        let stream = match addr {
            Some(addr) => report.check(Link::Tcp, || network::reach(addr)),
            None => report.skip(Link::Tcp, "no address to connect to"),
        };
        negotiated = match stream {
            Some(stream) => report.check(Link::Negotiate, || network::negotiate(stream, &target, c.allow_smb2())),
            None => report.skip(Link::Negotiate, "no connection"),
        };
    }
    let oauth = c.auth() == AuthKind::Oauth;
    let by_password = matches!(c.auth(), AuthKind::Ntlm | AuthKind::StorageKey);
    let mut kdc_clock = None;
    let mut ticket = None;
    if oauth {
        if let Some(url) = &url {
            ticket = oauth::walk(&mut report, url, c, &rt);
        }
    } else if by_password {
        report.skip::<()>(Link::Cache, "no Kerberos with --auth ntlm or storage-key");
    } else {
        match Context::load() {
            Ok(ctx) => {
                let found = kerberos::walk(&mut report, &ctx, url.as_ref(), c, &rt);
                kdc_clock = found.kdc_clock;
                ticket = found.ticket;
            }
            Err(e) => {
                report.fail(Link::Realm, report::Wrong::new(e.to_string(), "fix krb5.conf (KRB5_CONFIG names it)"))
            }
        }
    }
    match network::clock(negotiated.as_ref().and_then(|n| n.clock), kdc_clock) {
        Some(verdict) => report.record(Link::Clock, verdict),
        None => {
            report.skip::<()>(Link::Clock, "neither the server's nor a KDC's time was read");
        }
    }
    if let Some(url) = &url {
        let dialect = negotiated.as_ref().map(|n| n.dialect);
        if negotiated.is_none() {
            report.skip::<()>(Link::Session, "no dialect in common");
        } else if by_password {
            report.check(Link::Session, || session(url, c, None, dialect, &rt));
        } else if let Some(t) = ticket {
            report.check(Link::Session, || session(url, c, Some(t), dialect, &rt));
        } else {
            report.skip::<()>(Link::Session, "no ticket to present");
        }
    }
    if a.kernel {
        kernel::walk(&mut report, &a.request_key_conf, oauth);
    }
    Ok(report)
}

/// SESSION_SETUP and TREE_CONNECT as the file commands do them (nothing is stored anywhere).
fn session(
    url: &SmbUrl,
    c: &Connect,
    ticket: Option<Credential>,
    dialect: Option<keyless_smb::Dialect>,
    rt: &tokio::runtime::Runtime,
) -> Verdict<()> {
    let port = c.port_for(url);
    // With a ticket the walk found; without one (NTLM, a storage key), as the commands
    // authenticate.
    let builder = match ticket {
        Some(ticket) => {
            let mut b = Client::builder(&url.host)
                .port(port)
                .require_encryption(c.require_encryption())
                .require_signing(c.require_signing())
                .auth(Auth::Kerberos(ticket));
            if c.allow_smb2() {
                b = b.dialects(&keyless_client::negotiate::DIALECTS);
            }
            if let Some(ip) = c.ip() {
                b = b.address(ip);
            }
            b
        }
        None => smb::client_builder(c, url, rt).map_err(|e| report::Wrong::plain(e.to_string()))?,
    };
    let client = rt.block_on(builder.connect()).map_err(|e| {
        // smbd and Windows answer ACCESS_DENIED to a session that cannot be encrypted when
        // they demand encryption; the file commands' hint (permissions) would mislead here.
        let denied = e.status() == Some(keyless_smb::NtStatus::ACCESS_DENIED);
        match dialect {
            Some(d) if denied && network::is_smb2(d) => report::Wrong::new(
                format!("{}:{port}: the server refused the session over SMB {d} ({e}): it demands encryption, which SMB 2 cannot give", url.host),
                "enable SMB 3 on the server, or turn its encryption requirement off",
            ),
            _ => report::Wrong::plain(format!("{}:{port}: {}", url.host, smb::explain(&e))),
        }
    })?;
    let info = client.session().info();
    let tree = rt
        .block_on(client.tree(&url.share))
        .map_err(|e| report::Wrong::plain(format!("//{}/{}: {}", url.host, url.share, smb::explain(&e))))?;
    let encrypted = match (info.encrypted, info.signed) {
        (true, _) => "encrypted",
        (false, true) => "signed, not encrypted",
        (false, false) => "neither signed nor encrypted (--signing if-required)",
    };
    let _ = rt.block_on(tree.disconnect());
    rt.block_on(client.session().logoff());
    Ok(((), format!("//{}/{} opens, {} over SMB {}", url.host, url.share, encrypted, info.negotiated.dialect)))
}
