//! The rdkafka producer: idempotent, `acks=all`, compressed; every
//! acknowledgement goes to [`Acks`], every failure to [`SinkHealth`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use rdkafka::client::ClientContext;
use rdkafka::error::{KafkaError, RDKafkaErrorCode};
use rdkafka::message::{BorrowedMessage, Header, Headers, Message, OwnedHeaders};
use rdkafka::producer::{BaseRecord, DeliveryResult, Producer, ProducerContext, ThreadedProducer};
use rdkafka::statistics::Statistics;

use super::security::{client_config, creation_error};
use super::topics::Topics;
use super::{Acks, KafkaSettings, SinkError, SinkHealth};
use crate::event::{Batch, Op, Record, TxnId};
use crate::shutdown::Cancel;

/// Sluice's producer defaults; `[kafka.producer]` overrides any of them.
const DEFAULTS: &[(&str, &str)] = &[
    ("enable.idempotence", "true"),
    ("acks", "all"),
    ("compression.type", "lz4"),
    ("linger.ms", "5"),
    // Never give up on a message: while Kafka is away, Sluice waits (and
    // stops reading the binlog once the queue is full) rather than fail.
    ("message.timeout.ms", "0"),
    ("queue.buffering.max.kbytes", "65536"),
    // librdkafka's statistics, for the retry counter (`txretries`).
    ("statistics.interval.ms", "5000"),
];

/// The delivery opaque of a checkpoint record: it belongs to no binlog
/// transaction and is acknowledged by the commit.
const CHECKPOINT: usize = usize::MAX;

/// How long Kafka may take to start, commit or abort a transaction.
const TXN_TIMEOUT: Duration = Duration::from_secs(30);

struct Delivery {
    acks: Arc<dyn Acks>,
    health: Arc<SinkHealth>,
    /// Retries this producer reported so far (its statistics are totals).
    retries: AtomicU64,
    /// The transactional id, named when the producer is fenced.
    id: String,
}

impl ClientContext for Delivery {
    fn stats(&self, statistics: Statistics) {
        let total: u64 = statistics.brokers.values().map(|b| b.txretries).sum();
        let before = self.retries.swap(total, Ordering::Relaxed);
        if total > before {
            crate::metrics::get().kafka_retries.inc_by(total - before);
        }
    }
}

impl ProducerContext for Delivery {
    type DeliveryOpaque = usize;

    fn delivery(&self, result: &DeliveryResult<'_>, txn: usize) {
        if txn == CHECKPOINT {
            // Its failure fails the commit, which reports it.
            return;
        }
        match result {
            Ok(_) => {
                crate::metrics::get().kafka_acks.inc();
                self.health.acked(1);
                self.acks.ack(TxnId(txn as u64), 1);
            }
            Err((e, msg)) => {
                crate::metrics::get().kafka_errors.inc();
                // The transaction is not acknowledged, so the checkpoint
                // cannot move past it; the pipeline stops on this error.
                self.acks.failed(TxnId(txn as u64));
                self.health
                    .fail(refused(e, msg, TxnId(txn as u64), &self.id));
            }
        }
    }
}

/// A transactional call's error: fencing is final; anything else ends the
/// session, which starts again from the last committed checkpoint.
fn txn_error(e: &KafkaError, id: &str) -> SinkError {
    let code = e.rdkafka_error_code();
    let fenced = matches!(
        code,
        Some(RDKafkaErrorCode::ProducerFenced | RDKafkaErrorCode::InvalidProducerEpoch)
    ) || matches!(e, KafkaError::Transaction(t) if t.is_fatal());
    if fenced {
        return SinkError::Fenced { id: id.to_string() };
    }
    SinkError::Commit {
        reason: e.to_string(),
    }
}

/// The error for a message Kafka refused after taking it: a message too
/// large for the broker or topic is named like one the producer refused
/// at once, with its table and size (from the headers Sluice wrote).
fn refused(e: &KafkaError, msg: &BorrowedMessage<'_>, txn: TxnId, id: &str) -> SinkError {
    let code = e.rdkafka_error_code();
    if code == Some(RDKafkaErrorCode::ProducerFenced) {
        return SinkError::Fenced { id: id.to_string() };
    }
    if code == Some(RDKafkaErrorCode::MessageSizeTooLarge) {
        let header = |name: &str| {
            let headers = msg.headers()?;
            let h = headers.iter().find(|h| h.key == name)?;
            Some(String::from_utf8_lossy(h.value?).into_owned())
        };
        return SinkError::TooLarge {
            db: header("db").unwrap_or_default(),
            table: header("table").unwrap_or_default(),
            size: msg.payload_len() + msg.key().map_or(0, <[u8]>::len),
            reason: e.to_string(),
            txn,
        };
    }
    SinkError::Delivery {
        topic: msg.topic().to_string(),
        reason: e.to_string(),
        transient: !code.is_some_and(super::is_definite),
    }
}

