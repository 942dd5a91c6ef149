use super::endpoint::TlsMode;
use crate::event::Position;

/// Failures of the binlog stage.
///
/// `Connect` and `Stream` are transient: the app retries them with backoff
/// from the checkpoint. The others are definite and stop Sluice with a
/// message that says what to change.
#[derive(Debug, thiserror::Error)]
pub enum BinlogError {
    #[error("cannot connect to MySQL at {url}: {reason}; check that the server is running and reachable, and the user in [source] url and its password (password, password_file or password_env)")]
    Connect { url: String, reason: String },
    /// TLS to the server failed for a reason retrying will not change (a
    /// certificate not trusted, TLS not offered or required).
    #[error("TLS to MySQL at {url} failed (tls = \"{mode}\"): {reason}")]
    Tls {
        url: String,
        mode: TlsMode,
        reason: String,
    },
    #[error("the binlog connection failed{}: {reason}", at(.position))]
    Stream {
        reason: String,
        position: Option<Position>,
    },
    #[error("preflight check failed:\n{0}")]
    Preflight(String),
    #[error("the binlog file {} is no longer on the server (the oldest it has is {oldest}): changes between {} and {oldest}:4 are lost to replication. Either read every captured table again: set [snapshot] mode = \"when_needed\" and start Sluice (it streams from the server's current position and snapshots the tables), or, accepting the gap, move the checkpoint file away and start from a position on purpose with start = \"{oldest}:4\" and [snapshot] mode = \"never\"", .wanted.file, .wanted)]
    Purged { wanted: Position, oldest: String },
    #[error("the server no longer has every transaction after GTID state {state} (the checkpoint's, or [source] start's): {reason}. Changes after it are lost to replication. Either read every captured table again: set [snapshot] mode = \"when_needed\" and start Sluice, or, accepting the gap, move the checkpoint file away and set start = \"latest\" and [snapshot] mode = \"never\"")]
    GtidPurged { state: String, reason: String },
    #[error("the server refused to continue after GTID state {state} (the checkpoint's, or [source] start's): {reason}. This server is missing transactions Sluice already delivered (a failover lost them, or it is not a copy of the server Sluice read before), or it has diverged; Sluice will not guess. Point [source] url at a server that has those transactions, or move the checkpoint file away and start again with a snapshot")]
    GtidRefused { state: String, reason: String },
    #[error("{what}: {reason}")]
    Query { what: &'static str, reason: String },
    #[error("{what} (at binlog position {position})")]
    Malformed { what: String, position: Position },
    #[error("the server logged a statement instead of row changes at binlog position {position}: `{sql}`. That session or the server is not using binlog_format=ROW, so Sluice cannot see which rows changed. Set binlog_format=ROW globally (SET GLOBAL and the option file) and make sure no session sets it otherwise (sessions keep their value until they reconnect); the checkpoint stays before this transaction")]
    StatementLogged { position: Position, sql: String },
}

fn at(p: &Option<Position>) -> String {
    match p {
        Some(p) => format!(" near binlog position {p}"),
        None => String::new(),
    }
}

impl BinlogError {
    /// Whether retrying later may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(
            self,
            BinlogError::Connect { .. } | BinlogError::Stream { .. }
        )
    }
}
