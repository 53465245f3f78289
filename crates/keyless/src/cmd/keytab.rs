//! `keyless keytab add|list`: keytabs from passwords (string-to-key with the principal's salt,
//! as MIT `ktutil addent -password` does) and their listing.

use crate::context::{Context, Failure, read_password};
use keyless_crypto::for_etype;
use keyless_krb::Principal;
use keyless_krb::keytab::{Keytab, KeytabEntry};
use std::path::PathBuf;

#[derive(clap::Subcommand)]
pub enum Command {
    /// Add keys derived from a password (asked for, or --password-file).
    Add {
        /// The keytab file (created 0600 if missing).
        #[arg(short = 'k', value_name = "FILE")]
        keytab: PathBuf,
        /// Enctypes, comma-separated MIT names (default: krb5.conf permitted_enctypes).
        #[arg(long, value_name = "LIST")]
        enctypes: Option<String>,
        /// Salt (default: realm followed by the name components).
        #[arg(long)]
        salt: Option<String>,
        /// Key version number.
        #[arg(long, default_value_t = 1)]
        kvno: u32,
        /// Read the password from the first line of this file.
        #[arg(long, value_name = "FILE")]
        password_file: Option<PathBuf>,
        /// The principal.
        principal: String,
    },
    /// List the entries (with --keys, the key bytes: secrets, only on request).
    List {
        /// The keytab file.
        #[arg(short = 'k', value_name = "FILE")]
        keytab: PathBuf,
        /// Show the key bytes.
        #[arg(long)]
        keys: bool,
    },
}

pub fn run(cmd: Command) -> Result<(), Failure> {
    match cmd {
        Command::Add { keytab, enctypes, salt, kvno, password_file, principal } => {
            let ctx = Context::load()?;
            let principal = Principal::parse(&principal, ctx.conf.default_realm())?;
            let etypes = match &enctypes {
                Some(list) => list.split(',').flat_map(keyless_krb::config::enctypes_named).collect(),
                None => ctx.enctypes(),
            };
            if etypes.is_empty() {
                return Err("no known enctype in the list".to_string().into());
            }
            let password = read_password(&format!("Password for {principal}: "), password_file.as_ref())?;
            let salt = salt.map(String::into_bytes).unwrap_or_else(|| principal.default_salt());
            let mut kt = if keytab.exists() { Keytab::read(&keytab)? } else { Keytab::default() };
            let timestamp = u32::try_from(keyless_krb::time::unix_seconds(std::time::SystemTime::now())).unwrap_or(0);
            for etype in etypes {
                let key = for_etype(etype)
                    .and_then(|e| e.string_to_key(password.as_bytes(), &salt, None))
                    .map_err(keyless_krb::Error::Crypto)?;
                kt.entries.push(KeytabEntry {
                    principal: principal.clone(),
                    timestamp,
                    kvno,
                    enctype: etype.0,
                    key: key.expose_zeroizing(),
                });
            }
            kt.write(&keytab)?;
            Ok(())
        }
        Command::List { keytab, keys } => super::klist::list_keytab(&keytab, keys),
    }
}
