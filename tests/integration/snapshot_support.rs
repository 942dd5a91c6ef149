//! What the snapshot tests share: tables filled with many rows, a writer
//! that changes them the whole time (inserts, updates, deletes, primary-key
//! moves), and the check that matters to a consumer: every event applied
//! per key in identity order gives exactly what `SELECT` returns.

use std::collections::BTreeMap;
use std::io::Write;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering::Relaxed};
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;

use crate::sluice::{as_cell, Event, Sluice, PATIENCE};
use crate::support::{consume_until_quiet, MariaDb};

/// A table the tests fill and churn: its name, columns for SELECT, and key.
pub struct Table {
    pub name: &'static str,
    pub columns: &'static [&'static str],
    pub key: &'static [&'static str],
}

/// `a`: an integer key; `b`: a composite key with a latin1 string part;
/// `c`: an unsigned BIGINT key and exact types.
pub const TABLES: [Table; 3] = [
    Table {
        name: "a",
        columns: &["id", "v", "s"],
        key: &["id"],
    },
    Table {
        name: "b",
        columns: &["k", "tag", "v"],
        key: &["k", "tag"],
    },
    Table {
        name: "c",
        columns: &["id", "d", "t", "u"],
        key: &["id"],
    },
];

/// Creates `db` with the three tables, `rows` rows each.
pub fn fill(server: &MariaDb, db: &str, rows: u32) {
    server
        .sql(&format!(
            "CREATE DATABASE {db};
             CREATE TABLE {db}.a (id INT PRIMARY KEY, v INT, s VARCHAR(40));
             CREATE TABLE {db}.b (k INT, tag VARCHAR(8) CHARACTER SET latin1, v INT, PRIMARY KEY (k, tag));
             CREATE TABLE {db}.c (id BIGINT UNSIGNED PRIMARY KEY, d DECIMAL(20,6), t DATETIME(3), u BIGINT UNSIGNED);
             INSERT INTO {db}.a SELECT seq, seq % 1000, CONCAT('row ', seq) FROM {db}.seq_1_to_{rows};
             INSERT INTO {db}.b SELECT seq DIV 2, IF(seq % 2, 'é', 'Z'), seq FROM {db}.seq_1_to_{rows};
             INSERT INTO {db}.c SELECT seq + 18446744073709000000, seq / 7, '2024-02-29 12:00:00.125' + INTERVAL seq SECOND, seq FROM {db}.seq_1_to_{rows};"
        ))
        .unwrap();
}

/// One transaction of changes to all three tables, `n` picking the rows.
fn churn_txn(db: &str, n: u32, rows: u32) -> String {
    let pick = |salt: u32| (n.wrapping_mul(2_654_435_761).wrapping_add(salt) % rows) + 1;
    let (k1, k2, k3, k4) = (pick(1), pick(2), pick(3), pick(4));
    format!(
        "BEGIN;
         UPDATE {db}.a SET v = v + 1, s = 'upd {n}' WHERE id = {k1};
         DELETE FROM {db}.a WHERE id = {k2};
         UPDATE {db}.a SET id = id + 10000000 WHERE id = {k3};
         INSERT INTO {db}.a VALUES ({}, {n}, 'new');
         UPDATE {db}.b SET v = -v WHERE k = {} AND tag = 'é';
         DELETE FROM {db}.b WHERE k = {};
         INSERT IGNORE INTO {db}.b VALUES ({}, 'é', {n});
         UPDATE {db}.c SET d = d + 0.000001, t = t + INTERVAL 1 DAY WHERE id = {};
         UPDATE {db}.c SET id = id - 5000000 WHERE id = {};
         COMMIT;\n",
        20_000_000 + n,
        k1 / 2,
        k2 / 2,
        rows + n,
        18_446_744_073_709_000_000u64 + k3 as u64,
        18_446_744_073_709_000_000u64 + k4 as u64,
    )
}

/// A writer changing the tables of `db` transaction after transaction
/// through one client connection, until finished.
pub struct Churn {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU32>,
    thread: std::thread::JoinHandle<()>,
}

impl Churn {
    /// Changes the three tables of `db` ([`fill`]).
    pub fn start(server: &MariaDb, db: &str, rows: u32) -> Churn {
        let db = db.to_owned();
        Churn::with(server, move |n| churn_txn(&db, n, rows))
    }

