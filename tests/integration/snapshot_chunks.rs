//! The snapshot reader pages through a table in primary-key order: each
//! chunk starts after the last key of the one before, compared the way the
//! server orders the key (its collation, not bytes), so every row comes
//! exactly once and in order, whatever the chunk size.

use std::collections::HashSet;

use crate::types_support::{field, TypeTable};

/// A composite key whose first column is latin1 text in a case- and
/// accent-insensitive collation: many rows tie on it ('a' = 'A',
/// 'e' = 'é' = 'E', 'x' = 'x ') and the later columns (an INT, a
/// VARBINARY compared as bytes) order them.
#[test]
fn chunks_follow_a_composite_key_with_latin1_text_exactly_once() {
    let t = TypeTable::create(
        "id INT NOT NULL AUTO_INCREMENT UNIQUE,
         name VARCHAR(10) CHARACTER SET latin1 COLLATE latin1_swedish_ci,
         n INT, b VARBINARY(2), d DATETIME(3),
         PRIMARY KEY (name, n, b)",
        "",
    );
    let names = [
        "a", "A", "é", "e", "E", "ä", "z", "Z", "ß", "ss", "", "x", "x ", "Ö", "o", "€",
    ];
    let mut values = Vec::new();
    for name in names {
        for n in [2, -1] {
            for b in ["X''", "X'00'", "X'FF'", "X'0000'"] {
                values.push(format!("('{name}', {n}, {b}, '2024-01-02 03:04:05.678')"));
            }
        }
    }
    // Rows whose key collates equal to one already in are skipped.
    t.write(&format!(
        "INSERT IGNORE INTO t (name, n, b, d) VALUES {}",
        values.join(", ")
    ));
    let count: usize = t
        .server()
        .sql(&format!("SELECT COUNT(*) FROM {}.t", t.db))
        .unwrap()
        .trim()
        .parse()
        .unwrap();
    assert!(count > 50, "{count} rows");
    // Waiting for the events also checks a snapshot in chunks of 2 against
    // them, keys included.
    t.events(count);

    let order: Vec<i64> = t
        .server()
        .sql(&format!("SELECT id FROM {}.t ORDER BY name, n, b", t.db))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect();
    assert_eq!(order.len(), count);
    let url = t.server().url();
    for chunk in [1, 3, 7, count - 1, count, 1000] {
        let rows = sluice::testing::snapshot_rows(&url, &t.db, "t", chunk).unwrap();
        let ids: Vec<i64> = rows
            .iter()
            .map(|r| {
                let v = rmpv::decode::read_value(&mut &r.after[..]).unwrap();
                field(&v, "id").and_then(rmpv::Value::as_i64).unwrap()
            })
            .collect();
        assert_eq!(ids, order, "chunks of {chunk}");
        let keys: HashSet<&[u8]> = rows.iter().map(|r| &r.key[..]).collect();
        assert_eq!(keys.len(), count, "chunks of {chunk}: keys are distinct");
    }
    t.stop();
}
