//! # keyless-net
//!
//! The runtime layer of keyless: everything that touches sockets, TLS, the clock or the OS's
//! random source on behalf of the sans-IO protocol crates below it. Each module is a thin
//! tokio driver around a core that lives elsewhere:
//!
//! - [`transport`]: Kerberos messages to KDCs over UDP, TCP and MS-KKDCP (HTTPS), with
//!   failover, driving `keyless-krb`'s `AsExchange` and `TgsExchange` ([`transport::run`]);
//! - [`kdc_proxy`]: an MS-KKDCP server in front of KDCs;
//! - [`tls`]: TLS with rustls kept inside (clients trust the system's roots plus given CAs; a
//!   server's certificate and key are a [`tls::ServerIdentity`]);
//! - [`http`]: one HTTP/1.1 exchange per connection, over TCP or TLS;
//! - [`credentials`]: a service ticket from a password, a keytab, a credential cache or a
//!   ticket in memory, asking the KDCs only when needed;
//! - [`identity`]: `keyless-identity`'s token flows and the kerbticket exchange carried over
//!   HTTP(S) ([`HttpClient`], [`OAuthTickets`]);
//! - [`OsRandom`]: the operating system's CSPRNG as a `RandomSource`.
//!
//! The `tls` feature (default) brings rustls for what speaks HTTPS: KDC proxies, the proxy
//! server and the identity endpoints. Without it a `https://` KDC is refused in one line.
//!
//! `keyless-krb`, `keyless-gss`, `keyless-smb` and `keyless-identity` depend on none of
//! tokio, rustls or getrandom, and read no clock: `cargo xtask layers` checks it.
//!
//! ```no_run
//! # async fn demo() -> Result<(), keyless_net::Error> {
//! use keyless_krb::{Principal, config::Krb5Conf};
//! use keyless_net::{Credentials, transport::KdcDirectory};
//! // A service ticket with the TGT of the default cache, from krb5.conf's KDCs.
//! let conf = Krb5Conf::load()?;
//! let cifs = Principal::parse("cifs/files.example.test@EXAMPLE.TEST", None)?;
//! let kdcs = KdcDirectory::from_config(&conf, &["EXAMPLE.TEST"])?;
//! let cache = keyless_krb::ccache::name::resolve("FILE:/tmp/krb5cc_1000", &conf.kcm_socket())?.cache;
//! let ticket = Credentials::Ccache(cache).service_ticket(&cifs, &kdcs).await?;
//! println!("{} until {}", ticket.server, ticket.end_time);
//! # Ok(()) }
//! ```
#![allow(clippy::disallowed_methods)] // the runtime layer: reads the clock for the cores

pub mod credentials;
mod error;
pub mod http;
#[cfg(feature = "tls")]
pub mod identity;
#[cfg(feature = "tls")]
pub mod kdc_proxy;
#[cfg(feature = "tls")]
pub mod tls;
pub mod transport;

pub use credentials::Credentials;
pub use error::Error;
#[cfg(feature = "tls")]
pub use identity::{HttpClient, OAuthTickets};

use keyless_krb::RandomSource;

/// The operating system's CSPRNG (getrandom).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), keyless_krb::Error> {
        getrandom::fill(buf).map_err(|e| keyless_krb::Error::Config(format!("no random numbers from the OS: {e}")))
    }
}
