//! Exactly-once delivery (`[kafka] delivery = "exactly_once"`) against
//! real MariaDB and tansu: restarts, fencing, `kill -9` (also inside a
//! 100,000-row transaction), a broker outage, and a standby pair whose
//! holder is paused or cut off the network. What a `read_committed`
//! consumer of a Kafka broker gets is read from the partition's log
//! (support::txn_log): tansu does not hide aborted transactions.

use std::time::Duration;

use crate::kafka_state::{ids, insert, kafka_checkpoint_in, kafka_state, table};
use crate::sluice::{duplicates, events, unique, Event, Load, Sluice, PATIENCE};
use crate::support::netns::{Netns, HOST};
use crate::support::{self, consume_all_blocking, SluiceConfig};

/// The changes of `topic` (partition 0) as a `read_committed` consumer of
/// a Kafka broker sees them: librdkafka's view without the records the log
/// marks as aborted (tansu does not hide them; see support::txn_log), and
/// how many were left out.
///
/// Also the records left out whose aborted Kafka transaction held a
/// checkpoint record: tansu shows that checkpoint to Sluice's own
/// read_committed reader as well, so the next process resumes after them
/// and does not send them again; on a Kafka broker neither is visible and
/// they are sent again. Those are the one place where a run on tansu must
/// differ from exactly once.
fn committed_events(
    brokers: &str,
    topic: &str,
    name: &str,
    expected: usize,
) -> (Vec<Event>, usize, Vec<Event>) {
    use support::txn_log::outcome;
    let all = consume_all_blocking(brokers, topic, expected, Duration::from_secs(60));
    let log = outcome(brokers, topic, 0).expect("reading the partition's log");
    assert!(
        log.open.is_empty(),
        "a transaction left open: {:?}",
        log.open
    );
    let checkpoints = outcome(brokers, &checkpoints(name), 0).expect("reading the checkpoint log");
    let aborted_with_checkpoint: std::collections::BTreeSet<_> =
        checkpoints.aborted.values().collect();
    let (mut kept, mut seen_by_sluice) = (Vec::new(), Vec::new());
    for m in all.iter().filter(|m| m.partition == 0) {
        match log.aborted.get(&m.offset) {
            None => kept.push(Event::from_message(m)),
            Some(p) if aborted_with_checkpoint.contains(p) => {
                seen_by_sluice.push(Event::from_message(m))
            }
            Some(_) => {}
        }
    }
    let left_out = all.len() - kept.len();
    (kept, left_out, seen_by_sluice)
}

/// Transactions of `rows` inserts each, ids counting up from 0, until
/// finished.
fn txn_load(table: &str, rows: u32) -> Load {
    Load::start(txn_sql(table, rows))
}

/// Transaction `n` of such a load.
fn txn_sql(table: &str, rows: u32) -> impl Fn(u32) -> String + Send + 'static {
    let table = table.to_string();
    move |n| {
        let mut sql = String::from("BEGIN;");
        for r in 0..rows {
            sql.push_str(&format!(
                "INSERT INTO {table} VALUES ({}, 'r');",
                n * rows + r
            ));
        }
        sql + "COMMIT;"
    }
}

/// Waits until ids `0..total` all arrived on `topic`, once or more (the
/// failure shows `sluice`'s log).
fn wait_all(sluice: &Sluice, brokers: &str, topic: &str, total: usize) {
    sluice.wait_until(PATIENCE, "every change", || {
        let mut got = ids(&events(brokers, topic, total));
        got.dedup();
        got.len() == total
    });
}

/// What Kafka committed on `topic` holds ids `0..total`, each change once
/// (see [`committed_events`]); `what` names the run in the output.
fn assert_committed_once(
    brokers: &str,
    topic: &str,
    name: &str,
    total: usize,
    what: &str,
    log: &str,
) {
    let (mut committed, aborted, checkpointed) = committed_events(brokers, topic, name, total);
    eprintln!(
        "{what}: {total} changes, {aborted} records of aborted transactions left out, {} of them with an aborted checkpoint tansu let through",
        checkpointed.len()
    );
    // What a Kafka broker would have had sent again.
    committed.extend(checkpointed);
    assert_eq!(duplicates(&committed), vec![], "{log}");
    assert_eq!(
        ids(&committed),
        (0..total as u64).collect::<Vec<_>>(),
        "{log}"
    );
}

