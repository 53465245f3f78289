//! `keyless klist`: the tickets of a credential cache, or the keys of a keytab, in MIT's layout.

use crate::context::{Context, Failure};
use keyless_crypto::EncType;
use keyless_krb::TicketHeader;
use keyless_krb::ccache::{CCache, CacheName, Collection};
use keyless_krb::keytab::Keytab;
use keyless_krb::time::{klist_format, unix_seconds};
use std::path::PathBuf;
use std::time::SystemTime;

#[derive(clap::Args)]
pub struct Args {
    /// Credential cache to list, any type (default: KRB5CCNAME, krb5.conf, /tmp/krb5cc_UID).
    #[arg(short = 'c', value_name = "CCACHE", conflicts_with = "keytab")]
    ccache: Option<String>,
    /// List the caches of the collection: principal and cache name, the primary first.
    #[arg(short = 'l', conflicts_with_all = ["keytab", "all"])]
    list: bool,
    /// Show the tickets of every cache of the collection.
    #[arg(short = 'A', conflicts_with = "keytab")]
    all: bool,
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
    let resolved = ctx.cache(args.ccache.as_deref())?;
    if args.list {
        return list_collection(&resolved.collection);
    }
    if args.all {
        // Caches reserved and never written, or emptied by expiry, are passed over.
        let readable: Vec<_> =
            resolved.collection.caches()?.into_iter().filter_map(|n| n.read().ok().map(|c| (n, c))).collect();
        for (i, (name, cache)) in readable.iter().enumerate() {
            if i > 0 {
                println!();
            }
            show(name, cache, args.enctypes);
        }
        return Ok(());
    }
    show(&resolved.cache, &resolved.cache.read()?, args.enctypes);
    Ok(())
}

/// MIT's `klist -l`: one line per cache, principal then name, the primary first.
fn list_collection(collection: &Collection) -> Result<(), Failure> {
    let caches = collection.caches()?;
    if caches.is_empty() {
        return Err(format!("no credentials caches found ({collection}); run keyless kinit first").into());
    }
    println!("{:<30} Cache name", "Principal name");
    println!("{:<30} ----------", "--------------");
    let now = unix_seconds(SystemTime::now());
    for name in caches {
        let Ok(cache) = name.read() else { continue };
        let expired = !cache.credentials().any(|c| c.is_valid_at(now, 0));
        println!("{:<30} {name}{}", cache.principal.to_string(), if expired { " (Expired)" } else { "" });
    }
    Ok(())
}

fn show(name: &CacheName, cache: &CCache, enctypes: bool) {
    println!("Ticket cache: {name}");
    println!("Default principal: {}\n", cache.principal);
    println!("{:<18} {:<18} Service principal", "Valid starting", "Expires");
    for e in cache.entries.iter().filter(|e| !e.is_config()) {
        let start = if e.start_time != 0 { e.start_time } else { e.auth_time };
        println!("{:<18} {:<18} {}", klist_format(i64::from(start)), klist_format(i64::from(e.end_time)), e.server);
        if e.renew_till != 0 {
            println!("\trenew until {}", klist_format(i64::from(e.renew_till)));
        }
        if enctypes {
            let tkt = TicketHeader::decode(&e.ticket).map(|t| t.etype.to_string()).ok().unwrap_or_else(|| "?".into());
            println!("\tEtype (skey, tkt): {}, {}", EncType(e.keytype), tkt);
        }
    }
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
