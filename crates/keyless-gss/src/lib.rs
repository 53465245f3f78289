//! # keyless-gss
//!
//! GSS-API security contexts for keyless, sans-IO: tokens in, tokens out.
//!
//! - [`framing`]: the RFC 2743 3.1 InitialContextToken (`0x60`, mechanism OID, inner token);
//! - [`krb5`]: the Kerberos V5 mechanism (RFC 4121, RFC 1964 framing): an initiator that sends
//!   an AP-REQ with the GSS checksum (0x8003), a fresh subkey and a sequence number and verifies
//!   the AP-REP; an acceptor that takes AP-REQs with a keytab; MIC and Wrap tokens on the
//!   established [`krb5::Context`]; the session key exported for SMB;
//! - [`spnego`]: SPNEGO (RFC 4178, MS-SPNG) for initiators ([`spnego::Initiator`]) and
//!   acceptors ([`spnego::accept_krb5`]), with the mechListMIC;
//! - [`ntlmssp`]: NTLMSSP with NTLMv2 (MS-NLMP), both sides;
//! - [`cifs_upcall`]: the kernel cifs client's `cifs.spnego` key descriptions and payloads.
//!
//! ```
//! use keyless_gss::framing;
//! // An InitialContextToken around a mechanism token, and back (RFC 2743 3.1).
//! let token = framing::wrap(framing::KRB5_OID, b"\x01\x00AP-REQ bytes");
//! let (oid, inner) = framing::unwrap(&token)?;
//! assert_eq!((oid, inner), (framing::KRB5_OID, &b"\x01\x00AP-REQ bytes"[..]));
//! assert!(framing::unwrap(&token[..5]).is_err()); // truncated: an error, not a panic
//! # Ok::<(), keyless_gss::Error>(())
//! ```

pub mod cifs_upcall;
pub mod framing;
pub mod krb5;
pub mod ntlmssp;
pub mod spnego;

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

mod error;

pub use error::{Error, ErrorKind};
