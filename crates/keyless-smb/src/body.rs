//! The small pieces every message body is read and written with: the fixed-part check,
//! little-endian fields at checked positions, (offset, length) buffers, UTF-16LE names.

use crate::{WireError, header};

/// The body after a checked header: at least `need` bytes, with StructureSize `size`.
#[inline]
pub(crate) fn fixed<'a>(
    message: &'a [u8],
    need: usize,
    size: u16,
    structure: &'static str,
) -> Result<&'a [u8], WireError> {
    header::Header::parse(message)?;
    let body = message.get(header::LEN..).filter(|b| b.len() >= need).ok_or(WireError::Truncated {
        structure,
        need: header::LEN + need,
        got: message.len(),
    })?;
    let got: u16 = get(body, STRUCTURE_SIZE);
    if got != size {
        return Err(WireError::BadStructureSize { structure, got });
    }
    Ok(body)
}

/// Where a field lies in a structure, counted from the structure's start (a message body's
/// fields from the end of the header): each message states its layout once, as a `mod` of
/// these, and both its reader ([`get`]) and its writer ([`put`]) use it (smoltcp's `mod field`).
pub(crate) type Field = core::ops::Range<usize>;

/// The field of a `T` starting at `at` (for layouts that move with a class or version).
#[inline]
pub(crate) const fn field<T>(at: usize) -> Field {
    at..at + size_of::<T>()
}

/// NextEntryOffset, the first field of every entry of a chained list.
pub(crate) const NEXT_ENTRY_OFFSET: Field = 0..4;

/// StructureSize, the first field of every body.
pub(crate) const STRUCTURE_SIZE: Field = 0..2;

/// A little-endian value a field holds.
pub(crate) trait Le: Sized {
    /// Reads the field (its range lies in `b`: the caller checked the length).
    fn read(b: &[u8], f: Field) -> Self;
    /// Writes the field (its range lies in `b`).
    fn write(self, b: &mut [u8], f: Field);
}

macro_rules! le_int {
    ($($t:ty),*) => {$(
        impl Le for $t {
            // The copy's length is the type's, known at compile time (only the start is
            // checked against the slice), as fast as a fixed-offset read.
            #[inline(always)]
            fn read(b: &[u8], f: Field) -> Self {
                const N: usize = size_of::<$t>();
                debug_assert_eq!(f.len(), N, "a layout's field and its type disagree");
                let mut x = [0u8; N];
                x.copy_from_slice(&b[f.start..f.start + N]);
                <$t>::from_le_bytes(x)
            }
            #[inline(always)]
            fn write(self, b: &mut [u8], f: Field) {
                const N: usize = size_of::<$t>();
                debug_assert_eq!(f.len(), N, "a layout's field and its type disagree");
                b[f.start..f.start + N].copy_from_slice(&self.to_le_bytes());
            }
        }
    )*};
}
le_int!(u8, u16, u32, u64);

impl<const N: usize> Le for [u8; N] {
    #[inline(always)]
    fn read(b: &[u8], f: Field) -> Self {
        debug_assert_eq!(f.len(), N, "a layout's field and its type disagree");
        let mut x = [0u8; N];
        x.copy_from_slice(&b[f.start..f.start + N]);
        x
    }
    #[inline(always)]
    fn write(self, b: &mut [u8], f: Field) {
        debug_assert_eq!(f.len(), N, "a layout's field and its type disagree");
        b[f.start..f.start + N].copy_from_slice(&self);
    }
}

/// The value of field `f` of `b` (a checked fixed part).
#[inline(always)]
pub(crate) fn get<T: Le>(b: &[u8], f: Field) -> T {
    T::read(b, f)
}

/// Sets field `f` of `b` (a fixed part from [`fixed_part`]).
#[inline(always)]
pub(crate) fn put<T: Le>(b: &mut [u8], f: Field, v: T) {
    v.write(b, f);
}

/// Appends a zeroed fixed part of `len` bytes with its StructureSize `size`, to be filled
/// with [`put`]; reserved fields stay zero.
#[inline]
pub(crate) fn fixed_part(out: &mut Vec<u8>, len: usize, size: u16) -> &mut [u8] {
    let b = zeroed(out, len);
    put(b, STRUCTURE_SIZE, size);
    b
}

/// Appends `len` zero bytes (a structure without StructureSize) to be filled with [`put`].
#[inline]
pub(crate) fn zeroed(out: &mut Vec<u8>, len: usize) -> &mut [u8] {
    let start = out.len();
    out.resize(start + len, 0);
    &mut out[start..]
}

