//! One column's value: Sluice's MessagePack value (docs/FORMAT.md, "Values
//! by column type") -> the JSON Debezium's MySQL connector writes for the
//! column's type and the configured modes (docs/FORMAT.md, "Debezium
//! JSON"). [`Conv`] is that decision, made from the column's SQL type (or,
//! for a column the table does not have, from the value alone); the schema
//! of a field follows from it too (`schema.rs`).

use super::mp::{Malformed, Mp, Reader};
use super::settings::{BigIntUnsignedMode, BinaryMode, DebeziumSettings, DecimalMode, TimeMode};
use super::write::{self, Alphabet};
use crate::event::columns::{ColumnType, SqlType};

/// How a value is written, and which schema its field has.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(super) enum Conv {
    Int16,
    Int32,
    Int64,
    /// BIGINT UNSIGNED with `bigint.unsigned.handling.mode = long`: wraps.
    UnsignedLong,
    /// BIGINT UNSIGNED, `precise`: Decimal(20, 0) bytes.
    UnsignedPrecise,
    Float32,
    Float64,
    DecimalPrecise,
    DecimalString,
    DecimalDouble,
    Year,
    /// DATE: days since the epoch (io.debezium.time.Date, or Kafka
    /// Connect's Date under `connect`: the same number).
    Date,
    /// TIME: microseconds (io.debezium.time.MicroTime).
    MicroTime,
    /// TIME under `connect`: milliseconds (Kafka Connect's Time).
    MilliTime,
    /// DATETIME(0..3): milliseconds since the epoch (io.debezium.time.
    /// Timestamp, or Kafka Connect's Timestamp under `connect`).
    MilliTimestamp,
    /// DATETIME(4..6): microseconds (io.debezium.time.MicroTimestamp).
    MicroTimestamp,
    /// TIMESTAMP: ISO-8601 text in UTC (io.debezium.time.ZonedTimestamp).
    Zoned,
    Text,
    Binary,
    Enum,
    Set,
    /// BIT(1).
    Boolean,
    /// BIT(n > 1): little-endian bytes (io.debezium.data.Bits).
    Bits,
    /// MySQL's JSON: the document as text (io.debezium.data.Json).
    Json,
    Geometry,
    Vector,
    /// A column the table does not have (a plugin added it), or a value
    /// of another kind than its column's (a plugin changed it): written
    /// as what the value is.
    AnyNull,
    AnyBool,
    AnyInt,
    AnyFloat32,
    AnyFloat64,
    AnyString,
    AnyBytes,
    /// A map or array: JSON text, like a JSON column.
    AnyTree,
}

impl Conv {
    /// The conversion of a column of type `col` under `s`.
    pub(super) fn of_column(col: &ColumnType, s: &DebeziumSettings) -> Conv {
        match &col.sql {
            SqlType::Int { bytes, unsigned } => match (bytes, unsigned) {
                (1, _) | (2, false) => Conv::Int16,
                (2, true) | (3, _) | (4, false) => Conv::Int32,
                (4, true) => Conv::Int64,
                (_, false) => Conv::Int64,
                (_, true) => match s.bigint_unsigned {
                    BigIntUnsignedMode::Long => Conv::UnsignedLong,
                    BigIntUnsignedMode::Precise => Conv::UnsignedPrecise,
                },
            },
            SqlType::Float => Conv::Float32,
            SqlType::Double => Conv::Float64,
            SqlType::Decimal { .. } => match s.decimal {
                DecimalMode::Precise => Conv::DecimalPrecise,
                DecimalMode::String => Conv::DecimalString,
                DecimalMode::Double => Conv::DecimalDouble,
            },
            SqlType::Year => Conv::Year,
            SqlType::Date => Conv::Date,
            SqlType::Time { .. } => match s.time {
                TimeMode::AdaptiveTimeMicroseconds => Conv::MicroTime,
                TimeMode::Connect => Conv::MilliTime,
            },
            SqlType::DateTime { fsp } => match s.time {
                TimeMode::AdaptiveTimeMicroseconds if *fsp > 3 => Conv::MicroTimestamp,
                _ => Conv::MilliTimestamp,
            },
            SqlType::Timestamp { .. } => Conv::Zoned,
            SqlType::Text => Conv::Text,
            SqlType::Binary => Conv::Binary,
            SqlType::Enum(_) => Conv::Enum,
            SqlType::Set(_) => Conv::Set,
            SqlType::Bit { bits: 1 } => Conv::Boolean,
            SqlType::Bit { .. } => Conv::Bits,
            SqlType::Json => Conv::Json,
            SqlType::Geometry => Conv::Geometry,
            SqlType::Vector => Conv::Vector,
        }
    }

