//! The sink stage: hands encoded events to Kafka (or drops them, for dry
//! runs), reports each delivery through [`Acks`] and its own state through
//! [`SinkHealth`]. `probe` answers "is Kafka there, and does it accept
//! Sluice's TLS and SASL settings?" for `sluice check`, `sluice tail` and
//! the start of every session; `security` makes every client connect the
//! same way.
//!
//! This stage sees batches and topics only; it knows nothing of the binlog.

mod health;
mod null;
pub(crate) mod probe;
mod producer;
pub(crate) mod security;
pub(crate) mod settings;
mod topics;

#[cfg(test)]
mod tests;

pub(crate) use health::{Acks, SinkHealth};
pub(crate) use null::NullSink;
pub(crate) use probe::ProbeError;
pub(crate) use producer::KafkaSink;
pub(crate) use settings::{KafkaSettings, SinkKind};
pub(crate) use topics::TopicError;

use crate::event::Batch;
use crate::shutdown::Cancel;

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("cannot create the Kafka producer: {0}; check [kafka] brokers, its TLS and SASL keys and the [kafka.producer] properties")]
    Config(String),
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error("Kafka did not accept a message for topic {topic}: {reason}; the checkpoint stays before this transaction, so nothing is lost{}", if *.transient { ": reconnecting and sending again from the checkpoint" } else { " when Sluice is restarted after the cause is fixed" })]
    Delivery {
        topic: String,
        reason: String,
        /// Whether sending again may succeed (a broker away, a producer
        /// fenced after a broker restart) rather than fail the same way (a
        /// message too large, no permission).
        transient: bool,
    },
    #[error("an event of {db}.{table} is {size} bytes, more than the producer accepts ({reason}); raise \"message.max.bytes\" under [kafka.producer] (and the topic's max.message.bytes on the brokers), or leave the large column out with exclude_columns")]
    TooLarge {
        db: String,
        table: String,
        size: usize,
        reason: String,
        /// The record's transaction, for the pipeline to name its position.
        txn: crate::event::TxnId,
    },
    #[error("Kafka acknowledged none of the {outstanding} messages waiting for it in {secs} s; starting over from the checkpoint with a new producer (a producer can get stuck, e.g. when a broker lost its producer state). If Kafka is simply down, this repeats until it is back; [kafka] stall_timeout_secs sets the wait")]
    Stalled { outstanding: u64, secs: u64 },
    #[error(transparent)]
    Topic(#[from] TopicError),
    #[error("stopped while waiting for Kafka")]
    Stopped,
    #[error("another Sluice with the same [pipeline] name started and fenced this one (transactional id {id}); this process stops and leaves the pipeline to the other, whose read_committed output continues where this one's last committed transaction ended. Give each pipeline its own name; for a standby, set [standby] enabled = true")]
    Fenced { id: String },
    #[error("Kafka refused to commit the transaction: {reason}; it was aborted, and Sluice starts again from the last committed checkpoint")]
    Commit { reason: String },
}

impl SinkError {
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SinkError::Delivery {
                transient: true,
                ..
            } | SinkError::Stalled { .. }
                | SinkError::Commit { .. }
        )
    }
}

/// Errors that sending again cannot fix.
pub(crate) fn is_definite(code: rdkafka::types::RDKafkaErrorCode) -> bool {
    use rdkafka::types::RDKafkaErrorCode::*;
    matches!(
        code,
        MessageSizeTooLarge
            | InvalidMessageSize
            | MessageBatchTooLarge
            | InvalidRecord
            | TopicAuthorizationFailed
            | ClusterAuthorizationFailed
            | InvalidTopic
            | InvalidRequiredAcks
            | PolicyViolation
    )
}

/// Where batches go.
pub enum Sink {
    Kafka(KafkaSink),
    Null(NullSink),
}

impl Sink {
    /// Sends every record of `batch`, whose topics are already set. Blocks
    /// while the producer's queue is full: that is the backpressure that
    /// eventually stops the binlog reader. A cancelled `cancel` ends the
    /// wait with [`SinkError::Stopped`].
    pub fn send(&mut self, batch: &Batch, cancel: &Cancel) -> Result<(), SinkError> {
        match self {
            Sink::Kafka(k) => k.send(batch, cancel),
            Sink::Null(n) => n.send(batch),
        }
    }

    /// With exactly-once delivery: commits the open Kafka transaction with
    /// `checkpoint` (topic, key, value) as its last record, and opens the
    /// next. Without it there is nothing to commit.
    pub fn commit(&mut self, checkpoint: (&str, &str, &[u8])) -> Result<(), SinkError> {
        match self {
            Sink::Kafka(k) => k.commit(checkpoint),
            Sink::Null(_) => Ok(()),
        }
    }

    /// With exactly-once delivery: aborts the open Kafka transaction, so
    /// `read_committed` consumers need not wait for its timeout.
    pub fn abort(&mut self) {
        if let Sink::Kafka(k) = self {
            k.abort();
        }
    }
}
