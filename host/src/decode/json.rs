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

/// MySQL itself refuses documents nested deeper than 100.
const MAX_DEPTH: usize = 128;

#[derive(Debug)]
pub struct BadJson(pub &'static str);

impl From<Truncated> for BadJson {
    fn from(_: Truncated) -> Self {
        BadJson("document is truncated")
    }
}

/// Converts one binary JSON document (the column's whole value).
pub fn convert(doc: &[u8], out: &mut Vec<u8>) -> Result<(), BadJson> {
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

/// A partial JSON update (`binlog_row_value_options=PARTIAL_JSON`): MySQL
/// logs, in place of the after image's document, the changes JSON_SET,
/// JSON_REPLACE and JSON_REMOVE made to the before image's. Applies them to
/// `before` (a binary JSON document) and writes the resulting document, as
/// the after image would have held it without PARTIAL_JSON. Rare, so it
/// builds a value tree rather than streaming.
pub fn apply_diffs(before: &[u8], diffs: &[u8], out: &mut Vec<u8>) -> Result<(), BadJson> {
    let mut doc = to_tree(before)?;
    let mut c = Cursor::new(diffs);
    while c.remaining() > 0 {
        let op = c.u8()?;
        let path_len = lenenc(&mut c)?;
        let legs = parse_path(c.take(path_len)?)?;
        match op {
            DIFF_REPLACE | DIFF_INSERT => {
                let len = lenenc(&mut c)?;
                let v = to_tree(c.take(len)?)?;
                if op == DIFF_REPLACE {
                    replace(&mut doc, &legs, v)?;
                } else {
                    insert(&mut doc, &legs, v)?;
                }
            }
            DIFF_REMOVE => remove(&mut doc, &legs)?,
            _ => return Err(BadJson("unknown partial update operation")),
        }
    }
    rmpv::encode::write_value(out, &doc).map_err(|_| BadJson("document cannot be written"))?;
    Ok(())
}

const DIFF_REPLACE: u8 = 0;
const DIFF_INSERT: u8 = 1;
const DIFF_REMOVE: u8 = 2;

fn lenenc(c: &mut Cursor<'_>) -> Result<usize, BadJson> {
    let v = match c.u8()? {
        x @ 0..=0xfa => x as u64,
        0xfc => c.uint_le(2)?,
        0xfd => c.uint_le(3)?,
        0xfe => c.uint_le(8)?,
        _ => return Err(BadJson("bad length prefix")),
    };
    usize::try_from(v).map_err(|_| BadJson("length too large"))
}

fn to_tree(doc: &[u8]) -> Result<rmpv::Value, BadJson> {
    let mut buf = Vec::new();
    convert(doc, &mut buf)?;
    rmpv::decode::read_value(&mut &buf[..]).map_err(|_| BadJson("document is too deep"))
}

/// One step of a JSON path.
#[derive(Debug, PartialEq)]
enum Leg {
    Key(String),
    Index(usize),
    /// `[last]` is `Last(0)`, `[last-2]` is `Last(2)`.
    Last(usize),
}

/// Parses the paths MySQL writes in partial updates: `$`, then `.key`,
/// `."quoted key"` and `[n]` / `[last]` / `[last-n]` steps. Wildcards
/// cannot occur in an update.
fn parse_path(p: &[u8]) -> Result<Vec<Leg>, BadJson> {
    let s = std::str::from_utf8(p).map_err(|_| BadJson("path is not UTF-8"))?;
    let mut rest = s
        .trim_start()
        .strip_prefix('$')
        .ok_or(BadJson("path does not start with $"))?;
    let mut legs = Vec::new();
    loop {
        rest = rest.trim_start();
        if rest.is_empty() {
            return Ok(legs);
        }
        if let Some(r) = rest.strip_prefix('.') {
            let r = r.trim_start();
            if r.starts_with('"') {
                let b = r.as_bytes();
                let mut i = 1;
                let mut escaped = false;
                while i < b.len() {
                    match b[i] {
                        _ if escaped => escaped = false,
                        b'\\' => escaped = true,
                        b'"' => break,
                        _ => {}
                    }
                    i += 1;
                }
                if i >= b.len() {
                    return Err(BadJson("path has an unterminated key"));
                }
                let key: String =
                    serde_json::from_str(&r[..=i]).map_err(|_| BadJson("path has a bad key"))?;
                legs.push(Leg::Key(key));
                rest = &r[i + 1..];
            } else {
                let end = r
                    .find(|ch: char| ch == '.' || ch == '[' || ch.is_whitespace())
                    .unwrap_or(r.len());
                if end == 0 || r[..end].contains('*') {
                    return Err(BadJson("path has a bad key"));
                }
                legs.push(Leg::Key(r[..end].to_string()));
                rest = &r[end..];
            }
        } else if let Some(r) = rest.strip_prefix('[') {
            let end = r
                .find(']')
                .ok_or(BadJson("path has an unterminated index"))?;
            let inner = r[..end].trim();
            let leg = if let Some(from_end) = inner.strip_prefix("last") {
                let from_end = from_end.trim();
                if from_end.is_empty() {
                    Leg::Last(0)
                } else {
                    let n = from_end
                        .strip_prefix('-')
                        .and_then(|n| n.trim().parse().ok())
                        .ok_or(BadJson("path has a bad index"))?;
                    Leg::Last(n)
                }
            } else {
                Leg::Index(inner.parse().map_err(|_| BadJson("path has a bad index"))?)
            };
            legs.push(leg);
            rest = &r[end + 1..];
        } else {
            return Err(BadJson("path has an unexpected character"));
        }
    }
}

fn index_of(leg: &Leg, len: usize) -> Option<usize> {
    match *leg {
        Leg::Index(i) => Some(i),
        Leg::Last(n) => len.checked_sub(1 + n),
        Leg::Key(_) => None,
    }
}

/// The value a path leads to.
fn seek<'v>(mut v: &'v mut rmpv::Value, legs: &[Leg]) -> Result<&'v mut rmpv::Value, BadJson> {
    for leg in legs {
        v = match (v, leg) {
            (rmpv::Value::Map(m), Leg::Key(k)) => m
                .iter_mut()
                .find(|(key, _)| key.as_str() == Some(k))
                .map(|(_, v)| v)
                .ok_or(BadJson("path names a missing member"))?,
            (rmpv::Value::Array(a), leg) => {
                let i = index_of(leg, a.len()).ok_or(BadJson("path indexes a non-array"))?;
                a.get_mut(i).ok_or(BadJson("path indexes past the array"))?
            }
            _ => return Err(BadJson("path does not match the document")),
        };
    }
    Ok(v)
}

