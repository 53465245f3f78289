//! `keyless kinit`: an AS exchange, then a fresh credential cache holding the TGT.

use crate::context::{Context, Failure, read_password, runtime};
use keyless_krb::keytab::Keytab;
use keyless_krb::{ClientSecret, Principal};
use std::path::PathBuf;
use std::time::Duration;

#[derive(clap::Args)]
pub struct Args {
    /// Credential cache to write, any type (default: KRB5CCNAME, krb5.conf, /tmp/krb5cc_UID).
    /// In a collection (DIR:, KEYRING:, KCM:) the client's own cache, or a new one, which
    /// becomes the primary.
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
    /// Ticket lifetime, as MIT writes it: `10h`, `30m`, `90s`, `1d`, `1h30m`, or `h:m[:s]`
    /// (a bare number is hours).
    #[arg(short = 'l', long, value_name = "DURATION", default_value = "10h", value_parser = parse_lifetime)]
    lifetime: Duration,
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
    let client = Principal::parse(&args.principal, ctx.conf().default_realm())?;
    let mut opts = ctx.krb.as_options(&client);
    opts.lifetime = args.lifetime;
    opts.etypes = match &args.enctypes {
        Some(list) => list.split(',').flat_map(keyless_krb::config::enctypes_named).collect(),
        None => opts.etypes,
    };
    if opts.etypes.is_empty() {
        return Err(Failure::from("no usable enctype requested".to_string()));
    }
    if args.no_pac {
        opts.request_pac = Some(false);
    }
    let resolved = ctx.cache(args.ccache.as_deref())?;
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
    let krb = ctx.with(&args.kdc, &args.ca_file)?;
    let tgt = runtime()?.block_on(krb.tgt(opts, secret))?;
    // Only now, with a ticket in hand, is the cache picked (a new one made, in a collection) and
    // replaced: a failed kinit leaves everything as it was. A cache named outright that held
    // someone else's tickets is replaced, as MIT's kinit does, but not in silence.
    let (target, replaced) = ctx.krb.initialize_cache(&resolved, &tgt)?;
    if let Some(held) = replaced {
        eprintln!("keyless kinit: replacing the tickets of {held} in {target}");
    }
    Ok(())
}

/// `10h`, `30m`, `90s`, `2d`, `1h30m`, `h:m[:s]`, or a bare number of hours.
fn parse_lifetime(text: &str) -> Result<Duration, String> {
    let bad = || format!("{text}: not a lifetime (write 10h, 30m, 90s, 1d, 1h30m or 1:30)");
    if let Ok(hours) = text.parse::<u64>() {
        return Ok(Duration::from_secs(hours * 3600));
    }
    if text.contains(':') {
        let parts: Vec<u64> = text.split(':').map(str::parse).collect::<Result<_, _>>().map_err(|_| bad())?;
        return match parts.as_slice() {
            [h, m] => Ok(Duration::from_secs(h * 3600 + m * 60)),
            [h, m, s] => Ok(Duration::from_secs(h * 3600 + m * 60 + s)),
            _ => Err(bad()),
        };
    }
    let (mut total, mut number) = (0u64, String::new());
    for c in text.chars() {
        if c.is_ascii_digit() {
            number.push(c);
            continue;
        }
        let unit = match c {
            's' => 1,
            'm' => 60,
            'h' => 3600,
            'd' => 86_400,
            _ => return Err(bad()),
        };
        total += number.parse::<u64>().map_err(|_| bad())? * unit;
        number.clear();
    }
    if !number.is_empty() || total == 0 {
        return Err(bad());
    }
    Ok(Duration::from_secs(total))
}

#[cfg(test)]
mod tests {
    use super::parse_lifetime;
    use std::time::Duration;

    #[test]
    fn lifetimes_as_mit_writes_them() {
        for (text, secs) in [
            ("10", 36_000),
            ("10h", 36_000),
            ("30m", 1800),
            ("90s", 90),
            ("1d", 86_400),
            ("1h30m", 5400),
            ("1:30", 5400),
            ("0:0:45", 45),
        ] {
            assert_eq!(parse_lifetime(text), Ok(Duration::from_secs(secs)), "{text}");
        }
        for text in ["", "h", "10x", "1:2:3:4", "0s"] {
            assert!(parse_lifetime(text).is_err(), "{text}");
        }
    }
}
