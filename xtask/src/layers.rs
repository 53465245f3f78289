//! `cargo xtask layers`: the layer graph docs/architecture.md declares (a level for each crate,
//! and a table of each crate's normal dependencies inside the workspace) against what
//! `cargo metadata` says; any difference, or a dependency that does not go to a lower level,
//! fails. The crates the doc's `sans-IO` line names must also stay free of the runtime: no
//! tokio or rustls anywhere below them (`cargo tree`), no direct getrandom dependency, and no
//! OS random source called from their sources (the clock is clippy's `disallowed-methods`,
//! clippy.toml).

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

/// Workspace members that are tools, not layers.
const TOOLS: [&str; 2] = ["xtask", "keyless-benches"];

type Graph = BTreeMap<String, BTreeSet<String>>;

pub fn check(root: &std::path::Path) -> Result<(), String> {
    let doc =
        std::fs::read_to_string(root.join("docs/architecture.md")).map_err(|e| format!("architecture.md: {e}"))?;
    let levels = levels(&doc)?;
    let declared = table(&doc);
    let actual = metadata(root)?;
    let mut wrong = Vec::new();
    for (name, deps) in &actual {
        match declared.get(name) {
            None => wrong.push(format!("{name} is not in the table")),
            Some(d) if d != deps => wrong.push(format!("{name}: the table says {d:?}, Cargo.toml {deps:?}")),
            Some(_) => {}
        }
        let Some(level) = levels.get(name) else {
            wrong.push(format!("{name} has no level"));
            continue;
        };
        for dep in deps {
            if levels.get(dep).is_none_or(|l| l >= level) {
                wrong.push(format!("{name} (level {level}) depends on {dep}, which is not below it"));
            }
        }
    }
    for name in declared.keys().filter(|n| !actual.contains_key(*n)) {
        wrong.push(format!("{name} is in the table but not in the workspace"));
    }
    let pure = sans_io(&doc)?;
    let os_modules = os_io(&doc);
    for name in &pure {
        if !actual.contains_key(name) {
            wrong.push(format!("{name} is on the sans-IO line but not in the workspace"));
            continue;
        }
        wrong.extend(runtime_in(root, name, &os_modules)?);
    }
    wrong.extend(tls_in_fuzz(root)?);
    if wrong.is_empty() {
        println!(
            "layers: {} crates, every dependency one level down or more, as docs/architecture.md says; \
             {} sans-IO crates free of tokio, rustls and the OS random source; OS access only in the os-io modules; fuzz targets without TLS",
            actual.len(),
            pure.len()
        );
        Ok(())
    } else {
        Err(format!("docs/architecture.md and the crates disagree:\n  {}", wrong.join("\n  ")))
    }
}

/// `level N  crate crate ...` lines.
fn levels(doc: &str) -> Result<BTreeMap<String, u32>, String> {
    let mut levels = BTreeMap::new();
    for line in doc.lines() {
        let mut words = line.split_whitespace();
        if words.next() != Some("level") {
            continue;
        }
        let n: u32 = words.next().and_then(|n| n.parse().ok()).ok_or_else(|| format!("bad level line: {line}"))?;
        for name in words {
            levels.insert(name.to_string(), n);
        }
    }
    if levels.is_empty() { Err("architecture.md declares no levels".into()) } else { Ok(levels) }
}

/// Crates a sans-IO crate must not have below it, and what it must not call.
const RUNTIME_CRATES: [&str; 4] = ["tokio", "rustls", "tokio-rustls", "mio"];
const RANDOM_CALLS: [&str; 2] = ["getrandom", "SystemRandom"];
/// What touches the operating system: files, sockets, the environment, processes, keyrings.
const OS_CALLS: [&str; 11] = [
    "std::fs",
    "std::env",
    "std::os::unix",
    "std::process",
    "TcpStream",
    "UdpSocket",
    "TcpListener",
    "UnixStream",
    "keyutils",
    "libc::",
    "std::io::stdin",
];

/// The `os-io file file ...` line: the modules of sans-IO crates that may touch the OS
/// (paths under `crates/`).
fn os_io(doc: &str) -> Vec<String> {
    doc.lines()
        .filter(|l| l.starts_with("os-io "))
        .flat_map(|l| l.split_whitespace().skip(1).map(str::to_string))
        .collect()
}

/// The `sans-IO crate crate ...` line.
fn sans_io(doc: &str) -> Result<Vec<String>, String> {
    let line = doc.lines().find(|l| l.starts_with("sans-IO ")).ok_or("architecture.md has no sans-IO line")?;
    Ok(line.split_whitespace().skip(1).map(str::to_string).collect())
}

