//! Developer commands (the cargo-xtask pattern): `cargo xtask ci` runs everything CI runs,
//! `cargo xtask demo` shows keyless working on an embedded default.
#![allow(clippy::disallowed_methods)] // developer tool: times what it runs

mod deb;
mod demo;
mod layers;

use std::env;
use std::process::{Command, ExitCode, Stdio};
use std::time::Instant;

const USAGE: &str =
    "usage: cargo xtask <ci|demo [--ci]|deb [--check]|fuzz [SECONDS]|deps|layers|smbd [MODE]|smb-bench [MiB]|mount-bench [MiB]|inspect-bench [MiB]>

  ci          install what the tests need, then format check, clippy, the layer check, all tests,
              benches once in test mode, and a short fuzz run of every target
  demo [--ci] install only what the demo needs, build keyless (release), run its self-check,
              then the three paths on loopback: Active Directory (kinit, put/get, mount),
              Entra Kerberos (a cloud TGT, a ticket through keyless's KDC proxy over HTTPS),
              a managed identity (emulated IMDS and kerbticket; a mount with no key or cache);
              --ci: the debug build and a 16 MiB transfer
  deb [--check]
              the Debian package (target/debian/keyless_VERSION_amd64.deb) from a release
              build; --check installs it with dpkg -i, runs it, and removes it with dpkg -r
  fuzz [S]    run every fuzz target for S seconds (default 30)
  smbd [MODE] start smbd on loopback for manual runs (signing, encrypt, plain, or a cipher
              such as AES-128-GCM); prints the URL and flags to reach it, serves until killed
  smb-bench [MIB]
              copy a file of MIB MiB (default 256) each way between this machine and a local
              smbd with keyless and with smbclient, signed and encrypted; prints MB/s
              and each command's peak RSS
  mount-bench [MIB]
              the same file written and read through keyless mount, against keyless put/get
              and smbclient, and ls -l of 10,000 entries; prints MB/s and seconds
  inspect-bench [MIB]
              record a keyless put of MIB MiB (default 1024) to smbd with dumpcap, then time
              keyless inspect (every message, and --stats) against tshark -r on that capture
  deps        install the system packages and cargo tools the tests need
  layers      check the crates' dependencies against the levels and table of
              docs/architecture.md";

/// Debian packages the test suite needs (installed by `deps`, skipped when present).
const APT_PACKAGES: &[&str] = &[
    "pkg-config",
    "libssl-dev",
    "krb5-kdc",
    "krb5-admin-server",
    "krb5-user",
    "krb5-k5tls",
    "python3-kdcproxy",
    "openssl",
    "krb5-gss-samples",
    "libkrb5-dev",
    "python3-pip",
    "python3-dev",
    // Other SMB clients whose captures keyless inspect reads (the PyPI impacket beside it),
    // and smbtorture, which binds a second channel to a session.
    "python3-impacket",
    "samba-testsuite",
    "gcc",
    "samba",
    "samba-ad-dc",
    "samba-ad-provision",
    "winbind",
    "libnss-wrapper",
    "smbclient",
    "tshark",
    "fuse3",
    "fio",
    "faketime",
    "man-db",
    "time",
    "sssd-kcm",
    "keyutils",
    // The kernel cifs client's guest (keyless-testbed's KernelVm); QEMU itself below.
    "busybox-static",
    "cifs-utils",
    "kmod",
    "cpio",
    "xz-utils",
];

/// The cargo-fuzz targets: every `fuzz/fuzz_targets/*.rs`, so a new target cannot be forgotten.
fn fuzz_targets() -> Result<Vec<String>, String> {
    let dir = workspace_root().join("fuzz/fuzz_targets");
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .map_err(|e| format!("{}: {e}", dir.display()))?
        .filter_map(|e| e.ok()?.path().file_stem()?.to_str().map(str::to_string))
        .collect();
    names.sort();
    Ok(names)
}

fn main() -> ExitCode {
    let args: Vec<String> = env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("ci") => ci(),
        Some("demo") => demo(args.iter().any(|a| a == "--ci")),
        Some("deb") => deb(args.iter().any(|a| a == "--ci"), args.iter().any(|a| a == "--check")),
        Some("fuzz") => {
            let secs = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(30);
            deps().and_then(|()| fuzz(secs))
        }
        Some("deps") => deps(),
        Some("layers") => layers::check(&workspace_root()),
        Some("mount-bench") => {
            let mib = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(256);
            deps().and_then(|()| mount_bench(mib))
        }
        Some("inspect-bench") => {
            let mib = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(1024);
            deps().and_then(|()| inspect_bench(mib))
        }
        Some("smbd") => deps().and_then(|()| serve_smbd(args.get(1).map_or("signing", String::as_str))),
        Some("smb-bench") => {
            let mib = args.get(1).and_then(|s| s.parse().ok()).unwrap_or(256);
            deps().and_then(|()| smb_bench(mib))
        }
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
    if status.success() { Ok(()) } else { Err(format!("{step} failed ({status})")) }
}

fn workspace_root() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).parent().map(ToOwned::to_owned).unwrap_or_default()
}

fn have(program: &str, args: &[&str]) -> bool {
    Command::new(program).args(args).output().map(|o| o.status.success()).unwrap_or(false)
}

