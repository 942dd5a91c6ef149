//! Partial JSON updates: the changes MySQL logs in place of a JSON
//! column's after image, applied to the before image's document.

use super::super::cursor::Cursor;
use super::{convert, BadJson};

/// A partial JSON update (`binlog_row_value_options=PARTIAL_JSON`): MySQL
/// logs, in place of the after image's document, the changes JSON_SET,
/// JSON_REPLACE and JSON_REMOVE made to the before image's. Applies them to
/// `before` (a binary JSON document) and writes the resulting document, as
/// the after image would have held it without PARTIAL_JSON. Rare, so it
/// builds a value tree rather than streaming.
pub(crate) fn apply_diffs(before: &[u8], diffs: &[u8], out: &mut Vec<u8>) -> Result<(), BadJson> {
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
mod tests {
    use super::super::testdoc::*;
    use super::super::{INT16, SMALL_ARR, SMALL_OBJ, STRING};
    use super::*;

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
