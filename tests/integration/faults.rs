//! Restarts: from the checkpoint after a clean stop, and after `kill -9`
//! mid-stream. Nothing may be lost; after a kill, duplicates may appear only
//! for transactions that were not acknowledged, and carry the same identity.

use std::collections::BTreeMap;
use std::time::Duration;

use crate::sluice::{events, unique, Sluice};
use crate::support::{self, SluiceConfig};

fn insert_txns(db: &support::MariaDb, table: &str, from: u32, txns: u32, rows: u32) {
    let mut sql = String::new();
    for t in 0..txns {
        sql.push_str("BEGIN;");
        for r in 0..rows {
            let id = from + t * rows + r;
            sql.push_str(&format!("INSERT INTO {table} VALUES ({id}, 'row {id}');"));
        }
        sql.push_str("COMMIT;");
    }
    db.sql(&sql).unwrap();
}

#[test]
fn a_clean_restart_resumes_at_the_checkpoint_without_loss_or_duplicates() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("restart");
    let table = format!("{name}.t");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {table} (id INT PRIMARY KEY, v VARCHAR(20));"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(dir.path(), &SluiceConfig::from_now(db, &brokers));
    insert_txns(db, &table, 0, 10, 5);
    assert_eq!(
        events(&brokers, &sluice.topic(&table), 50).len(),
        50,
        "{}",
        sluice.log()
    );
    sluice.stop();
    let cp = sluice
        .checkpoint()
        .expect("a checkpoint after a clean stop");
    assert!(cp["pos"].as_u64().unwrap() > 4, "{cp}");

    // Written while sluice is down, then after it is back.
    insert_txns(db, &table, 1000, 10, 5);
    sluice.restart();
    insert_txns(db, &table, 2000, 10, 5);
    let all = events(&brokers, &sluice.topic(&table), 150);
    let mut ids: Vec<u64> = all
        .iter()
        .map(|e| e.value["after"]["id"].as_u64().unwrap())
        .collect();
    ids.sort();
    let want: Vec<u64> = (0..50).chain(1000..1050).chain(2000..2050).collect();
    assert_eq!(ids, want, "log:\n{}", sluice.log());
    assert!(
        sluice.log().contains("resuming from the checkpoint"),
        "{}",
        sluice.log()
    );
    sluice.stop();
}

#[test]
fn kill_9_mid_stream_loses_nothing() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("kill9");
    let table = format!("{name}.t");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {table} (id INT PRIMARY KEY, v VARCHAR(20));"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(dir.path(), &SluiceConfig::from_now(db, &brokers));

    // A steady load: 300 transactions of 10 rows over about 6 seconds (the
    // server's DO SLEEP paces it).
    let (txns, rows) = (300u32, 10u32);
    let writer = {
        let url_port = db.port();
        let table = table.clone();
        std::thread::spawn(move || {
            use std::io::Write;
            let mut child = std::process::Command::new("mariadb")
                .args([
                    "--no-defaults",
                    "--batch",
                    "-h127.0.0.1",
                    "-uroot",
                    &format!("-P{url_port}"),
                ])
                .stdin(std::process::Stdio::piped())
                .stderr(std::process::Stdio::piped())
                .spawn()
                .unwrap();
            child
                .stdin
                .take()
                .unwrap()
                .write_all(
                    {
                        let mut sql = String::new();
                        for t in 0..txns {
                            sql.push_str("BEGIN;");
                            for r in 0..rows {
                                let id = t * rows + r;
                                sql.push_str(&format!(
                                    "INSERT INTO {table} VALUES ({id}, 'row {id}');"
                                ));
                            }
                            sql.push_str("COMMIT; DO SLEEP(0.02);");
                        }
                        sql
                    }
                    .as_bytes(),
                )
                .unwrap();
            let out = child.wait_with_output().unwrap();
            assert!(
                out.status.success(),
                "{}",
                String::from_utf8_lossy(&out.stderr)
            );
        })
    };
    // The fault's shape: three kills spread over the load, each with sluice
    // down for a moment. Nothing waits for anything here; whatever point
    // each kill hits, nothing may be lost.
    for _ in 0..3 {
        std::thread::sleep(Duration::from_millis(1200));
        sluice.kill9();
        std::thread::sleep(Duration::from_millis(200));
        sluice.restart();
    }
    writer.join().unwrap();
    let expected = (txns * rows) as usize;
    let all = events(&brokers, &sluice.topic(&table), expected);
    // Group by identity: every change present, and a repeated identity
    // always carries the same change.
    let mut by_identity: BTreeMap<(String, u64, u64), serde_json::Value> = BTreeMap::new();
    for e in &all {
        let mut v = e.value.clone();
        v.as_object_mut().unwrap().remove("ts_ms");
        if let Some(prev) = by_identity.insert(e.identity(), v.clone()) {
            assert_eq!(prev, v, "a duplicate identity with different content");
        }
    }
    let mut ids: Vec<u64> = by_identity
        .values()
        .map(|v| v["after"]["id"].as_u64().unwrap())
        .collect();
    ids.sort();
    assert_eq!(
        ids,
        (0..expected as u64).collect::<Vec<_>>(),
        "missing changes; log:\n{}",
        sluice.log()
    );
    eprintln!(
        "kill -9 x3: {} messages for {} changes ({} duplicates)",
        all.len(),
        expected,
        all.len() - expected
    );
    sluice.stop();
}
