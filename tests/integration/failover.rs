//! Failover: Sluice streams a primary under a steady write load, the
//! primary dies, and Sluice is pointed at the promoted replica, whose
//! binlog files have other names. It must continue exactly after the last
//! transaction Kafka acknowledged: applying every event in order gives the
//! replica's table, and the transactions' GTIDs have no gap.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::Arc;
use std::thread;
use std::time::Duration;

use serde_json::Value;

use crate::sluice::{replay, unique, Event, Sluice, PATIENCE};
use crate::support::config::next_server_id;
use crate::support::mariadb::sql_at;
use crate::support::{self, poll_until, MariaDb, MariaDbOptions, SluiceConfig, Tansu};

/// A MariaDB that logs with GTIDs in strict mode, writes what it
/// replicates to its own binlog (so a replica can be promoted), and names
/// its binlog files `basename.N`.
fn gtid_server(server_id: u32, basename: &str) -> MariaDb {
    MariaDb::start(MariaDbOptions::with_args([
        format!("--server-id={server_id}"),
        format!("--log-bin={basename}"),
        "--log-slave-updates=ON".to_string(),
        "--gtid-strict-mode=ON".to_string(),
    ]))
    .unwrap()
}

fn one(db: &MariaDb, sql: &str) -> String {
    db.sql(sql).unwrap().trim().to_string()
}

/// Makes `replica` replicate `primary` by GTID and waits until it has
/// everything `primary` has.
fn replicate(replica: &MariaDb, primary: &MariaDb) {
    replica
        .sql(&format!(
            "CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT={}, MASTER_USER='root', \
             MASTER_PASSWORD='', MASTER_USE_GTID=slave_pos; START SLAVE;",
            primary.port()
        ))
        .unwrap();
    caught_up(replica, primary);
}

fn caught_up(replica: &MariaDb, primary: &MariaDb) {
    let want = one(primary, "SELECT @@gtid_binlog_pos");
    assert!(
        poll_until(PATIENCE, || one(replica, "SELECT @@gtid_slave_pos") == want),
        "the replica did not reach {want}: {}",
        replica.log_tail(30)
    );
}

/// Writes transactions to whichever server `target` names until `stop`:
/// an insert, an update of an older row and now and then a delete, so the
/// events carry both images.
struct Writer {
    stop: Arc<AtomicBool>,
    done: Arc<AtomicU32>,
    thread: Option<thread::JoinHandle<u32>>,
}

impl Writer {
    fn start(port: u16, table: String, from: u32) -> Writer {
        let stop = Arc::new(AtomicBool::new(false));
        let done = Arc::new(AtomicU32::new(0));
        let (s, d) = (stop.clone(), done.clone());
        let thread = thread::spawn(move || {
            let mut i = from;
            while !s.load(Ordering::Relaxed) {
                let mut sql = format!("BEGIN; INSERT INTO {table} VALUES ({i}, {i}, 'row {i}');");
                if i >= 3 {
                    sql.push_str(&format!(
                        "UPDATE {table} SET n = n + 1 WHERE id = {};",
                        i - 3
                    ));
                }
                if i.is_multiple_of(7) && i >= 10 {
                    sql.push_str(&format!("DELETE FROM {table} WHERE id = {};", i - 10));
                }
                sql.push_str("COMMIT;");
                sql_at(port, &sql);
                i += 1;
                d.fetch_add(1, Ordering::Relaxed);
            }
            i
        });
        Writer {
            stop,
            done,
            thread: Some(thread),
        }
    }

    fn wait_for(&self, txns: u32) {
        assert!(
            poll_until(PATIENCE, || self.done.load(Ordering::Relaxed) >= txns),
            "the writer did not reach {txns} transactions"
        );
    }

    /// Stops and returns the next id it would have written.
    fn finish(mut self) -> u32 {
        self.stop.store(true, Ordering::Relaxed);
        self.thread.take().unwrap().join().unwrap()
    }
}

/// The table as `id -> row`, the way [`replay`] keys it.
fn table_rows(db: &MariaDb, table: &str) -> BTreeMap<String, Value> {
    let out = db
        .sql(&format!("SELECT id, n, v FROM {table} ORDER BY id"))
        .unwrap();
    out.lines()
        .map(|l| {
            let f: Vec<&str> = l.split('\t').collect();
            (
                f[0].to_string(),
                serde_json::json!({"id": f[0].parse::<i64>().unwrap(), "n": f[1].parse::<i64>().unwrap(), "v": f[2]}),
            )
        })
        .collect()
}

