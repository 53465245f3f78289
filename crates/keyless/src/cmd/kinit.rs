//! `keyless kinit`: an AS exchange, then a fresh credential cache holding the TGT.

use crate::context::{Context, Failure, read_password, runtime};
use keyless_krb::ccache::CCache;
use keyless_krb::keytab::Keytab;
use keyless_krb::{AsExchange, AsOptions, ClientSecret, OsRandom, Principal, transport};
use std::path::PathBuf;
use std::time::{Duration, SystemTime};

#[derive(clap::Args)]
pub struct Args {
    /// Credential cache to write (default: KRB5CCNAME, krb5.conf, /tmp/krb5cc_UID).
    #[arg(short = 'c', value_name = "CCACHE")]
    ccache: Option<String>,
    /// Use a keytab instead of a password.
    #[arg(short = 'k')]
    use_keytab: bool,
    /// The keytab for -k.
    #[arg(short = 't', value_name = "KEYTAB", requires = "use_keytab")]
    keytab: Option<PathBuf>,
    /// KDC to use first: udp://host:port, tcp://host:port, host:port, or an MS-KKDCP proxy
    /// https://host[:port]/path (repeatable).
    #[arg(long = "kdc", value_name = "URL")]
    kdc: Vec<String>,
    /// Extra CA certificate (PEM) to trust for an https:// KDC proxy.
    #[arg(long, value_name = "FILE")]
    ca_file: Vec<PathBuf>,
    /// Read the password from the first line of this file.
    #[arg(long, value_name = "FILE", conflicts_with = "use_keytab")]
    password_file: Option<PathBuf>,
    /// Ticket lifetime in hours.
    #[arg(short = 'l', long, value_name = "HOURS", default_value_t = 10)]
    lifetime: u64,
    /// Ask for a ticket without a PAC (what standalone Samba needs from an MIT KDC).
    #[arg(long)]
    no_pac: bool,
    /// Enctypes to request, comma-separated MIT names (default: krb5.conf permitted_enctypes).
    #[arg(long, value_name = "LIST")]
    enctypes: Option<String>,
    /// The client principal (`user` or `user@REALM`).
    principal: String,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let ctx = Context::load()?;
    let client = Principal::parse(&args.principal, ctx.conf.default_realm())?;
    let mut opts = AsOptions::new(client.clone());
    opts.lifetime = Duration::from_secs(args.lifetime * 3600);
    opts.etypes = match &args.enctypes {
        Some(list) => list.split(',').flat_map(keyless_krb::config::enctypes_named).collect(),
        None => ctx.enctypes(),
    };
    if opts.etypes.is_empty() {
        return Err(Failure::from("no usable enctype requested".to_string()));
    }
    if args.no_pac {
        opts.request_pac = Some(false);
    }
    let path = ctx.ccache_path(args.ccache.as_deref())?;
    let secret = if args.use_keytab {
        let path = args.keytab.clone().unwrap_or_else(|| PathBuf::from("/etc/krb5.keytab"));
        let keys = Keytab::read(&path)?.keys_for(&client);
        if keys.is_empty() {
            return Err(keyless_krb::Error::NoKeyInKeytab(client).into());
        }
        ClientSecret::Keys(keys)
    } else {
        ClientSecret::Password(read_password(&format!("Password for {client}: "), args.password_file.as_ref())?)
    };
    let dir = ctx.kdcs(&[&client.realm], &args.kdc, &args.ca_file)?;
    let tgt = runtime()?.block_on(async {
        let mut rng = OsRandom;
        let (mut ex, first) = AsExchange::start(opts, secret, SystemTime::now(), &mut rng)?;
        transport::run(&dir, &mut ex, first, &mut rng, &SystemTime::now).await
    })?;
    // Only now, with a ticket in hand, is the cache replaced: a failed kinit leaves it alone.
    let mut cache = CCache::new(tgt.client.clone());
    cache.store(&tgt);
    cache.write(&path)?;
    Ok(())
}
