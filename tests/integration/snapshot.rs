//! Snapshots (docs/SNAPSHOT.md): existing rows read in primary-key chunks
//! while another connection keeps changing the tables, merged into the
//! stream so that applying every event per key in `(file, pos, row)` order
//! gives exactly the tables; resumed after `kill -9` from the last
//! acknowledged chunk; on demand through the signal table; for tables a
//! reloaded rule starts to capture; and again when the binlog was purged.

use std::time::Duration;

use crate::sluice::{events, unique, Sluice, PATIENCE};
use crate::snapshot_support::{
    assert_replay_equals_table, events_in_identity_order, fill, wait_done, Churn, TABLES,
};
use crate::support::{self, MariaDb, MariaDbOptions, Rule, SluiceConfig, Step};

const ROWS: u32 = 200_000;

fn config(server: &MariaDb, brokers: &str, db: &str, chunk_rows: u32) -> SluiceConfig {
    SluiceConfig::from_now(server, brokers)
        .snapshot("mode", "initial")
        .snapshot("chunk_rows", chunk_rows as i64)
        // The least allowed: a 200k-row table takes longer than this even
        // on a fast machine, so every table logs its progress.
        .snapshot("progress_interval_ms", 100)
        .rule(Rule::tables(&[&format!("{db}.*")]))
}

/// Every table's events, replayed, equal the table; returns the snapshot
/// rows of each.
fn assert_all_tables(server: &MariaDb, brokers: &str, sluice: &Sluice, db: &str) -> Vec<usize> {
    TABLES
        .iter()
        .map(|t| {
            let events =
                events_in_identity_order(brokers, &sluice.topic(&format!("{db}.{}", t.name)));
            assert_replay_equals_table(server, db, t, &events)
        })
        .collect()
}

#[test]
fn an_initial_snapshot_under_concurrent_writes_equals_the_tables() {
    let s = support::shared();
    let (server, brokers) = (&s.mariadb, s.tansu.brokers());
    let db = unique("snap");
    fill(server, &db, ROWS);
    let churn = Churn::start(server, &db, ROWS);
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(dir.path(), &config(server, &brokers, &db, 4096));
    wait_done_while_writing(&sluice, server, churn);
    let reads = assert_all_tables(server, &brokers, &sluice, &db);
    for r in &reads {
        assert!(*r > 0, "snapshot rows per table: {reads:?}");
    }
    let log = sluice.log();
    assert!(log.contains("snapshot progress"), "{log}");
    assert!(log.contains("snapshot of the table finished"), "{log}");
    sluice.stop();
}

/// Keeps the writer going until the snapshot has finished, then a little
/// longer, then waits for sluice to catch up.
fn wait_done_while_writing(sluice: &Sluice, server: &MariaDb, churn: Churn) {
    sluice.wait_until(PATIENCE, "the snapshot to finish", || {
        sluice.log().contains("snapshot finished")
    });
    std::thread::sleep(Duration::from_millis(500));
    let txns = churn.finish();
    assert!(txns > 10, "the writer ran {txns} transactions");
    wait_done(sluice, server);
}

#[test]
fn kill_9_twice_during_a_snapshot_resumes_from_the_last_acknowledged_chunk() {
    let s = support::shared();
    let (server, brokers) = (&s.mariadb, s.tansu.brokers());
    let db = unique("snapkill");
    fill(server, &db, ROWS);
    let churn = Churn::start(server, &db, ROWS);
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(dir.path(), &config(server, &brokers, &db, 1000));
    for kill in 1..=2 {
        // Killed once the checkpoint holds some rows of the snapshot.
        sluice.wait_until(PATIENCE, "snapshot progress in the checkpoint", || {
            sluice.checkpoint().is_some_and(|c| {
                c["snapshot"]["tables"][0]["rows"].as_u64().unwrap_or(0) > 20_000 * kill
            })
        });
        sluice.kill9();
        sluice.restart();
        sluice.wait_for_log("snapshot resumes", 1);
        assert!(resumed_rows(&sluice.log()) > 0, "{}", sluice.log());
    }
    wait_done_while_writing(&sluice, server, churn);
    let reads = assert_all_tables(server, &brokers, &sluice, &db);
    // Resumed, not started over: at most the chunks in flight at each kill
    // come twice.
    let total: usize = reads.iter().sum();
    assert!(
        total < 3 * ROWS as usize + 2 * 64 * 1000,
        "{total} snapshot rows for {} table rows",
        3 * ROWS
    );
    sluice.stop();
}

