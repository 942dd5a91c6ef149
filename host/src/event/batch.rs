//! A batch of encoded events: one flat buffer plus a record per event.
//!
//! The decoder appends to a batch; plugins, the router and the sink read it.
//! One buffer for many events keeps allocations per batch, not per row, and
//! is the same shape the plugin interface passes across the sandbox boundary.

use std::ops::Range;
use std::sync::Arc;

use super::Op;

/// Database and table of a change, shared by every record of that table.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TableName {
    pub db: Arc<str>,
    pub table: Arc<str>,
}

/// One event in a [`Batch`].
#[derive(Clone, Debug)]
pub struct Record {
    /// The MessagePack event value, in [`Batch::buf`]. Empty for a
    /// tombstone (a null value after a delete, for compacted topics).
    pub value: Range<usize>,
    /// The MessagePack key (primary-key columns), in [`Batch::buf`]; `None`
    /// for tables without a primary key.
    pub key: Option<Range<usize>>,
    pub op: Op,
    pub table: Arc<TableName>,
    /// The transaction this change belongs to, as numbered by the
    /// checkpoint tracker: the sink acknowledges records by it.
    pub txn: u64,
    /// Topic chosen by routing; `None` until routed.
    pub topic: Option<Arc<str>>,
    /// Set when a plugin failed on this event and its rule sends such events
    /// to the dead-letter topic: the sink adds these as headers.
    pub dead_letter: Option<Arc<DeadLetterNote>>,
    /// Index of the rule that captured it, whose plugin chain it goes through.
    pub rule: Option<usize>,
}

/// Why an event went to the dead-letter topic.
#[derive(Debug, PartialEq, Eq)]
pub struct DeadLetterNote {
    pub plugin: Arc<str>,
    pub error: String,
}

#[derive(Debug, Default)]
pub struct Batch {
    pub buf: Vec<u8>,
    pub records: Vec<Record>,
}

impl Batch {
    pub fn clear(&mut self) {
        self.buf.clear();
        self.records.clear();
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn value(&self, r: &Record) -> &[u8] {
        &self.buf[r.value.clone()]
    }

    /// The value, or `None` for a tombstone.
    pub fn payload(&self, r: &Record) -> Option<&[u8]> {
        (!r.value.is_empty()).then(|| self.value(r))
    }

    pub fn key(&self, r: &Record) -> Option<&[u8]> {
        r.key.clone().map(|k| &self.buf[k])
    }
}
