//! A checked big-endian reader for the binary file formats (ccache, keytab): every read says
//! what it was reading, and running out of bytes is an error, never a panic.

use crate::Error;

pub(crate) struct Reader<'a> {
    data: &'a [u8],
    what: &'static str,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(data: &'a [u8], what: &'static str) -> Self {
        Self { data, what }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    pub(crate) fn remaining(&self) -> usize {
        self.data.len()
    }

    fn short(&self, field: &'static str, need: usize) -> Error {
        Error::Malformed { what: self.what, detail: format!("{field}: need {need} bytes, {} left", self.data.len()) }
    }

    pub(crate) fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], Error> {
        let (head, tail) = self.data.split_at_checked(n).ok_or_else(|| self.short(field, n))?;
        self.data = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], Error> {
        let b = self.take(N, field)?;
        let mut out = [0u8; N];
        out.copy_from_slice(b);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &'static str) -> Result<u8, Error> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &'static str) -> Result<u16, Error> {
        self.array(field).map(u16::from_be_bytes)
    }

    pub(crate) fn u32(&mut self, field: &'static str) -> Result<u32, Error> {
        self.array(field).map(u32::from_be_bytes)
    }

    pub(crate) fn i32(&mut self, field: &'static str) -> Result<i32, Error> {
        self.array(field).map(i32::from_be_bytes)
    }

    /// A 32-bit length, then that many bytes.
    pub(crate) fn data32(&mut self, field: &'static str) -> Result<&'a [u8], Error> {
        let n = self.u32(field)?;
        self.take(usize::try_from(n).unwrap_or(usize::MAX), field)
    }

    /// A 16-bit length, then that many bytes.
    pub(crate) fn data16(&mut self, field: &'static str) -> Result<&'a [u8], Error> {
        let n = self.u16(field)?;
        self.take(usize::from(n), field)
    }
}

/// Text from a file field (names are bytes on the wire; lossy for display and comparison).
pub(crate) fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Writes a length-prefixed field; lengths beyond the prefix width are refused.
pub(crate) fn put_data32(out: &mut Vec<u8>, data: &[u8], what: &'static str) -> Result<(), Error> {
    let n =
        u32::try_from(data.len()).map_err(|_| Error::Malformed { what, detail: "field longer than 4 GiB".into() })?;
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(data);
    Ok(())
}

pub(crate) fn put_data16(out: &mut Vec<u8>, data: &[u8], what: &'static str) -> Result<(), Error> {
    let n = u16::try_from(data.len())
        .map_err(|_| Error::Malformed { what, detail: "field longer than 65535 bytes".into() })?;
    out.extend_from_slice(&n.to_be_bytes());
    out.extend_from_slice(data);
    Ok(())
}
