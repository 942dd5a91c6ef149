//! A table described for the chunk queries (being written).

use std::sync::Arc;

use crate::decode::schema::TableSchema;

#[derive(Debug)]
pub(crate) struct SnapshotTable {
    pub schema: Arc<TableSchema>,
    pub select_list: String,
    pub key_order: String,
}
