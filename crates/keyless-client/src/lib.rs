//! # keyless-client
//!
//! An SMB2/3 client on tokio, built on the `keyless-smb` codec and `keyless-gss`: NEGOTIATE of
//! 2.0.2 to 3.1.1 with the SHA-512 preauth integrity chain, SESSION_SETUP with Kerberos or
//! NTLMv2 through SPNEGO (guest and anonymous sessions refused), every request signed and every
//! response verified once the session exists, encryption when the session, the share or the
//! caller requires it (AES-256-GCM preferred), and files: list, stat, get, put, mkdir, rmdir,
//! remove, rename.
//!
//! The protocol state (message ids, credits, signing, sealing, the checks on each received
//! frame) is a sans-IO core, `channel`; [`Connection`] only moves its bytes over TCP.
//!
//! ```no_run
//! # async fn demo() -> Result<(), keyless_client::Error> {
//! use keyless_client::{Auth, Connection, Options};
//! let auth = Auth::Ntlm { user: "alice".into(), domain: String::new(), password: "secret".to_string().into() };
//! let mut conn = Connection::connect(("files.example.test", 445), Options::new("files.example.test"), &auth).await?;
//! let mut share = conn.tree_connect("share").await?;
//! for entry in share.list("").await? {
//!     println!("{} {}", entry.size, entry.name);
//! }
//! # Ok(()) }
//! ```

mod auth;
mod channel;
mod connection;
mod error;
pub mod negotiate;
mod tree;

pub use auth::{Auth, Renew, RenewFrom, RenewFuture};
pub use channel::{CREDIT_UNIT, Received};
pub use connection::{Connection, Options};
pub use error::Error;
pub use keyless_gss::credentials::Credentials;
pub use keyless_smb::change_notify::FileNotify;
pub use tree::{Metadata, OpenFile, OpenHow, ReadSeek, Tree, WINDOW_BYTES, filetime, from_filetime};
