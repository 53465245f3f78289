//! The Kerberos links: the host's realm in krb5.conf, the cache, its TGT, a KDC of the
//! client's realm (and its clock), and a service ticket for cifs/<host>. Nothing is stored:
//! the doctor looks, it does not change the user's cache.

use super::Link;
use super::report::{Report, Verdict, Wrong};
use crate::cmd::smb::{Connect, SmbUrl};
use crate::context::Context;
use keyless_krb::ccache::CCache;
use keyless_krb::messages::{self, KdcReply};
use keyless_krb::time::{format_utc, seconds_of, unix_seconds};
use keyless_krb::{
    AsExchange, AsOptions, ClientSecret, Credential, Error, KrbErrorCode, Principal, TgsExchange, TgsOptions,
};
use keyless_net::{OsRandom, transport};
use std::time::SystemTime;

/// What the Kerberos links found that later links need.
#[derive(Default)]
pub struct Found {
    /// Who answered and the KDC's time (Unix seconds).
    pub kdc_clock: Option<(String, i64)>,
    /// The ticket for the share, when one was found or obtained.
    pub ticket: Option<Credential>,
}

pub fn walk(
    report: &mut Report,
    ctx: &Context,
    url: Option<&SmbUrl>,
    c: &Connect,
    rt: &tokio::runtime::Runtime,
) -> Found {
    let mut found = Found::default();
    let now = unix_seconds(SystemTime::now());
    let cache = report.check(Link::Cache, || cache(ctx, c, now));
    let client_realm = cache
        .as_ref()
        .map(|(_, cc)| cc.principal.realm.clone())
        .or_else(|| ctx.conf().default_realm().map(str::to_string));
    let server = url.map(|u| service(ctx, c, u, client_realm.as_deref().unwrap_or("")));
    report.check(Link::Realm, || realm(ctx, c, server.as_ref(), client_realm.as_deref()));
    let tgt = match &cache {
        Some((name, cc)) => report.check(Link::Tgt, || tgt(name, cc, server.as_ref(), now)),
        None => report.skip(Link::Tgt, "no cache"),
    };
    match client_realm.as_deref() {
        Some(realm) => {
            let client = cache.as_ref().map(|(_, cc)| cc.principal.clone());
            found.kdc_clock = report.check(Link::Kdc, || kdc(ctx, c, realm, client, rt));
        }
        None => {
            report.fail(
                Link::Kdc,
                Wrong::new("no realm to ask: no cache and no default_realm", "set default_realm in krb5.conf"),
            );
        }
    }
    let Some(server) = server else { return found };
    let held = cache.as_ref().and_then(|(_, cc)| cc.find(&server, now));
    found.ticket = match (held, tgt.flatten()) {
        (Some(t), _) => {
            report.ok(Link::Ticket, format!("{} in the cache until {}", t.server, format_utc(t.end_time)));
            Some(t)
        }
        (None, Some(tgt)) => report.check(Link::Ticket, || ticket(ctx, c, &tgt, &server, rt)),
        (None, None) => report.skip(Link::Ticket, "no TGT to ask with"),
    };
    found
}

/// cifs/<host> (or --spn) in the realm krb5.conf maps the host to, else the client's.
fn service(ctx: &Context, c: &Connect, url: &SmbUrl, client_realm: &str) -> Principal {
    let spn = c.spn().map_or_else(|| crate::cmd::smb::default_spn(&url.host), str::to_string);
    ctx.service_principal(&spn, client_realm).unwrap_or_else(|_| {
        Principal::parse(&spn, Some(client_realm)).unwrap_or_else(|_| Principal::krbtgt(client_realm, client_realm))
    })
}

