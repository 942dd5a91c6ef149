//! # Sluice
//!
//! Reads a MySQL or MariaDB server's row-based binary log as a replica, turns
//! every row change into a MessagePack event and produces it to Kafka.
//!
//! # Layout
//! The data flow is the module structure:
//!
//! ```text
//! binlog/      preflight checks, catalog probes, replica connection, and the
//!              transaction-boundary stepper (boundary.rs)
//!   -> decode/     table maps and row images -> MessagePack events
//!   -> route/      table selection and topic names
//!   -> plugin/     the WebAssembly sandbox; stage.rs runs each rule's chain
//!                  over a batch
//!   -> kafka/      producer, topics, sink health, acknowledgements (or the
//!                  null sink)
//!   -> checkpoint/ ordered acknowledgements -> durable resume position
//! event/       the event, its layout and encoding: the leaf every stage shares
//! shutdown     one cancellation, with a reason, for the whole process
//! config/      the TOML file: raw (serde) -> each stage's settings; at the
//!              edge: stages never import it
//! app/         wiring only: builds the stages, connects them with bounded
//!              channels, supervises a session; no SQL, MessagePack or
//!              rdkafka calls
//! ```
//!
//! # Data flow
//! A tokio task reads binlog events and sends them in chunks over a bounded
//! channel to the pipeline thread. There the boundary stepper says where
//! each transaction begins and ends, the decoder writes rows into a batch,
//! the plugin stage runs the rules' chains over it and the sink produces
//! it. The sink reports each acknowledgement through the narrow
//! `kafka::Acks` interface, which the checkpoint tracker implements; the
//! checkpoint is the start of the oldest transaction not yet fully
//! acknowledged. A full channel or a full producer queue blocks the stage
//! before it, so backpressure reaches the reader.
//!
//! One `shutdown::Cancel` per session ends it: a signal (through the
//! process-wide parent), the pipeline ending, or the sink's health (the
//! first delivery failure, or no acknowledgement for the stall timeout).
//!
//! # Error handling
//! Each stage has its own error type. Errors that may pass (a lost
//! connection, a broker away) are retried with backoff; definite ones (a
//! malformed row, a purged binlog, a wrong server setting) stop the pipeline
//! without moving the checkpoint, with a message that names the binlog
//! position and says what to do.

// The library's public surface is what the binary, the integration tests,
// the benchmarks and the fuzz target use; everything else is crate-private,
// so the compiler reports code nothing uses.
pub mod app;
pub(crate) mod binlog;
pub(crate) mod checkpoint;
pub mod config;
pub(crate) mod decode;
pub(crate) mod event;
pub(crate) mod kafka;
pub mod plugin;
pub(crate) mod route;
pub(crate) mod shutdown;
pub mod tail;

/// What the fuzz target in `fuzz/` drives: the file reader, the boundary
/// classifier and the decoder. Not an API.
#[doc(hidden)]
pub mod fuzzing {
    pub use crate::binlog::file::BinlogBytes;
    pub use crate::binlog::txn::{classify, EventKind, Positions};
    pub use crate::decode::{Decoder, TablePlan, TxnSource};
    pub use crate::event::{Batch, Position, TxnId};
}
