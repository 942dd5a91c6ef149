//! Faults Sluice must survive without losing a change (MariaDB restarted,
//! its connection killed, the broker away) and faults it must report
//! clearly (purged binlogs, a checkpoint it cannot write, statement-based
//! logging). Each test has servers of its own, so it can break them.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::sluice::{events, master_position, proc_status_kib, unique, Sluice};
use crate::support::{MariaDb, MariaDbOptions, Tansu};

/// A MariaDB and a broker of the test's own, with one table `t` to write to.
struct Private {
    db: MariaDb,
    tansu: Tansu,
    table: String,
}

impl Private {
    fn start() -> Private {
        let db = MariaDb::start(MariaDbOptions::default()).unwrap();
        let tansu = Tansu::start().unwrap();
        let name = unique("f");
        db.sql(&format!(
            "CREATE DATABASE {name}; CREATE TABLE {name}.t (id INT PRIMARY KEY, v VARCHAR(20));"
        ))
        .unwrap();
        Private {
            db,
            tansu,
            table: format!("{name}.t"),
        }
    }
}

/// Starts sluice in `dir` from the server's current position.
fn start_sluice(dir: &tempfile::TempDir, db: &MariaDb, tansu: &Tansu, extra: &str) -> Sluice {
    Sluice::start(
        dir.path(),
        &db.url(),
        &tansu.brokers(),
        &master_position(db),
        extra,
    )
}

/// Writes `txns` transactions of `rows` rows with ids from `from`.
fn write(db: &MariaDb, table: &str, from: u32, txns: u32, rows: u32) {
    // In pieces: the whole script would not fit on a command line.
    for part in (0..txns).collect::<Vec<_>>().chunks(20) {
        let mut sql = String::new();
        for &t in part {
            let values: Vec<String> = (0..rows)
                .map(|r| format!("({}, 'v')", from + t * rows + r))
                .collect();
            sql.push_str(&format!(
                "BEGIN;INSERT INTO {table} VALUES {};COMMIT;",
                values.join(",")
            ));
        }
        db.sql(&sql).unwrap();
    }
}

fn ids(events: &[crate::sluice::Event]) -> BTreeSet<u64> {
    events
        .iter()
        .map(|e| e.value["after"]["id"].as_u64().unwrap())
        .collect()
}

