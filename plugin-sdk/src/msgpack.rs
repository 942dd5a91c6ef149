//! A minimal MessagePack reader for reading one column without decoding
//! the whole event: walk the top-level map, skip what is not needed.

/// A borrowed MessagePack value. Containers and extensions are returned as
/// their raw encoding (decode them with `rmpv`/`rmp-serde` if needed).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Value<'a> {
    Nil,
    Bool(bool),
    Int(i64),
    UInt(u64),
    F32(f32),
    F64(f64),
    Str(&'a str),
    Bin(&'a [u8]),
    Array(&'a [u8]),
    Map(&'a [u8]),
    Ext(&'a [u8]),
}

impl<'a> Value<'a> {
    /// Parses the value at the start of `buf`.
    pub fn parse(buf: &'a [u8]) -> Option<Value<'a>> {
        let (h, pos) = header(buf, 0)?;
        Some(match h {
            Header::Nil => Value::Nil,
            Header::Bool(b) => Value::Bool(b),
            Header::Int(i) => Value::Int(i),
            Header::UInt(u) => Value::UInt(u),
            Header::F32(f) => Value::F32(f),
            Header::F64(f) => Value::F64(f),
            Header::Str(n) => Value::Str(std::str::from_utf8(buf.get(pos..pos + n)?).ok()?),
            Header::Bin(n) => Value::Bin(buf.get(pos..pos + n)?),
            Header::Array => Value::Array(&buf[..skip(buf)?]),
            Header::Map => Value::Map(&buf[..skip(buf)?]),
            Header::Ext => Value::Ext(&buf[..skip(buf)?]),
        })
    }

    pub fn is_nil(&self) -> bool {
        matches!(self, Value::Nil)
    }

    pub fn as_str(&self) -> Option<&'a str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }

    pub fn as_i64(&self) -> Option<i64> {
        match *self {
            Value::Int(i) => Some(i),
            Value::UInt(u) => i64::try_from(u).ok(),
            _ => None,
        }
    }

    /// Appends a text form of scalars (strings as-is, numbers in decimal,
    /// binary raw); returns false for nil and containers.
    pub fn write_text(&self, out: &mut Vec<u8>) -> bool {
        use std::io::Write;
        match *self {
            Value::Str(s) => out.extend_from_slice(s.as_bytes()),
            Value::Bin(b) => out.extend_from_slice(b),
            Value::Int(i) => {
                if i < 0 {
                    out.push(b'-');
                }
                push_decimal(out, i.unsigned_abs())
            }
            Value::UInt(u) => push_decimal(out, u),
            Value::F32(f) => write!(out, "{f}").unwrap(),
            Value::F64(f) => write!(out, "{f}").unwrap(),
            Value::Bool(b) => write!(out, "{b}").unwrap(),
            Value::Nil | Value::Array(_) | Value::Map(_) | Value::Ext(_) => return false,
        }
        true
    }

    /// The text form as a `String` (see `write_text`).
    pub fn to_text(&self) -> Option<String> {
        let mut v = Vec::new();
        self.write_text(&mut v)
            .then(|| String::from_utf8_lossy(&v).into_owned())
    }
}

/// Appends `n` in decimal: what `write!(out, "{n}")` writes, without the
/// formatting machinery (keys and topics are often built from integer ids).
fn push_decimal(out: &mut Vec<u8>, mut n: u64) {
    let mut digits = [0u8; 20];
    let mut i = digits.len();
    loop {
        i -= 1;
        digits[i] = b'0' + (n % 10) as u8;
        n /= 10;
        if n == 0 {
            break;
        }
    }
    out.extend_from_slice(&digits[i..]);
}

enum Header {
    Nil,
    Bool(bool),
    Int(i64),
    UInt(u64),
    F32(f32),
    F64(f64),
    /// Byte length follows.
    Str(usize),
    Bin(usize),
    // Containers and extensions: only their kind matters to `parse`, which
    // measures them with `skip`.
    Array,
    Map,
    Ext,
}

fn be<const N: usize>(buf: &[u8], pos: usize) -> Option<[u8; N]> {
    buf.get(pos..pos + N)?.try_into().ok()
}

/// Reads a value's header; returns it and the position after it.
fn header(buf: &[u8], pos: usize) -> Option<(Header, usize)> {
    let m = *buf.get(pos)?;
    let p = pos + 1;
    let n8 = |p| be::<1>(buf, p).map(|b| b[0] as usize);
    let n16 = |p| be::<2>(buf, p).map(|b| u16::from_be_bytes(b) as usize);
    let n32 = |p| be::<4>(buf, p).map(|b| u32::from_be_bytes(b) as usize);
    Some(match m {
        0x00..=0x7f => (Header::UInt(m as u64), p),
        0x80..=0x8f => (Header::Map, p),
        0x90..=0x9f => (Header::Array, p),
        0xa0..=0xbf => (Header::Str((m & 0x1f) as usize), p),
        0xc0 => (Header::Nil, p),
        0xc2 => (Header::Bool(false), p),
        0xc3 => (Header::Bool(true), p),
        0xc4 => (Header::Bin(n8(p)?), p + 1),
        0xc5 => (Header::Bin(n16(p)?), p + 2),
        0xc6 => (Header::Bin(n32(p)?), p + 4),
        0xc7 => (Header::Ext, p + 1),
        0xc8 => (Header::Ext, p + 2),
        0xc9 => (Header::Ext, p + 4),
        0xca => (Header::F32(f32::from_be_bytes(be(buf, p)?)), p + 4),
        0xcb => (Header::F64(f64::from_be_bytes(be(buf, p)?)), p + 8),
        0xcc => (Header::UInt(be::<1>(buf, p)?[0] as u64), p + 1),
        0xcd => (Header::UInt(u16::from_be_bytes(be(buf, p)?) as u64), p + 2),
        0xce => (Header::UInt(u32::from_be_bytes(be(buf, p)?) as u64), p + 4),
        0xcf => (Header::UInt(u64::from_be_bytes(be(buf, p)?)), p + 8),
        0xd0 => (Header::Int(be::<1>(buf, p)?[0] as i8 as i64), p + 1),
        0xd1 => (Header::Int(i16::from_be_bytes(be(buf, p)?) as i64), p + 2),
        0xd2 => (Header::Int(i32::from_be_bytes(be(buf, p)?) as i64), p + 4),
        0xd3 => (Header::Int(i64::from_be_bytes(be(buf, p)?)), p + 8),
        0xd4 => (Header::Ext, p),
        0xd5 => (Header::Ext, p),
        0xd6 => (Header::Ext, p),
        0xd7 => (Header::Ext, p),
        0xd8 => (Header::Ext, p),
        0xd9 => (Header::Str(n8(p)?), p + 1),
        0xda => (Header::Str(n16(p)?), p + 2),
        0xdb => (Header::Str(n32(p)?), p + 4),
        0xdc => (Header::Array, p + 2),
        0xdd => (Header::Array, p + 4),
        0xde => (Header::Map, p + 2),
        0xdf => (Header::Map, p + 4),
        0xe0..=0xff => (Header::Int(m as i8 as i64), p),
        0xc1 => return None,
    })
}

/// Length of the encoded value at the start of `buf`.
pub fn skip(buf: &[u8]) -> Option<usize> {
    skip_at(buf, 0)
}

fn len8(buf: &[u8], pos: usize) -> Option<usize> {
    buf.get(pos).map(|b| *b as usize)
}
fn len16(buf: &[u8], pos: usize) -> Option<usize> {
    be::<2>(buf, pos).map(|b| u16::from_be_bytes(b) as usize)
}
fn len32(buf: &[u8], pos: usize) -> Option<usize> {
    be::<4>(buf, pos).map(|b| u32::from_be_bytes(b) as usize)
}

/// Position after the value starting at `pos`. This is the hot loop of
/// column lookups, so it matches markers directly: the position of the
/// next value depends only on the branch taken for fixed-size values (which
/// the CPU predicts), and on one length for strings. Iterative, so deeply
/// nested JSON columns cannot overflow the stack. Every read is
/// bounds-checked; offsets cannot overflow.
fn skip_at(buf: &[u8], mut pos: usize) -> Option<usize> {
    // Values still to skip, counting the one at `pos`.
    let mut pending: usize = 1;
    while pending > 0 {
        pending -= 1;
        let m = *buf.get(pos)?;
        match m {
            0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => pos += 1,
            0xa0..=0xbf => pos += 1 + (m & 0x1f) as usize,
            0x80..=0x8f => {
                pos += 1;
                pending += 2 * (m & 0x0f) as usize;
            }
            0x90..=0x9f => {
                pos += 1;
                pending += (m & 0x0f) as usize;
            }
            0xcb | 0xcf | 0xd3 => pos += 9,
            0xcc | 0xd0 => pos += 2,
            0xcd | 0xd1 | 0xd4 => pos += 3,
            0xd5 => pos += 4,
            0xca | 0xce | 0xd2 => pos += 5,
            0xd6 => pos += 6,
            0xd7 => pos += 10,
            0xd8 => pos += 18,
            0xc4 | 0xd9 => pos += 2 + len8(buf, pos + 1)?,
            0xc5 | 0xda => pos += 3 + len16(buf, pos + 1)?,
            0xc6 | 0xdb => pos = pos.checked_add(len32(buf, pos + 1)?.checked_add(5)?)?,
            // ext: length, type byte, data
            0xc7 => pos += 3 + len8(buf, pos + 1)?,
            0xc8 => pos += 4 + len16(buf, pos + 1)?,
            0xc9 => pos = pos.checked_add(len32(buf, pos + 1)?.checked_add(6)?)?,
            0xdc => {
                pending = pending.checked_add(len16(buf, pos + 1)?)?;
                pos += 3;
            }
            0xdd => {
                pending = pending.checked_add(len32(buf, pos + 1)?)?;
                pos += 5;
            }
            0xde => {
                pending = pending.checked_add(2 * len16(buf, pos + 1)?)?;
                pos += 3;
            }
            0xdf => {
                pending = pending.checked_add(len32(buf, pos + 1)?.checked_mul(2)?)?;
                pos += 5;
            }
            0xc1 => return None, // never used
        }
    }
    (pos <= buf.len()).then_some(pos)
}

/// `skip_at` with the usual column values handled inline.
#[inline(always)]
fn skip_value(buf: &[u8], pos: usize) -> Option<usize> {
    let m = *buf.get(pos)?;
    match m {
        0x00..=0x7f | 0xc0 | 0xc2 | 0xc3 | 0xe0..=0xff => Some(pos + 1),
        0xa0..=0xbf => Some(pos + 1 + (m & 0x1f) as usize),
        0xcb | 0xcf | 0xd3 => Some(pos + 9),
        _ => skip_at(buf, pos),
    }
}

/// If a string starts at `pos`: its bytes' start and length (not checked
/// against the buffer's end).
#[inline(always)]
fn str_at(buf: &[u8], pos: usize) -> Option<(usize, usize)> {
    let m = *buf.get(pos)?;
    match m {
        0xa0..=0xbf => Some((pos + 1, (m & 0x1f) as usize)),
        0xd9 => Some((pos + 2, len8(buf, pos + 1)?)),
        0xda => Some((pos + 3, len16(buf, pos + 1)?)),
        0xdb => Some((pos + 5, len32(buf, pos + 1)?)),
        _ => None,
    }
}

/// Byte equality without a call to `memcmp`, which in wasm is a call to a
/// byte-by-byte loop: lengths first (most keys differ there), then 8 bytes
/// at a time.
#[inline(always)]
pub(crate) fn same(a: &[u8], b: &[u8]) -> bool {
    if a.len() != b.len() {
        return false;
    }
    let (mut x, mut y) = (a.chunks_exact(8), b.chunks_exact(8));
    let words = |c: &[u8]| u64::from_ne_bytes(c.try_into().expect("8 bytes"));
    (&mut x).zip(&mut y).all(|(p, q)| words(p) == words(q))
        && x.remainder().iter().zip(y.remainder()).all(|(p, q)| p == q)
}

/// Steps through the entries of the map at `at`: calls `f(name, value
/// position)` for each string key until it returns true (the key's value
/// position is then returned) or the map ends; a key that is not a string is
/// stepped over, or ends the scan if `STOP_AT_OTHER_KEYS`. Values are
/// skipped by their lengths; nothing is decoded.
#[inline(always)]
fn scan_map<const STOP_AT_OTHER_KEYS: bool>(
    buf: &[u8],
    at: usize,
    mut f: impl FnMut(&[u8], usize) -> bool,
) -> Option<usize> {
    let (n, mut pos) = map_header(buf, at)?;
    for _ in 0..n {
        let m = *buf.get(pos)?;
        let value = if m & 0xe0 == 0xa0 {
            // fixstr: nearly every key
            let (start, end) = (pos + 1, pos + 1 + (m & 0x1f) as usize);
            if f(buf.get(start..end)?, end) {
                return Some(end);
            }
            end
        } else {
            match str_at(buf, pos) {
                Some((start, len)) => {
                    let end = start.checked_add(len)?;
                    if f(buf.get(start..end)?, end) {
                        return Some(end);
                    }
                    end
                }
                None if STOP_AT_OTHER_KEYS => return None,
                None => skip_at(buf, pos)?,
            }
        };
        pos = skip_value(buf, value)?;
    }
    None
}

/// An image position not looked for yet, and one looked for but absent.
pub(crate) const UNKNOWN: usize = usize::MAX;
pub(crate) const ABSENT: usize = usize::MAX - 1;
/// Slots of `find_images`.
pub(crate) const BEFORE: usize = 0;
pub(crate) const AFTER: usize = 1;

/// Finds where the values of the top-level keys `before` (`found[0]`) and
/// `after` (`found[1]`) start, scanning the event only as far as the key
/// `want` (0 or 1): a column of the image that comes first costs no skip over
/// the other. The scan also stops at the first key that is not a string or
/// at a value it cannot step over; slots still unknown when the scan ends
/// without finding `want` are `ABSENT`. A key seen twice counts with its
/// last value up to where the scan stops. `Event` asks for `after` first,
/// so for an event with `before` ahead of `after` this finds what scanning
/// until both are found finds (the other languages' example plugins read
/// events that way).
pub(crate) fn find_images(buf: &[u8], found: &mut [usize; 2], want: usize) {
    let mut seen = [UNKNOWN; 2];
    let stopped = scan_map::<true>(buf, 0, |name, at| {
        // Fixed-size comparisons: no loop, no call.
        let slot = if <&[u8; 5]>::try_from(name).is_ok_and(|n| n == b"after") {
            AFTER
        } else if <&[u8; 6]>::try_from(name).is_ok_and(|n| n == b"before") {
            BEFORE
        } else {
            return false;
        };
        seen[slot] = at;
        slot == want
    });
    // Positions already known stay as they are.
    for (slot, seen) in found.iter_mut().zip(seen) {
        if *slot == UNKNOWN {
            *slot = match seen {
                UNKNOWN if stopped.is_none() => ABSENT,
                other => other,
            };
        }
    }
}

/// The entry count and the position of the first key of the map at `at`.
#[inline(always)]
fn map_header(buf: &[u8], at: usize) -> Option<(usize, usize)> {
    let m = *buf.get(at)?;
    match m {
        0x80..=0x8f => Some(((m & 0x0f) as usize, at + 1)),
        0xde => Some((len16(buf, at + 1)?, at + 3)),
        0xdf => Some((len32(buf, at + 1)?, at + 5)),
        _ => None,
    }
}

/// In a map encoded at the start of `buf`, finds the values of several
/// string keys in one pass: `out[i]` is the position in `buf` of the value
/// of `keys[i]` (left alone when absent). Stops once all are found.
pub fn map_find_many<S: AsRef<str>>(buf: &[u8], keys: &[S], out: &mut [Option<usize>]) {
    map_find_many_at(buf, 0, keys, out)
}

pub(crate) fn map_find_many_at<S: AsRef<str>>(
    buf: &[u8],
    at: usize,
    keys: &[S],
    out: &mut [Option<usize>],
) {
    let mut missing = keys.len().min(out.len());
    if missing == 0 {
        return;
    }
    scan_map::<false>(buf, at, |name, pos| {
        if let Some(i) = keys.iter().position(|k| same(k.as_ref().as_bytes(), name)) {
            if let Some(slot @ None) = out.get_mut(i) {
                *slot = Some(pos);
                missing -= 1;
            }
        }
        missing == 0
    });
}

/// In a map encoded at the start of `buf`, finds the value of string key
/// `key` and returns the buffer from that value on.
pub fn map_get<'a>(buf: &'a [u8], key: &str) -> Option<&'a [u8]> {
    buf.get(map_find(buf, 0, key.as_bytes())?..)
}

/// The position of the value of string key `key` in the map at `at`.
#[inline]
pub(crate) fn map_find(buf: &[u8], at: usize, key: &[u8]) -> Option<usize> {
    scan_map::<false>(buf, at, |name, _| same(name, key))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_columns_without_decoding() {
        let v = rmpv::Value::Map(vec![
            ("op".into(), "u".into()),
            ("before".into(), rmpv::Value::Nil),
            (
                "after".into(),
                rmpv::Value::Map(vec![
                    ("id".into(), 300.into()),
                    ("neg".into(), (-70000).into()),
                    (
                        "tags".into(),
                        rmpv::Value::Array(vec!["a".into(), 1.into()]),
                    ),
                    ("email".into(), "x@y".into()),
                ]),
            ),
        ]);
        let mut buf = Vec::new();
        rmpv::encode::write_value(&mut buf, &v).unwrap();
        assert_eq!(skip(&buf), Some(buf.len()));
        let after = map_get(&buf, "after").unwrap();
        assert_eq!(
            Value::parse(map_get(after, "id").unwrap()),
            Some(Value::UInt(300))
        );
        assert_eq!(
            Value::parse(map_get(after, "neg").unwrap()),
            Some(Value::Int(-70000))
        );
        assert_eq!(
            Value::parse(map_get(after, "email").unwrap()),
            Some(Value::Str("x@y"))
        );
        assert!(map_get(after, "missing").is_none());
        assert_eq!(
            Value::parse(map_get(&buf, "before").unwrap()),
            Some(Value::Nil)
        );
    }

    #[test]
    fn finds_images_and_several_columns_in_one_pass() {
        let row = rmpv::Value::Map(vec![
            ("id".into(), 300.into()),
            ("email".into(), "x@y".into()),
        ]);
        let v = rmpv::Value::Map(vec![
            ("v".into(), 1.into()),
            ("before".into(), row.clone()),
            ("after".into(), row),
        ]);
        let mut buf = Vec::new();
        rmpv::encode::write_value(&mut buf, &v).unwrap();
        let mut found = [UNKNOWN; 2];
        find_images(&buf, &mut found, 1);
        let (before, after) = (found[0], found[1]);
        assert!(before < after && after < ABSENT);
        let a = &buf[after..];
        let mut found = [None; 3];
        map_find_many(a, &["email", "missing", "id"], &mut found);
        assert_eq!(
            Value::parse(&a[found[0].unwrap()..]),
            Some(Value::Str("x@y"))
        );
        assert_eq!(found[1], None);
        assert_eq!(
            Value::parse(&a[found[2].unwrap()..]),
            Some(Value::UInt(300))
        );
    }
}

/// Skipping and lookup over every MessagePack type, in each of its
/// encodings (also the long forms an encoder may choose for short values),
/// and over truncated and hostile input.
#[cfg(test)]
mod every_type {
    use super::*;

    /// (name, encoding, parsed value) for every marker family.
    fn samples() -> Vec<(&'static str, Vec<u8>, Option<Value<'static>>)> {
        let s = |b: &[u8]| b.to_vec();
        let cat = |parts: &[&[u8]]| parts.concat();
        vec![
            ("positive fixint", s(&[0x05]), Some(Value::UInt(5))),
            ("positive fixint max", s(&[0x7f]), Some(Value::UInt(127))),
            ("negative fixint", s(&[0xff]), Some(Value::Int(-1))),
            ("negative fixint min", s(&[0xe0]), Some(Value::Int(-32))),
            ("nil", s(&[0xc0]), Some(Value::Nil)),
            ("false", s(&[0xc2]), Some(Value::Bool(false))),
            ("true", s(&[0xc3]), Some(Value::Bool(true))),
            ("uint8", s(&[0xcc, 0xff]), Some(Value::UInt(255))),
            ("uint16", s(&[0xcd, 0x01, 0x00]), Some(Value::UInt(256))),
            ("uint32", s(&[0xce, 0, 1, 0, 0]), Some(Value::UInt(65536))),
            (
                "uint64",
                s(&[0xcf, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]),
                Some(Value::UInt(u64::MAX)),
            ),
            ("int8", s(&[0xd0, 0x80]), Some(Value::Int(-128))),
            ("int16", s(&[0xd1, 0x80, 0x00]), Some(Value::Int(-32768))),
            (
                "int32",
                s(&[0xd2, 0xff, 0xfe, 0xee, 0x90]),
                Some(Value::Int(-70000)),
            ),
            (
                "int64",
                s(&[0xd3, 0x80, 0, 0, 0, 0, 0, 0, 0]),
                Some(Value::Int(i64::MIN)),
            ),
            (
                "float32",
                cat(&[&[0xca], &1.5f32.to_be_bytes()]),
                Some(Value::F32(1.5)),
            ),
            (
                "float64",
                cat(&[&[0xcb], &(-0.25f64).to_be_bytes()]),
                Some(Value::F64(-0.25)),
            ),
            ("fixstr empty", s(&[0xa0]), Some(Value::Str(""))),
            ("fixstr", s(b"\xa3abc"), Some(Value::Str("abc"))),
            (
                "fixstr 31",
                cat(&[&[0xbf], &[b'x'; 31]]),
                Some(Value::Str(&"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"[..])),
            ),
            ("str8", s(b"\xd9\x02hi"), Some(Value::Str("hi"))),
            ("str16", s(b"\xda\x00\x02hi"), Some(Value::Str("hi"))),
            (
                "str32",
                s(b"\xdb\x00\x00\x00\x02hi"),
                Some(Value::Str("hi")),
            ),
            ("str invalid utf-8", s(b"\xa2\xff\xfe"), None),
            ("bin8", s(b"\xc4\x02\x00\x01"), Some(Value::Bin(&[0, 1]))),
            ("bin16", s(b"\xc5\x00\x01\x09"), Some(Value::Bin(&[9]))),
            ("bin32", s(b"\xc6\x00\x00\x00\x00"), Some(Value::Bin(&[]))),
            (
                "fixext1",
                s(&[0xd4, 0x01, 0xaa]),
                Some(Value::Ext(&[0xd4, 0x01, 0xaa])),
            ),
            (
                "fixext2",
                s(&[0xd5, 0x01, 0xaa, 0xbb]),
                Some(Value::Ext(&[0xd5, 0x01, 0xaa, 0xbb])),
            ),
            ("fixext4", cat(&[&[0xd6, 0x01], &[7; 4]]), None),
            ("fixext8", cat(&[&[0xd7, 0xff], &[7; 8]]), None),
            ("fixext16", cat(&[&[0xd8, 0x02], &[7; 16]]), None),
            ("ext8", s(&[0xc7, 0x02, 0x05, 1, 2]), None),
            ("ext16", s(&[0xc8, 0x00, 0x01, 0x05, 1]), None),
            ("ext32", s(&[0xc9, 0, 0, 0, 0x01, 0x05, 1]), None),
            ("fixarray empty", s(&[0x90]), None),
            ("fixarray", s(b"\x92\x01\xa1a"), None),
            ("array16", s(b"\xdc\x00\x02\xc0\xc3"), None),
            ("array32", s(b"\xdd\x00\x00\x00\x01\x92\x90\x80"), None),
            ("fixmap", s(b"\x81\xa1k\x92\x01\x02"), None),
            ("map16", s(b"\xde\x00\x01\x01\x81\xa1k\xc0"), None),
            (
                "map32",
                s(b"\xdf\x00\x00\x00\x01\xa1k\xcb\0\0\0\0\0\0\0\0"),
                None,
            ),
        ]
    }

    #[test]
    fn skip_measures_every_type_exactly() {
        for (name, enc, _) in samples() {
            assert_eq!(skip(&enc), Some(enc.len()), "{name}");
            // Followed by more bytes: stops at the value's end.
            let mut longer = enc.clone();
            longer.extend_from_slice(&[0xc0, 0xc1]);
            assert_eq!(skip(&longer), Some(enc.len()), "{name} followed by more");
            // Every truncation is refused, never read past or panicked on.
            for cut in 0..enc.len() {
                assert_eq!(skip(&enc[..cut]), None, "{name} cut at {cut}");
                let _ = Value::parse(&enc[..cut]);
            }
        }
    }

    #[test]
    fn parse_reads_every_scalar() {
        for (name, enc, want) in samples() {
            let got = Value::parse(&enc);
            match want {
                Some(v) => assert_eq!(got, Some(v), "{name}"),
                None if name.contains("invalid") => assert_eq!(got, None, "{name}"),
                None if name.contains("ext") => {
                    assert_eq!(got, Some(Value::Ext(&enc[..])), "{name}")
                }
                None if name.contains("map") => {
                    assert_eq!(got, Some(Value::Map(&enc[..])), "{name}")
                }
                None => assert_eq!(got, Some(Value::Array(&enc[..])), "{name}"),
            }
        }
    }

    /// A map with every sample as a value, each under its own key, then a
    /// last key: every value must be stepped over to find it.
    #[test]
    fn lookup_steps_over_every_type() {
        let samples = samples();
        let mut map = vec![0xde, 0, 0];
        let n = samples.len() + 1;
        map[1..3].copy_from_slice(&(n as u16).to_be_bytes());
        let mut at = Vec::new();
        for (i, (_, enc, _)) in samples.iter().enumerate() {
            let key = format!("k{i}");
            map.push(0xa0 | key.len() as u8);
            map.extend_from_slice(key.as_bytes());
            at.push(map.len());
            map.extend_from_slice(enc);
        }
        // The last key as str8 (keys need not be fixstr).
        map.extend_from_slice(b"\xd9\x04last\xa2ok");
        assert_eq!(skip(&map), Some(map.len()));
        assert_eq!(
            Value::parse(map_get(&map, "last").unwrap()),
            Some(Value::Str("ok"))
        );
        for (i, (name, _, _)) in samples.iter().enumerate() {
            assert_eq!(
                map_find(&map, 0, format!("k{i}").as_bytes()),
                Some(at[i]),
                "{name}"
            );
        }
        assert_eq!(map_get(&map, "k"), None);
        assert_eq!(map_get(&map, "lastx"), None);
        let keys = ["last", "k3", "nope", "k0"];
        let mut out = [None; 4];
        map_find_many(&map, &keys, &mut out);
        assert_eq!(out, [Some(map.len() - 3), Some(at[3]), None, Some(at[0])]);
        // A map whose last value is cut short: lookups of the keys before it
        // still work, the rest fail without panicking.
        let cut = &map[..map.len() - 1];
        assert_eq!(map_find(cut, 0, b"k0"), Some(at[0]));
        assert_eq!(map_get(cut, "nope"), None);
        assert_eq!(skip(cut), None);
    }

    #[test]
    fn non_string_keys_are_stepped_over() {
        // {1: "x", [1]: nil, "k": 7}
        let map = b"\x83\x01\xa1x\x91\x01\xc0\xa1k\x07";
        assert_eq!(
            Value::parse(map_get(map, "k").unwrap()),
            Some(Value::UInt(7))
        );
        assert_eq!(map_get(map, "x"), None);
    }

    #[test]
    fn hostile_lengths_and_markers_are_refused() {
        // 0xc1 is never used.
        assert_eq!(skip(&[0xc1]), None);
        assert_eq!(skip(&[0x91, 0xc1]), None);
        // Lengths far beyond the buffer, at every width.
        for enc in [
            &b"\xdb\xff\xff\xff\xffab"[..],
            b"\xc6\xff\xff\xff\xff",
            b"\xc9\xff\xff\xff\xff\x01",
            b"\xdd\xff\xff\xff\xff\x01",
            b"\xdf\xff\xff\xff\xff\x01\x01",
            b"\xdf\x80\x00\x00\x00\x01\x01",
        ] {
            assert_eq!(skip(enc), None, "{enc:x?}");
            assert_eq!(map_get(enc, "a"), None, "{enc:x?}");
        }
        // Not a map at all.
        assert_eq!(map_get(&[0x92, 0xa1, b'a', 0x01], "a"), None);
        assert_eq!(map_get(&[], "a"), None);
        // Deep nesting is skipped iteratively (no stack overflow).
        let mut deep = vec![0x91; 1_000_000];
        deep.push(0xc0);
        assert_eq!(skip(&deep), Some(deep.len()));
        deep.pop();
        assert_eq!(skip(&deep), None);
    }

    #[test]
    fn text_of_numbers_is_what_display_writes() {
        for i in [
            0,
            1,
            -1,
            9,
            10,
            -10,
            99,
            100,
            i64::MAX,
            i64::MIN,
            -7_000_000_000,
        ] {
            let mut out = b"x".to_vec();
            assert!(Value::Int(i).write_text(&mut out));
            assert_eq!(out, format!("x{i}").as_bytes());
        }
        for u in [0, 7, 10, 12345, u64::MAX, 10_000_000_000_000_000_000] {
            let mut out = Vec::new();
            assert!(Value::UInt(u).write_text(&mut out));
            assert_eq!(out, u.to_string().as_bytes());
        }
        assert_eq!(Value::F64(1.5).to_text().as_deref(), Some("1.5"));
        assert_eq!(Value::Bool(true).to_text().as_deref(), Some("true"));
        assert_eq!(Value::Nil.to_text(), None);
    }

    fn images(buf: &[u8]) -> (Option<usize>, Option<usize>) {
        // As `Event::column` asks: after first, then before.
        let mut found = [UNKNOWN; 2];
        find_images(buf, &mut found, 1);
        find_images(buf, &mut found, 0);
        let opt = |p: usize| (p != ABSENT && p != UNKNOWN).then_some(p);
        (opt(found[0]), opt(found[1]))
    }

    /// The images are found in either key order, the scan going only as far
    /// as the image asked for; it stops at a key that is not a string, and
    /// a repeated key counts with its last value up to where it stops.
    #[test]
    fn images_in_any_order() {
        let row = rmpv::Value::Map(vec![("id".into(), 1.into())]);
        let enc = |fields: Vec<(rmpv::Value, rmpv::Value)>| {
            let mut buf = Vec::new();
            rmpv::encode::write_value(&mut buf, &rmpv::Value::Map(fields)).unwrap();
            buf
        };
        let kv = |k: &str, v: rmpv::Value| (rmpv::Value::from(k), v);
        for fields in [
            vec![
                kv("v", 1.into()),
                kv("before", row.clone()),
                kv("after", rmpv::Value::Nil),
            ],
            vec![
                kv("after", rmpv::Value::Nil),
                kv("before", row.clone()),
                kv("v", 1.into()),
            ],
        ] {
            let buf = enc(fields);
            let (before, after) = images(&buf);
            assert_eq!(buf[before.unwrap()], 0x81, "before is the row");
            assert_eq!(buf[after.unwrap()], 0xc0, "after is nil");
        }
        // After first: asking for after does not scan past it.
        let buf = enc(vec![kv("after", 1.into()), kv("before", 2.into())]);
        let mut found = [UNKNOWN; 2];
        find_images(&buf, &mut found, 1);
        assert_eq!((found[0], buf[found[1]]), (UNKNOWN, 1));
        // Before first, repeated: the last one before `after` counts.
        let buf = enc(vec![
            kv("before", 1.into()),
            kv("before", 2.into()),
            kv("after", 3.into()),
            kv("before", 4.into()),
        ]);
        let (before, after) = images(&buf);
        assert_eq!((buf[before.unwrap()], buf[after.unwrap()]), (2, 3));
        let buf = enc(vec![
            kv("before", 1.into()),
            (7.into(), 7.into()),
            kv("after", 2.into()),
        ]);
        assert_eq!(images(&buf), (Some(8), None), "stops at the integer key");
        assert_eq!(images(&enc(vec![kv("v", 1.into())])), (None, None));
        assert_eq!(images(&[0x93, 1, 2, 3]), (None, None));
        // A key whose value is cut off is still found (its value is not).
        let buf = enc(vec![kv("before", rmpv::Value::Nil), kv("after", row)]);
        let (_, after) = images(&buf[..buf.len() - 3]);
        assert_eq!(after, Some(buf.len() - 5));
    }
}

#[cfg(test)]
mod speed {
    /// `cargo test --release -- --ignored --nocapture scan_speed`
    #[test]
    #[ignore]
    fn scan_speed() {
        let mut row = Vec::new();
        for (k, v) in [
            ("email", rmpv::Value::from("user1@example.com")),
            ("flags", rmpv::Value::Array(vec!["a".into(), "b".into()])),
            ("id", 5.into()),
            ("name", "x".repeat(400).into()),
            ("score", 1.5.into()),
            ("status", "active".into()),
            ("tenant_id", "t1".into()),
        ] {
            row.push((rmpv::Value::from(k), v));
        }
        let ev = rmpv::Value::Map(vec![
            ("after".into(), rmpv::Value::Map(row.clone())),
            ("before".into(), rmpv::Value::Map(row)),
            ("op".into(), "u".into()),
        ]);
        let mut buf = Vec::new();
        rmpv::encode::write_value(&mut buf, &ev).unwrap();
        let t = std::time::Instant::now();
        let mut n = 0;
        for _ in 0..1_000_000 {
            let a = super::map_get(std::hint::black_box(&buf), "after").unwrap();
            if let Some(super::Value::Str(s)) =
                super::Value::parse(super::map_get(a, "status").unwrap())
            {
                n += s.len();
            }
        }
        eprintln!("{:?} per lookup ({n})", t.elapsed() / 1_000_000);
    }
}
