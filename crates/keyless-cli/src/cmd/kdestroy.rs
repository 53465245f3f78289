//! `keyless kdestroy`: destroy a credential cache (a file is overwritten with zeros, then
//! removed, as MIT does), or with -A every cache of its collection.

use crate::context::{Context, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// Credential cache to destroy, any type (default: KRB5CCNAME, krb5.conf, /tmp/krb5cc_UID).
    #[arg(short = 'c', value_name = "CCACHE")]
    ccache: Option<String>,
    /// Destroy every cache of the collection (DIR:, KEYRING:, KCM:).
    #[arg(short = 'A')]
    all: bool,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let ctx = Context::load()?;
    let resolved = ctx.cache(args.ccache.as_deref())?;
    if args.all {
        // Every cache, even after one fails: the others' tickets must not stay behind.
        let mut first_error = None;
        for cache in resolved.collection.caches()? {
            match cache.destroy() {
                Ok(()) | Err(keyless_krb::Error::NoCache(_)) => {}
                Err(e) => first_error = first_error.or(Some(e)),
            }
        }
        return first_error.map_or(Ok(()), |e| Err(e.into()));
    }
    Ok(resolved.cache.destroy()?)
}
