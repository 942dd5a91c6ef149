//! The sink stage: hands encoded events to Kafka (or drops them, for dry
//! runs) and reports each delivery to the checkpoint tracker.
//!
//! This stage sees batches and topics only; it knows nothing of the binlog.

mod null;
mod producer;
mod topics;

#[cfg(test)]
mod tests;

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

pub use null::NullSink;
pub use producer::KafkaSink;
pub use topics::TopicError;

use crate::event::Batch;

#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    #[error("cannot create the Kafka producer: {0}; check [kafka] brokers and the [kafka.producer] properties")]
    Config(String),
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
}

impl SinkError {
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            SinkError::Delivery {
                transient: true,
                ..
            } | SinkError::Stalled { .. }
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

/// See [`Sink::failure_watch`].
#[derive(Clone)]
pub struct FailureWatch(Option<Arc<std::sync::Mutex<Option<SinkError>>>>);

impl FailureWatch {
    pub fn failed(&self) -> bool {
        self.0.as_ref().is_some_and(|f| f.lock().unwrap().is_some())
    }

    /// Records `e` as the sink's failure (unless one is recorded already),
    /// so the pipeline gives up waiting on the producer and reports it.
    pub fn fail(&self, e: SinkError) {
        if let Some(f) = &self.0 {
            f.lock().unwrap().get_or_insert(e);
        }
    }
}

/// Where batches go.
pub enum Sink {
    Kafka(KafkaSink),
    Null(NullSink),
}

impl Sink {
    /// Sends every record of `batch`, whose topics are already set. Blocks
    /// while the producer's queue is full: that is the backpressure that
    /// eventually stops the binlog reader.
    pub fn send(&mut self, batch: &Batch, stop: &Arc<AtomicBool>) -> Result<(), SinkError> {
        match self {
            Sink::Kafka(k) => k.send(batch, stop),
            Sink::Null(n) => n.send(batch),
        }
    }

    /// A handle that tells, from any thread, whether a delivery has failed,
    /// so the app can stop a pipeline that is idle and would not notice.
    pub fn failure_watch(&self) -> FailureWatch {
        match self {
            Sink::Kafka(k) => FailureWatch(Some(k.failure_slot())),
            Sink::Null(_) => FailureWatch(None),
        }
    }

    /// Any delivery failure reported since the last call.
    pub fn take_failure(&self) -> Option<SinkError> {
        match self {
            Sink::Kafka(k) => k.take_failure(),
            Sink::Null(_) => None,
        }
    }
}
