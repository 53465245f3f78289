//! Kerberos principal names (RFC 4120 5.2.2, 6.2) and their text form `comp/comp@REALM`, with
//! MIT's escaping of `/`, `@` and `\` inside components.

use crate::Error;
use rasn::types::GeneralString;
use rasn_kerberos::PrincipalName;
use std::fmt;

keyless_wire_enum::wire_enum! {
    /// Name types (RFC 4120 6.2).
    #[derive(Default)]
    pub struct NameType(i32) {
        /// NT-UNKNOWN.
        UNKNOWN = 0 => "NT-UNKNOWN",
        /// NT-PRINCIPAL: a user.
        PRINCIPAL = 1 => "NT-PRINCIPAL",
        /// NT-SRV-INST: a service instance such as krbtgt.
        SRV_INST = 2 => "NT-SRV-INST",
        /// NT-SRV-HST: a service with the host name as instance.
        SRV_HST = 3 => "NT-SRV-HST",
        /// NT-ENTERPRISE (RFC 6806).
        ENTERPRISE = 10 => "NT-ENTERPRISE",
    }
}

/// A principal: realm, name type and name components.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Principal {
    /// The realm.
    pub realm: String,
    /// The name type (a hint; not part of name equality in Kerberos).
    pub name_type: NameType,
    /// The components, e.g. `["cifs", "files.example.test"]`.
    pub components: Vec<String>,
}

impl Principal {
    /// Parses `comp[/comp...][@REALM]`; a name without a realm takes `default_realm`.
    ///
    /// # Errors
    /// [`Error::BadPrincipal`] for an empty name or component, a trailing escape, or no realm.
    pub fn parse(text: &str, default_realm: Option<&str>) -> Result<Self, Error> {
        let bad = |why: &'static str| Error::BadPrincipal { text: text.to_string(), why };
        let mut components = vec![String::new()];
        let mut realm: Option<String> = None;
        let mut chars = text.chars();
        while let Some(c) = chars.next() {
            let ch = match c {
                '\\' => match chars.next().ok_or_else(|| bad("ends in a lone backslash"))? {
                    'n' => '\n',
                    't' => '\t',
                    '0' => '\0',
                    other => other,
                },
                '/' if realm.is_none() => {
                    components.push(String::new());
                    continue;
                }
                '@' if realm.is_none() => {
                    realm = Some(String::new());
                    continue;
                }
                '@' => return Err(bad("unescaped '@' in the realm")),
                other => other,
            };
            match realm.as_mut() {
                Some(r) => r.push(ch),
                None => components.last_mut().ok_or_else(|| bad("empty"))?.push(ch),
            }
        }
        if components.iter().any(String::is_empty) {
            return Err(bad("empty name component"));
        }
        let realm = match realm {
            Some(r) if !r.is_empty() => r,
            Some(_) => return Err(bad("empty realm")),
            None => default_realm
                .map(str::to_string)
                .ok_or_else(|| bad("no realm given and no default_realm configured"))?,
        };
        let name_type = if components.len() > 1 && components[0] == "krbtgt" {
            NameType::SRV_INST
        } else if components.len() > 1 {
            NameType::SRV_HST
        } else {
            NameType::PRINCIPAL
        };
        Ok(Self { realm, name_type, components })
    }

    /// `service/host@realm` with NT-SRV-HST.
    pub fn service(service: &str, host: &str, realm: &str) -> Self {
        Self { realm: realm.into(), name_type: NameType::SRV_HST, components: vec![service.into(), host.into()] }
    }

    /// `krbtgt/target@issuer`: the TGS of `target`, as issued by `issuer`'s KDC.
    pub fn krbtgt(target: &str, issuer: &str) -> Self {
        Self { realm: issuer.into(), name_type: NameType::SRV_INST, components: vec!["krbtgt".into(), target.into()] }
    }

    /// Whether this names a ticket-granting service (`krbtgt/...`).
    pub fn is_krbtgt(&self) -> bool {
        self.components.len() == 2 && self.components[0] == "krbtgt"
    }

