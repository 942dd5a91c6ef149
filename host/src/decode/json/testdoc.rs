//! Binary JSON documents built by hand, for tests.

use super::*;

/// A small binary JSON document: an object or array of int16 and
/// string values, in the small format, built like MySQL does.
pub(crate) enum V<'a> {
    I(i16),
    S(&'a str),
}

pub(crate) fn doc(object: bool, items: &[(&str, V)]) -> Vec<u8> {
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

/// A binary JSON document as JSON, through `convert`.
pub(crate) fn to_json(doc: &[u8]) -> serde_json::Value {
    let mut out = Vec::new();
    convert(doc, &mut out).unwrap();
    let v: rmpv::Value = rmpv::decode::read_value(&mut &out[..]).unwrap();
    serde_json::to_value(&v).unwrap()
}
