//! Per-key order across producer retries. A real broker cannot be told to
//! fail requests on cue, so these tests run the sink against librdkafka's
//! mock cluster, which can: produce requests are refused with retriable
//! errors and a partition leader is taken away while several requests per
//! connection are in flight. (The real path to tansu is covered by the
//! integration tests.)

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::mocking::MockCluster;
use rdkafka::types::{RDKafkaApiKey, RDKafkaRespErr};
use rdkafka::{ClientConfig, Message, Offset, TopicPartitionList};

use super::{KafkaSettings, KafkaSink, SinkHealth};
use crate::checkpoint::Tracker;
use crate::event::batch::{Record, TableName};
use crate::event::{Batch, Op, Position, TxnId};
use crate::shutdown::Cancel;

const TOPIC: &str = "orders";
const PARTITIONS: i32 = 4;
const KEYS: usize = 24;

fn kafka(brokers: String, producer: &[(&str, &str)]) -> KafkaSettings {
    KafkaSettings {
        brokers,
        topic_prefix: None,
        ddl_topic: None,
        heartbeat_topic: None,
        heartbeat_interval: Duration::from_secs(10),
        transaction_topic: None,
        dead_letter_topic: "dead".into(),
        create_topics: false,
        partitions: PARTITIONS,
        replication_factor: 3,
        stall_timeout: None,
        producer: producer
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
        security: Default::default(),
        format: crate::debezium::Format::MsgPack,
        debezium: Default::default(),
        delivery: crate::kafka::settings::Delivery::AtLeastOnce,
        transaction_interval: Duration::from_millis(100),
    }
}

/// One transaction of `n` changes, round-robin over the keys; the value is
/// `key:seq` where seq counts that key's changes.
fn batch(txn: u64, n: usize, seqs: &mut [u64]) -> Batch {
    let table = Arc::new(TableName {
        db: "shop".into(),
        table: "orders".into(),
    });
    let topic: Arc<str> = Arc::from(TOPIC);
    let mut b = Batch::default();
    let (table, topic) = (b.table_id(&table), b.topic_id(&topic));
    for i in 0..n {
        let k = (txn as usize * 7 + i) % KEYS;
        let key_start = b.buf.len();
        b.buf.extend_from_slice(format!("k{k}").as_bytes());
        let value_start = b.buf.len();
        b.buf
            .extend_from_slice(format!("k{k}:{}", seqs[k]).as_bytes());
        seqs[k] += 1;
        b.records.push(Record {
            value: value_start..b.buf.len(),
            key: Some(key_start..value_start),
            op: Op::Update,
            table,
            txn: TxnId(txn),
            topic: Some(topic),
            dead_letter: None,
            rule: None,
            key_header: None,
        });
    }
    b
}

