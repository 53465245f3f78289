//! DFS referrals from the client's side (MS-DFSC 3.1): asking a server for the referral of a
//! path, and the referral cache that turns a path into the targets to try, in the server's
//! order, for as long as each answer's TTL allows. The cache is sans-IO: time is passed in.

use crate::client::Session;
use crate::error::Error;
use keyless_smb::dfs::{ReferralRequest, ReferralRequestEx, ReferralResponse, Target};
use keyless_smb::ioctl::{CtlCode, IOCTL_IS_FSCTL, IoctlRequest, IoctlResponse};
use keyless_smb::{Dialect, Message, NtStatus, WireError};
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

/// The highest referral version keyless reads.
pub const MAX_REFERRAL_LEVEL: u16 = 4;

/// Bytes of referral keyless takes in one answer (servers fit as many targets as it allows);
/// an answer that did not fit (STATUS_BUFFER_OVERFLOW) is asked again with room for 64 KiB.
const REFERRAL_BYTES: [u32; 2] = [16 * 1024, 65_535];

/// STATUS_FS_DRIVER_REQUIRED: what Samba answers a control code it does not serve on IPC$,
/// the EX form among them.
const FS_DRIVER_REQUIRED: NtStatus = NtStatus(0xC000_019C);

impl Session {
    /// The referral for `path` (`\server\share[\path]`, or `\domain[\namespace]`), asked on
    /// the server's IPC$ share (MS-SMB2 3.2.4.20.3).
    ///
    /// # Errors
    /// [`Error::Status`] as the server answers (NOT_FOUND for a path in no namespace), and
    /// [`Error::Wire`] for a referral that does not decode.
    pub async fn dfs_referral(&self, path: &str) -> Result<ReferralResponse, Error> {
        self.dfs_referral_in_site(path, None).await
    }

    /// [`Self::dfs_referral`] for a client in the Active Directory site `site`: asked in the
    /// EX form, which carries the site so the server lists the targets nearest first, where
    /// the server offers it (SMB 3.x, MS-DFSC 3.1.4.2); in the plain form on older dialects
    /// and, from then on, on a server that refused the EX form (Samba does).
    ///
    /// # Errors
    /// As [`Self::dfs_referral`].
    pub async fn dfs_referral_in_site(&self, path: &str, site: Option<&str>) -> Result<ReferralResponse, Error> {
        let extended = site.is_some()
            && self.info().negotiated.dialect.0 >= Dialect::SMB_30.0
            && !self.referrals_ex_refused().load(Ordering::Relaxed);
        if extended {
            let input = ReferralRequestEx {
                max_level: MAX_REFERRAL_LEVEL,
                path: path.to_string(),
                site: site.map(str::to_string),
            }
            .to_bytes()?;
            match self.referral_ioctl(CtlCode::DFS_GET_REFERRALS_EX, &input).await {
                Err(e)
                    if matches!(
                        e.status(),
                        Some(FS_DRIVER_REQUIRED | NtStatus::NOT_SUPPORTED | NtStatus::INVALID_DEVICE_REQUEST)
                    ) =>
                {
                    self.referrals_ex_refused().store(true, Ordering::Relaxed);
                }
                answer => return answer,
            }
        }
        let input = ReferralRequest { max_level: MAX_REFERRAL_LEVEL, path: path.to_string() }.to_bytes();
        self.referral_ioctl(CtlCode::DFS_GET_REFERRALS, &input).await
    }

    /// One referral IOCTL on IPC$, asked again with more room when the answer did not fit.
    async fn referral_ioctl(&self, code: CtlCode, input: &[u8]) -> Result<ReferralResponse, Error> {
        let ipc = self.tree_connect("IPC$").await?;
        let mut answer = None;
        for max_output_response in REFERRAL_BYTES {
            let request = IoctlRequest {
                ctl_code: code,
                file_id: [0xFF; 16],
                max_input_response: 0,
                max_output_response,
                flags: IOCTL_IS_FSCTL,
                input,
            };
            let got = self
                .call(crate::proto::Request::new(&request, ipc.target())?.payload(max_output_response as usize))
                .await?;
            if got.response.status() != NtStatus::BUFFER_OVERFLOW {
                answer = Some(got);
                break;
            }
        }
        let Some(answer) = answer else {
            return Err(Error::Status { command: keyless_smb::Command::IOCTL, status: NtStatus::BUFFER_OVERFLOW });
        };
        answer.response.check()?;
        let output = IoctlResponse::parse(answer.response.bytes())?.output;
        Ok(ReferralResponse::parse(output)?)
    }
}

