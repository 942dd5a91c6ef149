//! Existing rows: a table's current rows read in primary-key chunks and
//! merged into the binlog stream, so a topic can hold the whole table, not
//! only the changes made after Sluice started (docs/SNAPSHOT.md).
//!
//! The work is split by thread:
//! - [`reader`] (a tokio task with its own connection) runs the chunk
//!   `SELECT`s and turns each row into MessagePack values ([`columns`]
//!   describes a table from `information_schema`, [`value`] converts one
//!   value exactly as the binlog decoder would);
//! - [`planner`] (on the pipeline thread) decides what to read next, opens
//!   the watermark window of each chunk, and merges a chunk into the stream
//!   once the stream has passed the chunk's high watermark, dropping rows
//!   whose key changed inside the window;
//! - [`progress`] is what the checkpoint keeps of it, so a restart resumes
//!   from the last acknowledged chunk;
//! - [`signal`] is the on-demand request: a row written to a small table in
//!   the source database, seen in the binlog, so it is ordered with it.

pub(crate) mod catalog;
pub(crate) mod chunk;
pub(crate) mod columns;
pub(crate) mod emit;
mod error;
pub(crate) mod job;
pub(crate) mod planner;
pub(crate) mod progress;
pub(crate) mod reader;
pub(crate) mod settings;
pub(crate) mod signal;
pub(crate) mod value;
pub(crate) mod whole;

pub(crate) use error::SnapshotError;
pub(crate) use progress::{KeyValue, Progress, Request, TableProgress};
pub use settings::{SignalTable, SnapshotMode, SnapshotSettings};