/// Every (key, seq) delivered, per key in partition-offset order.
fn consume(brokers: &str, expected: usize) -> BTreeMap<String, Vec<u64>> {
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", "order-check")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let mut tpl = TopicPartitionList::new();
    for p in 0..PARTITIONS {
        tpl.add_partition_offset(TOPIC, p, Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut per_key: BTreeMap<String, Vec<u64>> = BTreeMap::new();
    // Read until the expected count arrived and then for ten empty polls
    // (a second) more, so that duplicates show; give up only after a minute
    // without a single message.
    let (mut seen, mut idle) = (0, 0);
    while seen < expected || idle < 10 {
        match consumer.poll(Duration::from_millis(100)) {
            Some(Ok(m)) => {
                idle = 0;
                seen += 1;
                let v = std::str::from_utf8(m.payload().unwrap()).unwrap();
                let (k, seq) = v.split_once(':').unwrap();
                assert_eq!(m.key(), Some(k.as_bytes()), "key and value agree");
                per_key
                    .entry(k.to_string())
                    .or_default()
                    .push(seq.parse().unwrap());
            }
            Some(Err(e)) => panic!("consume: {e}"),
            None => {
                idle += 1;
                assert!(idle < 600, "only {seen} of {expected} messages arrived");
            }
        }
    }
    per_key
}

/// Sends 60 transactions of 200 changes while produce requests fail with
/// retriable errors and, for a while, the leader of partition 0 is down;
/// returns what the topic holds per key.
fn run(producer: &[(&str, &str)]) -> (BTreeMap<String, Vec<u64>>, Vec<u64>) {
    let mock = MockCluster::new(3).unwrap();
    mock.create_topic(TOPIC, PARTITIONS, 3).unwrap();
    // Slow round trips keep several requests per connection in flight, so
    // a retried request is overtaken unless the producer prevents it.
    for broker in 1..=3 {
        mock.broker_round_trip_time(broker, Duration::from_millis(20))
            .unwrap();
    }
    let tracker = Arc::new(Tracker::new(Position::new("bin.000001", 4)));
    let rt = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let health = Arc::new(SinkHealth::default());
    let mut sink = KafkaSink::new(
        &kafka(mock.bootstrap_servers(), producer),
        100_000,
        tracker.clone(),
        health.clone(),
        rt.handle().clone(),
        None,
    )
    .unwrap();
    let stop = Cancel::new();
    let mut seqs = vec![0u64; KEYS];
    let retriable = [
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_LEADER_FOR_PARTITION,
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_REQUEST_TIMED_OUT,
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_NOT_ENOUGH_REPLICAS,
        RDKafkaRespErr::RD_KAFKA_RESP_ERR_LEADER_NOT_AVAILABLE,
    ];
    let txns = 60;
    for txn in 0..txns {
        match txn % 10 {
            3 => mock.request_errors(RDKafkaApiKey::Produce, &retriable),
            7 => mock.request_errors(RDKafkaApiKey::Produce, &retriable[..2]),
            _ => {}
        }
        if txn == 25 {
            mock.broker_down(1).unwrap();
        }
        if txn == 40 {
            mock.broker_up(1).unwrap();
        }
        let b = batch(txn, 200, &mut seqs);
        let id = tracker.begin(Position::new("bin.000001", 100 + txn));
        tracker.produced(id, b.len() as u64);
        sink.send(&b, &stop).unwrap();
        tracker.end(id, Position::new("bin.000001", 101 + txn));
        // Paces the load (not a wait for anything): the transactions spread
        // over about a second, so the leader outage and the refused requests
        // hit messages in flight rather than an idle producer.
        std::thread::sleep(Duration::from_millis(15));
    }
    sink.flush(Duration::from_secs(60));
    assert!(
        all_acknowledged(&tracker),
        "{} changes never acknowledged",
        tracker.outstanding()
    );
    assert!(health.take_failure().is_none());
    (
        consume(&mock.bootstrap_servers(), 200 * txns as usize),
        seqs,
    )
}

#[test]
fn per_key_order_holds_across_produce_retries_and_a_leader_outage() {
    // Sluice's defaults (idempotent producer), with up to 5 requests in
    // flight per connection, which idempotence allows without reordering.
    let (per_key, seqs) = run(&[
        ("linger.ms", "0"),
        ("batch.num.messages", "20"),
        ("max.in.flight.requests.per.connection", "5"),
    ]);
    assert_eq!(per_key.len(), KEYS);
    for (k, got) in &per_key {
        let i: usize = k[1..].parse().unwrap();
        let want: Vec<u64> = (0..seqs[i]).collect();
        assert_eq!(
            got, &want,
            "{k}: every change once, in order (left: delivered)"
        );
    }
}

/// The faults above are real: the same run with idempotence turned off
/// (so retried requests may overtake others) delivers keys out of order.
/// Without this, the test above could pass because nothing was retried.
#[test]
fn without_idempotence_the_same_faults_reorder_keys() {
    let (per_key, seqs) = run(&[
        ("enable.idempotence", "false"),
        ("linger.ms", "0"),
        ("batch.num.messages", "20"),
        ("max.in.flight.requests.per.connection", "5"),
    ]);
    let reordered = per_key
        .iter()
        .filter(|(k, got)| {
            let i: usize = k[1..].parse().unwrap();
            **got != (0..seqs[i]).collect::<Vec<_>>()
        })
        .count();
    assert!(
        reordered > 0,
        "no key was reordered: the faults did not bite"
    );
}

/// A sink on a mock cluster of one broker, acknowledging into `tracker`.
fn sink_on(
    mock: &MockCluster<'_, rdkafka::producer::DefaultProducerContext>,
    producer: &[(&str, &str)],
    tracker: &Arc<Tracker>,
    health: &Arc<SinkHealth>,
    rt: &tokio::runtime::Runtime,
) -> KafkaSink {
    mock.create_topic(TOPIC, 1, 1).unwrap();
    let mut settings = kafka(mock.bootstrap_servers(), producer);
    settings.partitions = 1;
    settings.replication_factor = 1;
    KafkaSink::new(
        &settings,
        1000,
        tracker.clone(),
        health.clone(),
        rt.handle().clone(),
        None,
    )
    .unwrap()
}

/// Sends `b` as a whole transaction starting at `start`.
fn send_txn(
    sink: &mut KafkaSink,
    tracker: &Tracker,
    b: &Batch,
    start: u64,
) -> Result<(), super::SinkError> {
    let id = tracker.begin(Position::new("bin.000001", start));
    tracker.produced(id, b.len() as u64);
    let sent = sink.send(b, &Cancel::new());
    tracker.end(id, Position::new("bin.000001", start + 1));
    sent
}

fn one_off_runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap()
}

/// A message over `message.max.bytes`, refused by the producer itself:
/// the error names the table, the size and the limit, and its
/// transaction is not waited for.
#[test]
fn a_message_the_producer_refuses_is_named_and_not_waited_for() {
    let mock = MockCluster::new(1).unwrap();
    let tracker = Arc::new(Tracker::new(Position::new("bin.000001", 4)));
    let health = Arc::new(SinkHealth::default());
    let rt = one_off_runtime();
    let limit = [("message.max.bytes", "1000")];
    let mut sink = sink_on(&mock, &limit, &tracker, &health, &rt);
    let mut seqs = vec![0u64; KEYS];
    send_txn(&mut sink, &tracker, &batch(0, 3, &mut seqs), 100).unwrap();
    let mut large = batch(1, 1, &mut seqs);
    large.buf.extend_from_slice(&[b'x'; 2000]);
    large.records[0].value.end = large.buf.len();
    let err = send_txn(&mut sink, &tracker, &large, 101).unwrap_err();
    let text = err.to_string();
    assert!(text.contains("an event of shop.orders is"), "{text}");
    assert!(text.contains("message.max.bytes is 1000"), "{text}");
    // Settled once the first transaction is acknowledged: the refused
    // message is not waited for.
    let give_up = std::time::Instant::now() + Duration::from_secs(60);
    while !tracker.settled() {
        assert!(std::time::Instant::now() < give_up, "never settled");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(tracker.outstanding(), 1, "the refused message stays out");
    assert_eq!(tracker.resume_position(), Position::new("bin.000001", 101));
}

/// A message the broker refuses as too large (after the producer took
/// it): recorded as the same error, naming the table, and its transaction
/// is not waited for.
#[test]
fn a_message_the_broker_refuses_as_too_large_is_named_and_not_waited_for() {
    let mock = MockCluster::new(1).unwrap();
    let tracker = Arc::new(Tracker::new(Position::new("bin.000001", 4)));
    let health = Arc::new(SinkHealth::default());
    let rt = one_off_runtime();
    let mut sink = sink_on(&mock, &[("linger.ms", "0")], &tracker, &health, &rt);
    let mut seqs = vec![0u64; KEYS];
    send_txn(&mut sink, &tracker, &batch(0, 3, &mut seqs), 100).unwrap();
    assert!(all_acknowledged(&tracker));
    mock.request_errors(
        RDKafkaApiKey::Produce,
        &[RDKafkaRespErr::RD_KAFKA_RESP_ERR_MSG_SIZE_TOO_LARGE],
    );
    // Either the send itself or the delivery report brings the failure.
    let sent = send_txn(&mut sink, &tracker, &batch(1, 1, &mut seqs), 101);
    let give_up = std::time::Instant::now() + Duration::from_secs(60);
    while !health.failed() && sent.is_ok() {
        assert!(std::time::Instant::now() < give_up, "no failure recorded");
        std::thread::sleep(Duration::from_millis(10));
    }
    let err = sent.err().or_else(|| health.take_failure()).unwrap();
    assert!(
        matches!(&err, super::SinkError::TooLarge { table, .. } if table == "orders"),
        "{err}"
    );
    assert!(tracker.settled(), "the refused message is not waited for");
    assert_eq!(tracker.resume_position(), Position::new("bin.000001", 101));
}

/// Waits (up to a minute) until the tracker has no message out.
fn all_acknowledged(tracker: &Tracker) -> bool {
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while tracker.outstanding() > 0 {
        if std::time::Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    true
}