/// The path prefix a referral answers for (`\server\share[\...]`), as PathConsumed names it.
pub fn answered_prefix(path: &str, answer: &ReferralResponse) -> Option<String> {
    consumed(path, answer.path_consumed)
}

/// A domain's name and its DCs, as a DC referral (asked for `\domain`) names them; a domain
/// referral (asked with an empty path) names domains alone, with no DCs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DomainNames {
    /// `\domain`, as the server spells it.
    pub domain: String,
    /// `\dc` for each of its DCs, in the server's order.
    pub dcs: Vec<String>,
}

/// The name lists of a domain or DC referral.
///
/// # Errors
/// [`Unusable::NoTarget`] when it lists none, and [`Unusable::NotNameList`] when it names
/// targets instead (a server that took the name for one of its own shares).
pub fn domain_names(answer: &ReferralResponse) -> Result<Vec<DomainNames>, Unusable> {
    let mut names = Vec::new();
    for e in &answer.entries {
        match &e.target {
            Target::NameList { special_name, expanded } => names.push(DomainNames {
                domain: special_name.clone(),
                dcs: expanded.iter().filter(|n| !n.trim_matches('\\').is_empty()).cloned().collect(),
            }),
            Target::Path { .. } => return Err(Unusable::NotNameList),
        }
    }
    if names.is_empty() {
        return Err(Unusable::NoTarget);
    }
    Ok(names)
}

/// Where a path leads: the targets to try in turn, and what is left of the path after the
/// part the referral answered for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Resolved {
    /// `\server\share[\path]` of each target, in the server's order.
    pub targets: Vec<String>,
    /// The rest of the path, to append to the target (`\dir\file`, or empty).
    pub rest: String,
    /// Whether the targets are namespace roots (which may hold links of their own).
    pub root: bool,
}

/// One cached answer: the path prefix it answers for, its targets and its end.
#[derive(Debug, Clone)]
struct Entry {
    prefix: String,
    targets: Vec<String>,
    root: bool,
    expires: Instant,
}

/// Referrals by the path prefix they answer for, each kept for its TTL.
#[derive(Debug, Default)]
pub struct ReferralCache {
    entries: Vec<Entry>,
}

/// Why a referral cannot be used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Unusable {
    /// The server answered with no target.
    NoTarget,
    /// PathConsumed is longer than the path asked for, or cuts a name in two.
    BadPathConsumed,
    /// Domain or DC names where targets were asked for.
    NameList,
    /// Targets where domain or DC names were asked for.
    NotNameList,
}

impl std::fmt::Display for Unusable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::NoTarget => "the referral lists no target",
            Self::BadPathConsumed => "the referral's PathConsumed does not fit the path asked for",
            Self::NameList => "a domain referral where targets were asked for",
            Self::NotNameList => "targets where a domain's names were asked for",
        })
    }
}

impl ReferralCache {
    /// Takes the answer to a referral request for `path`, received at `now`.
    ///
    /// # Errors
    /// [`Unusable`] when it names no target or answers for a prefix that is not one of
    /// `path`'s.
    pub fn insert(&mut self, path: &str, answer: &ReferralResponse, now: Instant) -> Result<Resolved, Unusable> {
        let mut targets = Vec::new();
        let mut ttl = u32::MAX;
        let mut root = false;
        for e in &answer.entries {
            match &e.target {
                Target::Path { address, .. } if !address.is_empty() => {
                    targets.push(address.clone());
                    // Version 1 has no TTL: keep it as briefly as a cache may (MS-DFSC 3.1.5.4.3).
                    ttl = ttl.min(if e.version == 1 { 0 } else { e.ttl });
                    root |= e.server_type == keyless_smb::dfs::SERVER_TYPE_ROOT;
                }
                Target::Path { .. } => {}
                Target::NameList { .. } => return Err(Unusable::NameList),
            }
        }
        if targets.is_empty() {
            return Err(Unusable::NoTarget);
        }
        let prefix = consumed(path, answer.path_consumed).ok_or(Unusable::BadPathConsumed)?;
        let expires = now + Duration::from_secs(u64::from(ttl));
        self.entries.retain(|e| !e.prefix.eq_ignore_ascii_case(&prefix));
        self.entries.push(Entry { prefix: prefix.clone(), targets: targets.clone(), root, expires });
        Ok(Resolved { targets, rest: path[prefix.len()..].to_string(), root })
    }

