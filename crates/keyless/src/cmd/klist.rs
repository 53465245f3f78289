//! `keyless klist`: the tickets of a credential cache, or the keys of a keytab, in MIT's layout.

use crate::context::{Context, Failure};
use keyless_crypto::EncType;
use keyless_krb::keytab::Keytab;
use keyless_krb::messages::ticket_enc_info;
use keyless_krb::time::klist_format;
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Credential cache to list.
    #[arg(short = 'c', value_name = "CCACHE", conflicts_with = "keytab")]
    ccache: Option<String>,
    /// List this keytab instead.
    #[arg(short = 'k', value_name = "KEYTAB")]
    keytab: Option<PathBuf>,
    /// Show enctypes.
    #[arg(short = 'e')]
    enctypes: bool,
    /// With -k, show the key bytes (secrets: only on request).
    #[arg(short = 'K')]
    keys: bool,
}

pub fn run(args: Args) -> Result<(), Failure> {
    if let Some(path) = &args.keytab {
        return list_keytab(path, args.keys);
    }
    let ctx = Context::load()?;
    let path = ctx.ccache_path(args.ccache.as_deref())?;
    let cache = ctx.read_cache(&path)?;
    println!("Ticket cache: FILE:{}", path.display());
    println!("Default principal: {}\n", cache.principal);
    println!("{:<18} {:<18} Service principal", "Valid starting", "Expires");
    for e in cache.entries.iter().filter(|e| !e.is_config()) {
        let start = if e.start_time != 0 { e.start_time } else { e.auth_time };
        println!("{:<18} {:<18} {}", klist_format(i64::from(start)), klist_format(i64::from(e.end_time)), e.server);
        if e.renew_till != 0 {
            println!("\trenew until {}", klist_format(i64::from(e.renew_till)));
        }
        if args.enctypes {
            let tkt = ticket_enc_info(&e.ticket).map(|(t, _)| t.to_string()).unwrap_or_else(|| "?".into());
            println!("\tEtype (skey, tkt): {}, {}", EncType(e.keytype), tkt);
        }
    }
    Ok(())
}

pub fn list_keytab(path: &std::path::Path, show_keys: bool) -> Result<(), Failure> {
    let kt = Keytab::read(path)?;
    println!("Keytab name: FILE:{}", path.display());
    println!("KVNO Principal");
    println!("---- --------------------------------------------------------------------------");
    for e in &kt.entries {
        let key = if show_keys {
            format!(" (0x{})", e.key.iter().map(|b| format!("{b:02x}")).collect::<String>())
        } else {
            String::new()
        };
        println!("{:>4} {} ({}){key}", e.kvno, e.principal, EncType(e.enctype));
    }
    Ok(())
}
