//! Where a workload's token comes from, found in the environment as the Azure SDKs find it,
//! and the request each source wants (protocols.md 4).
//!
//! Automatic order: a token given by the user; AKS workload identity
//! (`AZURE_FEDERATED_TOKEN_FILE`); App Service / Functions / Container Apps
//! (`IDENTITY_ENDPOINT` + `IDENTITY_HEADER`); Azure Arc (`IDENTITY_ENDPOINT` +
//! `IMDS_ENDPOINT`); else the VM's IMDS.

use crate::http::Request;
use crate::{AccessToken, Error, Url};
use std::path::PathBuf;
use zeroize::Zeroizing;

/// The VM instance metadata service.
pub const IMDS: &str = "http://169.254.169.254";
/// Microsoft Entra's public-cloud authority.
pub const AUTHORITY: &str = "https://login.microsoftonline.com/";
/// Where the Azure Arc agent leaves its challenge files.
pub const ARC_TOKEN_DIR: &str = "/var/opt/azcmagent/tokens";

/// Which user-assigned identity to ask for (none: the system-assigned or only one).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Identity {
    /// Its client (application) id.
    ClientId(String),
    /// Its object (principal) id.
    ObjectId(String),
    /// Its ARM resource id.
    ResourceId(String),
}

/// A source of access tokens.
#[derive(Clone)]
pub enum Source {
    /// A token the user gave (from a file or stdin).
    Given(AccessToken),
    /// Azure IMDS on a VM or scale set.
    Imds {
        /// Base URL (`http://169.254.169.254`).
        endpoint: Url,
        /// Which identity.
        identity: Option<Identity>,
    },
    /// App Service, Functions, Container Apps (`IDENTITY_ENDPOINT`, `IDENTITY_HEADER`).
    AppService {
        /// The token URL.
        endpoint: Url,
        /// The rotating header secret.
        header: Zeroizing<String>,
        /// Which identity.
        identity: Option<Identity>,
    },
    /// An Azure Arc-enabled server's agent (HIMDS) and its challenge files.
    Arc {
        /// The token URL.
        endpoint: Url,
        /// The only directory a challenge file may be in.
        token_dir: PathBuf,
    },
    /// AKS workload identity: a projected service-account token traded at Entra.
    Workload {
        /// `AZURE_AUTHORITY_HOST`.
        authority: Url,
        /// `AZURE_TENANT_ID`.
        tenant: String,
        /// `AZURE_CLIENT_ID`.
        client_id: String,
        /// `AZURE_FEDERATED_TOKEN_FILE` (re-read for every token: kubelet rotates it).
        token_file: PathBuf,
    },
}

impl std::fmt::Debug for Source {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.describe())
    }
}

/// A source chosen by name (`--identity-source`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Decide from the environment.
    Auto,
    /// IMDS.
    Imds,
    /// Workload identity.
    Workload,
    /// App Service.
    AppService,
    /// Azure Arc.
    Arc,
}

