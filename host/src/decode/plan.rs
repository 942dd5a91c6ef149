//! What to emit for one table, decided by the rules once per table schema
//! and followed by the decoder for every row.

use std::sync::Arc;

#[derive(Debug, Clone, PartialEq)]
pub struct TablePlan {
    /// False: rows of this table are counted (for `source.row`) but not emitted.
    pub capture: bool,
    pub topic: Arc<str>,
    /// Columns of the key, in order; empty: no key.
    pub key: Vec<usize>,
    /// Columns to emit, by index; `None` emits all.
    pub emit: Option<Vec<bool>>,
    /// Ops to emit, indexed by [`crate::event::Op::index`].
    pub ops: [bool; 3],
    /// After a delete, also emit a tombstone: same key, null value.
    pub tombstones: bool,
    /// Index of the rule that made this plan, for messages.
    pub rule: Option<usize>,
}

impl TablePlan {
    /// The plan of a table that is not captured.
    pub fn skip() -> Self {
        TablePlan {
            capture: false,
            topic: Arc::from(""),
            key: vec![],
            emit: None,
            ops: [false; 3],
            tombstones: false,
            rule: None,
        }
    }

    /// Every row, every column, keyed by the primary key: for reading
    /// binlog files offline.
    pub fn everything(schema: &super::schema::TableSchema) -> Self {
        TablePlan {
            capture: true,
            topic: Arc::from(crate::event::topic::prefixed(
                None,
                &format!("{}.{}", schema.name.db, schema.name.table),
            )),
            key: schema.primary_key.clone(),
            emit: None,
            ops: [true; 3],
            tombstones: false,
            rule: None,
        }
    }

    #[inline]
    pub fn emits(&self, col: usize) -> bool {
        self.emit
            .as_ref()
            .is_none_or(|m| m.get(col).copied().unwrap_or(false))
    }
}
