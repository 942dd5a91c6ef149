//! MySQL binary JSON (the JSON column type of MySQL 5.7+) straight to
//! MessagePack: objects become maps, arrays arrays, numbers ints, uints or
//! float64, and the "opaque" values MySQL keeps inside JSON (DECIMAL, DATE,
//! TIME, DATETIME) become the same strings as the columns of those types.
//!
//! Depth is capped and every offset is bounds-checked: the bytes come from
//! the network and a bad document must be an error, never a panic or a
//! runaway recursion.

use crate::event::msgpack::*;

use super::cursor::{Cursor, Truncated};
use super::decimal;
use super::temporal::{packed_to_string, PackedKind};

mod diff;
#[cfg(test)]
pub(crate) mod testdoc;

pub(crate) use diff::apply_diffs;

/// MySQL itself refuses documents nested deeper than 100.
const MAX_DEPTH: usize = 128;

#[derive(Debug)]
pub(crate) struct BadJson(pub &'static str);

impl From<Truncated> for BadJson {
    fn from(_: Truncated) -> Self {
        BadJson("document is truncated")
    }
}

/// Converts one binary JSON document (the column's whole value).
pub(crate) fn convert(doc: &[u8], out: &mut Vec<u8>) -> Result<(), BadJson> {
    if doc.is_empty() {
        // An empty value is what MySQL logs for JSON null in some versions.
        write_nil(out);
        return Ok(());
    }
    // Every value MySQL writes has an entry of its own of at least 3 bytes
    // (or is the root), so a document holds fewer values than bytes. Offsets
    // in a corrupt one can point many entries at the same container (or a
    // container at itself): without this budget, 2 entries per level over
    // 100 levels would expand to 2^100 values.
    let mut budget = doc.len();
    value(doc[0], &doc[1..], out, 0, &mut budget)
}

const SMALL_OBJ: u8 = 0x00;
const LARGE_OBJ: u8 = 0x01;
const SMALL_ARR: u8 = 0x02;
const LARGE_ARR: u8 = 0x03;
const LITERAL: u8 = 0x04;
const INT16: u8 = 0x05;
const UINT16: u8 = 0x06;
const INT32: u8 = 0x07;
const UINT32: u8 = 0x08;
const INT64: u8 = 0x09;
const UINT64: u8 = 0x0a;
const DOUBLE: u8 = 0x0b;
const STRING: u8 = 0x0c;
const OPAQUE: u8 = 0x0f;

/// Writes the value of type `t` whose encoding starts at `data[0]`.
fn value(
    t: u8,
    data: &[u8],
    out: &mut Vec<u8>,
    depth: usize,
    budget: &mut usize,
) -> Result<(), BadJson> {
    *budget = budget
        .checked_sub(1)
        .ok_or(BadJson("more values than the document has bytes"))?;
    let mut c = Cursor::new(data);
    match t {
        SMALL_OBJ | LARGE_OBJ => container(data, t == LARGE_OBJ, true, out, depth, budget)?,
        SMALL_ARR | LARGE_ARR => container(data, t == LARGE_ARR, false, out, depth, budget)?,
        LITERAL => literal(c.u8()?, out)?,
        INT16 => write_int(out, c.uint_le(2)? as u16 as i16 as i64),
        UINT16 => write_uint(out, c.uint_le(2)?),
        INT32 => write_int(out, c.uint_le(4)? as u32 as i32 as i64),
        UINT32 => write_uint(out, c.uint_le(4)?),
        INT64 => write_int(out, c.uint_le(8)? as i64),
        UINT64 => write_uint(out, c.uint_le(8)?),
        DOUBLE => write_f64(out, f64::from_bits(c.uint_le(8)?)),
        STRING => {
            let len = var_len(&mut c)?;
            let s = c.take(len)?;
            write_str(out, &String::from_utf8_lossy(s));
        }
        OPAQUE => {
            let field_type = c.u8()?;
            let len = var_len(&mut c)?;
            opaque(field_type, c.take(len)?, out)?;
        }
        _ => return Err(BadJson("unknown value type")),
    }
    Ok(())
}

fn literal(b: u8, out: &mut Vec<u8>) -> Result<(), BadJson> {
    match b {
        0x00 => write_nil(out),
        0x01 => write_bool(out, true),
        0x02 => write_bool(out, false),
        _ => return Err(BadJson("unknown literal")),
    }
    Ok(())
}

/// Variable-length length: 7 bits per byte, low bits first, at most 5 bytes.
fn var_len(c: &mut Cursor<'_>) -> Result<usize, BadJson> {
    let mut len: u64 = 0;
    for i in 0..5 {
        let b = c.u8()?;
        len |= ((b & 0x7f) as u64) << (7 * i);
        if b & 0x80 == 0 {
            return usize::try_from(len).map_err(|_| BadJson("length too large"));
        }
    }
    Err(BadJson("length is too long"))
}

fn container(
    data: &[u8],
    large: bool,
    object: bool,
    out: &mut Vec<u8>,
    depth: usize,
    budget: &mut usize,
) -> Result<(), BadJson> {
    if depth >= MAX_DEPTH {
        return Err(BadJson("nested too deeply"));
    }
    let w = if large { 4 } else { 2 };
    let mut c = Cursor::new(data);
    let count = c.uint_le(w)? as usize;
    let size = c.uint_le(w)? as usize;
    if size > data.len() {
        return Err(BadJson("container size exceeds the document"));
    }
    let data = &data[..size];
    // Each element needs at least one entry byte: a count beyond the data is
    // corrupt, and checking it here bounds the header we are about to write.
    if count > size {
        return Err(BadJson("element count exceeds the container"));
    }
    let key_entries = if object { count * (w + 2) } else { 0 };
    let value_entry = 1 + w;
    if object {
        write_map_header(out, count);
    } else {
        write_array_header(out, count);
    }
    for i in 0..count {
        if object {
            let mut k = Cursor::new(data);
            k.pos = 2 * w + i * (w + 2);
            let off = k.uint_le(w)? as usize;
            let len = k.uint_le(2)? as usize;
            let key = data
                .get(off..off + len)
                .ok_or(BadJson("key out of range"))?;
            write_str(out, &String::from_utf8_lossy(key));
        }
        let mut v = Cursor::new(data);
        v.pos = 2 * w + key_entries + i * value_entry;
        let t = v.u8()?;
        let inline = match t {
            LITERAL | INT16 | UINT16 => true,
            INT32 | UINT32 => large,
            _ => false,
        };
        if inline {
            let bytes = v.take(w)?;
            value(t, bytes, out, depth + 1, budget)?;
        } else {
            let off = v.uint_le(w)? as usize;
            let rest = data.get(off..).ok_or(BadJson("value out of range"))?;
            value(t, rest, out, depth + 1, budget)?;
        }
    }
    Ok(())
}

/// MySQL field types that appear as opaque JSON values.
const T_NEWDECIMAL: u8 = 246;
const T_DATE: u8 = 10;
const T_TIME: u8 = 11;
const T_DATETIME: u8 = 12;
const T_TIMESTAMP: u8 = 7;

fn opaque(field_type: u8, data: &[u8], out: &mut Vec<u8>) -> Result<(), BadJson> {
    match field_type {
        T_NEWDECIMAL => {
            let (p, s) = match data {
                [p, s, ..] => (*p, *s),
                _ => return Err(BadJson("opaque decimal is truncated")),
            };
            if p == 0 || p > 65 || s > 30 || s > p {
                return Err(BadJson("opaque decimal has a bad precision"));
            }
            let raw = &data[2..];
            if raw.len() < decimal::binary_size(p, s) {
                return Err(BadJson("opaque decimal is truncated"));
            }
            decimal::write(&raw[..decimal::binary_size(p, s)], out, p, s);
        }
        T_DATE | T_TIME | T_DATETIME | T_TIMESTAMP => {
            let b: [u8; 8] = data
                .get(..8)
                .and_then(|b| b.try_into().ok())
                .ok_or(BadJson("opaque date is truncated"))?;
            let packed = i64::from_le_bytes(b);
            let kind = match field_type {
                T_DATE => PackedKind::Date,
                T_TIME => PackedKind::Time,
                _ => PackedKind::DateTime,
            };
            packed_to_string(packed, kind, out);
        }
        // Other opaque values (BLOB, BIT, GEOMETRY...) keep their bytes.
        _ => write_bin(out, data),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::testdoc::*;
    use super::*;

    #[test]
    fn small_object_with_inline_and_offset_values() {
        // {"a": 1, "b": "xy"} built by hand in the small format.
        let mut d = vec![SMALL_OBJ];
        let body: Vec<u8> = {
            let mut b = Vec::new();
            b.extend_from_slice(&2u16.to_le_bytes()); // count
            b.extend_from_slice(&0u16.to_le_bytes()); // size, patched below
                                                      // key entries start at 4; value entries at 4 + 2*4 = 12; keys at 12 + 2*3 = 18
            b.extend_from_slice(&18u16.to_le_bytes());
            b.extend_from_slice(&1u16.to_le_bytes());
            b.extend_from_slice(&19u16.to_le_bytes());
            b.extend_from_slice(&1u16.to_le_bytes());
            b.push(INT16);
            b.extend_from_slice(&1u16.to_le_bytes());
            b.push(STRING);
            b.extend_from_slice(&20u16.to_le_bytes());
            b.extend_from_slice(b"ab");
            b.push(2);
            b.extend_from_slice(b"xy");
            let len = b.len() as u16;
            b[2..4].copy_from_slice(&len.to_le_bytes());
            b
        };
        d.extend_from_slice(&body);
        assert_eq!(to_json(&d), serde_json::json!({"a": 1, "b": "xy"}));
    }

    #[test]
    fn shared_offsets_cannot_blow_up() {
        // An array of 2 entries both pointing at offset 0 of its own
        // container: each level would double the output, forever.
        let mut d = vec![SMALL_ARR];
        d.extend_from_slice(&2u16.to_le_bytes()); // count
        d.extend_from_slice(&10u16.to_le_bytes()); // size
        for _ in 0..2 {
            d.push(SMALL_ARR);
            d.extend_from_slice(&0u16.to_le_bytes());
        }
        let mut out = Vec::new();
        assert!(convert(&d, &mut out).is_err());
        assert!(out.len() < 1000, "{} bytes written", out.len());
    }

    #[test]
    fn corrupt_documents_are_errors() {
        for doc in [
            &[SMALL_OBJ, 0xff, 0xff, 0, 0][..],
            &[STRING, 0x85],
            &[0x33],
            &[SMALL_ARR, 1, 0, 200, 0],
        ] {
            let mut out = Vec::new();
            assert!(convert(doc, &mut out).is_err(), "{doc:?}");
        }
    }

    #[test]
    fn container_helper_builds_what_convert_reads() {
        let d = doc(true, &[("age", V::I(24)), ("name", V::S("Joe"))]);
        assert_eq!(to_json(&d), serde_json::json!({"age": 24, "name": "Joe"}));
    }
}
