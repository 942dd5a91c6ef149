//! The checkpoint in Kafka (`[state] store = "kafka"`), against real
//! MariaDB and tansu; exactly-once delivery, which builds on it, is tested
//! in `exactly_once.rs`.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::producer::{BaseProducer, BaseRecord, Producer};

use crate::sluice::{events, unique, Event, Sluice, PATIENCE};
use crate::support::{self, consume_all_blocking, SluiceConfig};

pub(crate) const TOPIC: &str = "__sluice_checkpoints";

pub(crate) fn table(db: &support::MariaDb, prefix: &str) -> String {
    let name = unique(prefix);
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.t (id INT PRIMARY KEY, v VARCHAR(20));"
    ))
    .unwrap();
    format!("{name}.t")
}

pub(crate) fn insert(db: &support::MariaDb, table: &str, ids: std::ops::Range<u32>, per_txn: u32) {
    let mut sql = String::new();
    for (i, id) in ids.enumerate() {
        if (i as u32).is_multiple_of(per_txn) {
            sql.push_str("BEGIN;");
        }
        sql.push_str(&format!("INSERT INTO {table} VALUES ({id}, 'row {id}');"));
        if (i as u32 + 1).is_multiple_of(per_txn) {
            sql.push_str("COMMIT;");
        }
    }
    if !sql.ends_with("COMMIT;") {
        sql.push_str("COMMIT;");
    }
    db.sql(&sql).unwrap();
}

/// The last checkpoint record of pipeline `name`, as JSON (`None`: none,
/// or a null value).
pub(crate) fn kafka_checkpoint(brokers: &str, name: &str) -> Option<serde_json::Value> {
    kafka_checkpoint_in(brokers, TOPIC, name)
}

/// As [`kafka_checkpoint`], from checkpoint topic `topic`.
pub(crate) fn kafka_checkpoint_in(
    brokers: &str,
    topic: &str,
    name: &str,
) -> Option<serde_json::Value> {
    let all = consume_all_blocking(brokers, topic, usize::MAX, Duration::from_secs(3));
    let last = all.iter().rev().find(|m| m.key_str() == Some(name))?;
    last.payload_json().ok()
}

pub(crate) fn ids(events: &[Event]) -> Vec<u64> {
    let mut ids: Vec<u64> = events
        .iter()
        .map(|e| e.value["after"]["id"].as_u64().unwrap())
        .collect();
    ids.sort();
    ids
}

pub(crate) fn kafka_state(config: SluiceConfig, name: &str) -> SluiceConfig {
    config
        .state("store", "kafka")
        .pipeline("name", name.to_string())
}

/// With the checkpoint in Kafka a restart resumes where the last run
/// stopped, with no checkpoint file anywhere.
#[test]
fn a_kafka_checkpoint_resumes_without_a_state_directory() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let table = table(db, "kstore");
    let name = unique("pipe");
    let dir = tempfile::tempdir().unwrap();
    let config = kafka_state(SluiceConfig::from_now(db, &brokers), &name);
    let mut sluice = Sluice::run(dir.path(), &config);
    insert(db, &table, 0..40, 4);
    assert_eq!(events(&brokers, &sluice.topic(&table), 40).len(), 40);
    sluice.stop();
    let cp = kafka_checkpoint(&brokers, &name).expect("a checkpoint record in Kafka");
    assert!(cp["pos"].as_u64().unwrap() > 4, "{cp}");
    assert!(
        sluice.checkpoint().is_none(),
        "no checkpoint file is written"
    );

    insert(db, &table, 100..140, 4);
    sluice.restart();
    insert(db, &table, 200..240, 4);
    let all = events(&brokers, &sluice.topic(&table), 120);
    let want: Vec<u64> = (0..40).chain(100..140).chain(200..240).collect();
    assert_eq!(ids(&all), want, "{}", sluice.log());
    assert!(
        sluice
            .log()
            .contains(&format!("Kafka topic {TOPIC} key {name}")),
        "{}",
        sluice.log()
    );
    sluice.stop();
}

