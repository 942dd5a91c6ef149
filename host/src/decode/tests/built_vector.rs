//! MySQL 9's VECTOR columns: float32 values, little-endian, behind a 4-byte
//! length. MySQL 9 also lists them among the character columns of the
//! table map's charset metadata, so a text column after one must still get
//! its own charset.

use serde_json::json;

use super::builder::*;
use super::harness::{decode, raw_values};
use super::table::{Column, Table, UTF8MB4_0900_AI_CI, V};

fn table() -> Table {
    // CREATE TABLE bar(id SERIAL, v VECTOR(2), foo TEXT, v2 VECTOR(4))
    Table {
        id: 87,
        db: "dtb",
        name: "bar",
        columns: vec![
            Column::bigint_unsigned("id"),
            Column::vector("v"),
            Column::text("foo", UTF8MB4_0900_AI_CI),
            Column::vector("v2"),
        ],
        primary_key: vec![0],
        full_metadata: true,
    }
}

const V2: [f32; 4] = [42.1, -0.5, f32::MAX, f32::MIN_POSITIVE];

/// An insert of two rows and an update of the first. Returns the file and
/// where the transaction starts.
pub(super) fn binlog() -> (Vec<u8>, u64) {
    let t = table();
    let all: &[usize] = &[0, 1, 2, 3];
    let one = t.image(
        all,
        &[
            V::Int(1),
            V::Floats(vec![1.1, -2.2]),
            V::Str("bar"),
            V::Floats(V2.to_vec()),
        ],
    );
    let two = t.image(
        all,
        &[V::Int(2), V::Floats(vec![0.0, 1.0]), V::Null, V::Null],
    );
    let one_changed = t.image(
        all,
        &[
            V::Int(1),
            V::Floats(vec![3.0, 4.0]),
            V::Str("bär"),
            V::Floats(vec![]),
        ],
    );
    let mut f = Binlog::mysql("9.1.0");
    let at = f.transaction(
        3,
        "dtb",
        &[
            (TABLE_MAP, t.map()),
            (WRITE_ROWS, t.rows(&[all], &[&one[..], &two].concat())),
            (
                UPDATE_ROWS,
                t.rows(&[all, all], &[&one[..], &one_changed].concat()),
            ),
        ],
    );
    (f.bytes(), at)
}

#[test]
fn built_mysql9_vectors_become_float32_arrays() {
    let (file, at) = binlog();
    let d = decode(&file, "binlog.000001");
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let f = |v: f32| json!(v as f64);
    let one = json!({"id": 1, "v": [f(1.1), f(-2.2)], "foo": "bar",
                     "v2": V2.map(f).to_vec()});
    let source = |row: u64| {
        json!({"server_id": 1, "file": "binlog.000001", "pos": at,
               "gtid": format!("{UUID_TEXT}:3"), "db": "dtb", "table": "bar",
               "row": row, "ts_ms": TIMESTAMP as u64 * 1000})
    };
    assert_eq!(
        d.events,
        vec![
            json!({"v": 1, "op": "c", "after": one, "before": null,
                   "source": source(0), "ts_ms": 0}),
            json!({"v": 1, "op": "c",
                   "after": {"id": 2, "v": [0.0, 1.0], "foo": null, "v2": null},
                   "before": null, "source": source(1), "ts_ms": 0}),
            json!({"v": 1, "op": "u",
                   "after": {"id": 1, "v": [3.0, 4.0], "foo": "bär", "v2": []},
                   "before": one, "source": source(2), "ts_ms": 0}),
        ]
    );
    assert_eq!(d.keys[2], Some(json!({"id": 1})));
    // On the wire the values are float32, bit for bit, and the text is a
    // string (with VECTOR's binary charset it would be bytes).
    let raw = raw_values(&d);
    let floats = |v: &rmpv::Value| -> Vec<u32> {
        v.as_array()
            .unwrap()
            .iter()
            .map(|x| match x {
                rmpv::Value::F32(x) => x.to_bits(),
                other => panic!("{other} is not a float32"),
            })
            .collect()
    };
    let column = |i: usize, col: &str| -> rmpv::Value {
        let m = raw[i]["after"].as_map().unwrap();
        m.iter()
            .find(|(k, _)| k.as_str() == Some(col))
            .unwrap()
            .1
            .clone()
    };
    assert_eq!(floats(&column(0, "v2")), V2.map(f32::to_bits).to_vec());
    assert_eq!(
        floats(&column(0, "v")),
        vec![1.1f32.to_bits(), (-2.2f32).to_bits()]
    );
    assert!(column(0, "foo").is_str(), "{}", column(0, "foo"));
    assert!(column(2, "foo").is_str(), "{}", column(2, "foo"));
}
