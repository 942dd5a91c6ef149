//! The pipeline's lock, held on a connection of its own to the source.
//!
//! `GET_LOCK` belongs to a connection: the server frees it when that
//! connection ends, whatever ends it. Setting the connection's
//! `wait_timeout` to the lease turns that into a lease: a holder that is
//! paused or cut off says nothing, and the server closes its connection
//! (freeing the lock) once the lease has passed. A live holder therefore
//! never leaves the connection idle that long: it checks that it still
//! holds the lock every third of the lease, and stops streaming as soon as
//! a check fails or does not answer in time, which is before the server
//! can have given the lock to anyone else.

use std::time::{Duration, Instant};

use mysql_async::prelude::Queryable;
use mysql_async::Conn;
use tracing::{error, info, warn};

use crate::binlog::{reader, BinlogError, SourceSettings};
use crate::shutdown::{Cancel, Reason};

/// Named locks are refused by Galera (MariaDB Cluster with `wsrep_on`).
const ER_NOT_SUPPORTED_YET: u16 = 1235;
/// How long one `GET_LOCK` waits on the server: short, so a waiting
/// standby also notices its connection failing, and is never idle.
const TRY_SECS: u32 = 1;
/// A standby that keeps waiting says so again this often (and whenever the
/// holder changes).
const REMIND: Duration = Duration::from_secs(600);
const FIRST_BACKOFF: Duration = Duration::from_millis(500);

