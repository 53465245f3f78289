//! Developer commands (the cargo-xtask pattern): `cargo xtask ci` runs everything CI runs,
//! `cargo xtask demo` shows keyless working on an embedded default.

use std::env;
use std::process::{Command, ExitCode};
use std::time::Instant;

const USAGE: &str = "usage: cargo xtask <ci|demo|fuzz [SECONDS]|deps>

  ci          install what the tests need, then format check, clippy, all tests,
              benches once in test mode, and a short fuzz run of every target
  demo        build keyless and run its self-check on the embedded known answers
  fuzz [S]    run every fuzz target for S seconds (default 30)
  deps        install the system packages and cargo tools the tests need";

/// Debian packages the test suite needs (installed by `deps`, skipped when present).
const APT_PACKAGES: &[&str] = &["pkg-config", "libssl-dev"];

/// cargo-fuzz targets under fuzz/.
const FUZZ_TARGETS: &[&str] = &["krb_decrypt"];

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("demo") => demo(),
        Some("fuzz") => {
            let secs = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(30);
            deps().and_then(|()| fuzz(secs))
        }
        Some("deps") => deps(),
        _ => {
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("xtask: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Runs a command from the workspace root, echoing it; Err names the step that failed.
fn run(step: &str, program: &str, args: &[&str], envs: &[(&str, &str)]) -> Result<(), String> {
    eprintln!("\n==> {step}: {program} {}", args.join(" "));
    let start = Instant::now();
    let status = Command::new(program)
        .args(args)
        .envs(envs.iter().copied())
        .current_dir(workspace_root())
        .status()
        .map_err(|e| format!("{step}: cannot start {program}: {e}"))?;
    eprintln!(
        "<== {step}: {} in {:.1}s",
        if status.success() { "ok" } else { "FAILED" },
        start.elapsed().as_secs_f64()
    );
    if status.success() {
        Ok(())
    } else {
        Err(format!("{step} failed ({status})"))
    }
}

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .map(ToOwned::to_owned)
        .unwrap_or_default()
}

fn have(program: &str, args: &[&str]) -> bool {
    Command::new(program)
        .args(args)
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false)
}

fn deps() -> Result<(), String> {
    let missing: Vec<&str> = APT_PACKAGES
        .iter()
        .copied()
        .filter(|p| {
            !Command::new("dpkg-query")
                .args(["-W", "-f=${Status}", p])
                .output()
                .map(|o| String::from_utf8_lossy(&o.stdout).contains("install ok installed"))
                .unwrap_or(false)
        })
        .collect();
    if !missing.is_empty() {
        let sudo = if Command::new("id")
            .arg("-u")
            .output()
            .map(|o| o.stdout.starts_with(b"0"))
            .unwrap_or(false)
        {
            ""
        } else {
            "sudo"
        };
        let apt = |args: &[&str]| -> Result<(), String> {
            let mut full: Vec<&str> = Vec::new();
            let program = if sudo.is_empty() {
                "apt-get"
            } else {
                full.push("apt-get");
                sudo
            };
            full.extend_from_slice(args);
            run(
                "apt-get",
                program,
                &full,
                &[("DEBIAN_FRONTEND", "noninteractive")],
            )
        };
        apt(&["update", "-q"])?;
        let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
        install.extend_from_slice(&missing);
        apt(&install)?;
    }
    if !have("cargo", &["fuzz", "--version"]) {
        run(
            "install cargo-fuzz",
            "cargo",
            &["install", "cargo-fuzz", "--locked"],
            &[],
        )?;
    }
    Ok(())
}

fn fuzz(seconds: u64) -> Result<(), String> {
    let max_time = format!("-max_total_time={seconds}");
    for target in FUZZ_TARGETS {
        // New inputs go to a scratch corpus (git-ignored); the committed seeds are read only.
        let scratch = format!("fuzz/target/corpus/{target}");
        std::fs::create_dir_all(workspace_root().join(&scratch))
            .map_err(|e| format!("{scratch}: {e}"))?;
        let seeds = format!("fuzz/corpus/{target}");
        // cargo-fuzz needs nightly features; RUSTC_BOOTSTRAP lets the stable toolchain build them.
        run(
            &format!("fuzz {target}"),
            "cargo",
            &[
                "fuzz",
                "run",
                "--fuzz-dir",
                "fuzz",
                target,
                &scratch,
                &seeds,
                "--",
                &max_time,
                "-rss_limit_mb=2048",
                "-print_final_stats=1",
            ],
            &[("RUSTC_BOOTSTRAP", "1")],
        )?;
    }
    Ok(())
}

fn ci() -> Result<(), String> {
    let start = Instant::now();
    deps()?;
    run("format", "cargo", &["fmt", "--all", "--", "--check"], &[])?;
    run(
        "clippy",
        "cargo",
        &[
            "clippy",
            "--workspace",
            "--all-targets",
            "--quiet",
            "--",
            "-D",
            "warnings",
        ],
        &[],
    )?;
    run(
        "tests",
        "cargo",
        &["test", "--workspace", "--all-targets"],
        &[],
    )?;
    run("doc tests", "cargo", &["test", "--workspace", "--doc"], &[])?;
    let seconds = if env::var_os("CI").is_some() { 30 } else { 10 };
    fuzz(seconds)?;
    eprintln!(
        "\nci: everything passed in {:.0}s",
        start.elapsed().as_secs_f64()
    );
    Ok(())
}

fn demo() -> Result<(), String> {
    run(
        "build keyless",
        "cargo",
        &["build", "--quiet", "--release", "-p", "keyless"],
        &[],
    )?;
    let exe = workspace_root().join("target/release/keyless");
    let exe = exe.to_string_lossy();
    run("keyless selftest", &exe, &["selftest"], &[])
}
