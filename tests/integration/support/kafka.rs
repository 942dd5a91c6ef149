//! Reading and writing Kafka topics from tests.
//!
//! Consumers here never join a consumer group: they `assign()` every
//! partition explicitly, from the beginning. Group joins on tansu take
//! seconds, and a test wants "everything in the topic" anyway.
//!
//! Never count messages with watermarks: tansu reports a wrong high
//! watermark after multi-record batches. Consume and count instead.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use anyhow::Context as _;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer as _};
use rdkafka::message::{Headers as _, Message as _};
use rdkafka::producer::{FutureProducer, FutureRecord};
use rdkafka::types::RDKafkaErrorCode;
use rdkafka::{Offset, TopicPartitionList};

/// After the expected count arrived, keep reading this long so that a test
/// also sees messages that should *not* have been produced.
const EXTRA_READ: Duration = Duration::from_secs(1);

/// An owned copy of a consumed record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Message {
    pub topic: String,
    pub partition: i32,
    pub offset: i64,
    pub key: Option<Vec<u8>>,
    pub payload: Option<Vec<u8>>,
    /// In the order they were sent; names may repeat.
    pub headers: Vec<(String, Option<Vec<u8>>)>,
    /// Milliseconds since the epoch, if the record has a timestamp.
    pub timestamp: Option<i64>,
}

impl Message {
    pub fn key_str(&self) -> Option<&str> {
        self.key
            .as_deref()
            .and_then(|k| std::str::from_utf8(k).ok())
    }

    pub fn payload_str(&self) -> Option<&str> {
        self.payload
            .as_deref()
            .and_then(|p| std::str::from_utf8(p).ok())
    }

    pub fn payload_json(&self) -> anyhow::Result<serde_json::Value> {
        let p = self.payload.as_deref().context("message has no payload")?;
        serde_json::from_slice(p).context("payload is not JSON")
    }

    /// The value of the first header called `name`.
    pub fn header(&self, name: &str) -> Option<&[u8]> {
        self.headers
            .iter()
            .find(|(k, _)| k == name)
            .and_then(|(_, v)| v.as_deref())
    }

    pub fn header_str(&self, name: &str) -> Option<&str> {
        self.header(name).and_then(|v| std::str::from_utf8(v).ok())
    }
}

fn consumer(brokers: &str) -> anyhow::Result<BaseConsumer> {
    // librdkafka refuses assign() without a group.id ("Unknown group"),
    // even though nothing is joined or committed. A unique one keeps the
    // broker from ever relating two test consumers.
    static N: AtomicUsize = AtomicUsize::new(0);
    let group = format!(
        "sluice-test-{}-{}",
        std::process::id(),
        N.fetch_add(1, Ordering::Relaxed)
    );
    ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("group.id", group)
        .set("enable.auto.commit", "false")
        .set("enable.auto.offset.store", "false")
        .set("enable.partition.eof", "false")
        .set("auto.offset.reset", "earliest")
        // Short fetch waits: tests care about latency, not throughput.
        .set("fetch.wait.max.ms", "100")
        // Room for the largest test message (a 64 MB row): the broker may
        // not return a batch larger than what the fetch asks for.
        .set("fetch.max.bytes", "150000000")
        .set("max.partition.fetch.bytes", "150000000")
        .set("receive.message.max.bytes", "160000000")
        .set("socket.timeout.ms", "5000")
        // Never create the topic by asking about it: that would race with
        // (and could pre-empt) the partition count sluice asks for.
        .set("allow.auto.create.topics", "false")
        .create()
        .context("creating a Kafka consumer")
}

/// Partitions of `topic`, once the broker lists it with all partitions.
fn partitions(c: &BaseConsumer, topic: &str) -> anyhow::Result<Option<Vec<i32>>> {
    // All topics, not just `topic`: asking about one topic by name is the
    // request brokers answer with auto-creation.
    let md = c
        .fetch_metadata(None, Duration::from_secs(5))
        .context("fetching metadata")?;
    let Some(t) = md.topics().iter().find(|t| t.name() == topic) else {
        return Ok(None);
    };
    if t.error().is_some() || t.partitions().is_empty() {
        return Ok(None);
    }
    Ok(Some(t.partitions().iter().map(|p| p.id()).collect()))
}

/// Read `topic` from the beginning until `expected` messages arrived or
/// `timeout` passed, then for one more second to catch extras. Returns what
/// arrived, sorted by (partition, offset): assert on its length.
///
/// The topic need not exist yet; it is waited for within `timeout`. Panics
/// only if no consumer can be created at all.
pub async fn consume_all(
    brokers: &str,
    topic: &str,
    expected: usize,
    timeout: Duration,
) -> Vec<Message> {
    let (brokers, topic) = (brokers.to_owned(), topic.to_owned());
    // librdkafka's poll blocks a thread; keep it off the runtime's workers so
    // whatever the test runs on the same runtime (sluice itself, perhaps)
    // keeps going.
    tokio::task::spawn_blocking(move || consume_all_blocking(&brokers, &topic, expected, timeout))
        .await
        .expect("consume_all panicked")
}

/// [`consume_all`] for code outside an async runtime.
pub fn consume_all_blocking(
    brokers: &str,
    topic: &str,
    expected: usize,
    timeout: Duration,
) -> Vec<Message> {
    read_topic(brokers, topic, timeout, Until::Count(expected))
}

