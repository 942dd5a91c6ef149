//! DATE, TIME, DATETIME and TIMESTAMP from their binlog encodings to the
//! strings in `docs/FORMAT.md`. Digits are written by hand into the output
//! buffer: formatting machinery would dominate the cost of a row.

use crate::event::msgpack::{extend_short, write_str_header};

use super::cursor::{Cursor, Truncated};
use super::digits::pair;

/// A value's text, built on the stack and copied into the output once, with
/// its MessagePack header: one copy per value rather than a capacity check
/// per pair of digits. Dates are written at fixed offsets (no index
/// arithmetic); 32 bytes hold the longest, a TIMESTAMP(6) with its `T` and
/// `Z`.
struct Text {
    buf: [u8; 32],
    n: usize,
}

impl Text {
    #[inline]
    fn new() -> Self {
        Text { buf: [0; 32], n: 0 }
    }

    #[inline]
    fn push(&mut self, b: u8) {
        self.buf[self.n] = b;
        self.n += 1;
    }

    /// `YYYY-MM-DD`, at the start of the text.
    #[inline]
    fn date(&mut self, y: u32, m: u32, d: u32) {
        let b = &mut self.buf;
        [b[0], b[1]] = pair(y / 100);
        [b[2], b[3]] = pair(y);
        b[4] = b'-';
        [b[5], b[6]] = pair(m);
        b[7] = b'-';
        [b[8], b[9]] = pair(d);
        self.n = 10;
    }

    /// `YYYY-MM-DD<sep>hh:mm:ss`, at the start of the text.
    #[inline]
    fn datetime(&mut self, (y, m, d): (u32, u32, u32), sep: u8, (h, mi, s): (u32, u32, u32)) {
        self.date(y, m, d);
        let b = &mut self.buf;
        b[10] = sep;
        [b[11], b[12]] = pair(h);
        b[13] = b':';
        [b[14], b[15]] = pair(mi);
        b[16] = b':';
        [b[17], b[18]] = pair(s);
        self.n = 19;
    }

    /// `hh:mm:ss` after what is there (a sign, a hundreds digit).
    #[inline]
    fn time(&mut self, h: u32, mi: u32, s: u32) {
        for (v, sep) in [(h, b':'), (mi, b':'), (s, 0)] {
            let [x, y] = pair(v);
            self.push(x);
            self.push(y);
            if sep != 0 {
                self.push(sep);
            }
        }
    }

    /// Appends `.ffffff` cut to `fsp` digits; `micros` is 0..1_000_000.
    #[inline]
    fn push_frac(&mut self, micros: u32, fsp: u8) {
        if fsp == 0 {
            return;
        }
        self.push(b'.');
        let n = self.n;
        let d = &mut self.buf[n..n + 6];
        [d[0], d[1]] = pair(micros / 10_000);
        [d[2], d[3]] = pair(micros / 100);
        [d[4], d[5]] = pair(micros);
        self.n += (fsp as usize).min(6);
    }

    /// Writes the text as a MessagePack string.
    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        write_str_header(out, self.n);
        extend_short(out, &self.buf[..self.n]);
    }
}

/// Writes a DATE as `YYYY-MM-DD`. The text formatters below are shared by
/// the binlog readers and the snapshot reader (values from `SELECT`), so a
/// row reads the same whichever way it came.
#[inline]
pub(crate) fn write_date(out: &mut Vec<u8>, y: u32, m: u32, d: u32) {
    let mut t = Text::new();
    t.date(y, m, d);
    t.write(out);
}

/// Writes a DATETIME(fsp) as `YYYY-MM-DD hh:mm:ss[.f]`; `micros` is
/// 0..1_000_000, cut to `fsp` digits.
#[inline]
pub(crate) fn write_datetime(
    out: &mut Vec<u8>,
    ymd: (u32, u32, u32),
    hms: (u32, u32, u32),
    micros: u32,
    fsp: u8,
) {
    date_and_time(out, ymd, hms, micros, fsp, false);
}

/// Writes a TIMESTAMP(fsp), given in UTC, as `YYYY-MM-DDThh:mm:ss[.f]Z`.
#[inline]
pub(crate) fn write_timestamp(
    out: &mut Vec<u8>,
    ymd: (u32, u32, u32),
    hms: (u32, u32, u32),
    micros: u32,
    fsp: u8,
) {
    date_and_time(out, ymd, hms, micros, fsp, true);
}

/// A DATETIME's text, or with `utc` a TIMESTAMP's (`T` between date and
/// time, `Z` after).
#[inline]
fn date_and_time(
    out: &mut Vec<u8>,
    ymd: (u32, u32, u32),
    hms: (u32, u32, u32),
    micros: u32,
    fsp: u8,
    utc: bool,
) {
    let mut t = Text::new();
    t.datetime(ymd, if utc { b'T' } else { b' ' }, hms);
    t.push_frac(micros, fsp);
    if utc {
        t.push(b'Z');
    }
    t.write(out);
}

