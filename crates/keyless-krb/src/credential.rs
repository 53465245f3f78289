//! A Kerberos credential: a ticket, its session key and what the KDC said about it. The unit
//! that ccache files store and that the AS and TGS exchanges produce.

use crate::principal::Principal;
use keyless_crypto::Key;

/// A ticket with its session key (RFC 4120 EncKDCRepPart, as MIT ccaches keep it).
#[derive(Clone, Debug)]
pub struct Credential {
    /// The client principal.
    pub client: Principal,
    /// The service principal the ticket is for.
    pub server: Principal,
    /// The session key.
    pub session_key: Key,
    /// Times in seconds since the epoch (0 when absent).
    pub auth_time: i64,
    /// Start time (0: same as auth_time).
    pub start_time: i64,
    /// End time.
    pub end_time: i64,
    /// Renew-till (0: not renewable).
    pub renew_till: i64,
    /// TicketFlags as a big-endian mask.
    pub flags: u32,
    /// The DER-encoded Ticket.
    pub ticket: Vec<u8>,
}

impl Credential {
    /// Whether it is still valid at `now` (seconds), with `margin` seconds to spare.
    pub fn is_valid_at(&self, now: i64, margin: i64) -> bool {
        self.end_time > now.saturating_add(margin)
    }

    /// Whether this is a TGT for `realm` (krbtgt/realm@anything).
    pub fn is_tgt_for(&self, realm: &str) -> bool {
        self.server.krbtgt_target() == Some(realm)
    }
}
