//! The decoder over binlogs recorded by real MySQL 5.1-9.x and MariaDB
//! servers (`shared/fixtures/mysql-binlogs`, see its README): every file
//! decodes without a panic, and the files of the types MariaDB cannot
//! produce here come out as `docs/FORMAT.md` says.

use std::path::PathBuf;

use serde_json::{json, Value};

use crate::binlog::file::BinlogBytes;
use crate::binlog::txn::{classify, Kind, Positions};
use crate::decode::{Decoder, TxnSource};
use crate::event::{Batch, Position};

pub(super) fn dir() -> PathBuf {
    match std::env::var_os("SLUICE_FIXTURES") {
        Some(d) => d.into(),
        None => {
            PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/fixtures/mysql-binlogs")
        }
    }
}

pub(super) struct Decoded {
    pub(super) events: Vec<Value>,
    pub(super) keys: Vec<Option<Value>>,
    pub(super) errors: Vec<String>,
    /// The MessagePack bytes of each event.
    pub(super) raw: Vec<Vec<u8>>,
}

/// Runs a file through the same steps as the pipeline: boundaries, table
/// maps, rows.
pub(super) fn decode(bytes: &[u8], name: &str) -> Decoded {
    let mut out = Decoded {
        events: vec![],
        keys: vec![],
        errors: vec![],
        raw: vec![],
    };
    let events = match BinlogBytes::new(bytes) {
        Ok(e) => e,
        Err(e) => {
            out.errors.push(e);
            return out;
        }
    };
    let mut d = Decoder::default();
    let from = Position::new(name, 4);
    let mut positions = Positions::new(&from);
    let mut txn = TxnSource::new(crate::event::TxnId(0), 1, &from, None);
    let mut batch = Batch::default();
    for ev in events {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                out.errors.push(e);
                break;
            }
        };
        let (start, _) = positions.of(&ev);
        match classify(&ev) {
            Ok(Kind::Gtid { gtid, .. }) => {
                txn = TxnSource::new(crate::event::TxnId(0), 1, &start, gtid.as_deref())
            }
            Ok(Kind::Begin) => {}
            Ok(Kind::TableMap) => {
                if let Err(e) = d.table_map(&ev) {
                    out.errors.push(e.to_string());
                }
            }
            Ok(Kind::Rows) => {
                batch.clear();
                match d.rows(&ev, &mut txn, 0, &mut batch, &mut |s| {
                    std::sync::Arc::new(crate::decode::TablePlan::everything(s))
                }) {
                    Ok(_) => {
                        for r in &batch.records {
                            out.events
                                .push(crate::tail::msgpack_to_json(batch.value(r)));
                            out.keys
                                .push(batch.key(r).map(crate::tail::msgpack_to_json));
                            out.raw.push(batch.value(r).to_vec());
                        }
                    }
                    Err(e) => out.errors.push(e.to_string()),
                }
            }
            Ok(Kind::Rotate { next }) => positions.rotate(&next),
            Ok(_) => {}
            Err(e) => out.errors.push(e),
        }
    }
    out
}

fn fixture(name: &str) -> Decoded {
    let bytes = std::fs::read(dir().join(name)).unwrap_or_else(|e| panic!("fixture {name}: {e}"));
    decode(&bytes, name)
}

/// The change events of a fixture as MessagePack values, to check wire
/// types (float32 vs float64, bin vs str) that JSON cannot show.
fn raw_values(name: &str) -> Vec<std::collections::HashMap<String, rmpv::Value>> {
    let d = fixture(name);
    d.raw
        .iter()
        .map(|b| {
            let v = rmpv::decode::read_value(&mut &b[..]).unwrap();
            v.as_map()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
                .collect()
        })
        .collect()
}

fn afters(d: &Decoded) -> Vec<Value> {
    d.events.iter().map(|e| e["after"].clone()).collect()
}

#[test]
fn every_fixture_decodes_without_panic() {
    // Files that must end in an error, with the reason they do.
    let expected_errors = [
        ("binlog_truncated_event.000001", "truncated event header"),
        (
            "binlog_truncated_prev_gtid_event.000001",
            "truncated event header",
        ),
        ("corrupt-relay-bin.000624", "malformed query event"),
        (
            "json.binlog.000001",
            "partial JSON update whose document is not in the before image",
        ),
    ];
    let mut files = 0;
    for entry in
        std::fs::read_dir(dir()).expect("fixtures directory (set SLUICE_FIXTURES to move it)")
    {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        if name == "README.md" {
            continue;
        }
        files += 1;
        let d = decode(&std::fs::read(&path).unwrap(), &name);
        match expected_errors.iter().find(|(n, _)| *n == name) {
            Some((_, why)) => assert!(
                d.errors.iter().any(|e| e.contains(why)),
                "{name}: expected an error containing {why:?}, got {:?}",
                d.errors
            ),
            None => assert!(d.errors.is_empty(), "{name}: {:?}", d.errors),
        }
        for e in &d.events {
            assert_eq!(e["v"], json!(1), "{name}");
            assert!(
                ["c", "u", "d"].contains(&e["op"].as_str().unwrap()),
                "{name}"
            );
        }
    }
    assert!(
        files >= 40,
        "only {files} fixtures found in {}",
        dir().display()
    );
}

