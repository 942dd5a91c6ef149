//! MySQL's partial JSON updates (binlog_row_value_options=PARTIAL_JSON): a
//! PARTIAL_UPDATE_ROWS_EVENT whose after image holds, for the JSON columns
//! it marks, the changes JSON_SET / JSON_REPLACE / JSON_REMOVE made instead
//! of the document. The decoder rebuilds the document from the before
//! image's, which only binlog_row_image=FULL logs.

use serde_json::json;

use super::bjson::{self, J};
use super::builder::*;
use super::harness::{column_bytes, decode};
use super::table::{diff, Column, Table, INSERT, REMOVE, REPLACE, UTF8MB4_0900_AI_CI, V};

/// CREATE TABLE t(id INT PRIMARY KEY, doc JSON, other JSON, name VARCHAR(100))
fn table(full_metadata: bool) -> Table {
    Table {
        id: 77,
        db: "app",
        name: "t",
        columns: vec![
            Column::int("id"),
            Column::json("doc"),
            Column::json("other"),
            Column::varchar("name", 400, UTF8MB4_0900_AI_CI),
        ],
        primary_key: vec![0],
        full_metadata,
    }
}

fn before_doc() -> J {
    J::Obj(vec![
        ("name", J::Str("Joe")),
        ("age", J::I16(25)),
        ("tags", J::Arr(vec![J::Str("a"), J::Str("b")])),
        ("address", J::Obj(vec![("zip", J::Str("0150"))])),
    ])
}

/// What the changes below make of `before_doc`, as MySQL would have logged
/// it whole.
fn after_doc() -> J {
    J::Obj(vec![
        ("name", J::Str("Joe")),
        ("age", J::I16(26)),
        ("city", J::Str("Oslo")),
        ("tags", J::Arr(vec![J::Str("b")])),
        ("address", J::Obj(vec![("zip", J::Str("0151"))])),
    ])
}

/// JSON_SET(doc, '$.age', 26, '$.city', 'Oslo', '$.address.zip', '0151'),
/// then JSON_REMOVE(doc, '$.tags[0]').
fn changes() -> Vec<u8> {
    let s = |v: &'static str| bjson::doc(&J::Str(v));
    [
        diff(REPLACE, "$.age", Some(&bjson::doc(&J::I16(26)))),
        diff(INSERT, "$.city", Some(&s("Oslo"))),
        diff(REPLACE, "$.address.zip", Some(&s("0151"))),
        diff(REMOVE, "$.tags[0]", None),
    ]
    .concat()
}

/// Two partial updates with every column in both images: one changing
/// `doc` in place (and `other` whole), one changing no document in place.
/// Returns the file and where the transaction starts.
pub(super) fn full_images() -> (Vec<u8>, u64) {
    let t = table(true);
    let all: &[usize] = &[0, 1, 2, 3];
    let before = |id, other: &J| {
        let other = V::Bytes(bjson::doc(other));
        t.image(
            all,
            &[
                V::Int(id),
                V::Bytes(bjson::doc(&before_doc())),
                other,
                V::Str("Joe"),
            ],
        )
    };
    let mut rows = before(1, &J::Arr(vec![]));
    let after = t.image(
        all,
        &[
            V::Int(1),
            V::Bytes(changes()),
            V::Bytes(bjson::doc(&J::I16(1))),
            V::Str("Joe"),
        ],
    );
    rows.extend(t.partial_after(&[1], &after));
    rows.extend(before(2, &J::Null));
    let after = t.image(all, &[V::Int(2), V::Null, V::Null, V::Str("Ann")]);
    rows.extend(t.partial_after(&[], &after));
    let mut f = Binlog::mysql("8.0.36");
    let at = f.transaction(
        5,
        "app",
        &[
            (TABLE_MAP, t.map()),
            (PARTIAL_UPDATE_ROWS, t.rows(&[all, all], &rows)),
        ],
    );
    (f.bytes(), at)
}

