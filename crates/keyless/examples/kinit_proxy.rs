//! `kinit` through an MS-KKDCP KDC proxy (what Microsoft Entra Kerberos and AD's KDC proxy
//! servers offer over HTTPS): a TGT for a principal with its password (read from stdin) into a
//! credential cache MIT's `klist` reads.
//!
//! ```text
//! echo "$PASSWORD" | cargo run -p keyless --example kinit_proxy -- alice@EXAMPLE.TEST https://kdc.example.test/KdcProxy FILE:/tmp/alice.cc
//! klist -c FILE:/tmp/alice.cc
//! ```
//! `SSL_CERT_FILE` (or krb5.conf's `http_anchors`) adds the proxy's CA to trust.

use keyless::kerberos::Kerberos;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [principal, proxy, cache, ..] = args.as_slice() else {
        return Err("usage: kinit_proxy PRINCIPAL https://proxy/KdcProxy CACHE (password on stdin)".into());
    };
    let mut password = zeroize::Zeroizing::new(String::new());
    std::io::stdin().read_line(&mut password)?;
    let password = zeroize::Zeroizing::new(password.trim_end_matches(['\r', '\n']).to_string());
    let krb = Kerberos::from_env()?.kdc(proxy)?;
    let client = krb.principal(principal)?;
    let tgt = krb.tgt_with_password(&client, password).await?;
    let (written, _) = krb.initialize_cache(&krb.cache(Some(cache))?, &tgt)?;
    println!("{} has a TGT for {} until {} (unix time), in {written}", tgt.client, tgt.server, tgt.end_time);
    Ok(())
}
