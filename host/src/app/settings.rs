//! `[pipeline]`: the sink, and the sizes of the queues between the stages.
//! Each default is a constant here, the one place it is written
//! (docs/CONFIG.md is checked against these by a test in `config`).

use crate::kafka::SinkKind;

pub const DEFAULT_SINK: SinkKind = SinkKind::Kafka;
/// The pipeline's name when the config gives none.
pub const DEFAULT_NAME: &str = "sluice";
/// Messages handed to the producer and not yet acknowledged.
pub const DEFAULT_MAX_IN_FLIGHT: usize = 100_000;
/// Rows decoded into one batch before it is sent on.
pub const DEFAULT_BATCH_ROWS: usize = 2048;
/// Encoded bytes in one batch before it is sent on.
pub const DEFAULT_BATCH_BYTES: usize = 8 << 20;
/// Chunks of binlog events buffered between the reader and the decoder.
pub const DEFAULT_CHANNEL_CHUNKS: usize = 16;

/// Every size is at least 1.
#[derive(Clone, Debug, PartialEq)]
pub struct PipelineSettings {
    /// Letters, digits, `.`, `_` and `-`: it names Kafka keys and ids.
    pub name: String,
    pub sink: SinkKind,
    pub max_in_flight: usize,
    pub batch_rows: usize,
    pub batch_bytes: usize,
    pub channel_chunks: usize,
}
