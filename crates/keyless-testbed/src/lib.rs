//! Real protocol peers for keyless's tests, started on loopback in throwaway directories and
//! stopped by PID when dropped. Each peer reports itself missing (so a developer's plain
//! `cargo test` skips those tests with a message) unless `CI` is set, where a missing peer is a
//! failure: `cargo xtask ci` installs them.
#![allow(clippy::disallowed_methods)] // test harness: waits on real peers
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, reason = "test harness: fail loudly")]

mod ad_dc;
mod azure;
mod dumpcap;
mod hosts;
mod kdcproxy;
mod kernel_vm;
mod mit_kdc;
pub mod pcap;
mod proxy;
mod pyspnego;
mod samba;
mod scratch;
mod sssd_kcm;
pub mod tshark;

pub use ad_dc::{AD_IP, AdDc};
pub use azure::{AzureEmulator, TICKET_CLIENT};
pub use dumpcap::{Dumpcap, with_port};
pub use hosts::LoopbackHosts;
pub use kdcproxy::{PyKdcProxy, TestCert};
pub use kernel_vm::{GuestFile, GuestRun, HOST_ALIAS, KernelVm};
pub use mit_kdc::{ENCTYPES, MitKdc, Realm};
pub use proxy::CuttingProxy;
pub use pyspnego::PySpnego;
pub use samba::{SmbMode, Smbd};
pub use scratch::ScratchDir;
pub use sssd_kcm::SssdKcm;

use std::path::Path;
use std::process::Command;

/// Whether a program is installed (searched in PATH, the sbin directories, and cargo's bin
/// directory, where `cargo install` puts tools such as fsx).
pub fn find_program(name: &str) -> Option<std::path::PathBuf> {
    let path = std::env::var("PATH").unwrap_or_default();
    let cargo_home = std::env::var("CARGO_HOME")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|_| Path::new(&std::env::var("HOME").unwrap_or_default()).join(".cargo"));
    let cargo_bin = cargo_home.join("bin");
    path.split(':')
        .map(std::path::PathBuf::from)
        .chain(["/usr/sbin", "/sbin", "/usr/bin"].map(std::path::PathBuf::from))
        .chain(std::iter::once(cargo_bin))
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

/// `None` with a note on stderr when a peer's program is missing outside CI; panics in CI.
pub fn require(programs: &[&str]) -> Option<()> {
    let missing: Vec<&str> = programs.iter().copied().filter(|p| find_program(p).is_none()).collect();
    if missing.is_empty() {
        return Some(());
    }
    let msg = format!("missing {missing:?}: run `cargo xtask deps` (CI installs them)");
    if std::env::var_os("CI").is_some() {
        panic!("{msg}");
    }
    eprintln!("skipped: {msg}");
    None
}

/// Runs a command to completion; panics with its output if it fails.
pub fn run(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    let text = format!("{}{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    assert!(out.status.success(), "{cmd:?} failed ({}):\n{text}", out.status);
    text
}

/// A loopback port free for both TCP and UDP right now.
pub fn free_port() -> u16 {
    loop {
        let tcp = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = tcp.local_addr().unwrap().port();
        if std::net::UdpSocket::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
    }
}

/// Stops a process we started: SIGTERM by PID, then SIGKILL after 5 seconds.
pub fn stop(child: &mut std::process::Child) {
    kdcproxy::stop_child(child);
}

/// Waits until something listens on a loopback TCP port; panics after 10 seconds.
pub fn wait_for_tcp(port: u16, what: &str) {
    wait_for_tcp_at("127.0.0.1", port, what);
}

/// [`wait_for_tcp`] on another loopback address (127.0.0.2, ...).
pub fn wait_for_tcp_at(ip: &str, port: u16, what: &str) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::time::Instant::now() < deadline {
        if std::net::TcpStream::connect((ip, port)).is_ok() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    panic!("{what} did not listen on {ip}:{port} within 10 s");
}