    /// The conversion of a value on its own.
    pub(super) fn of_value(v: &Mp<'_>) -> Conv {
        match v {
            Mp::Nil => Conv::AnyNull,
            Mp::Bool(_) => Conv::AnyBool,
            Mp::Int(_) | Mp::Uint(_) => Conv::AnyInt,
            Mp::F32(_) => Conv::AnyFloat32,
            Mp::F64(_) => Conv::AnyFloat64,
            Mp::Str(_) => Conv::AnyString,
            Mp::Bin(_) | Mp::Ext(_) => Conv::AnyBytes,
            Mp::Array(_) | Mp::Map(_) => Conv::AnyTree,
        }
    }
}

/// Everything writing one value needs.
pub(super) struct Ctx<'s> {
    pub settings: &'s DebeziumSettings,
    /// Scratch for JSON documents, which are written as text and then
    /// quoted into the output.
    pub scratch: &'s mut Vec<u8>,
}

/// The value does not have the kind its column's conversion reads (a
/// plugin changed it): the caller writes it as what it is instead.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Unfit {
    Kind,
    Malformed,
}

impl From<Malformed> for Unfit {
    fn from(_: Malformed) -> Self {
        Unfit::Malformed
    }
}

/// Writes the value `head` (read from `r`, which is past it: arrays and
/// maps continue there) of a column `col` (`None`: not one of the table's)
/// as `conv` says. On [`Unfit::Kind`] the caller throws away what was
/// written and reads the value again from its start.
pub(super) fn write(
    out: &mut Vec<u8>,
    conv: Conv,
    col: Option<&ColumnType>,
    head: Mp<'_>,
    r: &mut Reader<'_>,
    cx: &mut Ctx<'_>,
) -> Result<(), Unfit> {
    use Conv as C;
    let nullable = col.is_none_or(|c| c.nullable);
    let alphabet = match cx.settings.binary {
        BinaryMode::Base64UrlSafe => Alphabet::UrlSafe,
        _ => Alphabet::Standard,
    };
    match (conv, head) {
        (_, Mp::Nil) => write::null(out),
        (C::Int16 | C::Int32 | C::Int64 | C::AnyInt, Mp::Int(i)) => write::int(out, i),
        (C::Int16 | C::Int32 | C::Int64 | C::AnyInt, Mp::Uint(u)) => write::uint(out, u),
        // Debezium reads BIGINT UNSIGNED into a Java long: the high half
        // comes out negative.
        (C::UnsignedLong, Mp::Uint(u)) => write::int(out, u as i64),
        (C::UnsignedLong, Mp::Int(i)) => write::int(out, i),
        (C::UnsignedPrecise, Mp::Uint(u)) => {
            let b = twos_complement(&u.to_be_bytes(), false);
            write::base64(out, b.as_slice(), Alphabet::Standard)
        }
        (C::Float32 | C::AnyFloat32, Mp::F32(f)) => write::f32(out, f),
        (C::Float64 | C::AnyFloat64, Mp::F64(f)) => write::f64(out, f),
        (C::Float64, Mp::F32(f)) => write::f64(out, f as f64),
        (C::DecimalPrecise, Mp::Str(s)) => {
            let scale = match col.map(|c| &c.sql) {
                Some(SqlType::Decimal { scale, .. }) => *scale,
                _ => 0,
            };
            let b = decimal_bytes(s, scale).ok_or(Unfit::Kind)?;
            write::base64(out, b.as_slice(), Alphabet::Standard)
        }
        (C::DecimalString | C::Text | C::Enum | C::AnyString, Mp::Str(s)) => write::string(out, s),
        (C::DecimalDouble, Mp::Str(s)) => {
            let f: f64 = std::str::from_utf8(s)
                .ok()
                .and_then(|s| s.parse().ok())
                .ok_or(Unfit::Kind)?;
            write::f64(out, f)
        }
        // Debezium reads YEAR from the binlog as 1900 + the stored byte:
        // the zero year, stored as 0, comes out as 1900.
        (C::Year, Mp::Uint(y)) => write::uint(out, if y == 0 { 1900 } else { y }),
        (C::Date, Mp::Str(s)) => {
            let d = parse_date(s).ok_or(Unfit::Kind)?;
            zero_or(out, d, nullable, |out, (y, m, d)| {
                write::int(out, days_from_civil(y, m, d))
            })
        }
        (C::MicroTime | C::MilliTime, Mp::Str(s)) => {
            let us = parse_time(s).ok_or(Unfit::Kind)?;
            if conv == C::MicroTime {
                write::int(out, us)
            } else if !(0..=DAY_US).contains(&us) {
                // Kafka Connect's Time is a time of day: Debezium writes
                // null for a TIME outside 00:00..24:00 (observed with
                // -838:59:59 and 100:00:00; docs/FORMAT.md).
                out.extend_from_slice(b"null");
            } else {
                write::int(out, us.div_euclid(1000))
            }
        }
        (C::MilliTimestamp | C::MicroTimestamp, Mp::Str(s)) => {
            let dt = parse_datetime(s, b' ').ok_or(Unfit::Kind)?;
            zero_or(out, dt, nullable, |out, ((y, m, d), us)| {
                let us = days_from_civil(y, m, d) * 86_400_000_000 + us;
                if conv == C::MicroTimestamp {
                    write::int(out, us)
                } else {
                    write::int(out, us.div_euclid(1000))
                }
            })
        }
        (C::Zoned, Mp::Str(s)) => {
            if s.starts_with(b"0000-00-00") {
                // The zero TIMESTAMP is 0 seconds in the binlog, which
                // Debezium reads as the epoch, nullable or not, and writes
                // with the column's fraction digits.
                let fsp = match col.map(|c| &c.sql) {
                    Some(SqlType::Timestamp { fsp }) => *fsp as usize,
                    _ => 0,
                };
                out.extend_from_slice(b"\"1970-01-01T00:00:00");
                if fsp > 0 {
                    out.push(b'.');
                    out.extend(std::iter::repeat_n(b'0', fsp));
                }
                out.extend_from_slice(b"Z\"");
            } else {
                write::string(out, s)
            }
        }
        (C::Binary | C::AnyBytes, Mp::Bin(b) | Mp::Ext(b)) => match cx.settings.binary {
            BinaryMode::Hex if conv == C::Binary => write::hex(out, b),
            _ => write::base64(out, b, alphabet),
        },
        (C::Set, Mp::Array(n)) => {
            out.push(b'"');
            for i in 0..n {
                let Mp::Str(s) = r.next()? else {
                    return Err(Unfit::Kind);
                };
                if i > 0 {
                    out.push(b',');
                }
                write::str_body(out, s);
            }
            out.push(b'"');
        }
        (C::Boolean | C::AnyBool, Mp::Bool(b)) => write::bool(out, b),
        (C::Bits, Mp::Uint(v)) => {
            let bits = match col.map(|c| &c.sql) {
                Some(SqlType::Bit { bits }) => *bits as usize,
                _ => 64,
            };
            let le = v.to_le_bytes();
            write::base64(out, &le[..bits.div_ceil(8)], Alphabet::Standard)
        }
        (C::Json | C::AnyTree, Mp::Array(_) | Mp::Map(_))
        | (C::Json, Mp::Str(_) | Mp::Int(_) | Mp::Uint(_) | Mp::F64(_) | Mp::Bool(_)) => {
            cx.scratch.clear();
            document(cx.scratch, head, r)?;
            out.push(b'"');
            write::str_body(out, cx.scratch);
            out.push(b'"');
        }
        (C::Geometry, Mp::Bin(b)) if b.len() >= 4 => {
            let srid = u32::from_le_bytes(b[..4].try_into().expect("4 bytes"));
            out.extend_from_slice(b"{\"wkb\":");
            write::base64(out, &b[4..], Alphabet::Standard);
            out.extend_from_slice(b",\"srid\":");
            write::uint(out, srid as u64);
            out.push(b'}');
        }
        (C::Vector, Mp::Array(n)) => {
            out.push(b'[');
            for i in 0..n {
                let Mp::F32(f) = r.next()? else {
                    return Err(Unfit::Kind);
                };
                if i > 0 {
                    out.push(b',');
                }
                write::f32(out, f);
            }
            out.push(b']');
        }
        _ => return Err(Unfit::Kind),
    }
    Ok(())
}

