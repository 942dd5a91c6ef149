//! The whole path against real servers: MariaDB's binlog -> sluice -> tansu,
//! consumed back by partition assignment and compared with what the server
//! holds.

use std::collections::BTreeSet;

use serde_json::json;

use crate::sluice::{as_cell, events, master_position, replay, unique, Sluice};
use crate::support::{self, SluiceConfig};

#[test]
fn changes_in_multi_statement_transactions_arrive_exactly_as_the_server_holds_them() {
    let s = support::shared();
    let db = &s.mariadb;
    let brokers = s.tansu.brokers();
    let (shop, crm) = (unique("shop"), unique("crm"));
    db.sql(&format!(
        "CREATE DATABASE {shop}; CREATE DATABASE {crm};
         CREATE TABLE {shop}.orders (id INT PRIMARY KEY, qty BIGINT UNSIGNED, price DECIMAL(10,2), note VARCHAR(50) CHARACTER SET utf8mb4, city VARCHAR(20) CHARACTER SET latin1, created DATETIME(6), ts TIMESTAMP(3) NULL);
         CREATE TABLE {shop}.items (order_id INT, line INT, sku VARCHAR(20), PRIMARY KEY (order_id, line));
         CREATE TABLE {crm}.contacts (id BIGINT UNSIGNED PRIMARY KEY, email VARCHAR(100), score DOUBLE);
         CREATE TABLE {crm}.notes (msg TEXT);"
    ))
    .unwrap();
    let start = master_position(db);
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(
        dir.path(),
        &SluiceConfig::new(&db.url(), &brokers).start(&start),
    );

    db.sql(&format!(
        "SET time_zone = '+05:30';
         BEGIN;
           INSERT INTO {shop}.orders VALUES (1, 5, 12.50, 'first', 'Zürich', '2024-02-29 23:59:59.123456', '2024-01-01 05:30:00.5'),
                                            (2, 0, -0.01, NULL, NULL, '1000-01-01 00:00:00', NULL),
                                            (3, 7, 99999999.99, 'ünïcödé ✓', 'Besançon €', '9999-12-31 23:59:59.999999', NULL);
           INSERT INTO {shop}.items VALUES (1, 1, 'A'), (1, 2, 'B'), (3, 1, 'C');
           INSERT INTO {crm}.contacts VALUES (18446744073709551615, 'max@example.com', 1.5), (1, 'one@example.com', NULL);
         COMMIT;
         BEGIN;
           UPDATE {shop}.orders SET qty = 18446744073709551615, note = 'max' WHERE id = 1;
           UPDATE {shop}.orders SET id = 10 WHERE id = 2;
           DELETE FROM {shop}.items WHERE order_id = 1 AND line = 2;
         COMMIT;
         BEGIN;
           INSERT INTO {shop}.orders VALUES (99, 1, 1, 'rolled back', NULL, NOW(), NULL);
           INSERT INTO {crm}.contacts VALUES (99, 'never@example.com', 0);
         ROLLBACK;
         INSERT INTO {crm}.notes VALUES ('no primary key');
         BEGIN;
           DELETE FROM {crm}.contacts WHERE id = 1;
           UPDATE {crm}.contacts SET score = -0.5;
         COMMIT;"
    ))
    .unwrap();

    let orders = events(&brokers, &sluice.topic(&format!("{shop}.orders")), 5);
    let items = events(&brokers, &sluice.topic(&format!("{shop}.items")), 4);
    let contacts = events(&brokers, &sluice.topic(&format!("{crm}.contacts")), 4);
    let notes = events(&brokers, &sluice.topic(&format!("{crm}.notes")), 1);
    assert_eq!(
        (orders.len(), items.len(), contacts.len(), notes.len()),
        (5, 4, 4, 1),
        "log:\n{}",
        sluice.log()
    );

    // Nothing of the rolled-back transaction.
    assert!(orders.iter().all(|e| e.value["after"]["id"] != json!(99)));
    assert!(contacts.iter().all(|e| e.value["after"]["id"] != json!(99)));

    // Ops, headers and keys.
    let ops: Vec<&str> = orders
        .iter()
        .map(|e| e.value["op"].as_str().unwrap())
        .collect();
    assert_eq!(ops, ["c", "c", "c", "u", "u"]);
    for e in orders.iter().chain(&items).chain(&contacts) {
        assert_eq!(e.header("op"), e.value["op"].as_str());
        assert_eq!(e.header("db"), e.value["source"]["db"].as_str());
        assert_eq!(e.header("table"), e.value["source"]["table"].as_str());
        assert_eq!(e.value["v"], 1);
    }
    let pk_change = &orders[4];
    assert_eq!(pk_change.value["before"]["id"], 2);
    assert_eq!(pk_change.value["after"]["id"], 10);
    assert_eq!(pk_change.key, Some(json!({"id": 10})));
    assert_eq!(items[0].key, Some(json!({"order_id": 1, "line": 1})));
    assert_eq!(
        notes[0].key, None,
        "a table without a primary key has no key"
    );
    assert_eq!(
        contacts[0].value["after"]["id"],
        json!(18446744073709551615u64)
    );

    // Identity: one transaction shares file and pos, rows count up within it.
    let mut first_txn: Vec<_> = orders[..3]
        .iter()
        .chain(&items[..3])
        .chain(&contacts[..2])
        .map(|e| e.identity())
        .collect();
    first_txn.sort();
    let pos: BTreeSet<_> = first_txn.iter().map(|(f, p, _)| (f.clone(), *p)).collect();
    assert_eq!(pos.len(), 1, "{first_txn:?}");
    let rows: Vec<u64> = first_txn.iter().map(|i| i.2).collect();
    assert_eq!(rows, (0..8).collect::<Vec<_>>());
    assert!(orders[3].identity().1 > orders[0].identity().1);

    // Replaying the events gives exactly what SELECT returns.
    let check = |evs: &[crate::sluice::Event], key: &[&str], cols: &[&str], select: String| {
        let replayed: Vec<String> = replay(evs, key)
            .values()
            .map(|row| {
                cols.iter()
                    .map(|c| as_cell(&row[*c]))
                    .collect::<Vec<_>>()
                    .join("\t")
            })
            .collect();
        let mut server: Vec<String> = db
            .sql(&select)
            .unwrap()
            .lines()
            .map(str::to_string)
            .collect();
        let mut replayed = replayed;
        replayed.sort();
        server.sort();
        assert_eq!(replayed, server, "{select}");
    };
    check(
        &orders,
        &["id"],
        &["id", "qty", "price", "note", "city", "created", "ts"],
        format!("SET time_zone = '+00:00'; SELECT id, qty, price, IFNULL(note, 'NULL'), IFNULL(city, 'NULL'), DATE_FORMAT(created, '%Y-%m-%d %H:%i:%s.%f'), IFNULL(CONCAT(REPLACE(CAST(ts AS CHAR), ' ', 'T'), 'Z'), 'NULL') FROM {shop}.orders"),
    );
    check(
        &items,
        &["order_id", "line"],
        &["order_id", "line", "sku"],
        format!("SELECT * FROM {shop}.items"),
    );
    check(
        &contacts,
        &["id"],
        &["id", "email", "score"],
        format!("SELECT id, email, IFNULL(score, 'NULL') FROM {crm}.contacts"),
    );
    // latin1 (MySQL's is Windows-1252, with the euro sign) arrives as UTF-8.
    assert_eq!(orders[2].value["after"]["city"], "Besançon €");
    // The TIMESTAMP was written in +05:30 and comes out in UTC.
    assert_eq!(orders[0].value["after"]["ts"], "2024-01-01T00:00:00.500Z");

    sluice.stop();
}
