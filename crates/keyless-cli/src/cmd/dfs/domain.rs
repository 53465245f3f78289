//! Domain-based namespaces (MS-DFSC 3.1.4): in `\\corp.example.com\files` the first name is an
//! Active Directory domain, not a server. Its DCs say where the namespace is: which names are
//! domains (a domain referral, asked with an empty path), which DCs serve one (a DC referral,
//! `\corp.example.com`), and where the namespace's roots are (a root referral,
//! `\corp.example.com\files`, asked of those DCs in turn). The first DC asked is a KDC of the
//! domain's realm, as krb5.conf or `--kdc` names it: in AD every KDC is a DC. Kerberos needs
//! a DC's name, so KDCs given as addresses (or KDC proxies) are passed over.

use crate::cmd::smb::{AuthKind, Connect, SmbUrl, connect, explain};
use crate::context::{Context, Failure};
use keyless_client::Client;
use keyless_client::dfs::{DomainNames, domain_names};
use keyless_net::transport::{KdcAddr, Transport};
use keyless_smb::dfs::ReferralResponse;
use std::sync::Mutex;

use super::lock;

/// Why a URL's host is taken for a domain.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Why {
    /// It is the name of a Kerberos realm (an AD domain's DNS name).
    RealmName,
    /// It is one name without dots that resolves to no address (an AD domain's NetBIOS name
    /// perhaps: the DCs' domain referral tells).
    Unresolved,
}

/// A domain whose DCs resolve the namespace's root.
pub struct Domain {
    /// The realm whose KDCs are the first DCs asked.
    pub realm: String,
    pub why: Why,
    /// The DCs to ask, by name: the realm's KDCs, then those a DC referral named.
    dcs: Mutex<Vec<String>>,
    /// Sessions with the DCs asked so far.
    sessions: Mutex<Vec<(String, Client)>>,
}

/// Whether `url`'s host is to be taken for a domain, and its realm. Never with `--ip` or
/// `--spn` (they name one server), nor for Azure's own credentials.
pub fn candidate(c: &Connect, url: &SmbUrl) -> Option<Domain> {
    if c.ip().is_some() || c.spn().is_some() || matches!(c.auth(), AuthKind::Oauth | AuthKind::StorageKey) {
        return None;
    }
    let ctx = Context::load().ok()?;
    let user_realm = ctx
        .cache(c.ccache())
        .ok()
        .and_then(|r| r.cache.read().ok())
        .map(|cache| cache.principal.realm)
        .or_else(|| ctx.conf().default_realm().map(str::to_string));
    let realms = ctx.conf().realm_names().map(str::to_string).chain(user_realm.clone());
    let (realm, why) = if let Some(realm) = realms.into_iter().find(|r| r.eq_ignore_ascii_case(&url.host)) {
        (realm, Why::RealmName)
    } else if !url.host.contains('.') && !resolves(&url.host) {
        (user_realm?, Why::Unresolved)
    } else {
        return None;
    };
    let dcs = kdc_names(&ctx, c, &realm);
    Some(Domain { realm, why, dcs: Mutex::new(dcs), sessions: Mutex::default() })
}

fn resolves(host: &str) -> bool {
    std::net::ToSocketAddrs::to_socket_addrs(&(host, 445)).is_ok_and(|mut a| a.next().is_some())
}

/// The realm's KDCs that are named, not numbered: `--kdc` first, then krb5.conf's.
fn kdc_names(ctx: &Context, c: &Connect, realm: &str) -> Vec<String> {
    let mut names: Vec<String> = Vec::new();
    for kdc in c.kdc().iter().chain(&ctx.conf().kdcs(realm)) {
        let Ok(addr) = KdcAddr::parse(kdc) else { continue };
        let numbered = addr.host.trim_matches(['[', ']']).parse::<std::net::IpAddr>().is_ok();
        if addr.transport != Transport::Https && !numbered && !names.iter().any(|n| n.eq_ignore_ascii_case(&addr.host))
        {
            names.push(addr.host);
        }
    }
    names
}

/// What asking the DCs came to.
pub enum Asked {
    /// A DC answered (a referral, or the status it said instead).
    Answer(Result<ReferralResponse, keyless_client::Error>),
    /// No DC could be asked: why, for each.
    NoDc(String),
}

impl Domain {
    /// The DCs known, in the order they are asked.
    pub fn dcs(&self) -> Vec<String> {
        lock(&self.dcs).clone()
    }

    /// Takes the DCs a DC referral named, before the KDCs not among them.
    pub fn learn_dcs(&self, named: &DomainNames) {
        let mut dcs: Vec<String> = named.dcs.iter().map(|d| d.trim_matches('\\').to_string()).collect();
        for kdc in lock(&self.dcs).iter() {
            if !dcs.iter().any(|d| d.eq_ignore_ascii_case(kdc)) {
                dcs.push(kdc.clone());
            }
        }
        *lock(&self.dcs) = dcs;
    }

    /// Asks the DCs in turn for the referral of `path` until one answers; a DC that cannot
    /// be reached or loses the connection is passed over.
    pub async fn ask(&self, targets: &Connect, path: &str, rt: &tokio::runtime::Runtime) -> Asked {
        let mut failures = Vec::new();
        for dc in self.dcs() {
            let session = match self.session(targets, &dc, rt) {
                Ok(s) => s,
                Err(e) => {
                    failures.push(e.to_string());
                    continue;
                }
            };
            match session.dfs_referral_in_site(path, targets.dfs_site()).await {
                Err(e) if e.status().is_none() => {
                    lock(&self.sessions).retain(|(name, _)| name != &dc);
                    failures.push(format!("{dc}: {}", explain(&e)));
                }
                answer => return Asked::Answer(answer),
            }
        }
        if failures.is_empty() {
            failures.push(format!(
                "krb5.conf names no KDC of {} by host name (keyless asks the KDCs, as the domain's DCs, \
                 where its namespaces are): name one, as kdc = dc1.{}",
                self.realm,
                self.realm.to_ascii_lowercase()
            ));
        }
        Asked::NoDc(failures.join("; "))
    }

    /// The session with `dc`, connecting when new (on a thread of its own, as
    /// [`super::Namespace`]'s shares are).
    fn session(
        &self,
        targets: &Connect,
        dc: &str,
        rt: &tokio::runtime::Runtime,
    ) -> Result<keyless_client::Session, Failure> {
        if let Some((_, client)) = lock(&self.sessions).iter().find(|(name, _)| name == dc) {
            return Ok(client.session().clone());
        }
        let url = SmbUrl { host: dc.to_string(), port: None, share: "IPC$".into(), path: String::new() };
        let client = super::off_runtime(|| connect(targets, &url, rt))?;
        let session = client.session().clone();
        lock(&self.sessions).push((dc.to_string(), client));
        Ok(session)
    }
}

/// Whether a domain referral's names include `host` (`\ADTEST` for `ADTEST`).
pub fn lists(names: &[DomainNames], host: &str) -> bool {
    names.iter().any(|n| n.domain.trim_matches('\\').eq_ignore_ascii_case(host))
}

/// The name lists of an answer, or why it has none.
pub fn names_of(answer: &ReferralResponse) -> Result<Vec<DomainNames>, String> {
    domain_names(answer).map_err(|u| u.to_string())
}