impl Source {
    /// The source `kind` names, or the first the environment offers for [`Kind::Auto`].
    /// `env` reads a variable; `imds` overrides the IMDS base URL (else
    /// `AZURE_POD_IDENTITY_AUTHORITY_HOST`, else [`IMDS`]).
    ///
    /// # Errors
    /// [`Error::Config`] when a named source lacks its variables, or a URL is bad.
    pub fn from_env(
        kind: Kind,
        env: &dyn Fn(&str) -> Option<String>,
        identity: Option<Identity>,
        imds: Option<&str>,
    ) -> Result<Self, Error> {
        let var = |name: &str| env(name).filter(|v| !v.is_empty());
        let need = |name: &str, source: &str| {
            var(name).ok_or_else(|| Error::Config(format!("{source} needs {name} in the environment")))
        };
        let workload = var("AZURE_FEDERATED_TOKEN_FILE").is_some();
        let app_service = var("IDENTITY_ENDPOINT").is_some() && var("IDENTITY_HEADER").is_some();
        let arc = var("IDENTITY_ENDPOINT").is_some() && var("IMDS_ENDPOINT").is_some();
        let kind = match kind {
            Kind::Auto if workload => Kind::Workload,
            Kind::Auto if app_service => Kind::AppService,
            Kind::Auto if arc => Kind::Arc,
            Kind::Auto => Kind::Imds,
            k => k,
        };
        Ok(match kind {
            Kind::Workload => {
                let mut authority = var("AZURE_AUTHORITY_HOST").unwrap_or_else(|| AUTHORITY.into());
                if !authority.ends_with('/') {
                    authority.push('/');
                }
                Self::Workload {
                    authority: Url::parse(&authority)?,
                    tenant: need("AZURE_TENANT_ID", "workload identity")?,
                    client_id: match identity {
                        Some(Identity::ClientId(id)) => id,
                        _ => need("AZURE_CLIENT_ID", "workload identity")?,
                    },
                    token_file: need("AZURE_FEDERATED_TOKEN_FILE", "workload identity")?.into(),
                }
            }
            Kind::AppService => Self::AppService {
                endpoint: Url::parse(&need("IDENTITY_ENDPOINT", "App Service identity")?)?,
                header: Zeroizing::new(need("IDENTITY_HEADER", "App Service identity")?),
                identity,
            },
            Kind::Arc => Self::Arc {
                endpoint: Url::parse(&need("IDENTITY_ENDPOINT", "Azure Arc identity")?)?,
                token_dir: var("KEYLESS_ARC_TOKEN_DIR").unwrap_or_else(|| ARC_TOKEN_DIR.into()).into(),
            },
            Kind::Imds | Kind::Auto => {
                let base = imds.map(str::to_string).or_else(|| var("AZURE_POD_IDENTITY_AUTHORITY_HOST"));
                Self::Imds { endpoint: Url::parse(base.as_deref().unwrap_or(IMDS))?, identity }
            }
        })
    }

    /// What the source is, for messages: `IMDS at http://169.254.169.254/...`.
    pub fn describe(&self) -> String {
        match self {
            Self::Given(_) => "the given token".into(),
            Self::Imds { endpoint, .. } => format!("IMDS at {}", endpoint.join(IMDS_PATH)),
            Self::AppService { endpoint, .. } => format!("App Service identity endpoint {endpoint}"),
            Self::Arc { endpoint, .. } => format!("Azure Arc identity endpoint {endpoint}"),
            Self::Workload { authority, tenant, .. } => {
                format!("Entra token endpoint {}", authority.join(&format!("{tenant}/oauth2/v2.0/token")))
            }
        }
    }

    /// The token request for `resource`; `secret` is the workload's assertion or Arc's
    /// challenge answer once read. `None` for a given token.
    pub(crate) fn request(&self, resource: &str, secret: Option<&str>) -> Option<Request> {
        let selector = |identity: &Option<Identity>, resource_key: &'static str| match identity {
            Some(Identity::ClientId(id)) => vec![("client_id", id.clone())],
            Some(Identity::ObjectId(id)) => vec![("object_id", id.clone())],
            Some(Identity::ResourceId(id)) => vec![(resource_key, id.clone())],
            None => vec![],
        };
        let query = |url: Url, version: &str, extra: Vec<(&'static str, String)>| {
            let mut pairs = vec![("api-version", version), ("resource", resource)];
            pairs.extend(extra.iter().map(|(k, v)| (*k, v.as_str())));
            url.with_query(&pairs)
        };
        Some(match self {
            Self::Given(_) => return None,
            Self::Imds { endpoint, identity } => {
                // IMDS spells the resource-id selector msi_res_id, App Service mi_res_id.
                let url = query(endpoint.join(IMDS_PATH), "2018-02-01", selector(identity, "msi_res_id"));
                Request::new("GET", url).header("Metadata", "true")
            }
            Self::AppService { endpoint, header, identity } => {
                let url = query(endpoint.clone(), "2019-08-01", selector(identity, "mi_res_id"));
                Request::new("GET", url).header("X-IDENTITY-HEADER", header.as_str())
            }
            Self::Arc { endpoint, .. } => {
                let r = Request::new("GET", query(endpoint.clone(), "2019-11-01", vec![])).header("Metadata", "true");
                match secret {
                    Some(s) => r.header("Authorization", format!("Basic {s}")),
                    None => r,
                }
            }
            Self::Workload { authority, tenant, client_id, .. } => {
                let scope = format!("{}/.default", resource.trim_end_matches('/'));
                let body = crate::url::form(&[
                    ("client_id", client_id),
                    ("scope", &scope),
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", secret.unwrap_or_default()),
                ]);
                let mut r = Request::new("POST", authority.join(&format!("{tenant}/oauth2/v2.0/token")))
                    .header("Content-Type", "application/x-www-form-urlencoded");
                r.body = Zeroizing::new(body.as_bytes().to_vec());
                r
            }
        })
    }
}

