//! The snapshot's reader task: a connection of its own (opened at the first
//! job, so a session with nothing to snapshot opens none) that runs the
//! planner's jobs one at a time, in order, and sends back what it read.
//! A reply waits for room in a bounded channel, so a pipeline held up by
//! Kafka holds the reader up too.

use std::sync::Arc;
use std::time::Duration;

use mysql_async::Conn;
use tokio::sync::mpsc;

use super::chunk::{self, ChunkRows, ChunkSizes};
use super::columns::{self, SnapshotTable};
use super::job::{ChunkOutcome, ChunkRequest, Job, PartOutcome, ReadChunk, Reply};
use super::{catalog, whole, SnapshotError};
use crate::decode::CharsetMap;
use crate::event::{now_ms, Position};
use crate::shutdown::Cancel;

/// What the reader connects with.
pub(crate) struct ReaderSource {
    pub endpoint: crate::binlog::endpoint::Endpoint,
    pub connect_timeout: Duration,
    pub charsets: CharsetMap,
}

struct Reader {
    source: ReaderSource,
    conn: Option<Conn>,
    /// The table last described, by (db, table, epoch).
    described: Option<((String, String, u64), Arc<SnapshotTable>)>,
    /// Which statement reports the binlog position on this server.
    status: Option<&'static str>,
    /// The size of the last chunk read, to size the next chunk of the
    /// same table.
    last: ChunkSizes,
}

/// Runs jobs until the planner's side is dropped or `cancel` fires.
pub(crate) async fn run(
    source: ReaderSource,
    mut jobs: mpsc::UnboundedReceiver<Job>,
    replies: mpsc::Sender<Reply>,
    cancel: Cancel,
) {
    let mut r = Reader {
        source,
        conn: None,
        described: None,
        status: None,
        last: ChunkSizes::default(),
    };
    loop {
        let job = tokio::select! {
            _ = cancel.cancelled() => return,
            j = jobs.recv() => match j { Some(j) => j, None => return },
        };
        let reply = match job {
            Job::Tables { id } => Reply::Tables {
                id,
                outcome: r.tables().await,
            },
            Job::Chunk(req) => Reply::Chunk {
                id: req.id,
                outcome: r.chunk(req).await,
            },
            Job::Whole(req) => {
                let id = req.id;
                match r.whole(req, &replies).await {
                    Ok(true) => continue,
                    Ok(false) => return,
                    Err(e) => Reply::Part {
                        id,
                        outcome: Err(e),
                    },
                }
            }
        };
        let failed = matches!(
            &reply,
            Reply::Tables {
                outcome: Err(_),
                ..
            } | Reply::Chunk {
                outcome: Err(_),
                ..
            } | Reply::Part {
                outcome: Err(_),
                ..
            }
        );
        if failed {
            // Start the next job on a fresh connection.
            r.conn = None;
        }
        tokio::select! {
            _ = cancel.cancelled() => return,
            sent = replies.send(reply) => if sent.is_err() { return },
        }
    }
}

impl Reader {
    async fn conn(&mut self) -> Result<&mut Conn, SnapshotError> {
        if self.conn.is_none() {
            let mut c =
                crate::binlog::reader::connect(&self.source.endpoint, self.source.connect_timeout)
                    .await
                    .map_err(|e| SnapshotError::Connect(e.to_string()))?;
            chunk::prepare_session(&mut c).await?;
            self.conn = Some(c);
        }
        Ok(self.conn.as_mut().expect("just connected"))
    }

    async fn tables(&mut self) -> Result<Vec<catalog::TableInfo>, SnapshotError> {
        catalog::list_tables(self.conn().await?).await
    }

    async fn chunk(&mut self, req: ChunkRequest) -> Result<ChunkOutcome, SnapshotError> {
        let Some(table) = self.describe(&req).await? else {
            return Ok(ChunkOutcome::Gone);
        };
        if table.schema.primary_key.is_empty() {
            return Ok(ChunkOutcome::NoPrimaryKey);
        }
        let read_ms = now_ms();
        let mut rows = ChunkRows::with_room(self.last);
        let conn = self.conn().await?;
        match chunk::read_chunk(
            conn,
            &table,
            req.after.as_deref(),
            req.condition.as_deref(),
            req.limit,
            &mut rows,
        )
        .await
        {
            Err(e) if e.table_missing() => return Ok(ChunkOutcome::Gone),
            r => r?,
        }
        self.last = rows.sizes();
        // Read after the SELECT: every transaction it saw was written to
        // the binlog before this position (the binlog is written before
        // the engine commits).
        let high = self.high_watermark().await?;
        Ok(ChunkOutcome::Rows(Box::new(ReadChunk {
            table,
            rows,
            high,
            read_ms,
        })))
    }

    async fn describe(
        &mut self,
        req: &ChunkRequest,
    ) -> Result<Option<Arc<SnapshotTable>>, SnapshotError> {
        let key = (req.db.clone(), req.table.clone(), req.epoch);
        if let Some((k, t)) = &self.described {
            if *k == key {
                return Ok(Some(t.clone()));
            }
        }
        self.last = ChunkSizes::default();
        let charsets = self.source.charsets.clone();
        let conn = self.conn().await?;
        let Some(t) = columns::describe(conn, &req.db, &req.table, &charsets).await? else {
            return Ok(None);
        };
        // information_schema shows only the columns the user may read: a
        // grant on some columns would make rows without the others.
        catalog::check_select(conn, &req.db, &req.table).await?;
        let t = Arc::new(t);
        self.described = Some((key, t.clone()));
        Ok(Some(t))
    }

    /// A table without a primary key, whole ([`whole::read`]); `Ok(false)`
    /// when the pipeline is gone.
    async fn whole(
        &mut self,
        req: ChunkRequest,
        replies: &mpsc::Sender<Reply>,
    ) -> Result<bool, SnapshotError> {
        let Some(table) = self.describe(&req).await? else {
            let gone = Reply::Part {
                id: req.id,
                outcome: Ok(PartOutcome::Gone),
            };
            return Ok(replies.send(gone).await.is_ok());
        };
        let conn = self.conn().await?;
        match whole::read(
            conn,
            table,
            req.condition.as_deref(),
            req.limit,
            req.id,
            replies,
        )
        .await
        {
            Err(e) if e.table_missing() => {
                let gone = Reply::Part {
                    id: req.id,
                    outcome: Ok(PartOutcome::Gone),
                };
                Ok(replies.send(gone).await.is_ok())
            }
            r => r,
        }
    }

    /// The server's current binlog position: the chunk's high watermark.
    async fn high_watermark(&mut self) -> Result<Position, SnapshotError> {
        let mut statement = self.status;
        let conn = self.conn().await?;
        let at = crate::binlog::reader::current_position(conn, &mut statement)
            .await
            .map_err(|e| SnapshotError::Watermark(e.to_string()))?;
        self.status = statement;
        Ok(at)
    }
}