/// A zero or partly zero date (`0000-00-00`, `2024-00-15`), or one that is
/// no day of the calendar: Debezium's binlog reader makes it null, which
/// its converters turn into null for a nullable column and the epoch (0)
/// for a NOT NULL one. Otherwise `write` writes `v`.
fn zero_or<T>(
    out: &mut Vec<u8>,
    v: Option<T>,
    nullable: bool,
    write: impl FnOnce(&mut Vec<u8>, T),
) {
    match v {
        Some(v) => write(out, v),
        None if nullable => write::null(out),
        None => out.push(b'0'),
    }
}

/// A JSON document from MessagePack, compact (`{"a":1,"b":[2,3]}`), as
/// the binlog client Debezium uses prints MySQL's binary JSON. Bytes
/// (opaque values) become base64 text, as there.
fn document(out: &mut Vec<u8>, head: Mp<'_>, r: &mut Reader<'_>) -> Result<(), Malformed> {
    match head {
        Mp::Nil => write::null(out),
        Mp::Bool(b) => write::bool(out, b),
        Mp::Int(i) => write::int(out, i),
        Mp::Uint(u) => write::uint(out, u),
        Mp::F32(f) => write::f64(out, f as f64),
        Mp::F64(f) => write::f64(out, f),
        Mp::Str(s) => write::string(out, s),
        Mp::Bin(b) | Mp::Ext(b) => write::base64(out, b, Alphabet::Standard),
        Mp::Array(n) => {
            out.push(b'[');
            for i in 0..n {
                if i > 0 {
                    out.push(b',');
                }
                let v = r.next()?;
                document(out, v, r)?;
            }
            out.push(b']');
        }
        Mp::Map(n) => {
            out.push(b'{');
            for i in 0..n {
                if i > 0 {
                    out.push(b',');
                }
                let k = r.next()?;
                match k {
                    Mp::Str(s) => write::string(out, s),
                    other => {
                        // Keys Sluice writes are strings; show others as text.
                        let mut text = Vec::new();
                        document(&mut text, other, r)?;
                        write::string(out, &text);
                    }
                }
                out.push(b':');
                let v = r.next()?;
                document(out, v, r)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

/// Big-endian two's complement bytes of at most [`Bytes::MAX`] bytes, on
/// the stack: one per DECIMAL value, which must not cost an allocation.
#[derive(Clone, Copy)]
pub(super) struct Bytes {
    b: [u8; Bytes::MAX],
    start: usize,
}

impl Bytes {
    /// DECIMAL(65) needs 28 bytes; BIGINT UNSIGNED 9.
    const MAX: usize = 32;

    pub(super) fn as_slice(&self) -> &[u8] {
        &self.b[self.start..]
    }
}

impl std::fmt::Debug for Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.as_slice().fmt(f)
    }
}

/// Kafka Connect's Decimal bytes: the unscaled integer of `text` (`"-12.50"`
/// at scale 2 is -1250), as Java's `BigInteger.toByteArray` gives it:
/// big-endian two's complement in the fewest bytes. `None` when `text` is
/// not a decimal with at most `scale` fraction digits (or more than 65).
pub(super) fn decimal_bytes(text: &[u8], scale: u8) -> Option<Bytes> {
    let (negative, body) = match text.split_first()? {
        (b'-', rest) => (true, rest),
        _ => (false, text),
    };
    let (int, frac) = match body.iter().position(|&c| c == b'.') {
        Some(dot) => (&body[..dot], &body[dot + 1..]),
        None => (body, &b""[..]),
    };
    let pad = (scale as usize).checked_sub(frac.len())?;
    if int.is_empty() || int.len() + frac.len() + pad > 65 {
        return None;
    }
    // Little-endian base-2^32 limbs: 65 digits take 216 bits, 7 limbs.
    let mut limbs = [0u32; 8];
    let digits = int
        .iter()
        .chain(frac)
        .copied()
        .chain(std::iter::repeat_n(b'0', pad));
    for c in digits {
        if !c.is_ascii_digit() {
            return None;
        }
        let mut carry = (c - b'0') as u64;
        for l in limbs.iter_mut() {
            let v = *l as u64 * 10 + carry;
            *l = v as u32;
            carry = v >> 32;
        }
    }
    let mut be = [0u8; 32];
    for (i, l) in limbs.iter().rev().enumerate() {
        be[i * 4..i * 4 + 4].copy_from_slice(&l.to_be_bytes());
    }
    let zero = limbs.iter().all(|&l| l == 0);
    Some(twos_complement(&be, negative && !zero))
}

/// The magnitude `be` (big-endian, its top bit clear), negated if
/// `negative`, in the fewest bytes of two's complement (zero is one 0
/// byte, as in Java).
fn twos_complement(be: &[u8], negative: bool) -> Bytes {
    let mut b = [0u8; Bytes::MAX];
    // Right-aligned, with at least one byte ahead for the sign.
    let at = Bytes::MAX - be.len();
    b[at..].copy_from_slice(be);
    if negative {
        for x in b.iter_mut() {
            *x = !*x;
        }
        for x in b.iter_mut().rev() {
            let (n, overflow) = x.overflowing_add(1);
            *x = n;
            if !overflow {
                break;
            }
        }
    }
    let fill = if negative { 0xff } else { 0x00 };
    let mut start = 0;
    while start + 1 < b.len() && b[start] == fill && (b[start + 1] & 0x80 == fill & 0x80) {
        start += 1;
    }
    Bytes { b, start }
}

/// Days from 1970-01-01 to a date of the proleptic Gregorian calendar
/// (Howard Hinnant's `days_from_civil`).
pub(super) fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m as i64 + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d as i64 - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn digits(s: &[u8]) -> Option<u32> {
    if s.is_empty() || s.len() > 9 || !s.iter().all(u8::is_ascii_digit) {
        return None;
    }
    Some(s.iter().fold(0, |a, &c| a * 10 + (c - b'0') as u32))
}

/// Year, month, day.
type Ymd = (i64, u32, u32);

/// `YYYY-MM-DD`: `Some(None)` for a zero, partly zero or impossible date,
/// `None` for text that is no date at all.
fn parse_date(s: &[u8]) -> Option<Option<Ymd>> {
    if s.len() != 10 || s[4] != b'-' || s[7] != b'-' {
        return None;
    }
    let (y, m, d) = (digits(&s[..4])?, digits(&s[5..7])?, digits(&s[8..])?);
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => 0,
    };
    Some((y != 0 && (1..=days).contains(&d)).then_some((y as i64, m, d)))
}

/// Fraction digits after a `.` as microseconds (`.5` is 500000).
fn micros(frac: &[u8]) -> Option<i64> {
    if frac.is_empty() || frac.len() > 6 {
        return None;
    }
    let n = digits(frac)? as i64;
    Some(n * 10i64.pow(6 - frac.len() as u32))
}

/// `HH:MM:SS[.ffffff]` (hours may have 3 digits) as microseconds.
fn parse_clock(s: &[u8]) -> Option<i64> {
    let (clock, frac) = match s.iter().position(|&c| c == b'.') {
        Some(dot) => (&s[..dot], micros(&s[dot + 1..])?),
        None => (s, 0),
    };
    let mut parts = clock.split(|&c| c == b':');
    let h = digits(parts.next()?)? as i64;
    let m = digits(parts.next()?)? as i64;
    let sec = digits(parts.next()?)? as i64;
    if parts.next().is_some() || m > 59 || sec > 59 {
        return None;
    }
    Some(((h * 60 + m) * 60 + sec) * 1_000_000 + frac)
}

/// TIME, `[-]HHH:MM:SS[.ffffff]`, as signed microseconds.
/// A day in microseconds: 24:00:00, the largest time of day Kafka
/// Connect's Time takes.
const DAY_US: i64 = 86_400_000_000;

fn parse_time(s: &[u8]) -> Option<i64> {
    match s.split_first()? {
        (b'-', rest) => Some(-parse_clock(rest)?),
        _ => parse_clock(s),
    }
}

/// `YYYY-MM-DD<sep>HH:MM:SS[.ffffff]`: the date (`None` when zero, as in
/// [`parse_date`]) and the microseconds into the day.
fn parse_datetime(s: &[u8], sep: u8) -> Option<Option<(Ymd, i64)>> {
    if s.len() < 19 || s[10] != sep {
        return None;
    }
    let date = parse_date(&s[..10])?;
    let clock = parse_clock(&s[11..])?;
    if clock >= 86_400_000_000 {
        return None;
    }
    Some(date.map(|d| (d, clock)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decimals_are_java_big_integer_bytes() {
        // BigInteger.valueOf(n).toByteArray() for these n.
        let cases: &[(&str, u8, &[u8])] = &[
            ("0", 0, &[0x00]),
            ("0.00", 2, &[0x00]),
            ("-0.00", 2, &[0x00]),
            ("1", 0, &[0x01]),
            ("127", 0, &[0x7f]),
            ("128", 0, &[0x00, 0x80]),
            ("-128", 0, &[0x80]),
            ("-129", 0, &[0xff, 0x7f]),
            ("-1", 0, &[0xff]),
            ("-12.50", 2, &[0xfb, 0x1e]), // -1250
            ("12.5", 2, &[0x04, 0xe2]),   // 1250: fewer fraction digits pad
            ("255", 0, &[0x00, 0xff]),
            ("-256", 0, &[0xff, 0x00]),
        ];
        for (text, scale, bytes) in cases {
            assert_eq!(
                decimal_bytes(text.as_bytes(), *scale).map(|b| b.as_slice().to_vec()),
                Some(bytes.to_vec()),
                "{text}"
            );
        }
        // 10^64 - 1 (DECIMAL(65,1)'s largest magnitude, unscaled) round-trips.
        let nines = "9".repeat(65);
        let b = decimal_bytes(nines.as_bytes(), 0).unwrap();
        let b = b.as_slice();
        assert_eq!(b.len(), 28, "216 bits, the top one set, and a sign bit");
        assert_eq!(b[0], 0x00);
        assert!(
            decimal_bytes(b"1.234", 2).is_none(),
            "more digits than the scale"
        );
        assert!(decimal_bytes(b"1e5", 0).is_none());
        assert!(decimal_bytes("1".repeat(66).as_bytes(), 0).is_none());
        let negative = decimal_bytes(format!("-{nines}").as_bytes(), 0).unwrap();
        assert_eq!(
            negative.as_slice()[0],
            0xff,
            "the sign byte of the smallest"
        );
    }

    #[test]
    fn unsigned_bigint_is_a_positive_big_integer() {
        assert_eq!(
            twos_complement(&u64::MAX.to_be_bytes(), false).as_slice(),
            [0x00, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]
        );
        assert_eq!(
            twos_complement(&0u64.to_be_bytes(), false).as_slice(),
            [0x00]
        );
    }

    #[test]
    fn calendar_days_match_known_dates() {
        assert_eq!(days_from_civil(1970, 1, 1), 0);
        assert_eq!(days_from_civil(2018, 6, 20), 17702);
        assert_eq!(days_from_civil(1969, 12, 31), -1);
        assert_eq!(days_from_civil(1000, 1, 1), -354285);
        assert_eq!(days_from_civil(9999, 12, 31), 2932896);
        assert_eq!(parse_date(b"2024-02-29"), Some(Some((2024, 2, 29))));
        assert_eq!(parse_date(b"2023-02-29"), Some(None), "not a day");
        assert_eq!(parse_date(b"0000-00-00"), Some(None));
        assert_eq!(parse_date(b"2024-00-15"), Some(None));
        assert_eq!(parse_date(b"24-1-1"), None);
    }

    #[test]
    fn times_are_signed_microseconds() {
        assert_eq!(parse_time(b"00:00:00"), Some(0));
        assert_eq!(parse_time(b"838:59:59"), Some(3_020_399_000_000));
        assert_eq!(parse_time(b"-838:59:59.000000"), Some(-3_020_399_000_000));
        assert_eq!(parse_time(b"-00:00:00.5"), Some(-500_000));
        assert_eq!(parse_time(b"12:34:56.789"), Some(45_296_789_000));
        assert_eq!(parse_time(b"12:60:00"), None);
        assert_eq!(
            parse_datetime(b"2018-06-20 06:37:03", b' '),
            Some(Some(((2018, 6, 20), 23_823_000_000)))
        );
        assert_eq!(
            parse_datetime(b"0000-00-00 00:00:00", b' '),
            Some(None),
            "zero"
        );
    }
}