#[test]
fn mysql_binary_json_becomes_maps_and_scalars() {
    let d = fixture("json.binlog.000001");
    assert_eq!(
        d.events[0]["after"],
        json!({"@1": 1, "@2": {"age": 24, "data": "xxxxxxxxxx", "name": "Joe"}, "@3": "Joe", "@4": 24})
    );
    // A multi-row insert: one transaction, rows numbered 0.. within it.
    let rows: Vec<_> = d.events[3..6]
        .iter()
        .map(|e| (e["source"]["pos"].clone(), e["source"]["row"].clone()))
        .collect();
    assert_eq!(
        rows,
        vec![
            (json!(1897), json!(0)),
            (json!(1897), json!(1)),
            (json!(1897), json!(2))
        ]
    );
    let update = &d.events[6];
    assert_eq!(update["op"], "u");
    assert_eq!(update["before"]["@2"]["age"], 24);
    assert_eq!(update["after"]["@2"]["age"], 25);
}

#[test]
fn opaque_json_values_become_strings_or_bytes() {
    let d = fixture("json-opaque.binlog");
    let a: Vec<Value> = afters(&d).iter().map(|v| v["a"].clone()).collect();
    assert_eq!(
        a,
        vec![
            json!({"a": {"$bin": "55"}}),
            json!({"b": "2012-03-18"}),
            json!({"c": "2012-03-18 11:30:45.000000"}),
            json!({"c": "87:31:46.654321"}),
            json!({"d": "123.456"}),
            json!({"e": "9.00"}),
            json!({"e": [0, 1, true, false]}),
            json!({"e": null}),
        ]
    );
}

#[test]
fn enum_and_set_become_labels() {
    // CREATE TABLE t(f1 CHAR(128), f2 VARCHAR(300), f3 ENUM('var1', 'variant2', 'foo'),
    //                f4 SET('one', 'two', 'three', 'four'), f5 TEXT)
    let d = fixture("mysql-enum-string-set.000001");
    assert_eq!(d.events.len(), 3);
    assert_eq!(d.events[0]["op"], "c");
    assert_eq!(d.events[0]["after"]["f3"], "var1");
    assert_eq!(d.events[0]["after"]["f4"], json!(["one", "three"]));
    assert_eq!(d.events[1]["op"], "u");
    assert_eq!(d.events[1]["after"]["f3"], "variant2");
    assert_eq!(d.events[1]["after"]["f4"], json!(["two", "four"]));
    assert_eq!(d.events[1]["after"]["f1"], "field1");
    assert_eq!(d.events[2]["op"], "d");
    assert_eq!(d.events[2]["after"], Value::Null);
    assert_eq!(d.events[2]["before"]["f2"], "field_2");
    assert_eq!(
        d.events[2]["source"]["gtid"],
        "93e95066-a2f4-11ec-9b69-9657f0ae95e2:5"
    );
}

#[test]
fn bit_columns_become_unsigned_integers() {
    // CREATE TABLE foo(a BIT(3), b TEXT, c BIT(8)); INSERT ... (b'100', 'foo', b'00100000')
    let d = fixture("mysql_type_bit.000001");
    assert_eq!(afters(&d), vec![json!({"a": 4, "b": "foo", "c": 32})]);
}

#[test]
fn compressed_transactions_are_unpacked() {
    let d = fixture("transaction_compression.000001");
    assert_eq!(afters(&d), vec![json!({"@1": 1})]);
    assert_eq!(d.events[0]["source"]["db"], "test");
    assert_eq!(d.events[0]["source"]["table"], "tb1");
    // The transaction starts at its GTID event, before the payload.
    assert_eq!(d.events[0]["source"]["pos"], 197);
}

