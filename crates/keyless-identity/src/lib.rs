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
