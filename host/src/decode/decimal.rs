//! DECIMAL from MySQL's binary format to an exact decimal string.
//!
//! The format stores groups of 9 decimal digits in 4 big-endian bytes, with
//! a shorter group for leftover digits at both ends; the sign is the top bit
//! of the first byte, and negative numbers have every byte inverted.

use crate::event::msgpack::{extend_short, write_str_header};

use super::cursor::{Cursor, Truncated};
use super::digits::right_aligned;

const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/// 10^0 ..= 10^9: the bound of a group of that many digits.
const POW10: [u64; 10] = [
    1,
    10,
    100,
    1_000,
    10_000,
    100_000,
    1_000_000,
    10_000_000,
    100_000_000,
    1_000_000_000,
];

/// Bytes a DECIMAL(precision, scale) occupies in a row image.
pub(crate) fn binary_size(precision: u8, scale: u8) -> usize {
    let intg = (precision - scale) as usize;
    let frac = scale as usize;
    (intg / 9) * 4 + DIG2BYTES[intg % 9] + (frac / 9) * 4 + DIG2BYTES[frac % 9]
}

/// Reads one DECIMAL and writes it as a MessagePack string such as
/// `"-12.50"`: no leading zeros, exactly `scale` fraction digits.
pub(crate) fn read(
    c: &mut Cursor<'_>,
    out: &mut Vec<u8>,
    precision: u8,
    scale: u8,
) -> Result<(), Truncated> {
    let size = binary_size(precision, scale);
    let raw = c.take(size)?;
    write(raw, out, precision, scale);
    Ok(())
}

/// Formats the binary DECIMAL in `raw` (exactly `binary_size` bytes).
pub(crate) fn write(raw: &[u8], out: &mut Vec<u8>, precision: u8, scale: u8) {
    if write_small(raw, out, precision, scale) {
        return;
    }
    let mut buf = [0u8; 80];
    let n = format(raw, &mut buf, precision, scale);
    write_str_header(out, n);
    out.extend_from_slice(&buf[..n]);
}

/// The common case, up to 18 integer and 18 fraction digits (DECIMAL(12,2),
/// DECIMAL(20,6), ...): each part fits a u64, so the digits come from
/// integer arithmetic, two at a time, instead of one at a time through
/// buffers. Returns false, having written nothing, for wider columns and
/// for groups holding more digits than they may (corrupt data), which
/// [`format()`] handles.
#[inline]
fn write_small(raw: &[u8], out: &mut Vec<u8>, precision: u8, scale: u8) -> bool {
    let Some(intg) = precision.checked_sub(scale).map(usize::from) else {
        return false;
    };
    let frac = scale as usize;
    let size = binary_size(precision, scale);
    if intg > 18 || frac > 18 || size == 0 || raw.len() != size {
        return false;
    }
    // At most 8 + 8 bytes: the whole image as one big-endian number, sign
    // and inversion undone up front, then cut into its groups by shifts.
    let bits = 8 * size as u32;
    let mut word = raw.iter().fold(0u128, |w, &b| (w << 8) | b as u128);
    let negative = raw[0] & 0x80 == 0;
    if negative {
        word = !word & (u128::MAX >> (128 - bits));
    }
    word ^= 1 << (bits - 1);
    let mut left = bits;
    let mut group = |bytes: usize, digits: usize| -> Option<u64> {
        left -= 8 * bytes as u32;
        let v = ((word >> left) as u64) & (u64::MAX >> (64 - 8 * bytes as u32));
        (v < POW10[digits]).then_some(v)
    };
    let parts = (|| {
        let lead = intg % 9;
        let mut int = if lead > 0 {
            group(DIG2BYTES[lead], lead)?
        } else {
            0
        };
        for _ in 0..intg / 9 {
            int = int * 1_000_000_000 + group(4, 9)?;
        }
        let mut fraction = 0u64;
        for _ in 0..frac / 9 {
            fraction = fraction * 1_000_000_000 + group(4, 9)?;
        }
        let trail = frac % 9;
        if trail > 0 {
            fraction = fraction * POW10[trail] + group(DIG2BYTES[trail], trail)?;
        }
        Some((int, fraction))
    })();
    let Some((int, fraction)) = parts else {
        return false;
    };

    // Built right to left in one buffer and copied once: up to 18 + 18
    // digits, the point and the sign.
    let mut text = [b'0'; 40];
    let end = text.len();
    let mut at = end;
    if frac > 0 {
        // `right_aligned` writes at least one digit; the zeros the buffer
        // starts with pad the fraction to exactly `scale` digits.
        right_aligned(fraction, &mut text, end);
        at = end - frac - 1;
        text[at] = b'.';
    }
    at = right_aligned(int, &mut text, at);
    if negative && (int != 0 || fraction != 0) {
        at -= 1;
        text[at] = b'-';
    }
    write_str_header(out, end - at);
    extend_short(out, &text[at..]);
    true
}

