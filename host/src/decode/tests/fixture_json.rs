//! MySQL's binary JSON in recorded binlogs: documents, opaque values and
//! partial updates. Skipped without the fixtures (see `fixture_dir.rs`).

use serde_json::{json, Value};

use super::fixture_dir::{fixture, read};
use super::harness::{afters, decode};

#[test]
fn mysql_binary_json_becomes_maps_and_scalars() {
    let Some(d) = fixture("json.binlog.000001") else {
        return;
    };
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
    let Some(d) = fixture("json-opaque.binlog") else {
        return;
    };
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
fn partial_json_updates_need_the_before_image() {
    // json.binlog.000001 ends with partial JSON updates logged with
    // binlog_row_image=MINIMAL: the before image has only the id, so the
    // document the changes apply to is not in the binlog.
    let Some(d) = fixture("json.binlog.000001") else {
        return;
    };
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
    let Some(file) = read(name) else {
        return;
    };
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
