//! The `keyless` command line.

mod cmd;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

/// Reach SMB file shares without storage account keys: Kerberos (Active Directory, Microsoft
/// Entra Kerberos through a KDC proxy) or a managed identity's OAuth token.
#[derive(Parser)]
#[command(name = "keyless", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check the cryptography against published known answers compiled into this binary
    /// (RFC 3962, RFC 8009, MIT krb5, MS-NLMP, Microsoft's SMB 3.1.1 vectors).
    Selftest,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Selftest => cmd::selftest::run(),
    }
}
