//! The pipeline thread: binlog events in, batches out to the sink.
//!
//! It follows transaction boundaries, registers each transaction with the
//! checkpoint tracker, has the decoder write rows into a batch, routes the
//! batch and hands it to the sink. The work itself lives in the stages;
//! this loop only sequences them.

use std::sync::atomic::AtomicBool;
use std::sync::Arc;

use tokio::sync::mpsc;

use crate::binlog::ddl::{recognise, Ddl};
use crate::binlog::reader::Chunk;
use crate::binlog::txn::{classify, Kind, Positions};
use crate::binlog::Event;
use crate::checkpoint::Tracker;
use crate::decode::{DecodeError, Decoder, TxnSource};
use crate::event::ddl::DdlEvent;
use crate::event::{now_ms, Batch, Position, TxnId};
use crate::kafka::{Sink, SinkError};
use crate::route::{LiveRules, Rules};

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("{0}; stopped without moving the checkpoint (the rule's on_error is \"fail\", or its chain could not be built)")]
    Plugin(#[from] crate::plugin::PluginError),
    #[error("{source} (transaction at binlog position {}); stopped without moving the checkpoint", .position.as_ref().map(|p| p.to_string()).unwrap_or_else(|| "unknown".into()))]
    TooLarge {
        source: SinkError,
        position: Option<Position>,
    },
    #[error("the server logged a statement instead of row changes at binlog position {position}: `{sql}`. That session or the server is not using binlog_format=ROW, so Sluice cannot see which rows changed. Set binlog_format=ROW globally (SET GLOBAL and the option file) and make sure no session sets it otherwise (sessions keep their value until they reconnect); the checkpoint stays before this transaction")]
    StatementLogged { position: Position, sql: String },
}

struct Open {
    id: TxnId,
    source: TxnSource,
    start: Position,
    gtid: Option<String>,
    /// False between a GTID event and the statement after it, which is
    /// either `BEGIN` or a standalone statement (DDL).
    begun: bool,
}

pub struct Pipeline {
    pub decoder: Decoder,
    chains: super::chains::Chains,
    live: Arc<LiveRules>,
    /// The rules this pipeline routes by, and their generation.
    rules: (u64, Rules),
    pub sink: Sink,
    pub tracker: Arc<Tracker>,
    pub server_id: u32,
    pub batch_rows: usize,
    pub batch_bytes: usize,
    pub stop: Arc<AtomicBool>,
    ddl_topic: Option<Arc<str>>,
    positions: Positions,
    open: Option<Open>,
    batch: Batch,
    /// Transactions read to their end whose last rows are still in `batch`:
    /// they are marked ended only after the batch is handed to the sink.
    ended: Vec<(TxnId, Position)>,
    produced_ms: u64,
    /// Events handed to the sink, and their value bytes, for the summary.
    sent: u64,
    sent_bytes: u64,
}

