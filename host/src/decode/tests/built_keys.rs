//! The primary keys a rows event touches (`Decoder::changed_keys`), which
//! the snapshot's watermark windows compare with a chunk's keys: both
//! images of an update, whatever the rules emit.

use rmpv::Value;

use super::builder::*;
use super::table::{Column, Table, UTF8MB4_0900_AI_CI, V};
use crate::binlog::file::BinlogBytes;
use crate::decode::Decoder;

fn table() -> Table {
    Table {
        id: 12,
        db: "app",
        name: "t",
        columns: vec![
            Column::varchar("name", 400, UTF8MB4_0900_AI_CI),
            Column::int("id"),
        ],
        primary_key: vec![1],
        full_metadata: true,
    }
}

fn keys_of(file: &[u8]) -> Vec<Value> {
    let mut d = Decoder::default();
    let mut keys = Vec::new();
    for ev in BinlogBytes::new(file).unwrap() {
        let ev = ev.unwrap();
        match ev.header().event_type_raw() {
            TABLE_MAP => {
                d.table_map(&ev).unwrap();
            }
            t if Decoder::is_rows_event(t) => {
                d.changed_keys(&ev, &mut |k| {
                    keys.push(rmpv::decode::read_value(&mut &k[..]).unwrap())
                })
                .unwrap();
            }
            _ => {}
        }
    }
    keys
}

fn key(id: i64) -> Value {
    Value::Map(vec![(Value::from("id"), Value::from(id))])
}

#[test]
fn every_image_of_every_row_gives_its_primary_key() {
    let t = table();
    let all: &[usize] = &[0, 1];
    let row = |name, id| t.image(all, &[V::Str(name), V::Int(id)]);
    // An update moving the key 1 -> 2, one keeping 5, an insert, a delete.
    let updates = [row("a", 1), row("a", 2), row("b", 5), row("c", 5)].concat();
    let mut f = Binlog::mysql("8.0.36");
    f.transaction(
        1,
        "app",
        &[
            (TABLE_MAP, t.map()),
            (UPDATE_ROWS, t.rows(&[all, all], &updates)),
            (WRITE_ROWS, t.rows(&[all], &row("d", 7))),
            (DELETE_ROWS, t.rows(&[all], &row("e", 9))),
        ],
    );
    assert_eq!(
        keys_of(&f.bytes()),
        [key(1), key(2), key(5), key(5), key(7), key(9)]
    );
}

#[test]
fn a_table_without_a_primary_key_gives_none() {
    let t = Table {
        primary_key: vec![],
        ..table()
    };
    let all: &[usize] = &[0, 1];
    let mut f = Binlog::mysql("8.0.36");
    f.transaction(
        1,
        "app",
        &[
            (TABLE_MAP, t.map()),
            (
                WRITE_ROWS,
                t.rows(&[all], &t.image(all, &[V::Str("x"), V::Int(1)])),
            ),
        ],
    );
    assert!(keys_of(&f.bytes()).is_empty());
}
