//! The change event: the one type every stage shares, and its MessagePack
//! encoding. This module depends on no other stage.
//!
//! The wire format is a public contract documented in `docs/FORMAT.md`;
//! [`FORMAT_VERSION`] changes whenever that document does in a way a
//! consumer could notice. [`layout`] is the one place that writes its
//! fields; [`json`] is the one JSON rendering of events for people, and
//! [`topic`] the one rule for topic names. [`marker`] writes heartbeats and
//! transaction markers, which are messages of their own beside the events.

pub(crate) mod batch;
pub(crate) mod columns;
pub(crate) mod ddl;
pub(crate) mod json;
pub(crate) mod layout;
pub(crate) mod marker;
pub(crate) mod msgpack;
pub(crate) mod position;
pub(crate) mod topic;

pub(crate) use batch::{Batch, Record};
pub(crate) use position::Position;

/// Number of a transaction in the order it was read, handed out by the
/// checkpoint tracker: every record carries its transaction's, and the sink
/// acknowledges records by it.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TxnId(pub u64);

/// Version of the event value layout, written as the `v` field of every event.
pub(crate) const FORMAT_VERSION: u64 = 1;

/// What happened to the row.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Op {
    /// Insert (`"c"`, create).
    Create,
    /// Update (`"u"`).
    Update,
    /// Delete (`"d"`).
    Delete,
    /// Snapshot read (`"r"`), reserved for a future snapshot mode.
    Read,
    /// A schema change (`"ddl"`), sent to the DDL topic; see [`ddl`].
    Ddl,
    /// A heartbeat (`"heartbeat"`), sent to the heartbeat topic; see [`marker`].
    Heartbeat,
    /// A transaction's BEGIN or END record (`"transaction"`), sent to the
    /// transaction topic; see [`marker`].
    Transaction,
}

impl Op {
    /// The one-letter code used in the event and in the `op` header.
    pub fn code(self) -> &'static str {
        match self {
            Op::Create => "c",
            Op::Update => "u",
            Op::Delete => "d",
            Op::Read => "r",
            Op::Ddl => "ddl",
            Op::Heartbeat => "heartbeat",
            Op::Transaction => "transaction",
        }
    }

    /// 0, 1, 2 for insert (and snapshot read), update, delete: the index
    /// into a rule's `ops`. Schema changes and markers are not row ops and
    /// get 3, past the end of `ops`.
    pub fn index(self) -> usize {
        match self {
            Op::Create | Op::Read => 0,
            Op::Update => 1,
            Op::Delete => 2,
            Op::Ddl | Op::Heartbeat | Op::Transaction => 3,
        }
    }

    /// The op of a code a plugin or a person may write: markers are
    /// Sluice's own and never read back.
    pub fn from_code(code: &str) -> Option<Op> {
        Some(match code {
            "c" => Op::Create,
            "u" => Op::Update,
            "d" => Op::Delete,
            "r" => Op::Read,
            "ddl" => Op::Ddl,
            _ => return None,
        })
    }
}

/// Milliseconds since the Unix epoch, for `ts_ms` fields.
pub(crate) fn now_ms() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as u64)
        .unwrap_or(0)
}
