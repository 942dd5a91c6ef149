//! Many servers (docs/DEPLOYING.md, "Many servers: one pipeline per
//! source"): two source servers, one Kafka cluster, and per server a
//! standby pair of Sluice processes with a `[pipeline] name` and a
//! `server_id` of its own, the checkpoint in Kafka and exactly-once
//! delivery. Each server's rows reach their own topics, both checkpoints
//! share the one checkpoint topic under their own keys, and `kill -9` of
//! one pipeline's holder hands that pipeline to its standby while the
//! other streams on untouched.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::sluice::{duplicates, events, unique, Event, Load, Sluice, PATIENCE};
use crate::support::mariadb::sql_at;
use crate::support::{self, consume_all_blocking, poll_until, MariaDb, MariaDbOptions};
use crate::support::{wait_until, SluiceConfig};

const CHECKPOINTS: &str = "__sluice_checkpoints";
/// Long enough that a holder on a loaded machine (CI runs many tests at
/// once) does not miss its lease checks (every third of it, each given a
/// third to answer): only the kill -9 hands a pipeline over here, and that
/// is immediate whatever the lease.
const LEASE_SECS: u64 = 6;
/// The lease, then a generous margin for a loaded machine (six servers
/// and processes on a few cores): an upper bound, not a benchmark.
const TAKEOVER: Duration = Duration::from_secs(LEASE_SECS + 15);

/// How long the standby may take from the lock to resuming (see its use).
const RESUME: Duration = Duration::from_secs(300);

const TOOK: &str = "standby: took the pipeline's lock";
const WAITS: &str = "waiting to take over";
const LOST: &str = "standby: lost the pipeline's lock";

/// One source server's pipeline: where it writes, what it is called, and
/// its two processes.
struct Pipeline {
    /// `[pipeline] name`: checkpoint key, transactional id, standby lock.
    name: String,
    /// The server's port, for writers on other threads.
    port: u16,
    /// `db.t`, the same on both servers: the topic prefixes keep the two
    /// servers' topics apart.
    table: String,
    /// The Kafka topic the table's changes go to.
    topic: String,
    /// The process holding the lock, and the one waiting.
    active: Sluice,
    standby: Sluice,
}

/// Starts a standby pair for `db`: the first process until it holds the
/// lock, then the second until it waits. The two share one config (one
/// name, one `server_id`, one topic prefix) and nothing on disk: the
/// checkpoint is in Kafka.
fn pipeline(root: &Path, db: &MariaDb, brokers: &str, name: &str, table: &str) -> Pipeline {
    let config = SluiceConfig::from_now(db, brokers)
        .pipeline("name", name)
        .state("store", "kafka")
        .kafka("delivery", "exactly_once")
        .raw(&format!(
            "[standby]\nenabled = true\nlease_secs = {LEASE_SECS}"
        ));
    let active = Sluice::run(&root.join(format!("{name}-a")), &config);
    active.wait_for_log(TOOK, 1);
    let standby = Sluice::run(&root.join(format!("{name}-b")), &config);
    standby.wait_for_log(WAITS, 1);
    Pipeline {
        name: name.to_owned(),
        port: db.port(),
        table: table.to_owned(),
        topic: active.topic(table),
        active,
        standby,
    }
}

/// Inserts `ids` into `p`'s table, ten rows a transaction, each row's `v`
/// naming the pipeline (so a row on the wrong topic is seen).
fn insert(p: &Pipeline, ids: std::ops::Range<u32>) {
    let mut sql = String::new();
    for (i, id) in ids.enumerate() {
        if i % 10 == 0 {
            sql.push_str("BEGIN;");
        }
        sql.push_str(&format!(
            "INSERT INTO {} VALUES ({id}, '{} {id}');",
            p.table, p.name
        ));
        if i % 10 == 9 {
            sql.push_str("COMMIT;");
        }
    }
    if !sql.ends_with("COMMIT;") {
        sql.push_str("COMMIT;");
    }
    sql_at(p.port, &sql);
}

/// Inserts of `p`'s rows on its server, ids counting up from `from`, one
/// transaction each, about a hundred a second, until finished.
fn writer(p: &Pipeline, from: u32) -> Load {
    let (table, name) = (p.table.clone(), p.name.clone());
    Load::at(p.port, move |n| {
        let id = from + n;
        format!("INSERT INTO {table} VALUES ({id}, '{name} {id}'); DO SLEEP(0.01);")
    })
}

