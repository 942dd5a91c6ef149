//! MySQL binary JSON documents (the storage format of JSON columns, as
//! `json_binary.cc` in the server writes it) built from a value tree, for
//! rows the tests build themselves.
//!
//! A document is a type byte and a value. Objects and arrays come in a small
//! (16-bit counts and offsets) and a large (32-bit) format: a header of
//! element count and byte size, then one entry per key (offset, length) and
//! per value (type, then the value itself when it fits the entry, else its
//! offset), then the keys, then the values that did not fit. Offsets count
//! from the start of the container's header. Object keys are sorted by
//! length, then bytes.

/// A JSON value in the types binary JSON distinguishes.
pub(super) enum J {
    Null,
    Bool(bool),
    I16(i16),
    U16(u16),
    I32(i32),
    U32(u32),
    I64(i64),
    U64(u64),
    Double(f64),
    Str(&'static str),
    /// A MySQL value of another SQL type kept inside JSON: its field type
    /// and bytes (DECIMAL, DATE, DATETIME...).
    Opaque(u8, Vec<u8>),
    Arr(Vec<J>),
    Obj(Vec<(&'static str, J)>),
    /// The container inside in the large format, which the server uses when
    /// the small one cannot hold it.
    Large(Box<J>),
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

/// MySQL field types of opaque values.
pub(super) const T_NEWDECIMAL: u8 = 246;
pub(super) const T_DATE: u8 = 10;
pub(super) const T_DATETIME: u8 = 12;

/// The document whose root is `v`.
pub(super) fn doc(v: &J) -> Vec<u8> {
    let mut d = vec![type_of(v)];
    d.extend_from_slice(&body(v));
    d
}

fn type_of(v: &J) -> u8 {
    match v {
        J::Null | J::Bool(_) => LITERAL,
        J::I16(_) => INT16,
        J::U16(_) => UINT16,
        J::I32(_) => INT32,
        J::U32(_) => UINT32,
        J::I64(_) => INT64,
        J::U64(_) => UINT64,
        J::Double(_) => DOUBLE,
        J::Str(_) => STRING,
        J::Opaque(..) => OPAQUE,
        J::Arr(_) => SMALL_ARR,
        J::Obj(_) => SMALL_OBJ,
        J::Large(inner) => match **inner {
            J::Obj(_) => LARGE_OBJ,
            _ => LARGE_ARR,
        },
    }
}

/// A value's bytes, without its type.
fn body(v: &J) -> Vec<u8> {
    match v {
        J::Null => vec![0x00],
        J::Bool(b) => vec![if *b { 0x01 } else { 0x02 }],
        J::I16(i) => i.to_le_bytes().to_vec(),
        J::U16(i) => i.to_le_bytes().to_vec(),
        J::I32(i) => i.to_le_bytes().to_vec(),
        J::U32(i) => i.to_le_bytes().to_vec(),
        J::I64(i) => i.to_le_bytes().to_vec(),
        J::U64(i) => i.to_le_bytes().to_vec(),
        J::Double(f) => f.to_bits().to_le_bytes().to_vec(),
        J::Str(s) => {
            let mut b = var_len(s.len());
            b.extend_from_slice(s.as_bytes());
            b
        }
        J::Opaque(t, bytes) => {
            let mut b = vec![*t];
            b.extend_from_slice(&var_len(bytes.len()));
            b.extend_from_slice(bytes);
            b
        }
        J::Arr(items) => container(None, &items.iter().collect::<Vec<_>>(), false),
        J::Obj(members) => object(members, false),
        J::Large(inner) => match &**inner {
            J::Obj(members) => object(members, true),
            J::Arr(items) => container(None, &items.iter().collect::<Vec<_>>(), true),
            _ => panic!("only objects and arrays have a large format"),
        },
    }
}

fn object(members: &[(&'static str, J)], large: bool) -> Vec<u8> {
    let mut sorted: Vec<&(&str, J)> = members.iter().collect();
    sorted.sort_by(|a, b| (a.0.len(), a.0).cmp(&(b.0.len(), b.0)));
    let keys: Vec<&str> = sorted.iter().map(|m| m.0).collect();
    let values: Vec<&J> = sorted.iter().map(|m| &m.1).collect();
    container(Some(&keys), &values, large)
}

/// Whether a value is stored in its entry rather than at an offset.
fn inline(v: &J, large: bool) -> bool {
    match v {
        J::Null | J::Bool(_) | J::I16(_) | J::U16(_) => true,
        J::I32(_) | J::U32(_) => large,
        _ => false,
    }
}

fn container(keys: Option<&[&str]>, values: &[&J], large: bool) -> Vec<u8> {
    let w = if large { 4 } else { 2 };
    let put = |out: &mut Vec<u8>, n: usize| out.extend_from_slice(&(n as u32).to_le_bytes()[..w]);
    let n = values.len();
    let key_entries = keys.map_or(0, |_| n * (w + 2));
    let header = 2 * w + key_entries + n * (1 + w);
    let mut tail = Vec::new();
    let mut key_entry = Vec::new();
    for k in keys.unwrap_or(&[]) {
        put(&mut key_entry, header + tail.len());
        key_entry.extend_from_slice(&(k.len() as u16).to_le_bytes());
        tail.extend_from_slice(k.as_bytes());
    }
    let mut value_entry = Vec::new();
    for v in values {
        value_entry.push(type_of(v));
        if inline(v, large) {
            let mut b = body(v);
            b.resize(w, 0);
            value_entry.extend_from_slice(&b);
        } else {
            put(&mut value_entry, header + tail.len());
            tail.extend_from_slice(&body(v));
        }
    }
    let mut out = Vec::new();
    put(&mut out, n);
    put(&mut out, header + tail.len());
    out.extend_from_slice(&key_entry);
    out.extend_from_slice(&value_entry);
    out.extend_from_slice(&tail);
    out
}

/// A string or opaque value's length: 7 bits a byte, low bits first.
fn var_len(mut n: usize) -> Vec<u8> {
    let mut out = Vec::new();
    loop {
        let b = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(b);
            return out;
        }
        out.push(b | 0x80);
    }
}

/// A DATE or DATETIME as MySQL packs it into 8 bytes (the opaque value's
/// bytes): year*13+month, day, hour, minute, second, then microseconds.
pub(super) fn packed_datetime(ymd: (i64, i64, i64), hms: (i64, i64, i64), micros: i64) -> Vec<u8> {
    let (y, m, d) = ymd;
    let (h, mi, s) = hms;
    let date = ((y * 13 + m) << 5) | d;
    let time = (h << 12) | (mi << 6) | s;
    ((((date << 17) | time) << 24) | micros)
        .to_le_bytes()
        .to_vec()
}