/// Pipeline `name` under exactly once, with a checkpoint topic of its own.
/// These tests fence, pause and kill -9 processes in the middle of Kafka
/// transactions; a transaction tansu then leaves open holds back every
/// read_committed reader of its partition. On the shared checkpoint topic
/// that stalled every other test's checkpoint read for 90 s (seen once in
/// a clean-clone run); on its own topic it can only stall its own test.
fn exactly_once(config: SluiceConfig, name: &str) -> SluiceConfig {
    kafka_state(config, name)
        .kafka("delivery", "exactly_once")
        .state("topic", checkpoints(name))
}

/// The checkpoint topic of pipeline `name` in these tests.
fn checkpoints(name: &str) -> String {
    format!("__sluice_checkpoints.{name}")
}

/// The last checkpoint record of pipeline `name`, from its own topic.
fn kafka_checkpoint(brokers: &str, name: &str) -> Option<serde_json::Value> {
    kafka_checkpoint_in(brokers, &checkpoints(name), name)
}

/// A clean run and a clean restart under exactly once: every change once
/// (no transaction is aborted, so even librdkafka on tansu sees it), the
/// checkpoint committed in Kafka with the changes it covers.
#[test]
fn exactly_once_delivers_each_change_once_across_a_restart() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let table = table(db, "eos");
    let name = unique("pipe");
    let dir = tempfile::tempdir().unwrap();
    let config = exactly_once(SluiceConfig::from_now(db, &brokers), &name);
    let mut sluice = Sluice::run(dir.path(), &config);
    insert(db, &table, 0..500, 50);
    // One large transaction too: it spans several batches.
    let schema = table.split('.').next().unwrap();
    db.sql(&format!(
        "INSERT INTO {table} SELECT seq, 'big' FROM {schema}.seq_1000_to_5999;"
    ))
    .unwrap();
    let topic = sluice.topic(&table);
    assert_eq!(
        events(&brokers, &topic, 5500).len(),
        5500,
        "{}",
        sluice.log()
    );
    sluice.stop();
    insert(db, &table, 7000..7100, 10);
    sluice.restart();
    insert(db, &table, 8000..8100, 10);
    let all = events(&brokers, &topic, 5700);
    assert_eq!(duplicates(&all), vec![], "{}", sluice.log());
    let want: Vec<u64> = (0..500)
        .chain(1000..6000)
        .chain(7000..7100)
        .chain(8000..8100)
        .collect();
    assert_eq!(ids(&all), want, "{}", sluice.log());
    sluice.stop();
    let cp = kafka_checkpoint(&brokers, &name).expect("committed checkpoint");
    assert!(cp["pos"].as_u64().unwrap() > 4, "{cp}");
    assert!(sluice.checkpoint().is_none(), "no file under exactly once");
}

/// A second process with the same pipeline name fences the first: the
/// first stops with a message saying so and does not retry; the second
/// carries on, and every change arrives.
#[test]
fn a_second_process_with_the_same_name_fences_the_first() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let table = table(db, "fence");
    let name = unique("pipe");
    let config = exactly_once(SluiceConfig::from_now(db, &brokers), &name);
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let mut a = Sluice::run(a_dir.path(), &config);
    insert(db, &table, 0..100, 10);
    let topic = a.topic(&table);
    assert_eq!(events(&brokers, &topic, 100).len(), 100, "{}", a.log());

    // Another replica id: the server allows one stream per id.
    let b_config = config.clone().server_id(support::next_server_id());
    let mut b = Sluice::run(b_dir.path(), &b_config);
    b.wait_for_log("resuming from the checkpoint", 1);
    let load = Load::start({
        let table = table.clone();
        move |n| format!("INSERT INTO {table} VALUES ({}, 'row');", 1000 + n)
    });
    load.settle(50);
    let code = a.wait_exit(PATIENCE);
    let a_log = a.log();
    assert_eq!(code, Some(1), "{a_log}");
    assert!(a_log.contains("fenced this one"), "{a_log}");
    assert_eq!(
        a_log.matches("reconnecting").count(),
        0,
        "no retry:\n{a_log}"
    );
    let n = load.finish();
    let (mut committed, aborted, checkpointed) =
        committed_events(&brokers, &topic, &name, 100 + n as usize);
    eprintln!(
        "fencing: {aborted} records of aborted transactions left out, {} of them with an aborted checkpoint tansu let through",
        checkpointed.len()
    );
    committed.extend(checkpointed);
    assert_eq!(duplicates(&committed), vec![], "{}", b.log());
    let want: Vec<u64> = (0..100).chain(1000..1000 + u64::from(n)).collect();
    assert_eq!(ids(&committed), want, "{}", b.log());
    b.stop();
}

