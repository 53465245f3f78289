//! The kernel client's links (`--kernel`): a request-key rule for `cifs.spnego`, the program
//! it runs, and the cifs module. request-key picks the first matching line of
//! /etc/request-key.conf, then of the files in /etc/request-key.d in name order.

use super::Link;
use super::report::{Report, Wrong};
use std::path::{Path, PathBuf};

/// One rule: where it is, and the program it runs (`create cifs.spnego * * PROGRAM ARGS`).
struct Rule {
    file: PathBuf,
    program: String,
    args: Vec<String>,
}

pub fn walk(report: &mut Report, confs: &[PathBuf], oauth: bool) {
    let files = if confs.is_empty() { default_files() } else { expand(confs) };
    let rule = report.check(Link::RequestKey, || match find_rule(&files) {
        Some(r) => {
            let line = format!("{}: cifs.spnego runs {} {}", r.file.display(), r.program, r.args.join(" "));
            Ok((r, line))
        }
        None => Err(Wrong::new(
            format!(
                "no request-key rule for cifs.spnego in {}",
                files.iter().map(|f| f.display().to_string()).collect::<Vec<_>>().join(", ")
            ),
            "mount -t cifs -o sec=krb5 cannot get a ticket: run keyless cifs-upcall --install (or install cifs-utils)",
        )),
    });
    match rule {
        Some(r) => {
            report.check(Link::Upcall, || upcall(&r, oauth));
        }
        None => {
            report.skip::<()>(Link::Upcall, "no rule");
        }
    }
    report.check(Link::CifsModule, cifs_module);
}

fn default_files() -> Vec<PathBuf> {
    let mut files = vec![PathBuf::from("/etc/request-key.conf")];
    files.extend(expand(&[PathBuf::from("/etc/request-key.d")]));
    files
}

/// Files as given; directories as their `*.conf` files in name order.
fn expand(paths: &[PathBuf]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in paths {
        match std::fs::read_dir(p) {
            Ok(dir) => {
                let mut in_dir: Vec<PathBuf> = dir
                    .filter_map(|e| e.ok().map(|e| e.path()))
                    .filter(|f| f.extension().is_some_and(|x| x == "conf"))
                    .collect();
                in_dir.sort();
                out.extend(in_dir);
            }
            Err(_) => out.push(p.clone()),
        }
    }
    out
}

fn find_rule(files: &[PathBuf]) -> Option<Rule> {
    files.iter().find_map(|f| {
        let text = std::fs::read_to_string(f).ok()?;
        text.lines().find_map(|line| rule_of(f, line))
    })
}

/// `create cifs.spnego <description> <callout> <program> <args...>` (request-key.conf(5));
/// the type may be a pattern.
fn rule_of(file: &Path, line: &str) -> Option<Rule> {
    let words: Vec<&str> = line.split('#').next()?.split_whitespace().collect();
    match words.as_slice() {
        ["create", kind, _, _, program, args @ ..] if matches(kind, "cifs.spnego") => Some(Rule {
            file: file.to_path_buf(),
            program: (*program).to_string(),
            args: args.iter().map(|a| a.to_string()).collect(),
        }),
        _ => None,
    }
}

/// request-key's type patterns: `*` alone, or a prefix ending in `*`.
fn matches(pattern: &str, kind: &str) -> bool {
    pattern == kind || pattern == "*" || pattern.strip_suffix('*').is_some_and(|p| kind.starts_with(p))
}

/// Whether the program exists, and what it can do for this path.
fn upcall(r: &Rule, oauth: bool) -> Result<((), String), Wrong> {
    let program = Path::new(&r.program);
    if !program.is_file() {
        return Err(Wrong::new(
            format!("{} is not installed (named by {})", r.program, r.file.display()),
            "install it, or run keyless cifs-upcall --install",
        ));
    }
    let keyless = r.args.first().is_some_and(|a| a == "cifs-upcall");
    if keyless {
        return Ok((
            (),
            format!("{} cifs-upcall: TGT, service ticket, KEYRING/KCM caches, --auth oauth at mount time", r.program),
        ));
    }
    let version = std::process::Command::new(&r.program)
        .arg("--version")
        .output()
        .ok()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
        .filter(|v| !v.is_empty());
    let old = version
        .as_deref()
        .and_then(|v| v.rsplit(' ').next())
        .and_then(|v| v.split('.').next()?.parse::<u32>().ok())
        .is_some_and(|major| major < 7)
        || version.as_deref().is_some_and(|v| v.ends_with(" 7.0"));
    if oauth && old {
        return Err(Wrong::new(
            format!(
                "{} ({}) refuses a cache holding only a service ticket, which SMB OAuth gives",
                r.program,
                version.unwrap_or_default()
            ),
            "run keyless cifs-upcall --install, so that keyless answers the kernel",
        ));
    }
    Ok(((), format!("{} ({})", r.program, version.unwrap_or_else(|| "version unknown".into()))))
}

/// Loaded, or loadable by modprobe.
fn cifs_module() -> Result<((), String), Wrong> {
    if Path::new("/sys/module/cifs").exists() {
        return Ok(((), "cifs is loaded".to_string()));
    }
    let found = std::process::Command::new("modinfo").args(["-F", "filename", "cifs"]).output();
    match found {
        Ok(o) if o.status.success() => {
            Ok(((), format!("cifs loads from {}", String::from_utf8_lossy(&o.stdout).trim())))
        }
        _ => Err(Wrong::new(
            "this kernel has no cifs module (not loaded, modinfo finds none)",
            "install the kernel's modules (Debian: linux-image-*, not the -cloud flavour without cifs; or linux-modules-extra on Ubuntu)",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_request_key_lines_as_request_key_does() {
        let f = Path::new("x.conf");
        let r = rule_of(f, "create  cifs.spnego    * * /usr/sbin/cifs.upcall %k").unwrap();
        assert_eq!((r.program.as_str(), r.args.as_slice()), ("/usr/sbin/cifs.upcall", &["%k".to_string()][..]));
        assert!(rule_of(f, "create cifs.* * * /usr/bin/keyless cifs-upcall %k").is_some());
        assert!(rule_of(f, "#create cifs.spnego * * /x %k").is_none());
        assert!(rule_of(f, "create cifs.idmap * * /usr/sbin/cifs.idmap %k").is_none());
        assert!(rule_of(f, "negate * * * /x").is_none());
    }
}
