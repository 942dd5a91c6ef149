//! The checkpoint in Kafka: one record per pipeline, keyed by its name, in a
//! compacted topic, so a process needs no disk and any machine can resume
//! the pipeline.
//!
//! Reading takes every partition from its start to its end with
//! `read_committed`, and keeps the last record with the pipeline's key.
//! With exactly-once delivery the records are written by the sink, inside
//! the Kafka transactions of the changes they cover; reading first fences
//! earlier writers with the pipeline's transactional id, which also aborts
//! a transaction a crashed process left open, so what is read is final.

use std::path::PathBuf;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::{ClientContext, DefaultClientContext};
use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::Message;
use rdkafka::producer::{BaseProducer, BaseRecord, DeliveryResult, Producer, ProducerContext};
use rdkafka::{Offset, TopicPartitionList};

use super::file::FileStore;
use super::record::Checkpoint;
use super::StoreError;
use crate::kafka::security::{client_config, KafkaSecurity};

/// How long reading or writing the checkpoint may take before it is an
/// error (Kafka away at start-up is reported, not waited out).
const TIMEOUT: Duration = Duration::from_secs(20);
/// Reading the checkpoint topic: nothing fetched for this long is its end.
const QUIET: Duration = Duration::from_secs(3);

/// What the Kafka checkpoint store needs to know.
#[derive(Clone, Debug)]
pub(crate) struct KafkaStoreSettings {
    pub brokers: String,
    pub security: KafkaSecurity,
    pub topic: String,
    /// `[pipeline] name`: the record's key.
    pub name: String,
    pub create_topic: bool,
    pub replication_factor: i32,
    /// Exactly-once delivery: the sink writes the records; reading fences.
    pub transactional: bool,
    /// A checkpoint file to take over when Kafka has none for this
    /// pipeline (moving from `store = "file"`); `None` for read-only uses.
    pub import_from: Option<PathBuf>,
}

/// The transactional id of a pipeline: the sink's, and the one reading
/// fences with.
pub(crate) fn transactional_id(name: &str) -> String {
    format!("sluice-{name}")
}

pub(crate) struct KafkaStore {
    s: KafkaStoreSettings,
    producer: Option<BaseProducer<Delivered>>,
    /// Whether the topic was made sure of in this process.
    topic_ready: bool,
}

impl KafkaStore {
    pub(crate) fn new(s: KafkaStoreSettings) -> Self {
        KafkaStore {
            s,
            producer: None,
            topic_ready: false,
        }
    }

    pub(crate) fn transactional(&self) -> bool {
        self.s.transactional
    }

    pub(crate) fn topic(&self) -> &str {
        &self.s.topic
    }

    pub(crate) fn name(&self) -> &str {
        &self.s.name
    }

    pub(crate) fn describe(&self) -> String {
        format!("Kafka topic {} key {}", self.s.topic, self.s.name)
    }