    /// The targets for `path` from an answer still fresh at `now`: the longest cached prefix
    /// of it, matched name by name and without regard to case.
    pub fn lookup(&mut self, path: &str, now: Instant) -> Option<Resolved> {
        self.entries.retain(|e| e.expires > now);
        self.entries.iter().filter(|e| is_prefix(&e.prefix, path)).max_by_key(|e| e.prefix.len()).map(|e| Resolved {
            targets: e.targets.clone(),
            rest: path[e.prefix.len()..].to_string(),
            root: e.root,
        })
    }

    /// Forgets what is known of `path` and below (after its targets failed).
    pub fn forget(&mut self, path: &str) {
        self.entries.retain(|e| !is_prefix(path, &e.prefix));
    }
}

/// Whether `prefix` is `path` or its leading names (`\a\b` of `\a\b\c`, not of `\a\bc`).
fn is_prefix(prefix: &str, path: &str) -> bool {
    path.len() >= prefix.len()
        && path.as_bytes()[..prefix.len()].eq_ignore_ascii_case(prefix.as_bytes())
        && (path.len() == prefix.len() || path.as_bytes()[prefix.len()] == b'\\')
}

/// The part of `path` that PathConsumed (bytes of UTF-16) names, ending at a name's end and
/// holding at least `\server\share` (less would claim every path of every server). Samba and
/// Windows count bytes; some older servers count characters, which is tried next.
fn consumed(path: &str, path_consumed: u16) -> Option<String> {
    let units: Vec<u16> = path.encode_utf16().collect();
    let fits = |n: usize| -> Option<String> {
        let cut = String::from_utf16(units.get(..n)?).ok()?;
        let trimmed = cut.trim_end_matches('\\').to_string();
        let names = trimmed.split('\\').filter(|n| !n.is_empty()).count();
        (names >= 2 && is_prefix(&trimmed, path)).then_some(trimmed)
    };
    let n = usize::from(path_consumed);
    if n % 2 == 0 { fits(n / 2).or_else(|| fits(n)) } else { fits(n) }
}

