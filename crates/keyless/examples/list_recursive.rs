//! Lists a share's directory and everything below it, with the user's Kerberos tickets (the
//! default credential cache, as `klist` shows it).
//!
//! ```text
//! kinit alice@EXAMPLE.TEST
//! cargo run -p keyless --example list_recursive -- smb://files.example.test/projects/2026
//! ```
//! `--ip ADDR` connects to ADDR instead of the URL's host (which still names the ticket's
//! service).

use keyless::{Client, Credentials, SmbUrl};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let Some(url) = args.first() else { return Err("usage: list_recursive smb://host/share/dir [--ip ADDR]".into()) };
    let url: SmbUrl = url.parse()?;
    let mut builder = Client::builder().credentials(Credentials::auto());
    if let Some(ip) = args.iter().position(|a| a == "--ip").and_then(|i| args.get(i + 1)) {
        builder = builder.address(ip);
    }
    let share = builder.build()?.share_of(&url).await?;
    for entry in share.walk(&url.path).await? {
        if entry.metadata.is_dir {
            println!("{:>12} {}/", "-", entry.path);
        } else {
            println!("{:>12} {}", entry.metadata.size, entry.path);
        }
    }
    Ok(())
}
