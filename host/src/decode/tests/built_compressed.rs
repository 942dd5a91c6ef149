//! MySQL 8's compressed transactions (binlog_transaction_compression=ON):
//! each transaction's events after its GTID go, zstd-compressed, into one
//! TRANSACTION_PAYLOAD_EVENT.

use serde_json::{json, Value};

use super::builder::*;
use super::harness::decode;
use super::table::{Column, Table, UTF8MB4_0900_AI_CI, V};

fn table() -> Table {
    Table {
        id: 91,
        db: "shop",
        name: "orders",
        columns: vec![
            Column::int("id"),
            Column::varchar("note", 400, UTF8MB4_0900_AI_CI),
            Column::int("qty"),
        ],
        primary_key: vec![0],
        full_metadata: true,
    }
}

/// Two compressed transactions: two inserts and an update, then a delete.
/// Returns the file and where each transaction's GTID event starts.
pub(super) fn binlog() -> (Vec<u8>, [u64; 2]) {
    let t = table();
    let all: &[usize] = &[0, 1, 2];
    let first = t.image(all, &[V::Int(1), V::Str("first"), V::Int(2)]);
    let second = t.image(all, &[V::Int(2), V::Null, V::Int(-5)]);
    let changed = t.image(all, &[V::Int(1), V::Str("first, changed"), V::Int(3)]);
    let mut f = Binlog::mysql("8.0.36");
    let g1 = f.push(GTID, &gtid(UUID, 7));
    f.push(
        TRANSACTION_PAYLOAD,
        &transaction_payload(&[
            inner_event(QUERY, &query("shop", "BEGIN")),
            inner_event(TABLE_MAP, &t.map()),
            inner_event(WRITE_ROWS, &t.rows(&[all], &[&first[..], &second].concat())),
            inner_event(
                UPDATE_ROWS,
                &t.rows(&[all, all], &[&first[..], &changed].concat()),
            ),
            inner_event(XID, &xid(41)),
        ]),
    );
    let g2 = f.push(GTID, &gtid(UUID, 8));
    f.push(
        TRANSACTION_PAYLOAD,
        &transaction_payload(&[
            inner_event(QUERY, &query("shop", "BEGIN")),
            inner_event(TABLE_MAP, &t.map()),
            inner_event(DELETE_ROWS, &t.rows(&[all], &second)),
            inner_event(XID, &xid(42)),
        ]),
    );
    (f.bytes(), [g1, g2])
}

#[test]
fn built_compressed_transactions_are_unpacked() {
    let (file, gtids) = binlog();
    let d = decode(&file, "binlog.000007");
    assert!(d.errors.is_empty(), "{:?}", d.errors);
    // A transaction starts at its GTID event, before the payload; its rows
    // are numbered from 0 across its rows events.
    let source = |gno: u64, pos: u64, row: u64| {
        json!({"server_id": 1, "file": "binlog.000007", "pos": pos,
               "gtid": format!("{UUID_TEXT}:{gno}"), "db": "shop", "table": "orders",
               "row": row, "ts_ms": TIMESTAMP as u64 * 1000})
    };
    let event = |op: &str, after: Value, before: Value, source: Value| json!({"v": 1, "op": op, "after": after, "before": before, "source": source, "ts_ms": 0});
    let first = json!({"id": 1, "note": "first", "qty": 2});
    let second = json!({"id": 2, "note": null, "qty": -5});
    assert_eq!(
        d.events,
        vec![
            event("c", first.clone(), Value::Null, source(7, gtids[0], 0)),
            event("c", second.clone(), Value::Null, source(7, gtids[0], 1)),
            event(
                "u",
                json!({"id": 1, "note": "first, changed", "qty": 3}),
                first,
                source(7, gtids[0], 2)
            ),
            event("d", Value::Null, second, source(8, gtids[1], 0)),
        ]
    );
    assert_eq!(
        d.keys,
        [1, 2, 1, 2].map(|id| Some(json!({ "id": id }))).to_vec()
    );
}

#[test]
fn a_corrupt_compressed_transaction_is_an_error() {
    let (mut file, _) = binlog();
    // The first byte of the first payload's zstd frame (its magic number),
    // with the event's checksum made right again.
    let at = file
        .windows(4)
        .position(|w| w == [0x28, 0xb5, 0x2f, 0xfd])
        .expect("a zstd frame");
    file[at] ^= 0xff;
    let evs = super::harness::events(&file);
    let e = evs.iter().find(|e| e.kind == TRANSACTION_PAYLOAD).unwrap();
    let end = e.at + e.len;
    let crc = crc32fast::hash(&file[e.at..end - 4]);
    file[end - 4..end].copy_from_slice(&crc.to_le_bytes());
    let d = decode(&file, "binlog.000007");
    assert!(d.events.is_empty(), "{:?}", d.events);
    assert!(
        d.errors
            .iter()
            .any(|e| e.contains("compressed transaction")),
        "{:?}",
        d.errors
    );
}