pub struct KafkaSink {
    producer: ThreadedProducer<Delivery>,
    topics: Topics,
    acks: Arc<dyn Acks>,
    health: Arc<SinkHealth>,
    /// `message.max.bytes`, named in the error for a message over it.
    max_message: u64,
    /// With exactly-once delivery: the transactional id; a transaction is
    /// always open between commits.
    transactional: Option<String>,
}

impl KafkaSink {
    pub fn new(
        cfg: &KafkaSettings,
        max_in_flight: usize,
        acks: Arc<dyn Acks>,
        health: Arc<SinkHealth>,
        rt: tokio::runtime::Handle,
        transactional: Option<String>,
    ) -> Result<Self, SinkError> {
        let mut cc = client_config(&cfg.brokers, &cfg.security);
        cc.set("queue.buffering.max.messages", max_in_flight.to_string());
        for (k, v) in DEFAULTS {
            cc.set(*k, *v);
        }
        for (k, v) in &cfg.producer {
            cc.set(k, v);
        }
        if let Some(id) = &transactional {
            cc.set("transactional.id", id);
        }
        // A message larger than the whole queue would wait for room forever:
        // the queue must hold at least two of the largest messages allowed.
        let max_message: u64 = cc
            .get("message.max.bytes")
            .and_then(|v| v.parse().ok())
            .unwrap_or(1_000_000);
        let queue_kb: u64 = cc
            .get("queue.buffering.max.kbytes")
            .and_then(|v| v.parse().ok())
            .unwrap_or(65536);
        if queue_kb * 1024 < 2 * max_message {
            let kb = (2 * max_message).div_ceil(1024);
            tracing::info!(
                queue_kbytes = kb,
                message_max_bytes = max_message,
                "raising queue.buffering.max.kbytes to hold two of the largest messages"
            );
            cc.set("queue.buffering.max.kbytes", kb.to_string());
        }
        let producer: ThreadedProducer<Delivery> = cc
            .create_with_context(Delivery {
                acks: acks.clone(),
                health: health.clone(),
                retries: AtomicU64::new(0),
                id: transactional.clone().unwrap_or_default(),
            })
            .map_err(|e| SinkError::Config(creation_error(&e)))?;
        let admin = if cfg.create_topics {
            Some(
                client_config(&cfg.brokers, &cfg.security)
                    .create()
                    .map_err(|e: KafkaError| SinkError::Config(creation_error(&e)))?,
            )
        } else {
            None
        };
        if let Some(id) = &transactional {
            // Fences any other process with this id and aborts what it left
            // open; then the first transaction opens.
            producer
                .init_transactions(TXN_TIMEOUT)
                .and_then(|()| producer.begin_transaction())
                .map_err(|e| txn_error(&e, id))?;
        }
        Ok(KafkaSink {
            producer,
            topics: Topics::new(admin, cfg.partitions, cfg.replication_factor, rt),
            acks,
            health,
            max_message,
            transactional,
        })
    }

