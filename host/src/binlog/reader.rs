//! The binlog connection: connect, find where to start, and stream events
//! in chunks over a bounded channel. A full channel stops reading, which is
//! how backpressure from Kafka reaches the server.

use std::time::Duration;

use futures_util::{FutureExt, StreamExt};
use mysql_async::prelude::Queryable;
use mysql_async::BinlogStreamRequest;
use mysql_async::Conn;
use tokio::sync::mpsc;

use super::endpoint::Endpoint;
use super::gtid::GtidState;
use super::settings::Start;
use super::{BinlogError, Event};
use crate::decode::CharsetMap;
use crate::event::Position;
use crate::shutdown::Cancel;

/// Events read from the server in one go; sending chunks rather than single
/// events keeps channel overhead off the per-row cost.
pub(crate) type Chunk = Vec<Event>;

const CHUNK_EVENTS: usize = 256;

/// A connection to the source, with its TLS and password settings; every
/// connection Sluice makes to the server comes from here.
pub(crate) async fn connect(source: &Endpoint, timeout: Duration) -> Result<Conn, BinlogError> {
    match tokio::time::timeout(timeout, super::tls::connect(source)).await {
        Ok(r) => r,
        Err(_) => Err(BinlogError::Connect {
            url: source.url().to_string(),
            reason: format!("no answer within {}s", timeout.as_secs()),
        }),
    }
}

/// The URL without its password, for messages. (A [`Endpoint`] holds its
/// URL without one already; this is for URLs from elsewhere.)
pub(crate) fn redact(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) if u.password().is_some() => {
            let _ = u.set_password(Some("***"));
            u.to_string()
        }
        Ok(_) => url.to_string(),
        // Not a URL: it may still hold a password, so show none of it.
        Err(_) => "(the [source] url, which is not a valid URL)".to_string(),
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

/// Where streaming starts: a position, and the GTID state there when the
/// server can say. With `by_gtid` the server is asked for the transactions
/// after `gtid`, wherever its files hold them, and `position` only names
/// the file until the server's first rotate event says where that is.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct Resume {
    pub position: Position,
    pub gtid: Option<GtidState>,
    pub by_gtid: bool,
}

/// Turns `start` into where to stream from on this server.
pub(crate) async fn resolve_start(
    conn: &mut Conn,
    start: &Start,
    mariadb: bool,
) -> Result<Resume, BinlogError> {
    let position = match start {
        Start::Gtid(g) => {
            return Ok(Resume {
                // Named by the server's first rotate event.
                position: Position::new("", 4),
                gtid: Some(g.clone()),
                by_gtid: true,
            });
        }
        Start::At(p) => p.clone(),
        Start::Earliest => {
            let logs = binary_logs(conn).await?;
            let first = logs.first().ok_or(BinlogError::Query {
                what: "finding the oldest binlog",
                reason: "the server lists no binary logs".into(),
            })?;
            Position::new(first.clone(), 4)
        }
        Start::Latest if !mariadb => {
            // One statement gives both, so they match.
            let (position, executed) = mysql_status(conn).await?;
            return Ok(Resume {
                position,
                gtid: executed,
                by_gtid: false,
            });
        }
        Start::Latest => current_position(conn, &mut None).await?,
    };
    let gtid = gtid_at(conn, &position, mariadb).await;
    Ok(Resume {
        position,
        gtid,
        by_gtid: false,
    })
}

/// The GTID state at `pos`, when the server can tell: MariaDB's
/// `BINLOG_GTID_POS` works for any position; MySQL has no such function,
/// so there the state is learnt only at `latest` (see [`mysql_status`]).
pub(crate) async fn gtid_at(conn: &mut Conn, pos: &Position, mariadb: bool) -> Option<GtidState> {
    if !mariadb {
        return None;
    }
    let text: Option<Option<String>> = conn
        .exec_first("SELECT BINLOG_GTID_POS(?, ?)", (&pos.file, pos.pos))
        .await
        .ok()?;
    GtidState::parse_mariadb(&text.flatten()?).ok()
}

/// MySQL's current position and, when `gtid_mode` is on, the executed GTID
/// set at it: one row has both, so they match.
async fn mysql_status(conn: &mut Conn) -> Result<(Position, Option<GtidState>), BinlogError> {
    let (position, executed) = status(conn, &mut None).await?;
    let gtid = match executed {
        Some(t) if gtid_mode_on(conn).await => GtidState::parse_mysql(&t).ok(),
        _ => None,
    };
    Ok((position, gtid))
}

