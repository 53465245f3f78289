//! # keyless-krb
//!
//! A Kerberos V5 client (RFC 4120) for keyless:
//!
//! - sans-IO exchanges: [`AsExchange`] (pre-authentication with PA-ENC-TIMESTAMP, client
//!   referrals) and [`TgsExchange`] (service tickets, cross-realm TGTs, referrals). They say
//!   what to send to which realm ([`Step::Send`]) and take replies; time and randomness are
//!   passed in;
//! - MS-KKDCP's KDC-PROXY-MESSAGE ([`kkdcp`]) and just enough of the HTTP/1.1 message format
//!   to carry it ([`http`]), both sans-IO: keyless-net's transport and proxy server send them;
//! - MIT-compatible files: credential caches ([`ccache`], FILE format 4) and keytabs
//!   ([`keytab`], format 0x502), and the subset of `krb5.conf` that matters ([`config`]).
//!
//! Messages are rasn-kerberos types; the few it lacks live in [`messages`].
//!
//! ```
//! use keyless_krb::Principal;
//! use keyless_krb::config::Krb5Conf;
//! let conf = Krb5Conf::parse(
//!     "[libdefaults]\n default_realm = EXAMPLE.TEST\n[domain_realm]\n .files.example.test = FILES.TEST\n",
//! )
//! .expect("a krb5.conf");
//! let alice = Principal::parse("alice", conf.default_realm())?;
//! assert_eq!(alice.to_string(), "alice@EXAMPLE.TEST");
//! assert_eq!(conf.realm_for_host("share.files.example.test"), Some("FILES.TEST"));
//! # Ok::<(), keyless_krb::Error>(())
//! ```

pub mod as_exchange;
pub mod ccache;
pub mod config;
pub mod credential;
pub mod error;
pub mod fast;
mod files;
pub mod http;
pub mod keytab;
pub mod kkdcp;
pub mod krb_cred;
pub mod messages;
pub mod pac;
pub mod principal;
pub mod random;
mod reader;
pub mod tgs_exchange;
pub mod time;

#[cfg(feature = "fuzzing")]
pub mod fuzzing;

pub use as_exchange::{AsExchange, AsOptions, ClientSecret};
pub use credential::Credential;
pub use error::{Error, ErrorKind, KrbErrorCode};
pub use messages::TicketHeader;
pub use principal::Principal;
pub use random::RandomSource;
pub use tgs_exchange::{TgsExchange, TgsOptions};

/// What an exchange wants next.
#[derive(Debug)]
#[must_use]
pub enum Step {
    /// Send this message (unframed DER) to a KDC of `realm`, then hand the reply to the
    /// exchange's `handle_reply`.
    Send {
        /// The realm whose KDC must receive it.
        realm: String,
        /// The message.
        message: Vec<u8>,
    },
    /// The exchange is over: here is the credential.
    Done(Box<Credential>),
}
