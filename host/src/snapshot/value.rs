//! One value of a `SELECT` row (binary protocol) to MessagePack, byte for
//! byte what the binlog decoder (`decode::value`) writes for the same
//! column, so a consumer cannot tell a snapshot row from a streamed one.
//!
//! The session ([`super::chunk::prepare_session`]) makes the server send
//! values in the binlog's terms: TIMESTAMP in UTC, strings as raw bytes in
//! the column's own charset (converted here by the decoder's own tables),
//! CHAR without padding; [`super::columns`] selects ENUM and SET as their
//! numbers and MariaDB's INET4/INET6/UUID as their bytes.

use mysql_async::Value;

use super::KeyValue;
use crate::decode::charset::Charset;
use crate::decode::schema::ColumnKind;
use crate::decode::temporal;
use crate::event::msgpack::*;

mod json;
#[cfg(test)]
mod tests;

/// Writes `v`, a value of a column of `kind`, as the decoder would.
pub(crate) fn write(kind: &ColumnKind, v: &Value, out: &mut Vec<u8>) -> Result<(), String> {
    use ColumnKind as K;
    match (kind, v) {
        (_, Value::NULL) => write_nil(out),
        (K::Int { unsigned, .. }, &Value::Int(i)) => {
            // Unsigned columns up to INT arrive as Int.
            if *unsigned {
                write_uint(out, i as u64)
            } else {
                write_int(out, i)
            }
        }
        (K::Int { .. }, &Value::UInt(u)) => write_uint(out, u),
        (K::Float, &Value::Float(f)) => write_f32(out, f),
        (K::Double, &Value::Double(d)) => write_f64(out, d),
        (K::Decimal { scale, .. }, Value::Bytes(b)) => write_decimal(b, *scale, out)?,
        // YEAR arrives as the year itself, 0 for the zero year.
        (K::Year, &Value::Int(y)) => write_uint(out, y as u64),
        (K::Date, &Value::Date(y, m, d, ..)) => {
            temporal::write_date(out, y as u32, m as u32, d as u32)
        }
        (K::DateTimeOld | K::DateTime2 { .. }, &Value::Date(y, m, d, h, mi, s, us)) => {
            temporal::write_datetime(out, ymd(y, m, d), hms(h, mi, s), us, fsp(kind))
        }
        // In UTC: the session's time zone is +00:00. The zero TIMESTAMP
        // arrives as the zero date, which reads the same.
        (K::TimestampOld | K::Timestamp2 { .. }, &Value::Date(y, m, d, h, mi, s, us)) => {
            temporal::write_timestamp(out, ymd(y, m, d), hms(h, mi, s), us, fsp(kind))
        }
        (K::TimeOld | K::Time2 { .. }, &Value::Time(neg, days, h, mi, s, us)) => {
            let hours = days * 24 + h as u32;
            temporal::write_time(out, neg, (hours, mi as u32, s as u32), us, fsp(kind))
        }
        (K::VarString { charset, .. } | K::Blob { charset, .. }, Value::Bytes(b)) => {
            charset.write_value(out, b)
        }
        (
            K::FixedString {
                max_len, charset, ..
            },
            Value::Bytes(b),
        ) => {
            if matches!(charset, Charset::Binary) && b.len() < *max_len as usize {
                // The server sends BINARY(n) whole; pad as the decoder does
                // should it ever send less.
                write_bin_header(out, *max_len as usize);
                out.extend_from_slice(b);
                out.resize(out.len() + *max_len as usize - b.len(), 0);
            } else {
                charset.write_value(out, b)
            }
        }
        (K::Enum { labels, .. }, v) => {
            let idx = number(v)? as usize;
            match idx.checked_sub(1).and_then(|i| labels.get(i)) {
                Some(label) => extend_short(out, label.bytes()),
                // Index 0 is the empty "error" value MySQL stores for invalid input.
                None if idx == 0 => write_str(out, ""),
                None => return Err(format!("ENUM index {idx} has no label")),
            }
        }
        (K::Set { labels, .. }, v) => {
            let bits = number(v)?;
            write_array_header(out, bits.count_ones() as usize);
            for i in (0..64).filter(|i| bits & (1 << i) != 0) {
                let label = labels.get(i).ok_or(format!("SET bit {i} has no label"))?;
                extend_short(out, label.bytes());
            }
        }
        (K::Bit { bits }, Value::Bytes(b)) => {
            let v = big_endian(b)?;
            if *bits == 1 {
                write_bool(out, v != 0)
            } else {
                write_uint(out, v)
            }
        }
        (K::Json { .. }, Value::Bytes(b)) => json::write(b, out)?,
        (K::Geometry { .. }, Value::Bytes(b)) => write_bin(out, b),
        (K::Vector { .. }, Value::Bytes(b)) => {
            if !b.len().is_multiple_of(4) {
                return Err(format!(
                    "VECTOR of {} bytes is not a list of float32",
                    b.len()
                ));
            }
            write_array_header(out, b.len() / 4);
            for f in b.chunks_exact(4) {
                write_f32(out, f32::from_le_bytes([f[0], f[1], f[2], f[3]]));
            }
        }
        (kind, v) => return Err(unexpected(kind, v)),
    }
    Ok(())
}

