//! # keyless-smb
//!
//! The SMB2/3 wire codec of keyless (MS-SMB2), sans-IO: checked zero-copy views for decoding
//! (a view's constructor checks every offset and length; its accessors then cannot fail) and
//! plain structs that encode themselves. Security buffers are opaque bytes: this crate knows
//! no GSS and no cryptography.
//!
//! So far: Direct TCP framing ([`framing`]), the sync/async header ([`header`]), the protocol
//! numbers ([`Command`], [`NtStatus`], [`Dialect`]), NEGOTIATE with its 3.1.1 contexts
//! ([`negotiate`]), SESSION_SETUP ([`session_setup`]), TREE_CONNECT ([`tree_connect`]), and
//! ECHO, LOGOFF, TREE_DISCONNECT, FLUSH, CLOSE ([`control`]), READ, WRITE and the ERROR
//! response ([`read_write`]). The other messages follow (see the
//! crate's issue).

mod body;
pub mod control;
mod error;
pub mod framing;
pub mod header;
pub mod negotiate;
mod numbers;
pub mod read_write;
pub mod session_setup;
pub mod tree_connect;

#[doc(hidden)]
pub mod fuzzing;

pub use error::WireError;
pub use numbers::{Command, Dialect, NtStatus};