fn format(raw: &[u8], buf: &mut [u8; 80], precision: u8, scale: u8) -> usize {
    let intg = (precision - scale) as usize;
    let frac = scale as usize;
    let negative = raw.first().is_some_and(|b| b & 0x80 == 0);
    let mask: u8 = if negative { 0xff } else { 0 };
    let byte = |i: usize| -> u8 {
        let b = raw[i] ^ mask;
        if i == 0 {
            b ^ 0x80
        } else {
            b
        }
    };
    let read_group = |pos: &mut usize, len: usize| -> u32 {
        let mut v = 0u32;
        for i in 0..len {
            v = (v << 8) | byte(*pos + i) as u32;
        }
        *pos += len;
        v
    };

    // Integer digits, most significant first.
    let mut digits = [0u8; 66];
    let mut nd = 0;
    let mut pos = 0;
    let lead = intg % 9;
    if lead > 0 {
        let v = read_group(&mut pos, DIG2BYTES[lead]);
        push_digits(&mut digits, &mut nd, v, lead);
    }
    for _ in 0..intg / 9 {
        let v = read_group(&mut pos, 4);
        push_digits(&mut digits, &mut nd, v, 9);
    }
    let mut fdigits = [0u8; 30];
    let mut nf = 0;
    for _ in 0..frac / 9 {
        let v = read_group(&mut pos, 4);
        push_digits(&mut fdigits, &mut nf, v, 9);
    }
    let trail = frac % 9;
    if trail > 0 {
        let v = read_group(&mut pos, DIG2BYTES[trail]);
        push_digits(&mut fdigits, &mut nf, v, trail);
    }

    let first_nonzero = digits[..nd].iter().position(|&d| d != b'0');
    let is_zero = first_nonzero.is_none() && fdigits[..nf].iter().all(|&d| d == b'0');
    let mut n = 0;
    if negative && !is_zero {
        buf[n] = b'-';
        n += 1;
    }
    match first_nonzero {
        Some(i) => {
            let d = &digits[i..nd];
            buf[n..n + d.len()].copy_from_slice(d);
            n += d.len();
        }
        None => {
            buf[n] = b'0';
            n += 1;
        }
    }
    if nf > 0 {
        buf[n] = b'.';
        n += 1;
        buf[n..n + nf].copy_from_slice(&fdigits[..nf]);
        n += nf;
    }
    n
}