/// `kill -9` again and again under load: nothing is lost, whatever a killed
/// process left in an open Kafka transaction is aborted by the next one
/// before it reads the checkpoint, and what Kafka commits holds every
/// change exactly once.
#[test]
fn exactly_once_survives_repeated_kill_9_without_loss() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let table = table(db, "eoskill");
    let name = unique("pipe");
    let dir = tempfile::tempdir().unwrap();
    let config = exactly_once(SluiceConfig::from_now(db, &brokers), &name);
    let mut sluice = Sluice::run(dir.path(), &config);
    let load = txn_load(&table, 20);
    let mut before = None;
    for _ in 0..3 {
        // Killed after a commit, in the middle of the next transactions.
        sluice.wait_until(PATIENCE, "a new committed checkpoint", || {
            let now = kafka_checkpoint(&brokers, &name);
            now.is_some() && now != before
        });
        before = kafka_checkpoint(&brokers, &name);
        load.settle(10);
        sluice.kill9();
        load.settle(10);
        sluice.restart();
        sluice.wait_for_log("resuming from the checkpoint", 1);
    }
    let n = load.finish();
    let total = n as usize * 20;
    let topic = sluice.topic(&table);
    wait_all(&sluice, &brokers, &topic, total);
    // Stopped cleanly, so no transaction is left open.
    sluice.stop();
    assert_committed_once(&brokers, &topic, &name, total, "kill -9 x3", &sluice.log());
}

/// A standby pair under exactly once: the holder is paused past its lease
/// under load, the standby takes over (and fences it), and the old holder
/// wakes. Whatever it still sends is refused or aborted: what Kafka
/// commits holds every change once.
#[test]
fn a_paused_holder_woken_after_a_takeover_makes_nothing_visible() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let table = table(db, "eospause");
    let name = unique("pipe");
    let config = exactly_once(SluiceConfig::from_now(db, &brokers), &name)
        .raw("[standby]\nenabled = true\nlease_secs = 3");
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Sluice::run(a_dir.path(), &config);
    a.wait_for_log("standby: took the pipeline's lock", 1);
    let mut b = Sluice::run(b_dir.path(), &config);
    b.wait_for_log("waiting to take over", 1);
    let load = txn_load(&table, 10);
    load.settle(30);
    let signal = |sig: &str| {
        std::process::Command::new("kill")
            .args([sig, &a.pid().to_string()])
            .status()
            .unwrap();
    };
    signal("-STOP");
    b.wait_for_log("standby: took the pipeline's lock", 1);
    load.settle(30);
    signal("-CONT");
    a.wait_until(PATIENCE, "the woken holder to give up", || {
        let log = a.log();
        log.contains("standby: lost the pipeline's lock") || log.contains("fenced this one")
    });
    load.settle(30);
    let n = load.finish();
    let total = n as usize * 10;
    let topic = b.topic(&table);
    wait_all(&b, &brokers, &topic, total);
    b.stop();
    drop(a);
    assert_committed_once(&brokers, &topic, &name, total, "paused holder", &b.log());
}

/// `kill -9` in the middle of one binlog transaction of 100,000 rows: it
/// spans many batches of one Kafka transaction, which the next process
/// aborts; it reads the binlog transaction again from its start, and what
/// Kafka commits holds each of its rows once.
#[test]
fn exactly_once_survives_kill_9_inside_a_100k_row_transaction() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let table = table(db, "eosbig");
    let name = unique("pipe");
    let dir = tempfile::tempdir().unwrap();
    let config = exactly_once(SluiceConfig::from_now(db, &brokers), &name);
    let mut sluice = Sluice::run(dir.path(), &config);
    insert(db, &table, 0..100, 10);
    sluice.wait_until(PATIENCE, "a committed checkpoint", || {
        kafka_checkpoint(&brokers, &name).is_some()
    });
    let schema = table.split('.').next().unwrap();
    db.sql(&format!(
        "INSERT INTO {table} SELECT seq, 'big' FROM {schema}.seq_100_to_100099;"
    ))
    .unwrap();
    // Part of it handed to Kafka (acknowledged inside the open Kafka
    // transaction), not all.
    sluice.wait_until(PATIENCE, "part of the big transaction sent", || {
        sluice
            .metric("sluice_kafka_acks_total")
            .parse::<f64>()
            .is_ok_and(|n| n >= 20_000.0)
    });
    sluice.kill9();
    sluice.restart();
    let total = 100_100;
    let topic = sluice.topic(&table);
    wait_all(&sluice, &brokers, &topic, total);
    sluice.stop();
    assert_committed_once(
        &brokers,
        &topic,
        &name,
        total,
        "kill -9 in 100k rows",
        &sluice.log(),
    );
}

