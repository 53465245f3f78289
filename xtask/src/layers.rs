//! `cargo xtask layers`: the layer graph docs/architecture.md declares (a level for each crate,
//! and a table of each crate's normal dependencies inside the workspace) against what
//! `cargo metadata` says; any difference, or a dependency that does not go to a lower level,
//! fails.

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
    if wrong.is_empty() {
        println!(
            "layers: {} crates, every dependency one level down or more, as docs/architecture.md says",
            actual.len()
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
