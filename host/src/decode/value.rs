//! One column value from a row image to MessagePack, one arm per type.
//! The mapping is the public contract in `docs/FORMAT.md`.

use crate::event::msgpack::*;

use super::charset::Charset;
use super::cursor::{Cursor, Truncated};
use super::schema::ColumnKind;
use super::{decimal, json, temporal};

#[derive(Debug)]
pub(crate) enum ValueError {
    Truncated,
    Bad(String),
}

impl From<Truncated> for ValueError {
    fn from(_: Truncated) -> Self {
        ValueError::Truncated
    }
}

#[inline]
fn text(out: &mut Vec<u8>, bytes: &[u8], charset: Charset) {
    charset.write_value(out, bytes);
}

/// Decodes the value at the cursor and appends it to `out`.
#[inline]
pub(crate) fn write(
    kind: &ColumnKind,
    c: &mut Cursor<'_>,
    out: &mut Vec<u8>,
) -> Result<(), ValueError> {
    match kind {
        ColumnKind::Int { bytes, unsigned } => {
            let n = *bytes as usize;
            let raw = c.uint_le(n)?;
            if *unsigned {
                write_uint(out, raw);
            } else {
                let shift = 64 - 8 * n as u32;
                write_int(out, ((raw << shift) as i64) >> shift);
            }
        }
        ColumnKind::Float => write_f32(out, f32::from_bits(c.uint_le(4)? as u32)),
        ColumnKind::Double => write_f64(out, f64::from_bits(c.uint_le(8)?)),
        ColumnKind::Decimal { precision, scale } => decimal::read(c, out, *precision, *scale)?,
        ColumnKind::Year => {
            let y = c.u8()? as u64;
            write_uint(out, if y == 0 { 0 } else { 1900 + y });
        }
        ColumnKind::Date => temporal::date(c, out)?,
        ColumnKind::TimeOld => temporal::time_old(c, out)?,
        ColumnKind::Time2 { fsp } => temporal::time2(c, out, *fsp)?,
        ColumnKind::DateTimeOld => temporal::datetime_old(c, out)?,
        ColumnKind::DateTime2 { fsp } => temporal::datetime2(c, out, *fsp)?,
        ColumnKind::TimestampOld => temporal::timestamp_old(c, out)?,
        ColumnKind::Timestamp2 { fsp } => temporal::timestamp2(c, out, *fsp)?,
        ColumnKind::VarString { len_bytes, charset } => {
            let len = c.uint_le(*len_bytes as usize)? as usize;
            text(out, c.take(len)?, *charset);
        }
        ColumnKind::FixedString {
            len_bytes,
            max_len,
            charset,
        } => {
            let len = c.uint_le(*len_bytes as usize)? as usize;
            let bytes = c.take(len)?;
            if matches!(charset, Charset::Binary) && len < *max_len as usize {
                // The server strips trailing zero bytes of BINARY(n); pad them
                // back so the value equals what the table holds.
                let pad = *max_len as usize - len;
                write_bin_header(out, *max_len as usize);
                out.extend_from_slice(bytes);
                out.resize(out.len() + pad, 0);
            } else {
                text(out, bytes, *charset);
            }
        }
        ColumnKind::Blob { len_bytes, charset } => {
            let len = c.uint_le(*len_bytes as usize)? as usize;
            text(out, c.take(len)?, *charset);
        }
        ColumnKind::Enum { bytes, labels } => {
            let idx = c.uint_le(*bytes as usize)? as usize;
            match idx.checked_sub(1).and_then(|i| labels.get(i)) {
                Some(label) => extend_short(out, label.bytes()),
                // Index 0 is the empty "error" value MySQL stores for invalid input.
                None if idx == 0 => write_str(out, ""),
                None => {
                    return Err(ValueError::Bad(format!(
                        "ENUM index {idx} has no label ({} known)",
                        labels.len()
                    )))
                }
            }
        }
        ColumnKind::Set { bytes, labels } => {
            let bits = c.uint_le(*bytes as usize)?;
            write_array_header(out, bits.count_ones() as usize);
            for i in 0..64 {
                if bits & (1 << i) != 0 {
                    match labels.get(i) {
                        Some(label) => extend_short(out, label.bytes()),
                        None => {
                            return Err(ValueError::Bad(format!(
                                "SET bit {i} has no label ({} known)",
                                labels.len()
                            )))
                        }
                    }
                }
            }
        }
        ColumnKind::Bit { bits } => {
            let v = c.uint_be((*bits as usize).div_ceil(8))?;
            if *bits == 1 {
                write_bool(out, v != 0);
            } else {
                write_uint(out, v);
            }
        }
        ColumnKind::Json { len_bytes } => {
            let len = c.uint_le(*len_bytes as usize)? as usize;
            let doc = c.take(len)?;
            json::convert(doc, out)
                .map_err(|e| ValueError::Bad(format!("binary JSON: {}", e.0)))?;
        }
        ColumnKind::Geometry { len_bytes } => {
            let len = c.uint_le(*len_bytes as usize)? as usize;
            write_bin(out, c.take(len)?);
        }
        ColumnKind::Vector { len_bytes } => {
            let len = c.uint_le(*len_bytes as usize)? as usize;
            let b = c.take(len)?;
            if !len.is_multiple_of(4) {
                return Err(ValueError::Bad(format!(
                    "VECTOR of {len} bytes is not a list of float32"
                )));
            }
            write_array_header(out, len / 4);
            for f in b.chunks_exact(4) {
                write_f32(out, f32::from_le_bytes([f[0], f[1], f[2], f[3]]));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decode::charset::CharsetMap;

    fn one(kind: &ColumnKind, bytes: &[u8]) -> rmpv::Value {
        let mut c = Cursor::new(bytes);
        let mut out = Vec::new();
        write(kind, &mut c, &mut out).unwrap();
        assert_eq!(c.remaining(), 0, "{kind:?} left bytes unread");
        rmpv::decode::read_value(&mut &out[..]).unwrap()
    }

    #[test]
    fn floats_keep_every_bit_and_their_width() {
        let neg_zero = one(&ColumnKind::Float, &(-0.0f32).to_le_bytes());
        assert!(matches!(neg_zero, rmpv::Value::F32(v) if v.to_bits() == (-0.0f32).to_bits()));
        let neg_zero = one(&ColumnKind::Double, &(-0.0f64).to_le_bytes());
        assert!(matches!(neg_zero, rmpv::Value::F64(v) if v.to_bits() == (-0.0f64).to_bits()));
        for v in [f32::MAX, f32::MIN_POSITIVE, f32::from_bits(1), -1.5] {
            assert!(
                matches!(one(&ColumnKind::Float, &v.to_le_bytes()), rmpv::Value::F32(x) if x.to_bits() == v.to_bits())
            );
        }
        for v in [f64::MAX, f64::MIN_POSITIVE, f64::from_bits(1), -0.1] {
            assert!(
                matches!(one(&ColumnKind::Double, &v.to_le_bytes()), rmpv::Value::F64(x) if x.to_bits() == v.to_bits())
            );
        }
    }

    #[test]
    fn integers_sign_extend_by_width() {
        let int = |bytes: u8, unsigned: bool| ColumnKind::Int { bytes, unsigned };
        assert_eq!(one(&int(3, false), &[0xff, 0xff, 0xff]).as_i64(), Some(-1));
        assert_eq!(
            one(&int(3, true), &[0xff, 0xff, 0xff]).as_u64(),
            Some(16_777_215)
        );
        assert_eq!(
            one(&int(3, false), &[0x00, 0x00, 0x80]).as_i64(),
            Some(-8_388_608)
        );
        assert_eq!(one(&int(8, true), &[0xff; 8]).as_u64(), Some(u64::MAX));
        assert_eq!(one(&int(8, false), &[0xff; 8]).as_i64(), Some(-1));
        assert_eq!(one(&int(1, false), &[0x80]).as_i64(), Some(-128));
    }

    #[test]
    fn binary_n_is_padded_and_char_is_not() {
        let binary = ColumnKind::FixedString {
            len_bytes: 1,
            max_len: 4,
            charset: Charset::Binary,
        };
        assert_eq!(one(&binary, &[1, b'a']).as_slice(), Some(&b"a\0\0\0"[..]));
        assert_eq!(one(&binary, &[0]).as_slice(), Some(&[0u8; 4][..]));
        let latin1 = ColumnKind::FixedString {
            len_bytes: 1,
            max_len: 4,
            charset: CharsetMap::default().get(Some(8)),
        };
        assert_eq!(one(&latin1, &[2, 0xe9, b'a']).as_str(), Some("éa"));
    }

    #[test]
    fn bits_years_enums_and_sets() {
        assert_eq!(
            one(&ColumnKind::Bit { bits: 1 }, &[1]).as_bool(),
            Some(true)
        );
        assert_eq!(
            one(&ColumnKind::Bit { bits: 13 }, &[0x10, 0x00]).as_u64(),
            Some(4096)
        );
        assert_eq!(
            one(&ColumnKind::Bit { bits: 64 }, &[0xff; 8]).as_u64(),
            Some(u64::MAX)
        );
        assert_eq!(one(&ColumnKind::Year, &[0]).as_u64(), Some(0));
        assert_eq!(one(&ColumnKind::Year, &[255]).as_u64(), Some(2155));
        let labels: std::sync::Arc<[_]> = ["a", "b"].iter().map(|l| PreEncoded::str(l)).collect();
        let e = ColumnKind::Enum {
            bytes: 1,
            labels: labels.clone(),
        };
        assert_eq!(one(&e, &[2]).as_str(), Some("b"));
        assert_eq!(one(&e, &[0]).as_str(), Some(""));
        let mut out = Vec::new();
        assert!(write(&e, &mut Cursor::new(&[3]), &mut out).is_err());
        let s = ColumnKind::Set { bytes: 1, labels };
        assert_eq!(one(&s, &[0]).as_array().map(Vec::len), Some(0));
        assert_eq!(one(&s, &[3]).as_array().unwrap()[1].as_str(), Some("b"));
        assert!(write(&s, &mut Cursor::new(&[4]), &mut out).is_err());
    }

    #[test]
    fn truncated_values_are_errors() {
        let mut out = Vec::new();
        for (kind, bytes) in [
            (ColumnKind::Double, &[0u8; 7][..]),
            (
                ColumnKind::Blob {
                    len_bytes: 4,
                    charset: Charset::Binary,
                },
                &[0xff, 0xff, 0xff, 0xff, 1][..],
            ),
            (
                ColumnKind::Vector { len_bytes: 4 },
                &[3, 0, 0, 0, 1, 2, 3][..],
            ),
        ] {
            assert!(
                write(&kind, &mut Cursor::new(bytes), &mut out).is_err(),
                "{kind:?}"
            );
        }
    }
}
