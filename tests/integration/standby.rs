//! `[standby]`: two sluice processes with one `[pipeline] name` and one
//! state directory (a shared volume in a deployment), of which one streams.
//! The other takes over when the first stops, is killed, or is paused past
//! its lease; a paused holder that wakes stops streaming by itself.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::{Duration, Instant};

use crate::sluice::{events, unique, Load, Sluice, PATIENCE};
use crate::support::{self, SluiceConfig};

const LEASE_SECS: u64 = 3;
/// "Takes over within": the lease, then a generous margin for a loaded
/// machine. An upper bound, not a benchmark.
const TAKEOVER: Duration = Duration::from_secs(LEASE_SECS + 15);

const TOOK: &str = "standby: took the pipeline's lock";
const WAITS: &str = "waiting to take over";
const LOST: &str = "standby: lost the pipeline's lock";

/// A table of its own and a config for two processes of one pipeline.
fn setup(tag: &str) -> (String, SluiceConfig) {
    let s = support::shared();
    let name = unique(tag);
    let table = format!("{name}.t");
    s.mariadb
        .sql(&format!(
            "CREATE DATABASE {name}; CREATE TABLE {table} (id INT PRIMARY KEY, v VARCHAR(20));"
        ))
        .unwrap();
    let config = SluiceConfig::from_now(&s.mariadb, &s.tansu.brokers())
        .pipeline("name", name.as_str())
        .raw(&format!(
            "[standby]\nenabled = true\nlease_secs = {LEASE_SECS}"
        ));
    (table, config)
}

/// Starts the first process and waits until it holds the lock, then the
/// second, sharing the first's state directory, and waits until it says it
/// waits.
fn pair(root: &Path, config: &SluiceConfig) -> (Sluice, Sluice) {
    let (a_dir, b_dir) = (root.join("a"), root.join("b"));
    std::fs::create_dir_all(a_dir.join("state")).unwrap();
    std::fs::create_dir_all(&b_dir).unwrap();
    std::os::unix::fs::symlink(a_dir.join("state"), b_dir.join("state")).unwrap();
    let a = Sluice::run(&a_dir, config);
    a.wait_for_log(TOOK, 1);
    let b = Sluice::run(&b_dir, config);
    b.wait_for_log(WAITS, 1);
    (a, b)
}

fn insert(table: &str, ids: std::ops::Range<u32>) {
    let mut sql = String::from("BEGIN;");
    for id in ids {
        sql.push_str(&format!("INSERT INTO {table} VALUES ({id}, 'row {id}');"));
    }
    sql.push_str("COMMIT;");
    support::shared().mariadb.sql(&sql).unwrap();
}

/// A load of one-row transactions: transaction `n` inserts id `from + n`.
fn load(table: &str, from: u32) -> Load {
    let table = table.to_owned();
    Load::start(move |n| {
        let id = from + n;
        format!("INSERT INTO {table} VALUES ({id}, 'row {id}'); DO SLEEP(0.01);")
    })
}

/// How many times each id arrived on `topic`, reading at least `expected`
/// events (and a few more, to catch extras).
fn arrivals(topic: &str, expected: usize) -> BTreeMap<u64, usize> {
    let brokers = support::shared().tansu.brokers();
    let mut seen = BTreeMap::new();
    for e in events(&brokers, topic, expected) {
        *seen
            .entry(e.value["after"]["id"].as_u64().expect("an insert"))
            .or_default() += 1;
    }
    seen
}

fn signal(sluice: &Sluice, sig: &str) {
    let ok = std::process::Command::new("kill")
        .args([sig, &sluice.pid().to_string()])
        .status()
        .unwrap()
        .success();
    assert!(ok, "kill {sig} failed");
}

/// Waits for `sluice` to log that it took the lock, returning how long
/// that took from `since`.
fn takes_over(sluice: &Sluice, since: Instant) -> Duration {
    sluice.wait_until(TAKEOVER, "the standby to take over", || {
        sluice.log().contains(TOOK)
    });
    let took = since.elapsed();
    eprintln!("standby took over after {took:?} (lease {LEASE_SECS} s)");
    took
}

