//! # Sluice
//!
//! Reads a MySQL or MariaDB server's row-based binary log as a replica, turns
//! every row change into a MessagePack event and produces it to Kafka.
//!
//! # Layout
//! The data flow is the module structure:
//!
//! ```text
//! binlog/      preflight checks, replica connection, transaction boundaries
//!   -> decode/     table maps and row images -> MessagePack events
//!   -> route/      table selection and topic names
//!   -> kafka/      producer, topics, delivery tracking (or the null sink)
//!   -> checkpoint/ ordered acknowledgements -> durable resume position
//! event/       the event type and its encoding: the leaf every stage shares
//! config/      the TOML file: raw (serde) -> validated
//! app/         wires the stages together with bounded channels; no logic
//! ```
//!
//! # Data flow
//! A tokio task reads binlog events and sends them in chunks over a bounded
//! channel to the pipeline thread, which tracks transaction boundaries,
//! decodes rows into a batch and hands the batch to the sink. The sink
//! acknowledges each record's transaction to the checkpoint tracker when
//! Kafka confirms delivery; the checkpoint is the start of the oldest
//! transaction not yet fully acknowledged. A full channel or a full producer
//! queue blocks the stage before it, so backpressure reaches the reader.
//!
//! # Error handling
//! Each stage has its own error type. Errors that may pass (a lost
//! connection, a broker away) are retried with backoff; definite ones (a
//! malformed row, a purged binlog, a wrong server setting) stop the pipeline
//! without moving the checkpoint, with a message that names the binlog
//! position and says what to do.

pub mod app;
pub mod binlog;
pub mod checkpoint;
pub mod config;
pub mod decode;
pub mod event;
pub mod kafka;
pub mod plugin;
pub mod route;
pub mod tail;
