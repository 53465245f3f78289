//! RFC 3961 "Encryption and Checksum Specifications for Kerberos 5": the parts that the AES
//! enctypes build on, n-fold (5.1) and the simplified profile's key derivation DK (5.1, 5.3).
//! DES and DES3 are left out on purpose.

use crate::aes::Aes;
use crate::{CryptoError, KeyUsage};
use zeroize::Zeroizing;

/// n-fold (RFC 3961 5.1): stretches or shrinks `input` to `out_len` bytes.
///
/// Copies of the input, each rotated 13 bits further right than the one before, are laid end
/// to end up to the least common multiple of both lengths; the `out_len`-byte chunks of that are
/// then added with ones'-complement (end-around carry) arithmetic.
pub fn nfold(input: &[u8], out_len: usize) -> Vec<u8> {
    let mut out = vec![0u8; out_len];
    if input.is_empty() || out_len == 0 {
        return out;
    }
    let lcm = input.len() / gcd(input.len(), out_len) * out_len;
    let mut stretched = vec![0u8; lcm];
    for (copy, dest) in stretched.chunks_mut(input.len()).enumerate() {
        rotate_right_bits(input, 13 * copy, dest);
    }
    for chunk in stretched.chunks(out_len) {
        ones_complement_add(&mut out, chunk);
    }
    out
}

fn gcd(mut a: usize, mut b: usize) -> usize {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// `dest` = `src` rotated right by `bits` (as one big-endian bit string); equal lengths.
fn rotate_right_bits(src: &[u8], bits: usize, dest: &mut [u8]) {
    let n = src.len();
    let bytes = (bits / 8) % n;
    let shift = bits % 8;
    for (k, out) in dest.iter_mut().enumerate() {
        let hi = src[(k + n - bytes) % n];
        let lo = src[(k + 2 * n - bytes - 1) % n];
        *out = if shift == 0 { hi } else { (hi >> shift) | (lo << (8 - shift)) };
    }
}

/// `acc += addend` as big-endian numbers with end-around carry; equal lengths.
fn ones_complement_add(acc: &mut [u8], addend: &[u8]) {
    let mut carry = 0u16;
    for (a, b) in acc.iter_mut().zip(addend).rev() {
        let sum = u16::from(*a) + u16::from(*b) + carry;
        *a = sum as u8; // low byte; the high bit goes on as carry
        carry = sum >> 8;
    }
    while carry != 0 {
        for a in acc.iter_mut().rev() {
            let sum = u16::from(*a) + carry;
            *a = sum as u8;
            carry = sum >> 8;
            if carry == 0 {
                break;
            }
        }
    }
}

/// Which key the simplified profile derives for a key usage (RFC 3961 5.3).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DerivedKey {
    /// Kc, the checksum key (0x99).
    Checksum = 0x99,
    /// Ke, the encryption key (0xAA).
    Encryption = 0xAA,
    /// Ki, the integrity key (0x55).
    Integrity = 0x55,
}

impl DerivedKey {
    /// The role byte of a 5-byte usage constant, if it is one of the three.
    pub fn from_constant_byte(b: u8) -> Option<Self> {
        match b {
            0x99 => Some(Self::Checksum),
            0xAA => Some(Self::Encryption),
            0x55 => Some(Self::Integrity),
            _ => None,
        }
    }
}

/// The 5-byte well-known constant for `usage` and the derived key's role.
pub fn usage_constant(usage: KeyUsage, which: DerivedKey) -> [u8; 5] {
    let u = usage.0.to_be_bytes();
    [u[0], u[1], u[2], u[3], which as u8]
}

/// DK(key, constant) for AES key bytes (RFC 3961 5.1): DR iterates AES over the n-folded constant, and
/// AES's random-to-key is the identity. Returns `key.len()` bytes.
pub fn derive_key_aes(key: &[u8], constant: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let aes = Aes::new(key)?;
    let mut block: [u8; 16] = [0; 16];
    block.copy_from_slice(&nfold(constant, 16));
    let mut out = Zeroizing::new(Vec::with_capacity(key.len()));
    while out.len() < key.len() {
        aes.encrypt_block(&mut block);
        let take = (key.len() - out.len()).min(16);
        out.extend_from_slice(&block[..take]);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rotate_by_13_bits() {
        // 0x0001 rotated right by 13 over 16 bits is 0x0008.
        let mut out = [0u8; 2];
        rotate_right_bits(&[0x00, 0x01], 13, &mut out);
        assert_eq!(out, [0x00, 0x08]);
    }

    #[test]
    fn end_around_carry() {
        let mut acc = [0xff, 0xff];
        ones_complement_add(&mut acc, &[0x00, 0x01]);
        assert_eq!(acc, [0x00, 0x01]);
    }
}