    /// Runs transaction `txn(n)` for n = 0, 1, ... until finished.
    pub fn with(server: &MariaDb, txn: impl Fn(u32) -> String + Send + 'static) -> Churn {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU32::new(0));
        let mut child = Command::new("mariadb")
            .args(["--no-defaults", "--batch", "-h127.0.0.1", "-uroot"])
            .arg(format!("-P{}", server.port()))
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("start the mariadb client");
        let thread = std::thread::spawn({
            let (stop, done) = (stop.clone(), done.clone());
            move || {
                let mut stdin = child.stdin.take().unwrap();
                let mut n = 0;
                while !stop.load(Relaxed) {
                    stdin.write_all(txn(n).as_bytes()).unwrap();
                    n += 1;
                    done.store(n, Relaxed);
                }
                drop(stdin);
                assert!(child.wait().unwrap().success(), "the churn's client failed");
            }
        });
        Churn { stop, done, thread }
    }

    /// Stops the writer once its client has run everything sent to it;
    /// returns how many transactions it sent.
    pub fn finish(self) -> u32 {
        self.stop.store(true, Relaxed);
        self.thread.join().expect("the churn thread panicked");
        self.done.load(Relaxed)
    }
}

/// Waits until sluice has acknowledged everything up to the server's
/// current position and has no snapshot work left.
pub fn wait_done(sluice: &Sluice, server: &MariaDb) {
    sluice.wait_until(PATIENCE, "the snapshot to finish", || {
        sluice.log().contains("snapshot finished")
    });
    sluice.wait_caught_up(server);
    sluice.wait_until(PATIENCE, "no snapshot work in the checkpoint", || {
        sluice
            .checkpoint()
            .is_some_and(|c| c.get("snapshot").is_none())
    });
}

/// Every event of `topic`, in identity order.
pub fn events_in_identity_order(brokers: &str, topic: &str) -> Vec<Event> {
    let mut events: Vec<Event> =
        consume_until_quiet(brokers, topic, Duration::from_secs(3), PATIENCE)
            .iter()
            .map(Event::from_message)
            .collect();
    events.sort_by_key(|e| e.identity());
    events
}

/// Applies `events` per key in order and compares the result with the
/// table, row by row; returns how many snapshot rows there were.
pub fn assert_replay_equals_table(
    server: &MariaDb,
    db: &str,
    t: &Table,
    events: &[Event],
) -> usize {
    let mut rows: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let key_of = |img: &Value| -> String {
        t.key
            .iter()
            .map(|c| as_cell(&img[*c]))
            .collect::<Vec<_>>()
            .join("\t")
    };
    let mut reads = 0;
    for e in events {
        let v = &e.value;
        if v["op"] == "r" {
            reads += 1;
            assert_eq!(v["source"]["snapshot"], Value::Bool(true), "{v}");
        }
        if !v["before"].is_null() {
            rows.remove(&key_of(&v["before"]));
        }
        if !v["after"].is_null() {
            let cells = t.columns.iter().map(|c| as_cell(&v["after"][*c])).collect();
            rows.insert(key_of(&v["after"]), cells);
        }
    }
    let select = server
        .sql(&format!(
            "SET NAMES utf8mb4; SELECT {} FROM {db}.{}",
            t.columns.join(", "),
            t.name
        ))
        .unwrap();
    let mut want: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for line in select.lines() {
        let cells: Vec<String> = line.split('\t').map(str::to_owned).collect();
        let key = t
            .key
            .iter()
            .map(|k| cells[t.columns.iter().position(|c| c == k).unwrap()].clone())
            .collect::<Vec<_>>()
            .join("\t");
        want.insert(key, cells);
    }
    let missing: Vec<_> = want
        .keys()
        .filter(|k| !rows.contains_key(*k))
        .take(5)
        .collect();
    let extra: Vec<_> = rows
        .keys()
        .filter(|k| !want.contains_key(*k))
        .take(5)
        .collect();
    let differ: Vec<_> = want
        .iter()
        .filter(|(k, v)| rows.get(*k).is_some_and(|r| r != *v))
        .take(5)
        .map(|(k, v)| format!("{k}: table {v:?}, events {:?}", rows[k]))
        .collect();
    assert!(
        missing.is_empty() && extra.is_empty() && differ.is_empty(),
        "{db}.{}: {} rows in the table, {} from the events; missing {missing:?}, extra {extra:?}, different {differ:?}",
        t.name,
        want.len(),
        rows.len()
    );
    reads
}
