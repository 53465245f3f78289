//! # keyless-gss
//!
//! GSS-API security contexts for keyless, sans-IO: tokens in, tokens out.
//!
//! - [`framing`]: the RFC 2743 3.1 InitialContextToken (`0x60`, mechanism OID, inner token);
//! - [`krb5`]: the Kerberos V5 mechanism (RFC 4121, RFC 1964 framing): an initiator that sends
//!   an AP-REQ with the GSS checksum (0x8003), a fresh subkey and a sequence number and verifies
//!   the AP-REP; an acceptor that takes AP-REQs with a keytab; MIC and Wrap tokens on the
//!   established [`krb5::Context`]; the session key exported for SMB.
//!
//! SPNEGO and NTLMSSP come next (see the crate's issue).

pub mod cifs_upcall;
pub mod framing;
pub mod krb5;
pub mod ntlmssp;
pub mod spnego;

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

mod error;

pub use error::{Error, ErrorKind};
