//! Uploads a local directory tree to a share with a progress bar, with the user's Kerberos
//! tickets.
//!
//! ```text
//! cargo run -p keyless --example upload_tree -- ./photos smb://files.example.test/backup/photos
//! ```
//! `--ip ADDR` connects to ADDR instead of the URL's host.

#![allow(clippy::disallowed_methods, reason = "a program times itself with the clock")]

use keyless::{Client, Progress, SmbUrl};
use std::io::Write;
use std::path::Path;

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [local, url, ..] = args.as_slice() else {
        return Err("usage: upload_tree LOCAL_DIR smb://host/share/dir [--ip ADDR]".into());
    };
    let url: SmbUrl = url.parse()?;
    let mut builder = Client::builder();
    if let Some(ip) = args.iter().position(|a| a == "--ip").and_then(|i| args.get(i + 1)) {
        builder = builder.address(ip);
    }
    let share = builder.build()?.share_of(&url).await?;
    let started = std::time::Instant::now();
    let mut bar = |p: Progress<'_>| {
        let width = 30;
        let filled = (p.done * width).checked_div(p.total).unwrap_or(width) as usize;
        let bar = "#".repeat(filled) + &"-".repeat(width as usize - filled);
        eprint!("\r[{bar}] {:>5.1}% {}", p.done as f64 * 100.0 / p.total.max(1) as f64, p.file);
        let _ = std::io::stderr().flush();
    };
    let sent = share.upload(Path::new(local), &url.path, Some(&mut bar)).await?;
    eprintln!();
    println!("uploaded {sent} bytes to {url} in {:.1} s", started.elapsed().as_secs_f64());
    Ok(())
}
