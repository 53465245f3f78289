//! Randomness comes from outside the protocol cores: nonces and confounders are drawn from a
//! caller's [`RandomSource`], so tests can replay an exchange byte for byte.

use crate::Error;

/// A source of cryptographically secure random bytes.
pub trait RandomSource: Send {
    /// Fills `buf` with random bytes.
    ///
    /// # Errors
    /// When the source is unavailable.
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Error>;
}

/// The operating system's CSPRNG (getrandom).
#[derive(Debug, Default, Clone, Copy)]
pub struct OsRandom;

impl RandomSource for OsRandom {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        getrandom::fill(buf).map_err(|e| Error::Config(format!("no random numbers from the OS: {e}")))
    }
}

/// A Kerberos nonce: 31 random bits (MIT and Windows KDCs treat it as a positive INTEGER).
pub(crate) fn nonce(rng: &mut dyn RandomSource) -> Result<u32, Error> {
    let mut b = [0u8; 4];
    rng.fill(&mut b)?;
    Ok(u32::from_be_bytes(b) & 0x7fff_ffff)
}
