//! The subset of MIT `krb5.conf` that a client needs: `[libdefaults]` (default_realm,
//! dns_canonicalize_hostname, rdns, default_ccache_name, permitted_enctypes, ...), `[realms]`
//! (kdc, http_anchors) and `[domain_realm]`. `KRB5_CONFIG` is a colon-separated list, read in
//! order; as in MIT, the first file that sets a single-valued relation wins.

use keyless_crypto::EncType;
use std::collections::BTreeMap;

/// A parsed profile: section -> tag -> values, with `[realms]` one level deeper.
#[derive(Clone, Debug, Default)]
pub struct Krb5Conf {
    libdefaults: BTreeMap<String, Vec<String>>,
    realms: BTreeMap<String, BTreeMap<String, Vec<String>>>,
    domain_realm: Vec<(String, String)>,
}

impl Krb5Conf {
    /// Parses one file's text into a new profile.
    ///
    /// # Errors
    /// A message with the line number.
    pub fn parse(text: &str) -> Result<Self, String> {
        let mut conf = Self::default();
        conf.merge(text)?;
        Ok(conf)
    }

    /// Adds a file's relations after those already present.
    pub(crate) fn merge(&mut self, text: &str) -> Result<(), String> {
        let mut section = String::new();
        let mut realm: Option<String> = None;
        for (n, raw) in text.lines().enumerate() {
            let line = raw.trim();
            if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
                continue;
            }
            if let Some(name) = line.strip_prefix('[') {
                section = name.split(']').next().unwrap_or("").trim().to_string();
                realm = None;
                continue;
            }
            if line == "}" || line == "}*" {
                realm = None;
                continue;
            }
            let (tag, value) = line.split_once('=').ok_or_else(|| format!("line {}: expected 'tag = value'", n + 1))?;
            let (tag, value) = (tag.trim().to_string(), value.trim().trim_end_matches('*').trim().to_string());
            if value == "{" {
                if section == "realms" {
                    realm = Some(tag);
                }
                continue;
            }
            match (section.as_str(), realm.as_ref()) {
                ("libdefaults", _) => self.libdefaults.entry(tag).or_default().push(value),
                ("realms", Some(r)) => self.realms.entry(r.clone()).or_default().entry(tag).or_default().push(value),
                ("domain_realm", _) => self.domain_realm.push((tag.to_lowercase(), value)),
                _ => {}
            }
        }
        Ok(())
    }

    fn libdefault(&self, tag: &str) -> Option<&str> {
        self.libdefaults.get(tag).and_then(|v| v.first()).map(String::as_str)
    }

    fn flag(&self, tag: &str, default: bool) -> bool {
        match self.libdefault(tag).map(str::to_ascii_lowercase).as_deref() {
            Some("true" | "yes" | "on" | "1") => true,
            Some("false" | "no" | "off" | "0") => false,
            _ => default,
        }
    }

    /// `default_realm`.
    pub fn default_realm(&self) -> Option<&str> {
        self.libdefault("default_realm")
    }

    /// `dns_canonicalize_hostname` (MIT's default: true; "fallback" counts as true).
    pub fn dns_canonicalize_hostname(&self) -> bool {
        self.libdefault("dns_canonicalize_hostname")
            .map(|v| !matches!(v.to_ascii_lowercase().as_str(), "false" | "no" | "off" | "0"))
            .unwrap_or(true)
    }

    /// `rdns` (default true).
    pub fn rdns(&self) -> bool {
        self.flag("rdns", true)
    }

    /// `udp_preference_limit`: messages longer than this go to a KDC over TCP first (MIT's
    /// meaning; 1 sends everything over TCP).
    pub fn udp_preference_limit(&self) -> Option<usize> {
        self.libdefault("udp_preference_limit")?.trim().parse().ok()
    }

    /// `kcm_socket`: where the KCM daemon listens (MIT's default when unset).
    pub fn kcm_socket(&self) -> std::path::PathBuf {
        self.libdefault("kcm_socket").unwrap_or(crate::ccache::kcm::DEFAULT_SOCKET).into()
    }

    /// `default_ccache_name`.
    pub fn default_ccache_name(&self) -> Option<&str> {
        self.libdefault("default_ccache_name")
    }

    /// `permitted_enctypes` (falls back to `default_tkt_enctypes`), as the enctypes keyless
    /// supports, in the order given; all supported ones when unset.
    pub fn permitted_enctypes(&self) -> Vec<EncType> {
        let Some(list) = self.libdefault("permitted_enctypes").or_else(|| self.libdefault("default_tkt_enctypes"))
        else {
            return keyless_crypto::SUPPORTED.to_vec();
        };
        let mut out = Vec::new();
        for name in list.split([' ', ',', '\t']).filter(|n| !n.is_empty()) {
            for e in enctypes_named(name) {
                if !out.contains(&e) {
                    out.push(e);
                }
            }
        }
        out
    }

    /// Whether RC4 may be used (`allow_rc4`, or `allow_weak_crypto`).
    pub fn allow_rc4(&self) -> bool {
        self.flag("allow_rc4", false) || self.flag("allow_weak_crypto", false)
    }

    /// The realms that have a `[realms]` section.
    pub fn realm_names(&self) -> impl Iterator<Item = &str> {
        self.realms.keys().map(String::as_str)
    }

    /// The `kdc` relations of a realm, in order.
    pub fn kdcs(&self, realm: &str) -> Vec<String> {
        self.realms.get(realm).and_then(|r| r.get("kdc")).cloned().unwrap_or_default()
    }

    /// A realm relation, e.g. `http_anchors`.
    pub fn realm_values(&self, realm: &str, tag: &str) -> Vec<String> {
        self.realms.get(realm).and_then(|r| r.get(tag)).cloned().unwrap_or_default()
    }

    /// The realm of a host by `[domain_realm]`: an exact entry, else the longest `.suffix`.
    pub fn realm_for_host(&self, host: &str) -> Option<&str> {
        let host = host.to_lowercase();
        if let Some((_, r)) = self.domain_realm.iter().find(|(d, _)| *d == host) {
            return Some(r);
        }
        self.domain_realm
            .iter()
            .filter(|(d, _)| d.starts_with('.') && (host.ends_with(d.as_str()) || host == d[1..]))
            .max_by_key(|(d, _)| d.len())
            .map(|(_, r)| r.as_str())
    }
}

