//! DFS for the file commands: a URL's share may be a DFS namespace whose paths lead to other
//! servers' shares. [`locate`] asks the server for the referral of the path (MS-DFSC), connects
//! to the first target that answers (each with its own authentication: a Kerberos ticket for
//! `cifs/<target>`), and goes on while the target is itself a namespace, up to [`MAX_HOPS`].

use crate::cmd::smb::{Connect, SmbUrl, connect, explain};
use crate::context::Failure;
use keyless_client::dfs::ReferralCache;
use keyless_client::{Client, Tree};
use keyless_smb::NtStatus;
use std::time::Instant;

/// Referrals followed for one path before keyless calls it a loop.
pub const MAX_HOPS: usize = 8;

/// STATUS_NOT_FOUND: the path is in no namespace (MS-DFSC 3.2.5.5).
const NOT_FOUND: NtStatus = NtStatus(0xC000_0225);

/// Where a URL's path is: the share that holds it and the path on that share.
pub struct Located {
    pub client: Client,
    pub tree: Tree,
    /// The path on `tree` (`/`-separated, no leading separator).
    pub path: String,
    /// `\\server\share\path` when referrals moved it, else `None`.
    pub moved_to: Option<String>,
}

/// The share and path that `url` names, following DFS referrals. `--ip`, `--port` and `--spn`
/// apply to the URL's own server only; targets are reached on port 445 by their names.
pub fn locate(c: &Connect, url: &SmbUrl, rt: &tokio::runtime::Runtime) -> Result<Located, Failure> {
    let mut cache = ReferralCache::default();
    let (mut host, mut share) = (url.host.clone(), url.share.clone());
    let mut path = url.path.split(['/', '\\']).filter(|p| !p.is_empty()).collect::<Vec<_>>().join("/");
    let mut client = connect(c, url, rt)?;
    let mut tree = open_share(&client, &host, &share, rt)?;
    let elsewhere = c.for_targets();
    for hop in 0..=MAX_HOPS {
        let here = || Located {
            client: client.clone(),
            tree: tree.clone(),
            path: path.clone(),
            moved_to: (hop > 0).then(|| unc(&host, &share, &path)),
        };
        if !tree.is_dfs() {
            return Ok(here());
        }
        let asked = unc(&host, &share, &path);
        let answer = match rt.block_on(client.session().dfs_referral(&asked)) {
            Ok(a) => a,
            // No link on the path: the share holds it (Samba says OBJECT_PATH_NOT_FOUND, as
            // for a name that is not there at all; the operation itself will tell).
            Err(e)
                if matches!(
                    e.status(),
                    Some(NOT_FOUND | NtStatus::OBJECT_PATH_NOT_FOUND | NtStatus::OBJECT_NAME_NOT_FOUND)
                ) =>
            {
                return Ok(here());
            }
            Err(e) => return Err(format!("DFS referral for {asked}: {}", explain(&e)).into()),
        };
        let resolved =
            cache.insert(&asked, &answer, Instant::now()).map_err(|u| format!("DFS referral for {asked}: {u}"))?;
        // A root answering for itself: the path is in the root's own share, under no link.
        if resolved.targets.iter().any(|t| same_share(t, &host, &share)) {
            return Ok(here());
        }
        let mut failures = Vec::new();
        let mut reached = None;
        for target in &resolved.targets {
            let Some((t_host, t_share, t_path)) = split_unc(target) else {
                failures.push(format!("{target}: not \\\\server\\share"));
                continue;
            };
            let t_url = SmbUrl { host: t_host.clone(), port: None, share: t_share.clone(), path: String::new() };
            let opened =
                connect(&elsewhere, &t_url, rt).and_then(|cl| open_share(&cl, &t_host, &t_share, rt).map(|t| (cl, t)));
            match opened {
                Ok((cl, t)) => {
                    let joined = format!("{t_path}\\{}", resolved.rest)
                        .split('\\')
                        .filter(|p| !p.is_empty())
                        .collect::<Vec<_>>()
                        .join("/");
                    reached = Some((cl, t, t_host, t_share, joined));
                    break;
                }
                Err(e) => failures.push(e.to_string()),
            }
        }
        let Some((cl, t, h, s, p)) = reached else {
            return Err(format!("DFS: no target of {asked} answered: {}", failures.join("; ")).into());
        };
        (client, tree, host, share, path) = (cl, t, h, s, p);
    }
    Err(format!("DFS: more than {MAX_HOPS} referrals for {} (a loop of links?)", unc(&url.host, &url.share, &url.path))
        .into())
}

fn open_share(client: &Client, host: &str, share: &str, rt: &tokio::runtime::Runtime) -> Result<Tree, Failure> {
    rt.block_on(client.tree(share)).map_err(|e| Failure::from(format!("//{host}/{share}: {}", explain(&e))))
}

/// `\host\share[\path]` as a referral request names it.
fn unc(host: &str, share: &str, path: &str) -> String {
    let path = path.trim_matches(['\\', '/']).replace('/', "\\");
    if path.is_empty() { format!("\\{host}\\{share}") } else { format!("\\{host}\\{share}\\{path}") }
}

/// `\server\share[\path]` into its parts.
fn split_unc(target: &str) -> Option<(String, String, String)> {
    let mut parts = target.trim_start_matches('\\').splitn(3, '\\');
    let host = parts.next().filter(|h| !h.is_empty())?.to_string();
    let share = parts.next().filter(|s| !s.is_empty())?.to_string();
    Some((host, share, parts.next().unwrap_or("").trim_matches('\\').to_string()))
}

fn same_share(target: &str, host: &str, share: &str) -> bool {
    split_unc(target)
        .is_some_and(|(h, s, p)| h.eq_ignore_ascii_case(host) && s.eq_ignore_ascii_case(share) && p.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unc_paths_split_and_join() {
        assert_eq!(unc("ns", "dfs", "link/a/"), "\\ns\\dfs\\link\\a");
        assert_eq!(unc("ns", "dfs", ""), "\\ns\\dfs");
        assert_eq!(split_unc("\\files2\\share\\sub\\dir"), Some(("files2".into(), "share".into(), "sub\\dir".into())));
        assert_eq!(split_unc("\\files2"), None);
        assert!(same_share("\\NS\\Dfs", "ns", "dfs"));
        assert!(!same_share("\\ns\\dfs\\x", "ns", "dfs"));
    }
}