impl Pipeline {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        decoder: Decoder,
        chains: super::chains::Chains,
        live: Arc<LiveRules>,
        sink: Sink,
        tracker: Arc<Tracker>,
        server_id: u32,
        batch_rows: usize,
        batch_bytes: usize,
        stop: Arc<AtomicBool>,
        ddl_topic: Option<&str>,
        from: &Position,
    ) -> Self {
        Pipeline {
            decoder,
            chains,
            rules: live.load(),
            live,
            sink,
            tracker,
            server_id,
            batch_rows,
            batch_bytes,
            stop,
            ddl_topic: ddl_topic.map(Arc::from),
            positions: Positions::new(from),
            open: None,
            batch: Batch::default(),
            ended: Vec::new(),
            produced_ms: 0,
            sent: 0,
            sent_bytes: 0,
        }
    }

    /// Runs until the reader closes the channel or a definite error.
    pub fn run(mut self, mut rx: mpsc::Receiver<Chunk>) -> Result<Sink, PipelineError> {
        let began = std::time::Instant::now();
        let result = (|| {
            while let Some(chunk) = rx.blocking_recv() {
                self.chunk(&chunk)?;
            }
            // Stopped while idle: a delivery may have failed meanwhile.
            match self.sink.take_failure() {
                Some(e) => Err(e.into()),
                None => Ok(()),
            }
        })();
        // Rows of a transaction the stream broke inside were maybe sent; it
        // will be read again from its start by the next session.
        if let Some(open) = self.open.take() {
            self.tracker.abandon(open.id);
        }
        let secs = began.elapsed().as_secs_f64();
        tracing::info!(
            events = self.sent,
            bytes = self.sent_bytes,
            secs = format!("{secs:.2}"),
            events_per_sec = (self.sent as f64 / secs.max(1e-9)) as u64,
            "pipeline finished"
        );
        result.map(|()| self.sink)
    }

    /// Processes one chunk of events and sends what it decoded.
    pub fn chunk(&mut self, chunk: &[Event]) -> Result<(), PipelineError> {
        self.produced_ms = now_ms();
        for ev in chunk {
            self.event(ev)?;
        }
        self.flush()
    }

    fn event(&mut self, ev: &Event) -> Result<(), PipelineError> {
        let (start, end) = self.positions.of(ev);
        let kind = classify(ev).map_err(|what| DecodeError::malformed(what).at(start.clone()))?;
        match kind {
            Kind::Gtid { gtid, begun } => {
                if let Some(o) = self.open.take() {
                    // A transaction that never committed in the log (the
                    // server crashed mid-write): it ends where this begins.
                    self.ended.push((o.id, start.clone()));
                }
                self.begin(start, gtid.as_deref(), begun)?;
            }
            Kind::Begin => match &mut self.open {
                Some(o) => o.begun = true,
                None => self.begin(start, None, true)?,
            },
            Kind::Commit => match self.open.take() {
                Some(o) => self.ended.push((o.id, end)),
                None => self.skip_to(end),
            },
            Kind::Statement { sql, schema } => {
                if is_dml(&sql) && !crate::route::is_system_schema(&schema) {
                    return Err(PipelineError::StatementLogged {
                        position: start,
                        sql: sql.chars().take(120).collect(),
                    });
                }
                if let Some(ddl) = recognise(&sql, &schema) {
                    self.schema_change(ev, &ddl, &sql, start)?;
                }
                self.statement_end(end);
            }
            Kind::TableMap => {
                self.decoder.table_map(ev).map_err(|e| e.at(start))?;
            }
            Kind::Rows => {
                if self.open.is_none() {
                    self.begin(start.clone(), None, true)?;
                }
                let open = self.open.as_mut().expect("opened above");
                open.begun = true;
                let rules = &mut self.rules.1;
                self.decoder
                    .rows(
                        ev,
                        &mut open.source,
                        self.produced_ms,
                        &mut self.batch,
                        &mut |s| rules.plan(s),
                    )
                    .map_err(|e| e.at(start))?;
                if self.batch.len() >= self.batch_rows || self.batch.buf.len() >= self.batch_bytes {
                    self.flush()?;
                }
            }
            Kind::Rotate { next } => {
                self.positions.rotate(&next);
                if self.open.is_none() {
                    self.skip_to(next);
                }
            }
            Kind::Other => {
                if self.open.is_none() && end.pos > 4 {
                    self.skip_to(end);
                }
            }
        }
        Ok(())
    }

    /// A statement ends a transaction that began with a GTID but no BEGIN
    /// (standalone DDL); outside any transaction it is passed over.
    fn statement_end(&mut self, end: Position) {
        match &self.open {
            Some(o) if !o.begun => {
                let o = self.open.take().expect("checked");
                self.ended.push((o.id, end));
            }
            Some(_) => {}
            None => self.skip_to(end),
        }
    }

    /// Emits a schema-change event to the DDL topic.
    fn schema_change(
        &mut self,
        ev: &Event,
        ddl: &Ddl,
        sql: &str,
        start: Position,
    ) -> Result<(), PipelineError> {
        let Some(topic) = self.ddl_topic.clone() else {
            return Ok(());
        };
        if crate::route::is_system_schema(&ddl.db) {
            return Ok(());
        }
        if let Some(t) = &ddl.table {
            if self.rules.1.rule_for(&ddl.db, t).is_none() {
                return Ok(());
            }
        }
        if self.open.is_none() {
            // Old servers log DDL without a GTID: it is a transaction alone.
            self.begin(start, None, false)?;
        }
        let open = self.open.as_ref().expect("opened above");
        DdlEvent {
            kind: ddl.kind,
            db: &ddl.db,
            table: ddl.table.as_deref(),
            sql,
            server_id: self.server_id,
            file: &open.start.file,
            pos: open.start.pos,
            gtid: open.gtid.as_deref(),
            event_ts_ms: ev.header().timestamp() as u64 * 1000,
            produced_ms: self.produced_ms,
        }
        .push(&mut self.batch, &topic, open.id);
        Ok(())
    }

    fn begin(
        &mut self,
        start: Position,
        gtid: Option<&str>,
        begun: bool,
    ) -> Result<(), PipelineError> {
        // New rules or new plugins take effect here, between transactions.
        // What was read before goes through the chains it was read under.
        let generation = self.live.generation();
        if generation != self.rules.0 || self.chains.stale(generation) {
            self.flush()?;
            if generation != self.rules.0 {
                self.rules = self.live.load();
                tracing::info!(generation = self.rules.0, rules = self.rules.1.rules().len(), at = %start, "new rules in force from this transaction on");
            }
            self.chains.sync(self.rules.1.rules(), self.rules.0)?;
        }
        let id = self.tracker.begin(start.clone());
        self.open = Some(Open {
            id,
            source: TxnSource::new(id, self.server_id, &start, gtid),
            start,
            gtid: gtid.map(str::to_string),
            begun,
        });
        Ok(())
    }

    /// Moves the resume position over events outside any transaction, once
    /// everything before them is settled.
    fn skip_to(&mut self, pos: Position) {
        if self.ended.is_empty() && self.batch.is_empty() {
            self.tracker.skip_to(pos);
        }
    }

    /// Routes and sends the batch, then marks finished transactions ended.
    fn flush(&mut self) -> Result<(), PipelineError> {
        if !self.batch.is_empty() {
            self.chains.apply(&mut self.batch)?;
        }
        if !self.batch.is_empty() {
            // Count each transaction's messages before any can be acknowledged.
            let mut i = 0;
            let recs = &self.batch.records;
            while i < recs.len() {
                let txn = recs[i].txn;
                let n = recs[i..].iter().take_while(|r| r.txn == txn).count();
                self.tracker.produced(txn, n as u64);
                i += n;
            }
            if let Err(e) = self.sink.send(&self.batch, &self.stop) {
                return Err(match e {
                    SinkError::TooLarge { txn, .. } => PipelineError::TooLarge {
                        position: self.tracker.start_of(txn),
                        source: e,
                    },
                    e => e.into(),
                });
            }
            self.sent += self.batch.len() as u64;
            self.sent_bytes += self
                .batch
                .records
                .iter()
                .map(|r| r.value.len() as u64)
                .sum::<u64>();
            self.batch.clear();
        }
        for (id, end) in self.ended.drain(..) {
            self.tracker.end(id, end);
        }
        if let Some(e) = self.sink.take_failure() {
            return Err(e.into());
        }
        Ok(())
    }
}

/// Row changes logged as a statement: what binlog_format=STATEMENT or MIXED
/// writes, and what a row-based reader cannot decode.
fn is_dml(sql: &str) -> bool {
    let head: String = sql
        .trim_start()
        .chars()
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase();
    ["INSERT", "UPDATE", "DELETE", "REPLACE", "LOAD DAT"]
        .iter()
        .any(|k| head.starts_with(k))
}
