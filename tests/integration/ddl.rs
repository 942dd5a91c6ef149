//! Schema changes: DDL statements reach the DDL topic in order, and rows
//! written after an ALTER carry the new columns.

use serde_json::json;

use crate::sluice::{events, unique, Event, Sluice, PATIENCE};
use crate::support::{self, SluiceConfig};

#[test]
fn schema_changes_are_events_and_rows_follow_the_new_columns() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("ddl");
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(dir.path(), &SluiceConfig::from_now(db, &brokers));
    db.sql(&format!(
        "CREATE DATABASE {name};
         CREATE TABLE {name}.t (id INT PRIMARY KEY, a VARCHAR(10));
         INSERT INTO {name}.t VALUES (1, 'x');
         ALTER TABLE {name}.t ADD COLUMN b INT NOT NULL DEFAULT 7, DROP COLUMN a;
         INSERT INTO {name}.t VALUES (2, 8);
         RENAME TABLE {name}.t TO {name}.u;
         INSERT INTO {name}.u VALUES (3, 9);
         TRUNCATE TABLE {name}.u;
         DROP TABLE {name}.u;
         DROP DATABASE {name};"
    ))
    .unwrap();
    // The DDL topic also carries what other tests do on the shared server
    // meanwhile: read until it holds this test's seven.
    let mut ddl: Vec<Event> = Vec::new();
    crate::support::poll_until(PATIENCE, || {
        ddl = events(&brokers, &sluice.topic("__ddl"), 7)
            .into_iter()
            .filter(|e| e.value["db"] == json!(name))
            .collect();
        ddl.len() >= 7
    });
    let kinds: Vec<&str> = ddl
        .iter()
        .map(|e| e.value["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "CREATE DATABASE",
            "CREATE TABLE",
            "ALTER TABLE",
            "RENAME TABLE",
            "TRUNCATE TABLE",
            "DROP TABLE",
            "DROP DATABASE"
        ],
        "{}",
        sluice.log()
    );
    let alter = &ddl[2].value;
    assert_eq!(alter["op"], "ddl");
    assert_eq!(alter["table"], "t");
    assert!(
        alter["sql"].as_str().unwrap().contains("ADD COLUMN b INT"),
        "{alter}"
    );
    assert!(alter["source"]["pos"].as_u64().unwrap() > 4);
    assert_eq!(ddl[2].key, Some(json!({"db": name})));
    assert_eq!(ddl[2].header("op"), Some("ddl"));
    // Positions of schema changes grow in binlog order.
    let pos: Vec<u64> = ddl
        .iter()
        .map(|e| e.value["source"]["pos"].as_u64().unwrap())
        .collect();
    assert!(pos.windows(2).all(|w| w[0] < w[1]), "{pos:?}");

    let t = events(&brokers, &sluice.topic(&format!("{name}.t")), 2);
    assert_eq!(t[0].value["after"], json!({"id": 1, "a": "x"}));
    assert_eq!(
        t[1].value["after"],
        json!({"id": 2, "b": 8}),
        "the row after ALTER has the new columns"
    );
    let u = events(&brokers, &sluice.topic(&format!("{name}.u")), 1);
    assert_eq!(u[0].value["after"], json!({"id": 3, "b": 9}));
    sluice.stop();
}
