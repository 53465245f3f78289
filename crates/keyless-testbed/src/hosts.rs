//! Hosts of their own on loopback, for servers that must be reached by name on their own
//! address (DFS targets named in referrals, all on port 445): each address is put on `lo`
//! (`ip addr add 127.0.0.N/32 dev lo`, which Samba's `interfaces` needs) and named by a line
//! of `/etc/hosts`; both are removed when the guard drops. Lines are marked with the test
//! process's id.

use std::process::Command;

const HOSTS: &str = "/etc/hosts";

/// Addresses on `lo` and lines in /etc/hosts, removed on drop.
#[derive(Debug)]
pub struct LoopbackHosts {
    marker: String,
    added: Vec<String>,
}

impl LoopbackHosts {
    /// Adds each `(address, name)`; `None` (the test is skipped, except in CI) where that
    /// needs root and this is not root.
    pub fn add(entries: &[(&str, &str)]) -> Option<Self> {
        let mut guard = Self { marker: format!("# keyless-test {}", std::process::id()), added: Vec::new() };
        let refuse = |what: String| {
            assert!(std::env::var_os("CI").is_none(), "{what}: CI runs as root");
            eprintln!("skipped: {what}; run as root");
        };
        for (address, _) in entries {
            let cidr = format!("{address}/32");
            let present = Command::new("ip")
                .args(["-o", "addr", "show", "dev", "lo"])
                .output()
                .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).split_whitespace().any(|w| w == cidr));
            if present {
                continue;
            }
            if !Command::new("ip").args(["addr", "add", &cidr, "dev", "lo"]).status().is_ok_and(|s| s.success()) {
                refuse(format!("cannot add {cidr} to lo"));
                return None;
            }
            guard.added.push(cidr);
        }
        let mut text = std::fs::read_to_string(HOSTS).unwrap_or_default();
        if !text.ends_with('\n') && !text.is_empty() {
            text.push('\n');
        }
        for (address, name) in entries {
            text.push_str(&format!("{address} {name} {}\n", guard.marker));
        }
        if let Err(e) = std::fs::write(HOSTS, text) {
            refuse(format!("cannot write {HOSTS} ({e})"));
            return None;
        }
        Some(guard)
    }
}

impl Drop for LoopbackHosts {
    fn drop(&mut self) {
        if let Ok(text) = std::fs::read_to_string(HOSTS) {
            let kept: String = text.lines().filter(|l| !l.ends_with(&self.marker)).map(|l| format!("{l}\n")).collect();
            let _ = std::fs::write(HOSTS, kept);
        }
        for cidr in &self.added {
            let _ = Command::new("ip").args(["addr", "del", cidr, "dev", "lo"]).status();
        }
    }
}