impl From<Unusable> for WireError {
    fn from(_: Unusable) -> Self {
        WireError::BadValue { field: "RESP_GET_DFS_REFERRAL" }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use keyless_smb::dfs::{Referral, ReferralResponse};

    fn answer(consumed: &str, ttl: u32, targets: &[&str]) -> ReferralResponse {
        ReferralResponse {
            path_consumed: (2 * consumed.encode_utf16().count()) as u16,
            flags: 2,
            entries: targets
                .iter()
                .map(|t| Referral {
                    version: 4,
                    server_type: 0,
                    flags: 0,
                    ttl,
                    target: Target::Path {
                        dfs_path: consumed.into(),
                        alternate_path: consumed.into(),
                        address: (*t).into(),
                    },
                })
                .collect(),
        }
    }

    #[test]
    fn a_link_answers_for_its_prefix_until_its_ttl() {
        let t0 = Instant::now();
        let mut cache = ReferralCache::default();
        let got = cache
            .insert("\\ns\\dfs\\link\\dir\\f.txt", &answer("\\ns\\dfs\\link", 300, &["\\a\\s", "\\b\\s"]), t0)
            .unwrap();
        assert_eq!(
            (got.targets.clone(), got.rest.as_str()),
            (vec!["\\a\\s".to_string(), "\\b\\s".to_string()], "\\dir\\f.txt")
        );
        let again = cache.lookup("\\NS\\dfs\\LINK\\other", t0 + Duration::from_secs(299)).unwrap();
        assert_eq!((again.targets, again.rest.as_str()), (got.targets, "\\other"));
        assert!(cache.lookup("\\ns\\dfs\\linked", t0).is_none(), "a name is matched whole");
        assert!(cache.lookup("\\ns\\dfs\\link", t0 + Duration::from_secs(300)).is_none(), "expired");
    }

    #[test]
    fn the_longest_prefix_wins_and_forget_drops_below() {
        let t0 = Instant::now();
        let mut cache = ReferralCache::default();
        cache.insert("\\ns\\dfs", &answer("\\ns\\dfs", 600, &["\\ns\\dfs"]), t0).unwrap();
        cache.insert("\\ns\\dfs\\link\\x", &answer("\\ns\\dfs\\link", 600, &["\\a\\s"]), t0).unwrap();
        assert_eq!(cache.lookup("\\ns\\dfs\\link\\y", t0).unwrap().targets, ["\\a\\s"]);
        assert_eq!(cache.lookup("\\ns\\dfs\\plain", t0).unwrap().targets, ["\\ns\\dfs"]);
        cache.forget("\\ns\\dfs\\link");
        assert_eq!(cache.lookup("\\ns\\dfs\\link\\y", t0).unwrap().targets, ["\\ns\\dfs"]);
    }

    #[test]
    fn unusable_answers_are_refused() {
        let t0 = Instant::now();
        let mut cache = ReferralCache::default();
        assert_eq!(cache.insert("\\ns\\dfs\\l", &answer("\\ns\\dfs\\l", 1, &[]), t0), Err(Unusable::NoTarget));
        assert_eq!(
            cache.insert("\\ns\\d", &answer("\\ns\\dfs\\l", 1, &["\\a\\s"]), t0),
            Err(Unusable::BadPathConsumed)
        );
        let mut half = answer("\\ns\\dfs\\link", 1, &["\\a\\s"]);
        half.path_consumed = 2 * 7; // the root's part only
        assert_eq!(cache.insert("\\ns\\dfs\\link", &half, t0).map(|r| r.rest), Ok("\\link".to_string()));
        half.path_consumed = 2 * 9; // ends inside a name
        assert_eq!(cache.insert("\\ns\\dfs\\link", &half, t0), Err(Unusable::BadPathConsumed));
    }

    #[test]
    fn dc_referrals_name_a_domain_and_its_dcs() {
        let names = |entries: Vec<Target>| ReferralResponse {
            path_consumed: 0,
            flags: 0,
            entries: entries
                .into_iter()
                .map(|target| Referral { version: 3, server_type: 0, flags: 2, ttl: 600, target })
                .collect(),
        };
        let dc = names(vec![Target::NameList {
            special_name: "\\corp.example.com".into(),
            expanded: vec!["\\dc1.corp.example.com".into(), String::new(), "\\dc2.corp.example.com".into()],
        }]);
        assert_eq!(
            domain_names(&dc),
            Ok(vec![DomainNames {
                domain: "\\corp.example.com".into(),
                dcs: vec!["\\dc1.corp.example.com".into(), "\\dc2.corp.example.com".into()],
            }])
        );
        assert_eq!(domain_names(&names(vec![])), Err(Unusable::NoTarget));
        let targets = answer("\\corp\\files", 1, &["\\a\\s"]);
        assert_eq!(domain_names(&targets), Err(Unusable::NotNameList));
    }

    #[test]
    fn a_referral_answers_for_a_share_at_least() {
        assert_eq!(consumed("\\ns\\dfs\\link", 0), None);
        assert_eq!(consumed("\\ns\\dfs\\link", 2), None);
        assert_eq!(consumed("\\ns\\dfs\\link", 6), None); // "\ns"
        assert_eq!(consumed("\\ns\\dfs\\link", 14).as_deref(), Some("\\ns\\dfs"));
    }

    #[test]
    fn path_consumed_in_characters_is_understood_too() {
        assert_eq!(consumed("\\ns\\dfs\\link\\x", 12).as_deref(), Some("\\ns\\dfs\\link"));
        assert_eq!(consumed("\\ns\\dfs\\link\\x", 24).as_deref(), Some("\\ns\\dfs\\link"));
    }
}
