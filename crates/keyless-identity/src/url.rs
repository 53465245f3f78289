//! The URLs the token and ticket endpoints live at: `http(s)://host[:port]/path?query`, with
//! the percent-encoding their query strings and form bodies need.

use crate::Error;
use std::fmt;

/// An `http://` or `https://` URL.
#[derive(Clone, PartialEq, Eq)]
pub struct Url {
    /// Whether TLS is used.
    pub https: bool,
    /// Host name or address (IPv6 without brackets).
    pub host: String,
    /// Port (default 80 / 443).
    pub port: u16,
    /// Path and query, starting with `/`.
    pub path: String,
}

impl Url {
    /// Parses an absolute http(s) URL; a fragment is dropped.
    ///
    /// # Errors
    /// [`Error::Config`] for anything else.
    pub fn parse(text: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::Config(format!("{text}: {why}"));
        let (https, rest) = if let Some(r) = text.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = text.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad("not an http:// or https:// URL"));
        };
        let rest = rest.split('#').next().unwrap_or("");
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) if rest.as_bytes()[i] == b'?' => (&rest[..i], format!("/{}", &rest[i..])),
            Some(i) => (&rest[..i], rest[i..].to_string()),
            None => (rest, "/".to_string()),
        };
        if authority.contains('@') {
            return Err(bad("user names in URLs are not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (h, p) = v6.split_once(']').ok_or_else(|| bad("unclosed '['"))?;
            (h, p.strip_prefix(':'))
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match port {
            Some(p) => p.parse().map_err(|_| bad("bad port"))?,
            None if https => 443,
            None => 80,
        };
        Ok(Self { https, host: host.to_string(), port, path })
    }

    /// `host[:port]` as the Host header wants it.
    pub fn authority(&self) -> String {
        let host = if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() };
        if self.port == if self.https { 443 } else { 80 } { host } else { format!("{host}:{}", self.port) }
    }

    /// This URL with `path` in place of its own (`path` starts with `/`, may hold a query).
    pub fn with_path(&self, path: &str) -> Self {
        Self { path: path.to_string(), ..self.clone() }
    }

    /// This URL with `base_path` joined below its own path (one `/` between them).
    pub fn join(&self, base_path: &str) -> Self {
        let own = self.path.split('?').next().unwrap_or("").trim_end_matches('/');
        self.with_path(&format!("{own}/{}", base_path.trim_start_matches('/')))
    }

    /// This URL with `key=value` pairs added to its query (values percent-encoded).
    pub fn with_query(&self, pairs: &[(&str, &str)]) -> Self {
        let mut path = self.path.clone();
        for (k, v) in pairs {
            path.push(if path.contains('?') { '&' } else { '?' });
            path.push_str(k);
            path.push('=');
            path.push_str(&encode(v));
        }
        self.with_path(&path)
    }
}

impl fmt::Display for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Without the query: it may name identities, and is noise in messages.
        let path = self.path.split('?').next().unwrap_or("");
        write!(f, "{}://{}{path}", if self.https { "https" } else { "http" }, self.authority())
    }
}

impl fmt::Debug for Url {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn encode(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || b"-._~".contains(&b) {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// An `application/x-www-form-urlencoded` body.
pub fn form(pairs: &[(&str, &str)]) -> zeroize::Zeroizing<String> {
    let mut out = zeroize::Zeroizing::new(String::new());
    for (k, v) in pairs {
        if !out.is_empty() {
            out.push('&');
        }
        out.push_str(&encode(k));
        out.push('=');
        out.push_str(&encode(v));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_joins() {
        let u = Url::parse("http://169.254.169.254").unwrap();
        assert_eq!((u.https, u.port, u.path.as_str()), (false, 80, "/"));
        let t = u.join("/metadata/identity/oauth2/token").with_query(&[("resource", "https://storage.azure.com")]);
        assert_eq!(t.path, "/metadata/identity/oauth2/token?resource=https%3A%2F%2Fstorage.azure.com");
        assert_eq!(t.to_string(), "http://169.254.169.254/metadata/identity/oauth2/token");
        let s = Url::parse("https://[::1]:8443/?restype=service").unwrap();
        assert_eq!((s.host.as_str(), s.port, s.authority()), ("::1", 8443, "[::1]:8443".to_string()));
        assert_eq!(Url::parse("https://acct.file.core.windows.net?x=1").unwrap().path, "/?x=1");
        assert!(Url::parse("ftp://x").is_err());
        assert!(Url::parse("https://:443/").is_err());
        assert!(Url::parse("https://h:99999/").is_err());
    }

    #[test]
    fn form_encodes() {
        assert_eq!(
            *form(&[("scope", "https://storage.azure.com/.default"), ("a b", "c&d")]),
            "scope=https%3A%2F%2Fstorage.azure.com%2F.default&a%20b=c%26d"
        );
    }
}