/// A primary-key value as the next chunk's query takes it back (see
/// [`KeyValue`]).
pub(crate) fn key_value(kind: &ColumnKind, v: &Value) -> Result<KeyValue, String> {
    use ColumnKind as K;
    Ok(match (kind, v) {
        (_, Value::NULL) => KeyValue::Null,
        (K::Int { .. } | K::Year, &Value::Int(i)) => KeyValue::Int(i),
        (K::Int { .. }, &Value::UInt(u)) => KeyValue::UInt(u),
        (K::Float, &Value::Float(f)) => KeyValue::Float(f),
        (K::Double, &Value::Double(d)) => KeyValue::Double(d),
        (K::Decimal { scale, .. }, Value::Bytes(b)) => {
            let mut text = Vec::new();
            Decimal::parse(b, *scale)?.append(&mut text);
            KeyValue::Text(String::from_utf8_lossy(&text).into_owned())
        }
        (K::Date, &Value::Date(y, m, d, ..)) => KeyValue::Temporal(format!("{y:04}-{m:02}-{d:02}")),
        (
            K::DateTimeOld | K::DateTime2 { .. } | K::TimestampOld | K::Timestamp2 { .. },
            &Value::Date(y, m, d, h, mi, s, us),
        ) => KeyValue::Temporal(format!(
            "{y:04}-{m:02}-{d:02} {h:02}:{mi:02}:{s:02}.{us:06}"
        )),
        (K::TimeOld | K::Time2 { .. }, &Value::Time(neg, days, h, mi, s, us)) => {
            let sign = if neg { "-" } else { "" };
            let hours = days * 24 + h as u32;
            KeyValue::Temporal(format!("{sign}{hours:02}:{mi:02}:{s:02}.{us:06}"))
        }
        (
            K::VarString { charset, .. } | K::FixedString { charset, .. } | K::Blob { charset, .. },
            Value::Bytes(b),
        ) => match charset {
            Charset::Binary | Charset::Unknown(_) => KeyValue::Bytes(b.clone()),
            // The server converts it back to the column's charset.
            text => KeyValue::Text(text.decode_lossy(b).into_owned()),
        },
        // ENUM and SET compare and sort by their numbers.
        (K::Enum { .. } | K::Set { .. }, v) => KeyValue::UInt(number(v)?),
        (K::Bit { .. }, Value::Bytes(b)) => KeyValue::UInt(big_endian(b)?),
        (K::Json { .. } | K::Geometry { .. } | K::Vector { .. }, Value::Bytes(b)) => {
            KeyValue::Bytes(b.clone())
        }
        (kind, v) => return Err(unexpected(kind, v)),
    })
}