    /// See [`super::Sink::commit`].
    pub fn commit(&mut self, (topic, key, value): (&str, &str, &[u8])) -> Result<(), SinkError> {
        let Some(id) = self.transactional.clone() else {
            return Ok(());
        };
        let record = BaseRecord::<str, [u8], usize>::with_opaque_to(topic, CHECKPOINT)
            .key(key)
            .payload(value);
        if let Err((e, _)) = self.producer.send(record) {
            return Err(self.abort_after(&e, &id));
        }
        // rust-rdkafka's commit_transaction first flushes by polling for
        // up to 100 ms at a time, while the deliveries are served by this
        // producer's own thread: each commit would sleep those 100 ms.
        // Waiting for that thread to serve them makes its flush return at
        // once, and the commit then ends the transaction.
        let deadline = std::time::Instant::now() + TXN_TIMEOUT;
        while self.producer.in_flight_count() > 0 && std::time::Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(1));
        }
        if let Err(e) = self.producer.commit_transaction(TXN_TIMEOUT) {
            return Err(self.abort_after(&e, &id));
        }
        self.producer
            .begin_transaction()
            .map_err(|e| txn_error(&e, &id))
    }

    /// See [`super::Sink::abort`].
    pub fn abort(&mut self) {
        if self.transactional.is_some() {
            // Best effort: a process that cannot abort leaves the
            // transaction to its timeout or to the next one's fencing.
            let _ = self.producer.abort_transaction(TXN_TIMEOUT);
        }
    }

    /// The error for a failed commit, after aborting what can be aborted.
    fn abort_after(&mut self, e: &KafkaError, id: &str) -> SinkError {
        let err = txn_error(e, id);
        if !matches!(err, SinkError::Fenced { .. }) {
            self.abort();
        }
        err
    }

    pub fn send(&mut self, batch: &Batch, cancel: &Cancel) -> Result<(), SinkError> {
        self.health.sent(batch.records.len() as u64);
        for r in &batch.records {
            if let Err(e) = self.send_record(batch, r, cancel) {
                if !matches!(e, SinkError::Stopped) {
                    crate::metrics::get().kafka_errors.inc();
                }
                // This record and the rest of the batch were counted for
                // their transactions but never handed over.
                self.acks.failed(r.txn);
                return Err(e);
            }
        }
        match self.health.take_failure() {
            Some(f) => Err(f),
            None => Ok(()),
        }
    }

    /// Hands one record to librdkafka, waiting while its queue is full.
    fn send_record(&mut self, batch: &Batch, r: &Record, cancel: &Cancel) -> Result<(), SinkError> {
        let topic = batch
            .topic(r)
            .expect("records are routed before they reach the sink");
        let table = batch.table(r);
        self.topics.ensure(topic, cancel)?;
        let mut headers = OwnedHeaders::new_with_capacity(5).insert(Header {
            key: "op",
            value: Some(r.op.code()),
        });
        // Heartbeats and transaction markers belong to no table.
        if !matches!(r.op, Op::Heartbeat | Op::Transaction) {
            headers = headers
                .insert(Header {
                    key: "db",
                    value: Some(&*table.db),
                })
                .insert(Header {
                    key: "table",
                    value: Some(&*table.table),
                });
        }
        if let Some(note) = &r.dead_letter {
            // Which plugin failed on the event and why (docs/CONFIG.md).
            headers = headers
                .insert(Header {
                    key: "sluice.dead_letter.plugin",
                    value: Some(&*note.plugin),
                })
                .insert(Header {
                    key: "sluice.dead_letter.error",
                    value: Some(note.error.as_str()),
                });
        }
        if let Some(h) = &r.key_header {
            headers = headers.insert(Header {
                key: h.name,
                value: Some(&batch.buf[h.value.clone()]),
            });
        }
        let mut record: BaseRecord<'_, [u8], [u8], usize> =
            BaseRecord::with_opaque_to(topic, r.txn.0 as usize).headers(headers);
        // A tombstone's value is null on the wire, not empty: only a null
        // value makes a compacted topic forget the key.
        if let Some(payload) = batch.payload(r) {
            record = record.payload(payload);
        }
        if let Some(k) = batch.key(r) {
            record = record.key(k);
        }
        let mut backoff = Duration::from_micros(200);
        loop {
            match self.producer.send(record) {
                Ok(()) => break,
                Err((KafkaError::MessageProduction(RDKafkaErrorCode::QueueFull), rec)) => {
                    // Backpressure, not an error: wait for deliveries.
                    // A failure first: the app halts the pipeline when
                    // one is recorded, and it must be reported as such.
                    if let Some(f) = self.health.take_failure() {
                        return Err(f);
                    }
                    if cancel.is_cancelled() {
                        return Err(SinkError::Stopped);
                    }
                    record = rec;
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_millis(50));
                }
                Err((
                    e @ KafkaError::MessageProduction(RDKafkaErrorCode::MessageSizeTooLarge),
                    _,
                )) => {
                    return Err(SinkError::TooLarge {
                        db: table.db.to_string(),
                        table: table.table.to_string(),
                        size: r.value.len() + r.key.as_ref().map_or(0, |k| k.len()),
                        reason: format!("{e}; message.max.bytes is {}", self.max_message),
                        txn: r.txn,
                    })
                }
                Err((e, _)) => {
                    return Err(SinkError::Delivery {
                        topic: topic.to_string(),
                        transient: !e.rdkafka_error_code().is_some_and(super::is_definite),
                        reason: e.to_string(),
                    })
                }
            }
        }
        Ok(())
    }

    /// Waits up to `timeout` for queued messages to be delivered.
    pub fn flush(&self, timeout: Duration) {
        let _ = self.producer.flush(timeout);
    }
}