/// Moving from `store = "file"` to `"kafka"`: the first run on Kafka takes
/// the file's position over, then keeps the checkpoint in Kafka only.
#[test]
fn moving_the_checkpoint_from_a_file_to_kafka_loses_and_repeats_nothing() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let table = table(db, "kmove");
    let name = unique("pipe");
    let dir = tempfile::tempdir().unwrap();
    let file_config = SluiceConfig::from_now(db, &brokers).pipeline("name", name.clone());
    let mut sluice = Sluice::run(dir.path(), &file_config);
    insert(db, &table, 0..30, 3);
    assert_eq!(events(&brokers, &sluice.topic(&table), 30).len(), 30);
    sluice.stop();
    let file_cp = sluice.checkpoint().expect("the file checkpoint");
    assert_eq!(kafka_checkpoint(&brokers, &name), None);

    insert(db, &table, 100..130, 3);
    let prefix = sluice.topic("x.y");
    let mut moved = Sluice::run(dir.path(), &kafka_state(file_config, &name));
    assert_eq!(moved.topic("x.y"), prefix, "same topics");
    insert(db, &table, 200..230, 3);
    let all = events(&brokers, &moved.topic(&table), 90);
    let want: Vec<u64> = (0..30).chain(100..130).chain(200..230).collect();
    assert_eq!(ids(&all), want, "{}", moved.log());
    assert!(
        moved.log().contains("taking over the checkpoint file"),
        "{}",
        moved.log()
    );
    moved.stop();
    let cp = kafka_checkpoint(&brokers, &name).expect("now in Kafka");
    assert!(
        (cp["file"].as_str(), cp["pos"].as_u64())
            > (file_cp["file"].as_str(), file_cp["pos"].as_u64()),
        "{cp} after {file_cp}"
    );
}

/// Kafka away at start with the checkpoint there: a clear error naming the
/// topic, and no quiet fallback to a file.
#[test]
fn a_kafka_checkpoint_with_the_broker_down_at_start_is_a_clear_error() {
    let s = support::shared();
    let db = &s.mariadb;
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let brokers = format!("127.0.0.1:{}", closed.local_addr().unwrap().port());
    drop(closed);
    let dir = tempfile::tempdir().unwrap();
    let config = kafka_state(SluiceConfig::from_now(db, &brokers), &unique("pipe"));
    let mut sluice = Sluice::run(dir.path(), &config);
    let code = sluice.wait_exit(PATIENCE);
    let log = sluice.log();
    assert_eq!(code, Some(1), "{log}");
    assert!(log.contains(&format!("from Kafka topic {TOPIC}")), "{log}");
    assert!(
        log.contains("does not fall back to a checkpoint file"),
        "{log}"
    );
    assert!(sluice.checkpoint().is_none(), "{log}");
}

/// A record that is not a checkpoint is refused with where it is.
#[test]
fn a_corrupt_checkpoint_record_is_refused_with_its_partition_and_offset() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("pipe");
    let dir = tempfile::tempdir().unwrap();
    let config = kafka_state(SluiceConfig::from_now(db, &brokers), &name);
    // A first run creates the topic and writes a good record.
    let mut sluice = Sluice::run(dir.path(), &config);
    sluice.wait_until(PATIENCE, "a first checkpoint record", || {
        kafka_checkpoint(&brokers, &name).is_some()
    });
    sluice.stop();
    let producer: BaseProducer = ClientConfig::new()
        .set("bootstrap.servers", &brokers)
        .create()
        .unwrap();
    producer
        .send(
            BaseRecord::to(TOPIC)
                .key(name.as_str())
                .payload("{\"version\":3,\"file\":"),
        )
        .unwrap();
    producer.flush(Duration::from_secs(10)).unwrap();
    let bad = consume_all_blocking(&brokers, TOPIC, usize::MAX, Duration::from_secs(3))
        .into_iter()
        .rev()
        .find(|m| m.key_str() == Some(&name))
        .unwrap();
    sluice.restart();
    let log = sluice.exit_error_log();
    let place = format!(
        "topic {TOPIC}, partition {}, offset {} is not valid",
        bad.partition, bad.offset
    );
    assert!(log.contains(&place), "{place} in:\n{log}");
}
