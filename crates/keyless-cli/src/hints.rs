//! What to try, for the errors of the library crates: the one place hints live, so the
//! libraries' errors say what failed and the CLI says what the user can do about it.

use keyless_identity::Error as IdentityError;
use keyless_krb::{Error, KrbErrorCode};

/// For a clock Kerberos finds too far from another's.
const SYNC_CLOCK: &str = "synchronize the clock (NTP); Kerberos allows 5 minutes by default";

/// For a ticket or session that has run out.
pub const FRESH_TICKET: &str = "get a fresh ticket (keyless kinit) and try again";

/// A suggestion for a Kerberos error, when there is one.
pub fn krb(e: &Error) -> Option<&'static str> {
    let h = match e {
        Error::Kdc { code, .. } => code_hint(*code),
        Error::Decrypt { .. } => "the password or key is wrong, or the keytab is out of date",
        Error::ClockSkew { .. } => SYNC_CLOCK,
        Error::NoKdc(_) => "give --kdc HOST:PORT, or add the realm's kdc to krb5.conf [realms]",
        Error::NoCommonEncType { .. } => "check permitted_enctypes in krb5.conf and the principal's keys",
        Error::NotInCache(_) | Error::NoCache(_) => "run keyless kinit first",
        Error::KcmUnreachable { .. } => {
            "start sssd-kcm (systemctl start sssd-kcm.socket), or name its socket with kcm_socket in krb5.conf"
        }
        Error::CacheHoldsOther { .. } => "give another cache with -c, or destroy this one first (keyless kdestroy)",
        _ => "",
    };
    (!h.is_empty()).then_some(h)
}

/// A suggestion for an error on the way to a KDC, when there is one.
pub fn net(e: &keyless_net::Error) -> Option<&'static str> {
    use keyless_net::Error as Net;
    match e {
        Net::Kerberos(k) => krb(k),
        Net::Unreachable { .. } => Some("check that the KDC is running and reachable (host, port, firewall)"),
        Net::Tls { .. } => {
            Some("trust the proxy's CA with --ca-file or http_anchors, and use the host name its certificate names")
        }
        Net::Proxy { .. } => Some("check the proxy URL (scheme, host, port and path) and that it serves this realm"),
        _ => None,
    }
}

/// What to try for an error code a KDC (or a service) answered.
pub fn code_hint(code: KrbErrorCode) -> &'static str {
    match code {
        KrbErrorCode::KDC_ERR_NAME_EXP => "ask the KDC administrator to renew the account",
        KrbErrorCode::KDC_ERR_SERVICE_EXP => "ask the KDC administrator",
        KrbErrorCode::KDC_ERR_C_PRINCIPAL_UNKNOWN => "check the user name and the realm (names are case-sensitive)",
        KrbErrorCode::KDC_ERR_S_PRINCIPAL_UNKNOWN => {
            "check the service name (e.g. cifs/<host fully qualified>) and that the host maps to the right realm"
        }
        KrbErrorCode::KDC_ERR_PRINCIPAL_NOT_UNIQUE => "ask the KDC administrator to remove the duplicate",
        KrbErrorCode::KDC_ERR_NULL_KEY => "ask the KDC administrator to set a password or key",
        KrbErrorCode::KDC_ERR_NEVER_VALID => "check the clock and the requested lifetime",
        KrbErrorCode::KDC_ERR_POLICY => "ask the KDC administrator (account locked, restrictions, or disabled)",
        KrbErrorCode::KDC_ERR_BADOPTION => "try without -f/-r options",
        KrbErrorCode::KDC_ERR_ETYPE_NOSUPP => "check permitted_enctypes in krb5.conf and the keys the principal has",
        KrbErrorCode::KDC_ERR_CLIENT_REVOKED => "ask the KDC administrator to unlock the account",
        KrbErrorCode::KDC_ERR_TGT_REVOKED => "run kinit again",
        KrbErrorCode::KDC_ERR_CLIENT_NOTYET => "try again later",
        KrbErrorCode::KDC_ERR_KEY_EXPIRED => "change the password (kpasswd) and run kinit again",
        KrbErrorCode::KDC_ERR_PREAUTH_FAILED => "check the password, or the keytab's key version",
        KrbErrorCode::KDC_ERR_SVC_UNAVAILABLE => "try again, or another KDC",
        KrbErrorCode::KRB_AP_ERR_BAD_INTEGRITY => "the key does not match: check the password or keytab",
        KrbErrorCode::KRB_AP_ERR_TKT_EXPIRED => "run kinit again",
        KrbErrorCode::KRB_AP_ERR_TKT_NYV => "check the clock",
        KrbErrorCode::KRB_AP_ERR_REPEAT => "try again",
        KrbErrorCode::KRB_AP_ERR_SKEW => SYNC_CLOCK,
        KrbErrorCode::KRB_AP_ERR_MODIFIED => "the service key and the ticket do not match: check the keytab",
        KrbErrorCode::KRB_AP_ERR_BADKEYVER => "the keytab is older than the KDC's key: export it again",
        KrbErrorCode::KRB_ERR_GENERIC => "see the KDC's message",
        KrbErrorCode::KDC_ERR_WRONG_REALM => "check the realm",
        _ => "",
    }
}

