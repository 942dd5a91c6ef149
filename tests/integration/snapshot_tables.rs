//! What the snapshot reader makes of whole tables (the types tests check
//! it for every column type): it pages through a table in primary-key
//! order, each chunk starting after the last key of the one before,
//! compared the way the server orders the key (its collation, not bytes),
//! so every row comes exactly once and in order, whatever the chunk size;
//! and it reads the columns the binlog has that information_schema hides.

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

    let order = ids_in_key_order(&t, "name, n, b");
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

/// Every kind of key value goes back to the server as it compares it:
/// ENUM by index ('b' before 'a' here), DECIMAL and TIME by value (negative
/// ones too), TIMESTAMP in UTC whatever the writer's zone, BIT as a
/// number, INET6 and UUID as their bytes (the server orders a UUID by its
/// own rules, not byte order), FLOAT exactly.
#[test]
fn chunks_follow_keys_of_every_kind() {
    let t = TypeTable::create(
        "id INT NOT NULL AUTO_INCREMENT UNIQUE, e ENUM('b', 'a'), d DECIMAL(5,2),
         ts TIMESTAMP(3) NOT NULL DEFAULT '2000-01-01', tm TIME(1), bt BIT(3), v6 INET6, u UUID,
         f FLOAT, PRIMARY KEY (e, d, ts, tm, bt, v6, u, f)",
        "",
    );
    let mut values = Vec::new();
    for e in ["'a'", "'b'"] {
        for d in ["-1.50", "0", "2.25"] {
            for ts in ["'2024-03-01 05:29:59.5'", "'1970-01-01 05:30:01'"] {
                for tm in ["'-00:00:00.5'", "'01:00:00'"] {
                    for bt in ["b'101'", "0"] {
                        for (v6, f) in [("'::1'", "0.1"), ("'::'", "-2.5")] {
                            for u in [
                                "'00000001-0000-1000-8000-ffffffffffff'",
                                "'ffffffff-0000-1000-8000-000000000001'",
                            ] {
                                values
                                    .push(format!("({e}, {d}, {ts}, {tm}, {bt}, {v6}, {u}, {f})"));
                            }
                        }
                    }
                }
            }
        }
    }
    t.write(&format!(
        "SET time_zone = '+05:30'; INSERT INTO t (e, d, ts, tm, bt, v6, u, f) VALUES {}",
        values.join(", ")
    ));
    // Also checks the snapshot's rows and keys against the events.
    t.events(values.len());
    let order = ids_in_key_order(&t, "e, d, ts, tm, bt, v6, u, f");
    assert_eq!(order.len(), values.len());
    for chunk in [1, 5, values.len()] {
        assert_eq!(snapshot_ids(&t, chunk), order, "chunks of {chunk}");
    }
    t.stop();
}

/// The `id`s of `t` as the server orders them by `key`.
fn ids_in_key_order(t: &TypeTable, key: &str) -> Vec<i64> {
    t.server()
        .sql(&format!("SELECT id FROM {}.t ORDER BY {key}", t.db))
        .unwrap()
        .lines()
        .map(|l| l.parse().unwrap())
        .collect()
}

/// The `id`s of `t` in the order a snapshot in chunks of `chunk` reads
/// them.
fn snapshot_ids(t: &TypeTable, chunk: usize) -> Vec<i64> {
    let rows = sluice::testing::snapshot_rows(&t.server().url(), &t.db, "t", chunk).unwrap();
    rows.iter()
        .map(|r| {
            let v = rmpv::decode::read_value(&mut &r.after[..]).unwrap();
            field(&v, "id").and_then(rmpv::Value::as_i64).unwrap()
        })
        .collect()
}

/// MariaDB's `WITH SYSTEM VERSIONING` adds hidden `row_start` and
/// `row_end` columns that information_schema does not list, and makes
/// `row_end` part of the primary key; the binlog has both, so a snapshot
/// row must too. Explicit period columns are listed like any other.
/// (Inserts only: an update or delete writes a history row under the same
/// `id`, which the by-`id` comparison cannot follow.)
#[test]
fn system_versioned_rows_carry_their_period_columns_and_key() {
    for (columns, options) in [
        ("id INT PRIMARY KEY, v VARCHAR(5)", "WITH SYSTEM VERSIONING"),
        (
            "id INT PRIMARY KEY, v VARCHAR(5),
             s TIMESTAMP(6) GENERATED ALWAYS AS ROW START INVISIBLE,
             e TIMESTAMP(6) GENERATED ALWAYS AS ROW END INVISIBLE,
             PERIOD FOR SYSTEM_TIME(s, e)",
            "WITH SYSTEM VERSIONING",
        ),
    ] {
        let t = TypeTable::create(columns, options);
        t.write("INSERT INTO t (id, v) VALUES (1, 'a'), (2, NULL), (3, 'c')");
        // Checks the snapshot's images and keys against these.
        let events = t.events_with_keys(3);
        let (image, key) = &events[0];
        let key = key.as_ref().expect("a key");
        assert_eq!(key.as_map().map(Vec::len), Some(2), "{key}");
        assert!(field(field(image, "after").unwrap(), "v").is_some());
        t.stop();
    }
}

/// A UNIQUE index over a BLOB or TEXT column is kept by MariaDB as a hash
/// in a hidden column (`DB_ROW_HASH_1`...) that the binlog image includes
/// but no `SELECT` can read: the one thing a snapshot row lacks (the
/// comparison leaves those columns out, docs/FORMAT.md "Snapshot rows").
#[test]
fn long_unique_hash_columns_are_all_a_snapshot_row_lacks() {
    let events = crate::types_support::check(
        "id INT PRIMARY KEY, b BLOB, t TEXT CHARACTER SET latin1, UNIQUE (b), UNIQUE (t)",
        "INSERT INTO t VALUES (1, 'x', 'é'), (2, NULL, NULL), (3, X'00FF', '')",
        3,
        &[("b", "CONCAT('bin:', HEX(b))"), ("t", "CONCAT('str:', t)")],
    );
    // Would this fail, the decoder left the hash out and the comparison
    // need not skip it any more.
    let image = field(&events[0], "after").unwrap();
    assert!(field(image, "DB_ROW_HASH_1").is_some(), "{image}");
}
