//! `keyless kdestroy`: overwrite the cache with zeros, then remove it (as MIT does).

use crate::context::{Context, Failure};

#[derive(clap::Args)]
pub struct Args {
    /// Credential cache to destroy.
    #[arg(short = 'c', value_name = "CCACHE")]
    ccache: Option<String>,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let ctx = Context::load()?;
    let path = ctx.ccache_path(args.ccache.as_deref())?;
    let len = match std::fs::metadata(&path) {
        Ok(m) => m.len(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(format!("no credentials cache found (FILE:{})", path.display()).into());
        }
        Err(e) => return Err(format!("{}: {e}", path.display()).into()),
    };
    let zeros = vec![0u8; usize::try_from(len).unwrap_or(0)];
    std::fs::write(&path, zeros)
        .and_then(|()| std::fs::remove_file(&path))
        .map_err(|e| format!("{}: {e}", path.display()))?;
    Ok(())
}
