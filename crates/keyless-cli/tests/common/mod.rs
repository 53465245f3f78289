//! What the CLI tests share: running a program (keyless or MIT's tools) with an environment and
//! standard input, and collecting its output.

#![allow(dead_code, reason = "each test file uses part of it")]

pub mod mount;

use std::ffi::OsStr;
use std::io::Write;
use std::process::{Command, Output, Stdio};

/// The keyless binary under test.
pub const KEYLESS: &str = env!("CARGO_BIN_EXE_keyless");

/// Runs `program` with `env` (and no KRB5CCNAME or SSL_CERT_FILE from the outside), `stdin`
/// fed in.
pub fn run<K: AsRef<OsStr>, V: AsRef<OsStr>>(
    program: &str,
    args: &[&str],
    env: impl IntoIterator<Item = (K, V)>,
    stdin: &str,
) -> Output {
    let mut child = Command::new(program)
        .args(args)
        .envs(env)
        .env_remove("KRB5CCNAME")
        .env_remove("SSL_CERT_FILE")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap_or_else(|e| panic!("{program}: {e}"));
    child.stdin.take().unwrap().write_all(stdin.as_bytes()).unwrap();
    child.wait_with_output().unwrap()
}

/// The command succeeded; its stdout.
pub fn ok(out: Output, what: &str) -> String {
    assert!(out.status.success(), "{what} failed: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The command failed with exactly one line on stderr; that line.
pub fn fails(out: Output, what: &str) -> String {
    assert!(!out.status.success(), "{what} should fail");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert_eq!(stderr.lines().count(), 1, "{what}: one line, got {stderr:?}");
    stderr.trim_end().to_string()
}
