//! DIR collections as MIT's `cc_dir.c` keeps them: a directory of FILE caches named `tkt*`,
//! and a `primary` file naming the one in use. `DIR:/d` means the primary cache of `/d`
//! (`tkt` when there is no `primary` yet); `DIR::/d/tktX` means that file.

use super::name::{CacheName, Collection as AnyCollection, Resolved};
use crate::Error;
use std::fmt;
use std::path::{Path, PathBuf};

/// The primary's name when a collection has none yet.
const FIRST: &str = "tkt";

/// A DIR collection: the directory.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Collection {
    /// The directory.
    pub dir: PathBuf,
}

/// One cache of a DIR collection.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Subsidiary {
    /// The collection's directory.
    pub dir: PathBuf,
    /// The file's name (`tkt...`).
    pub file: String,
}

impl Subsidiary {
    /// The cache file.
    pub fn path(&self) -> PathBuf {
        self.dir.join(&self.file)
    }
}

impl fmt::Display for Subsidiary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DIR::{}", self.path().display())
    }
}

impl fmt::Display for Collection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "DIR:{}", self.dir.display())
    }
}

/// `DIR:` residuals: `/dir` or `:/dir/tktX`.
pub(crate) fn resolve(residual: &str) -> Result<Resolved, Error> {
    if let Some(path) = residual.strip_prefix(':') {
        let path = Path::new(path);
        let (Some(dir), Some(file)) = (path.parent(), path.file_name().and_then(|f| f.to_str())) else {
            return Err(Error::Config(format!("DIR::{residual}: names no file in a directory")));
        };
        if !is_cache_file(file) {
            return Err(Error::Config(format!(
                "DIR::{}: cache files of a DIR collection start with tkt",
                path.display()
            )));
        }
        let sub = Subsidiary { dir: dir.to_path_buf(), file: file.to_string() };
        let collection = AnyCollection::Dir(Collection { dir: sub.dir.clone() });
        return Ok(Resolved { cache: CacheName::Dir(sub), collection, collection_only: false });
    }
    if residual.is_empty() {
        return Err(Error::Config("DIR: names no directory".into()));
    }
    let c = Collection { dir: PathBuf::from(residual) };
    Ok(Resolved { cache: CacheName::Dir(c.primary()), collection: AnyCollection::Dir(c), collection_only: true })
}

/// MIT's `filename_is_cache`: names starting with `tkt`, no path inside.
fn is_cache_file(name: &str) -> bool {
    name.starts_with(FIRST) && !name.contains('/')
}

impl Collection {
    fn primary_file(&self) -> PathBuf {
        self.dir.join("primary")
    }

    /// The primary cache: the first line of `primary`, else `tkt`.
    pub fn primary(&self) -> Subsidiary {
        let named = std::fs::read_to_string(self.primary_file()).ok().and_then(|text| {
            let line = text.lines().next()?.trim().to_string();
            is_cache_file(&line).then_some(line)
        });
        Subsidiary { dir: self.dir.clone(), file: named.unwrap_or_else(|| FIRST.into()) }
    }

    /// Whether a `primary` file exists.
    pub(crate) fn has_primary(&self) -> bool {
        self.primary_file().exists()
    }

    /// The caches that exist, the primary first.
    pub fn caches(&self) -> Vec<Subsidiary> {
        let primary = self.primary();
        let mut names: Vec<String> = std::fs::read_dir(&self.dir)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                    .filter_map(|e| e.file_name().into_string().ok())
                    .filter(|n| is_cache_file(n) && *n != primary.file && !n.contains(".keyless-"))
                    .collect()
            })
            .unwrap_or_default();
        names.sort();
        let mut out = Vec::with_capacity(names.len() + 1);
        if primary.path().is_file() {
            out.push(primary);
        }
        out.extend(names.into_iter().map(|file| Subsidiary { dir: self.dir.clone(), file }));
        out
    }

    /// Makes the directory (0700) if it is missing, as MIT does before writing a cache.
    pub(crate) fn ensure_dir(&self) -> Result<(), Error> {
        use std::os::unix::fs::DirBuilderExt;
        match std::fs::DirBuilder::new().mode(0o700).create(&self.dir) {
            Err(e) if e.kind() != std::io::ErrorKind::AlreadyExists => {
                Err(Error::File { path: self.dir.display().to_string(), source: e })
            }
            _ => Ok(()),
        }
    }

    /// Makes `sub` the primary: `primary` written to a temporary file, then renamed over.
    ///
    /// # Errors
    /// [`Error::File`].
    pub fn switch_to(&self, sub: &Subsidiary) -> Result<(), Error> {
        self.ensure_dir()?;
        crate::files::write_atomically(&self.primary_file(), format!("{}\n", sub.file).as_bytes())
    }

    /// A new cache file name in the collection, `tkt` and six random characters, made empty
    /// so no other writer takes the name.
    ///
    /// # Errors
    /// [`Error::File`].
    pub fn new_unique(&self, random: &mut dyn crate::RandomSource) -> Result<Subsidiary, Error> {
        use std::os::unix::fs::OpenOptionsExt;
        self.ensure_dir()?;
        for _ in 0..100 {
            let file = format!("{FIRST}{}", super::random_name(random, 6)?);
            let path = self.dir.join(&file);
            match std::fs::OpenOptions::new().write(true).create_new(true).mode(0o600).open(&path) {
                Ok(_) => return Ok(Subsidiary { dir: self.dir.clone(), file }),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {}
                Err(e) => return Err(Error::File { path: path.display().to_string(), source: e }),
            }
        }
        Err(Error::Config(format!("{self}: no free cache name after 100 tries")))
    }
}