/// The first ten of `want` that have not arrived, for a failure message.
fn missing<'a>(want: &'a [u64], seen: &BTreeMap<u64, usize>) -> Vec<&'a u64> {
    want.iter()
        .filter(|id| !seen.contains_key(id))
        .take(10)
        .collect()
}

/// How many times each id arrived on `p`'s topic, reading at least
/// `expected` events; asserts every event is one of `p`'s rows.
fn arrivals(brokers: &str, p: &Pipeline, expected: usize) -> (Vec<Event>, BTreeMap<u64, usize>) {
    let all = events(brokers, &p.topic, expected);
    let mut seen = BTreeMap::new();
    for e in &all {
        let id = e.value["after"]["id"].as_u64().expect("an insert");
        assert_eq!(
            e.value["after"]["v"].as_str(),
            Some(format!("{} {id}", p.name).as_str()),
            "a row of another server on {}",
            p.topic
        );
        *seen.entry(id).or_default() += 1;
    }
    (all, seen)
}

/// The last committed checkpoint of every pipeline in the checkpoint
/// topic, by key.
fn checkpoints(brokers: &str) -> BTreeMap<String, serde_json::Value> {
    consume_all_blocking(brokers, CHECKPOINTS, usize::MAX, Duration::from_secs(3))
        .iter()
        .filter_map(|m| Some((m.key_str()?.to_owned(), m.payload_json().ok()?)))
        .collect()
}

/// Whether `cp` is at or past the server's binlog position `file:pos`.
fn reaches(cp: Option<&serde_json::Value>, position: &str) -> bool {
    let (file, pos) = position.rsplit_once(':').unwrap();
    cp.is_some_and(|c| {
        (
            c["file"].as_str().unwrap_or(""),
            c["pos"].as_u64().unwrap_or(0),
        ) >= (file, pos.parse().unwrap())
    })
}