fn cache(ctx: &Context, c: &Connect, now: i64) -> Verdict<(keyless_krb::ccache::CacheName, CCache)> {
    let resolved = ctx.cache(c.ccache()).map_err(|e| Wrong::plain(e.to_string()))?;
    let name = resolved.cache;
    let cc = name.read().map_err(|e| match e {
        Error::NoCache(_) => Wrong::new(
            format!("no credential cache at {name}"),
            "run keyless kinit (or set KRB5CCNAME to the cache that holds your tickets)",
        ),
        e => Wrong::plain(format!("{name}: {e}")),
    })?;
    let count = cc.credentials().count();
    if count == 0 {
        return Err(Wrong::new(format!("{name} holds no tickets for {}", cc.principal), "run keyless kinit"));
    }
    let valid = cc.credentials().filter(|t| t.is_valid_at(now, 0)).count();
    let detail = format!("{name} holds {count} ticket(s) for {}, {valid} valid now", cc.principal);
    Ok(((name, cc), detail))
}

/// A valid TGT; or none needed when the cache holds the share's ticket itself (SMB OAuth).
fn tgt(
    name: &keyless_krb::ccache::CacheName,
    cc: &CCache,
    server: Option<&Principal>,
    now: i64,
) -> Verdict<Option<Credential>> {
    let realm = &cc.principal.realm;
    if let Some(t) = cc.find_tgt(realm, now) {
        let detail = format!("{} valid until {}", t.server, format_utc(t.end_time));
        return Ok((Some(t), detail));
    }
    if let Some(t) = server.and_then(|s| cc.find(s, now)) {
        return Ok((None, format!("none needed: the cache holds {} itself", t.server)));
    }
    let expired = cc.credentials().filter(|t| t.is_tgt_for(realm)).max_by_key(|t| t.end_time);
    Err(match expired {
        Some(t) => Wrong::new(
            format!("the TGT for {} in {name} expired at {}", cc.principal, format_utc(t.end_time)),
            "run keyless kinit (or kinit -R while it is renewable)",
        ),
        None => Wrong::new(format!("{name} holds no TGT for {}", cc.principal), "run keyless kinit"),
    })
}

/// krb5.conf's realm for the share's host, and that its KDCs are known.
fn realm(ctx: &Context, c: &Connect, server: Option<&Principal>, client_realm: Option<&str>) -> Verdict<()> {
    let Some(server) = server else {
        return match ctx.conf().default_realm() {
            Some(r) => Ok(((), format!("default realm {r}, KDCs {}", kdc_list(ctx, c, r)))),
            None => Err(Wrong::new("krb5.conf names no default_realm", "set [libdefaults] default_realm")),
        };
    };
    let host = server.components.get(1).map_or("", String::as_str);
    let mapped = ctx.conf().realm_for_host(host);
    let how = match mapped {
        Some(r) => format!("krb5.conf maps {host} to {r}"),
        None => format!("{host} has no [domain_realm] entry, so the client's realm {} is asked", server.realm),
    };
    let kdcs = kdc_list(ctx, c, &server.realm);
    if kdcs.is_empty() && Some(server.realm.as_str()) != client_realm {
        let fix = match client_realm {
            Some(cr) => format!(
                "if {host} belongs to {cr}, map it in [domain_realm] ({host} = {cr}); else add {}'s kdc to [realms]",
                server.realm
            ),
            None => format!("add {}'s kdc to [realms]", server.realm),
        };
        return Err(Wrong::new(format!("{how}, a realm whose KDCs it does not name"), fix));
    }
    let kdcs = if kdcs.is_empty() { "none named (referrals through the client's realm)".to_string() } else { kdcs };
    Ok(((), format!("{how}; KDCs {kdcs}")))
}

fn kdc_list(ctx: &Context, c: &Connect, realm: &str) -> String {
    let mut kdcs = c.kdc().to_vec();
    kdcs.extend(ctx.conf().kdcs(realm));
    kdcs.join(", ")
}

