//! The binlog connection: connect, find where to start, and stream events
//! in chunks over a bounded channel. A full channel stops reading, which is
//! how backpressure from Kafka reaches the server.

use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use mysql_async::prelude::Queryable;
use mysql_async::BinlogStreamRequest;
use mysql_async::{Conn, Opts};
use tokio::sync::mpsc;

use super::settings::Start;
use super::{BinlogError, Event};
use crate::decode::CharsetMap;
use crate::event::Position;
use crate::shutdown::Cancel;

/// Events read from the server in one go; sending chunks rather than single
/// events keeps channel overhead off the per-row cost.
pub(crate) type Chunk = Vec<Event>;

const CHUNK_EVENTS: usize = 256;

pub(crate) async fn connect(url: &str, timeout: Duration) -> Result<Conn, BinlogError> {
    let err = |reason: String| BinlogError::Connect {
        url: redact(url),
        reason,
    };
    let opts = Opts::from_url(url).map_err(|e| err(e.to_string()))?;
    match tokio::time::timeout(timeout, Conn::new(opts)).await {
        Ok(Ok(c)) => Ok(c),
        Ok(Err(e)) => Err(err(e.to_string())),
        Err(_) => Err(err(format!("no answer within {}s", timeout.as_secs()))),
    }
}

/// The URL without its password, for messages.
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        _ => url.to_string(),
    }
}

fn query_err(what: &'static str) -> impl Fn(mysql_async::Error) -> BinlogError {
    move |e| BinlogError::Query {
        what,
        reason: e.to_string(),
    }
}

/// Binlog files the server has, oldest first.
pub(crate) async fn binary_logs(conn: &mut Conn) -> Result<Vec<String>, BinlogError> {
    let rows: Vec<mysql_async::Row> = conn
        .query("SHOW BINARY LOGS")
        .await
        .map_err(query_err("listing binary logs"))?;
    Ok(rows.iter().filter_map(|r| r.get::<String, _>(0)).collect())
}

/// Turns `start` into a position on this server.
pub(crate) async fn resolve_start(conn: &mut Conn, start: &Start) -> Result<Position, BinlogError> {
    match start {
        Start::At(p) => Ok(p.clone()),
        Start::Earliest => {
            let logs = binary_logs(conn).await?;
            let first = logs.first().ok_or(BinlogError::Query {
                what: "finding the oldest binlog",
                reason: "the server lists no binary logs".into(),
            })?;
            Ok(Position::new(first.clone(), 4))
        }
        Start::Latest => current_position(conn, &mut None).await,
    }
}

/// The server's current binlog position (`SHOW BINARY LOG STATUS`, or
/// `SHOW MASTER STATUS` before MySQL 8.4 and on MariaDB). `statement`
/// remembers which of the two this server knows, for callers that ask
/// often (the snapshot reader, after every chunk).
pub(crate) async fn current_position(
    conn: &mut Conn,
    statement: &mut Option<&'static str>,
) -> Result<Position, BinlogError> {
    let candidates: &[&'static str] = match statement {
        Some(s) => &[*s][..],
        None => &["SHOW BINARY LOG STATUS", "SHOW MASTER STATUS"][..],
    };
    for stmt in candidates {
        if let Ok(row) = conn.query_first::<mysql_async::Row, _>(*stmt).await {
            let row = row.ok_or(BinlogError::Query {
                what: "reading the current binlog position",
                reason: format!("{stmt} returned nothing: is log_bin on?"),
            })?;
            *statement = Some(stmt);
            let file: String = row.get(0).unwrap_or_default();
            let pos: u64 = row.get(1).unwrap_or(4);
            return Ok(Position::new(file, pos));
        }
    }
    Err(BinlogError::Query {
        what: "reading the current binlog position",
        reason: "neither SHOW BINARY LOG STATUS nor SHOW MASTER STATUS was accepted".into(),
    })
}

/// Fails with [`BinlogError::Purged`] when `pos`'s file is gone.
pub(crate) async fn ensure_available(conn: &mut Conn, pos: &Position) -> Result<(), BinlogError> {
    let logs = binary_logs(conn).await?;
    if logs.contains(&pos.file) {
        return Ok(());
    }
    Err(BinlogError::Purged {
        wanted: pos.clone(),
        oldest: logs.first().cloned().unwrap_or_else(|| "(none)".into()),
    })
}

/// The server's collation ids, so text in any charset converts correctly.
pub(crate) async fn charsets(conn: &mut Conn) -> CharsetMap {
    let rows: Vec<(u16, String)> = conn
        .query(
            "SELECT ID, CHARACTER_SET_NAME FROM information_schema.COLLATIONS WHERE ID IS NOT NULL",
        )
        .await
        .unwrap_or_default();
    CharsetMap::from_server(rows)
}