#[test]
fn mysql9_vectors_become_float_arrays() {
    // CREATE TABLE foo(id SERIAL, vector_column VECTOR(3) NOT NULL)
    // CREATE TABLE bar(id SERIAL, vector_column VECTOR(2) NOT NULL, foo TEXT,
    //                  vector_column2 VECTOR(4) NOT NULL)   -- dtb CHARSET utf8mb4
    let d = fixture("vector.binlog");
    let f = |v: f32| json!(v as f64);
    assert_eq!(
        d.events[0]["after"],
        json!({"id": 1, "vector_column": [f(1.1), f(2.2), f(3.3)]})
    );
    assert_eq!(
        d.events[1]["after"],
        json!({"id": 2, "vector_column": [1.0, -1.0, 0.0]})
    );
    // The TEXT between two VECTORs is text: MySQL 9 lists VECTOR columns
    // among the character columns of the table map's charset metadata.
    assert_eq!(
        d.events[3]["after"],
        json!({"id": 2, "vector_column": [f(1.01), f(-1.01)], "foo": "bar",
               "vector_column2": [42.0, 43.0, 44.0, 45.0]})
    );
    assert_eq!(d.events[2]["after"]["foo"], Value::Null);
    let last = d.events.last().unwrap();
    assert_eq!(last["op"], "c");
    assert_eq!(
        last["after"]["vector_column2"],
        json!([f(42.1), f(43.2), f(44.3), f(45.4)])
    );
    // The binary values are float32 on the wire, not float64.
    let raw = raw_values("vector.binlog");
    let after = &raw[0]["after"];
    assert!(matches!(after["vector_column"][0], rmpv::Value::F32(v) if v == 1.1f32));
}

#[test]
fn mysql_invisible_columns_are_columns_like_the_others() {
    // CREATE TABLE t1 (f1 INT UNSIGNED INVISIBLE, f2 INT UNSIGNED INVISIBLE, f3 INT,
    //                  f4 TEXT, f5 BLOB, f6 BIGINT UNSIGNED INVISIBLE)
    let d = fixture("binlog-invisible-columns.000001");
    assert_eq!(
        afters(&d),
        vec![
            json!({"f1": 1, "f2": 2, "f3": -3, "f4": "4", "f5": {"$bin": "05"}, "f6": 6000000000u64}),
            json!({"f1": null, "f2": null, "f3": -33, "f4": "44", "f5": {"$bin": "55"}, "f6": null}),
            json!({"f1": 111, "f2": 222, "f3": -333, "f4": "444", "f5": {"$bin": "55"}, "f6": null}),
        ]
    );
    assert_eq!(d.events[2]["op"], "u");
    assert_eq!(d.events[2]["before"]["f3"], -33);
}

#[test]
fn mysql_hidden_functional_index_columns_are_not_in_the_image() {
    // CREATE TABLE t (a INT, INDEX i((a+1))); ALTER TABLE t ADD COLUMN b TEXT
    // The functional index is a hidden generated column (the 2nd); MySQL
    // leaves it out of the row image, and this file has no column names
    // (binlog_row_metadata=MINIMAL), so columns are named by position.
    let d = fixture("rpl_unfiltered_hidden_gcol.000001");
    assert_eq!(afters(&d), vec![json!({"@1": 1, "@3": "1"})]);
}

#[test]
fn mariadb_fixture_names_columns_and_keys() {
    let d = fixture("mariadb-bin.000001");
    let e = &d.events[0];
    assert_eq!(e["after"]["id"], 62);
    assert_eq!(e["after"]["topic"], "foo");
    assert_eq!(e["after"]["event_type"], "JSON"); // ENUM('BLOB','JSON','PROTOBUF')
    assert_eq!(e["after"]["created"], "2022-04-20T22:18:04Z");
    assert_eq!(e["source"]["gtid"], "0-1-1");
    assert_eq!(d.keys[0], Some(json!({"id": 62})));
}

#[test]
fn negative_time_keeps_its_sign() {
    let d = fixture("time_issue.000001");
    assert_eq!(afters(&d), vec![json!({"@1": "-507:48:27"})]);
}

#[test]
fn partial_json_updates_need_the_before_image() {
    // json.binlog.000001 ends with partial JSON updates logged with
    // binlog_row_image=MINIMAL: the before image has only the id, so the
    // document the changes apply to is not in the binlog.
    let d = fixture("json.binlog.000001");
    assert!(
        d.errors[0].contains("partial JSON update whose document is not in the before image"),
        "{:?}",
        d.errors
    );
}

