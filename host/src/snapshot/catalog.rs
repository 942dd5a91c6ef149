//! The server's tables, for resolving snapshot requests (being written).

/// A base table outside the system schemas, with the server's estimates.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TableInfo {
    pub db: String,
    pub table: String,
    pub rows_estimate: u64,
    pub bytes_estimate: u64,
    pub has_primary_key: bool,
}
