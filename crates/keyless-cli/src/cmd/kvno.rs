//! `keyless kvno`: service tickets through TGS exchanges with the cache's TGT (following
//! cross-realm trusts and referrals), stored back into the cache with any cross-realm TGTs.

use crate::context::{Context, Failure, runtime};
use keyless_krb::Error;
use keyless_krb::TicketHeader;
use keyless_krb::time::unix_seconds;
use std::path::PathBuf;
use std::time::SystemTime;

#[derive(clap::Args)]
pub struct Args {
    /// Credential cache with the TGT (default: KRB5CCNAME, krb5.conf, /tmp/krb5cc_UID).
    #[arg(short = 'c', value_name = "CCACHE")]
    ccache: Option<String>,
    /// KDC to use first for the client's realm: udp://host:port, tcp://host:port or host:port.
    #[arg(long = "kdc", value_name = "URL")]
    kdc: Vec<String>,
    /// Extra CA certificate (PEM) to trust for an https:// KDC proxy.
    #[arg(long, value_name = "FILE")]
    ca_file: Vec<PathBuf>,
    /// Service principals, e.g. cifs/files.example.com (realm from [domain_realm] or the default).
    #[arg(required = true)]
    services: Vec<String>,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let ctx = Context::load()?;
    let name = ctx.cache(args.ccache.as_deref())?.cache;
    let mut cache = name.read()?;
    let client = cache.principal.clone();
    let now = unix_seconds(SystemTime::now());
    let tgt =
        cache.find_tgt(&client.realm, now).ok_or_else(|| Error::NotInCache(format!("a valid TGT for {client}")))?;
    let rt = runtime()?;
    for spn in &args.services {
        let server = ctx.service_principal(spn, &client.realm)?;
        let cred = ctx.service_ticket(&name, &mut cache, &tgt, &server, &args.kdc, &args.ca_file, &rt)?;
        let kvno = TicketHeader::decode(&cred.ticket)
            .ok()
            .and_then(|t| t.kvno)
            .map(|k| k.to_string())
            .unwrap_or_else(|| "?".into());
        println!("{}: kvno = {kvno}", cred.server);
    }
    Ok(())
}
