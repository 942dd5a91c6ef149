//! Tables without a primary key: no key to page by and none to reconcile
//! with the stream, so the table is read whole in one consistent read
//! whose exact binlog position the server reports (MariaDB's
//! `binlog_snapshot_file` / `binlog_snapshot_position` for
//! `START TRANSACTION WITH CONSISTENT SNAPSHOT`, no lock taken). The
//! pipeline stops reading the binlog exactly there until every row is
//! merged (docs/SNAPSHOT.md, "Tables without a primary key").

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row};
use tokio::sync::mpsc;

use super::chunk::{add_row, ChunkRows};
use super::columns::{quote, SnapshotTable};
use super::job::{PartOutcome, ReadChunk, Reply};
use super::SnapshotError;
use crate::event::{now_ms, Position};

/// Reads `t` (rows matching `condition`) in one consistent snapshot and
/// sends it to `replies` in parts of `part_rows` rows; the last part says
/// so. Returns `false` when the pipeline is gone.
pub(crate) async fn read(
    conn: &mut Conn,
    t: std::sync::Arc<SnapshotTable>,
    condition: Option<&str>,
    part_rows: usize,
    id: u64,
    replies: &mpsc::Sender<Reply>,
) -> Result<bool, SnapshotError> {
    let (db, table) = (
        t.schema.name.db.to_string(),
        t.schema.name.table.to_string(),
    );
    let err = |what: &'static str| {
        let (db, table) = (db.clone(), table.clone());
        move |source| SnapshotError::Query {
            db,
            table,
            what,
            source,
        }
    };
    conn.query_drop("START TRANSACTION WITH CONSISTENT SNAPSHOT")
        .await
        .map_err(err("starting the consistent read"))?;
    let Some(at) = snapshot_position(conn)
        .await
        .map_err(err("reading its binlog position"))?
    else {
        conn.query_drop("ROLLBACK")
            .await
            .map_err(err("ending the consistent read"))?;
        let r = Reply::Part {
            id,
            outcome: Ok(PartOutcome::NoConsistentPosition),
        };
        return Ok(replies.send(r).await.is_ok());
    };
    let filter = condition
        .map(|c| format!(" WHERE ({c})"))
        .unwrap_or_default();
    let sql = format!(
        "SELECT {} FROM {}.{}{filter}",
        t.select_list,
        quote(&db),
        quote(&table)
    );
    let read_ms = now_ms();
    let mut result = conn
        .exec_iter(sql, ())
        .await
        .map_err(err("running the table's query"))?;
    let fresh = || {
        let mut part = ChunkRows::default();
        part.begin(&t.schema);
        part
    };
    let mut part = fresh();
    loop {
        let row: Option<Row> = result.next().await.map_err(err("reading its rows"))?;
        let last = row.is_none();
        if let Some(row) = &row {
            add_row(&t, row, &mut part)?;
        }
        if last || part.rows == part_rows {
            let chunk = Box::new(ReadChunk {
                table: t.clone(),
                rows: std::mem::replace(&mut part, fresh()),
                high: at.clone(),
                read_ms,
            });
            let r = Reply::Part {
                id,
                outcome: Ok(PartOutcome::Rows { chunk, last }),
            };
            if replies.send(r).await.is_err() {
                return Ok(false);
            }
        }
        if last {
            break;
        }
    }
    drop(result);
    conn.query_drop("COMMIT")
        .await
        .map_err(err("ending the consistent read"))?;
    Ok(true)
}

/// The binlog position the consistent read sees, when the server says.
async fn snapshot_position(conn: &mut Conn) -> Result<Option<Position>, mysql_async::Error> {
    let rows: Vec<(String, String)> = conn.query("SHOW STATUS LIKE 'binlog_snapshot_%'").await?;
    let get = |name: &str| {
        rows.iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.clone())
    };
    Ok(
        match (get("Binlog_snapshot_file"), get("Binlog_snapshot_position")) {
            (Some(file), Some(pos)) if !file.is_empty() => {
                pos.parse().ok().map(|p| Position::new(file, p))
            }
            _ => None,
        },
    )
}
