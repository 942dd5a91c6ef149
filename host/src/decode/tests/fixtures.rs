//! The decoder over binlogs recorded by real MySQL 5.1-9.x and MariaDB
//! servers (`shared/fixtures/mysql-binlogs`, see its README): every file
//! decodes without a panic, and the files of the types MariaDB cannot
//! produce here come out as `docs/FORMAT.md` says. Skipped without the
//! fixtures (see `fixture_dir.rs`).

use serde_json::{json, Value};

use super::fixture_dir::{dir, fixture};
use super::harness::{afters, decode, raw_values};

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
    let Some(dir) = dir() else {
        return;
    };
    let mut files = 0;
    for entry in std::fs::read_dir(&dir).expect("fixtures directory") {
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
        dir.display()
    );
}

#[test]
fn enum_and_set_become_labels() {
    // CREATE TABLE t(f1 CHAR(128), f2 VARCHAR(300), f3 ENUM('var1', 'variant2', 'foo'),
    //                f4 SET('one', 'two', 'three', 'four'), f5 TEXT)
    let Some(d) = fixture("mysql-enum-string-set.000001") else {
        return;
    };
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
    let Some(d) = fixture("mysql_type_bit.000001") else {
        return;
    };
    assert_eq!(afters(&d), vec![json!({"a": 4, "b": "foo", "c": 32})]);
}

#[test]
fn compressed_transactions_are_unpacked() {
    let Some(d) = fixture("transaction_compression.000001") else {
        return;
    };
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
    let Some(d) = fixture("vector.binlog") else {
        return;
    };
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
    let raw = raw_values(&d);
    let after = &raw[0]["after"];
    assert!(matches!(after["vector_column"][0], rmpv::Value::F32(v) if v == 1.1f32));
}

#[test]
fn mysql_invisible_columns_are_columns_like_the_others() {
    // CREATE TABLE t1 (f1 INT UNSIGNED INVISIBLE, f2 INT UNSIGNED INVISIBLE, f3 INT,
    //                  f4 TEXT, f5 BLOB, f6 BIGINT UNSIGNED INVISIBLE)
    let Some(d) = fixture("binlog-invisible-columns.000001") else {
        return;
    };
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
    let Some(d) = fixture("rpl_unfiltered_hidden_gcol.000001") else {
        return;
    };
    assert_eq!(afters(&d), vec![json!({"@1": 1, "@3": "1"})]);
}

#[test]
fn mariadb_fixture_names_columns_and_keys() {
    let Some(d) = fixture("mariadb-bin.000001") else {
        return;
    };
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
    let Some(d) = fixture("time_issue.000001") else {
        return;
    };
    assert_eq!(afters(&d), vec![json!({"@1": "-507:48:27"})]);
}
