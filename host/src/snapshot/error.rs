//! What can go wrong reading existing rows, each saying what to do.

#[derive(Debug, thiserror::Error)]
pub enum SnapshotError {
    #[error("snapshot of {db}.{table}: the user has no SELECT privilege on it; run `GRANT SELECT ON {db}.{table} TO <sluice's user>` (or on {db}.*), or exclude the table from the rules")]
    Denied { db: String, table: String },
    /// `sluice snapshot` may not create or write the signal table.
    #[error("snapshot request: {user} may not {action} {table}; run `GRANT {grant} ON {on} TO {user}`{hint}, or set [snapshot] signal_table to a table it may write")]
    SignalDenied {
        table: String,
        user: String,
        action: &'static str,
        grant: &'static str,
        on: String,
        /// What else may be needed, after the GRANT.
        hint: &'static str,
    },
    #[error("snapshot request: {what} {table}: {source}")]
    Signal {
        table: String,
        what: &'static str,
        source: mysql_async::Error,
    },
    #[error("snapshot of {db}.{table}: {what}: {source}")]
    Query {
        db: String,
        table: String,
        what: &'static str,
        source: mysql_async::Error,
    },
    #[error("snapshot of {db}.{table}: column `{column}` ({what}): {reason}")]
    BadValue {
        db: String,
        table: String,
        column: String,
        what: &'static str,
        reason: String,
    },
    #[error("snapshot: cannot connect to the source: {0}")]
    Connect(String),
    #[error(
        "snapshot: cannot read the server's binlog position (the chunk's high watermark): {0}"
    )]
    Watermark(String),
}

impl SnapshotError {
    /// The server says the table (or its database) does not exist: it was
    /// dropped or renamed after Sluice described it, before the stream
    /// brought the statement that did it.
    pub(crate) fn table_missing(&self) -> bool {
        const ER_NO_SUCH_TABLE: u16 = 1146;
        const ER_BAD_DB_ERROR: u16 = 1049;
        matches!(
            self,
            SnapshotError::Query { source: mysql_async::Error::Server(e), .. }
                if e.code == ER_NO_SUCH_TABLE || e.code == ER_BAD_DB_ERROR
        )
    }

    /// A lost connection or a server away: the session reconnects.
    pub(crate) fn is_transient(&self) -> bool {
        match self {
            SnapshotError::Query { source, .. } => {
                matches!(
                    source,
                    mysql_async::Error::Io(_) | mysql_async::Error::Driver(_)
                )
            }
            SnapshotError::Connect(_) | SnapshotError::Watermark(_) => true,
            _ => false,
        }
    }
}