/// A partial update logged with binlog_row_image=MINIMAL (and
/// binlog_row_metadata=MINIMAL, so no column names): the before image
/// holds only the key, not the document the changes apply to.
pub(super) fn minimal_before() -> Vec<u8> {
    let t = table(false);
    let mut rows = t.image(&[0], &[V::Int(1)]);
    let after = t.image(&[1], &[V::Bytes(changes())]);
    rows.extend(t.partial_after(&[1], &after));
    let mut f = Binlog::mysql("8.0.36");
    f.transaction(
        6,
        "app",
        &[
            (TABLE_MAP, t.map()),
            (PARTIAL_UPDATE_ROWS, t.rows(&[&[0], &[1]], &rows)),
        ],
    );
    f.bytes()
}

#[test]
fn built_partial_json_updates_become_whole_documents() {
    let (file, at) = full_images();
    let d = decode(&file, "binlog.000003");
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    let before = json!({"name": "Joe", "age": 25, "tags": ["a", "b"],
                        "address": {"zip": "0150"}});
    assert_eq!(d.events.len(), 2);
    let e = &d.events[0];
    assert_eq!(e["op"], "u");
    assert_eq!(e["source"]["pos"], at);
    assert_eq!(e["source"]["gtid"], format!("{UUID_TEXT}:5"));
    assert_eq!(
        e["before"],
        json!({"id": 1, "doc": before, "other": [], "name": "Joe"})
    );
    assert_eq!(
        e["after"],
        json!({"id": 1, "doc": {"name": "Joe", "age": 26, "city": "Oslo", "tags": ["b"],
                                "address": {"zip": "0151"}},
               "other": 1, "name": "Joe"})
    );
    assert_eq!(d.keys[0], Some(json!({"id": 1})));
    // Byte for byte what a full after image of that document gives: the new
    // member sits where MySQL sorts it.
    let mut want = Vec::new();
    crate::decode::json::convert(&bjson::doc(&after_doc()), &mut want).unwrap();
    assert_eq!(column_bytes(&d.raw[0], "after", "doc"), want);
    // A row of the same event that changes no document in place.
    let e = &d.events[1];
    assert_eq!(
        e["before"],
        json!({"id": 2, "doc": before, "other": null, "name": "Joe"})
    );
    assert_eq!(
        e["after"],
        json!({"id": 2, "doc": null, "other": null, "name": "Ann"})
    );
    assert_eq!(e["source"]["row"], 1);
}

#[test]
fn built_partial_json_updates_need_the_before_image() {
    let d = decode(&minimal_before(), "binlog.000004");
    assert!(d.events.is_empty(), "{:?}", d.events);
    assert!(
        d.errors.len() == 1
            && d.errors[0]
                .contains("partial JSON update whose document is not in the before image"),
        "{:?}",
        d.errors
    );
}

#[test]
fn built_partial_json_updates_of_a_missing_member_are_an_error() {
    let t = table(true);
    let all: &[usize] = &[0, 1, 2, 3];
    let doc = V::Bytes(bjson::doc(&before_doc()));
    let mut rows = t.image(all, &[V::Int(1), doc, V::Null, V::Null]);
    let gone = diff(REPLACE, "$.nowhere", Some(&bjson::doc(&J::I16(1))));
    let after = t.image(all, &[V::Int(1), V::Bytes(gone), V::Null, V::Null]);
    rows.extend(t.partial_after(&[1], &after));
    let mut f = Binlog::mysql("8.0.36");
    f.transaction(
        7,
        "app",
        &[
            (TABLE_MAP, t.map()),
            (PARTIAL_UPDATE_ROWS, t.rows(&[all, all], &rows)),
        ],
    );
    let d = decode(&f.bytes(), "binlog.000005");
    assert!(d.events.is_empty(), "{:?}", d.events);
    assert!(
        d.errors.len() == 1
            && d.errors[0].contains("partial JSON update: path names a missing member"),
        "{:?}",
        d.errors
    );
}
