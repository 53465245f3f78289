//! Where keyless-krb meets the operating system, apart from the codecs: reading and writing
//! MIT's files (credential caches, keytabs, krb5.conf) with blocking std calls. With the cache
//! stores (`ccache::{store, dir, kcm, keyring, name}`: directories, the KCM socket, the kernel
//! keyrings), these are the crate's only I/O; no async runtime, clock or OS random source
//! (`cargo xtask layers` checks that no other module of the crate touches the OS).

use crate::Error;
use crate::ccache::CCache;
use crate::config::Krb5Conf;
use crate::keytab::Keytab;
use std::path::{Path, PathBuf};
use zeroize::Zeroizing;

impl CCache {
    /// Reads a cache file.
    ///
    /// # Errors
    /// [`Error::File`] or [`Error::Malformed`].
    pub fn read(path: &Path) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::File { path: path.display().to_string(), source })?;
        Self::parse(&bytes)
    }

    /// Writes the cache atomically with mode 0600 (temporary file in the same directory, then
    /// rename), so a reader never sees half a cache.
    ///
    /// # Errors
    /// [`Error::File`].
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        write_atomically(path, &self.to_bytes()?)
    }
}

/// Writes `bytes` to `path` with mode 0600 through a temporary file in the same directory and a
/// rename, as MIT writes caches: a reader sees the old file or the new one, never half.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> Result<(), Error> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let file_err = |source| Error::File { path: path.display().to_string(), source };
    // A random name, made anew if taken: a name others can guess could be taken ahead of us.
    let mut tries = 0;
    let (tmp, mut f) = loop {
        let tmp = temp_path(path);
        match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&tmp) {
            Ok(f) => break (tmp, f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists && tries < 10 => tries += 1,
            Err(e) => return Err(file_err(e)),
        }
    };
    let written = f.write_all(bytes).and_then(|()| f.sync_all());
    if let Err(e) = written.and_then(|()| std::fs::rename(&tmp, path)) {
        let _ = std::fs::remove_file(&tmp);
        return Err(file_err(e));
    }
    Ok(())
}

/// A temporary file's name beside `path`, hard to guess: std's `RandomState` keys come from
/// the OS's random source (a name for a file, not a key: no RandomSource needs passing in).
fn temp_path(path: &Path) -> PathBuf {
    use std::hash::BuildHasher;
    let mut name = path.file_name().map(|n| n.to_os_string()).unwrap_or_default();
    let bits = std::collections::hash_map::RandomState::new().hash_one(std::process::id());
    name.push(format!(".keyless-{bits:016x}"));
    path.with_file_name(name)
}

impl Keytab {
    /// Reads a keytab file.
    ///
    /// # Errors
    /// [`Error::File`] or [`Error::Malformed`].
    pub fn read(path: &Path) -> Result<Self, Error> {
        let bytes = std::fs::read(path).map_err(|source| Error::File { path: path.display().to_string(), source })?;
        Self::parse(&bytes)
    }

    /// Writes the keytab with mode 0600.
    ///
    /// # Errors
    /// [`Error::File`].
    pub fn write(&self, path: &Path) -> Result<(), Error> {
        use std::io::Write;
        use std::os::unix::fs::OpenOptionsExt;
        let bytes = Zeroizing::new(self.to_bytes()?);
        let file_err = |source| Error::File { path: path.display().to_string(), source };
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create(true)
            .truncate(true)
            .mode(0o600)
            .open(path)
            .map_err(file_err)?;
        f.write_all(&bytes).and_then(|()| f.sync_all()).map_err(file_err)
    }
}

impl Krb5Conf {
    /// Loads `KRB5_CONFIG` (or `/etc/krb5.conf`); files that do not exist are skipped, as MIT does.
    ///
    /// # Errors
    /// [`Error::Config`] for a file that exists but does not parse.
    pub fn load() -> Result<Self, Error> {
        let list = std::env::var("KRB5_CONFIG").unwrap_or_else(|_| "/etc/krb5.conf".into());
        let mut conf = Self::default();
        for path in list.split(':').filter(|p| !p.is_empty()) {
            match std::fs::read_to_string(path) {
                Ok(text) => conf.merge(&text).map_err(|e| Error::Config(format!("{path}: {e}")))?,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => return Err(Error::Config(format!("{path}: {e}"))),
            }
        }
        Ok(conf)
    }
}
