//! Inode numbers for paths on the share: SMB names files by path, the kernel by number. A
//! number lives from the first lookup until the kernel forgets it; renames move the paths of
//! a directory's whole subtree; cached metadata expires after the mount's cache time.

use keyless_client::Metadata;
use std::collections::HashMap;
use std::time::{Duration, Instant};

/// The root directory's inode (FUSE_ROOT_ID).
pub const ROOT: u64 = 1;

struct Node {
    path: String,
    lookups: u64,
    meta: Option<(Metadata, Instant)>,
}

/// The table.
pub struct Inodes {
    nodes: HashMap<u64, Node>,
    by_path: HashMap<String, u64>,
    next: u64,
    ttl: Duration,
}

impl Inodes {
    /// A table holding only the root; metadata is trusted for `ttl`.
    pub fn new(ttl: Duration) -> Self {
        let mut nodes = HashMap::new();
        nodes.insert(ROOT, Node { path: String::new(), lookups: 1, meta: None });
        Self { nodes, by_path: HashMap::from([(String::new(), ROOT)]), next: ROOT + 1, ttl }
    }

    /// The path of `ino` (`""` for the root).
    pub fn path(&self, ino: u64) -> Option<&str> {
        self.nodes.get(&ino).map(|n| n.path.as_str())
    }

    /// `parent`'s path joined with `name`.
    pub fn child(&self, parent: u64, name: &str) -> Option<String> {
        let p = self.path(parent)?;
        Some(if p.is_empty() { name.to_string() } else { format!("{p}/{name}") })
    }

    /// The inode of `path`, made if new; `lookup` counts one kernel reference.
    pub fn ino(&mut self, path: &str, lookup: bool) -> u64 {
        let ino = match self.by_path.get(path) {
            Some(&i) => i,
            None => {
                let i = self.next;
                self.next += 1;
                self.nodes.insert(i, Node { path: path.to_string(), lookups: 0, meta: None });
                self.by_path.insert(path.to_string(), i);
                i
            }
        };
        if lookup && let Some(n) = self.nodes.get_mut(&ino) {
            n.lookups += 1;
        }
        ino
    }

    /// The kernel dropped `n` references.
    pub fn forget(&mut self, ino: u64, n: u64) {
        let Some(node) = self.nodes.get_mut(&ino) else { return };
        node.lookups = node.lookups.saturating_sub(n);
        if node.lookups == 0 && ino != ROOT {
            let path = node.path.clone();
            self.nodes.remove(&ino);
            if self.by_path.get(&path) == Some(&ino) {
                self.by_path.remove(&path);
            }
        }
    }

    /// Cached metadata of `ino`, while fresh.
    pub fn cached(&self, ino: u64) -> Option<&Metadata> {
        let (meta, at) = self.nodes.get(&ino)?.meta.as_ref()?;
        (at.elapsed() < self.ttl).then_some(meta)
    }

    /// Remembers `ino`'s metadata.
    pub fn remember(&mut self, ino: u64, meta: Metadata) {
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.meta = Some((meta, Instant::now()));
        }
    }

    /// Forgets what is cached of `ino`.
    pub fn invalidate(&mut self, ino: u64) {
        if let Some(n) = self.nodes.get_mut(&ino) {
            n.meta = None;
        }
    }

    /// `path` no longer exists: its inode keeps living for open files, unnamed.
    pub fn unlink(&mut self, path: &str) {
        if let Some(ino) = self.by_path.remove(path)
            && let Some(n) = self.nodes.get_mut(&ino)
        {
            n.meta = None;
        }
    }

    /// `from` is now `to`, and so is everything below it.
    pub fn rename(&mut self, from: &str, to: &str) {
        self.unlink(to);
        let prefix = format!("{from}/");
        let moved: Vec<(String, u64)> = self
            .by_path
            .iter()
            .filter(|(p, _)| p.as_str() == from || p.starts_with(&prefix))
            .map(|(p, i)| (p.clone(), *i))
            .collect();
        for (old, ino) in moved {
            self.by_path.remove(&old);
            let new = format!("{to}{}", &old[from.len()..]);
            if let Some(n) = self.nodes.get_mut(&ino) {
                n.path = new.clone();
                n.meta = None;
            }
            self.by_path.insert(new, ino);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_follow_renames_and_forgets() {
        let mut t = Inodes::new(Duration::from_secs(1));
        let d = t.ino("d", true);
        let f = t.ino("d/f", true);
        let other = t.ino("dx", true);
        assert_eq!(t.child(d, "f").as_deref(), Some("d/f"));
        t.rename("d", "e");
        assert_eq!((t.path(d), t.path(f), t.path(other)), (Some("e"), Some("e/f"), Some("dx")));
        assert_eq!(t.ino("e/f", false), f);
        t.unlink("e/f");
        assert_ne!(t.ino("e/f", false), f, "a new file of the same name is another inode");
        t.forget(f, 1);
        assert_eq!(t.path(f), None);
        assert_eq!(t.path(ROOT), Some(""));
    }
}
