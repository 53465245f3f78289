//! The Linux kernel's `cifs.spnego` request-key upcall, both halves, without I/O: the key
//! description the kernel writes (fs/smb/client/cifs_spnego.c, `cifs_get_spnego_key`) and the
//! payload it expects back (`struct cifs_spnego_msg`: version 2, flags, session key length,
//! security blob length, then both, in the host's byte order).
//!
//! A description reads `ver=0x2;host=files.example.com;ip4=10.0.0.5;sec=krb5;uid=0x3e8;
//! creduid=0x3e8;user=alice;pid=0x4d2`, with `upcall_target=mount|app` on kernels that send it.

use std::fmt;

/// `CIFS_SPNEGO_UPCALL_VERSION`.
pub const UPCALL_VERSION: u32 = 2;

/// What the kernel asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Request {
    /// `ver`.
    pub version: u32,
    /// `host`: the server name the mount was given.
    pub host: String,
    /// `ip4` or `ip6`: the address connected to.
    pub ip: Option<String>,
    /// `sec`: `krb5`, `mskrb5` or `iakerb`.
    pub sec: String,
    /// `uid`: the mount's owner (or the accessing user on a multiuser mount).
    pub uid: u32,
    /// `creduid`: whose credentials to use (`cruid=` on the mount).
    pub creduid: u32,
    /// `user`: the mount's user name, if given.
    pub user: Option<String>,
    /// `pid`: the process that caused the upcall (its environment may name the cache).
    pub pid: Option<u32>,
    /// `upcall_target`: `mount` (the mounting process's namespaces) or `app`.
    pub upcall_target: Option<String>,
}

/// A description the kernel would not write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadRequest(pub String);

impl fmt::Display for BadRequest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "cifs.spnego key description: {}", self.0)
    }
}

impl BadRequest {
    /// Which family of failure this is: always a message that does not decode.
    pub fn kind(&self) -> crate::ErrorKind {
        crate::ErrorKind::InvalidMessage
    }
}

impl std::error::Error for BadRequest {}

fn hex(field: &str, value: &str) -> Result<u32, BadRequest> {
    let digits = value.strip_prefix("0x").unwrap_or(value);
    u32::from_str_radix(digits, 16).map_err(|_| BadRequest(format!("{field}={value}: not a hexadecimal number")))
}

impl Request {
    /// Parses a key description (the part after `keyctl describe`'s `type;uid;gid;perm;`).
    ///
    /// # Errors
    /// [`BadRequest`] naming the missing or malformed field.
    pub fn parse(description: &str) -> Result<Self, BadRequest> {
        let mut r = Self {
            version: 0,
            host: String::new(),
            ip: None,
            sec: String::new(),
            uid: 0,
            creduid: u32::MAX,
            user: None,
            pid: None,
            upcall_target: None,
        };
        let (mut have_ver, mut have_uid) = (false, false);
        let mut seen: Vec<&str> = Vec::new();
        for field in description.split(';').filter(|f| !f.is_empty()) {
            let (key, value) = field.split_once('=').ok_or_else(|| BadRequest(format!("{field}: no '='")))?;
            // The kernel writes `user=` unescaped: a name holding `;creduid=0x0` must not win.
            if seen.contains(&key) {
                return Err(BadRequest(format!("{key} given twice")));
            }
            seen.push(key);
            match key {
                "ver" => (r.version, have_ver) = (hex(key, value)?, true),
                "host" => r.host = value.to_string(),
                "ip4" | "ip6" => r.ip = Some(value.to_string()),
                "sec" => r.sec = value.to_string(),
                "uid" => (r.uid, have_uid) = (hex(key, value)?, true),
                "creduid" => r.creduid = hex(key, value)?,
                "user" => r.user = Some(value.to_string()),
                "pid" => r.pid = Some(hex(key, value)?),
                "upcall_target" => r.upcall_target = Some(value.to_string()),
                _ => {} // fields of later kernels
            }
        }
        if !have_ver {
            return Err(BadRequest("no ver".into()));
        }
        if r.version > UPCALL_VERSION {
            return Err(BadRequest(format!("version {} (keyless speaks up to {UPCALL_VERSION})", r.version)));
        }
        if r.host.is_empty() || !r.host.bytes().all(|b| b.is_ascii_alphanumeric() || b"-._".contains(&b)) {
            return Err(BadRequest(format!("host {:?}: not a host name", r.host)));
        }
        if !have_uid {
            return Err(BadRequest("no uid".into()));
        }
        if r.creduid == u32::MAX {
            r.creduid = r.uid;
        }
        Ok(r)
    }

    /// Whether Kerberos is asked for (`sec=krb5` or `mskrb5`); keyless does not do IAKERB.
    pub fn wants_kerberos(&self) -> bool {
        self.sec == "krb5" || self.sec == "mskrb5"
    }
}

/// The key payload the kernel reads: `cifs_spnego_msg` with the session key and the SPNEGO blob.
pub fn reply(session_key: &[u8], blob: &[u8]) -> zeroize::Zeroizing<Vec<u8>> {
    let mut out = zeroize::Zeroizing::new(Vec::with_capacity(16 + session_key.len() + blob.len()));
    let len = |n: usize| u32::try_from(n).unwrap_or(u32::MAX).to_ne_bytes();
    out.extend_from_slice(&UPCALL_VERSION.to_ne_bytes());
    out.extend_from_slice(&0u32.to_ne_bytes());
    out.extend_from_slice(&len(session_key.len()));
    out.extend_from_slice(&len(blob.len()));
    out.extend_from_slice(session_key);
    out.extend_from_slice(blob);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_6_1_kernel_description_parses() {
        let r = Request::parse(
            "ver=0x2;host=files.example.test;ip4=10.0.2.100;sec=krb5;uid=0x3e8;creduid=0x3e9;user=alice;pid=0x4d2",
        )
        .unwrap();
        assert_eq!(r.host, "files.example.test");
        assert_eq!((r.uid, r.creduid, r.pid), (1000, 1001, Some(1234)));
        assert_eq!(r.ip.as_deref(), Some("10.0.2.100"));
        assert!(r.wants_kerberos());
        let r = Request::parse("ver=0x2;host=h;ip6=::1;sec=krb5;uid=0x0;pid=0x1;upcall_target=mount").unwrap();
        assert_eq!((r.creduid, r.upcall_target.as_deref()), (0, Some("mount")));
    }

    #[test]
    fn malformed_descriptions_name_the_field() {
        for (d, what) in [
            ("host=h;uid=0x0", "no ver"),
            ("ver=0x2;host=h;uid=zz", "uid=zz"),
            ("ver=0x2;host=a/b;uid=0x0", "not a host name"),
            ("ver=0x3;host=h;uid=0x0", "version 3"),
            ("ver=0x2;host=h", "no uid"),
            ("ver=0x2;junk;uid=0", "junk"),
            ("ver=0x2;host=h;uid=0x3e8;creduid=0x3e8;user=x;creduid=0x0", "creduid given twice"),
        ] {
            let e = Request::parse(d).unwrap_err().to_string();
            assert!(e.contains(what), "{d}: {e}");
        }
    }

    #[test]
    fn the_reply_is_the_kernels_struct() {
        let r = reply(&[1; 16], &[2, 3]);
        assert_eq!(&r[..16], [2u32, 0, 16, 2].map(u32::to_ne_bytes).concat());
        assert_eq!(&r[16..], [[1u8; 16].as_slice(), &[2, 3]].concat());
    }
}
