//! MessagePack <-> JSON, for people: `sluice tail` prints events as JSON,
//! `sluice plugin test` reads them as JSON and prints what a plugin made of
//! them, and tests compare events with JSON literals. All of them use this
//! one rendering (docs/FORMAT.md, "JSON rendering"):
//!
//! - bin is `{"$bin": "<hex>"}` (lowercase), so bytes stay bytes both ways;
//!   a str that is not UTF-8 (Sluice writes none; a plugin might) is shown
//!   the same way;
//! - ext (Sluice writes none) is `{"$ext": <type>, "data": "<hex>"}`;
//! - float32 is widened to a JSON number, exactly; integers stay integers;
//! - map keys that are not strings are shown as MessagePack's text of them.
//!
//! Going back, a JSON object whose only field is `"$bin"` with a hex string
//! is bin again; every other value maps to its MessagePack counterpart
//! (numbers to int, uint or float64).

use rmpv::Value;
use serde_json::Value as Json;

/// The field of the object that stands for a bin value.
const BIN: &str = "$bin";

/// MessagePack bytes as JSON; bytes that are not one MessagePack value show
/// as `{"$undecodable": "<why>"}` rather than failing, since the callers
/// show what they were given.
pub fn msgpack_to_json(bytes: &[u8]) -> Json {
    match rmpv::decode::read_value(&mut &bytes[..]) {
        Ok(v) => to_json(&v),
        Err(e) => serde_json::json!({ "$undecodable": e.to_string() }),
    }
}

/// JSON as MessagePack bytes.
pub(crate) fn json_to_msgpack(j: &Json) -> Vec<u8> {
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &from_json(j)).expect("writing to a Vec cannot fail");
    out
}

pub(crate) fn to_json(v: &Value) -> Json {
    match v {
        Value::Nil => Json::Null,
        Value::Boolean(b) => Json::Bool(*b),
        Value::Integer(i) => i
            .as_i64()
            .map(Json::from)
            .or_else(|| i.as_u64().map(Json::from))
            .unwrap_or(Json::Null),
        Value::F32(f) => Json::from(*f as f64),
        Value::F64(f) => Json::from(*f),
        Value::String(s) => match s.as_str() {
            Some(s) => Json::from(s),
            None => bin(s.as_bytes()),
        },
        Value::Binary(b) => bin(b),
        Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        Value::Map(m) => Json::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = match k.as_str() {
                        Some(s) => s.to_owned(),
                        None => k.to_string(),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Value::Ext(t, b) => serde_json::json!({"$ext": t, "data": hex(b)}),
    }
}

pub(crate) fn from_json(j: &Json) -> Value {
    match j {
        Json::Null => Value::Nil,
        Json::Bool(b) => Value::Boolean(*b),
        Json::Number(n) => {
            if let Some(i) = n.as_i64() {
                Value::from(i)
            } else if let Some(u) = n.as_u64() {
                Value::from(u)
            } else {
                Value::F64(n.as_f64().unwrap_or(f64::NAN))
            }
        }
        Json::String(s) => Value::from(s.as_str()),
        Json::Array(a) => Value::Array(a.iter().map(from_json).collect()),
        Json::Object(o) => {
            if let (1, Some(b)) = (o.len(), o.get(BIN).and_then(Json::as_str).and_then(unhex)) {
                return Value::Binary(b);
            }
            Value::Map(
                o.iter()
                    .map(|(k, v)| (Value::from(k.as_str()), from_json(v)))
                    .collect(),
            )
        }
    }
}

fn bin(b: &[u8]) -> Json {
    serde_json::json!({ BIN: hex(b) })
}

fn hex(b: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut s = String::with_capacity(b.len() * 2);
    for &x in b {
        s.push(DIGITS[(x >> 4) as usize] as char);
        s.push(DIGITS[(x & 15) as usize] as char);
    }
    s
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| u8::from_str_radix(std::str::from_utf8(p).ok()?, 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn bin_is_hex_and_comes_back_as_bin() {
        // Keys in JSON's order, so the round trip compares equal.
        let v = Value::Map(vec![
            ("b".into(), Value::Binary(vec![0x00, 0xff, 0x55])),
            ("s".into(), "abc".into()),
            ("text_bytes".into(), Value::Binary(b"abc".to_vec())),
        ]);
        let j = to_json(&v);
        assert_eq!(
            j,
            json!({"b": {"$bin": "00ff55"}, "text_bytes": {"$bin": "616263"}, "s": "abc"})
        );
        assert_eq!(from_json(&j), v, "bin and str survive the round trip");
        // An object that only looks like one stays an object.
        for j in [
            json!({"$bin": "0"}),
            json!({"$bin": "zz"}),
            json!({"$bin": "00", "x": 1}),
        ] {
            assert!(from_json(&j).is_map(), "{j}");
        }
    }

    #[test]
    fn numbers_keep_their_kind_and_value() {
        let v = Value::Array(vec![
            Value::from(u64::MAX),
            Value::from(i64::MIN),
            Value::F32(1.1),
            Value::F64(-0.5),
            Value::Nil,
            Value::Boolean(true),
        ]);
        let j = to_json(&v);
        assert_eq!(
            j,
            json!([u64::MAX, i64::MIN, 1.1f32 as f64, -0.5, null, true])
        );
        assert_eq!(
            j[2].as_f64(),
            Some(1.1f32 as f64),
            "float32 widened exactly"
        );
        let back = from_json(&j);
        assert_eq!(back[0].as_u64(), Some(u64::MAX));
        assert_eq!(back[1].as_i64(), Some(i64::MIN));
    }

    #[test]
    fn bytes_decode_or_say_why_not() {
        let bytes = json_to_msgpack(&json!({"id": 7, "tags": ["a"]}));
        assert_eq!(msgpack_to_json(&bytes), json!({"id": 7, "tags": ["a"]}));
        // An array of two that ends after one element.
        let bad = msgpack_to_json(&[0x92, 0x01]);
        assert!(bad["$undecodable"].is_string(), "{bad}");
        assert!(to_json(&Value::Ext(5, vec![1]))["$ext"] == 5);
        let odd_key = Value::Map(vec![(Value::from(1), Value::Nil)]);
        assert_eq!(to_json(&odd_key), json!({"1": null}));
    }
}
