//! # keyless
//!
//! Reach SMB file shares (Azure Files above all, Samba and Windows servers too) from Rust
//! without storage account keys: with the user's Kerberos tickets, a keytab, a Kerberos
//! ticket got through a KDC proxy, or an Azure managed identity's token (SMB OAuth).
//!
//! - [`Client`] holds the credentials and settings; [`Client::share`] connects to
//!   `smb://host/share` (one session per server, shared by every task, reconnecting
//!   underneath) and gives a [`Share`].
//! - [`Share`] works on files: [`Share::open`] and [`Share::create`] give tokio
//!   `AsyncRead`/`AsyncWrite`/`AsyncSeek` files, [`Share::read_dir`] a `Stream`,
//!   [`Share::walk`] a whole tree, [`Share::upload`] and [`Share::download`] copy files and
//!   trees with progress.
//! - [`Credentials`] says who to be: [`Credentials::auto`] (the user's cache, as the
//!   `keyless` command and MIT's tools use it), a keytab, a password, a
//!   [`ManagedIdentity`], or a token. Tickets and tokens are renewed while connected.
//! - [`kerberos`] is Kerberos without SMB: TGTs from passwords and keytabs (KDC proxies
//!   included), service tickets, credential caches and keytabs.
//! - [`Error`] is the one error type; [`Error::kind`] sorts it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), keyless::Error> {
//! use keyless::{Client, Credentials};
//! let client = Client::builder().credentials(Credentials::auto()).build()?;
//! let share = client.share("smb://files.example.test/projects").await?;
//! let copied = share.download("2026", std::path::Path::new("/tmp/2026"), None).await?;
//! println!("{copied} bytes");
//! # Ok(()) }
//! ```
//!
//! The layers under it are crates of their own, for programs that need one part: the SMB
//! client ([`smb_client`], `keyless-client`), the SMB2/3 codec ([`smb`], `keyless-smb`),
//! Kerberos messages, caches and keytabs (`keyless-krb`), GSS-API (`keyless-gss`), managed
//! identity (`keyless-identity`).

#![allow(clippy::disallowed_methods)] // a runtime crate: tickets are checked against the clock

mod client;
mod credentials;
mod error;
pub mod kerberos;
mod share;
mod url;

pub use client::{Client, ClientBuilder};
pub use credentials::{Authenticated, Credentials, ManagedIdentity};
pub use error::{Error, ErrorKind};
pub use keyless_client::{File, Metadata};
pub use share::{Entry, OnProgress, Progress, ReadDir, Share};
pub use url::{SmbUrl, UrlError};

/// The workspace README's and this crate's README's examples compile (`cargo test --doc`).
#[cfg(doctest)]
#[doc = include_str!("../../../README.md")]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;

/// The SMB2/3 codec: messages as bytes in and out, for tools that read or build them.
pub use keyless_smb as smb;

/// The layer below [`Share`]: sessions, trees and files of one SMB connection, and the
/// authentication and renewal hooks [`Credentials`] fills in.
pub use keyless_client as smb_client;
