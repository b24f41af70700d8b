//! The canonical binary encoding that is signed and hashed.
//!
//! Signing fields glued together without separators lets two different
//! licenses produce the same bytes; every variable-length value here carries a
//! length or count prefix, integers are fixed-width big-endian, and the reader
//! accepts exactly what the writer produces (no trailing bytes, option tags
//! only 0 or 1, UTF-8 checked), so each value has one encoding and each
//! encoding one value.

use crate::error::{Error, Result, malformed};

/// Appends fields to a byte buffer in the canonical encoding.
#[derive(Debug, Default)]
pub(crate) struct Writer {
    buf: Vec<u8>,
}

impl Writer {
    pub(crate) fn new() -> Self {
        Self::default()
    }

    pub(crate) fn into_bytes(self) -> Vec<u8> {
        self.buf
    }

    pub(crate) fn u8(&mut self, v: u8) {
        self.buf.push(v);
    }

    pub(crate) fn u16(&mut self, v: u16) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u32(&mut self, v: u32) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn u64(&mut self, v: u64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn i64(&mut self, v: i64) {
        self.buf.extend_from_slice(&v.to_be_bytes());
    }

    pub(crate) fn fixed(&mut self, v: &[u8]) {
        self.buf.extend_from_slice(v);
    }

    /// A count prefix (u16) for a list; fails when the list is too long.
    pub(crate) fn count(&mut self, field: &str, n: usize) -> Result<()> {
        let n = u16::try_from(n)
            .map_err(|_| Error::Invalid(format!("{field}: more than 65535 entries")))?;
        self.u16(n);
        Ok(())
    }

    /// A UTF-8 string with a u16 byte-length prefix.
    pub(crate) fn str(&mut self, field: &str, s: &str) -> Result<()> {
        let n = u16::try_from(s.len())
            .map_err(|_| Error::Invalid(format!("{field}: longer than 65535 bytes")))?;
        self.u16(n);
        self.buf.extend_from_slice(s.as_bytes());
        Ok(())
    }

    /// Option tag: 0 = absent, 1 = present (value follows).
    pub(crate) fn opt_i64(&mut self, v: Option<i64>) {
        match v {
            None => self.u8(0),
            Some(v) => {
                self.u8(1);
                self.i64(v);
            }
        }
    }
}

/// Reads fields back, rejecting anything the writer would not produce.
#[derive(Debug)]
pub(crate) struct Reader<'a> {
    rest: &'a [u8],
}

impl<'a> Reader<'a> {
    pub(crate) fn new(bytes: &'a [u8]) -> Self {
        Self { rest: bytes }
    }

    pub(crate) fn take(&mut self, n: usize, field: &str) -> Result<&'a [u8]> {
        if self.rest.len() < n {
            return Err(malformed(format!("{field}: unexpected end of data")));
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub(crate) fn array<const N: usize>(&mut self, field: &str) -> Result<[u8; N]> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.take(N, field)?);
        Ok(out)
    }

    pub(crate) fn u8(&mut self, field: &str) -> Result<u8> {
        Ok(self.array::<1>(field)?[0])
    }

    pub(crate) fn u16(&mut self, field: &str) -> Result<u16> {
        Ok(u16::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u32(&mut self, field: &str) -> Result<u32> {
        Ok(u32::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn u64(&mut self, field: &str) -> Result<u64> {
        Ok(u64::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn i64(&mut self, field: &str) -> Result<i64> {
        Ok(i64::from_be_bytes(self.array(field)?))
    }

    pub(crate) fn str(&mut self, field: &str) -> Result<String> {
        let n = self.u16(field)?;
        let bytes = self.take(usize::from(n), field)?;
        let s = std::str::from_utf8(bytes)
            .map_err(|_| malformed(format!("{field}: not valid UTF-8")))?;
        Ok(s.to_owned())
    }

    /// Reads an option tag; true when a value follows.
    pub(crate) fn tag(&mut self, field: &str) -> Result<bool> {
        match self.u8(field)? {
            0 => Ok(false),
            1 => Ok(true),
            t => Err(malformed(format!("{field}: option tag {t} is not 0 or 1"))),
        }
    }

    pub(crate) fn opt_i64(&mut self, field: &str) -> Result<Option<i64>> {
        if self.tag(field)? {
            Ok(Some(self.i64(field)?))
        } else {
            Ok(None)
        }
    }

    /// Fails unless every byte was consumed.
    pub(crate) fn finish(self) -> Result<()> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(malformed(format!("{} trailing bytes", self.rest.len())))
        }
    }
}

/// Prefixes a message with its domain-separation context: `u8 len || context`.
pub(crate) fn with_context(context: &str, body: &[u8]) -> Vec<u8> {
    let mut msg = Vec::with_capacity(1 + context.len() + body.len());
    // Contexts are short ASCII constants defined in this crate.
    msg.push(u8::try_from(context.len()).unwrap_or(u8::MAX));
    msg.extend_from_slice(context.as_bytes());
    msg.extend_from_slice(body);
    msg
}

/// Checks that `items` is strictly ascending (sorted, no duplicates).
pub(crate) fn strictly_ascending<T: Ord>(items: &[T]) -> bool {
    items.windows(2).all(|w| w[0] < w[1])
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn round_trip_and_strictness() {
        let mut w = Writer::new();
        w.u8(7);
        w.u16(0x0102);
        w.str("s", "héllo").unwrap();
        w.opt_i64(Some(-1));
        w.opt_i64(None);
        let bytes = w.into_bytes();
        assert_eq!(
            bytes,
            [
                7, 1, 2, 0, 6, b'h', 0xc3, 0xa9, b'l', b'l', b'o', 1, 255, 255, 255, 255, 255, 255,
                255, 255, 0
            ]
        );
        let mut r = Reader::new(&bytes);
        assert_eq!(r.u8("a").unwrap(), 7);
        assert_eq!(r.u16("b").unwrap(), 0x0102);
        assert_eq!(r.str("s").unwrap(), "héllo");
        assert_eq!(r.opt_i64("o").unwrap(), Some(-1));
        assert_eq!(r.opt_i64("o").unwrap(), None);
        r.finish().unwrap();

        assert!(Reader::new(&[2]).tag("t").is_err());
        assert!(Reader::new(&[0, 2, 0xff, 0xfe]).str("s").is_err());
        assert!(Reader::new(&[0, 3, b'a']).str("s").is_err());
        assert!(Reader::new(&[1]).finish().is_err());
    }

    #[test]
    fn context_prefix() {
        assert_eq!(with_context("ab", &[9]), vec![2, b'a', b'b', 9]);
    }
}