    fn read_error(&self, reason: impl ToString) -> StoreError {
        StoreError::KafkaRead {
            name: self.s.name.clone(),
            topic: self.s.topic.clone(),
            brokers: self.s.brokers.clone(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn load(&mut self) -> Result<Option<Checkpoint>, StoreError> {
        blocking(|| {
            self.ensure_topic()?;
            if self.s.transactional {
                self.fence()?;
            }
            match self.read()? {
                Some(cp) => Ok(Some(cp)),
                None => self.import(),
            }
        })
    }

    pub(crate) fn write(&mut self, cp: &Checkpoint) -> Result<(), StoreError> {
        blocking(|| {
            self.ensure_topic()
                .map_err(|e| self.write_error(e.to_string()))?;
            if self.producer.is_none() {
                let mut cc = client_config(&self.s.brokers, &self.s.security);
                cc.set("enable.idempotence", "true").set("acks", "all");
                let p = cc
                    .create_with_context(Delivered::default())
                    .map_err(|e: KafkaError| self.write_error(e.to_string()))?;
                self.producer = Some(p);
            }
            let p = self.producer.as_ref().expect("just made");
            let value = cp.encode();
            *p.context().result.lock().unwrap() = None;
            p.send(
                BaseRecord::<str, [u8]>::to(&self.s.topic)
                    .key(self.s.name.as_str())
                    .payload(&value),
            )
            .map_err(|(e, _)| self.write_error(e.to_string()))?;
            let deadline = Instant::now() + TIMEOUT;
            loop {
                p.poll(Duration::from_millis(50));
                if let Some(r) = p.context().result.lock().unwrap().take() {
                    return r.map_err(|e| self.write_error(e));
                }
                if Instant::now() > deadline {
                    return Err(self
                        .write_error(format!("not acknowledged within {} s", TIMEOUT.as_secs())));
                }
            }
        })
    }

    fn write_error(&self, reason: String) -> StoreError {
        StoreError::KafkaWrite {
            name: self.s.name.clone(),
            topic: self.s.topic.clone(),
            reason,
        }
    }

    /// Creates the topic, compacted, when it is missing and creation is on.
    fn ensure_topic(&mut self) -> Result<(), StoreError> {
        if self.topic_ready || !self.s.create_topic {
            return Ok(());
        }
        let admin: AdminClient<DefaultClientContext> =
            client_config(&self.s.brokers, &self.s.security)
                .create()
                .map_err(|e: KafkaError| self.read_error(e))?;
        // Compaction keeps the last record per pipeline; one partition is
        // plenty for one small record a second per pipeline.
        let new = NewTopic::new(
            &self.s.topic,
            1,
            TopicReplication::Fixed(self.s.replication_factor),
        )
        .set("cleanup.policy", "compact");
        let opts = AdminOptions::new()
            .operation_timeout(Some(TIMEOUT))
            .request_timeout(Some(TIMEOUT));
        let created = admin
            .create_topics([&new], &opts)
            .now_or_never_blocking(TIMEOUT)
            .ok_or_else(|| self.read_error("timed out creating the topic"))?
            .map_err(|e| self.read_error(e))?;
        match created.into_iter().next() {
            Some(Ok(_)) | None | Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => {}
            Some(Err((_, code))) => {
                return Err(self.read_error(format!(
                    "creating the topic failed: {code}; create it (cleanup.policy=compact) or allow Sluice to"
                )))
            }
        }
        self.topic_ready = true;
        Ok(())
    }

    /// Bumps the pipeline's producer epoch: a process still writing with the
    /// old one is refused from now on, and a transaction it left open is
    /// aborted, so the checkpoint read next cannot be overtaken.
    fn fence(&self) -> Result<(), StoreError> {
        let mut cc = client_config(&self.s.brokers, &self.s.security);
        cc.set("transactional.id", transactional_id(&self.s.name));
        let p: BaseProducer = cc.create().map_err(|e: KafkaError| self.read_error(e))?;
        p.init_transactions(TIMEOUT)
            .map_err(|e| self.read_error(format!("fencing earlier writers of this pipeline: {e}")))
    }

    /// The last committed record with this pipeline's key.
    fn read(&self) -> Result<Option<Checkpoint>, StoreError> {
        let mut cc = client_config(&self.s.brokers, &self.s.security);
        cc.set("group.id", format!("sluice-checkpoint-{}", self.s.name))
            .set("enable.auto.commit", "false")
            .set("enable.partition.eof", "true")
            .set("isolation.level", "read_committed");
        let consumer: BaseConsumer<EndIsNoError> = cc
            .create_with_context(EndIsNoError)
            .map_err(|e: KafkaError| self.read_error(e))?;
        let meta = consumer
            .fetch_metadata(Some(&self.s.topic), TIMEOUT)
            .map_err(|e| self.read_error(e))?;
        let Some(topic) = meta.topics().iter().find(|t| t.name() == self.s.topic) else {
            return Ok(None);
        };
        if topic.error().is_some() || topic.partitions().is_empty() {
            // The topic does not exist (creation is off): no checkpoint yet.
            return Ok(None);
        }
        let started_ms = crate::event::now_ms() as i64;
        let mut tpl = TopicPartitionList::new();
        // Where each partition's log ends now: what was written before the
        // read began is all that matters. Asked with read_uncommitted: a
        // read_committed answer is the last stable offset, which an open
        // transaction of another pipeline sharing the topic holds back
        // (tansu answers 0 then), and a read stopping there would miss
        // this pipeline's newest records.
        let mut ends = std::collections::BTreeMap::new();
        let log_ends: BaseConsumer = client_config(&self.s.brokers, &self.s.security)
            .set("isolation.level", "read_uncommitted")
            .create()
            .map_err(|e: KafkaError| self.read_error(e))?;
        for p in topic.partitions() {
            tpl.add_partition_offset(&self.s.topic, p.id(), Offset::Beginning)
                .map_err(|e| self.read_error(e))?;
            let (low, high) = log_ends
                .fetch_watermarks(&self.s.topic, p.id(), TIMEOUT)
                .map_err(|e| self.read_error(e))?;
            if high > low {
                ends.insert(p.id(), high);
            }
        }
        consumer.assign(&tpl).map_err(|e| self.read_error(e))?;
        let mut last: Option<(i32, i64, Option<Vec<u8>>)> = None;
        let deadline = Instant::now() + TIMEOUT;
        let mut heard: Option<Instant> = None;
        // A partition is read when a record at or past its end arrives,
        // one written after the read began, or the broker says "end of
        // partition". Some brokers (tansu) report a wrong end after
        // batches of several records: then fetching that brought nothing
        // for QUIET after a first record ends it too, since everything
        // committed is fetchable at once. Nothing at all and no end: an
        // error, never a guess that there is no checkpoint.
        while !ends.is_empty() && heard.is_none_or(|t| t.elapsed() < QUIET) {
            if Instant::now() > deadline {
                return Err(self.read_error(format!(
                    "not read to its end within {} s",
                    TIMEOUT.as_secs()
                )));
            }
            match consumer.poll(Duration::from_millis(200)) {
                None => {}
                Some(Err(KafkaError::PartitionEOF(p))) => {
                    // A read_committed consumer's end is the last stable
                    // offset, which can be short of the log's end (see
                    // above): the end only when it is past it.
                    let at = consumer.position().ok().and_then(|tpl| {
                        tpl.find_partition(&self.s.topic, p)
                            .and_then(|e| e.offset().to_raw())
                    });
                    if at.is_none_or(|at| ends.get(&p).is_none_or(|end| at >= *end)) {
                        ends.remove(&p);
                    }
                }
                Some(Err(e)) => return Err(self.read_error(e)),
                Some(Ok(m)) => {
                    heard = Some(Instant::now());
                    let later = m.timestamp().to_millis().is_some_and(|t| t > started_ms);
                    if later
                        || ends
                            .get(&m.partition())
                            .is_some_and(|end| m.offset() + 1 >= *end)
                    {
                        ends.remove(&m.partition());
                    }
                    if !later && m.key() == Some(self.s.name.as_bytes()) {
                        last = Some((m.partition(), m.offset(), m.payload().map(<[u8]>::to_vec)));
                    }
                }
            }
        }
        let Some((partition, offset, value)) = last else {
            return Ok(None);
        };
        // A null value deletes the checkpoint (a start from `[source] start`).
        let Some(value) = value else {
            return Ok(None);
        };
        Checkpoint::decode(&value)
            .map(Some)
            .map_err(|reason| StoreError::KafkaInvalid {
                name: self.s.name.clone(),
                topic: self.s.topic.clone(),
                partition,
                offset,
                reason,
            })
    }

    /// The checkpoint file this pipeline used before `store = "kafka"`, if
    /// there is one: the first save writes it to Kafka, and from then on
    /// the file is not read again.
    fn import(&self) -> Result<Option<Checkpoint>, StoreError> {
        let Some(dir) = &self.s.import_from else {
            return Ok(None);
        };
        if !dir.join("checkpoint.json").is_file() {
            return Ok(None);
        }
        let cp = FileStore::open(dir)?.load()?;
        if let Some(cp) = &cp {
            tracing::warn!(file = %dir.join("checkpoint.json").display(), position = %cp.position(), topic = %self.s.topic, key = %self.s.name, "no checkpoint in Kafka for this pipeline: taking over the checkpoint file; from its first save on, the checkpoint is kept in Kafka only and the file can be deleted");
        }
        Ok(cp)
    }
}

/// Runs a blocking Kafka call without stalling the runtime's only worker.
fn blocking<T>(f: impl FnOnce() -> T) -> T {
    use tokio::runtime::{Handle, RuntimeFlavor};
    match Handle::try_current() {
        Ok(h) if h.runtime_flavor() == RuntimeFlavor::MultiThread => tokio::task::block_in_place(f),
        _ => f(),
    }
}

/// Waits for a future on the current thread, for admin calls made from
/// blocking code.
trait NowOrNeverBlocking: std::future::Future + Sized {
    fn now_or_never_blocking(self, timeout: Duration) -> Option<Self::Output> {
        let deadline = Instant::now() + timeout;
        let mut fut = Box::pin(self);
        loop {
            if let Some(out) = fut.as_mut().now_or_never() {
                return Some(out);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl<F: std::future::Future> NowOrNeverBlocking for F {}

/// A consumer context that does not log reaching a partition's end (which
/// `read` asks to be told) as an error.
struct EndIsNoError;

impl ClientContext for EndIsNoError {
    fn error(&self, error: KafkaError, reason: &str) {
        if !matches!(error, KafkaError::PartitionEOF(_)) {
            tracing::warn!(%error, reason, "Kafka client error while reading the checkpoint");
        }
    }
}

impl rdkafka::consumer::ConsumerContext for EndIsNoError {}

/// The outcome of the last checkpoint write.
#[derive(Default)]
struct Delivered {
    result: Mutex<Option<Result<(), String>>>,
}

impl ClientContext for Delivered {}

impl ProducerContext for Delivered {
    type DeliveryOpaque = ();

    fn delivery(&self, r: &DeliveryResult<'_>, _: ()) {
        *self.result.lock().unwrap() = Some(r.as_ref().map(|_| ()).map_err(|(e, _)| e.to_string()));
    }
}
