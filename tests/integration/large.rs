//! Size: a 64 MB row and a 1 GB transaction stream through with memory
//! bounded by the in-flight budget, not by their size; an event larger than
//! the producer accepts stops Sluice with an error naming table and position.

use std::time::{Duration, Instant};

use crate::sluice::{proc_status_kib, unique, Sluice};
use crate::support::{consume_all_blocking, MariaDb, MariaDbOptions, SluiceConfig, Tansu};

/// Rows of ~1 KiB in the big transaction; `SLUICE_TEST_BIG_TXN_ROWS`
/// overrides the default of about 1 GB.
fn big_txn_rows() -> u64 {
    std::env::var("SLUICE_TEST_BIG_TXN_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000)
}

#[test]
fn a_64mb_row_and_a_1gb_transaction_stream_with_bounded_memory() {
    let db = MariaDb::start(MariaDbOptions::default()).unwrap();
    let tansu = Tansu::start().unwrap();
    let name = unique("big");
    db.sql(&format!("CREATE DATABASE {name}; CREATE TABLE {name}.blobs (id INT PRIMARY KEY, b LONGBLOB); CREATE TABLE {name}.rows (id BIGINT PRIMARY KEY, s VARCHAR(1100));")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config =
        SluiceConfig::from_now(&db, &tansu.brokers()).producer("message.max.bytes", 100_000_000);
    let mut sluice = Sluice::run(dir.path(), &config);

    db.sql(&format!(
        "INSERT INTO {name}.blobs VALUES (1, REPEAT('x', 64 * 1024 * 1024))"
    ))
    .unwrap();
    let blob = consume_all_blocking(
        &tansu.brokers(),
        &sluice.topic(&format!("{name}.blobs")),
        1,
        Duration::from_secs(120),
    );
    assert_eq!(blob.len(), 1, "{}", sluice.log());
    let event = crate::sluice::Event::from_message(&blob[0]);
    assert_eq!(
        event.value["after"]["b"]["$bin"]
            .as_str()
            .map(|hex| hex.len() / 2),
        Some(64 * 1024 * 1024)
    );

    let n = big_txn_rows();
    // Timed for the figures printed below only: how fast is not asserted.
    let began = Instant::now();
    db.sql(&format!(
        "INSERT INTO {name}.rows SELECT seq, REPEAT('y', 1024) FROM {name}.seq_1_to_{n}"
    ))
    .unwrap();
    let wrote = began.elapsed();
    let got = consume_all_blocking(
        &tansu.brokers(),
        &sluice.topic(&format!("{name}.rows")),
        n as usize,
        Duration::from_secs(600),
    );
    let peak = proc_status_kib(sluice.pid(), "VmHWM").unwrap_or(0);
    eprintln!(
        "large: one transaction of {n} rows (~{} MB) written in {:.1}s, consumed after {:.1}s; a 64 MB row; sluice peak RSS {} MiB",
        n * 1040 / 1_000_000,
        wrote.as_secs_f64(),
        began.elapsed().as_secs_f64(),
        peak / 1024
    );
    assert_eq!(got.len() as u64, n, "{}", sluice.log());
    // The budget: the producer queue (64 MiB by default), a batch (8 MiB),
    // the reader channel, plus the 64 MB row once; never the 1 GB.
    assert!(peak < 400 * 1024, "peak RSS {} MiB", peak / 1024);
    sluice.stop();
}

#[test]
fn an_event_over_the_producers_limit_stops_sluice_naming_table_and_position() {
    let db = MariaDb::start(MariaDbOptions::default()).unwrap();
    let tansu = Tansu::start().unwrap();
    let name = unique("toolarge");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.t (id INT PRIMARY KEY, b LONGBLOB);"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(dir.path(), &SluiceConfig::from_now(&db, &tansu.brokers()));
    db.sql(&format!(
        "INSERT INTO {name}.t VALUES (1, REPEAT('x', 2 * 1024 * 1024))"
    ))
    .unwrap();
    let log = sluice.exit_error_log();
    assert!(log.contains(&format!("an event of {name}.t is")), "{log}");
    assert!(
        log.contains("raise \\\"message.max.bytes\\\"")
            || log.contains("raise \"message.max.bytes\""),
        "{log}"
    );
    assert!(
        log.contains("(transaction at binlog position mysql-bin.000001:"),
        "{log}"
    );
}

/// A Sluice that met a refused row, the row's table, and where the row's
/// transaction starts: what the small transactions before it were
/// acknowledged up to.
struct Refused {
    sluice: Sluice,
    before_large: String,
    table: String,
    // Kept for as long as the test's Sluice needs them.
    _servers: (MariaDb, Tansu),
}

/// Small transactions, then one with a row over a small
/// `message.max.bytes`, all written before Sluice starts so that it reads
/// them together (they likely share a batch with the refused row).
/// Checkpoints are written only when a session ends, so the checkpoint
/// file shows what the end of the session wrote.
fn refused_after_small_transactions(dir: &std::path::Path) -> Refused {
    let db = MariaDb::start(MariaDbOptions::default()).unwrap();
    let tansu = Tansu::start().unwrap();
    let name = unique("refused");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.t (id INT PRIMARY KEY, b LONGBLOB);"
    ))
    .unwrap();
    let config = SluiceConfig::from_now(&db, &tansu.brokers())
        .producer("message.max.bytes", 100_000)
        .state("checkpoint_interval_ms", 3_600_000);
    for id in 1..=3 {
        db.sql(&format!("INSERT INTO {name}.t VALUES ({id}, 'small')"))
            .unwrap();
    }
    let before_large = db.binlog_position();
    db.sql(&format!(
        "INSERT INTO {name}.t VALUES (4, REPEAT('x', 200 * 1024))"
    ))
    .unwrap();
    Refused {
        sluice: Sluice::run(dir, &config),
        before_large,
        table: format!("{name}.t"),
        _servers: (db, tansu),
    }
}

