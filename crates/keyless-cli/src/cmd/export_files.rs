//! `keyless inspect --export-files DIR`: the files a capture's SMB sessions read and wrote,
//! written below DIR as `server/share/path` from the pieces inspect rebuilds, holes left
//! sparse, and `manifest.jsonl` saying per file its size, sha256 and the bytes seen.

use keyless_inspect::files::{RebuiltFile, manifest_line};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::fs::File;
use std::os::unix::fs::FileExt;
use std::path::PathBuf;

/// The files being written.
pub struct Export {
    dir: PathBuf,
    open: HashMap<String, File>,
    /// The first failure to write a piece (the rest of the capture is still read).
    pub failed: Option<String>,
}

impl Export {
    pub fn new(dir: PathBuf) -> Self {
        Self { dir, open: HashMap::new(), failed: None }
    }

    /// Writes `data` at `offset` of `file`.
    pub fn piece(&mut self, file: &RebuiltFile, offset: u64, data: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        let written = self.file(&file.path).and_then(|f| f.write_all_at(data, offset));
        if let Err(e) = written {
            self.failed = Some(format!("{}: {e}", self.dir.join(&file.path).display()));
        }
    }

    fn file(&mut self, path: &str) -> std::io::Result<&File> {
        if !self.open.contains_key(path) {
            let full = self.dir.join(path);
            if let Some(parent) = full.parent() {
                std::fs::create_dir_all(parent)?;
            }
            let f = std::fs::OpenOptions::new().read(true).write(true).create(true).truncate(true).open(&full)?;
            self.open.insert(path.to_string(), f);
        }
        Ok(&self.open[path])
    }

    /// Gives each file written its full size (holes stay sparse) and writes the manifest.
    pub fn finish(mut self, files: &[RebuiltFile]) -> Result<usize, String> {
        if let Some(why) = self.failed.take() {
            return Err(why);
        }
        let mut manifest = String::new();
        let mut count = 0;
        for f in files.iter().filter(|f| !f.seen.is_empty()) {
            let file = self.file(&f.path).map_err(|e| format!("{}: {e}", f.path))?;
            if file.metadata().map_err(|e| e.to_string())?.len() < f.size() {
                file.set_len(f.size()).map_err(|e| format!("{}: {e}", f.path))?;
            }
            let hash = sha256_of(file).map_err(|e| format!("{}: {e}", f.path))?;
            manifest.push_str(&manifest_line(f, &hash));
            manifest.push('\n');
            count += 1;
        }
        std::fs::create_dir_all(&self.dir).map_err(|e| e.to_string())?;
        std::fs::write(self.dir.join("manifest.jsonl"), manifest).map_err(|e| format!("manifest.jsonl: {e}"))?;
        Ok(count)
    }
}

fn sha256_of(file: &File) -> std::io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 20];
    let mut at = 0u64;
    loop {
        let n = file.read_at(&mut buf, at)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
        at += n as u64;
    }
    Ok(hasher.finalize().iter().map(|b| format!("{b:02x}")).collect())
}