/// An AS-REQ without pre-authentication: any KDC answers it (mostly with
/// PREAUTH_REQUIRED), and its KRB-ERROR carries the KDC's clock.
fn kdc(
    ctx: &Context,
    c: &Connect,
    realm: &str,
    client: Option<Principal>,
    rt: &tokio::runtime::Runtime,
) -> Verdict<(String, i64)> {
    let dir = ctx.kdcs(&[realm], c.kdc(), c.ca_files()).map_err(|e| Wrong::plain(e.to_string()))?;
    let client = client.unwrap_or_else(|| {
        Principal::parse("keyless-doctor", Some(realm)).unwrap_or_else(|_| Principal::krbtgt(realm, realm))
    });
    let secret = ClientSecret::Password(zeroize::Zeroizing::new(String::new()));
    let (_, first) = AsExchange::start(AsOptions::new(client), secret, SystemTime::now(), &mut OsRandom)
        .map_err(|e| Wrong::plain(e.to_string()))?;
    let keyless_krb::Step::Send { message, .. } = first else {
        return Err(Wrong::plain("the AS exchange had nothing to send".to_string()));
    };
    let reply = rt.block_on(dir.send(realm, &message)).map_err(|e| {
        Wrong::new(
            format!("no KDC of {realm} answered: {e}"),
            "start the KDC, or fix the realm's kdc in krb5.conf or --kdc (port 88, or a KDC proxy URL)",
        )
    })?;
    let kdc_time = match messages::decode_reply(&reply) {
        Ok(KdcReply::Error(err)) => Some((seconds_of(&err.stime), messages::error_code(&err))),
        Ok(_) => None,
        Err(e) => return Err(Wrong::plain(format!("a KDC of {realm} answered something else than Kerberos: {e}"))),
    };
    match kdc_time {
        Some((t, code)) => {
            let said =
                if code == KrbErrorCode::KDC_ERR_PREAUTH_REQUIRED { String::new() } else { format!(" ({code})") };
            Ok((("the KDC".to_string(), t), format!("a KDC of {realm} answers{said}")))
        }
        None => Ok((("the KDC".to_string(), unix_seconds(SystemTime::now())), format!("a KDC of {realm} answers"))),
    }
}

/// A service ticket through TGS exchanges with the TGT, not stored.
fn ticket(
    ctx: &Context,
    c: &Connect,
    tgt: &Credential,
    server: &Principal,
    rt: &tokio::runtime::Runtime,
) -> Verdict<Credential> {
    let client_realm = tgt.client.realm.clone();
    let mut realms = vec![client_realm.as_str()];
    if server.realm != client_realm {
        realms.push(&server.realm);
    }
    let dir = ctx.kdcs(&realms, c.kdc(), c.ca_files()).map_err(|e| Wrong::plain(e.to_string()))?;
    let mut opts = TgsOptions::new(server.clone());
    opts.etypes = ctx.enctypes();
    let got = rt.block_on(async {
        let mut rng = OsRandom;
        let (mut ex, first) = TgsExchange::start(tgt.clone(), opts, SystemTime::now(), &mut rng)?;
        transport::run(&dir, &mut ex, first, &mut rng, &SystemTime::now).await
    });
    match got {
        Ok(t) => {
            let detail = format!(
                "the KDC issues {} ({}), valid until {}",
                t.server,
                t.session_key.etype(),
                format_utc(t.end_time)
            );
            Ok((t, detail))
        }
        Err(keyless_net::Error::Kerberos(Error::Kdc {
            code: KrbErrorCode::KDC_ERR_S_PRINCIPAL_UNKNOWN,
            realm,
            ..
        })) => Err(Wrong::new(
            format!("the KDC of {realm} knows no {server} (KDC_ERR_S_PRINCIPAL_UNKNOWN)"),
            "the server's account needs that SPN (setspn -S, or the storage account's AD/Entra Kerberos setup); or give --spn, or map the host to its realm in [domain_realm]",
        )),
        Err(e) => Err(Wrong::plain(match crate::hints::net(&e) {
            Some(h) => format!("a ticket for {server}: {e}; {h}"),
            None => format!("a ticket for {server}: {e}"),
        })),
    }
}