#[cold]
fn unexpected(kind: &ColumnKind, v: &Value) -> String {
    format!("the server sent {v:?} for a column of kind {kind:?}")
}

fn fsp(kind: &ColumnKind) -> u8 {
    match kind {
        ColumnKind::Time2 { fsp }
        | ColumnKind::DateTime2 { fsp }
        | ColumnKind::Timestamp2 { fsp } => *fsp,
        _ => 0,
    }
}

fn ymd(y: u16, m: u8, d: u8) -> (u32, u32, u32) {
    (y as u32, m as u32, d as u32)
}

fn hms(h: u8, mi: u8, s: u8) -> (u32, u32, u32) {
    (h as u32, mi as u32, s as u32)
}

/// An ENUM index or SET bitmap (`col + 0`, a BIGINT: a 64-member SET's
/// top bit arrives as a negative number).
fn number(v: &Value) -> Result<u64, String> {
    match *v {
        Value::Int(i) => Ok(i as u64),
        Value::UInt(u) => Ok(u),
        ref other => Err(format!("expected a number, the server sent {other:?}")),
    }
}

/// A BIT value: up to 8 bytes, big-endian.
fn big_endian(b: &[u8]) -> Result<u64, String> {
    if b.len() > 8 {
        return Err(format!("BIT value of {} bytes", b.len()));
    }
    Ok(b.iter().fold(0u64, |a, &x| (a << 8) | x as u64))
}

/// The server's text of a DECIMAL, read to write it as the decoder formats
/// the binary one: no leading zeros (one before the point), exactly
/// `scale` fraction digits, no sign on zero.
struct Decimal<'a> {
    negative: bool,
    int: &'a [u8],
    frac: &'a [u8],
    scale: usize,
}

impl<'a> Decimal<'a> {
    fn parse(text: &'a [u8], scale: u8) -> Result<Self, String> {
        let bad = || format!("DECIMAL text {:?}", String::from_utf8_lossy(text));
        let (negative, rest) = match text.split_first() {
            Some((b'-', rest)) => (true, rest),
            _ => (false, text),
        };
        let (int, frac) = match rest.iter().position(|&b| b == b'.') {
            Some(p) => (&rest[..p], &rest[p + 1..]),
            None => (rest, &rest[rest.len()..]),
        };
        let scale = scale as usize;
        let digits = int.iter().chain(frac).all(u8::is_ascii_digit);
        // More fraction digits than the scale would be a different number.
        let extra = frac
            .get(scale..)
            .is_some_and(|x| x.iter().any(|&d| d != b'0'));
        if !digits || extra || (int.is_empty() && frac.is_empty()) {
            return Err(bad());
        }
        let int = match int.iter().position(|&d| d != b'0') {
            Some(p) => &int[p..],
            None => &b"0"[..],
        };
        let zero = int == b"0" && frac.iter().all(|&d| d == b'0');
        Ok(Decimal {
            negative: negative && !zero,
            int,
            frac: &frac[..frac.len().min(scale)],
            scale,
        })
    }

    fn len(&self) -> usize {
        self.negative as usize + self.int.len() + if self.scale > 0 { self.scale + 1 } else { 0 }
    }

    fn append(&self, out: &mut Vec<u8>) {
        if self.negative {
            out.push(b'-');
        }
        out.extend_from_slice(self.int);
        if self.scale > 0 {
            out.push(b'.');
            out.extend_from_slice(self.frac);
            out.resize(out.len() + self.scale - self.frac.len(), b'0');
        }
    }
}

fn write_decimal(text: &[u8], scale: u8, out: &mut Vec<u8>) -> Result<(), String> {
    let d = Decimal::parse(text, scale)?;
    write_str_header(out, d.len());
    d.append(out);
    Ok(())
}