/// A standby pair under exactly once, the holder in a network namespace:
/// its link is cut under load, the standby takes over once the server
/// frees the lock (a lease after the holder went silent), and the link
/// comes back. The old holder gives up, and what Kafka commits holds every
/// change once.
#[test]
fn a_holder_cut_off_the_network_is_taken_over_and_makes_nothing_visible() {
    let Some(ns) = Netns::create() else {
        return;
    };
    let db = support::MariaDb::start(support::MariaDbOptions::with_args([
        "--bind-address=0.0.0.0",
    ]))
    .unwrap();
    let tansu = support::Tansu::start_with(support::TansuOptions {
        host: Some(HOST),
        ..Default::default()
    })
    .unwrap();
    let brokers = tansu.brokers();
    // On TCP only: mysql_async would move a connection to a local server
    // over to its Unix socket, which no network cut reaches.
    let url = format!(
        "mysql://sluice:{}@{HOST}:{}?prefer_socket=false",
        support::mariadb::SLUICE_PASSWORD,
        db.port()
    );
    let table = table(&db, "netcut");
    let name = unique("pipe");
    let config = exactly_once(
        SluiceConfig::new(&url, &brokers).start(&db.binlog_position()),
        &name,
    )
    .raw("[standby]\nenabled = true\nlease_secs = 3");
    let (a_dir, b_dir) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Sluice::run_in(a_dir.path(), &config, &ns.exec());
    a.wait_for_log("standby: took the pipeline's lock", 1);
    let mut b = Sluice::run(b_dir.path(), &config);
    b.wait_for_log("waiting to take over", 1);

    // Ten-row transactions on the test's own server until finished.
    let txn = txn_sql(&table, 10);
    let load = Load::at(db.port(), move |n| txn(n) + " DO SLEEP(0.005);");
    load.settle(30);
    let cut = std::time::Instant::now();
    ns.link("down");
    b.wait_for_log("standby: took the pipeline's lock", 1);
    let took = cut.elapsed();
    eprintln!("network cut: the standby took over after {took:?}");
    assert!(took < Duration::from_secs(3 + 15), "{took:?}");
    load.settle(30);
    ns.link("up");
    a.wait_until(PATIENCE, "the cut-off holder to give up", || {
        let log = a.log();
        log.contains("standby: lost the pipeline's lock") || log.contains("fenced this one")
    });
    load.settle(30);
    let total = load.finish() as usize * 10;
    let topic = b.topic(&table);
    wait_all(&b, &brokers, &topic, total);
    b.stop();
    drop(a);
    assert_committed_once(&brokers, &topic, &name, total, "network cut", &b.log());
}

/// Kafka away for a while under load (tansu frozen with SIGSTOP, so it
/// comes back with what it held): commits wait or fail and start again
/// from the last committed checkpoint; nothing is lost and what Kafka
/// commits holds every change once.
#[test]
fn exactly_once_survives_a_broker_outage() {
    let s = support::shared();
    let db = &s.mariadb;
    let mut tansu = support::Tansu::start().unwrap();
    let brokers = tansu.brokers();
    let table = table(db, "eosout");
    let name = unique("pipe");
    let dir = tempfile::tempdir().unwrap();
    let config = exactly_once(SluiceConfig::from_now(db, &brokers), &name);
    let mut sluice = Sluice::run(dir.path(), &config);
    // The outage is one of a streaming pipeline: frozen before Sluice read
    // its checkpoint (from Kafka), the start fails with its message instead
    // (seen once in a clean-clone run).
    sluice.wait_for_log("starting from [source] start", 1);
    let load = txn_load(&table, 10);
    load.settle(30);
    tansu.freeze().unwrap();
    load.settle(50);
    std::thread::sleep(Duration::from_secs(10));
    tansu.thaw().unwrap();
    load.settle(30);
    let n = load.finish();
    let total = n as usize * 10;
    let topic = sluice.topic(&table);
    wait_all(&sluice, &brokers, &topic, total);
    sluice.stop();
    assert_committed_once(
        &brokers,
        &topic,
        &name,
        total,
        "broker outage",
        &sluice.log(),
    );
}
