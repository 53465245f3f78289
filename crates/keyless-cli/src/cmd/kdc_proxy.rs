//! `keyless kdc-proxy`: an MS-KKDCP server in front of a site's KDCs.

use crate::context::Failure;
use keyless_net::kdc_proxy::{ProxyConfig, serve};
use std::path::PathBuf;

#[derive(clap::Args)]
pub struct Args {
    /// Address to listen on, e.g. 127.0.0.1:8443.
    #[arg(long, value_name = "ADDR")]
    listen: String,
    /// TLS certificate chain (PEM).
    #[arg(long, value_name = "FILE")]
    cert: PathBuf,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE")]
    key: PathBuf,
    /// A realm to serve and its KDCs (reached over TCP): REALM=HOST:PORT[,HOST:PORT]. Repeatable;
    /// requests for any other realm are refused.
    #[arg(long = "realm", value_name = "REALM=KDCS", required = true)]
    realms: Vec<String>,
    /// Seconds allowed for one connection.
    #[arg(long, default_value_t = 15)]
    timeout: u64,
}

pub fn run(args: Args) -> Result<(), Failure> {
    let mut config = ProxyConfig::from_options(&args.realms)?;
    config.timeout = std::time::Duration::from_secs(args.timeout);
    let tls = keyless_net::tls::ServerIdentity::from_pem_files(&args.cert, &args.key)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the runtime: {e}"))?;
    rt.block_on(async {
        let listener = tokio::net::TcpListener::bind(&args.listen)
            .await
            .map_err(|e| format!("cannot listen on {}: {e}", args.listen))?;
        let realms: Vec<&String> = config.realms.keys().collect();
        eprintln!("keyless kdc-proxy: serving {realms:?} on https://{}", args.listen);
        serve(listener, tls, config).await.map_err(|e| Failure::from(format!("listener failed: {e}")))
    })
}
