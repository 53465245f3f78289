//! KerberosTime (RFC 4120 5.2.3): whole seconds, UTC, `YYYYMMDDHHMMSSZ`. Times are built here
//! from whole seconds only, so rasn never writes a fraction (librasn/rasn#550).

use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use rasn_kerberos::KerberosTime;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// Seconds since the Unix epoch (i64: ccache files hold 32-bit unsigned times; KDCs may say 2037+).
pub fn unix_seconds(t: SystemTime) -> i64 {
    match t.duration_since(UNIX_EPOCH) {
        Ok(d) => i64::try_from(d.as_secs()).unwrap_or(i64::MAX),
        Err(e) => -i64::try_from(e.duration().as_secs()).unwrap_or(i64::MAX),
    }
}

/// Microseconds within the second of `t` (for ctime/cusec pairs).
pub fn micros(t: SystemTime) -> u32 {
    t.duration_since(UNIX_EPOCH).map(|d| d.subsec_micros()).unwrap_or(0)
}

/// A KerberosTime of whole seconds.
pub fn kerberos_time(seconds: i64) -> KerberosTime {
    let utc = Utc.timestamp_opt(seconds, 0).single().unwrap_or(DateTime::<Utc>::MIN_UTC);
    KerberosTime(DateTime::<FixedOffset>::from(utc))
}

/// Seconds since the epoch of a decoded KerberosTime (any fraction is dropped).
pub fn seconds_of(t: &KerberosTime) -> i64 {
    t.0.timestamp()
}

/// `now + d` in whole seconds.
pub fn after(now: SystemTime, d: Duration) -> i64 {
    unix_seconds(now).saturating_add(i64::try_from(d.as_secs()).unwrap_or(i64::MAX))
}

/// Formats epoch seconds as MIT klist does: `MM/DD/YY HH:MM:SS` in UTC.
pub fn klist_format(seconds: i64) -> String {
    Utc.timestamp_opt(seconds, 0)
        .single()
        .map(|t| t.format("%m/%d/%y %H:%M:%S").to_string())
        .unwrap_or_else(|| seconds.to_string())
}

/// Formats epoch seconds as `YYYY-MM-DD HH:MM` in UTC (file listings).
pub fn format_utc(seconds: i64) -> String {
    Utc.timestamp_opt(seconds, 0)
        .single()
        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
        .unwrap_or_else(|| seconds.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_without_fraction() {
        let t = kerberos_time(1_700_000_000);
        let der = rasn::der::encode(&t).unwrap();
        assert_eq!(&der[2..], b"20231114221320Z");
        assert_eq!(seconds_of(&t), 1_700_000_000);
    }
}