#[derive(Debug, thiserror::Error)]
pub enum StandbyError {
    #[error("cannot reach the source for the standby lock: {0}")]
    Connect(#[from] BinlogError),
    #[error("the standby lock's query failed ({what}): {reason}")]
    Query { what: &'static str, reason: String },
    #[error("the source server refuses named locks ({reason}): [standby] takes the pipeline's lock with GET_LOCK, which Galera (MariaDB Cluster with wsrep_on) does not support; point [source] at a server that is not a cluster node, or set [standby] enabled = false and run one process")]
    Unsupported { reason: String },
}

impl StandbyError {
    /// Everything but a server that cannot lock is worth trying again.
    pub(crate) fn is_transient(&self) -> bool {
        !matches!(self, StandbyError::Unsupported { .. })
    }

    fn query(what: &'static str) -> impl Fn(mysql_async::Error) -> StandbyError {
        move |e| match e {
            mysql_async::Error::Server(s) if s.code == ER_NOT_SUPPORTED_YET => {
                StandbyError::Unsupported { reason: s.message }
            }
            e => StandbyError::Query {
                what,
                reason: e.to_string(),
            },
        }
    }
}

/// What a waiting standby knows of the process streaming its pipeline.
#[derive(Clone, Debug, PartialEq)]
struct Holder {
    connection: u64,
    /// `host:port` of the holder's connection, when this user may see it in
    /// the process list.
    host: Option<String>,
}

/// Waits until this process holds the lock `name` on the source, or
/// `stop` is cancelled (`Ok(None)`). Connection failures are retried with
/// backoff; only a server that cannot lock at all is an error.
pub(crate) async fn acquire(
    source: &SourceSettings,
    name: &str,
    lease: Duration,
    pipeline: &str,
    stop: &Cancel,
) -> Result<Option<Conn>, StandbyError> {
    let mut backoff = FIRST_BACKOFF;
    let mut told: Option<(Holder, Instant)> = None;
    loop {
        let attempt = async {
            let mut conn = reader::connect(&source.endpoint, source.connect_timeout).await?;
            set_lease(&mut conn, lease).await?;
            loop {
                if try_lock(&mut conn, name).await? {
                    return Ok::<_, StandbyError>(conn);
                }
                let Some(holder) = holder(&mut conn, name).await? else {
                    // Freed between the two queries: try again at once.
                    continue;
                };
                let repeat = told
                    .as_ref()
                    .is_some_and(|(h, at)| *h == holder && at.elapsed() < REMIND);
                if !repeat {
                    info!(pipeline, lock = name, holder_connection = holder.connection, holder_host = holder.host.as_deref().unwrap_or("(not visible to this user)"),
                        "standby: pipeline {pipeline} is streamed by another process (connection id {} from host {}); waiting to take over",
                        holder.connection, holder.host.as_deref().unwrap_or("unknown"));
                    told = Some((holder, Instant::now()));
                }
            }
        };
        let failed = tokio::select! {
            _ = stop.cancelled() => return Ok(None),
            r = attempt => match r {
                Ok(conn) => return Ok(Some(conn)),
                Err(e) if e.is_transient() => e,
                Err(e) => return Err(e),
            },
        };
        warn!(error = %failed, lock = name, retry_in_ms = backoff.as_millis() as u64, "standby: cannot wait for the pipeline's lock; trying again");
        tokio::select! {
            _ = stop.cancelled() => return Ok(None),
            _ = tokio::time::sleep(backoff) => {}
        }
        backoff = (backoff * 2).min(source.max_backoff);
    }
}

/// The server closes this connection (and frees the lock) after `lease`
/// without a word from us.
async fn set_lease(conn: &mut Conn, lease: Duration) -> Result<(), StandbyError> {
    let secs = lease.as_secs().max(1);
    conn.query_drop(format!(
        "SET SESSION wait_timeout = {secs}, SESSION interactive_timeout = {secs}"
    ))
    .await
    .map_err(StandbyError::query("setting wait_timeout to the lease"))
}

async fn try_lock(conn: &mut Conn, name: &str) -> Result<bool, StandbyError> {
    // 1: ours; 0: another connection holds it; NULL: an error (the
    // connection killed while waiting), reported as such.
    let got: Option<Option<i64>> = conn
        .exec_first(format!("SELECT GET_LOCK(?, {TRY_SECS})"), (name,))
        .await
        .map_err(StandbyError::query("GET_LOCK"))?;
    match got.flatten() {
        Some(n) => Ok(n == 1),
        None => Err(StandbyError::Query {
            what: "GET_LOCK",
            reason: "the server returned NULL".into(),
        }),
    }
}

/// Who holds the lock, or `None` when nobody does any more.
async fn holder(conn: &mut Conn, name: &str) -> Result<Option<Holder>, StandbyError> {
    let id: Option<Option<u64>> = conn
        .exec_first("SELECT IS_USED_LOCK(?)", (name,))
        .await
        .map_err(StandbyError::query("IS_USED_LOCK"))?;
    let Some(connection) = id.flatten() else {
        return Ok(None);
    };
    // Another user's connections are listed only with PROCESS: without it
    // the host is unknown, which is no reason to stop waiting.
    let host: Option<String> = conn
        .exec_first(
            "SELECT HOST FROM information_schema.PROCESSLIST WHERE ID = ?",
            (connection,),
        )
        .await
        .ok()
        .flatten();
    Ok(Some(Holder { connection, host }))
}

/// Whether `conn` still holds `name`: false once the server freed it (the
/// connection was closed and this is a new one, or it was killed).
async fn still_held(conn: &mut Conn, name: &str) -> Result<bool, StandbyError> {
    let held: Option<Option<i64>> = conn
        .exec_first("SELECT IS_USED_LOCK(?) = CONNECTION_ID()", (name,))
        .await
        .map_err(StandbyError::query("IS_USED_LOCK"))?;
    Ok(held.flatten() == Some(1))
}

/// Holds the lock on `conn` until `release` is cancelled (the process is
/// done with it) or the lock is lost, which cancels `lost` with
/// [`Reason::LeaseLost`]. Checks every third of the lease, each check
/// bounded by a third: a holder that cannot tell whether it still holds
/// the lock stops within two thirds of the lease, before the server frees
/// it (after the whole lease without a word) for a standby.
pub(crate) async fn keep(
    mut conn: Conn,
    name: String,
    lease: Duration,
    lost: Cancel,
    release: Cancel,
) {
    let every = lease / 3;
    let outcome = loop {
        tokio::select! {
            // Not on `lost` being cancelled by a signal: the session it
            // scopes is still draining, and must not overlap a standby.
            _ = release.cancelled() => break None,
            _ = tokio::time::sleep(every) => {}
        }
        match tokio::time::timeout(every, still_held(&mut conn, &name)).await {
            Ok(Ok(true)) => {}
            Ok(Ok(false)) => {
                break Some(
                    "the server gave it up (our connection was closed or killed)".to_string(),
                )
            }
            Ok(Err(e)) => break Some(e.to_string()),
            Err(_) => {
                break Some(format!(
                    "the check did not answer within {} ms",
                    every.as_millis()
                ))
            }
        }
    };
    if let Some(reason) = outcome {
        error!(lock = %name, reason = %reason, lease_secs = lease.as_secs(),
            "standby: lost the pipeline's lock; streaming stops (without the end-of-session drain: another process may hold the lock now) and this process waits as a standby");
        crate::metrics::get().standby_active.set(0);
        lost.cancel(Reason::LeaseLost);
        // A broken connection may never answer: do not wait on it.
        drop(conn);
        return;
    }
    // Freed at once rather than when the connection closes, so a standby
    // does not wait for the lease.
    let _ = tokio::time::timeout(every, async {
        let _ = conn.exec_drop("DO RELEASE_LOCK(?)", (&name,)).await;
        let _ = conn.disconnect().await;
    })
    .await;
}
