//! DATE, TIME, DATETIME and TIMESTAMP from their binlog encodings to the
//! strings in `docs/FORMAT.md`. Digits are written by hand into the output
//! buffer: formatting machinery would dominate the cost of a row.

use crate::event::msgpack::write_str_header;

use super::cursor::{Cursor, Truncated};

#[inline]
fn push2(out: &mut Vec<u8>, v: u32) {
    out.extend_from_slice(&[b'0' + (v / 10 % 10) as u8, b'0' + (v % 10) as u8]);
}

#[inline]
fn push4(out: &mut Vec<u8>, v: u32) {
    push2(out, v / 100 % 100);
    push2(out, v % 100);
}

/// Appends `.ffffff` cut to `fsp` digits; `micros` is 0..1_000_000.
#[inline]
fn push_frac(out: &mut Vec<u8>, micros: u32, fsp: u8) {
    if fsp == 0 {
        return;
    }
    out.push(b'.');
    let mut digits = [0u8; 6];
    let mut v = micros;
    for d in digits.iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    out.extend_from_slice(&digits[..fsp as usize]);
}

#[inline]
fn frac_len(fsp: u8) -> usize {
    (fsp as usize).div_ceil(2)
}

/// Reads the fractional part that follows DATETIME2/TIMESTAMP2/TIME2 values,
/// big-endian, scaled to microseconds.
fn read_frac(c: &mut Cursor<'_>, fsp: u8) -> Result<u32, Truncated> {
    Ok(match frac_len(fsp) {
        0 => 0,
        1 => c.u8()? as u32 * 10_000,
        2 => c.uint_be(2)? as u32 * 100,
        _ => c.uint_be(3)? as u32,
    })
}

fn date_str(out: &mut Vec<u8>, y: u32, m: u32, d: u32) {
    push4(out, y);
    out.push(b'-');
    push2(out, m);
    out.push(b'-');
    push2(out, d);
}

fn time_str(out: &mut Vec<u8>, h: u32, mi: u32, s: u32) {
    push2(out, h);
    out.push(b':');
    push2(out, mi);
    out.push(b':');
    push2(out, s);
}

/// DATE: 3 bytes little-endian, day in bits 0-4, month 5-8, year above.
pub fn date(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), Truncated> {
    let v = c.uint_le(3)? as u32;
    write_str_header(out, 10);
    date_str(out, v >> 9, (v >> 5) & 15, v & 31);
    Ok(())
}

/// DATETIME(fsp): 5 bytes big-endian offset by 2^39, then fractions.
pub fn datetime2(c: &mut Cursor<'_>, out: &mut Vec<u8>, fsp: u8) -> Result<(), Truncated> {
    let int = c.uint_be(5)? as i64 - 0x80_0000_0000;
    let micros = read_frac(c, fsp)?;
    // Negative values cannot be stored; treat defensively as zero date.
    let v = int.max(0) as u64;
    let ymd = v >> 17;
    let ym = ymd >> 5;
    let hms = v & ((1 << 17) - 1);
    let len = 19 + if fsp > 0 { 1 + fsp as usize } else { 0 };
    write_str_header(out, len);
    date_str(out, (ym / 13) as u32, (ym % 13) as u32, (ymd & 31) as u32);
    out.push(b' ');
    time_str(
        out,
        (hms >> 12) as u32,
        ((hms >> 6) & 63) as u32,
        (hms & 63) as u32,
    );
    push_frac(out, micros, fsp);
    Ok(())
}

/// Pre-5.6 DATETIME: the number YYYYMMDDhhmmss as 8 bytes little-endian.
pub fn datetime_old(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), Truncated> {
    let v = c.uint_le(8)?;
    let (d, t) = ((v / 1_000_000) as u32, (v % 1_000_000) as u32);
    write_str_header(out, 19);
    date_str(out, d / 10000, d / 100 % 100, d % 100);
    out.push(b' ');
    time_str(out, t / 10000, t / 100 % 100, t % 100);
    Ok(())
}

/// Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

fn timestamp_str(out: &mut Vec<u8>, secs: u64, micros: u32, fsp: u8) {
    let len = 20 + if fsp > 0 { 1 + fsp as usize } else { 0 };
    write_str_header(out, len);
    if secs == 0 && micros == 0 {
        // The zero TIMESTAMP: 1970-01-01 00:00:00 UTC is outside TIMESTAMP's
        // range, so the server uses 0 for '0000-00-00 00:00:00'.
        date_str(out, 0, 0, 0);
        out.push(b'T');
        time_str(out, 0, 0, 0);
    } else {
        let (y, m, d) = civil_from_days((secs / 86_400) as i64);
        let s = (secs % 86_400) as u32;
        date_str(out, y as u32, m, d);
        out.push(b'T');
        time_str(out, s / 3600, s / 60 % 60, s % 60);
    }
    push_frac(out, micros, fsp);
    out.push(b'Z');
}

/// TIMESTAMP(fsp): seconds since the epoch in UTC (4 bytes big-endian), then
/// fractions. The writer's session time zone never reaches the binlog.
pub fn timestamp2(c: &mut Cursor<'_>, out: &mut Vec<u8>, fsp: u8) -> Result<(), Truncated> {
    let secs = c.uint_be(4)?;
    let micros = read_frac(c, fsp)?;
    timestamp_str(out, secs, micros, fsp);
    Ok(())
}

/// Pre-5.6 TIMESTAMP: 4 bytes little-endian seconds.
pub fn timestamp_old(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), Truncated> {
    let secs = c.uint_le(4)?;
    timestamp_str(out, secs, 0, 0);
    Ok(())
}

/// Writes a TIME from its "packed" form: sign, then hh:mm:ss in the high bits
/// and microseconds in the low 24 bits.
fn time_from_packed(out: &mut Vec<u8>, packed: i64, fsp: u8) {
    let neg = packed < 0;
    let p = packed.unsigned_abs();
    let hms = p >> 24;
    let micros = (p & 0xff_ffff) as u32;
    let (h, m, s) = (
        ((hms >> 12) & 0x3ff) as u32,
        ((hms >> 6) & 63) as u32,
        (hms & 63) as u32,
    );
    let hour_digits = if h >= 100 { 3 } else { 2 };
    let len = neg as usize + hour_digits + 6 + if fsp > 0 { 1 + fsp as usize } else { 0 };
    write_str_header(out, len);
    if neg {
        out.push(b'-');
    }
    if h >= 100 {
        out.push(b'0' + (h / 100) as u8);
    }
    time_str(out, h % 100, m, s);
    push_frac(out, micros, fsp);
}

/// TIME(fsp): 3 bytes big-endian offset by 2^23, then fractions whose sign
/// follows the integer part (negative values borrow from the seconds).
pub fn time2(c: &mut Cursor<'_>, out: &mut Vec<u8>, fsp: u8) -> Result<(), Truncated> {
    const INT_OFS: i64 = 0x80_0000;
    let packed = match frac_len(fsp) {
        0 => (c.uint_be(3)? as i64 - INT_OFS) << 24,
        1 => {
            let mut int = c.uint_be(3)? as i64 - INT_OFS;
            let mut frac = c.u8()? as i64;
            if int < 0 && frac != 0 {
                int += 1;
                frac -= 0x100;
            }
            (int << 24) + frac * 10_000
        }
        2 => {
            let mut int = c.uint_be(3)? as i64 - INT_OFS;
            let mut frac = c.uint_be(2)? as i64;
            if int < 0 && frac != 0 {
                int += 1;
                frac -= 0x10000;
            }
            (int << 24) + frac * 100
        }
        _ => c.uint_be(6)? as i64 - 0x8000_0000_0000,
    };
    time_from_packed(out, packed, fsp);
    Ok(())
}

