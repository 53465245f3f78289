//! # keyless-smb
//!
//! The SMB2/3 wire codec of keyless (MS-SMB2), sans-IO. Decoding checks every offset and length
//! against the message and borrows payloads (data, tokens, buffers, directory entries) from it:
//! nothing is copied but names, which become `String`s. Malformed input is a [`WireError`]
//! naming the field. Security buffers are opaque bytes: this crate knows no GSS and no
//! cryptography.
//!
//! Every body implements [`Message`]: `parse` over the whole message (offsets count from the
//! header), `body_len` before `write_body`, and `encode`/`to_vec` that write the header with the
//! right command. Framing: Direct TCP ([`framing`]), the sync/async header ([`header`]),
//! compound chains ([`compound`]), the encryption and compression wrappers ([`transform`]).
//! Messages: NEGOTIATE with its 3.1.1 contexts ([`negotiate`]), SESSION_SETUP
//! ([`session_setup`]), TREE_CONNECT ([`tree_connect`]), ECHO, LOGOFF, TREE_DISCONNECT, CANCEL,
//! FLUSH, CLOSE ([`control`]), CREATE and its contexts ([`create`]), READ and WRITE
//! ([`read_write`]), LOCK ([`lock`]), IOCTL and its FSCTL payloads ([`ioctl`]),
//! QUERY_DIRECTORY and directory entries ([`query_directory`]), CHANGE_NOTIFY
//! ([`change_notify`]), QUERY_INFO/SET_INFO and information structures ([`info`]), oplock and
//! lease breaks ([`oplock`]), and the ERROR response with error contexts ([`error_response`]).
//!
//! ```
//! use keyless_smb::control::Echo;
//! use keyless_smb::header::{Header, HeaderFields};
//! use keyless_smb::{Command, Message};
//! // An ECHO request as a client sends it (after the 4-byte Direct TCP length), decoded back.
//! let bytes = Echo.to_vec(&HeaderFields::request(Command::ECHO, 7, 0x1234, 0))?;
//! let header = Header::parse(&bytes)?;
//! assert_eq!((header.command(), header.message_id(), header.session_id()), (Command::ECHO, 7, 0x1234));
//! assert!(!header.is_response());
//! assert!(Header::parse(&bytes[..40]).is_err()); // truncated: a WireError naming the header
//! # Ok::<(), keyless_smb::WireError>(())
//! ```

mod body;
pub mod change_notify;
pub mod compound;
pub mod control;
pub mod create;
pub mod dfs;
mod error;
pub mod error_response;
pub mod framing;
pub mod header;
pub mod info;
pub mod ioctl;
pub mod lock;
mod message;
pub mod negotiate;
pub mod ntstatus;
mod numbers;
pub mod oplock;
pub mod query_directory;
pub mod read_write;
pub mod session_setup;
pub mod transform;
pub mod tree_connect;

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

pub use error::{ErrorKind, WireError};
pub use message::Message;
pub use numbers::{Command, Dialect, NtStatus};
