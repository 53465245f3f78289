//! # keyless-identity
//!
//! Keys-free access to Azure Files for workloads with an Azure identity:
//!
//! - OAuth access tokens from every source a Linux workload has ([`source`]): Azure IMDS, AKS
//!   workload identity, App Service / Functions, Azure Arc, or a token given by the user, each
//!   a sans-IO request/answer flow with the retry rules of the service ([`flow`]);
//! - the Azure Files `kerbticket` exchange ([`kerbticket`]): a storage token traded for a
//!   Kerberos service ticket (a KRB-CRED with an unencrypted enc-part), used for an ordinary
//!   Kerberos SMB session or written to an MIT ccache for the kernel's cifs client;
//! - storage account keys through Azure Resource Manager `listKeys` ([`arm`]), for accounts
//!   not yet enabled for identity-based access;
//! - no I/O: keyless-net's `identity` module carries the flows over HTTP(S).
//!
//! Tokens and keys are secrets: they are zeroed when dropped and never appear in `Debug`
//! output or errors.
//!
//! ```
//! use keyless_identity::source::{Kind, Source};
//! // Which source the environment declares (here: an AKS pod with workload identity).
//! let env = |name: &str| match name {
//!     "AZURE_FEDERATED_TOKEN_FILE" => Some("/var/run/secrets/azure/tokens/azure-identity-token".to_string()),
//!     "AZURE_CLIENT_ID" => Some("7c9e6679-7425-40de-944b-e07fc1f90ae7".to_string()),
//!     "AZURE_TENANT_ID" => Some("72f988bf-86f1-41af-91ab-2d7cd011db47".to_string()),
//!     _ => None,
//! };
//! let source = Source::from_env(Kind::Auto, &env, None, None)?;
//! assert!(matches!(source, Source::Workload { .. }));
//! # Ok::<(), keyless_identity::Error>(())
//! ```

pub mod arm;
pub mod error;
pub mod flow;
pub mod http;
pub mod kerbticket;
pub mod source;
pub mod token;
pub mod url;

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

pub use error::{Error, ErrorKind};
pub use source::{Identity, Source};
pub use token::AccessToken;
pub use url::Url;

/// The audience Azure Files accepts for SMB OAuth, exactly (no trailing slash).
pub const STORAGE_RESOURCE: &str = "https://storage.azure.com";
/// The audience for Azure Resource Manager (ARM's own spelling, with the slash).
pub const ARM_RESOURCE: &str = "https://management.azure.com/";