/// Whether a MySQL server has `gtid_mode = ON`, without which it cannot
/// stream by GTID.
pub(crate) async fn gtid_mode_on(conn: &mut Conn) -> bool {
    let mode: Option<String> = conn
        .query_first("SELECT @@GLOBAL.gtid_mode")
        .await
        .ok()
        .flatten();
    mode.is_some_and(|m| m.eq_ignore_ascii_case("ON"))
}

/// The server's current binlog position (`SHOW BINARY LOG STATUS`, or
/// `SHOW MASTER STATUS` before MySQL 8.4 and on MariaDB). `statement`
/// remembers which of the two this server knows, for callers that ask
/// often (the snapshot reader, after every chunk).
pub(crate) async fn current_position(
    conn: &mut Conn,
    statement: &mut Option<&'static str>,
) -> Result<Position, BinlogError> {
    status(conn, statement).await.map(|(p, _)| p)
}

/// [`current_position`] and the row's fifth column, MySQL's
/// `Executed_Gtid_Set` (MariaDB's row has four).
async fn status(
    conn: &mut Conn,
    statement: &mut Option<&'static str>,
) -> Result<(Position, Option<String>), BinlogError> {
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
            let executed: Option<String> = if row.len() > 4 { row.get(4) } else { None };
            return Ok((Position::new(file, pos), executed));
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

/// Whether the server can stream every transaction after `state`: it has
/// logged them all (else [`BinlogError::GtidRefused`]: MariaDB would wait
/// silently for a number that may never come) and purged none (else
/// [`BinlogError::GtidPurged`]). The server checks too when the stream
/// opens; asking first gives the same answer to `sluice check` and names
/// the first transaction at fault.
pub(crate) async fn gtid_available(conn: &mut Conn, state: &GtidState) -> Result<(), BinlogError> {
    let (executed, purged, purged_what) = if state.is_mariadb() {
        let executed = GtidState::parse_mariadb(&variable(conn, "gtid_binlog_pos").await?);
        let oldest = binary_logs(conn).await?.into_iter().next();
        let start = match &oldest {
            Some(file) => gtid_at(conn, &Position::new(file.clone(), 4), true).await,
            None => None,
        };
        let what = format!(
            "the oldest binlog it has, {}, begins after {}",
            oldest.unwrap_or_default(),
            start.as_ref().map(ToString::to_string).unwrap_or_default()
        );
        (executed, start.map(|s| s.domains_of(state)), what)
    } else {
        let executed = GtidState::parse_mysql(&variable(conn, "gtid_executed").await?);
        let purged = variable(conn, "gtid_purged").await?;
        let what = format!("its @@gtid_purged is {purged}");
        (executed, GtidState::parse_mysql(&purged).ok(), what)
    };
    let executed = executed.map_err(|e| BinlogError::Query {
        what: "reading the server's GTID state",
        reason: e.to_string(),
    })?;
    if let Some(missing) = state.first_not_in(&executed) {
        return Err(BinlogError::GtidRefused {
            state: state.to_string(),
            reason: format!("the server has logged only up to {executed}, not {missing}"),
        });
    }
    if let Some(gone) = purged.and_then(|p| p.first_not_in(state)) {
        return Err(BinlogError::GtidPurged {
            state: state.to_string(),
            reason: format!("{purged_what}, so the transactions up to {gone} are gone"),
        });
    }
    Ok(())
}

/// A global variable's value as text (`""` when NULL).
async fn variable(conn: &mut Conn, name: &'static str) -> Result<String, BinlogError> {
    let v: Option<Option<String>> = conn
        .query_first(format!("SELECT @@GLOBAL.{name}"))
        .await
        .map_err(|e| BinlogError::Query {
            what: "reading a server variable",
            reason: format!("@@{name}: {e}"),
        })?;
    Ok(v.flatten().unwrap_or_default())
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
    pub from: Resume,
    /// How often the server sends a heartbeat when idle.
    pub heartbeat: Duration,
    /// End at the end of the server's binlog instead of waiting for more.
    pub stop_at_end: bool,
}

/// A binlog stream the server accepted, with the first event it sent.
pub(crate) struct Opened {
    events: mysql_async::BinlogStream,
    first: Option<Event>,
}

/// Asks the server for the binlog from `req.from` and reads the first
/// event: a server that cannot serve a GTID state says so before it sends
/// anything, and that answer is definite, not a lost connection.
pub(crate) async fn open(mut conn: Conn, req: &StreamRequest) -> Result<Opened, BinlogError> {
    if let Some(state) = req.from.gtid.as_ref().filter(|_| req.from.by_gtid) {
        gtid_available(&mut conn, state).await?;
    }
    let mut events = open_stream(conn, req).await?;
    let first = match tokio::time::timeout(req.heartbeat * 3, events.next()).await {
        Err(_) | Ok(None) => None,
        Ok(Some(Ok(ev))) => Some(ev),
        Ok(Some(Err(e))) => return Err(refused(e, req)),
    };
    Ok(Opened { events, first })
}

/// The error for a stream the server would not start. `1236` is the
/// server's "cannot read the binlog for you": for a GTID request it means
/// the state is purged or not the server's.
fn refused(e: mysql_async::Error, req: &StreamRequest) -> BinlogError {
    const ER_MASTER_FATAL_ERROR_READING_BINLOG: u16 = 1236;
    match (&e, &req.from.gtid) {
        (mysql_async::Error::Server(s), Some(state))
            if req.from.by_gtid && s.code == ER_MASTER_FATAL_ERROR_READING_BINLOG =>
        {
            let (state, reason) = (state.to_string(), s.message.clone());
            if reason.to_ascii_lowercase().contains("purged") {
                BinlogError::GtidPurged { state, reason }
            } else {
                BinlogError::GtidRefused { state, reason }
            }
        }
        _ => BinlogError::Stream {
            reason: e.to_string(),
            position: Some(req.from.position.clone()),
        },
    }
}

/// Streams the events of `opened` into `tx` until `cancel` is cancelled
/// (returns Ok) or the connection fails (returns a transient error).
pub(crate) async fn stream(
    opened: Opened,
    req: StreamRequest,
    tx: mpsc::Sender<Chunk>,
    cancel: Cancel,
) -> Result<(), BinlogError> {
    let (heartbeat, stop_at_end) = (req.heartbeat, req.stop_at_end);
    let Opened { mut events, first } = opened;
    let mut first = first.map(Ok);
    if first.is_none() && stop_at_end {
        return Ok(());
    }
    let silence = heartbeat * 3;
    loop {
        let first = match first.take() {
            Some(ev) => Ok(Some(ev)),
            None => tokio::select! {
                _ = cancel.cancelled() => return Ok(()),
                next = tokio::time::timeout(silence, events.next()) => next,
            },
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
/// `req.from`: by GTID when it says so, else by file and offset.
async fn open_stream(
    mut conn: Conn,
    req: &StreamRequest,
) -> Result<mysql_async::BinlogStream, BinlogError> {
    let mut setup = vec![
        // Ask for a heartbeat when idle, so a dead connection is noticed.
        format!(
            "SET @master_heartbeat_period = {}",
            req.heartbeat.as_nanos()
        ),
        // MariaDB sends its GTID and annotate events only to replicas that
        // declare they understand them (capability 4, MARIA_SLAVE_CAPABILITY_GTID).
        "SET @mariadb_slave_capability = 4".to_string(),
    ];
    let gtid = req.from.gtid.as_ref().filter(|_| req.from.by_gtid);
    if let Some(state) = gtid.filter(|g| g.is_mariadb()) {
        // MariaDB's GTID replica protocol: the state to continue after, and
        // the server's own strictness, so a replica that is ahead of it or
        // diverged is refused rather than served a guess. The text is
        // digits, dashes and commas (GtidState's Display).
        setup.push(format!("SET @slave_connect_state = '{state}'"));
        setup.push("SET @slave_gtid_strict_mode = @@GLOBAL.gtid_strict_mode".into());
        setup.push("SET @slave_gtid_ignore_duplicates = 0".into());
    }
    for s in setup {
        conn.query_drop(s)
            .await
            .map_err(query_err("preparing the replica session"))?;
    }
    let mut request = BinlogStreamRequest::new(req.server_id).with_hostname(req.host.as_bytes());
    request = match gtid {
        // MariaDB finds the file itself from @slave_connect_state.
        Some(g) if g.is_mariadb() => request.with_filename(b"").with_pos(4u64),
        Some(g) => request.with_gtid().with_gtid_set(g.mysql_sids()),
        None => request
            .with_filename(req.from.position.file.as_bytes())
            .with_pos(req.from.position.pos),
    };
    if req.stop_at_end {
        // The server ends the stream at the end of its binlog instead of
        // waiting for more: for backfills and benchmarks.
        request = request.with_non_blocking();
    }
    conn.get_binlog_stream(request)
        .await
        .map_err(|e| BinlogError::Stream {
            reason: e.to_string(),
            position: Some(req.from.position.clone()),
        })
}

fn stream_err(e: mysql_async::Error) -> BinlogError {
    BinlogError::Stream {
        reason: e.to_string(),
        position: None,
    }
}