/// Appends exactly `width` digits of `v` (a group may hold a value wider than
/// its digit count only in corrupt data; the excess is cut off).
fn push_digits(dst: &mut [u8], n: &mut usize, v: u32, width: usize) {
    let mut v = v;
    for i in (0..width).rev() {
        if let Some(slot) = dst.get_mut(*n + i) {
            *slot = b'0' + (v % 10) as u8;
        }
        v /= 10;
    }
    *n = (*n + width).min(dst.len());
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fmt(raw: &[u8], p: u8, s: u8) -> String {
        let mut buf = [0u8; 80];
        let n = format(raw, &mut buf, p, s);
        String::from_utf8(buf[..n].to_vec()).unwrap()
    }

    #[test]
    fn examples_from_the_mysql_manual() {
        // DECIMAL(14,4) 1234567890.1234 from strings/decimal.c's comment.
        let raw = [0x81, 0x0D, 0xFB, 0x38, 0xD2, 0x04, 0xD2];
        assert_eq!(binary_size(14, 4), 7);
        assert_eq!(fmt(&raw, 14, 4), "1234567890.1234");
        // The same value negated: every byte inverted.
        let neg: Vec<u8> = raw.iter().map(|b| !b).collect();
        assert_eq!(fmt(&neg, 14, 4), "-1234567890.1234");
    }

    /// The binary form of the decimal string `v` for DECIMAL(p, s), built
    /// the way the server does (independently of the readers here).
    fn encode(v: &str, p: u8, s: u8) -> Vec<u8> {
        let negative = v.starts_with('-');
        let v = v.trim_start_matches('-');
        let (i, f) = v.split_once('.').unwrap_or((v, ""));
        let (intg, frac) = ((p - s) as usize, s as usize);
        let i = format!("{:0>width$}", i, width = intg);
        let f = format!("{:0<width$}", f, width = frac);
        let mut out = Vec::new();
        let mut put = |digits: &str, bytes: usize| {
            let n: u64 = if digits.is_empty() {
                0
            } else {
                digits.parse().unwrap()
            };
            out.extend_from_slice(&n.to_be_bytes()[8 - bytes..]);
        };
        let lead = intg % 9;
        put(&i[..lead], DIG2BYTES[lead]);
        for g in 0..intg / 9 {
            put(&i[lead + g * 9..lead + g * 9 + 9], 4);
        }
        for g in 0..frac / 9 {
            put(&f[g * 9..g * 9 + 9], 4);
        }
        put(&f[frac / 9 * 9..], DIG2BYTES[frac % 9]);
        out[0] ^= 0x80;
        if negative {
            out.iter_mut().for_each(|b| *b = !*b);
        }
        out
    }

    #[test]
    fn the_small_path_agrees_with_the_general_one() {
        let mut seed = 0x9e37_79b9_7f4a_7c15u64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let mut small = 0;
        for _ in 0..20_000 {
            let p = 1 + (next() % 40) as u8;
            let s = (next() % (p.min(30) as u64 + 1)) as u8;
            let (intg, frac) = ((p - s) as usize, s as usize);
            let digits = |n: usize, r: &mut dyn FnMut() -> u64| -> String {
                let keep = (r() % (n as u64 + 1)) as usize;
                (0..n)
                    .map(|k| {
                        if k < n - keep {
                            '0'
                        } else {
                            (b'0' + (r() % 10) as u8) as char
                        }
                    })
                    .collect()
            };
            let i = digits(intg, &mut next);
            let f = digits(frac, &mut next);
            let sign = if next() % 3 == 0 { "-" } else { "" };
            let raw = encode(&format!("{sign}{i}.{f}"), p, s);
            let mut general = [0u8; 80];
            let n = format(&raw, &mut general, p, s);
            let mut out = Vec::new();
            if write_small(&raw, &mut out, p, s) {
                small += 1;
                let text = rmpv::decode::read_value(&mut &out[..]).unwrap();
                assert_eq!(
                    text.as_str().unwrap(),
                    std::str::from_utf8(&general[..n]).unwrap(),
                    "DECIMAL({p},{s}) {sign}{i}.{f}"
                );
            } else {
                assert!(
                    intg > 18 || frac > 18,
                    "DECIMAL({p},{s}) should take the small path"
                );
            }
        }
        assert!(small > 10_000, "{small}");
        // Corrupt groups (more than 9 digits) fall back to the general path.
        let mut out = Vec::new();
        assert!(!write_small(
            &[0xff, 0xff, 0xff, 0xff, 0xff],
            &mut out,
            10,
            0
        ));
        assert!(out.is_empty());
    }

    #[test]
    fn a_zero_precision_column_does_not_panic() {
        let mut out = Vec::new();
        write(&[], &mut out, 0, 0);
        assert!(!out.is_empty());
    }

    #[test]
    fn zero_scale_and_zero() {
        // DECIMAL(5,0) 12345: 5 digits in 3 bytes.
        let v: u32 = 12345;
        let raw = [0x80 | (v >> 16) as u8, (v >> 8) as u8, v as u8];
        assert_eq!(fmt(&raw, 5, 0), "12345");
        assert_eq!(fmt(&[0x80, 0, 0, 0, 0], 10, 2), "0.00");
        assert_eq!(fmt(&[0x80, 0, 0], 5, 0), "0");
    }
}