#[test]
fn after_a_failover_sluice_continues_on_the_promoted_replica_by_gtid() {
    let tansu = Tansu::start().unwrap();
    let brokers = tansu.brokers();
    let mut primary = gtid_server(1, "primary-bin");
    let replica = gtid_server(2, "replica-bin");
    let name = unique("failover");
    let table = format!("{name}.t");
    primary
        .sql(&format!(
            "CREATE DATABASE {name}; CREATE TABLE {table} (id INT PRIMARY KEY, n INT, v VARCHAR(20));"
        ))
        .unwrap();
    replicate(&replica, &primary);

    let dir = tempfile::tempdir().unwrap();
    let config = SluiceConfig::from_now(&primary, &brokers);
    let mut sluice = Sluice::run(dir.path(), &config);
    let topic = sluice.topic(&table);
    let writer = Writer::start(primary.port(), table.clone(), 0);
    writer.wait_for(150);
    // Kafka goes away for a while: Sluice keeps reading but its checkpoint
    // stays behind, so the restart below must replay from the replica.
    let mut tansu = tansu;
    tansu.freeze().unwrap();
    writer.wait_for(300);
    let next = writer.finish();
    // Everything the primary committed reached the replica (what a
    // semi-synchronous setup promises), then the primary dies.
    caught_up(&replica, &primary);
    primary.kill9();
    sluice.kill9();
    tansu.thaw().unwrap();
    let before = sluice.checkpoint().expect("a checkpoint");
    assert!(before["gtid"]["mariadb"].is_string(), "{before}");

    // The replica is promoted: it stops replicating and takes the writes.
    replica.sql("STOP SLAVE; RESET SLAVE ALL;").unwrap();
    let promoted = config.clone().source("url", replica.url());
    promoted.write(&dir.path().join("sluice.toml"));
    sluice.restart();
    let writer = Writer::start(replica.port(), table.clone(), next);
    writer.wait_for(150);
    writer.finish();
    sluice.wait_caught_up(&replica);
    let log = sluice.log();
    assert!(
        log.contains("resuming from the checkpoint by GTID"),
        "{log}"
    );

    let events: Vec<Event> =
        support::consume_until_quiet(&brokers, &topic, Duration::from_secs(5), PATIENCE)
            .iter()
            .map(Event::from_message)
            .collect();
    assert_eq!(
        replay(&events, &["id"]),
        table_rows(&replica, &table),
        "applying the events in order must give the replica's table"
    );
    // No transaction skipped: strict mode numbers domain 0's transactions
    // one after another across both servers, so the sequence numbers the
    // events carry form one unbroken run, from both servers.
    let seqs: BTreeSet<u64> = events
        .iter()
        .map(|e| {
            let g = e.value["source"]["gtid"].as_str().expect("a GTID");
            g.rsplit('-').next().unwrap().parse().unwrap()
        })
        .collect();
    let (first, last) = (*seqs.first().unwrap(), *seqs.last().unwrap());
    assert_eq!(seqs.len() as u64, last - first + 1, "a gap in {seqs:?}");
    let servers: BTreeSet<String> = events
        .iter()
        .map(|e| {
            e.value["source"]["gtid"]
                .as_str()
                .unwrap()
                .split('-')
                .nth(1)
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(servers, BTreeSet::from(["1".to_string(), "2".to_string()]));
    let files: BTreeSet<String> = events
        .iter()
        .map(|e| {
            e.value["source"]["file"]
                .as_str()
                .unwrap()
                .split('.')
                .next()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        files,
        BTreeSet::from(["primary-bin".to_string(), "replica-bin".to_string()])
    );
    sluice.stop();
}

/// `start = "gtid:..."`, and the two ways a server refuses a GTID state:
/// it purged the binlogs after it, or it never had it.
#[test]
fn a_gtid_start_streams_after_it_and_a_state_the_server_cannot_serve_is_refused() {
    let tansu = &support::shared().tansu;
    let brokers = tansu.brokers();
    let db = gtid_server(1, "gtid-bin");
    let name = unique("gtidstart");
    let table = format!("{name}.t");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {table} (id INT PRIMARY KEY, n INT, v VARCHAR(20));"
    ))
    .unwrap();
    sql_at(
        db.port(),
        &format!("INSERT INTO {table} VALUES (1, 1, 'before')"),
    );
    let state = one(&db, "SELECT @@gtid_binlog_pos");
    sql_at(
        db.port(),
        &format!("INSERT INTO {table} VALUES (2, 2, 'after')"),
    );

    let dir = tempfile::tempdir().unwrap();
    let config = SluiceConfig::new(&db.url(), &brokers).start(&format!("gtid:{state}"));
    let mut sluice = Sluice::run(dir.path(), &config);
    let topic = sluice.topic(&table);
    let got = crate::sluice::events(&brokers, &topic, 1);
    assert_eq!(got[0].value["after"]["v"], "after", "{}", sluice.log());
    sluice.wait_caught_up(&db);
    let cp = sluice.checkpoint().unwrap();
    assert_eq!(
        cp["gtid"]["mariadb"],
        one(&db, "SELECT @@gtid_binlog_pos").as_str(),
        "{cp}"
    );
    sluice.stop();

    // Ahead of the server: transactions it never had. (A new replica id
    // each time: the server may still list the run before as connected.)
    let config = config.server_id(next_server_id());
    let ahead = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(ahead.path(), &config.clone().start("gtid:0-1-999999"));
    let log = sluice.exit_error_log();
    assert!(
        log.contains("refused to continue after GTID state 0-1-999999"),
        "{log}"
    );

    // Purged: the binlogs after an old state are gone.
    db.sql(&format!(
        "FLUSH BINARY LOGS; INSERT INTO {table} VALUES (3, 3, 'x'); FLUSH BINARY LOGS;"
    ))
    .unwrap();
    let newest = db.binlog_files().unwrap().pop().unwrap();
    // The server keeps a file a dump thread still reads, and the runs above
    // may linger as dump threads until their next heartbeat.
    let purged_all = poll_until(PATIENCE, || {
        let dumps = db
            .sql("SELECT ID FROM information_schema.PROCESSLIST WHERE COMMAND LIKE 'Binlog Dump%'")
            .unwrap();
        for id in dumps.lines().map(str::trim).filter(|l| !l.is_empty()) {
            let _ = db.sql(&format!("KILL {id}"));
        }
        db.sql(&format!("PURGE BINARY LOGS TO '{newest}'")).unwrap();
        db.binlog_files().unwrap() == [newest.clone()]
    });
    assert!(purged_all, "{:?}", db.binlog_files());
    let purged = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(
        purged.path(),
        &config
            .server_id(next_server_id())
            .start(&format!("gtid:{state}")),
    );
    let log = sluice.exit_error_log();
    assert!(
        log.contains("no longer has every transaction after"),
        "{log}"
    );
    assert!(log.contains("when_needed"), "{log}");
}
