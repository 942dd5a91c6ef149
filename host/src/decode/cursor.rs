//! Bounds-checked little reader over a row image. Every read returns an error
//! instead of panicking, because binlog bytes come from the network and the
//! decoder must survive anything (it is fuzzed).

#[derive(Debug)]
pub(crate) struct Truncated;

pub(crate) struct Cursor<'a> {
    pub buf: &'a [u8],
    pub pos: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Cursor { buf, pos: 0 }
    }

    #[inline]
    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    #[inline]
    pub(crate) fn take(&mut self, n: usize) -> Result<&'a [u8], Truncated> {
        let end = self.pos.checked_add(n).ok_or(Truncated)?;
        let s = self.buf.get(self.pos..end).ok_or(Truncated)?;
        self.pos = end;
        Ok(s)
    }

    #[inline]
    pub(crate) fn u8(&mut self) -> Result<u8, Truncated> {
        Ok(self.take(1)?[0])
    }

    /// Little-endian unsigned integer of `n` (1..=8) bytes.
    #[inline]
    pub(crate) fn uint_le(&mut self, n: usize) -> Result<u64, Truncated> {
        let b = self.take(n)?;
        // Unrolled by hand rather than a copy of `n` bytes into an array:
        // that length is only known at run time, so the copy was a call to
        // memcpy for every integer, length and date read.
        let v = match *b {
            [a] => a as u64,
            [a, b] => u16::from_le_bytes([a, b]) as u64,
            [a, b, c] => u32::from_le_bytes([a, b, c, 0]) as u64,
            [a, b, c, d] => u32::from_le_bytes([a, b, c, d]) as u64,
            _ => {
                let mut v = [0u8; 8];
                v[..n].copy_from_slice(b);
                u64::from_le_bytes(v)
            }
        };
        Ok(v)
    }

    /// Big-endian unsigned integer of `n` (1..=8) bytes.
    #[inline]
    pub(crate) fn uint_be(&mut self, n: usize) -> Result<u64, Truncated> {
        let b = self.take(n)?;
        let mut v = [0u8; 8];
        v[8 - n..].copy_from_slice(b);
        Ok(u64::from_be_bytes(v))
    }
}
