//! The SMB OAuth links (`--auth oauth`): a token from the managed identity, its audience and
//! lifetime, and Azure Files' kerbticket endpoint trading it for a service ticket.

use super::Link;
use super::report::{Report, Wrong};
use crate::cmd::smb::{Connect, SmbUrl};
use keyless_identity::flow::TokenFlow;
use keyless_identity::{Error, STORAGE_RESOURCE, kerbticket};
use keyless_krb::Credential;
use keyless_krb::time::{format_utc, unix_seconds};
use std::time::SystemTime;

/// The three links; the ticket that came of them.
pub fn walk(report: &mut Report, url: &SmbUrl, c: &Connect, rt: &tokio::runtime::Runtime) -> Option<Credential> {
    let tickets = match c.identity().tickets(&url.host, c.ca_files()) {
        Ok(t) => t,
        Err(e) => {
            report.fail(Link::Identity, Wrong::plain(e.to_string()));
            report.skip::<()>(Link::Token, "no identity");
            return report.skip(Link::Kerbticket, "no identity");
        }
    };
    let source = tickets.source.describe();
    let token = report.check(Link::Identity, || {
        let token = rt.block_on(tickets.client.token(TokenFlow::new(tickets.source.clone(), STORAGE_RESOURCE)));
        token.map(|t| (t, format!("a token from {source}"))).map_err(|e| identity_wrong(&e))
    });
    let Some(token) = token else {
        report.skip::<()>(Link::Token, "no token");
        return report.skip(Link::Kerbticket, "no token");
    };
    let usable = report.check(Link::Token, || {
        let now = unix_seconds(SystemTime::now());
        match token.check(&[STORAGE_RESOURCE], now) {
            Ok(()) => Ok(((), format!("for {STORAGE_RESOURCE}, valid until {}", format_utc(token.expires_on)))),
            Err(e) => Err(Wrong::new(
                e.to_string(),
                "Azure Files takes tokens for https://storage.azure.com exactly (no trailing slash) that have not expired",
            )),
        }
    });
    if usable.is_none() {
        return report.skip(Link::Kerbticket, "the token is not usable");
    }
    let endpoint = tickets.file_endpoint.clone();
    report.check(Link::Kerbticket, || {
        let request =
            kerbticket::request(&endpoint, &token, SystemTime::now()).map_err(|e| Wrong::plain(e.to_string()))?;
        let answer = rt
            .block_on(tickets.client.send(&request, &format!("kerbticket at {endpoint}")))
            .map_err(|e| kerbticket_wrong(&e))?;
        let ticket = kerbticket::parse_reply(&answer, &endpoint).map_err(|e| kerbticket_wrong(&e))?;
        let detail = format!("{endpoint} issues {} until {}", ticket.server, format_utc(ticket.end_time));
        Ok((ticket, detail))
    })
}

fn identity_wrong(e: &Error) -> Wrong {
    match e {
        Error::Refused { status: 400, service, message } if message.contains("Identity not found") => Wrong::new(
            format!("{service} has no managed identity to give a token for ({message})"),
            "assign a managed identity to this VM, or name a user-assigned one with --client-id, --object-id or --resource-id",
        ),
        e => Wrong::plain(match crate::hints::identity(e) {
            Some(h) => format!("{e}; {h}"),
            None => e.to_string(),
        }),
    }
}

/// The kerbticket endpoint's refusals, told apart by the storage error code.
fn kerbticket_wrong(e: &Error) -> Wrong {
    match e {
        Error::Refused { status: 401 | 403, message, .. } if message.contains("AuthorizationPermissionMismatch") => {
            Wrong::new(
                format!("the identity may not use SMB on this account ({e})"),
                "assign it the role Storage File Data SMB MI Admin (or an SMB MI Reader/Contributor role) on the account or share",
            )
        }
        Error::Refused { status: 401 | 403, message, .. }
            if message.contains("OAuth") && (message.contains("not enabled") || message.contains("disabled")) =>
        {
            Wrong::new(
                format!("SMB OAuth is not enabled on the storage account ({e})"),
                "enable it: Set-AzStorageAccount -EnableSmbOAuth $true (azureFilesIdentityBasedAuthentication.smbOAuthSettings.isSmbOAuthEnabled)",
            )
        }
        e => Wrong::plain(match crate::hints::identity(e) {
            Some(h) => format!("{e}; {h}"),
            None => e.to_string(),
        }),
    }
}