/// The buffer an (offset, length) pair of a message points to; offsets count from the start of
/// the SMB2 header, so a non-empty buffer never starts inside the header or the fixed body.
#[inline]
pub(crate) fn buffer<'a>(
    message: &'a [u8],
    offset: usize,
    len: usize,
    min_offset: usize,
    field: &'static str,
) -> Result<&'a [u8], WireError> {
    if len == 0 {
        return Ok(&[]);
    }
    if offset < min_offset {
        return Err(WireError::OutOfBounds { field });
    }
    offset.checked_add(len).and_then(|end| message.get(offset..end)).ok_or(WireError::OutOfBounds { field })
}

/// UTF-16LE bytes to a `String`.
pub(crate) fn utf16(raw: &[u8], field: &'static str) -> Result<String, WireError> {
    if !raw.len().is_multiple_of(2) {
        return Err(WireError::Misaligned { field });
    }
    char::decode_utf16(raw.chunks_exact(2).map(|c| u16::from_le_bytes([c[0], c[1]])))
        .collect::<Result<String, _>>()
        .map_err(|_| WireError::BadValue { field })
}

/// Bytes `s` takes in UTF-16LE.
pub(crate) fn utf16_len(s: &str) -> usize {
    s.encode_utf16().count() * 2
}

/// Appends `s` in UTF-16LE.
pub(crate) fn put_utf16(out: &mut Vec<u8>, s: &str) {
    for unit in s.encode_utf16() {
        out.extend_from_slice(&unit.to_le_bytes());
    }
}

/// At least `n` bytes of a fixed structure.
pub(crate) fn need(data: &[u8], n: usize, structure: &'static str) -> Result<(), WireError> {
    if data.len() < n { Err(WireError::Truncated { structure, need: n, got: data.len() }) } else { Ok(()) }
}

/// A length that must fit its field.
pub(crate) fn fit16(len: usize, field: &'static str) -> Result<u16, WireError> {
    u16::try_from(len).map_err(|_| WireError::BadValue { field })
}

/// A length that must fit its field.
pub(crate) fn fit32(len: usize, field: &'static str) -> Result<u32, WireError> {
    u32::try_from(len).map_err(|_| WireError::BadValue { field })
}

/// Zeros up to the next multiple of 8 counted from `start`.
pub(crate) fn pad8(out: &mut Vec<u8>, start: usize) {
    out.resize(start + (out.len() - start).next_multiple_of(8), 0);
}

/// A list of 8-byte aligned entries chained by a 32-bit NextEntryOffset at the start of each
/// (directory entries, FILE_NOTIFY_INFORMATION, create contexts, FILE_FULL_EA_INFORMATION):
/// yields each entry as the slice up to the next one (or the end of the buffer), checked to be
/// at least `min` bytes long.
pub(crate) fn chained<'a>(
    buf: &'a [u8],
    min: usize,
    field: &'static str,
) -> impl Iterator<Item = Result<&'a [u8], WireError>> + 'a {
    let mut rest = Some(buf).filter(|b| !b.is_empty());
    core::iter::from_fn(move || {
        let cur = rest.take()?;
        if cur.len() < min {
            return Some(Err(WireError::Truncated { structure: field, need: min, got: cur.len() }));
        }
        let next = get::<u32>(cur, NEXT_ENTRY_OFFSET) as usize;
        if next == 0 {
            return Some(Ok(cur));
        }
        if next < min || next > cur.len() {
            return Some(Err(WireError::OutOfBounds { field }));
        }
        rest = Some(&cur[next..]);
        Some(Ok(&cur[..next]))
    })
}

/// Writes `items` as a chained list: each entry's NextEntryOffset (its first four bytes) points
/// to the next 8-byte aligned entry; the last says 0. `write` appends one entry, NextEntryOffset
/// included (as zero).
pub(crate) fn write_chained<T>(
    out: &mut Vec<u8>,
    items: &[T],
    mut write: impl FnMut(&T, &mut Vec<u8>) -> Result<(), WireError>,
) -> Result<(), WireError> {
    let mut prev: Option<usize> = None;
    for item in items {
        if let Some(p) = prev {
            pad8(out, p);
            let next = fit32(out.len() - p, "NextEntryOffset")?;
            put(&mut out[p..], NEXT_ENTRY_OFFSET, next);
        }
        prev = Some(out.len());
        write(item, out)?;
    }
    Ok(())
}

/// The length `write_chained` produces for entries of these lengths.
pub(crate) fn chained_len(lens: impl Iterator<Item = usize>) -> usize {
    let mut total: usize = 0;
    for (i, len) in lens.enumerate() {
        if i > 0 {
            total = total.next_multiple_of(8);
        }
        total += len;
    }
    total
}
