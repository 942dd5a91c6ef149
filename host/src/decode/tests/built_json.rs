//! MySQL's binary JSON in ordinary rows: objects, arrays and scalars of
//! every stored type, nested, in the small and the large format, and the
//! opaque values (DECIMAL, DATE, DATETIME) MySQL keeps inside documents.

use serde_json::{json, Value};

use super::bjson::{self, packed_datetime, J};
use super::builder::*;
use super::harness::{afters, column_bytes, decode};
use super::table::{Column, Table, V};

fn table() -> Table {
    // CREATE TABLE docs(id INT PRIMARY KEY, doc JSON)
    Table {
        id: 120,
        db: "app",
        name: "docs",
        columns: vec![Column::int("id"), Column::json("doc")],
        primary_key: vec![0],
        full_metadata: true,
    }
}

/// The documents of the rows, and what each must decode to.
fn documents() -> Vec<(Option<J>, Value)> {
    let long = "x".repeat(300).leak();
    vec![
        (
            Some(J::Obj(vec![
                ("name", J::Str("Joe")),
                ("age", J::I16(24)),
                ("tags", J::Arr(vec![J::Str("a"), J::Str("b")])),
                (
                    "address",
                    J::Obj(vec![("city", J::Str("Oslo")), ("zip", J::Str("0150"))]),
                ),
                ("active", J::Bool(true)),
                ("score", J::Double(9.5)),
                ("none", J::Null),
                ("empty", J::Obj(vec![])),
            ])),
            json!({"name": "Joe", "age": 24, "tags": ["a", "b"],
                   "address": {"city": "Oslo", "zip": "0150"}, "active": true,
                   "score": 9.5, "none": null, "empty": {}}),
        ),
        (
            Some(J::Arr(vec![
                J::I16(-5),
                J::U16(65535),
                J::I32(-100_000),
                J::U32(4_000_000_000),
                J::I64(i64::MIN),
                J::U64(u64::MAX),
                J::Double(-2.5e-3),
                J::Str(""),
                J::Bool(false),
                J::Null,
                J::Arr(vec![]),
            ])),
            json!([
                -5,
                65535,
                -100000,
                4000000000u32,
                i64::MIN,
                u64::MAX,
                -2.5e-3,
                "",
                false,
                null,
                []
            ]),
        ),
        (Some(J::Str("just a string")), json!("just a string")),
        (Some(J::I32(123_456)), json!(123456)),
        (Some(J::Bool(true)), json!(true)),
        (Some(J::Str(long)), json!(long)),
        (
            Some(J::Large(Box::new(J::Obj(vec![
                ("n", J::I32(-7)),
                ("u", J::U32(7)),
                ("list", J::Large(Box::new(J::Arr(vec![J::I32(1), J::Null])))),
                ("inner", J::Obj(vec![("deep", J::Arr(vec![J::Str("z")]))])),
            ])))),
            json!({"n": -7, "u": 7, "list": [1, null], "inner": {"deep": ["z"]}}),
        ),
        (
            Some(J::Obj(vec![
                (
                    "price",
                    J::Opaque(bjson::T_NEWDECIMAL, vec![6, 3, 0x80, 0x7b, 0x01, 0xc8]),
                ),
                (
                    "debt",
                    J::Opaque(bjson::T_NEWDECIMAL, vec![3, 2, 0x7e, 0xcd]),
                ),
                (
                    "day",
                    J::Opaque(bjson::T_DATE, packed_datetime((2012, 3, 18), (0, 0, 0), 0)),
                ),
                (
                    "at",
                    J::Opaque(
                        bjson::T_DATETIME,
                        packed_datetime((2012, 3, 18), (11, 30, 45), 250_000),
                    ),
                ),
                ("blob", J::Opaque(252, vec![1, 2, 255])),
            ])),
            json!({"price": "123.456", "debt": "-1.50", "day": "2012-03-18",
                   "at": "2012-03-18 11:30:45.250000", "blob": {"$bin": "0102ff"}}),
        ),
        (None, Value::Null),
    ]
}

/// One insert of a row per document. Returns the file and where the
/// transaction starts.
pub(super) fn binlog() -> (Vec<u8>, u64) {
    let t = table();
    let all: &[usize] = &[0, 1];
    let mut rows = Vec::new();
    for (i, (doc, _)) in documents().iter().enumerate() {
        let doc = match doc {
            Some(j) => V::Bytes(bjson::doc(j)),
            None => V::Null,
        };
        rows.extend(t.image(all, &[V::Int(i as i64 + 1), doc]));
    }
    let mut f = Binlog::mysql("8.0.36");
    let at = f.transaction(
        12,
        "app",
        &[(TABLE_MAP, t.map()), (WRITE_ROWS, t.rows(&[all], &rows))],
    );
    (f.bytes(), at)
}

#[test]
fn built_binary_json_becomes_maps_arrays_and_scalars() {
    let (file, at) = binlog();
    let d = decode(&file, "binlog.000002");
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let want: Vec<Value> = documents()
        .into_iter()
        .enumerate()
        .map(|(i, (_, v))| json!({"id": i + 1, "doc": v}))
        .collect();
    assert_eq!(afters(&d), want);
    for (i, e) in d.events.iter().enumerate() {
        assert_eq!(e["op"], "c");
        assert_eq!(e["source"]["pos"], at);
        assert_eq!(e["source"]["gtid"], format!("{UUID_TEXT}:12"));
        assert_eq!(e["source"]["row"], i);
        assert_eq!(d.keys[i], Some(json!({"id": i + 1})));
    }
}

#[test]
fn built_binary_json_keeps_its_number_types() {
    // JSON shows neither a number's width nor float64 from float32, nor
    // bytes from a string: the MessagePack bytes do.
    let (file, _) = binlog();
    let d = decode(&file, "binlog.000002");
    let mut want = Vec::new();
    rmpv::encode::write_value(
        &mut want,
        &rmpv::Value::Array(vec![
            rmpv::Value::from(-5i64),
            rmpv::Value::from(65535u64),
            rmpv::Value::from(-100_000i64),
            rmpv::Value::from(4_000_000_000u64),
            rmpv::Value::from(i64::MIN),
            rmpv::Value::from(u64::MAX),
            rmpv::Value::F64(-2.5e-3),
            rmpv::Value::from(""),
            rmpv::Value::from(false),
            rmpv::Value::Nil,
            rmpv::Value::Array(vec![]),
        ]),
    )
    .unwrap();
    assert_eq!(column_bytes(&d.raw[1], "after", "doc"), want);
    // The opaque BLOB stays bytes (MessagePack bin), not a string.
    let opaque = rmpv::decode::read_value(&mut &column_bytes(&d.raw[7], "after", "doc")[..]);
    let opaque = opaque.unwrap();
    let blob = opaque
        .as_map()
        .unwrap()
        .iter()
        .find(|(k, _)| k.as_str() == Some("blob"));
    assert_eq!(blob.unwrap().1, rmpv::Value::Binary(vec![1, 2, 255]));
}
