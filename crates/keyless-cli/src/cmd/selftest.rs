//! `keyless selftest`: the embedded known-answer checks of keyless-crypto.

use keyless_crypto::selftest;
use std::process::ExitCode;

/// Runs the checks, prints one line each and a `N passed, N failed` summary.
pub fn run() -> ExitCode {
    println!("keyless {} cryptographic self-check (known answers compiled in)\n", env!("CARGO_PKG_VERSION"));
    let checks = selftest::run();
    let width = checks.iter().map(|c| c.name.len()).max().unwrap_or(0);
    for c in &checks {
        println!("  {}  {:width$}  {}", if c.passed { "ok  " } else { "FAIL" }, c.name, c.source);
    }
    let failed = checks.iter().filter(|c| !c.passed).count();
    println!("\n{} passed, {} failed", checks.len() - failed, failed);
    if failed == 0 {
        ExitCode::SUCCESS
    } else {
        eprintln!("keyless: the cryptography does not match its known answers; this build must not be used");
        ExitCode::FAILURE
    }
}