/// The host name Sluice registers with: the same for every run with the
/// same state directory, so a restart is recognised as the same replica.
pub(crate) fn registration_host(state_dir: &std::path::Path) -> String {
    use std::hash::{Hash, Hasher};
    let dir = std::fs::canonicalize(state_dir).unwrap_or_else(|_| state_dir.to_owned());
    let mut h = std::collections::hash_map::DefaultHasher::new();
    dir.hash(&mut h);
    format!("sluice-{:08x}", h.finish() as u32)
}

/// What to ask the server for when streaming.
#[derive(Clone, Debug)]
pub(crate) struct StreamRequest {
    /// The replica id Sluice registers with.
    pub server_id: u32,
    /// The host name it registers with (see [`registration_host`]).
    pub host: String,
    pub from: Position,
    /// How often the server sends a heartbeat when idle.
    pub heartbeat: Duration,
    /// End at the end of the server's binlog instead of waiting for more.
    pub stop_at_end: bool,
}

/// Streams events from `req.from` into `tx` until `cancel` is cancelled
/// (returns Ok) or the connection fails (returns a transient error).
pub(crate) async fn stream(
    conn: Conn,
    req: StreamRequest,
    tx: mpsc::Sender<Chunk>,
    cancel: Cancel,
) -> Result<(), BinlogError> {
    let (heartbeat, stop_at_end) = (req.heartbeat, req.stop_at_end);
    let mut events = open_stream(conn, req).await?;
    let silence = heartbeat * 3;
    loop {
        let first = tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            next = tokio::time::timeout(silence, events.next()) => next,
        };
        let first = match first {
            Err(_) => {
                return Err(BinlogError::Stream {
                    reason: format!("no event or heartbeat for {}s", silence.as_secs()),
                    position: None,
                })
            }
            Ok(None) if stop_at_end => return Ok(()),
            Ok(None) => {
                return Err(BinlogError::Stream {
                    reason: "the server closed the binlog stream".into(),
                    position: None,
                })
            }
            Ok(Some(r)) => r.map_err(stream_err)?,
        };
        let mut chunk = Vec::with_capacity(CHUNK_EVENTS);
        chunk.push(first);
        // Take whatever else is already buffered, without waiting.
        let mut ended = false;
        while chunk.len() < CHUNK_EVENTS {
            match events.next().now_or_never() {
                Some(Some(r)) => chunk.push(r.map_err(stream_err)?),
                // The stream is over: polling it again would read a closed
                // connection and look like a lost one.
                Some(None) => {
                    ended = true;
                    break;
                }
                None => break,
            }
        }
        tokio::select! {
            _ = cancel.cancelled() => return Ok(()),
            sent = tx.send(chunk) => if sent.is_err() { return Ok(()) },
        }
        if ended {
            if stop_at_end {
                return Ok(());
            }
            return Err(BinlogError::Stream {
                reason: "the server closed the binlog stream".into(),
                position: None,
            });
        }
    }
}

/// Prepares the replica session and asks the server for the binlog from
/// `req.from`.
async fn open_stream(
    mut conn: Conn,
    req: StreamRequest,
) -> Result<mysql_async::BinlogStream, BinlogError> {
    let setup = [
        // Ask for a heartbeat when idle, so a dead connection is noticed.
        format!(
            "SET @master_heartbeat_period = {}",
            req.heartbeat.as_nanos()
        ),
        // MariaDB sends its GTID and annotate events only to replicas that
        // declare they understand them (capability 4, MARIA_SLAVE_CAPABILITY_GTID).
        "SET @mariadb_slave_capability = 4".to_string(),
    ];
    for s in setup {
        conn.query_drop(s)
            .await
            .map_err(query_err("preparing the replica session"))?;
    }
    let mut request = BinlogStreamRequest::new(req.server_id)
        .with_filename(req.from.file.as_bytes())
        .with_pos(req.from.pos)
        .with_hostname(req.host.as_bytes());
    if req.stop_at_end {
        // The server ends the stream at the end of its binlog instead of
        // waiting for more: for backfills and benchmarks.
        request = request.with_non_blocking();
    }
    conn.get_binlog_stream(request)
        .await
        .map_err(|e| BinlogError::Stream {
            reason: e.to_string(),
            position: Some(req.from.clone()),
        })
}

fn stream_err(e: mysql_async::Error) -> BinlogError {
    BinlogError::Stream {
        reason: e.to_string(),
        position: None,
    }
}