/// Pre-5.6 TIME: signed 3-byte little-endian number ±HHMMSS.
pub fn time_old(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), Truncated> {
    let raw = c.uint_le(3)? as u32;
    let v = ((raw << 8) as i32 >> 8) as i64;
    let a = v.unsigned_abs();
    let (h, m, s) = (a / 10000, a / 100 % 100, a % 100);
    let packed = (((h << 12) | (m << 6) | s) << 24) as i64;
    time_from_packed(out, if v < 0 { -packed } else { packed }, 0);
    Ok(())
}

/// Writes a date/time value stored in MySQL's packed 8-byte form, as found
/// inside binary JSON. `kind` is the SQL type of the opaque value.
pub fn packed_to_string(packed: i64, kind: PackedKind, out: &mut Vec<u8>) {
    match kind {
        PackedKind::Time => time_from_packed(out, packed, 6),
        PackedKind::Date | PackedKind::DateTime => {
            let p = packed.unsigned_abs();
            let ymdhms = p >> 24;
            let micros = (p & 0xff_ffff) as u32;
            let ymd = ymdhms >> 17;
            let ym = ymd >> 5;
            let hms = ymdhms & ((1 << 17) - 1);
            let (y, m, d) = ((ym / 13) as u32, (ym % 13) as u32, (ymd & 31) as u32);
            if kind == PackedKind::Date {
                write_str_header(out, 10);
                date_str(out, y, m, d);
            } else {
                write_str_header(out, 26);
                date_str(out, y, m, d);
                out.push(b' ');
                time_str(
                    out,
                    (hms >> 12) as u32,
                    ((hms >> 6) & 63) as u32,
                    (hms & 63) as u32,
                );
                push_frac(out, micros, 6);
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum PackedKind {
    Date,
    Time,
    DateTime,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(out: &[u8]) -> String {
        rmpv::decode::read_value(&mut &out[..])
            .unwrap()
            .as_str()
            .unwrap()
            .to_string()
    }

    #[test]
    fn epoch_days() {
        assert_eq!(civil_from_days(0), (1970, 1, 1));
        assert_eq!(civil_from_days(19_723), (2024, 1, 1));
        assert_eq!(civil_from_days(24_855), (2038, 1, 19));
        assert_eq!(civil_from_days(11_016), (2000, 2, 29));
    }

    #[test]
    fn timestamp_in_utc_with_fractions() {
        let mut out = Vec::new();
        // 2038-01-19 03:14:07.5 UTC, fsp 1 stores tenths as one byte * 10.
        let bytes = [0x7f, 0xff, 0xff, 0xff, 50];
        timestamp2(&mut Cursor::new(&bytes), &mut out, 1).unwrap();
        assert_eq!(s(&out), "2038-01-19T03:14:07.5Z");
    }

    #[test]
    fn negative_time_with_fraction() {
        // -00:00:00.5 at fsp 1: int part -1, fraction byte 0x100-50 (the fraction borrows from the seconds).
        let int = (0x80_0000i64 - 1) as u32;
        let mut bytes = int.to_be_bytes()[1..].to_vec();
        bytes.push((0x100 - 50) as u8);
        let mut out = Vec::new();
        time2(&mut Cursor::new(&bytes), &mut out, 1).unwrap();
        assert_eq!(s(&out), "-00:00:00.5");
    }

    #[test]
    fn time_over_100_hours() {
        let hms: i64 = (838 << 12) | (59 << 6) | 59;
        let v = (hms + 0x80_0000) as u32;
        let bytes = &v.to_be_bytes()[1..];
        let mut out = Vec::new();
        time2(&mut Cursor::new(bytes), &mut out, 0).unwrap();
        assert_eq!(s(&out), "838:59:59");
        let v = (0x80_0000 - hms) as u32;
        let mut out = Vec::new();
        time2(&mut Cursor::new(&v.to_be_bytes()[1..]), &mut out, 0).unwrap();
        assert_eq!(s(&out), "-838:59:59");
    }
}
