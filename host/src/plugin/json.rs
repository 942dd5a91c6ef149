//! JSON <-> MessagePack for `sluice plugin test`.

use rmpv::Value;
use serde_json::Value as Json;

pub(crate) fn to_msgpack(j: &Json) -> Value {
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
        Json::Array(a) => Value::Array(a.iter().map(to_msgpack).collect()),
        Json::Object(o) => Value::Map(
            o.iter()
                .map(|(k, v)| (Value::from(k.as_str()), to_msgpack(v)))
                .collect(),
        ),
    }
}

/// Binary values that are not UTF-8 become `{"$bin": "<hex>"}`.
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
            None => bytes_to_json(s.as_bytes()),
        },
        Value::Binary(b) => bytes_to_json(b),
        Value::Array(a) => Json::Array(a.iter().map(to_json).collect()),
        Value::Map(m) => Json::Object(
            m.iter()
                .map(|(k, v)| {
                    let key = match k {
                        Value::String(s) => s
                            .as_str()
                            .map(str::to_owned)
                            .unwrap_or_else(|| format!("{k}")),
                        other => format!("{other}"),
                    };
                    (key, to_json(v))
                })
                .collect(),
        ),
        Value::Ext(t, b) => serde_json::json!({"$ext": t, "data": hex(b)}),
    }
}

pub(crate) fn bytes_to_json(b: &[u8]) -> Json {
    match std::str::from_utf8(b) {
        Ok(s) => Json::from(s),
        Err(_) => serde_json::json!({ "$bin": hex(b) }),
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
