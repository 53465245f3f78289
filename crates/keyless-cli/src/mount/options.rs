//! `-o` mount options, as `mount.cifs` spells them where they mean the same.

use std::time::Duration;

/// What `-o` set.
#[derive(Debug, Clone)]
pub struct MountOptions {
    /// `ro`: refuse every change.
    pub read_only: bool,
    /// `uid=`: owner of every file (default: the mounting user).
    pub uid: u32,
    /// `gid=`: group of every file.
    pub gid: u32,
    /// `file_mode=` (octal, default 0644).
    pub file_mode: u32,
    /// `dir_mode=` (octal, default 0755).
    pub dir_mode: u32,
    /// `cache=SECONDS` or `cache=none`: how long metadata is trusted (default 1 s).
    pub cache: Duration,
    /// `allow_other`: other users may use the mount (root mounts for everyone).
    pub allow_other: bool,
    /// `noperm`: the kernel does not check modes and owners (every local user who may use
    /// the mount gets the mounting credential's access, as cifs `noperm`).
    pub noperm: bool,
}

impl MountOptions {
    /// Parses `-o a,b=c` lists (given once or several times).
    ///
    /// # Errors
    /// One line naming the option that is unknown or malformed.
    pub fn parse(lists: &[String], uid: u32, gid: u32) -> Result<Self, String> {
        let mut o = Self {
            read_only: false,
            uid,
            gid,
            file_mode: 0o644,
            dir_mode: 0o755,
            cache: Duration::from_secs(1),
            allow_other: false,
            noperm: false,
        };
        for opt in lists.iter().flat_map(|l| l.split(',')).filter(|s| !s.is_empty()) {
            let (key, value) = opt.split_once('=').map_or((opt, None), |(k, v)| (k, Some(v)));
            let bad = || {
                format!("-o {opt}: expected {key}=<{}>", if key.ends_with("mode") { "octal mode" } else { "number" })
            };
            let number = |radix| value.and_then(|v| u32::from_str_radix(v, radix).ok()).ok_or_else(bad);
            match key {
                "ro" => o.read_only = true,
                "rw" => o.read_only = false,
                "uid" => o.uid = number(10)?,
                "gid" => o.gid = number(10)?,
                "file_mode" => o.file_mode = number(8)? & 0o7777,
                "dir_mode" => o.dir_mode = number(8)? & 0o7777,
                "allow_other" => o.allow_other = true,
                "noperm" => o.noperm = true,
                "perm" => o.noperm = false,
                "cache" => {
                    o.cache = match value {
                        Some("none") => Duration::ZERO,
                        Some(v) => Duration::from_secs_f64(
                            v.parse::<f64>()
                                .ok()
                                .filter(|s| s.is_finite() && *s >= 0.0)
                                .ok_or_else(|| format!("-o {opt}: expected cache=<seconds> or cache=none"))?,
                        ),
                        None => return Err(format!("-o {opt}: expected cache=<seconds> or cache=none")),
                    }
                }
                _ => {
                    return Err(format!(
                        "-o {opt}: unknown option (known: ro, rw, uid=, gid=, file_mode=, dir_mode=, cache=, allow_other, noperm)"
                    ));
                }
            }
        }
        Ok(o)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cifs_style_options() {
        let o = MountOptions::parse(&["ro,uid=1000".into(), "file_mode=0600,dir_mode=700,cache=none".into()], 0, 0)
            .unwrap();
        assert!(o.read_only);
        assert_eq!((o.uid, o.gid, o.file_mode, o.dir_mode, o.cache), (1000, 0, 0o600, 0o700, Duration::ZERO));
        assert_eq!(MountOptions::parse(&["cache=2.5".into()], 0, 0).unwrap().cache, Duration::from_millis(2500));
        assert!(MountOptions::parse(&["uid=me".into()], 0, 0).unwrap_err().contains("uid=<number>"));
        assert!(MountOptions::parse(&["nosuchthing".into()], 0, 0).unwrap_err().contains("unknown option"));
        assert!(MountOptions::parse(&["noperm".into()], 0, 0).unwrap().noperm);
    }
}