/// The `rows` of the "snapshot resumes" line of the latest run.
fn resumed_rows(log: &str) -> u64 {
    let line = log
        .lines()
        .rev()
        .find(|l| l.contains("snapshot resumes"))
        .expect("a resume line");
    crate::sluice::plain(line)
        .split_whitespace()
        .find_map(|w| w.strip_prefix("rows="))
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

#[test]
fn an_on_demand_snapshot_runs_while_streaming_continues() {
    let s = support::shared();
    let (server, brokers) = (&s.mariadb, s.tansu.brokers());
    let db = unique("snapsig");
    server
        .sql(&format!(
            "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, v VARCHAR(10));
             INSERT INTO {db}.t SELECT seq, 'old' FROM {db}.seq_1_to_50;"
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = SluiceConfig::from_now(server, &brokers)
        .snapshot("mode", "never")
        .rule(Rule::tables(&[&format!("{db}.*")]));
    let mut sluice = Sluice::run(dir.path(), &cfg);
    let topic = sluice.topic(&format!("{db}.t"));
    server
        .sql(&format!("INSERT INTO {db}.t VALUES (100, 'streamed')"))
        .unwrap();
    assert_eq!(events(&brokers, &topic, 1).len(), 1, "{}", sluice.log());
    // A request naming no table is logged and ignored; the good one is read.
    let run = |tables: &[&str], condition: Option<&str>| {
        let mut args: Vec<&str> = condition.map(|c| vec!["--where", c]).unwrap_or_default();
        args.extend(tables);
        let out = crate::sluice::command("snapshot", &dir.path().join("sluice.toml"), &args);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&["nosuchdb.nosuchtable"], None);
    run(&[&format!("{db}.t")], Some("id <= 10"));
    server
        .sql(&format!("INSERT INTO {db}.t VALUES (101, 'after')"))
        .unwrap();
    let all = events(&brokers, &topic, 1 + 10 + 1);
    let reads: Vec<u64> = all
        .iter()
        .filter(|e| e.value["op"] == "r")
        .map(|e| e.value["after"]["id"].as_u64().unwrap())
        .collect();
    assert_eq!(reads, (1..=10).collect::<Vec<_>>(), "{}", sluice.log());
    assert!(all.iter().any(|e| e.value["after"]["id"] == 101));
    sluice.wait_for_log("names no existing table", 1);
    // A request made while sluice is stopped is in the binlog it resumes
    // from.
    sluice.wait_caught_up(server);
    sluice.stop();
    run(&[&format!("{db}.*")], Some("id > 48"));
    sluice.restart();
    let all = events(&brokers, &topic, 1 + 10 + 1 + 4);
    let reads: Vec<u64> = all
        .iter()
        .filter(|e| e.value["op"] == "r")
        .map(|e| e.value["after"]["id"].as_u64().unwrap())
        .skip(10)
        .collect();
    assert_eq!(reads, [49, 50, 100, 101], "{}", sluice.log());
    sluice.stop();
}

#[test]
fn a_table_a_reloaded_rule_captures_gets_its_existing_rows() {
    let s = support::shared();
    let (server, brokers) = (&s.mariadb, s.tansu.brokers());
    let db = unique("snapreload");
    server
        .sql(&format!(
            "CREATE DATABASE {db};
             CREATE TABLE {db}.kept (id INT PRIMARY KEY); CREATE TABLE {db}.added (id INT PRIMARY KEY);
             INSERT INTO {db}.added SELECT seq FROM {db}.seq_1_to_300;"
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let base = SluiceConfig::from_now(server, &brokers)
        .snapshot("mode", "never")
        .snapshot("new_tables", true);
    let path = dir.path().join("sluice.toml");
    base.clone()
        .rule(Rule::tables(&[&format!("{db}.kept")]))
        .write(&path);
    // The config shares its directory with sluice's log, which is written
    // all the time: the reload must still happen.
    let sluice = Sluice::with_config(dir.path(), &path);
    sluice.wait_for_log("preflight passed", 1);
    let prefix = base.prefix().unwrap_or_default().to_owned();
    // Replaced the way editors do: a new file renamed over the old one.
    let tmp = dir.path().join("sluice.toml.new");
    base.rule(Rule::tables(&[
        &format!("{db}.kept"),
        &format!("{db}.added"),
    ]))
    .write(&tmp);
    std::fs::rename(&tmp, &path).unwrap();
    sluice.wait_for_log("config reloaded", 1);
    // Nothing is written: the rules take effect at the server's next
    // heartbeat.
    let added = events(&brokers, &format!("{prefix}.{db}.added"), 300);
    assert_eq!(added.len(), 300, "{}", sluice.log());
    assert!(added.iter().all(|e| e.value["op"] == "r"));
}

#[test]
fn a_purged_binlog_with_when_needed_reads_every_table_again() {
    let server = MariaDb::start(MariaDbOptions::default()).unwrap();
    let brokers = support::shared().tansu.brokers();
    let db = unique("snappurge");
    server
        .sql(&format!(
            "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY);
             INSERT INTO {db}.t SELECT seq FROM {db}.seq_1_to_20;"
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let cfg = SluiceConfig::from_now(&server, &brokers)
        .snapshot("mode", "when_needed")
        .rule(Rule::tables(&[&format!("{db}.*")]));
    let mut sluice = Sluice::run(dir.path(), &cfg);
    let topic = sluice.topic(&format!("{db}.t"));
    assert_eq!(events(&brokers, &topic, 20).len(), 20, "{}", sluice.log());
    sluice.wait_caught_up(&server);
    sluice.stop();
    // Written while sluice is away, then the binlog that holds it purged.
    server
        .sql(&format!(
            "INSERT INTO {db}.t VALUES (21); FLUSH BINARY LOGS; FLUSH BINARY LOGS;"
        ))
        .unwrap();
    let newest = server.binlog_position();
    let (file, _) = newest.rsplit_once(':').unwrap();
    let checkpointed = sluice.checkpoint().unwrap()["file"]
        .as_str()
        .unwrap()
        .to_owned();
    // The server keeps a binlog until InnoDB has checkpointed past it:
    // PURGE may leave it at first.
    support::wait_until(PATIENCE, "the checkpoint's binlog to be purged", || {
        server
            .sql(&format!("PURGE BINARY LOGS TO '{file}'"))
            .unwrap();
        !server
            .sql("SHOW BINARY LOGS")
            .unwrap()
            .contains(&checkpointed)
    });
    // `check` says what `run` will do about it.
    let out = crate::sluice::command("check", &dir.path().join("sluice.toml"), &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        stdout.contains("purged on the server (the oldest binlog it has"),
        "{stdout}"
    );
    assert!(
        stdout.contains("run would stream from the server's current position"),
        "{stdout}"
    );
    sluice.restart();
    // The first run's initial snapshot (20 rows), then all 21 rows read
    // again: row 21's insert is in the purged binlog.
    let all = events(&brokers, &topic, 20 + 21);
    let reads: Vec<u64> = all
        .iter()
        .filter(|e| e.value["op"] == "r")
        .map(|e| e.value["after"]["id"].as_u64().unwrap())
        .collect();
    let want: Vec<u64> = (1..=20).chain(1..=21).collect();
    assert_eq!(reads, want, "{}", sluice.log());
    assert!(
        sluice
            .log()
            .contains("the checkpoint's GTID state is purged"),
        "{}",
        sluice.log()
    );
    sluice.stop();
}

#[test]
fn a_table_without_a_key_is_read_whole_at_an_exact_binlog_position() {
    let s = support::shared();
    let (server, brokers) = (&s.mariadb, s.tansu.brokers());
    let db = unique("snapnokey");
    server
        .sql(&format!(
            "CREATE DATABASE {db}; CREATE TABLE {db}.t (v INT, s VARCHAR(10));
             INSERT INTO {db}.t SELECT seq % 20000, 'old' FROM {db}.seq_1_to_60000;"
        ))
        .unwrap();
    // Duplicate rows (no key tells them apart), changed the whole time.
    let churn = Churn::with(server, {
        let db = db.clone();
        move |n| {
            let k = n.wrapping_mul(7919) % 20000;
            format!(
                "BEGIN; INSERT INTO {db}.t VALUES ({k}, 'new');
                 DELETE FROM {db}.t WHERE v = {} LIMIT 1;
                 UPDATE {db}.t SET s = 'upd' WHERE v = {} AND s = 'old' LIMIT 1; COMMIT;\n",
                (k * 3) % 20000,
                (k * 5) % 20000
            )
        }
    });
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(dir.path(), &config(server, &brokers, &db, 1000));
    sluice.wait_for_log("read whole in one consistent read", 1);
    wait_done_while_writing(&sluice, server, churn);
    // Applied as a multiset: each event removes its before image and adds
    // its after image; the snapshot rows (one position) are the whole table
    // there, so they replace what came before them (FORMAT.md).
    let mut replaced = false;
    let events = events_in_identity_order(&brokers, &sluice.topic(&format!("{db}.t")));
    let reads = events.iter().filter(|e| e.value["op"] == "r").count();
    assert!(reads > 0, "{}", sluice.log());
    let mut rows: std::collections::BTreeMap<String, i64> = Default::default();
    let cell = |img: &serde_json::Value| format!("{}\t{}", img["v"], img["s"].as_str().unwrap());
    for e in &events {
        if e.value["op"] == "r" && !replaced {
            rows.clear();
            replaced = true;
        }
        if !e.value["before"].is_null() {
            *rows.entry(cell(&e.value["before"])).or_default() -= 1;
        }
        if !e.value["after"].is_null() {
            *rows.entry(cell(&e.value["after"])).or_default() += 1;
        }
    }
    rows.retain(|_, n| *n != 0);
    let table = server
        .sql(&format!("SELECT v, s, COUNT(*) FROM {db}.t GROUP BY v, s"))
        .unwrap();
    let want: std::collections::BTreeMap<String, i64> = table
        .lines()
        .map(|l| {
            let (row, n) = l.rsplit_once('\t').unwrap();
            (row.to_owned(), n.parse().unwrap())
        })
        .collect();
    let differ: Vec<_> = want
        .iter()
        .filter(|(k, n)| rows.get(*k) != Some(n))
        .chain(rows.iter().filter(|(k, _)| !want.contains_key(*k)))
        .take(5)
        .map(|(k, _)| format!("{k}: table {:?}, events {:?}", want.get(k), rows.get(k)))
        .collect();
    assert!(
        differ.is_empty(),
        "{} distinct rows from the events, {} in the table; first differences {differ:?}",
        rows.len(),
        want.len()
    );
    sluice.stop();
}

#[test]
fn tables_without_a_key_altered_or_dropped_mid_snapshot_are_reported() {
    let s = support::shared();
    let (server, brokers) = (&s.mariadb, s.tansu.brokers());
    let db = unique("snapodd");
    server
        .sql(&format!(
            "CREATE DATABASE {db};
             CREATE TABLE {db}.nokey (v INT); INSERT INTO {db}.nokey VALUES (1), (2);
             CREATE TABLE {db}.big (id INT PRIMARY KEY, v INT);
             INSERT INTO {db}.big SELECT seq, 0 FROM {db}.seq_1_to_300000;"
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Tiny chunks (a round trip each): the table is still being read when
    // it is altered, and again when it is dropped.
    let sluice = Sluice::run(dir.path(), &config(server, &brokers, &db, 5));
    sluice.wait_until(PATIENCE, "big's snapshot to start", || {
        sluice.log().contains("snapshot progress")
    });
    server
        .sql(&format!("ALTER TABLE {db}.big ADD COLUMN w INT DEFAULT 7"))
        .unwrap();
    sluice.wait_for_log("altered while being snapshotted", 1);
    server.sql(&format!("DROP TABLE {db}.big")).unwrap();
    sluice.wait_for_log("dropped or renamed while being snapshotted", 1);
    // `nokey` comes after `big`: read whole.
    sluice.wait_for_log("has no primary key", 1);
    assert_eq!(
        events(&brokers, &sluice.topic(&format!("{db}.nokey")), 2).len(),
        2
    );
    sluice.wait_for_log("snapshot finished", 1);
}

#[test]
fn a_table_sluice_may_not_read_stops_it_with_the_grant_that_fixes_it() {
    let s = support::shared();
    let (server, brokers) = (&s.mariadb, s.tansu.brokers());
    let db = unique("snapgrant");
    let user = unique("u");
    server
        .sql(&format!(
            "CREATE DATABASE {db};
             CREATE TABLE {db}.open (id INT PRIMARY KEY); CREATE TABLE {db}.shut (id INT PRIMARY KEY, secret INT);
             INSERT INTO {db}.open VALUES (1); INSERT INTO {db}.shut VALUES (1, 2);
             CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'pw';
             GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO '{user}'@'127.0.0.1';
             GRANT SELECT ON {db}.open TO '{user}'@'127.0.0.1';
             GRANT SELECT (id) ON {db}.shut TO '{user}'@'127.0.0.1';"
        ))
        .unwrap();
    let url = format!("mysql://{user}:pw@127.0.0.1:{}", server.port());
    let dir = tempfile::tempdir().unwrap();
    let cfg = SluiceConfig::new(&url, &brokers)
        .start(&server.binlog_position())
        .snapshot("mode", "initial")
        .rule(Rule::tables(&[&format!("{db}.*")]));
    // A grant on some columns only is not enough: rows would lack the
    // others.
    let mut sluice = Sluice::run(dir.path(), &cfg);
    let log = sluice.exit_error_log();
    assert!(
        log.contains(&format!("GRANT SELECT ON {db}.shut TO")),
        "{log}"
    );
}

#[test]
fn snapshot_rows_go_through_the_rule_s_plugin_chain_as_op_r() {
    let s = support::shared();
    let (server, brokers) = (&s.mariadb, s.tansu.brokers());
    let db = unique("snapplug");
    server
        .sql(&format!(
            "CREATE DATABASE {db}; CREATE TABLE {db}.users (id INT PRIMARY KEY, email VARCHAR(40), status VARCHAR(10));
             INSERT INTO {db}.users VALUES (1, 'a@example.com', 'active'), (2, 'b@example.com', 'gone');"
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = crate::plugins::plugin_dir(dir.path(), &["pii-mask"]);
    let tag = unique("pt");
    let cfg = SluiceConfig::from_now(server, &brokers)
        .snapshot("mode", "initial")
        .plugins_dir(&plugins)
        .rule(
            Rule::tables(&[&format!("{db}.*")])
                .topic(&format!("{tag}.{{table}}"))
                .plugins([Step::new("pii-mask")
                    .set("columns", "email")
                    .set("mode", "drop")]),
        );
    let sluice = Sluice::run(&dir.path().join("run"), &cfg);
    let got = events(&brokers, &format!("{tag}.users"), 2);
    assert_eq!(got.len(), 2, "{}", sluice.log());
    for e in &got {
        assert_eq!(e.value["op"], "r");
        assert_eq!(e.header("op"), Some("r"));
        assert_eq!(e.value["after"].get("email"), None, "{}", e.value);
    }
}

#[test]
fn a_broker_that_stops_pauses_the_snapshot_within_the_memory_bound() {
    let server = &support::shared().mariadb;
    let mut tansu = support::Tansu::start().unwrap();
    let db = unique("snapbp");
    // 100 MB of rows: far more than the bound below.
    server
        .sql(&format!(
            "CREATE DATABASE {db}; CREATE TABLE {db}.t (id INT PRIMARY KEY, pad VARCHAR(1000));
             INSERT INTO {db}.t SELECT seq, REPEAT('x', 1000) FROM {db}.seq_1_to_100000;"
        ))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    // Small chunks (a round trip each) keep the snapshot running long
    // enough to be caught in the middle.
    let cfg = config(server, &tansu.brokers(), &db, 100).pipeline("max_in_flight", 2000);
    let sluice = Sluice::run(dir.path(), &cfg);
    sluice.wait_for_log("topic ready", 1);
    tansu.freeze().unwrap();
    // Paused: the rows done stop moving (a chunk in flight may still land).
    let rows_done = || {
        let log = sluice.log();
        let line = log.lines().rev().find(|l| l.contains("snapshot progress"));
        line.map(|l| l.to_owned()).unwrap_or_default()
    };
    let mut last = (rows_done(), std::time::Instant::now());
    sluice.wait_until(PATIENCE, "the snapshot to pause", || {
        let now = rows_done();
        if now != last.0 {
            last = (now, std::time::Instant::now());
        }
        last.1.elapsed() > Duration::from_secs(3)
    });
    assert!(
        !sluice.log().contains("snapshot finished"),
        "{}",
        sluice.log()
    );
    let peak_kib = crate::sluice::proc_status_kib(sluice.pid(), "VmHWM").unwrap();
    assert!(
        peak_kib < 80 * 1024,
        "peak RSS {} MiB while 100 MB of rows waited for the broker",
        peak_kib / 1024
    );
    tansu.thaw().unwrap();
    sluice.wait_for_log("snapshot finished", 1);
    let got = events(&tansu.brokers(), &sluice.topic(&format!("{db}.t")), 100_000);
    let ids: std::collections::BTreeSet<u64> = got
        .iter()
        .map(|e| e.value["after"]["id"].as_u64().unwrap())
        .collect();
    assert_eq!(ids.len(), 100_000, "{}", sluice.log());
}
