//! Reading MessagePack events in place: one value at a time, borrowing
//! strings and bytes from the batch, so an event becomes JSON without a
//! tree of values built per row.

/// One MessagePack value's head. Arrays and maps give their length; their
/// elements follow in the reader.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(super) enum Mp<'a> {
    Nil,
    Bool(bool),
    /// Written with a signed marker (Sluice writes those for negatives).
    Int(i64),
    /// Written with an unsigned marker or as a positive fixint.
    Uint(u64),
    F32(f32),
    F64(f64),
    Str(&'a [u8]),
    Bin(&'a [u8]),
    Array(u32),
    Map(u32),
    /// Sluice writes none; a plugin might. Its bytes, without the type.
    Ext(&'a [u8]),
}

/// The bytes are not MessagePack, or end inside a value.
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Malformed;

#[derive(Clone)]
pub(super) struct Reader<'a> {
    b: &'a [u8],
    pub pos: usize,
}

impl<'a> Reader<'a> {
    pub(super) fn new(b: &'a [u8]) -> Self {
        Reader { b, pos: 0 }
    }

    pub(super) fn at(b: &'a [u8], pos: usize) -> Self {
        Reader { b, pos }
    }

    fn take(&mut self, n: usize) -> Result<&'a [u8], Malformed> {
        let end = self.pos.checked_add(n).ok_or(Malformed)?;
        let s = self.b.get(self.pos..end).ok_or(Malformed)?;
        self.pos = end;
        Ok(s)
    }

    fn be<const N: usize>(&mut self) -> Result<[u8; N], Malformed> {
        Ok(self.take(N)?.try_into().expect("N bytes"))
    }

    fn len(&mut self, bytes: usize) -> Result<usize, Malformed> {
        Ok(match bytes {
            1 => self.be::<1>()?[0] as usize,
            2 => u16::from_be_bytes(self.be()?) as usize,
            _ => u32::from_be_bytes(self.be()?) as usize,
        })
    }

    /// The next value's head (a whole value for scalars).
    pub(super) fn next(&mut self) -> Result<Mp<'a>, Malformed> {
        let m = self.be::<1>()?[0];
        Ok(match m {
            0x00..=0x7f => Mp::Uint(m as u64),
            0x80..=0x8f => Mp::Map((m & 0x0f) as u32),
            0x90..=0x9f => Mp::Array((m & 0x0f) as u32),
            0xa0..=0xbf => Mp::Str(self.take((m & 0x1f) as usize)?),
            0xc0 => Mp::Nil,
            0xc2 => Mp::Bool(false),
            0xc3 => Mp::Bool(true),
            0xc4..=0xc6 => {
                let n = self.len(1 << (m - 0xc4))?;
                Mp::Bin(self.take(n)?)
            }
            0xc7..=0xc9 => {
                let n = self.len(1 << (m - 0xc7))?;
                self.take(1)?;
                Mp::Ext(self.take(n)?)
            }
            0xca => Mp::F32(f32::from_be_bytes(self.be()?)),
            0xcb => Mp::F64(f64::from_be_bytes(self.be()?)),
            0xcc => Mp::Uint(self.be::<1>()?[0] as u64),
            0xcd => Mp::Uint(u16::from_be_bytes(self.be()?) as u64),
            0xce => Mp::Uint(u32::from_be_bytes(self.be()?) as u64),
            0xcf => Mp::Uint(u64::from_be_bytes(self.be()?)),
            0xd0 => Mp::Int(self.be::<1>()?[0] as i8 as i64),
            0xd1 => Mp::Int(i16::from_be_bytes(self.be()?) as i64),
            0xd2 => Mp::Int(i32::from_be_bytes(self.be()?) as i64),
            0xd3 => Mp::Int(i64::from_be_bytes(self.be()?)),
            0xd4..=0xd8 => {
                self.take(1)?;
                Mp::Ext(self.take(1 << (m - 0xd4))?)
            }
            0xd9..=0xdb => {
                let n = self.len(1 << (m - 0xd9))?;
                Mp::Str(self.take(n)?)
            }
            0xdc => Mp::Array(self.len(2)? as u32),
            0xdd => Mp::Array(self.len(4)? as u32),
            0xde => Mp::Map(self.len(2)? as u32),
            0xdf => Mp::Map(self.len(4)? as u32),
            0xe0..=0xff => Mp::Int(m as i8 as i64),
            _ => return Err(Malformed), // 0xc1, never used
        })
    }

    /// Steps over one whole value, nested ones included.
    pub(super) fn skip(&mut self) -> Result<(), Malformed> {
        let mut pending: u64 = 1;
        while pending > 0 {
            pending -= 1;
            match self.next()? {
                Mp::Array(n) => pending += n as u64,
                Mp::Map(n) => pending += 2 * n as u64,
                _ => {}
            }
        }
        Ok(())
    }

    /// A string key (map keys Sluice writes are strings).
    pub(super) fn key(&mut self) -> Result<&'a [u8], Malformed> {
        match self.next()? {
            Mp::Str(s) => Ok(s),
            _ => Err(Malformed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::msgpack::*;

    #[test]
    fn every_kind_reads_back() {
        let mut b = Vec::new();
        write_map_header(&mut b, 2);
        write_str(&mut b, "a");
        write_int(&mut b, -5);
        write_str(&mut b, "b");
        write_array_header(&mut b, 3);
        write_uint(&mut b, u64::MAX);
        write_f32(&mut b, 1.5);
        write_bin(&mut b, &[1, 2]);
        write_str(&mut b, &"x".repeat(300));
        write_nil(&mut b);
        write_bool(&mut b, true);
        write_f64(&mut b, -0.25);
        let mut r = Reader::new(&b);
        assert_eq!(r.next(), Ok(Mp::Map(2)));
        assert_eq!(r.key(), Ok(&b"a"[..]));
        assert_eq!(r.next(), Ok(Mp::Int(-5)));
        assert_eq!(r.key(), Ok(&b"b"[..]));
        let at = r.pos;
        r.skip().unwrap();
        let mut again = Reader::at(&b, at);
        assert_eq!(again.next(), Ok(Mp::Array(3)));
        assert_eq!(again.next(), Ok(Mp::Uint(u64::MAX)));
        assert_eq!(again.next(), Ok(Mp::F32(1.5)));
        assert_eq!(again.next(), Ok(Mp::Bin(&[1, 2])));
        assert_eq!(again.pos, r.pos, "skip stepped over the whole array");
        assert!(matches!(r.next(), Ok(Mp::Str(s)) if s.len() == 300));
        assert_eq!(r.next(), Ok(Mp::Nil));
        assert_eq!(r.next(), Ok(Mp::Bool(true)));
        assert_eq!(r.next(), Ok(Mp::F64(-0.25)));
        assert_eq!(r.next(), Err(Malformed), "nothing left");
    }

    #[test]
    fn truncated_values_are_malformed_not_a_panic() {
        for bytes in [&[0xd9, 5, b'a'][..], &[0xcd, 1], &[0x92, 1], &[0xc1]] {
            assert_eq!(Reader::new(bytes).skip(), Err(Malformed), "{bytes:?}");
        }
    }
}
