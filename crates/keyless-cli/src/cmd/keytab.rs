//! `keyless keytab add|list`: keytabs from passwords (string-to-key with the principal's salt,
//! as MIT `ktutil addent -password` does), from raw keys or an NT hash (as `ktutil addent
//! -key` does), and their listing.

use crate::cmd::raw_keys;
use crate::context::{Context, Failure, read_password};
use keyless_crypto::{Key, for_etype};
use keyless_krb::Principal;
use keyless_krb::keytab::{Keytab, KeytabEntry};
use std::path::{Path, PathBuf};

#[derive(clap::Subcommand)]
pub enum Command {
    /// Add keys derived from a password (asked for, or --password-file), or given as --key
    /// or --nt-hash.
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
        /// Instead of a password, this key: `aes256-cts:HEX`, `rc4-hmac:HEX`, or the
        /// enctype's number (repeatable).
        #[arg(long = "key", value_name = "ENCTYPE:HEX", conflicts_with_all = ["password_file", "enctypes", "salt"])]
        keys: Vec<String>,
        /// Instead of a password, its NT hash (32 hex digits, or LM:NT as secretsdump prints),
        /// stored as the RC4-HMAC key it is.
        #[arg(long = "nt-hash", value_name = "HEX", conflicts_with_all = ["password_file", "enctypes", "salt"])]
        nt_hash: Option<String>,
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
        Command::Add { keytab, enctypes, salt, kvno, password_file, keys, nt_hash, principal } => {
            let ctx = Context::load()?;
            let principal = Principal::parse(&principal, ctx.conf().default_realm())?;
            if !keys.is_empty() || nt_hash.is_some() {
                let mut given = Vec::new();
                for arg in &keys {
                    given.push(raw_keys::kerberos_key(arg).map_err(|why| format!("--key: {why}"))?);
                }
                if let Some(arg) = &nt_hash {
                    given.push(raw_keys::rc4_key_of(
                        &raw_keys::nt_hash(arg).map_err(|why| format!("--nt-hash: {why}"))?,
                    ));
                }
                return add(&keytab, &principal, kvno, &given);
            }
            let etypes = match &enctypes {
                Some(list) => list.split(',').flat_map(keyless_krb::config::enctypes_named).collect(),
                None => ctx.enctypes(),
            };
            if etypes.is_empty() {
                return Err("no known enctype in the list".to_string().into());
            }
            let password = read_password(&format!("Password for {principal}: "), password_file.as_ref())?;
            let salt = salt.map(String::into_bytes).unwrap_or_else(|| principal.default_salt());
            let derived = etypes
                .into_iter()
                .map(|etype| for_etype(etype).and_then(|e| e.string_to_key(password.as_bytes(), &salt, None)))
                .collect::<Result<Vec<_>, _>>()
                .map_err(keyless_krb::Error::Crypto)?;
            add(&keytab, &principal, kvno, &derived)
        }
        Command::List { keytab, keys } => super::klist::list_keytab(&keytab, keys),
    }
}

/// Adds `keys` for `principal` to the keytab file (created when missing).
fn add(keytab: &Path, principal: &Principal, kvno: u32, keys: &[Key]) -> Result<(), Failure> {
    let mut kt = if keytab.exists() { Keytab::read(keytab)? } else { Keytab::default() };
    let timestamp = u32::try_from(keyless_krb::time::unix_seconds(std::time::SystemTime::now())).unwrap_or(0);
    for key in keys {
        kt.entries.push(KeytabEntry {
            principal: principal.clone(),
            timestamp,
            kvno,
            enctype: key.etype().0,
            key: key.expose_zeroizing(),
        });
    }
    kt.write(keytab)?;
    Ok(())
}
