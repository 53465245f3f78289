//! `keyless kswitch`: make a cache the primary of its collection (as MIT's kswitch).

use crate::context::{Context, Failure};
use keyless_krb::Principal;

#[derive(clap::Args)]
#[command(group = clap::ArgGroup::new("which").required(true))]
pub struct Args {
    /// The cache to make primary (e.g. DIR::/run/user/1000/krb5cc/tkt2, KEYRING:persistent:1000:krb_ccache_x).
    #[arg(short = 'c', value_name = "CCACHE", group = "which")]
    ccache: Option<String>,
    /// The cache of the default collection holding this principal.
    #[arg(short = 'p', value_name = "PRINCIPAL", group = "which")]
    principal: Option<String>,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let ctx = Context::load()?;
    if let Some(name) = &args.ccache {
        let resolved = ctx.cache(Some(name))?;
        resolved.cache.read()?;
        return Ok(resolved.collection.switch_to(&resolved.cache)?);
    }
    let default = ctx.cache(None)?;
    let wanted = Principal::parse(args.principal.as_deref().unwrap_or_default(), ctx.conf().default_realm())?;
    let found = default
        .collection
        .find(&wanted)?
        .ok_or_else(|| Failure::from(format!("no cache of {} holds tickets of {wanted}", default.collection)))?;
    Ok(default.collection.switch_to(&found)?)
}