/// What ties `name` to the runtime: a runtime crate anywhere in its normal dependency tree, a
/// direct getrandom dependency (ring and rasn's derive macros bring getrandom in for their own
/// use), an OS random source named in its sources, or OS access outside the modules the
/// `os-io` line names (test modules, from the first `#[cfg(test)]` on, are not looked at).
fn runtime_in(root: &std::path::Path, name: &str, os_modules: &[String]) -> Result<Vec<String>, String> {
    let out = Command::new("cargo")
        .args(["tree", "--offline", "-e", "normal", "--prefix", "depth", "-f", "{p}", "-p", name])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cargo tree: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo tree -p {name}: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let tree = String::from_utf8_lossy(&out.stdout);
    let mut found = Vec::new();
    for line in tree.lines() {
        let depth_and_name = line.split_whitespace().next().unwrap_or("");
        let depth: String = depth_and_name.chars().take_while(char::is_ascii_digit).collect();
        let dep = &depth_and_name[depth.len()..];
        if RUNTIME_CRATES.contains(&dep) {
            found.push(format!("{name} (sans-IO) has {dep} in its dependencies"));
        }
        if depth == "1" && dep == "getrandom" {
            found.push(format!("{name} (sans-IO) depends on getrandom"));
        }
    }
    let src = root.join("crates").join(name).join("src");
    for file in rust_files(&src) {
        let text = std::fs::read_to_string(&file).map_err(|e| format!("{}: {e}", file.display()))?;
        for call in RANDOM_CALLS.iter().filter(|c| text.contains(&format!("{c}::"))) {
            found.push(format!("{} (sans-IO) calls {call}", file.display()));
        }
        let relative = file.strip_prefix(root.join("crates")).unwrap_or(&file).to_string_lossy().into_owned();
        // The product code: before the tests, without comments (a doc example is a program of
        // the reader's, which may well read a file).
        let product: Vec<&str> = text
            .split("#[cfg(test)]")
            .next()
            .unwrap_or("")
            .lines()
            .filter(|l| !l.trim_start().starts_with("//"))
            .collect();
        if !os_modules.contains(&relative) {
            for call in OS_CALLS.iter().filter(|c| product.iter().any(|l| l.contains(*c))) {
                found.push(format!("{relative} (sans-IO, not on the os-io line) uses {call}"));
            }
        }
    }
    found.sort();
    found.dedup();
    Ok(found)
}

/// The fuzz targets build without a TLS stack (keyless-client without its `tls` feature).
fn tls_in_fuzz(root: &std::path::Path) -> Result<Vec<String>, String> {
    let out = Command::new("cargo")
        .args(["tree", "--offline", "-e", "normal", "--prefix", "none", "-f", "{p}"])
        .current_dir(root.join("fuzz"))
        .output()
        .map_err(|e| format!("cargo tree (fuzz): {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo tree (fuzz): {}", String::from_utf8_lossy(&out.stderr)));
    }
    let tree = String::from_utf8_lossy(&out.stdout);
    let mut found: Vec<String> = tree
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|dep| ["rustls", "tokio-rustls"].contains(dep))
        .map(|dep| format!("the fuzz targets build {dep}"))
        .collect();
    found.dedup();
    Ok(found)
}

fn rust_files(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut files = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            files.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            files.push(path);
        }
    }
    files
}

/// The two-column rows `| `crate` | `dep` `dep` |`.
fn table(doc: &str) -> Graph {
    let mut graph = Graph::new();
    for line in doc.lines() {
        let cells: Vec<&str> = line.split('|').collect();
        let [_, name, deps, _] = cells.as_slice() else { continue };
        let (name, words) = (name.trim(), deps.split_whitespace().collect::<Vec<_>>());
        if !name.starts_with('`') || !words.iter().all(|w| w.len() > 2 && w.starts_with('`') && w.ends_with('`')) {
            continue;
        }
        let deps = words.iter().map(|d| d.trim_matches('`').to_string()).collect();
        graph.insert(name.trim_matches('`').to_string(), deps);
    }
    graph
}

/// Each member's normal dependencies on other members.
fn metadata(root: &std::path::Path) -> Result<Graph, String> {
    let out = Command::new("cargo")
        .args(["metadata", "--format-version", "1", "--no-deps", "--offline"])
        .current_dir(root)
        .output()
        .map_err(|e| format!("cargo metadata: {e}"))?;
    if !out.status.success() {
        return Err(format!("cargo metadata: {}", String::from_utf8_lossy(&out.stderr)));
    }
    let meta: serde_json::Value = serde_json::from_slice(&out.stdout).map_err(|e| format!("cargo metadata: {e}"))?;
    let packages = meta["packages"].as_array().ok_or("cargo metadata: no packages")?;
    let members: BTreeSet<&str> = packages.iter().filter_map(|p| p["name"].as_str()).collect();
    let mut graph = Graph::new();
    for p in packages {
        let Some(name) = p["name"].as_str().filter(|n| !TOOLS.contains(n)) else { continue };
        let deps = p["dependencies"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|d| d["kind"].is_null())
            .filter_map(|d| d["name"].as_str())
            .filter(|d| members.contains(d))
            .map(str::to_string)
            .collect();
        graph.insert(name.to_string(), deps);
    }
    Ok(graph)
}
