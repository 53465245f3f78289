//! The `keyless` command line.
#![allow(clippy::disallowed_methods)] // the binary: reads the clock for the libraries

mod cmd;
mod context;
mod hints;
mod mount;

use clap::{CommandFactory, Parser, Subcommand};
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
    /// Get a ticket-granting ticket (like MIT kinit): password from the terminal, stdin or
    /// --password-file, or keys from a keytab with -k.
    Kinit(cmd::kinit::Args),
    /// List the tickets in a credential cache, or the keys in a keytab with -k (like MIT klist).
    Klist(cmd::klist::Args),
    /// Get service tickets with the TGT in the cache and store them there (like MIT kvno).
    Kvno(cmd::kvno::Args),
    /// Destroy a credential cache (like MIT kdestroy).
    Kdestroy(cmd::kdestroy::Args),
    /// Make a cache the primary of its collection (like MIT kswitch).
    Kswitch(cmd::kswitch::Args),
    /// The kernel cifs client's Kerberos upcall (request-key's cifs.spnego handler); --install
    /// and --uninstall manage its request-key rule.
    CifsUpcall(cmd::cifs_upcall::Args),
    /// Add credentials handed over outside a KDC exchange to a cache: a KRB-CRED (an Entra cloud
    /// TGT, an Azure Files kerbticket), or an AS-REP with its key (Entra's tgt_cloud).
    Import(cmd::import::Args),
    /// Trade a managed identity's token for an Azure Files Kerberos ticket and store it in a
    /// credential cache (for mount -t cifs -o sec=krb5); --refresh keeps it fresh.
    OauthTicket(cmd::identity::OAuthTicketArgs),
    /// Get a storage account key through Azure Resource Manager with the managed identity.
    StorageKey(cmd::identity::StorageKeyArgs),
    /// Get an OAuth access token from the managed identity (shown only with --raw).
    Token(cmd::identity::TokenArgs),
    /// Serve as an MS-KKDCP KDC proxy (HTTPS), so clients reach a realm's KDCs without port 88.
    KdcProxy(cmd::kdc_proxy::Args),
    /// Create and inspect keytab files.
    #[command(subcommand)]
    Keytab(cmd::keytab::Command),
    /// List a directory on a share: smb://host[:port]/share/dir.
    Ls(cmd::smb::LsArgs),
    /// Show a file's size, type and time.
    Stat(cmd::smb::StatArgs),
    /// Download a file (to a temporary name, renamed when complete).
    Get(cmd::smb::GetArgs),
    /// Upload a file (created or replaced).
    Put(cmd::smb::PutArgs),
    /// Delete a file.
    Rm(cmd::smb::PathArgs),
    /// Create a directory.
    Mkdir(cmd::smb::PathArgs),
    /// Remove an empty directory.
    Rmdir(cmd::smb::PathArgs),
    /// Rename a file or directory on its share.
    Mv(cmd::smb::MvArgs),
    /// Mount a share on a directory (FUSE): smb://host/share[/dir] MOUNTPOINT.
    Mount(mount::MountArgs),
    /// Unmount a share mounted with keyless mount.
    Umount(mount::UmountArgs),
    /// Decode the SMB2/3 and Kerberos messages of a capture (pcap, pcapng): one line each, or
    /// --json, or --stats; decrypt with --keytab and --session-key; exit status 2 when any
    /// message does not decode.
    Inspect(cmd::inspect::Args),
    /// Walk the chain from this machine to a share, one line per link (name, port 445,
    /// NEGOTIATE, clocks, krb5.conf, cache, TGT, KDC, ticket or managed identity, session, and
    /// with --kernel the cifs upcall): ok, or what is wrong and how to fix it.
    Doctor(cmd::doctor::Args),
    /// Check the cryptography against published known answers compiled into this binary
    /// (RFC 3962, RFC 8009, MIT krb5, MS-NLMP, Microsoft's SMB 3.1.1 vectors).
    Selftest,
    /// Write man pages and shell completions into DIR (for packagers).
    #[command(hide = true)]
    GenerateAssets {
        /// Where `man/` and `completions/` go.
        dir: std::path::PathBuf,
    },
}

fn main() -> ExitCode {
    // Called by mount(8) as /sbin/mount.keyless for an fstab line of type `keyless`.
    let args: Vec<String> = std::env::args().collect();
    let cli =
        if mount::called_as_helper(&args) { Cli::parse_from(mount::mount_helper_args(&args)) } else { Cli::parse() };
    let (name, result) = match cli.command {
        Command::Kinit(a) => ("kinit", cmd::kinit::run(a)),
        Command::Klist(a) => ("klist", cmd::klist::run(a)),
        Command::Kvno(a) => ("kvno", cmd::kvno::run(a)),
        Command::Kdestroy(a) => ("kdestroy", cmd::kdestroy::run(a)),
        Command::Kswitch(a) => ("kswitch", cmd::kswitch::run(a)),
        Command::CifsUpcall(a) => ("cifs-upcall", cmd::cifs_upcall::run(a)),
        Command::KdcProxy(a) => ("kdc-proxy", cmd::kdc_proxy::run(a)),
        Command::Import(a) => ("import", cmd::import::run(a)),
        Command::OauthTicket(a) => ("oauth-ticket", cmd::identity::oauth_ticket(a)),
        Command::StorageKey(a) => ("storage-key", cmd::identity::storage_key(a)),
        Command::Token(a) => ("token", cmd::identity::token(a)),
        Command::Keytab(c) => ("keytab", cmd::keytab::run(c)),
        Command::Ls(a) => ("ls", cmd::smb::ls(a)),
        Command::Stat(a) => ("stat", cmd::smb::stat(a)),
        Command::Get(a) => ("get", cmd::smb::get(a)),
        Command::Put(a) => ("put", cmd::smb::put(a)),
        Command::Rm(a) => ("rm", cmd::smb::rm(a)),
        Command::Mkdir(a) => ("mkdir", cmd::smb::mkdir(a)),
        Command::Rmdir(a) => ("rmdir", cmd::smb::rmdir(a)),
        Command::Mv(a) => ("mv", cmd::smb::mv(a)),
        Command::Mount(a) => ("mount", mount::mount(a)),
        Command::Umount(a) => ("umount", mount::umount(a)),
        Command::Selftest => return cmd::selftest::run(),
        Command::Doctor(a) => return cmd::doctor::run(a),
        Command::GenerateAssets { dir } => ("generate-assets", cmd::assets::write(Cli::command(), &dir)),
        Command::Inspect(a) => return cmd::inspect::run(a),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            // One line: what failed, and what to try.
            eprintln!("keyless {name}: {e}");
            ExitCode::FAILURE
        }
    }
}