const IMDS_PATH: &str = "/metadata/identity/oauth2/token";

#[cfg(test)]
mod tests {
    use super::*;

    fn env(vars: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |name| vars.iter().find(|(n, _)| *n == name).map(|(_, v)| v.to_string())
    }

    #[test]
    fn environment_decides_the_source_in_the_documented_order() {
        let auto = |vars| Source::from_env(Kind::Auto, &env(vars), None, None).unwrap().describe();
        assert_eq!(auto(&[]), "IMDS at http://169.254.169.254/metadata/identity/oauth2/token");
        assert_eq!(
            auto(&[("AZURE_POD_IDENTITY_AUTHORITY_HOST", "http://127.0.0.1:9")]),
            "IMDS at http://127.0.0.1:9/metadata/identity/oauth2/token"
        );
        let arc = &[
            ("IDENTITY_ENDPOINT", "http://localhost:40342/metadata/identity/oauth2/token"),
            ("IMDS_ENDPOINT", "http://localhost:40342"),
        ];
        assert!(auto(arc).starts_with("Azure Arc"));
        let app = &[
            ("IDENTITY_ENDPOINT", "http://localhost:42356/msi/token"),
            ("IDENTITY_HEADER", "h"),
            ("IMDS_ENDPOINT", "x"),
        ];
        assert!(auto(app).starts_with("App Service"));
        let wi = &[
            ("AZURE_FEDERATED_TOKEN_FILE", "/var/run/secrets/azure/tokens/azure-identity-token"),
            ("AZURE_CLIENT_ID", "c"),
            ("AZURE_TENANT_ID", "t"),
            ("IDENTITY_ENDPOINT", "http://localhost:42356/msi/token"),
            ("IDENTITY_HEADER", "h"),
        ];
        assert_eq!(auto(wi), "Entra token endpoint https://login.microsoftonline.com/t/oauth2/v2.0/token");
        let missing = Source::from_env(Kind::Workload, &env(&[]), None, None).unwrap_err().to_string();
        assert_eq!(missing, "workload identity needs AZURE_TENANT_ID in the environment");
    }

    #[test]
    fn requests_carry_what_each_service_wants() {
        let imds =
            Source::Imds { endpoint: Url::parse(IMDS).unwrap(), identity: Some(Identity::ResourceId("/r".into())) };
        let r = imds.request(crate::STORAGE_RESOURCE, None).unwrap();
        assert_eq!(
            r.url.path,
            "/metadata/identity/oauth2/token?api-version=2018-02-01&resource=https%3A%2F%2Fstorage.azure.com&msi_res_id=%2Fr"
        );
        assert_eq!(r.header_value("metadata"), Some("true"));
        let wi = Source::Workload {
            authority: Url::parse(AUTHORITY).unwrap(),
            tenant: "t".into(),
            client_id: "c".into(),
            token_file: "/f".into(),
        };
        let r = wi.request(crate::STORAGE_RESOURCE, Some("eyJ.a.b")).unwrap();
        assert_eq!(r.url.path, "/t/oauth2/v2.0/token");
        let body = String::from_utf8(r.body.to_vec()).unwrap();
        assert!(
            body.contains("scope=https%3A%2F%2Fstorage.azure.com%2F.default&grant_type=client_credentials"),
            "{body}"
        );
        assert!(body.ends_with("client_assertion=eyJ.a.b"), "{body}");
    }
}
