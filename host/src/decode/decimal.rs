//! DECIMAL from MySQL's binary format to an exact decimal string.
//!
//! The format stores groups of 9 decimal digits in 4 big-endian bytes, with
//! a shorter group for leftover digits at both ends; the sign is the top bit
//! of the first byte, and negative numbers have every byte inverted.

use crate::event::msgpack::write_str_header;

use super::cursor::{Cursor, Truncated};

const DIG2BYTES: [usize; 10] = [0, 1, 1, 2, 2, 3, 3, 4, 4, 4];

/// Bytes a DECIMAL(precision, scale) occupies in a row image.
pub fn binary_size(precision: u8, scale: u8) -> usize {
    let intg = (precision - scale) as usize;
    let frac = scale as usize;
    (intg / 9) * 4 + DIG2BYTES[intg % 9] + (frac / 9) * 4 + DIG2BYTES[frac % 9]
}

/// Reads one DECIMAL and writes it as a MessagePack string such as
/// `"-12.50"`: no leading zeros, exactly `scale` fraction digits.
pub fn read(
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
pub fn write(raw: &[u8], out: &mut Vec<u8>, precision: u8, scale: u8) {
    let mut buf = [0u8; 80];
    let n = format(raw, &mut buf, precision, scale);
    write_str_header(out, n);
    out.extend_from_slice(&buf[..n]);
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