fn position_of(checkpoint: Option<serde_json::Value>) -> Option<String> {
    let c = checkpoint?;
    Some(format!("{}:{}", c["file"].as_str()?, c["pos"]))
}

/// A refused message stops Sluice with the reason at once: no wait for
/// acknowledgements that cannot come, and the checkpoint covers the
/// transactions delivered before it.
#[test]
fn a_refused_message_stops_at_once_with_the_checkpoint_after_what_was_delivered() {
    let dir = tempfile::tempdir().unwrap();
    let Refused {
        mut sluice,
        before_large,
        table,
        _servers,
    } = refused_after_small_transactions(dir.path());
    let log = sluice.exit_error_log();
    assert!(log.contains(&format!("an event of {table} is")), "{log}");
    assert!(log.contains("message.max.bytes is 100000"), "{log}");
    assert!(
        !log.contains("did not acknowledge every message in time"),
        "{log}"
    );
    assert_eq!(
        position_of(sluice.checkpoint()),
        Some(before_large),
        "{log}"
    );
}

/// The checkpoint is on disk by the time the error is reported: a SIGKILL
/// right then loses none of what was delivered.
#[test]
fn a_sigkill_after_a_refused_message_keeps_the_delivered_checkpoint() {
    let dir = tempfile::tempdir().unwrap();
    let Refused {
        mut sluice,
        before_large,
        table,
        _servers,
    } = refused_after_small_transactions(dir.path());
    sluice.wait_for_log(&format!("an event of {table} is"), 1);
    sluice.kill9();
    assert_eq!(
        position_of(sluice.checkpoint()),
        Some(before_large),
        "{}",
        sluice.log()
    );
}

/// While the end of the session waits for acknowledgements that can still
/// come (a frozen broker holds those of the transactions before the
/// refused one), SIGTERM ends the wait instead of the drain timeout, and
/// the checkpoint stays before what was not acknowledged.
#[test]
fn a_signal_ends_the_wait_after_a_refused_message() {
    let db = MariaDb::start(MariaDbOptions::default()).unwrap();
    let mut tansu = Tansu::start().unwrap();
    let name = unique("refused");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.t (id INT PRIMARY KEY, b LONGBLOB);"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = SluiceConfig::from_now(&db, &tansu.brokers())
        .producer("message.max.bytes", 100_000)
        .producer("linger.ms", 0);
    let mut sluice = Sluice::run(dir.path(), &config);
    // The topic exists and the producer knows its leader before the broker
    // freezes, so the next rows are queued rather than held at creation.
    db.sql(&format!("INSERT INTO {name}.t VALUES (0, 'first')"))
        .unwrap();
    sluice.wait_caught_up(&db);
    let acknowledged = db.binlog_position();
    tansu.freeze().unwrap();
    db.sql(&format!(
        "INSERT INTO {name}.t VALUES (1, 'small'); INSERT INTO {name}.t VALUES (2, REPEAT('x', 200 * 1024))"
    ))
    .unwrap();
    sluice.wait_for_log("waiting for Kafka to acknowledge what was sent", 1);
    std::process::Command::new("kill")
        .args(["-TERM", &sluice.pid().to_string()])
        .status()
        .unwrap();
    let log = sluice.exit_error_log();
    tansu.thaw().unwrap();
    assert!(log.contains(&format!("an event of {name}.t is")), "{log}");
    assert!(
        log.contains("stopped while waiting for Kafka's acknowledgements"),
        "{log}"
    );
    assert!(
        !log.contains("did not acknowledge every message in time"),
        "{log}"
    );
    assert_eq!(
        position_of(sluice.checkpoint()),
        Some(acknowledged),
        "{log}"
    );
}