/// Reads `topic` from the beginning until nothing arrived for `quiet`
/// (after a first message), or `timeout`: for a topic whose message count
/// a test cannot know (a snapshot under concurrent writes). Call it once
/// Kafka acknowledged everything (the checkpoint caught up).
pub fn consume_until_quiet(
    brokers: &str,
    topic: &str,
    quiet: Duration,
    timeout: Duration,
) -> Vec<Message> {
    read_topic(brokers, topic, timeout, Until::Quiet(quiet))
}

enum Until {
    /// This many messages, then [`EXTRA_READ`] more to catch extras.
    Count(usize),
    Quiet(Duration),
}

fn read_topic(brokers: &str, topic: &str, timeout: Duration, until: Until) -> Vec<Message> {
    let deadline = Instant::now() + timeout;
    let c = consumer(brokers).unwrap_or_else(|e| panic!("{e:#}"));

    // Wait for the topic to exist (sluice may not have created it yet).
    let parts = loop {
        match partitions(&c, topic) {
            Ok(Some(p)) => break p,
            Ok(None) => {}
            Err(e) => eprintln!("consume_all({topic}): {e:#}; retrying"),
        }
        if Instant::now() >= deadline {
            eprintln!("consume_all({topic}): topic did not appear within {timeout:?}");
            return Vec::new();
        }
        std::thread::sleep(Duration::from_millis(100));
    };

    let mut tpl = TopicPartitionList::new();
    for p in &parts {
        tpl.add_partition_offset(topic, *p, Offset::Beginning)
            .expect("adding a partition to the assignment");
    }
    c.assign(&tpl)
        .unwrap_or_else(|e| panic!("assign({topic}): {e}"));

    let mut out = Vec::new();
    let mut stop_at = deadline;
    let mut got_expected = false;
    let mut last_arrival = Instant::now();
    loop {
        let now = Instant::now();
        if now >= stop_at {
            break;
        }
        match until {
            Until::Count(expected) if !got_expected && out.len() >= expected => {
                got_expected = true;
                stop_at = now + EXTRA_READ;
                continue;
            }
            Until::Quiet(quiet) if !out.is_empty() && now >= last_arrival + quiet => break,
            _ => {}
        }
        let wait = (stop_at - now).min(Duration::from_millis(100));
        match c.poll(wait) {
            Some(Ok(m)) => {
                last_arrival = Instant::now();
                out.push(Message {
                    topic: m.topic().to_owned(),
                    partition: m.partition(),
                    offset: m.offset(),
                    key: m.key().map(<[u8]>::to_vec),
                    payload: m.payload().map(<[u8]>::to_vec),
                    headers: m
                        .headers()
                        .map(|hs| {
                            hs.iter()
                                .map(|h| (h.key.to_owned(), h.value.map(<[u8]>::to_vec)))
                                .collect()
                        })
                        .unwrap_or_default(),
                    timestamp: m.timestamp().to_millis(),
                })
            }
            // Transient broker errors (a restarting broker, say) are the
            // test's business to provoke, not ours to fail on; keep polling.
            Some(Err(e)) => eprintln!("consume_all({topic}): {e}"),
            None => {}
        }
    }
    out.sort_by_key(|m| (m.partition, m.offset));
    out
}

/// Names of all topics the broker has, sorted.
pub async fn list_topics(brokers: &str) -> anyhow::Result<Vec<String>> {
    let brokers = brokers.to_owned();
    tokio::task::spawn_blocking(move || {
        let c = consumer(&brokers)?;
        let md = c
            .fetch_metadata(None, Duration::from_secs(10))
            .context("fetching metadata")?;
        let mut names: Vec<String> = md.topics().iter().map(|t| t.name().to_owned()).collect();
        names.sort();
        Ok(names)
    })
    .await
    .expect("list_topics panicked")
}

/// Produce one record and wait for the broker's acknowledgement; returns
/// (partition, offset). For tests that need a topic with content in it.
pub async fn produce(
    brokers: &str,
    topic: &str,
    key: Option<&[u8]>,
    payload: &[u8],
) -> anyhow::Result<(i32, i64)> {
    let producer: FutureProducer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .set("message.timeout.ms", "10000")
        .create()
        .context("creating a Kafka producer")?;
    let mut record = FutureRecord::<[u8], [u8]>::to(topic).payload(payload);
    if let Some(k) = key {
        record = record.key(k);
    }
    let delivery = producer
        .send(record, Duration::from_secs(10))
        .await
        .map_err(|(e, _)| anyhow::anyhow!("producing to {topic}: {e}"))?;
    Ok((delivery.partition, delivery.offset))
}

/// Create a topic; an already existing one is fine.
pub async fn create_topic(brokers: &str, topic: &str, partitions: i32) -> anyhow::Result<()> {
    let admin: AdminClient<DefaultClientContext> = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .context("creating a Kafka admin client")?;
    let new = NewTopic::new(topic, partitions, TopicReplication::Fixed(1));
    let results = admin
        .create_topics([&new], &AdminOptions::new())
        .await
        .with_context(|| format!("creating topic {topic}"))?;
    for r in results {
        match r {
            Ok(_) | Err((_, RDKafkaErrorCode::TopicAlreadyExists)) => {}
            Err((name, code)) => anyhow::bail!("creating topic {name}: {code}"),
        }
    }
    Ok(())
}
