//! # keyless-client
//!
//! An SMB2/3 client on tokio, built on the `keyless-smb` codec and `keyless-gss`: NEGOTIATE of
//! 2.0.2 to 3.1.1 with the SHA-512 preauth integrity chain, SESSION_SETUP with Kerberos or
//! NTLMv2 through SPNEGO (guest and anonymous sessions refused), every request signed and every
//! response verified once the session exists, encryption when the session, the share or the
//! caller requires it (AES-256-GCM preferred), and files: list, stat, get, put, open (tokio
//! `AsyncRead`/`AsyncWrite`/`AsyncSeek`), mkdir, rmdir, remove, rename, watch.
//!
//! Two layers:
//! - [`proto::Connection`], the sans-IO core (quinn-proto's shape): handshake, credits,
//!   signing and sealing, the requests in flight, timers (ECHO, renewal, answers overdue), and
//!   the restoration of a session on a new connection (shares connected again, durable opens
//!   reclaimed, requests in flight sent again with the replay flag). No socket, clock or OS
//!   randomness inside.
//! - One tokio task per session drives it; the handles [`Client`], [`Session`], [`Tree`] and
//!   [`File`] are `Clone + Send + Sync`, and every task's requests are pipelined on the one
//!   connection. A future dropped part-way (a timeout, a `select!`) abandons its own request
//!   only. A dropped connection is a delay for the caller, not an error.
//!
//! ```no_run
//! # async fn demo() -> Result<(), keyless_client::Error> {
//! use keyless_client::{Auth, Client};
//! let auth = Auth::Ntlm { user: "alice".into(), domain: String::new(), password: "secret".to_string().into() };
//! let client = Client::builder("files.example.test").auth(auth).connect().await?;
//! let share = client.tree("share").await?;
//! for entry in share.list("").await? {
//!     println!("{} {}", entry.size, entry.name);
//! }
//! # Ok(()) }
//! ```
#![allow(clippy::disallowed_methods)] // the driver reads the clock; `proto` (the core) does not

mod auth;
mod buffers;
mod client;
pub mod dfs;
mod driver;
mod error;
mod file;
#[cfg(feature = "fuzzing")]
pub mod fuzzing;
mod io;
mod listing;
#[warn(clippy::disallowed_methods)] // the sans-IO core: time comes from the driver
pub mod proto;
mod transfer;
mod tree;

pub use auth::{Auth, Renew, RenewFrom, RenewFuture};
pub use client::{Client, ClientBuilder, Pending, Session};
pub use driver::{Answer, NoticeHook};
pub use error::{Error, ErrorKind, Incompatibility, Misbehaviour, Misuse, RenewError};
pub use file::File;
pub use io::Blocking;
pub use keyless_net::Credentials;
pub use keyless_smb::change_notify::FileNotify;
pub use keyless_wire_enum::filetime;
pub use listing::Listing;
pub use proto::negotiate;
pub use proto::{Notice, SessionInfo};
pub use transfer::{Progress, ReadData, ReadPending, WINDOW_BYTES, WriteBuf, WritePending};
pub use tree::{Metadata, OpenHow, Tree};