#[test]
fn of_two_processes_one_streams_and_the_other_takes_over_when_it_stops() {
    let (table, config) = setup("standby_pair");
    let dir = tempfile::tempdir().unwrap();
    let (mut a, mut b) = pair(dir.path(), &config);
    let topic = a.topic(&table);

    insert(&table, 0..50);
    let seen = arrivals(&topic, 50);
    assert_eq!(seen.len(), 50, "{}", a.log());
    assert!(seen.values().all(|n| *n == 1), "{seen:?}");
    // The standby never started a session: no preflight, no stream.
    assert_eq!(
        (
            a.metric("sluice_standby_active"),
            b.metric("sluice_standby_active")
        ),
        ("1".into(), "0".into())
    );
    let waiting = b.log();
    assert!(!waiting.contains(TOOK), "{waiting}");
    assert!(!waiting.contains("preflight passed"), "{waiting}");
    assert!(
        waiting.contains("connection id "),
        "the standby names the holder: {waiting}"
    );

    // A clean stop releases the lock at once: the standby takes over,
    // from the checkpoint the first one wrote.
    let stopped = Instant::now();
    a.stop();
    takes_over(&b, stopped);
    b.wait_for_log("resuming from the checkpoint", 1);
    assert_eq!(b.metric("sluice_standby_active"), "1");
    insert(&table, 1000..1050);
    let seen = arrivals(&topic, 100);
    let want: Vec<u64> = (0..50).chain(1000..1050).collect();
    assert_eq!(
        seen.keys().copied().collect::<Vec<_>>(),
        want,
        "{}",
        b.log()
    );
    assert!(
        seen.values().all(|n| *n == 1),
        "a clean handover sends nothing twice: {seen:?}"
    );
    b.stop();
}

#[test]
fn kill_9_of_the_holder_under_load_hands_over_within_the_lease_without_loss() {
    let (table, config) = setup("standby_kill9");
    let dir = tempfile::tempdir().unwrap();
    let (mut a, b) = pair(dir.path(), &config);
    let topic = a.topic(&table);

    let load = load(&table, 0);
    load.settle(50);
    let killed = Instant::now();
    a.kill9();
    let took = takes_over(&b, killed);
    assert!(took < TAKEOVER, "{took:?}");
    load.settle(50);
    let committed = load.finish();
    b.wait_caught_up(&support::shared().mariadb);

    let seen = arrivals(&topic, committed as usize);
    let missing: Vec<u32> = (0..committed)
        .filter(|id| !seen.contains_key(&u64::from(*id)))
        .collect();
    assert!(
        missing.is_empty(),
        "{} of {committed} rows lost, e.g. {:?}; standby log:\n{}",
        missing.len(),
        &missing[..missing.len().min(10)],
        b.log()
    );
    assert_eq!(
        seen.len(),
        committed as usize,
        "no row that was not written"
    );
}

#[test]
fn a_paused_holder_loses_its_lease_and_stops_streaming_when_it_wakes() {
    let (table, config) = setup("standby_pause");
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = pair(dir.path(), &config);
    let topic = a.topic(&table);

    let load = load(&table, 0);
    load.settle(30);
    let paused = Instant::now();
    signal(&a, "-STOP");
    let took = takes_over(&b, paused);
    // The server frees the lock a lease after the holder's last renewal,
    // which came up to a third of the lease before the pause: a standby
    // taking it much sooner would have stolen it from a live holder.
    assert!(
        took >= Duration::from_secs(LEASE_SECS) / 2,
        "the lock is the paused holder's until the server times its connection out: {took:?}"
    );
    load.settle(30);

    signal(&a, "-CONT");
    a.wait_until(PATIENCE, "the woken holder to notice", || {
        a.log().contains(LOST)
    });
    // ... and to wait as a standby again, now for the new holder.
    a.wait_until(PATIENCE, "the woken holder to wait again", || {
        let log = a.log();
        log[log.find(LOST).unwrap()..].contains(WAITS)
    });
    assert_eq!(a.metric("sluice_standby_active"), "0");
    assert_eq!(b.metric("sluice_standby_active"), "1");
    load.settle(30);
    let committed = load.finish();
    // Written after the old holder went back to waiting: if it still
    // streamed, these would arrive twice.
    insert(&table, 100_000..100_050);
    b.wait_caught_up(&support::shared().mariadb);

    let seen = arrivals(&topic, committed as usize + 50);
    let missing: Vec<u32> = (0..committed)
        .chain(100_000..100_050)
        .filter(|id| !seen.contains_key(&u64::from(*id)))
        .collect();
    assert!(missing.is_empty(), "rows lost: {missing:?}\n{}", b.log());
    let twice: Vec<_> = (100_000..100_050u64).filter(|id| seen[id] != 1).collect();
    assert!(
        twice.is_empty(),
        "rows written after the old holder stopped arrived more than once: {twice:?}\nold holder's log:\n{}",
        a.log()
    );
    assert_eq!(
        a.log().matches(TOOK).count(),
        1,
        "the old holder did not take the lock back"
    );
}