/// Installs the Debian packages of `packages` that are missing (with sudo unless root).
fn apt_install(packages: &[&str]) -> Result<(), String> {
    let missing: Vec<&str> = packages
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
    if missing.is_empty() {
        return Ok(());
    }
    let root = Command::new("id").arg("-u").output().map(|o| o.stdout.starts_with(b"0")).unwrap_or(false);
    let apt = |args: &[&str]| -> Result<(), String> {
        let mut full: Vec<&str> = Vec::new();
        let program = if root {
            "apt-get"
        } else {
            full.push("apt-get");
            "sudo"
        };
        full.extend_from_slice(args);
        run("apt-get", program, &full, &[("DEBIAN_FRONTEND", "noninteractive")])
    };
    apt(&["update", "-q"])?;
    let mut install = vec!["install", "-y", "-q", "--no-install-recommends"];
    install.extend_from_slice(&missing);
    apt(&install)
}

fn deps() -> Result<(), String> {
    apt_install(APT_PACKAGES)?;
    // QEMU for the kernel VM, never at the cost of removing a package (a qemu-utils from
    // backports breaks Debian's qemu-system); where apt refuses, the testbed unpacks it.
    if keyless_testbed::find_program("qemu-system-x86_64").is_none() {
        let args = ["install", "-y", "-q", "--no-install-recommends", "--no-remove", "qemu-system-x86"];
        if run("apt-get", "apt-get", &args, &[("DEBIAN_FRONTEND", "noninteractive")]).is_err() {
            // Its libraries and firmware then, from what the packages depend on.
            let depends = Command::new("apt-cache")
                .args(["depends", "qemu-system-x86", "qemu-system-common"])
                .output()
                .map_err(|e| format!("apt-cache: {e}"))?;
            let mut libs: Vec<String> = String::from_utf8_lossy(&depends.stdout)
                .lines()
                .filter_map(|l| l.trim().strip_prefix("Depends: "))
                .filter(|p| !p.starts_with("qemu-") && !p.starts_with('<'))
                .map(str::to_string)
                .collect();
            libs.sort();
            libs.dedup();
            let mut args = vec!["install", "-y", "-q", "--no-install-recommends", "--no-remove"];
            args.extend(libs.iter().map(String::as_str));
            run("qemu's libraries", "apt-get", &args, &[("DEBIAN_FRONTEND", "noninteractive")])?;
            eprintln!("qemu-system-x86 not installable without removals; the kernel VM tests unpack it");
        }
    }
    // pyspnego (PyPI) as an independent NTLM/SPNEGO peer, with python-gssapi and pykrb5 for
    // its Kerberos (built against libkrb5-dev), and the newest impacket and smbprotocol as
    // other SMB clients for inspect's tests, into target/py (no venv needed).
    let py = workspace_root().join("target/py");
    let has_spnego = Command::new("python3")
        .args(["-c", "import spnego, gssapi, krb5, impacket, smbclient"])
        .env("PYTHONPATH", &py)
        .stderr(std::process::Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !has_spnego {
        let target = py.to_string_lossy().into_owned();
        let packages =
            ["pyspnego==0.12.4", "gssapi==1.12.0", "krb5==0.10.0", "impacket==0.13.1", "smbprotocol==1.17.0"];
        let mut args = vec!["-m", "pip", "install", "-q", "--target", &target];
        args.extend(packages);
        run("install pyspnego, python-gssapi, pykrb5, impacket, smbprotocol", "python3", &args, &[])?;
    }
    if !have("cargo", &["fuzz", "--version"]) {
        run("install cargo-fuzz", "cargo", &["install", "cargo-fuzz", "--locked"], &[])?;
    }
    // The File System eXerciser (Rust port) for the mount tests; Debian has no fsx.
    if keyless_testbed::find_program("fsx").is_none() {
        run("install fsx", "cargo", &["install", "fsx", "--version", "0.3.2", "--locked"], &[])?;
    }
    // The POSIX file system test suite (Rust rewrite) for the mount tests; not in Debian.
    if keyless_testbed::find_program("pjdfstest").is_none() {
        let args = ["install", "pjdfstest", "--version", "0.2.2", "--locked"];
        run("install pjdfstest", "cargo", &args, &[])?;
    }
    Ok(())
}

/// The library crates' public API against the last tagged release (`v*`) with
/// cargo-semver-checks (installed then); before the first tag there is nothing to compare.
fn semver() -> Result<(), String> {
    let tags = Command::new("git")
        .args(["tag", "--list", "v*", "--sort=-v:refname"])
        .current_dir(workspace_root())
        .output()
        .map_err(|e| format!("git tag: {e}"))?;
    let tags = String::from_utf8_lossy(&tags.stdout).into_owned();
    let Some(last) = tags.lines().next() else {
        eprintln!("\n==> semver: no tagged release yet (git tag v*), so no API to compare with");
        return Ok(());
    };
    if !have("cargo", &["semver-checks", "--version"]) {
        run("install cargo-semver-checks", "cargo", &["install", "cargo-semver-checks", "--locked"], &[])?;
    }
    let mut args = vec!["semver-checks", "--workspace", "--baseline-rev", last];
    for tool in ["keyless-cli", "keyless-testbed", "keyless-kat", "xtask", "keyless-benches"] {
        args.extend(["--exclude", tool]);
    }
    run(&format!("semver against {last}"), "cargo", &args, &[])
}

fn fuzz(seconds: u64) -> Result<(), String> {
    let max_time = format!("-max_total_time={seconds}");
    for target in &fuzz_targets()? {
        // New inputs go to a scratch corpus (git-ignored); the committed seeds are read only.
        let scratch = format!("fuzz/target/corpus/{target}");
        std::fs::create_dir_all(workspace_root().join(&scratch)).map_err(|e| format!("{scratch}: {e}"))?;
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
    run("clippy", "cargo", &["clippy", "--workspace", "--all-targets", "--quiet", "--", "-D", "warnings"], &[])?;
    layers::check(&workspace_root())?;
    // Every library crate packages as crates.io would take it (manifests, files, versions on
    // the workspace's own dependencies); building the packages again is left out for time.
    run(
        "package",
        "cargo",
        &[
            "package",
            "--workspace",
            "--no-verify",
            "--allow-dirty",
            "--quiet",
            "--exclude",
            "keyless-testbed",
            "--exclude",
            "keyless-kat",
            "--exclude",
            "xtask",
            "--exclude",
            "keyless-benches",
        ],
        &[],
    )?;
    // The library crates' documentation, as docs.rs would build it: no broken link, no
    // unescaped HTML, no undocumented item (the binary's help texts are clap's, not rustdoc's).
    run(
        "docs",
        "cargo",
        &[
            "doc",
            "--workspace",
            "--no-deps",
            "--quiet",
            "--exclude",
            "keyless-cli",
            "--exclude",
            "xtask",
            "--exclude",
            "keyless-benches",
        ],
        &[("RUSTDOCFLAGS", "-D warnings")],
    )?;
    semver()?;
    let mut tally = Tally::default();
    // The tests that mostly wait run in the background: a mount idle for 10 minutes, from the
    // moment the tests' build is done (cargo's lock on the build directory) beside the rest;
    // later the kernel's cifs client through five minutes of expiring tickets and cut
    // connections (its QEMU takes a core) beside the fuzz targets. Both as `--workspace` builds,
    // whose features match the tests' build: nothing is compiled again for them.
    let idle = Beside::spawn("idle mount", &["test", "--workspace", "--test", "idle_mount", "--", "--ignored"])?;
    // Also runs each criterion benchmark once (`test = true`), so none rots.
    run_tests(&mut tally, "tests", &["test", "--workspace"])?;
    run_tests(&mut tally, "tests without ring", &["test", "-p", "keyless-crypto", "--no-default-features", "--tests"])?;
    // The README's first command, shortened, and the package, with the binary the tests built.
    demo_with("debug", true)?;
    deb(true, true)?;
    let kernel =
        Beside::spawn("kernel client expiry", &["test", "--workspace", "--test", "kernel_cifs", "--", "--ignored"])?;
    let seconds = if env::var_os("CI").is_some() { 15 } else { 10 };
    let fuzzed = fuzz(seconds);
    idle.finish(&mut tally)?;
    kernel.finish(&mut tally)?;
    fuzzed?;
    tally.fuzz_targets = fuzz_targets()?.len();
    eprintln!(
        "\nci: all steps passed in {:.0}s ({} fuzz targets, {seconds}s each)",
        start.elapsed().as_secs_f64(),
        tally.fuzz_targets
    );
    // One closing line that CI's reader counts, whatever ran last.
    println!("ci: {} passed, {} failed", tally.passed, tally.failed);
    Ok(())
}

/// Test counts summed over every `cargo test` run of `ci`.
#[derive(Default)]
struct Tally {
    passed: usize,
    failed: usize,
    fuzz_targets: usize,
}

/// Runs `cargo test ...`, streaming its output, and adds up libtest's `test result:` lines and
/// criterion's test-mode `Success` lines.
fn run_tests(tally: &mut Tally, step: &str, args: &[&str]) -> Result<(), String> {
    use std::io::{BufRead, BufReader};
    eprintln!("\n==> {step}: cargo {}", args.join(" "));
    let started = Instant::now();
    let mut child = Command::new("cargo")
        .args(args)
        .current_dir(workspace_root())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .map_err(|e| format!("{step}: cannot start cargo: {e}"))?;
    let stdout = child.stdout.take().ok_or_else(|| format!("{step}: no stdout"))?;
    for line in BufReader::new(stdout).lines() {
        let line = line.map_err(|e| format!("{step}: {e}"))?;
        println!("{line}");
        if let Some(rest) = line.strip_prefix("test result: ") {
            tally.passed += count_before(rest, " passed");
            tally.failed += count_before(rest, " failed");
        } else if line == "Success" {
            tally.passed += 1;
        }
    }
    let status = child.wait().map_err(|e| format!("{step}: {e}"))?;
    eprintln!(
        "<== {step}: {} in {:.1}s",
        if status.success() { "ok" } else { "FAILED" },
        started.elapsed().as_secs_f64()
    );
    if status.success() { Ok(()) } else { Err(format!("{step} failed ({status}); {} tests failed", tally.failed)) }
}

/// `cargo test ...` running in the background, its output kept for when it is done.
struct Beside {
    step: &'static str,
    child: std::process::Child,
    output: std::path::PathBuf,
    started: Instant,
}

impl Beside {
    fn spawn(step: &'static str, args: &[&str]) -> Result<Self, String> {
        eprintln!("\n==> {step} (in the background): cargo {}", args.join(" "));
        let output = workspace_root().join(format!("target/beside-{}.log", step.replace(' ', "-")));
        let file = std::fs::File::create(&output).map_err(|e| format!("{}: {e}", output.display()))?;
        let child = Command::new("cargo")
            .args(args)
            .current_dir(workspace_root())
            .stdout(file)
            .spawn()
            .map_err(|e| format!("{step}: cannot start cargo: {e}"))?;
        Ok(Self { step, child, output, started: Instant::now() })
    }

    /// Waits for it, prints its output, adds its counts.
    fn finish(mut self, tally: &mut Tally) -> Result<(), String> {
        let status = self.child.wait().map_err(|e| format!("{}: {e}", self.step))?;
        let text = std::fs::read_to_string(&self.output).unwrap_or_default();
        for line in text.lines() {
            println!("{line}");
            if let Some(rest) = line.strip_prefix("test result: ") {
                tally.passed += count_before(rest, " passed");
                tally.failed += count_before(rest, " failed");
            }
        }
        eprintln!(
            "<== {}: {} in {:.1}s",
            self.step,
            if status.success() { "ok" } else { "FAILED" },
            self.started.elapsed().as_secs_f64()
        );
        if status.success() { Ok(()) } else { Err(format!("{} failed ({status})", self.step)) }
    }
}

/// The number just before `word` in a libtest summary ("ok. 12 passed; 0 failed; ...").
fn count_before(summary: &str, word: &str) -> usize {
    summary
        .split(';')
        .find_map(|part| part.trim().rsplit_once(word).map(|(n, _)| n))
        .and_then(|n| n.rsplit(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// `cargo xtask deb [--ci] [--check]`: the Debian package from a release build (CI: the
/// debug build the tests made); `--check` installs, runs and removes it.
fn deb(ci: bool, check: bool) -> Result<(), String> {
    let profile = if ci { "debug" } else { "release" };
    if !ci {
        run("build keyless", "cargo", &["build", "--quiet", "--release", "-p", "keyless-cli"], &[])?;
    }
    let deb = deb::build(&workspace_root().join("target").join(profile).join("keyless"))?;
    eprintln!("deb: {}", deb.display());
    if check { deb::check(&deb) } else { Ok(()) }
}

/// `cargo xtask demo [--ci]`: the packages it needs, a release build (CI: the debug build the
/// tests made, and a smaller transfer), the self-check, then the three paths.
fn demo(ci: bool) -> Result<(), String> {
    apt_install(demo::PACKAGES)?;
    let profile = if ci { "debug" } else { "release" };
    let mut build = vec!["build", "--quiet", "-p", "keyless-cli"];
    if !ci {
        build.push("--release");
    }
    run("build keyless", "cargo", &build, &[])?;
    demo_with(profile, ci)
}

/// The demo with the keyless that `profile` built.
fn demo_with(profile: &str, ci: bool) -> Result<(), String> {
    let exe = workspace_root().join("target").join(profile).join("keyless");
    let exe = exe.to_string_lossy().into_owned();
    let started = Instant::now();
    run("keyless selftest", &exe, &["selftest"], &[])?;
    demo::run(&exe, &demo::Size { transfer_mib: if ci { 16 } else { 256 } })?;
    eprintln!("demo: {:.0} s after packages and the build", started.elapsed().as_secs_f64());
    Ok(())
}

/// An smb.conf for smbclient that keeps its state in `scratch`, not in the system's dirs.
fn smbclient_conf(scratch: &keyless_testbed::ScratchDir) -> Result<String, String> {
    let path = scratch.join("client.conf");
    let d = scratch.path().display();
    let text = format!(
        "[global]\n  lock directory = {d}\n  cache directory = {d}\n  state directory = {d}\n  private dir = {d}\n"
    );
    std::fs::write(&path, text).map_err(|e| e.to_string())?;
    Ok(path.to_string_lossy().into_owned())
}

/// The wall time of a command, best of 3 (after `sync`, so earlier writes are not paid for).
fn best_of_3(program: &str, args: &[String]) -> Result<f64, String> {
    Ok(measure(3, program, args)?.secs)
}

/// The shortest of `runs` runs in seconds.
fn best_of(runs: usize, program: &str, args: &[String]) -> Result<f64, String> {
    Ok(measure(runs, program, args)?.secs)
}

/// What `runs` runs of one command cost: the shortest wall time, and the largest peak resident
/// set of any run; the whole machine's CPU time (every process: client, smbd, kernel) in the
/// fastest run, and the share of all cores it was.
struct Measured {
    secs: f64,
    peak_rss_kib: u64,
    cpu_secs: f64,
    busy: f64,
}

impl Measured {
    /// The faster of two measurements of one command, with the larger peak RSS of the two.
    fn or_better(self, other: Measured) -> Measured {
        let peak_rss_kib = self.peak_rss_kib.max(other.peak_rss_kib);
        let faster = if other.secs < self.secs { other } else { self };
        Measured { peak_rss_kib, ..faster }
    }
}

/// The whole machine's busy and total CPU time so far, in seconds (`/proc/stat`'s first line,
/// in USER_HZ = 100 ticks a second; idle and iowait count as not busy).
fn machine_cpu() -> (f64, f64) {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let ticks: Vec<f64> =
        stat.lines().next().unwrap_or("").split_whitespace().skip(1).take(8).filter_map(|t| t.parse().ok()).collect();
    let total: f64 = ticks.iter().sum();
    let idle = ticks.get(3).copied().unwrap_or(0.0) + ticks.get(4).copied().unwrap_or(0.0);
    ((total - idle) / 100.0, total / 100.0)
}

/// Runs a command `runs` times (caches synced first; stdout discarded, so that a program
/// printing much is not slowed by a pipe) under GNU time, which reads the peak RSS from the
/// kernel's `wait4` accounting of that one process: the fastest run, with the largest peak RSS.
fn measure(runs: usize, program: &str, args: &[String]) -> Result<Measured, String> {
    let mut best = measure_once(program, args)?;
    for _ in 1..runs {
        best = best.or_better(measure_once(program, args)?);
    }
    Ok(best)
}

/// One run of `program`: its time, its peak RSS, and the machine's CPU time meanwhile.
fn measure_once(program: &str, args: &[String]) -> Result<Measured, String> {
    let rss_file = std::env::temp_dir().join(format!("xtask-rss-{}", std::process::id()));
    let _ = Command::new("sync").status();
    let (busy_before, total_before) = machine_cpu();
    let start = Instant::now();
    let out = Command::new("/usr/bin/time")
        .args(["-f", "%M", "-o"])
        .arg(&rss_file)
        .arg(program)
        .args(args)
        .stdout(Stdio::null())
        .output()
        .map_err(|e| format!("/usr/bin/time (Debian package time; cargo xtask deps installs it): {e}"))?;
    let secs = start.elapsed().as_secs_f64();
    let (busy_after, total_after) = machine_cpu();
    if !out.status.success() {
        return Err(format!("{program} {}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr)));
    }
    let rss = std::fs::read_to_string(&rss_file).map_err(|e| format!("{}: {e}", rss_file.display()))?;
    let _ = std::fs::remove_file(&rss_file);
    let peak_rss_kib = rss.trim().parse::<u64>().map_err(|_| format!("GNU time wrote {rss:?}, not a size in KiB"))?;
    let cpu_secs = busy_after - busy_before;
    Ok(Measured { secs, peak_rss_kib, cpu_secs, busy: cpu_secs / (total_after - total_before).max(0.01) })
}

/// `keyless inspect` against `tshark -r` on one capture of a file copy (a signed keyless put of
/// `mib` MiB to smbd, recorded with dumpcap, smbd's port rewritten to 445 so tshark dissects
/// SMB2 with its own 24-bit Direct TCP lengths), same run: inspect printing every message,
/// inspect --stats, and tshark printing its one line per packet, all to /dev/null.
fn inspect_bench(mib: usize) -> Result<(), String> {
    use keyless_testbed::{Dumpcap, ScratchDir, SmbMode, Smbd};
    run("build keyless", "cargo", &["build", "--quiet", "--release", "-p", "keyless-cli"], &[])?;
    let exe = workspace_root().join("target/release/keyless").to_string_lossy().into_owned();
    let scratch = ScratchDir::new("inspect-bench");
    let smbd = Smbd::start(&scratch, SmbMode::Signing, None).ok_or("Samba is not installed")?;
    let local = scratch.join("payload.bin");
    let data: Vec<u8> = (0..mib << 20).map(|i| (i * 31 + i / 4093) as u8).collect();
    std::fs::write(&local, &data).map_err(|e| e.to_string())?;
    drop(data);
    let pw = scratch.join("pw");
    std::fs::write(&pw, format!("{}\n", smbd.password)).map_err(|e| e.to_string())?;
    let url = format!("smb://127.0.0.1:{}/{}/copy.bin", smbd.port, smbd.share);
    let rec = Dumpcap::start(&scratch, "copy", &format!("tcp port {}", smbd.port)).ok_or("dumpcap is not installed")?;
    let put = Command::new(&exe)
        .args(["put", &local.to_string_lossy(), &url, "--auth", "ntlm", "--user", &smbd.user, "--password-file"])
        .arg(&pw)
        .output()
        .map_err(|e| e.to_string())?;
    if !put.status.success() {
        return Err(format!("keyless put: {}", String::from_utf8_lossy(&put.stderr)));
    }
    let file = keyless_testbed::with_port(&rec.stop(), smbd.port, 445);
    let _ = std::fs::remove_file(&local);
    // KEYLESS_BENCH_CAPTURE=PATH keeps the capture (for a profiler, say).
    if let Ok(keep) = std::env::var("KEYLESS_BENCH_CAPTURE") {
        std::fs::copy(&file, &keep).map_err(|e| format!("{keep}: {e}"))?;
    }
    let size = std::fs::metadata(&file).map_err(|e| e.to_string())?.len();
    let path = file.to_string_lossy().into_owned();
    let args = |extra: &[&str]| -> Vec<String> { extra.iter().map(|a| a.to_string()).collect() };
    let key = smbd.logged_session_key().ok_or("smbd logged no session key (debug encryption)")?;
    let ours = best_of(3, &exe, &args(&["inspect", &path]))?;
    let stats = best_of(3, &exe, &args(&["inspect", &path, "--stats"]))?;
    let verified = best_of(3, &exe, &args(&["inspect", &path, "--session-key", &key]))?;
    let exported = scratch.join("exported").to_string_lossy().into_owned();
    let export = best_of(3, &exe, &args(&["inspect", &path, "--session-key", &key, "--export-files", &exported]))?;
    let theirs = best_of(3, "tshark", &args(&["-n", "-r", &path]))?;
    let objects = format!("smb,{}", scratch.join("objects").to_string_lossy());
    let their_export = best_of(3, "tshark", &args(&["-n", "-r", &path, "-q", "--export-objects", &objects]))?;
    let mb = size as f64 / 1e6;
    println!("capture of a {mib} MiB keyless put: {mb:.0} MB, seconds (MB/s), best of 3");
    println!("keyless inspect (every message)          {ours:>8.2} ({:>7.0})", mb / ours);
    println!("keyless inspect --stats                  {stats:>8.2} ({:>7.0})", mb / stats);
    println!("keyless inspect --session-key (verifies) {verified:>8.2} ({:>7.0})", mb / verified);
    println!("keyless inspect --export-files (+ key)   {export:>8.2} ({:>7.0})", mb / export);
    println!("tshark -n -r (one line a packet)         {theirs:>8.2} ({:>7.0})", mb / theirs);
    println!("tshark --export-objects smb              {their_export:>8.2} ({:>7.0})", mb / their_export);
    println!(
        "keyless inspect is {:.1}x tshark; exporting files, {:.1}x tshark's --export-objects",
        theirs / ours,
        their_export / export
    );
    // The export holds the whole file; holes only where dumpcap lost packets (it says so).
    let manifest = std::fs::read_to_string(scratch.join("exported/manifest.jsonl")).map_err(|e| e.to_string())?;
    if !manifest.contains(&format!("\"path\":\"127.0.0.1/{}/copy.bin\"", smbd.share))
        || !manifest.contains(&format!("\"size\":{}", mib << 20))
    {
        return Err(format!("--export-files did not rebuild copy.bin: {manifest}"));
    }
    if !manifest.contains("\"holes\":[]") {
        println!("note: dumpcap lost packets of this capture; the export has holes where they were");
    }
    // The verifying run did verify: every signed message of the session checks out.
    let out = Command::new(&exe).args(["inspect", &path, "--session-key", &key]).output().map_err(|e| e.to_string())?;
    let text = String::from_utf8_lossy(&out.stdout);
    let (good, bad) = (text.matches("signature_check=good").count(), text.matches("signature_check=BAD").count());
    println!("signatures checked with the session key: {good} good, {bad} BAD");
    if good == 0 || bad > 0 {
        return Err("the session key did not verify the session's signatures".into());
    }
    Ok(())
}

/// The mount against `keyless get/put` and smbclient, one encrypted smbd (SMB 3.1.1,
/// AES-128-GCM), same run, every file in memory: a file of `mib` MiB copied onto and off the
/// mount with `cp`; one reader of a quarter of it against four readers of four such files at
/// once; and `ls -l` of a directory of 10,000 files (after the metadata cache has expired)
/// against `keyless ls` and smbclient's `ls`.
fn mount_bench(mib: usize) -> Result<(), String> {
    use keyless_testbed::{ScratchDir, SmbMode, Smbd};
    run("build keyless", "cargo", &["build", "--quiet", "--release", "-p", "keyless-cli"], &[])?;
    let exe = workspace_root().join("target/release/keyless").to_string_lossy().into_owned();
    let scratch = ScratchDir::in_memory("mount-bench");
    let smbd = Smbd::start(&scratch, SmbMode::EncryptWith("AES-128-GCM"), None).ok_or("Samba is not installed")?;
    let local = scratch.join("payload.bin");
    let data: Vec<u8> = (0..mib << 20).map(|i| (i * 31 + i / 4093) as u8).collect();
    std::fs::write(&local, &data).map_err(|e| e.to_string())?;
    drop(data);
    let many = smbd.share_path.join("many");
    std::fs::create_dir_all(&many).map_err(|e| e.to_string())?;
    for i in 0..10_000 {
        std::fs::write(many.join(format!("file-{i:05}.txt")), "x").map_err(|e| e.to_string())?;
    }
    let s = |p: &std::path::Path| p.to_string_lossy().into_owned();
    let pw = scratch.join("pw");
    std::fs::write(&pw, format!("{}\n", smbd.password)).map_err(|e| e.to_string())?;
    let base = format!("smb://127.0.0.1:{}/{}", smbd.port, smbd.share);
    let auth: Vec<String> =
        ["--auth", "ntlm", "--user", &smbd.user, "--password-file", &s(&pw)].map(String::from).to_vec();
    let mnt = scratch.join("mnt");
    std::fs::create_dir_all(&mnt).map_err(|e| e.to_string())?;
    let mut mount = vec!["mount".to_string(), base.clone(), s(&mnt), "-o".into(), "cache=1".into()];
    mount.extend(auth.iter().cloned());
    run("keyless mount", &exe, &mount.iter().map(String::as_str).collect::<Vec<_>>(), &[])?;
    let client_conf = smbclient_conf(&scratch)?;
    let smbclient = |cmd: String| -> Vec<String> {
        [
            "-s",
            &client_conf,
            &format!("//127.0.0.1/{}", smbd.share),
            "-p",
            &smbd.port.to_string(),
            "-U",
            &format!("{}%{}", smbd.user, smbd.password),
            "--option=client smb encrypt=required",
            "--option=client smb3 encryption algorithms=AES-128-GCM",
            "-c",
            &cmd,
        ]
        .map(String::from)
        .to_vec()
    };
    let ours = |verb: &str, a: &str, b: &str| -> Vec<String> {
        let mut v = vec![verb.to_string(), a.to_string(), b.to_string()];
        v.extend(auth.iter().cloned());
        v
    };
    let shell = |script: String| vec!["-c".to_string(), script];
    let (m, f) = (s(&mnt), s(&local));
    let result = (|| -> Result<(), String> {
        // Every copy ends in memory (tmpfs) on both sides: mount and put/get write the same
        // local file the same way, so what differs is the client.
        let back = s(&scratch.join("back.bin"));
        let mount_write = measure(3, "cp", &[f.clone(), format!("{m}/via-mount.bin")])?;
        let mount_read = measure(3, "cp", &[format!("{m}/via-mount.bin"), back.clone()])?;
        let k_put = measure(3, &exe, &ours("put", &f, &format!("{base}/via-keyless.bin")))?;
        let k_get = measure(3, &exe, &ours("get", &format!("{base}/via-keyless.bin"), &back))?;
        let s_put = measure(3, "smbclient", &smbclient(format!("put {f} via-smbclient.bin")))?;
        let s_get = measure(3, "smbclient", &smbclient(format!("get via-smbclient.bin {back}")))?;
        // One reader, then four at once on four files of a quarter the size each.
        let quarter = (mib << 20) / 4;
        for i in 0..4 {
            let data: Vec<u8> = (0..quarter).map(|j| (j * 7 + i) as u8).collect();
            std::fs::write(smbd.share_path.join(format!("part-{i}.bin")), data).map_err(|e| e.to_string())?;
        }
        let one = measure(3, "sh", &shell(format!("cat '{m}/part-0.bin' > /dev/null")))?;
        let four =
            measure(3, "sh", &shell(format!("for i in 0 1 2 3; do cat \"{m}/part-$i.bin\" > /dev/null & done; wait")))?;
        // Random 64 KiB reads for 2 s (fio), one job against four: what serving several kernel
        // requests at once buys when each waits for its own round trip.
        let random = |jobs: usize| -> Result<f64, String> {
            let args = [
                "--name=random".to_string(),
                format!("--filename={m}/via-mount.bin"),
                "--rw=randread".into(),
                "--bs=64k".into(),
                "--ioengine=psync".into(),
                "--time_based".into(),
                "--runtime=2".into(),
                format!("--numjobs={jobs}"),
                "--group_reporting".into(),
                "--output-format=terse".into(),
            ];
            let out = Command::new("fio").args(&args).output().map_err(|e| format!("fio: {e}"))?;
            let text = String::from_utf8_lossy(&out.stdout);
            // Terse: field 7 is the read bandwidth in KiB/s.
            let kib: f64 = text
                .lines()
                .last()
                .and_then(|l| l.split(';').nth(6))
                .and_then(|f| f.parse().ok())
                .ok_or(format!("fio: {text}"))?;
            Ok(kib * 1024.0 / 1e6)
        };
        let (random_one, random_four) = (random(1)?, random(4)?);
        // ls -l with the metadata cache expired each time (-o cache=1), timed alone.
        let mut ls_mount = f64::MAX;
        for _ in 0..3 {
            std::thread::sleep(std::time::Duration::from_millis(1200));
            ls_mount = ls_mount.min(best_of(1, "ls", &["-l".to_string(), format!("{m}/many")])?);
        }
        let ls_keyless = best_of_3(&exe, &{
            let mut v = vec!["ls".to_string(), format!("{base}/many")];
            v.extend(auth.iter().cloned());
            v
        })?;
        let ls_smbclient = best_of_3("smbclient", &smbclient("ls many/*".into()))?;
        let mb = (mib << 20) as f64 / 1e6;
        println!("{mib} MiB over loopback to smbd (SMB 3.1.1, AES-128-GCM), files in memory, best of 3, MB/s");
        println!("{:<14} {:>12} {:>12} {:>12} {:>10}", "", "keyless mount", "keyless put/get", "smbclient", "mount x");
        let row = |what: &str, mount: &Measured, ours: &Measured, theirs: &Measured| {
            println!(
                "{what:<14} {:>12.0} {:>12.0} {:>12.0} {:>9.2}x",
                mb / mount.secs,
                mb / ours.secs,
                mb / theirs.secs,
                ours.secs / mount.secs
            );
        };
        row("write", &mount_write, &k_put, &s_put);
        row("read", &mount_read, &k_get, &s_get);
        // What each copy cost the machine: the mount's extra copies through /dev/fuse show here.
        println!("CPU-seconds of the whole machine per copy (share of both cores busy)");
        let cpu = |what: &str, ms: [&Measured; 3]| {
            let [a, b, c] = ms.map(|m| format!("{:.2} ({:.0}%)", m.cpu_secs, m.busy * 100.0));
            println!("{what:<14} {a:>12} {b:>12} {c:>12}");
        };
        cpu("write", [&mount_write, &k_put, &s_put]);
        cpu("read", [&mount_read, &k_get, &s_get]);
        let (single, all) = (mb / 4.0 / one.secs, mb / four.secs);
        println!(
            "sequential readers on the mount: one {single:.0} MB/s ({:.0}% of both cores busy), four at once {all:.0} MB/s in all ({:.0}% busy) ({:.2}x)",
            one.busy * 100.0,
            four.busy * 100.0,
            all / single
        );
        println!(
            "random 64 KiB reads on the mount: one job {random_one:.0} MB/s, four jobs {random_four:.0} MB/s ({:.2}x)",
            random_four / random_one
        );
        println!("10,000 entries, seconds (lower is better)");
        println!("{:<14} {:>12.2} {:>12.2} {:>12.2}", "ls -l / ls", ls_mount, ls_keyless, ls_smbclient);
        Ok(())
    })();
    let _ = Command::new(&exe).args(["umount", &m]).status();
    result
}

/// Starts smbd on loopback in a throwaway directory for manual runs (`signing`, `encrypt`,
/// `plain`, or a cipher such as `AES-128-GCM`), prints how to reach it, and serves until killed.
fn serve_smbd(mode: &str) -> Result<(), String> {
    use keyless_testbed::{ScratchDir, SmbMode, Smbd};
    let cipher: &'static str = String::leak(mode.to_string());
    let mode = match mode {
        "signing" => SmbMode::Signing,
        "encrypt" => SmbMode::Encrypt,
        "plain" => SmbMode::Plain,
        _ => SmbMode::EncryptWith(cipher),
    };
    let scratch = ScratchDir::new("smbd");
    let smbd = Smbd::start(&scratch, mode, None).ok_or("Samba is not installed")?;
    let pw = scratch.join("pw");
    std::fs::write(&pw, format!("{}\n", smbd.password)).map_err(|e| e.to_string())?;
    println!(
        "smb://127.0.0.1:{}/{} --auth ntlm --user {} --password-file {}",
        smbd.port,
        smbd.share,
        smbd.user,
        pw.display()
    );
    println!("share directory: {}", smbd.share_path.display());
    loop {
        std::thread::sleep(std::time::Duration::from_secs(3600));
    }
}

/// Throughput of keyless against smbclient over loopback to the same smbd, same file, same run:
/// `put` then `get`: plain (smbd does not require signing, so smbclient does not sign; keyless
/// always signs), signed (3.1.1, AES-GMAC) and encrypted (AES-128-GCM, AES-256-GCM). Each
/// figure is the wall time of the whole command (connect, authenticate, copy, close), best of 3;
/// a second table gives each command's peak RSS.
fn smb_bench(mib: usize) -> Result<(), String> {
    use keyless_testbed::{ScratchDir, SmbMode, Smbd};
    // KEYLESS_BENCH_EXE measures another build (an older commit's, say) against the same smbd.
    let exe = match std::env::var("KEYLESS_BENCH_EXE") {
        Ok(exe) => exe,
        Err(_) => {
            run("build keyless", "cargo", &["build", "--quiet", "--release", "-p", "keyless-cli"], &[])?;
            workspace_root().join("target/release/keyless").to_string_lossy().into_owned()
        }
    };
    let scratch = ScratchDir::in_memory("smb-bench");
    let local = scratch.join("payload.bin");
    let data: Vec<u8> = (0..mib << 20).map(|i| (i * 31 + i / 4093) as u8).collect();
    std::fs::write(&local, &data).map_err(|e| e.to_string())?;
    let local = local.to_string_lossy().into_owned();
    let back = scratch.join("back.bin").to_string_lossy().into_owned();
    let client_conf = smbclient_conf(&scratch)?;
    let mb = (mib << 20) as f64 / 1e6;
    println!("{mib} MiB over loopback, best of 3, MB/s (higher is better)");
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>10} {:>8} {:>8}",
        "mode", "keyless put", "smbclient put", "keyless get", "smbclient get", "put x", "get x"
    );
    let mut rss = Vec::new();
    // "plain": neither client signs (keyless with --signing if-required, smbclient's default);
    // "plain, keyless signs": keyless's default, which signs whatever the server asks.
    for (label, mode, cipher, signing) in [
        ("plain", SmbMode::Plain, None, "if-required"),
        ("plain, keyless signs", SmbMode::Plain, None, "always"),
        ("signed (AES-GMAC)", SmbMode::Signing, None, "always"),
        ("encrypted AES-128-GCM", SmbMode::EncryptWith("AES-128-GCM"), Some("AES-128-GCM"), "always"),
        ("encrypted AES-256-GCM", SmbMode::EncryptWith("AES-256-GCM"), Some("AES-256-GCM"), "always"),
    ] {
        let smbd = Smbd::start(&scratch, mode, None).ok_or("Samba is not installed")?;
        let pw = scratch.join("pw");
        std::fs::write(&pw, format!("{}\n", smbd.password)).map_err(|e| e.to_string())?;
        let url = format!("smb://127.0.0.1:{}/{}/bench.bin", smbd.port, smbd.share);
        let auth = ["--auth", "ntlm", "--user", &smbd.user, "--password-file", &pw.to_string_lossy()].map(String::from);
        let ours = |verb: &str, a: &str, b: &str| -> Vec<String> {
            let mut v = vec![verb.to_string(), a.to_string(), b.to_string(), "--signing".into(), signing.into()];
            v.extend(auth.iter().cloned());
            v
        };
        let theirs = |cmd: String| -> Vec<String> {
            let mut v = vec![
                "-s".to_string(),
                client_conf.clone(),
                format!("//127.0.0.1/{}", smbd.share),
                "-p".into(),
                smbd.port.to_string(),
                "-U".into(),
                format!("{}%{}", smbd.user, smbd.password),
            ];
            if let Some(c) = cipher {
                v.push("--option=client smb encrypt=required".into());
                v.push(format!("--option=client smb3 encryption algorithms={c}"));
            }
            v.extend(["-c".to_string(), cmd]);
            v
        };
        // The two clients take turns, one run each, three rounds: a machine that drifts
        // slower or faster over the minutes (these shared cores do) favours neither.
        let mut runs: [Option<Measured>; 4] = [None, None, None, None];
        for round in 0..3 {
            let commands = [
                (exe.as_str(), ours("put", &local, &url)),
                ("smbclient", theirs(format!("put {local} bench2.bin"))),
                (exe.as_str(), ours("get", &url, &back)),
                ("smbclient", theirs(format!("get bench2.bin {back}"))),
            ];
            for (i, (program, args)) in commands.iter().enumerate() {
                let m = measure_once(program, args)?;
                runs[i] = Some(match runs[i].take() {
                    Some(best) => best.or_better(m),
                    None => m,
                });
                if round == 0 && i == 2 && std::fs::read(&back).map_err(|e| e.to_string())? != data {
                    return Err(format!("{label}: keyless get returned other bytes"));
                }
            }
        }
        let [Some(k_put), Some(s_put), Some(k_get), Some(s_get)] = runs else {
            return Err("no runs".into());
        };
        println!(
            "{label:<22} {:>10.0} {:>10.0} {:>10.0} {:>10.0} {:>7.2}x {:>7.2}x",
            mb / k_put.secs,
            mb / s_put.secs,
            mb / k_get.secs,
            mb / s_get.secs,
            s_put.secs / k_put.secs,
            s_get.secs / k_get.secs
        );
        let mib_of = |m: &Measured| m.peak_rss_kib as f64 / 1024.0;
        rss.push(format!(
            "{label:<22} {:>10.1} {:>10.1} {:>10.1} {:>10.1}",
            mib_of(&k_put),
            mib_of(&s_put),
            mib_of(&k_get),
            mib_of(&s_get)
        ));
    }
    println!("\npeak RSS, MiB (largest of the 3 runs; lower is better)");
    println!(
        "{:<22} {:>10} {:>10} {:>10} {:>10}",
        "mode", "keyless put", "smbclient put", "keyless get", "smbclient get"
    );
    for row in rss {
        println!("{row}");
    }
    Ok(())
}
