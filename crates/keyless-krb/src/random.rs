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

/// Counts up from a seed: reproducible bytes for tests (never for keys).
#[cfg(test)]
#[derive(Debug, Default)]
pub(crate) struct Counting(pub u8);

#[cfg(test)]
impl RandomSource for Counting {
    fn fill(&mut self, buf: &mut [u8]) -> Result<(), Error> {
        for b in buf {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
        Ok(())
    }
}

/// A Kerberos nonce: 31 random bits (MIT and Windows KDCs treat it as a positive INTEGER).
pub(crate) fn nonce(rng: &mut dyn RandomSource) -> Result<u32, Error> {
    let mut b = [0u8; 4];
    rng.fill(&mut b)?;
    Ok(u32::from_be_bytes(b) & 0x7fff_ffff)
}
