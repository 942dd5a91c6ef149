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
        dead_letter_topic: "dead".into(),
        create_topics: false,
        partitions: PARTITIONS,
        replication_factor: 3,
        stall_timeout: None,
        producer: producer
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect(),
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
        tracker.wait_idle(Duration::from_secs(60)),
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