fn replace(doc: &mut rmpv::Value, legs: &[Leg], v: rmpv::Value) -> Result<(), BadJson> {
    *seek(doc, legs)? = v;
    Ok(())
}

/// MySQL keeps object members sorted by key length, then bytes.
fn key_order(a: &str, b: &str) -> std::cmp::Ordering {
    (a.len(), a.as_bytes()).cmp(&(b.len(), b.as_bytes()))
}

fn insert(doc: &mut rmpv::Value, legs: &[Leg], v: rmpv::Value) -> Result<(), BadJson> {
    let (last, parent) = legs
        .split_last()
        .ok_or(BadJson("cannot insert at the root"))?;
    match (seek(doc, parent)?, last) {
        (rmpv::Value::Map(m), Leg::Key(k)) => {
            if let Some(slot) = m.iter_mut().find(|(key, _)| key.as_str() == Some(k)) {
                slot.1 = v;
            } else {
                let at = m
                    .iter()
                    .position(|(key, _)| {
                        key_order(key.as_str().unwrap_or(""), k) == std::cmp::Ordering::Greater
                    })
                    .unwrap_or(m.len());
                m.insert(at, (rmpv::Value::from(k.as_str()), v));
            }
        }
        (rmpv::Value::Array(a), leg) => {
            let i = index_of(leg, a.len() + 1).ok_or(BadJson("path indexes a non-array"))?;
            a.insert(i.min(a.len()), v);
        }
        _ => return Err(BadJson("path does not match the document")),
    }
    Ok(())
}

