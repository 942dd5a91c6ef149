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
            Value::Int(i) => write!(out, "{i}").unwrap(),
            Value::UInt(u) => write!(out, "{u}").unwrap(),
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
/// column lookups, so it matches markers directly rather than going through
/// `header`, and it is iterative so deeply nested JSON columns cannot
/// overflow the stack. Offsets saturate; every read is bounds-checked.
fn skip_at(buf: &[u8], mut pos: usize) -> Option<usize> {
    let mut pending: usize = 1;
    while pending > 0 {
        pending -= 1;
        let m = *buf.get(pos)?;
        pos += 1;
        let (data, items) = match m {
            0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => (0, 0),
            0xa0..=0xbf => ((m & 0x1f) as usize, 0),
            0x80..=0x8f => (0, 2 * (m & 0x0f) as usize),
            0x90..=0x9f => (0, (m & 0x0f) as usize),
            0xcc | 0xd0 => (1, 0),
            0xcd | 0xd1 | 0xd4 => (2, 0),
            0xd5 => (3, 0),
            0xca | 0xce | 0xd2 => (4, 0),
            0xd6 => (5, 0),
            0xcb | 0xcf | 0xd3 => (8, 0),
            0xd7 => (9, 0),
            0xd8 => (17, 0),
            0xc4 | 0xd9 => (1 + len8(buf, pos)?, 0),
            0xc5 | 0xda => (2 + len16(buf, pos)?, 0),
            0xc6 | 0xdb => (4usize.saturating_add(len32(buf, pos)?), 0),
            0xc7 => (2 + len8(buf, pos)?, 0),
            0xc8 => (3 + len16(buf, pos)?, 0),
            0xc9 => (5usize.saturating_add(len32(buf, pos)?), 0),
            0xdc => (2, len16(buf, pos)?),
            0xdd => (4, len32(buf, pos)?),
            0xde => (2, 2 * len16(buf, pos)?),
            0xdf => (4, len32(buf, pos)?.checked_mul(2)?),
            0xc1 => return None,
        };
        pos = pos.saturating_add(data);
        pending = pending.checked_add(items)?;
    }
    (pos <= buf.len()).then_some(pos)
}

/// `skip_at` with the common column values handled inline.
#[inline(always)]
fn skip_scalar(buf: &[u8], pos: usize) -> Option<usize> {
    let m = *buf.get(pos)?;
    match m {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => Some(pos + 1),
        0xa0..=0xbf => Some(pos + 1 + (m & 0x1f) as usize),
        0xcb | 0xcf | 0xd3 => Some(pos + 9),
        _ => skip_at(buf, pos),
    }
}

/// If a string starts at `pos`: its bytes' start and length.
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

/// Positions of the values of the top-level keys `before` and `after` in an
/// event (found in one pass, so reading several columns, or the after
/// image behind a large before image, does not rescan the event).
pub(crate) fn images(buf: &[u8]) -> (Option<usize>, Option<usize>) {
    let (mut before, mut after) = (None, None);
    let Some((n, mut pos)) = map_header(buf) else {
        return (None, None);
    };
    for _ in 0..n {
        let Some((start, len)) = str_at(buf, pos) else {
            break;
        };
        pos = start + len;
        match buf.get(start..pos) {
            Some(b"before") => before = Some(pos),
            Some(b"after") => after = Some(pos),
            _ => {}
        }
        if before.is_some() && after.is_some() {
            break;
        }
        match skip_at(buf, pos) {
            Some(p) => pos = p,
            None => break,
        }
    }
    (before, after)
}

fn map_header(buf: &[u8]) -> Option<(usize, usize)> {
    let m = *buf.first()?;
    match m {
        0x80..=0x8f => Some(((m & 0x0f) as usize, 1)),
        0xde => Some((len16(buf, 1)?, 3)),
        0xdf => Some((len32(buf, 1)?, 5)),
        _ => None,
    }
}

/// In a map encoded at the start of `buf`, finds the values of several
/// string keys in one pass: `out[i]` is the position in `buf` of the value
/// of `keys[i]` (left alone when absent). Stops once all are found.
pub fn map_find_many<S: AsRef<str>>(buf: &[u8], keys: &[S], out: &mut [Option<usize>]) {
    let Some((n, mut pos)) = map_header(buf) else {
        return;
    };
    let mut missing = keys.len();
    for _ in 0..n {
        if missing == 0 {
            return;
        }
        let next = match str_at(buf, pos) {
            Some((start, len)) => {
                let Some(name) = start.checked_add(len).and_then(|end| buf.get(start..end)) else {
                    return;
                };
                if let Some(i) = keys.iter().position(|k| k.as_ref().as_bytes() == name) {
                    if out[i].is_none() {
                        out[i] = Some(start + len);
                        missing -= 1;
                    }
                }
                start + len
            }
            None => match skip_at(buf, pos) {
                Some(p) => p,
                None => return,
            },
        };
        pos = match skip_scalar(buf, next) {
            Some(p) => p,
            None => return,
        };
    }
}

/// In a map encoded at the start of `buf`, finds the value of string key
/// `key` and returns the buffer from that value on.
pub fn map_get<'a>(buf: &'a [u8], key: &str) -> Option<&'a [u8]> {
    let (n, mut pos) = map_header(buf)?;
    for _ in 0..n {
        pos = match str_at(buf, pos) {
            Some((start, len)) => {
                let end = start.checked_add(len)?;
                if buf.get(start..end)? == key.as_bytes() {
                    return buf.get(end..);
                }
                end
            }
            None => skip_at(buf, pos)?,
        };
        pos = skip_scalar(buf, pos)?;
    }
    None
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
        let (before, after) = images(&buf);
        assert!(before.unwrap() < after.unwrap());
        let a = &buf[after.unwrap()..];
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