    /// For `krbtgt/X@Y`, the realm X whose TGS it reaches.
    pub fn krbtgt_target(&self) -> Option<&str> {
        self.is_krbtgt().then(|| self.components[1].as_str())
    }

    /// Name equality as Kerberos defines it: components and realm, not the name type.
    pub fn same_name(&self, other: &Principal) -> bool {
        self.realm == other.realm && self.components == other.components
    }

    /// The default salt for password keys (RFC 4120 4): realm then components, no separators.
    pub fn default_salt(&self) -> Vec<u8> {
        let mut salt = self.realm.as_bytes().to_vec();
        for c in &self.components {
            salt.extend_from_slice(c.as_bytes());
        }
        salt
    }

    /// The ASN.1 PrincipalName (the realm travels separately).
    ///
    /// # Errors
    /// [`Error::BadPrincipal`] when a component holds control characters.
    pub fn to_asn1(&self) -> Result<PrincipalName, Error> {
        let string = self
            .components
            .iter()
            .map(|c| {
                GeneralString::from_bytes(c.as_bytes()).map_err(|_| Error::BadPrincipal {
                    text: self.to_string(),
                    why: "control characters in a component",
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(PrincipalName { r#type: self.name_type.0, string })
    }

    /// From a decoded PrincipalName and its realm.
    pub fn from_asn1(realm: &GeneralString, name: &PrincipalName) -> Self {
        Self {
            realm: String::from_utf8_lossy(realm.as_bytes()).into_owned(),
            name_type: NameType(name.r#type),
            components: name.string.iter().map(|c| String::from_utf8_lossy(c.as_bytes()).into_owned()).collect(),
        }
    }
}

/// The realm as an ASN.1 KerberosString.
///
/// # Errors
/// [`Error::BadPrincipal`] when the realm holds control characters.
pub fn realm_asn1(realm: &str) -> Result<GeneralString, Error> {
    GeneralString::from_bytes(realm.as_bytes())
        .map_err(|_| Error::BadPrincipal { text: realm.to_string(), why: "control characters in the realm" })
}

fn escape(f: &mut fmt::Formatter<'_>, text: &str, in_realm: bool) -> fmt::Result {
    for c in text.chars() {
        match c {
            '\\' => f.write_str("\\\\")?,
            '@' => f.write_str("\\@")?,
            '/' if !in_realm => f.write_str("\\/")?,
            '\n' => f.write_str("\\n")?,
            '\t' => f.write_str("\\t")?,
            '\0' => f.write_str("\\0")?,
            other => write!(f, "{other}")?,
        }
    }
    Ok(())
}

impl fmt::Display for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, c) in self.components.iter().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            escape(f, c, false)?;
        }
        f.write_str("@")?;
        escape(f, &self.realm, true)
    }
}

impl fmt::Debug for Principal {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Principal({self})")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_print() {
        let p = Principal::parse("cifs/files.example.test@EXAMPLE.TEST", None).unwrap();
        assert_eq!(p.components, ["cifs", "files.example.test"]);
        assert_eq!(p.realm, "EXAMPLE.TEST");
        assert_eq!(p.to_string(), "cifs/files.example.test@EXAMPLE.TEST");
        let u = Principal::parse("alice", Some("EXAMPLE.TEST")).unwrap();
        assert_eq!(u.to_string(), "alice@EXAMPLE.TEST");
        assert_eq!(u.name_type, NameType::PRINCIPAL);
        let e = Principal::parse("a\\/b\\@c@R", None).unwrap();
        assert_eq!(e.components, ["a/b@c"]);
        assert_eq!(e.to_string(), "a\\/b\\@c@R");
    }

    #[test]
    fn rejects_malformed() {
        for bad in ["", "a//b@R", "a@", "trailing\\", "a@R@S", "a@R\\"] {
            assert!(Principal::parse(bad, Some("R")).is_err(), "{bad}");
        }
        assert!(Principal::parse("alice", None).is_err());
    }

    #[test]
    fn default_salt_is_realm_then_components() {
        let p = Principal::parse("host/a.example@EXAMPLE.TEST", None).unwrap();
        assert_eq!(p.default_salt(), b"EXAMPLE.TESThosta.example");
    }
}