#[test]
fn partial_json_updates_with_full_images_become_whole_documents() {
    // The first partial update of json.binlog.000001 (JSON_REPLACE of
    // $.age, 25 -> 26, on the row id 1 of
    //   CREATE TABLE t(id INT PRIMARY KEY AUTO_INCREMENT, json_col JSON,
    //                  name VARCHAR(100) AS (json_col->>'$.name'),
    //                  age INT AS (json_col->'$.age'))
    // rewritten as binlog_row_image=FULL logs it: every column in both
    // images, the whole document in the before image, and in the after
    // image the same change the server logged.
    use crate::decode::json::testdoc::{doc, V};
    const HEADER: usize = 19;
    let name = "json.binlog.000001";
    let file = std::fs::read(dir().join(name)).unwrap();
    let mut at = 4;
    let mut ev = None;
    while at + HEADER <= file.len() {
        let size = u32::from_le_bytes(file[at + 9..at + 13].try_into().unwrap()) as usize;
        if file[at + 4] == 39 {
            ev = Some((at, size));
            break;
        }
        at += size;
    }
    let (at, size) = ev.expect("a partial update event");
    let body = &file[at + HEADER..at + size - 4];
    let extra = u16::from_le_bytes([body[8], body[9]]) as usize;
    let cols_at = 8 + extra; // column count (1 byte here), then the two bitmaps
    assert_eq!(body[cols_at], 4);
    let rows = &body[cols_at + 3..];
    // The server's change for row 1: its diff bytes, copied as logged.
    assert_eq!(&rows[..5], &[0, 1, 0, 0, 0], "before image: id 1");
    let diff_len = u32::from_le_bytes(rows[8..12].try_into().unwrap()) as usize;
    let diffs = &rows[12..12 + diff_len];
    assert_eq!(&diffs[..7], b"\x00\x05$.age");

    let before_doc = doc(
        true,
        &[
            ("age", V::I(25)),
            ("data", V::S("xxxxxxxxxx")),
            ("name", V::S("Joe")),
        ],
    );
    let mut row = vec![0u8]; // before: no NULLs
    row.extend_from_slice(&1i32.to_le_bytes());
    row.extend_from_slice(&(before_doc.len() as u32).to_le_bytes());
    row.extend_from_slice(&before_doc);
    row.extend_from_slice(&3u16.to_le_bytes());
    row.extend_from_slice(b"Joe");
    row.extend_from_slice(&25i32.to_le_bytes());
    row.extend_from_slice(&[1, 1, 0]); // after: PARTIAL_JSON_UPDATES, json_col partial, no NULLs
    row.extend_from_slice(&1i32.to_le_bytes());
    row.extend_from_slice(&(diff_len as u32).to_le_bytes());
    row.extend_from_slice(diffs);
    row.extend_from_slice(&3u16.to_le_bytes());
    row.extend_from_slice(b"Joe");
    row.extend_from_slice(&26i32.to_le_bytes());

    let mut new_body = body[..cols_at + 1].to_vec();
    new_body.extend_from_slice(&[0x0f, 0x0f]); // every column, both images
    new_body.extend_from_slice(&row);
    let mut event = file[at..at + HEADER].to_vec();
    event.extend_from_slice(&new_body);
    let size = (event.len() + 4) as u32;
    event[9..13].copy_from_slice(&size.to_le_bytes());
    let crc = crc32fast::hash(&event);
    event.extend_from_slice(&crc.to_le_bytes());
    let mut rewritten = file[..at].to_vec();
    rewritten.extend_from_slice(&event);

    let d = decode(&rewritten, name);
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let e = d.events.last().unwrap();
    assert_eq!(e["op"], "u");
    assert_eq!(
        e["before"],
        json!({"@1": 1, "@2": {"age": 25, "data": "xxxxxxxxxx", "name": "Joe"}, "@3": "Joe", "@4": 25})
    );
    assert_eq!(
        e["after"],
        json!({"@1": 1, "@2": {"age": 26, "data": "xxxxxxxxxx", "name": "Joe"}, "@3": "Joe", "@4": 26})
    );
    // Byte for byte what a full after image of that document gives.
    let after_doc = doc(
        true,
        &[
            ("age", V::I(26)),
            ("data", V::S("xxxxxxxxxx")),
            ("name", V::S("Joe")),
        ],
    );
    let mut want = Vec::new();
    crate::decode::json::convert(&after_doc, &mut want).unwrap();
    let raw = rmpv::decode::read_value(&mut &d.raw.last().unwrap()[..]).unwrap();
    let after = &raw
        .as_map()
        .unwrap()
        .iter()
        .find(|(k, _)| k.as_str() == Some("after"))
        .unwrap()
        .1;
    let got = after
        .as_map()
        .unwrap()
        .iter()
        .find(|(k, _)| k.as_str() == Some("@2"))
        .unwrap()
        .1
        .clone();
    let mut got_bytes = Vec::new();
    rmpv::encode::write_value(&mut got_bytes, &got).unwrap();
    assert_eq!(got_bytes, want);
}