/// Enctypes for a name or family as krb5.conf writes them (MIT `krb5_string_to_enctype` names).
pub fn enctypes_named(name: &str) -> Vec<EncType> {
    let n = name.trim_start_matches('+').to_ascii_lowercase();
    match n.as_str() {
        "aes256-cts-hmac-sha1-96" | "aes256-cts" | "aes256-sha1" => vec![EncType::AES256_CTS_HMAC_SHA1_96],
        "aes128-cts-hmac-sha1-96" | "aes128-cts" | "aes128-sha1" => vec![EncType::AES128_CTS_HMAC_SHA1_96],
        "aes256-cts-hmac-sha384-192" | "aes256-sha2" => vec![EncType::AES256_CTS_HMAC_SHA384_192],
        "aes128-cts-hmac-sha256-128" | "aes128-sha2" => vec![EncType::AES128_CTS_HMAC_SHA256_128],
        "arcfour-hmac" | "rc4-hmac" | "arcfour-hmac-md5" | "rc4" => vec![EncType::RC4_HMAC],
        "aes" => vec![
            EncType::AES256_CTS_HMAC_SHA1_96,
            EncType::AES128_CTS_HMAC_SHA1_96,
            EncType::AES256_CTS_HMAC_SHA384_192,
            EncType::AES128_CTS_HMAC_SHA256_128,
        ],
        "default" => keyless_crypto::SUPPORTED.to_vec(),
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SAMPLE: &str = "
[libdefaults]
    default_realm = EXAMPLE.TEST
    dns_canonicalize_hostname = false
    rdns = false
    permitted_enctypes = aes256-cts-hmac-sha1-96 aes128-sha2 arcfour-hmac
# comment
[realms]
    EXAMPLE.TEST = {
        kdc = 127.0.0.1:8888
        kdc = tcp/127.0.0.2
    }
    OTHER.TEST = {
        kdc = https://proxy.example/KdcProxy
    }
[domain_realm]
    .example.test = EXAMPLE.TEST
    files.other.test = OTHER.TEST
    .file.core.windows.net = KERBEROS.MICROSOFTONLINE.COM
";

    #[test]
    fn parses_the_subset() {
        let c = Krb5Conf::parse(SAMPLE).unwrap();
        assert_eq!(c.default_realm(), Some("EXAMPLE.TEST"));
        assert!(!c.dns_canonicalize_hostname());
        assert!(!c.rdns());
        assert_eq!(c.kdcs("EXAMPLE.TEST"), ["127.0.0.1:8888", "tcp/127.0.0.2"]);
        assert_eq!(c.kdcs("OTHER.TEST"), ["https://proxy.example/KdcProxy"]);
        assert_eq!(
            c.permitted_enctypes(),
            [EncType::AES256_CTS_HMAC_SHA1_96, EncType::AES128_CTS_HMAC_SHA256_128, EncType::RC4_HMAC]
        );
        assert_eq!(c.realm_for_host("a.example.test"), Some("EXAMPLE.TEST"));
        assert_eq!(c.realm_for_host("files.other.test"), Some("OTHER.TEST"));
        assert_eq!(c.realm_for_host("acct.file.core.windows.net"), Some("KERBEROS.MICROSOFTONLINE.COM"));
        assert_eq!(c.realm_for_host("elsewhere.org"), None);
    }
}
