//! Faults Sluice must survive without losing a change (MariaDB restarted,
//! its connection killed, the broker away) and faults it must report
//! clearly (purged binlogs, a checkpoint it cannot write, statement-based
//! logging). Each test has servers of its own, so it can break them.

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use crate::sluice::{events, master_position, proc_status_kib, unique, Sluice, PATIENCE};
use crate::support::{wait_until, MariaDb, MariaDbOptions, Rule, SluiceConfig, Step, Tansu};

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

/// Starts sluice with `config`, writes `txns` transactions of `rows` rows
/// (ids from 0) and waits until Kafka has all of them: the fault a test
/// injects next hits a stream that is running.
fn streaming(
    dir: &tempfile::TempDir,
    db: &MariaDb,
    tansu: &Tansu,
    table: &str,
    config: &SluiceConfig,
    (txns, rows): (u32, u32),
) -> Sluice {
    let sluice = Sluice::run(dir.path(), config);
    write(db, table, 0, txns, rows);
    let n = (txns * rows) as usize;
    let got = events(&tansu.brokers(), &sluice.topic(table), n).len();
    assert_eq!(got, n, "{}", sluice.log());
    sluice
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

/// Whether the server has a binlog dump thread (a replica connected).
fn has_dump_thread(db: &MariaDb) -> bool {
    !db.sql("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
        .unwrap()
        .trim()
        .is_empty()
}

#[test]
fn mariadb_restart_and_a_killed_connection_lose_nothing() {
    let Private {
        mut db,
        tansu,
        table,
    } = Private::start();
    let dir = tempfile::tempdir().unwrap();
    // Streaming before the restart, so that it is a reconnection.
    let config = SluiceConfig::from_now(&db, &tansu.brokers());
    let mut sluice = streaming(&dir, &db, &tansu, &table, &config, (20, 5));
    db.restart().unwrap();
    write(&db, &table, 1000, 20, 5);
    sluice.wait_until(PATIENCE, "sluice to reconnect after the restart", || {
        sluice.log().matches("preflight passed").count() >= 1
            && sluice.log().contains("reconnecting from the checkpoint")
    });
    // Kill the binlog dump connection from the server side.
    sluice.wait_until(PATIENCE, "a binlog dump thread", || has_dump_thread(&db));
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
    let budget = SluiceConfig::from_now(&db, &tansu.brokers())
        .pipeline("max_in_flight", 2000)
        .pipeline("channel_chunks", 4)
        .producer("queue.buffering.max.kbytes", 2048);
    let mut sluice = Sluice::run(dir.path(), &budget);
    write(&db, &table, 0, 10, 10);
    let before = events(&tansu.brokers(), &sluice.topic(&table), 100);
    assert_eq!(before.len(), 100, "{}", sluice.log());
    // Everything before the outage acknowledged and checkpointed, so that
    // the checkpoint cannot move during it for a reason of its own.
    sluice.wait_caught_up(&db);
    let checkpoint_before = sluice.checkpoint();

    // The broker goes away by freezing (SIGSTOP): tansu keeps everything in
    // memory, so a restarted one would have lost what this test counts (and
    // the producer ids it handed out; that case has a test of its own
    // below). Frozen, it answers nothing for 30 s, which is what a client
    // sees of a broker that is down.
    tansu.freeze().unwrap();
    // 20,000 rows, ten times what the producer may hold, while Kafka is away.
    write(&db, &table, 10_000, 200, 100);
    // The outage lasts 30 s (the fault's shape, not a wait for something);
    // memory is sampled meanwhile.
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
    let config = SluiceConfig::from_now(&db, &tansu.brokers());
    let mut sluice = streaming(&dir, &db, &tansu, &table, &config, (5, 5));
    sluice.stop();
    // The server keeps files a connected replica reads: wait until it has
    // noticed that Sluice is gone.
    wait_until(PATIENCE, "the dump thread to end", || !has_dump_thread(&db));
    // Changes Sluice has not read, in the files about to be purged.
    write(&db, &table, 100, 5, 5);
    db.sql("FLUSH BINARY LOGS; FLUSH BINARY LOGS;").unwrap();
    let newest = db.binlog_files().unwrap().last().unwrap().clone();
    // The server keeps a binlog until InnoDB has checkpointed past it:
    // PURGE may leave it at first.
    wait_until(PATIENCE, "the older binlogs to be purged", || {
        db.sql(&format!("PURGE BINARY LOGS TO '{newest}'")).unwrap();
        db.binlog_files().unwrap() == [newest.clone()]
    });

    // The checkpoint has a GTID state: the transactions after it are gone.
    let checkpoint = sluice.checkpoint().unwrap();
    let state = checkpoint["gtid"]["mariadb"].as_str().unwrap().to_string();
    sluice.restart();
    let log = sluice.exit_error_log();
    assert!(
        log.contains(&format!(
            "the server no longer has every transaction after GTID state {state}"
        )),
        "{log}"
    );
    assert!(
        log.contains(&format!("the oldest binlog it has, {newest}, begins after")),
        "{log}"
    );
    assert!(log.contains("mode = \"when_needed\""), "{log}");

    // A checkpoint of the version before GTIDs names a file only.
    let mut old = checkpoint.clone();
    old.as_object_mut().unwrap().remove("gtid");
    old["version"] = 2.into();
    std::fs::write(dir.path().join("state/checkpoint.json"), old.to_string()).unwrap();
    sluice.restart();
    let log = sluice.exit_error_log();
    assert!(
        log.contains(&format!(
            "is no longer on the server (the oldest it has is {newest})"
        )),
        "{log}"
    );
    assert!(log.contains("mode = \"when_needed\""), "{log}");
    assert!(log.contains(&format!("start = \"{newest}:4\"")), "{log}");
}

#[test]
fn a_checkpoint_that_cannot_be_written_stops_sluice_and_the_previous_one_stays() {
    let Private { db, tansu, table } = Private::start();
    let dir = tempfile::tempdir().unwrap();
    let config = SluiceConfig::from_now(&db, &tansu.brokers());
    let mut sluice = streaming(&dir, &db, &tansu, &table, &config, (5, 5));
    // Caught up, so the checkpoint no longer moves by itself: what is read
    // now is the last one written before writes start to fail.
    sluice.wait_caught_up(&db);
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
    let mut sluice = Sluice::run(dir.path(), &SluiceConfig::from_now(&db, &tansu.brokers()));
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
    let config = SluiceConfig::new(&db.url(), &tansu.brokers()).start(&start);
    let mut sluice = Sluice::run(dir.path(), &config);
    sluice.wait_until(PATIENCE, "a retry", || {
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
    let config = SluiceConfig::from_now(&db, &tansu.brokers());
    // Held to the end: the first replica stays connected.
    let _first = streaming(&a, &db, &tansu, &table, &config, (1, 1));
    // Same config (so the same server_id), another state directory: another replica.
    let mut second = Sluice::run(b.path(), &config);
    let log = second.exit_error_log();
    assert!(log.contains("[source] server_id is"), "{log}");
    assert!(
        log.contains("is registered with this id (SHOW REPLICA HOSTS lists it)"),
        "{log}"
    );
}

/// Bytes the server has sent to its clients (the binlog stream, mostly).
fn bytes_sent(db: &MariaDb) -> u64 {
    let out = db.sql("SHOW GLOBAL STATUS LIKE 'Bytes_sent'").unwrap();
    out.split_whitespace().last().unwrap().parse().unwrap()
}

/// A plugin much slower than the binlog: the queues between the stages
/// fill and the reader stops taking the binlog from the server, instead of
/// buffering it. About 120 MB of binlog is on the server before Sluice
/// starts, so a reader that did not wait would have it all within a second
/// or two; instead, what the server has sent grows with what the plugin
/// has processed, and memory stays far below the binlog's size.
#[test]
fn a_slow_plugin_holds_the_binlog_reader_back() {
    // Servers of its own: the server's byte counter must be Sluice's.
    let Private { db, tansu, .. } = Private::start();
    let (db, brokers) = (&db, tansu.brokers());
    let name = unique("slow");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.t (id INT PRIMARY KEY, pad VARCHAR(2000));"
    ))
    .unwrap();
    let start = master_position(db);
    let rows = 60_000;
    for from in (0..rows).step_by(5000) {
        db.sql(&format!(
            "INSERT INTO {name}.t SELECT seq, REPEAT('x', 2000) FROM {name}.seq_{}_to_{}",
            from + 1,
            from + 5000
        ))
        .unwrap();
    }
    let end = master_position(db);
    let offset = |p: &str| p.rsplit_once(':').unwrap().1.parse::<u64>().unwrap();
    let (file, binlog) = (
        end.rsplit_once(':').unwrap().0.to_string(),
        offset(&end) - offset(&start),
    );
    assert!(binlog > 100_000_000, "binlog range {binlog} bytes");

    let dir = tempfile::tempdir().unwrap();
    let plugins = crate::plugins::plugin_dir(dir.path(), &["slow-filter"]);
    // A long deadline: the plugin is slow on purpose, not stuck.
    let config = SluiceConfig::new(&db.url(), &brokers)
        .start(&start)
        .plugins_dir(&plugins)
        .plugins("deadline_ms", 60000)
        .rule(
            Rule::tables(&[&format!("{name}.t")])
                .plugins([Step::new("slow-filter").set("spin", 150000)]),
        );
    let mut sluice = Sluice::run(&dir.path().join("run"), &config);
    let pid = sluice.pid();
    // Until everything is acknowledged: (bytes the server has sent, binlog
    // bytes acknowledged (the checkpoint), anonymous RSS KiB), and the seconds since
    // the start, for the figures printed below.
    let mut samples: Vec<(u64, u64, u64, f64)> = Vec::new();
    let sent_before = bytes_sent(db);
    let started = Instant::now();
    sluice.wait_until(
        Duration::from_secs(600),
        "every row to be acknowledged",
        || {
            // Anonymous memory: what Sluice holds (buffers, batches, the
            // heap). The file-backed rest of the RSS is the program's code
            // and libraries, ~30 MiB in a test build, whatever the binlog.
            let Some(rss) = proc_status_kib(pid, "RssAnon") else {
                panic!("sluice is gone:\n{}", sluice.log());
            };
            let read = bytes_sent(db) - sent_before;
            let acked = sluice.checkpoint().map_or(0, |c| {
                let pos = c["pos"].as_u64().unwrap_or(0);
                if c["file"] == file.as_str() {
                    pos.saturating_sub(offset(&start))
                } else {
                    0
                }
            });
            samples.push((read, acked, rss, started.elapsed().as_secs_f64()));
            acked >= binlog
        },
    );
    let total = samples.last().unwrap().0;
    let peak_anon = samples.iter().map(|s| s.2).max().unwrap();
    // The moment the checkpoint first covered half of the binlog: a reader
    // that did not wait for the plugin would have had (nearly) all of it by
    // then; one that waits is ahead only by what the queues between the
    // stages hold. (If the plugin were not the slow stage, the reader would
    // be far ahead too: then `spin` needs raising.)
    let half = samples.iter().find(|s| s.1 >= binlog / 2).unwrap();
    let ahead = samples
        .iter()
        .map(|s| s.0.saturating_sub(s.1))
        .max()
        .unwrap();
    eprintln!(
        "slow plugin: {rows} rows in {:.1} s; when half of the {} MB binlog was acknowledged the server had sent {} MB ({} MB at the end); the reader was at most {} MB ahead of the checkpoint; peak anonymous RSS {} MiB",
        samples.last().unwrap().3,
        binlog / 1_000_000,
        half.0 / 1_000_000,
        total / 1_000_000,
        ahead / 1_000_000,
        peak_anon / 1024
    );
    assert!(
        (half.0 as f64) < 0.75 * total as f64,
        "when half of the binlog was acknowledged the server had sent {} of {} bytes: the reader did not wait for the plugin (or the plugin was not the slow stage: raise `spin`)",
        half.0,
        total
    );
    assert!(
        ahead < binlog / 2,
        "the server sent {ahead} bytes more than was acknowledged: the reader ran ahead of the plugin"
    );
    assert!(
        peak_anon * 1024 < binlog / 3,
        "peak anonymous RSS {peak_anon} KiB for a {binlog} byte binlog"
    );
    let got = events(&brokers, &sluice.topic(&format!("{name}.t")), rows as usize);
    assert_eq!(got.len(), rows as usize);
    assert_eq!(ids(&got), (1..=rows as u64).collect::<BTreeSet<_>>());
    sluice.stop();
}

/// The broker process stopped for 30 s and started again, empty (memory
/// storage: its topics and the producer ids it handed out are gone, as
/// after losing a cluster's state). librdkafka then retries forever on
/// UnknownProducerId; Sluice notices that nothing is acknowledged any more
/// and starts over from the checkpoint with a new producer. What the old
/// broker held is lost with it; everything written since reaches the new one.
#[test]
fn a_broker_stopped_and_started_empty_is_survived() {
    let Private {
        db,
        mut tansu,
        table,
    } = Private::start();
    let dir = tempfile::tempdir().unwrap();
    let config = SluiceConfig::from_now(&db, &tansu.brokers()).kafka("stall_timeout_secs", 15);
    let mut sluice = streaming(&dir, &db, &tansu, &table, &config, (10, 10));
    tansu.stop().unwrap();
    write(&db, &table, 10_000, 10, 100);
    // The broker stays away for 30 s, twice the stall timeout: the fault's
    // shape, not a wait for something.
    std::thread::sleep(Duration::from_secs(30));
    tansu.start_again().unwrap();
    write(&db, &table, 50_000, 10, 10);
    let want: BTreeSet<u64> = (10_000..11_000).chain(50_000..50_100).collect();
    // Sluice first has to notice the stall and start over: read until
    // everything is there (each read waits up to 60 s for the count).
    let mut got = BTreeSet::new();
    crate::support::poll_until(Duration::from_secs(240), || {
        got = ids(&events(&tansu.brokers(), &sluice.topic(&table), want.len()));
        got.is_superset(&want)
    });
    let missing: Vec<_> = want.difference(&got).take(10).collect();
    assert!(
        missing.is_empty(),
        "missing {missing:?}; log:\n{}",
        sluice.log()
    );
    assert!(
        sluice
            .log()
            .contains("starting over from the checkpoint with a new producer"),
        "{}",
        sluice.log()
    );
    sluice.stop();
}

/// A server whose settings change while Sluice runs: a session switches to
/// partial row images (binlog_row_image = MINIMAL), which would put rows
/// without most of their columns on Kafka. Sluice stops at that change
/// with the fix, without moving the checkpoint past it.
#[test]
fn partial_row_images_stop_sluice_with_the_fix() {
    let Private { db, tansu, table } = Private::start();
    let dir = tempfile::tempdir().unwrap();
    let config = SluiceConfig::from_now(&db, &tansu.brokers());
    let mut sluice = streaming(&dir, &db, &tansu, &table, &config, (1, 2));
    let before = master_position(&db);
    db.sql(&format!(
        "SET SESSION binlog_row_image = 'MINIMAL'; UPDATE {table} SET v = 'y' WHERE id = 0;"
    ))
    .unwrap();
    let log = sluice.exit_error_log();
    assert!(
        log.contains("leaves out column(s) v") && log.contains("Set binlog_row_image = FULL"),
        "{log}"
    );
    let file = before.split(':').next().unwrap();
    assert!(
        log.contains(&format!("at binlog position {file}:")),
        "{log}"
    );
    // Nothing of the partial change reached Kafka, and the checkpoint is
    // before it, so a restart (after the fix) meets it again.
    // Sluice has exited: what the topic holds is final. Reads of 5 s, each
    // long enough to show a third message, until one has at least the two
    // rows known to be there (a slow consumer must not pass for a loss).
    let topic = sluice.topic(&table);
    let mut all = Vec::new();
    crate::support::poll_until(PATIENCE, || {
        all = crate::support::consume_all_blocking(
            &tansu.brokers(),
            &topic,
            3,
            Duration::from_secs(5),
        );
        all.len() >= 2
    });
    assert_eq!(all.len(), 2);
    let cp = sluice.checkpoint().unwrap();
    assert_eq!(
        format!("{}:{}", cp["file"].as_str().unwrap(), cp["pos"]),
        before
    );
}
