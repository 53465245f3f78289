//! `keyless import`: put credentials handed over outside a KDC exchange into a cache: a
//! KRB-CRED (Entra cloud TGT, Azure Files kerbticket), or an AS-REP with the key that opens it
//! (Entra's `tgt_cloud` `messageBuffer` + `clientKey`). Files may hold DER or base64.

use crate::context::{Context, Failure};
use base64::Engine;
use keyless_crypto::{EncType, Key};
use keyless_krb::krb_cred;
use std::path::{Path, PathBuf};

#[derive(clap::Args)]
pub struct Args {
    /// Credential cache to add to (created for the credential's client if it does not exist).
    #[arg(short = 'c', value_name = "CCACHE")]
    ccache: Option<String>,
    /// A KRB-CRED (DER or base64).
    #[arg(long, value_name = "FILE", conflicts_with = "as_rep", required_unless_present = "as_rep")]
    krb_cred: Option<PathBuf>,
    /// An AS-REP (DER or base64), opened with --key-file.
    #[arg(long, value_name = "FILE", requires = "key_file")]
    as_rep: Option<PathBuf>,
    /// The key for --as-rep, or for an encrypted KRB-CRED: base64 or hex (a secret: keep the file 0600).
    #[arg(long, value_name = "FILE")]
    key_file: Option<PathBuf>,
    /// The key's enctype number (Entra's keyType; 18 = aes256-cts-hmac-sha1-96).
    #[arg(long, default_value_t = 18)]
    enctype: i32,
}

/// DER as is; base64 (standard or URL-safe, whitespace ignored) or hex when the file is text.
fn der_or_base64(path: &Path, what: &str) -> Result<Vec<u8>, Failure> {
    let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
    // Base64 text is made of its alphabet only; DER (an APPLICATION tag, then lengths) is not.
    let is_text = bytes.iter().all(|b| b.is_ascii_alphanumeric() || b"+/=-_\r\n\t ".contains(b));
    if !is_text {
        return Ok(bytes);
    }
    decode_text(&bytes).ok_or_else(|| Failure::from(format!("{}: not a {what} in DER or base64", path.display())))
}

fn decode_text(bytes: &[u8]) -> Option<Vec<u8>> {
    let text: String = String::from_utf8_lossy(bytes).split_whitespace().collect();
    base64::engine::general_purpose::STANDARD
        .decode(&text)
        .or_else(|_| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(text.trim_end_matches('=')))
        .ok()
        .or_else(|| keyless_hex(&text))
}

fn keyless_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || text.is_empty() {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok()).collect()
}

fn key(args: &Args) -> Result<Option<Key>, Failure> {
    let Some(path) = &args.key_file else { return Ok(None) };
    let text = zeroize::Zeroizing::new(std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?);
    // Hex first: a 32-byte key in hex is also valid base64 of other bytes.
    let trimmed = String::from_utf8_lossy(&text).trim().to_string();
    let raw = zeroize::Zeroizing::new(
        keyless_hex(&trimmed)
            .or_else(|| decode_text(&text))
            .ok_or_else(|| Failure::from(format!("{}: the key is neither hex nor base64", path.display())))?,
    );
    Ok(Some(Key::from_bytes(EncType(args.enctype), &raw).map_err(keyless_krb::Error::Crypto)?))
}

pub fn run(args: Args) -> Result<(), Failure> {
    let ctx = Context::load()?;
    let resolved = ctx.cache(args.ccache.as_deref())?;
    let key = key(&args)?;
    let creds = match (&args.krb_cred, &args.as_rep, &key) {
        (Some(f), _, _) => krb_cred::credentials(&der_or_base64(f, "KRB-CRED")?, key.as_ref())?,
        (None, Some(f), Some(k)) => vec![krb_cred::from_as_rep(&der_or_base64(f, "AS-REP")?, k)?],
        _ => return Err("give --krb-cred FILE, or --as-rep FILE with --key-file FILE".to_string().into()),
    };
    let Some(first) = creds.first() else { return Err("the KRB-CRED holds no ticket".to_string().into()) };
    if let Some(other) = creds.iter().find(|c| !c.client.same_name(&first.client)) {
        return Err(format!(
            "the KRB-CRED holds tickets of {} and of {}; import them one client at a time",
            first.client, other.client
        )
        .into());
    }
    let target = ctx.put_credentials(&resolved, &creds, true)?;
    for c in &creds {
        println!("imported {} for {} into {target}", c.server, c.client);
    }
    Ok(())
}
