//! What the planner (pipeline thread) asks of the reader task, and what
//! comes back.

use std::sync::Arc;

use super::catalog::TableInfo;
use super::chunk::ChunkRows;
use super::columns::SnapshotTable;
use super::{KeyValue, SnapshotError};
use crate::event::Position;

/// Work for the reader, one at a time, in order.
#[derive(Debug)]
pub(crate) enum Job {
    /// Read the next chunk of a table.
    Chunk(ChunkRequest),
    /// List the server's tables (to resolve a request's patterns).
    Tables { id: u64 },
    /// Read a table without a primary key whole, in one consistent read,
    /// and send it in parts of `limit` rows ([`Reply::Part`]).
    Whole(ChunkRequest),
}

#[derive(Debug)]
pub(crate) struct ChunkRequest {
    pub id: u64,
    pub db: String,
    pub table: String,
    /// Changes when the table was altered: the reader describes it again.
    pub epoch: u64,
    pub condition: Option<String>,
    pub after: Option<Vec<KeyValue>>,
    pub limit: usize,
}

#[derive(Debug)]
pub(crate) enum Reply {
    Chunk {
        id: u64,
        outcome: Result<ChunkOutcome, SnapshotError>,
    },
    Tables {
        id: u64,
        outcome: Result<Vec<TableInfo>, SnapshotError>,
    },
    /// One part of a [`Job::Whole`] read; every part has the same `high`:
    /// the exact binlog position of the consistent read.
    Part {
        id: u64,
        outcome: Result<PartOutcome, SnapshotError>,
    },
}

#[derive(Debug)]
pub(crate) enum PartOutcome {
    Rows {
        chunk: Box<ReadChunk>,
        last: bool,
    },
    Gone,
    /// The server does not say which binlog position a consistent read
    /// sees (MySQL has no `binlog_snapshot_position`).
    NoConsistentPosition,
}

#[derive(Debug)]
pub(crate) enum ChunkOutcome {
    Rows(Box<ReadChunk>),
    /// The table does not exist (any more).
    Gone,
    /// The table has no primary key to page by.
    NoPrimaryKey,
}

/// A chunk read, and the binlog position past every transaction its
/// `SELECT` saw (its high watermark).
#[derive(Debug)]
pub(crate) struct ReadChunk {
    pub table: Arc<SnapshotTable>,
    pub rows: ChunkRows,
    pub high: Position,
    /// When the `SELECT` ran (milliseconds since the epoch): the rows'
    /// `source.ts_ms`.
    pub read_ms: u64,
}