#[test]
fn two_servers_two_standby_pairs_one_kafka_and_a_kill_9_touches_one_pipeline_only() {
    let s = support::shared();
    let brokers = s.tansu.brokers();
    // The second source server, started for this test (the first is the
    // shared one).
    let other = MariaDb::start(MariaDbOptions::default()).unwrap();
    let db = unique("pipes");
    let table = format!("{db}.t");
    for server in [&s.mariadb, &other] {
        server
            .sql(&format!(
                "CREATE DATABASE {db}; CREATE TABLE {table} (id INT PRIMARY KEY, v VARCHAR(40));"
            ))
            .unwrap();
    }
    let dir = tempfile::tempdir().unwrap();
    let (orders, users) = (unique("orders_db"), unique("users_db"));
    let mut a = pipeline(dir.path(), &s.mariadb, &brokers, &orders, &table);
    let b = pipeline(dir.path(), &other, &brokers, &users, &table);
    assert_ne!(a.topic, b.topic, "one table name, two prefixes, two topics");

    // Phase 1, no process killed, so no Kafka transaction aborted: every
    // change arrives exactly once, on its own server's topic.
    insert(&a, 0..100);
    insert(&b, 0..100);
    for p in [&a, &b] {
        let (all, seen) = arrivals(&brokers, p, 100);
        assert_eq!(
            seen.keys().copied().collect::<Vec<_>>(),
            (0..100).collect::<Vec<u64>>(),
            "{}",
            p.active.log()
        );
        assert_eq!(duplicates(&all), vec![], "{}", p.active.log());
    }
    // Both checkpoints in the one topic, each under its pipeline's name,
    // each reaching its own server's position.
    let (pos_a, pos_b) = (s.mariadb.binlog_position(), other.binlog_position());
    wait_until(PATIENCE, "both checkpoints to catch up", || {
        let cps = checkpoints(&brokers);
        reaches(cps.get(&orders), &pos_a) && reaches(cps.get(&users), &pos_b)
    });
    for p in [&a, &b] {
        assert_eq!(
            (
                p.active.metric("sluice_standby_active"),
                p.standby.metric("sluice_standby_active")
            ),
            ("1".into(), "0".into())
        );
    }

    // Phase 2: both servers under load; kill -9 of orders' holder.
    let (wa, wb) = (writer(&a, 1000), writer(&b, 1000));
    wa.settle(30);
    wb.settle(30);
    // The kill is what hands orders over: its holder still holds the lock.
    assert_eq!(
        a.active.metric("sluice_standby_active"),
        "1",
        "orders' holder lost its lock before the kill: {}",
        a.active.log_tail(20)
    );
    let killed = Instant::now();
    a.active.kill9();
    a.standby
        .wait_until(TAKEOVER, "orders' standby to take over", || {
            a.standby.log().contains(TOOK)
        });
    eprintln!("orders' standby took over after {:?}", killed.elapsed());
    // Here it resumes about a second after the kill. Once in CI it had not
    // after 120 s, for a reason its report cut off (the checkpoint read
    // alone may take up to 20 s to fence and 90 s to read before it gives
    // up and tries again): a longer wait tells a slow takeover from one
    // that never comes, and the time is printed with any failure.
    a.standby
        .wait_until(RESUME, "orders' standby to resume", || {
            a.standby.log().contains("resuming from the checkpoint")
        });
    eprintln!("orders' standby resumed after {:?}", killed.elapsed());
    // users' rows went on arriving through the takeover, and keep doing so.
    let during = wb.done();
    wa.settle(30);
    wb.settle(30);
    let (na, nb) = (wa.finish(), wb.finish());
    assert!(during > 30, "users' load ran through the takeover");

    // orders: nothing lost, nothing that was not written. Not "each once":
    // the killed holder's open transaction was aborted by its standby, and
    // tansu 0.6 hands aborted records to read_committed consumers (its
    // fetch responses carry no aborted-transactions list), so they may be
    // read again here. A Kafka broker would hide them.
    let want_a: Vec<u64> = (0..100).chain(1000..1000 + u64::from(na)).collect();
    let want_b: Vec<u64> = (0..100).chain(1000..1000 + u64::from(nb)).collect();
    let mut seen_a = BTreeMap::new();
    assert!(
        poll_until(PATIENCE, || {
            seen_a = arrivals(&brokers, &a, want_a.len()).1;
            seen_a.len() >= want_a.len()
        }),
        "orders lost rows: {:?}\nnew holder's log:\n{}",
        missing(&want_a, &seen_a),
        a.standby.log()
    );
    assert_eq!(seen_a.keys().copied().collect::<Vec<_>>(), want_a);

    // users: untouched by orders' takeover. Its holder never stopped, so
    // none of its transactions was aborted: exactly once, still.
    // Polled like orders' above: on tansu a commit can wait for another
    // pipeline's transaction on the shared checkpoint partition to end
    // before read_committed readers see it.
    let (mut all_b, mut seen_b) = (Vec::new(), BTreeMap::new());
    poll_until(PATIENCE, || {
        (all_b, seen_b) = arrivals(&brokers, &b, want_b.len());
        seen_b.len() >= want_b.len()
    });
    assert_eq!(
        seen_b.keys().copied().collect::<Vec<_>>(),
        want_b,
        "users' rows (left) against those written; missing {:?}; {}",
        missing(&want_b, &seen_b),
        b.active.log_tail(30)
    );
    assert_eq!(duplicates(&all_b), vec![], "{}", b.active.log());
    let users_log = b.active.log();
    assert_eq!(users_log.matches(TOOK).count(), 1, "{users_log}");
    assert!(!users_log.contains(LOST), "{users_log}");
    assert!(!users_log.contains("reconnecting"), "{users_log}");
    assert!(!b.standby.log().contains(TOOK), "{}", b.standby.log());
    assert_eq!(
        (
            b.active.metric("sluice_standby_active"),
            b.standby.metric("sluice_standby_active"),
            a.standby.metric("sluice_standby_active")
        ),
        ("1".into(), "0".into(), "1".into())
    );

    // Both checkpoints again, the new holder's for orders.
    let (pos_a, pos_b) = (s.mariadb.binlog_position(), other.binlog_position());
    wait_until(
        PATIENCE,
        "both checkpoints to catch up after the takeover",
        || {
            let cps = checkpoints(&brokers);
            reaches(cps.get(&orders), &pos_a) && reaches(cps.get(&users), &pos_b)
        },
    );
}