/// A suggestion for a GSS error: the acceptor's clock and ticket checks, else Kerberos below.
pub fn gss(e: &keyless_gss::Error) -> Option<&'static str> {
    match e {
        keyless_gss::Error::Kerberos(k) => krb(k),
        keyless_gss::Error::ClockSkew { .. } => Some(SYNC_CLOCK),
        keyless_gss::Error::TicketExpired { .. } => Some(FRESH_TICKET),
        keyless_gss::Error::NtlmProof { .. } => Some("check the user name and the password"),
        keyless_gss::Error::RejectedByService { code } => Some(code_hint(*code)).filter(|h| !h.is_empty()),
        _ => None,
    }
}

/// A suggestion for a managed-identity or Azure error, when there is one.
pub fn identity(e: &IdentityError) -> Option<&'static str> {
    match e {
        IdentityError::Unreachable { service, .. } if service.starts_with("IMDS") => Some(
            "this works on an Azure VM with a managed identity; elsewhere give --token-file, or point --imds-endpoint at the right place",
        ),
        IdentityError::Unreachable { .. } => Some("check the endpoint URL and the network"),
        IdentityError::Refused { status: 400, service, .. } if service.starts_with("IMDS") => {
            Some("with several user-assigned identities, pick one with --client-id, --object-id or --resource-id")
        }
        IdentityError::Refused { status: 401 | 403, service, .. } if service.starts_with("kerbticket") => Some(
            "the identity needs the role Storage File Data SMB MI Admin on the account, and the account needs SMB OAuth enabled",
        ),
        IdentityError::Refused { status: 401 | 403, service, .. } if service.starts_with("ARM") => {
            Some("the identity needs a role that allows listKeys (e.g. Storage Account Key Operator Service Role)")
        }
        IdentityError::Refused { status: 404, service, .. } if service.starts_with("ARM") => {
            Some("check --subscription, --resource-group and --account")
        }
        IdentityError::Token(_) => {
            Some("get a token for https://storage.azure.com (no trailing slash) that has not expired")
        }
        IdentityError::Krb(k) => krb(k),
        _ => None,
    }
}

/// A failure of the keyless library as one line with what to try: each layer's own hints.
pub fn library(e: keyless::Error) -> crate::context::Failure {
    use crate::context::Failure;
    use keyless::Error as E;
    match e {
        E::Url(u) => Failure::from(format!("{u}; write smb://host/share/path")),
        E::Smb(s) => Failure::from(crate::cmd::smb::explain(&s)),
        E::Kerberos(k) => k.into(),
        E::Identity(i) => i.into(),
        e @ E::NoTicket { .. } => Failure::from(format!("{e}; run keyless kinit")),
        e @ E::Keytab { .. } => Failure::from(format!("--keytab {e}")),
        E::ServiceTicket { server, source } => Failure::from(format!("a ticket for {server}: {}", library(*source))),
        e => Failure::from(e.to_string()),
    }
}