fn wait_for(what: &str, timeout: Duration, mut f: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !f() {
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn mariadb_restart_and_a_killed_connection_lose_nothing() {
    let Private {
        mut db,
        tansu,
        table,
    } = Private::start();
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = start_sluice(&dir, &db, &tansu, "");
    write(&db, &table, 0, 20, 5);
    // Streaming before the restart, so that it is a reconnection.
    assert_eq!(
        events(&tansu.brokers(), &sluice.topic(&table), 100).len(),
        100,
        "{}",
        sluice.log()
    );
    db.restart().unwrap();
    write(&db, &table, 1000, 20, 5);
    wait_for(
        "sluice to reconnect after the restart",
        Duration::from_secs(60),
        || {
            sluice.log().matches("preflight passed").count() >= 1
                && sluice.log().contains("reconnecting from the checkpoint")
        },
    );
    // Kill the binlog dump connection from the server side.
    wait_for("a binlog dump thread", Duration::from_secs(30), || {
        !db.sql("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
            .unwrap()
            .trim()
            .is_empty()
    });
    let id = db
        .sql("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
        .unwrap();
    db.sql(&format!("KILL {}", id.lines().next().unwrap().trim()))
        .unwrap();
    write(&db, &table, 2000, 20, 5);
    let got = events(&tansu.brokers(), &sluice.topic(&table), 300);
    let want: BTreeSet<u64> = (0..100).chain(1000..1100).chain(2000..2100).collect();
    assert_eq!(ids(&got), want, "log:\n{}", sluice.log());
    assert!(
        sluice
            .log()
            .matches("reconnecting from the checkpoint")
            .count()
            >= 2,
        "{}",
        sluice.log()
    );
    sluice.stop();
}

#[test]
fn a_broker_outage_of_30s_is_waited_out_within_the_memory_budget() {
    let Private {
        db,
        mut tansu,
        table,
    } = Private::start();
    let dir = tempfile::tempdir().unwrap();
    // A small in-flight budget, so that 20,000 rows cannot all be buffered.
    let budget = "[pipeline]\nmax_in_flight = 2000\nchannel_chunks = 4\n[kafka.producer]\n\"queue.buffering.max.kbytes\" = 2048\n";
    let mut sluice = start_sluice(&dir, &db, &tansu, budget);
    write(&db, &table, 0, 10, 10);
    let before = events(&tansu.brokers(), &sluice.topic(&table), 100);
    assert_eq!(before.len(), 100, "{}", sluice.log());
    let checkpoint_before = sluice.checkpoint();

    // The broker goes away by freezing (SIGSTOP): tansu keeps everything in
    // memory, and a restarted one also forgets the producer ids it handed
    // out, which a real cluster remembers (librdkafka then retries forever
    // on UnknownProducerId). Frozen, it answers nothing for 30 s, which is
    // what a client sees of a broker that is down.
    tansu.freeze().unwrap();
    // 20,000 rows, ten times what the producer may hold, while Kafka is away.
    write(&db, &table, 10_000, 200, 100);
    let (mut peak, started) = (0, Instant::now());
    while started.elapsed() < Duration::from_secs(30) {
        peak = peak.max(proc_status_kib(sluice.pid(), "VmRSS").unwrap_or(0));
        std::thread::sleep(Duration::from_millis(200));
    }
    let checkpoint_during = sluice.checkpoint();
    tansu.thaw().unwrap();
    write(&db, &table, 50_000, 10, 10);

    let after = events(&tansu.brokers(), &sluice.topic(&table), 20_200);
    let want: BTreeSet<u64> = (0..100)
        .chain(10_000..30_000)
        .chain(50_000..50_100)
        .collect();
    let got = ids(&after);
    let missing: Vec<_> = want.difference(&got).take(10).collect();
    assert!(missing.is_empty(), "missing {missing:?}... of {} (got {} messages, {} distinct ids, min {:?} max {:?}); log:\n{}", want.len(), after.len(), got.len(), got.first(), got.last(), sluice.log());
    eprintln!(
        "broker outage: peak RSS {} MiB while 20,000 rows waited; {} messages after",
        peak / 1024,
        after.len()
    );
    assert!(peak < 150 * 1024, "peak RSS {} KiB", peak);
    // Nothing acknowledged during the outage beyond what was before it.
    assert_eq!(
        checkpoint_during.as_ref().map(|c| c["pos"].clone()),
        checkpoint_before.as_ref().map(|c| c["pos"].clone())
    );
    sluice.stop();
}

#[test]
fn a_purged_binlog_is_reported_with_the_options() {
    let Private { db, tansu, table } = Private::start();
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = start_sluice(&dir, &db, &tansu, "");
    write(&db, &table, 0, 5, 5);
    assert_eq!(
        events(&tansu.brokers(), &sluice.topic(&table), 25).len(),
        25
    );
    sluice.stop();
    // The server keeps files a connected replica reads: wait until it has
    // noticed that Sluice is gone.
    wait_for("the dump thread to end", Duration::from_secs(30), || {
        db.sql("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
            .unwrap()
            .trim()
            .is_empty()
    });
    db.sql("FLUSH BINARY LOGS; FLUSH BINARY LOGS;").unwrap();
    let newest = db.binlog_files().unwrap().last().unwrap().clone();
    db.sql(&format!("PURGE BINARY LOGS TO '{newest}'")).unwrap();
    assert_eq!(db.binlog_files().unwrap(), vec![newest.clone()]);
    sluice.restart();
    let log = sluice.exit_error_log();
    assert!(
        log.contains(&format!(
            "is no longer on the server (the oldest it has is {newest})"
        )),
        "{log}"
    );
    assert!(log.contains("take a fresh snapshot"), "{log}");
    assert!(log.contains(&format!("start = \"{newest}:4\"")), "{log}");
}

#[test]
fn a_checkpoint_that_cannot_be_written_stops_sluice_and_the_previous_one_stays() {
    let Private { db, tansu, table } = Private::start();
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = start_sluice(&dir, &db, &tansu, "");
    write(&db, &table, 0, 5, 5);
    assert_eq!(
        events(&tansu.brokers(), &sluice.topic(&table), 25).len(),
        25
    );
    wait_for("a checkpoint", Duration::from_secs(10), || {
        sluice.checkpoint().is_some()
    });
    let good = sluice.checkpoint().unwrap();
    // Where the temporary file goes, a directory: every write now fails,
    // as on a full or read-only disk, even for root.
    std::fs::create_dir(dir.path().join("state/checkpoint.json.tmp")).unwrap();
    write(&db, &table, 100, 5, 5);
    let log = sluice.exit_error_log();
    assert!(log.contains("cannot write the checkpoint"), "{log}");
    assert!(
        log.contains("the previous checkpoint is still valid"),
        "{log}"
    );
    assert_eq!(sluice.checkpoint().unwrap(), good);
}

#[test]
fn rows_logged_as_statements_stop_sluice_with_the_fix() {
    let Private { db, tansu, table } = Private::start();
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = start_sluice(&dir, &db, &tansu, "");
    db.sql(&format!(
        "SET SESSION binlog_format = 'STATEMENT'; INSERT INTO {table} VALUES (1, 'x');"
    ))
    .unwrap();
    let log = sluice.exit_error_log();
    assert!(
        log.contains("the server logged a statement instead of row changes"),
        "{log}"
    );
    assert!(
        log.contains(&format!("INSERT INTO {table} VALUES (1, 'x')")),
        "{log}"
    );
}

#[test]
fn a_server_that_is_down_at_start_is_waited_for() {
    let Private {
        mut db,
        tansu,
        table,
    } = Private::start();
    let start = master_position(&db);
    db.stop().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::start(dir.path(), &db.url(), &tansu.brokers(), &start, "");
    wait_for("a retry", Duration::from_secs(30), || {
        sluice.log().contains("reconnecting from the checkpoint")
    });
    assert!(
        sluice.log().contains("cannot connect to MySQL at"),
        "{}",
        sluice.log()
    );
    db.start_again().unwrap();
    write(&db, &table, 0, 5, 5);
    assert_eq!(
        events(&tansu.brokers(), &sluice.topic(&table), 25).len(),
        25,
        "{}",
        sluice.log()
    );
    sluice.stop();
}

#[test]
fn a_second_replica_with_the_same_server_id_is_refused() {
    let Private { db, tansu, table } = Private::start();
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let first = start_sluice(&a, &db, &tansu, "");
    write(&db, &table, 0, 1, 1);
    assert_eq!(
        events(&tansu.brokers(), &first.topic(&table), 1).len(),
        1,
        "{}",
        first.log()
    );
    // Same config (so the same server_id), another state directory: another replica.
    let config = std::fs::read_to_string(a.path().join("sluice.toml")).unwrap();
    std::fs::write(b.path().join("sluice.toml"), config).unwrap();
    let mut second = Sluice::with_config(b.path(), &b.path().join("sluice.toml"));
    let log = second.exit_error_log();
    assert!(log.contains("[source] server_id is"), "{log}");
    assert!(
        log.contains("is registered with this id (SHOW REPLICA HOSTS lists it)"),
        "{log}"
    );
}
