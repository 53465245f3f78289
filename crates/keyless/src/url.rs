//! `smb://host[:port]/share/path` URLs (also `//host/share/path` and `\\host\share\path`).

use core::fmt;

/// A share, and a path on it, named by a URL.
///
/// ```
/// let url: keyless::SmbUrl = "smb://files.example.test:4450/projects/2026/plan.txt".parse()?;
/// assert_eq!((url.host.as_str(), url.port, url.share.as_str()), ("files.example.test", Some(4450), "projects"));
/// assert_eq!(url.path, "2026/plan.txt");
/// assert_eq!(url.to_string(), "smb://files.example.test:4450/projects/2026/plan.txt");
/// # Ok::<(), keyless::UrlError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SmbUrl {
    /// The server's name (it also names the Kerberos service, `cifs/<host>`).
    pub host: String,
    /// The TCP port, when the URL gives one (445 otherwise).
    pub port: Option<u16>,
    /// The share.
    pub share: String,
    /// The path on the share, `/`-separated, without a leading separator; empty for the
    /// share's root.
    pub path: String,
}

/// Why a text is not an SMB URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum UrlError {
    /// It starts with neither `smb://` nor `//` nor `\\`.
    NotSmb(String),
    /// It names no host or no share.
    NoShare(String),
    /// The port is not a number from 0 to 65535.
    BadPort {
        /// The URL.
        url: String,
        /// The port as written.
        port: String,
    },
}

impl fmt::Display for UrlError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::NotSmb(url) => write!(f, "{url}: not an SMB URL"),
            Self::NoShare(url) => write!(f, "{url}: no host or share"),
            Self::BadPort { url, port } => write!(f, "{url}: bad port {port}"),
        }
    }
}

impl std::error::Error for UrlError {}

impl SmbUrl {
    /// Parses `smb://host[:port]/share[/path]`, `//host/share[/path]` or
    /// `\\host\share[\path]`; an IPv6 host is written in brackets.
    ///
    /// # Errors
    /// [`UrlError`] says which part is missing or wrong.
    pub fn parse(url: &str) -> Result<Self, UrlError> {
        let rest = url
            .strip_prefix("smb://")
            .or_else(|| url.strip_prefix("//"))
            .or_else(|| url.strip_prefix("\\\\"))
            .ok_or_else(|| UrlError::NotSmb(url.to_string()))?;
        let mut parts = rest.splitn(3, ['/', '\\']);
        let authority = parts.next().unwrap_or("");
        let share = parts.next().unwrap_or("").to_string();
        let path = parts.next().unwrap_or("").replace('\\', "/");
        if authority.is_empty() || share.is_empty() {
            return Err(UrlError::NoShare(url.to_string()));
        }
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !h.contains(':') || h.starts_with('[') => {
                let port = p.parse().map_err(|_| UrlError::BadPort { url: url.to_string(), port: p.to_string() })?;
                (h.trim_matches(['[', ']']).to_string(), Some(port))
            }
            _ => (authority.trim_matches(['[', ']']).to_string(), None),
        };
        Ok(Self { host, port, share, path })
    }

    /// The same share with `path` below this URL's path.
    ///
    /// ```
    /// let dir = keyless::SmbUrl::parse("smb://host/share/a")?;
    /// assert_eq!(dir.join("b/c.txt").path, "a/b/c.txt");
    /// # Ok::<(), keyless::UrlError>(())
    /// ```
    pub fn join(&self, path: &str) -> Self {
        let below = path.trim_start_matches(['/', '\\']);
        let path = match self.path.trim_end_matches('/') {
            "" => below.to_string(),
            here => format!("{here}/{below}"),
        };
        Self { path, ..self.clone() }
    }
}

impl core::str::FromStr for SmbUrl {
    type Err = UrlError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for SmbUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        write!(f, "smb://{host}")?;
        if let Some(port) = self.port {
            write!(f, ":{port}")?;
        }
        write!(f, "/{}", self.share)?;
        if !self.path.is_empty() {
            write!(f, "/{}", self.path)?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_three_spellings_and_their_errors() {
        let want = SmbUrl { host: "h".into(), port: None, share: "s".into(), path: "a/b".into() };
        for text in ["smb://h/s/a/b", "//h/s/a/b", "\\\\h\\s\\a\\b"] {
            assert_eq!(SmbUrl::parse(text).unwrap(), want, "{text}");
        }
        let v6 = SmbUrl::parse("smb://[::1]:4450/s").unwrap();
        assert_eq!((v6.host.as_str(), v6.port), ("::1", Some(4450)));
        assert_eq!(v6.to_string(), "smb://[::1]:4450/s");
        assert_eq!(SmbUrl::parse("http://h/s"), Err(UrlError::NotSmb("http://h/s".into())));
        assert_eq!(SmbUrl::parse("smb://h"), Err(UrlError::NoShare("smb://h".into())));
        assert!(matches!(SmbUrl::parse("smb://h:99999/s"), Err(UrlError::BadPort { .. })));
        assert_eq!(SmbUrl::parse("smb://h/s/").unwrap().join("/x").path, "x");
    }
}