fn remove(doc: &mut rmpv::Value, legs: &[Leg]) -> Result<(), BadJson> {
    let (last, parent) = legs.split_last().ok_or(BadJson("cannot remove the root"))?;
    match (seek(doc, parent)?, last) {
        (rmpv::Value::Map(m), Leg::Key(k)) => {
            let at = m
                .iter()
                .position(|(key, _)| key.as_str() == Some(k))
                .ok_or(BadJson("path names a missing member"))?;
            m.remove(at);
        }
        (rmpv::Value::Array(a), leg) => {
            let i = index_of(leg, a.len()).ok_or(BadJson("path indexes a non-array"))?;
            if i >= a.len() {
                return Err(BadJson("path indexes past the array"));
            }
            a.remove(i);
        }
        _ => return Err(BadJson("path does not match the document")),
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod testdoc {
    use super::*;

    /// A small binary JSON document: an object or array of int16 and
    /// string values, in the small format, built like MySQL does.
    pub enum V<'a> {
        I(i16),
        S(&'a str),
    }

    pub fn doc(object: bool, items: &[(&str, V)]) -> Vec<u8> {
        let n = items.len();
        let key_entries = if object { n * 4 } else { 0 };
        let header = 4 + key_entries + n * 3;
        let mut keys = Vec::new();
        let mut key_pos = Vec::new();
        if object {
            for (k, _) in items {
                key_pos.push((header + keys.len(), k.len()));
                keys.extend_from_slice(k.as_bytes());
            }
        }
        let mut values = Vec::new();
        let mut entries = Vec::new();
        for (_, v) in items {
            match v {
                V::I(i) => {
                    entries.push(INT16);
                    entries.extend_from_slice(&i.to_le_bytes());
                }
                V::S(s) => {
                    let off = header + keys.len() + values.len();
                    entries.push(STRING);
                    entries.extend_from_slice(&(off as u16).to_le_bytes());
                    values.push(s.len() as u8);
                    values.extend_from_slice(s.as_bytes());
                }
            }
        }
        let size = header + keys.len() + values.len();
        let mut d = vec![if object { SMALL_OBJ } else { SMALL_ARR }];
        d.extend_from_slice(&(n as u16).to_le_bytes());
        d.extend_from_slice(&(size as u16).to_le_bytes());
        for (at, len) in key_pos {
            d.extend_from_slice(&(at as u16).to_le_bytes());
            d.extend_from_slice(&(len as u16).to_le_bytes());
        }
        d.extend_from_slice(&entries);
        d.extend_from_slice(&keys);
        d.extend_from_slice(&values);
        d
    }
}

#[cfg(test)]
mod tests {
    use super::testdoc::*;
    use super::*;

    fn to_json(doc: &[u8]) -> serde_json::Value {
        let mut out = Vec::new();
        convert(doc, &mut out).unwrap();
        let v: rmpv::Value = rmpv::decode::read_value(&mut &out[..]).unwrap();
        serde_json::to_value(&v).unwrap()
    }

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

    fn diff(op: u8, path: &str, value: Option<&[u8]>) -> Vec<u8> {
        let mut d = vec![op, path.len() as u8];
        d.extend_from_slice(path.as_bytes());
        if let Some(v) = value {
            d.push(v.len() as u8);
            d.extend_from_slice(v);
        }
        d
    }

    fn int(i: i16) -> Vec<u8> {
        let mut v = vec![INT16];
        v.extend_from_slice(&i.to_le_bytes());
        v
    }

    fn string(s: &str) -> Vec<u8> {
        let mut v = vec![STRING, s.len() as u8];
        v.extend_from_slice(s.as_bytes());
        v
    }

    fn applied(before: &[u8], diffs: &[Vec<u8>]) -> Result<serde_json::Value, BadJson> {
        let mut out = Vec::new();
        apply_diffs(before, &diffs.concat(), &mut out)?;
        let v: rmpv::Value = rmpv::decode::read_value(&mut &out[..]).unwrap();
        Ok(serde_json::to_value(&v).unwrap())
    }

    #[test]
    fn container_helper_builds_what_convert_reads() {
        let d = doc(true, &[("age", V::I(24)), ("name", V::S("Joe"))]);
        assert_eq!(to_json(&d), serde_json::json!({"age": 24, "name": "Joe"}));
    }

    #[test]
    fn partial_updates_rebuild_the_after_document() {
        let joe = doc(true, &[("age", V::I(24)), ("name", V::S("Joe"))]);
        // JSON_REPLACE(doc, '$.age', 25)
        assert_eq!(
            applied(&joe, &[diff(DIFF_REPLACE, "$.age", Some(&int(25)))]).unwrap(),
            serde_json::json!({"age": 25, "name": "Joe"})
        );
        // JSON_SET(doc, '$.city', 'Oslo'): a new member goes where MySQL
        // sorts it (by key length, then bytes), so the map reads like the
        // full document MySQL would have logged.
        let mut out = Vec::new();
        apply_diffs(
            &joe,
            &diff(DIFF_INSERT, "$.city", Some(&string("Oslo"))),
            &mut out,
        )
        .unwrap();
        let v = rmpv::decode::read_value(&mut &out[..]).unwrap();
        let keys: Vec<&str> = v
            .as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str().unwrap())
            .collect();
        assert_eq!(keys, ["age", "city", "name"]);
        // JSON_REMOVE(doc, '$.name'), several diffs in a row, quoted keys.
        assert_eq!(
            applied(
                &joe,
                &[
                    diff(DIFF_REMOVE, "$.name", None),
                    diff(DIFF_INSERT, "$.\"a b\"", Some(&int(-1))),
                    diff(DIFF_REPLACE, "$.\"a b\"", Some(&string("x"))),
                ]
            )
            .unwrap(),
            serde_json::json!({"age": 24, "a b": "x"})
        );
        // The whole document.
        assert_eq!(
            applied(&joe, &[diff(DIFF_REPLACE, "$", Some(&int(7)))]).unwrap(),
            serde_json::json!(7)
        );
    }

    #[test]
    fn partial_updates_of_arrays() {
        let arr = doc(false, &[("", V::I(1)), ("", V::I(2)), ("", V::I(3))]);
        assert_eq!(
            applied(
                &arr,
                &[
                    diff(DIFF_REPLACE, "$[1]", Some(&int(9))),
                    diff(DIFF_INSERT, "$[10]", Some(&int(4))),
                    diff(DIFF_REMOVE, "$[0]", None),
                    diff(DIFF_REPLACE, "$[last]", Some(&int(5))),
                    diff(DIFF_INSERT, "$[0]", Some(&string("a"))),
                ]
            )
            .unwrap(),
            serde_json::json!(["a", 9, 3, 5])
        );
        // Nested: an object inside an array inside an object.
        let inner = doc(true, &[("k", V::I(1))]);
        let mut outer = vec![SMALL_OBJ];
        // {"a": [inner]} by hand: object of 1 member whose value is an array
        // of 1 element whose value is `inner`.
        let mut arr = vec![];
        arr.extend_from_slice(&1u16.to_le_bytes());
        arr.extend_from_slice(&((4 + 3 + inner.len() - 1) as u16).to_le_bytes());
        arr.push(SMALL_OBJ);
        arr.extend_from_slice(&7u16.to_le_bytes());
        arr.extend_from_slice(&inner[1..]);
        let body_header = 4 + 4 + 3;
        let mut body = vec![];
        body.extend_from_slice(&1u16.to_le_bytes());
        body.extend_from_slice(&((body_header + 1 + arr.len()) as u16).to_le_bytes());
        body.extend_from_slice(&(body_header as u16).to_le_bytes());
        body.extend_from_slice(&1u16.to_le_bytes());
        body.push(SMALL_ARR);
        body.extend_from_slice(&((body_header + 1) as u16).to_le_bytes());
        body.push(b'a');
        body.extend_from_slice(&arr);
        outer.extend_from_slice(&body);
        assert_eq!(to_json(&outer), serde_json::json!({"a": [{"k": 1}]}));
        assert_eq!(
            applied(&outer, &[diff(DIFF_REPLACE, "$.a[0].k", Some(&int(2)))]).unwrap(),
            serde_json::json!({"a": [{"k": 2}]})
        );
    }

    #[test]
    fn bad_partial_updates_are_errors() {
        let joe = doc(true, &[("age", V::I(24))]);
        for d in [
            diff(DIFF_REPLACE, "$.missing", Some(&int(1))),
            diff(DIFF_REPLACE, "age", Some(&int(1))),
            diff(DIFF_REPLACE, "$.*", Some(&int(1))),
            diff(DIFF_REPLACE, "$[0]", Some(&int(1))),
            diff(DIFF_REMOVE, "$", None),
            diff(7, "$.age", None),
            diff(DIFF_REPLACE, "$.age", None),
            vec![DIFF_REPLACE, 200],
        ] {
            assert!(applied(&joe, std::slice::from_ref(&d)).is_err(), "{d:?}");
        }
    }

    #[test]
    fn paths() {
        assert_eq!(
            parse_path(br#"$.a."b.c"[3][last][last - 2] .d"#).unwrap(),
            vec![
                Leg::Key("a".into()),
                Leg::Key("b.c".into()),
                Leg::Index(3),
                Leg::Last(0),
                Leg::Last(2),
                Leg::Key("d".into()),
            ]
        );
        assert_eq!(parse_path(b"$").unwrap(), vec![]);
        assert!(parse_path(b"$.").is_err());
        assert!(parse_path(b"$[x]").is_err());
        assert!(parse_path(br#"$."unterminated"#).is_err());
    }
}