/// Writes a TIME(fsp) as `[-]hh:mm:ss[.f]`, with a third hour digit from
/// 100 h; `h` is the total hours (at most 838 in a TIME).
#[inline]
pub(crate) fn write_time(
    out: &mut Vec<u8>,
    negative: bool,
    (h, m, s): (u32, u32, u32),
    micros: u32,
    fsp: u8,
) {
    let mut t = Text::new();
    if negative {
        t.push(b'-');
    }
    if h >= 100 {
        t.push(b'0' + (h / 100 % 10) as u8);
    }
    t.time(h % 100, m, s);
    t.push_frac(micros, fsp);
    t.write(out);
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

/// DATE: 3 bytes little-endian, day in bits 0-4, month 5-8, year above.
pub(crate) fn date(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), Truncated> {
    let v = c.uint_le(3)? as u32;
    write_date(out, v >> 9, (v >> 5) & 15, v & 31);
    Ok(())
}

/// DATETIME(fsp): 5 bytes big-endian offset by 2^39, then fractions.
pub(crate) fn datetime2(c: &mut Cursor<'_>, out: &mut Vec<u8>, fsp: u8) -> Result<(), Truncated> {
    let int = c.uint_be(5)? as i64 - 0x80_0000_0000;
    let micros = read_frac(c, fsp)?;
    // Negative values cannot be stored; treat defensively as zero date.
    let v = int.max(0) as u64;
    let ymd = v >> 17;
    let ym = ymd >> 5;
    let hms = v & ((1 << 17) - 1);
    write_datetime(
        out,
        ((ym / 13) as u32, (ym % 13) as u32, (ymd & 31) as u32),
        (
            (hms >> 12) as u32,
            ((hms >> 6) & 63) as u32,
            (hms & 63) as u32,
        ),
        micros,
        fsp,
    );
    Ok(())
}

/// Pre-5.6 DATETIME: the number YYYYMMDDhhmmss as 8 bytes little-endian.
pub(crate) fn datetime_old(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), Truncated> {
    let v = c.uint_le(8)?;
    let (d, t) = ((v / 1_000_000) as u32, (v % 1_000_000) as u32);
    write_datetime(
        out,
        (d / 10000, d / 100 % 100, d % 100),
        (t / 10000, t / 100 % 100, t % 100),
        0,
        0,
    );
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
    if secs == 0 && micros == 0 {
        // The zero TIMESTAMP: 1970-01-01 00:00:00 UTC is outside TIMESTAMP's
        // range, so the server uses 0 for '0000-00-00 00:00:00'.
        write_timestamp(out, (0, 0, 0), (0, 0, 0), 0, fsp);
    } else {
        let (y, m, d) = civil_from_days((secs / 86_400) as i64);
        let s = (secs % 86_400) as u32;
        write_timestamp(
            out,
            (y as u32, m, d),
            (s / 3600, s / 60 % 60, s % 60),
            micros,
            fsp,
        );
    }
}

/// TIMESTAMP(fsp): seconds since the epoch in UTC (4 bytes big-endian), then
/// fractions. The writer's session time zone never reaches the binlog.
pub(crate) fn timestamp2(c: &mut Cursor<'_>, out: &mut Vec<u8>, fsp: u8) -> Result<(), Truncated> {
    let secs = c.uint_be(4)?;
    let micros = read_frac(c, fsp)?;
    timestamp_str(out, secs, micros, fsp);
    Ok(())
}

/// Pre-5.6 TIMESTAMP: 4 bytes little-endian seconds.
pub(crate) fn timestamp_old(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), Truncated> {
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
    write_time(out, neg, (h, m, s), micros, fsp);
}

/// TIME(fsp): 3 bytes big-endian offset by 2^23, then fractions whose sign
/// follows the integer part (negative values borrow from the seconds).
pub(crate) fn time2(c: &mut Cursor<'_>, out: &mut Vec<u8>, fsp: u8) -> Result<(), Truncated> {
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
pub(crate) fn time_old(c: &mut Cursor<'_>, out: &mut Vec<u8>) -> Result<(), Truncated> {
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
pub(crate) fn packed_to_string(packed: i64, kind: PackedKind, out: &mut Vec<u8>) {
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
                write_date(out, y, m, d);
            } else {
                write_datetime(
                    out,
                    (y, m, d),
                    (
                        (hms >> 12) as u32,
                        ((hms >> 6) & 63) as u32,
                        (hms & 63) as u32,
                    ),
                    micros,
                    6,
                );
            }
        }
    }
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub(crate) enum PackedKind {
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
