//! The pipeline thread: binlog events in, batches out to the sink.
//!
//! For each event the boundary stepper ([`Boundaries`]) says where
//! transactions begin and end; the pipeline registers them with the
//! checkpoint tracker, has the decoder write rows into a batch, runs the
//! plugin chains and hands the batch to the sink. The work itself lives in
//! the stages; this loop only sequences them. Snapshot chunks join the
//! stream at transaction boundaries (`snapshot.rs`).

mod exactly;
mod markers;
mod snapshot;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::mpsc;

use super::observe::{ChainVersions, Live};
use crate::binlog::boundary::{Boundaries, Carries, Step};
use crate::binlog::ddl::{recognise, Ddl};
use crate::binlog::reader::Chunk;
use crate::binlog::{BinlogError, Event};
use crate::checkpoint::Tracker;
use crate::debezium::Encoder;
use crate::decode::{DecodeError, Decoder, TxnSource};
use crate::event::ddl::DdlEvent;
use crate::event::{now_ms, Batch, Position, TxnId};
use crate::kafka::{Sink, SinkError, SinkHealth};
use crate::metrics::TableCounters;
use crate::plugin::stage::RuleChains;
use crate::route::{LiveRules, Rules};
use crate::shutdown::Cancel;
pub(crate) use exactly::Exactly;
use markers::Markers;
use snapshot::Input;
pub(crate) use snapshot::SnapshotLink;

#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error(transparent)]
    Binlog(#[from] BinlogError),
    #[error(transparent)]
    Decode(#[from] DecodeError),
    #[error(transparent)]
    Sink(#[from] SinkError),
    #[error("{0}; stopped without moving the checkpoint (the rule's on_error is \"fail\", or its chain could not be built)")]
    Plugin(#[from] crate::plugin::PluginError),
    #[error("{error}; stopped at the transaction at binlog position {}, without moving the checkpoint past it: the rule's on_error is \"fail\" (\"skip\" or \"dead-letter\" pass such events on; or fix the plugin and restart)", .position.as_ref().map(|p| p.to_string()).unwrap_or_else(|| "unknown".into()))]
    PluginFailed {
        error: crate::plugin::PluginError,
        position: Option<Position>,
    },
    #[error("{source} (transaction at binlog position {}); stopped with the checkpoint at the start of this transaction, after everything delivered before it", .position.as_ref().map(|p| p.to_string()).unwrap_or_else(|| "unknown".into()))]
    TooLarge {
        source: SinkError,
        position: Option<Position>,
    },
    #[error("{0}")]
    Snapshot(#[from] crate::snapshot::SnapshotError),
    #[error("{error} (transaction at binlog position {}); stopped without moving the checkpoint past it", .position.as_ref().map(|p| p.to_string()).unwrap_or_else(|| "unknown".into()))]
    Encode {
        error: crate::debezium::EncodeError,
        position: Option<Position>,
    },
}

/// The transaction being read.
struct Open {
    id: TxnId,
    source: TxnSource,
    start: Position,
    gtid: Option<String>,
}

/// When a batch is full and goes to the sink (`[pipeline] batch_rows`,
/// `batch_bytes`).
#[derive(Clone, Copy, Debug)]
pub struct BatchLimits {
    pub rows: usize,
    pub bytes: usize,
}

/// Everything a [`Pipeline`] is built from.
pub struct Parts {
    pub decoder: Decoder,
    pub chains: RuleChains,
    /// Writes the events of rules with `format = "debezium-json"`.
    pub encoder: Encoder,
    pub rules: Arc<LiveRules>,
    pub sink: Sink,
    pub health: Arc<SinkHealth>,
    pub tracker: Arc<Tracker>,
    /// The session's cancellation: a sink waiting for room gives up on it.
    pub cancel: Cancel,
    pub server_id: u32,
    pub limits: BatchLimits,
    pub ddl_topic: Option<Arc<str>>,
    /// Where heartbeats go, and how often; `None`: no heartbeats.
    pub heartbeat: Option<(Arc<str>, Duration)>,
    /// Where transactions' BEGIN and END records go; `None`: none.
    pub transaction_topic: Option<Arc<str>>,
    /// Where reading starts: a transaction boundary.
    pub from: Position,
    pub(crate) snapshot: SnapshotLink,
    /// What the operations endpoint reports.
    pub(crate) live: Arc<Live>,
    /// With exactly-once delivery: where each commit's checkpoint goes.
    pub(crate) exactly: Option<Exactly>,
}

pub struct Pipeline {
    decoder: Decoder,
    chains: RuleChains,
    encoder: Encoder,
    live: Arc<LiveRules>,
    /// The rules this pipeline routes by, and their generation.
    rules: (u64, Rules),
    sink: Sink,
    health: Arc<SinkHealth>,
    tracker: Arc<Tracker>,
    cancel: Cancel,
    server_id: u32,
    limits: BatchLimits,
    ddl_topic: Option<Arc<str>>,
    markers: Markers,
    boundaries: Boundaries,
    open: Option<Open>,
    batch: Batch,
    /// Transactions read to their end whose last rows are still in `batch`:
    /// they are marked ended only after the batch is handed to the sink.
    ended: Vec<(TxnId, Position)>,
    produced_ms: u64,
    /// Events handed to the sink, and their value bytes, for the summary.
    sent: u64,
    sent_bytes: u64,
    /// The last transaction boundary read: where snapshot chunks join.
    at: Position,
    /// The binlog reader has stopped; only the snapshot is left.
    binlog_closed: bool,
    /// Events of a chunk not processed yet: the binlog stopped for a table
    /// read whole (see `snapshot.rs`).
    leftover: Vec<Event>,
    snapshot: SnapshotLink,
    observed: Arc<Live>,
    table_counters: TableCounters,
    /// The source timestamp of the event being processed (Unix seconds).
    event_ts: u32,
    /// Rules (and plugin) generations whose chains could not be built: not
    /// tried again until one of them changes.
    refused: Option<(u64, u64)>,
    exactly: Option<Exactly>,
}

impl Pipeline {
    pub fn new(parts: Parts) -> Self {
        Pipeline {
            decoder: parts.decoder,
            chains: parts.chains,
            encoder: parts.encoder,
            rules: parts.rules.load(),
            live: parts.rules,
            sink: parts.sink,
            health: parts.health,
            tracker: parts.tracker,
            cancel: parts.cancel,
            server_id: parts.server_id,
            limits: parts.limits,
            ddl_topic: parts.ddl_topic,
            markers: Markers::new(parts.server_id, parts.heartbeat, parts.transaction_topic),
            boundaries: Boundaries::new(&parts.from),
            at: parts.from,
            binlog_closed: false,
            leftover: Vec::new(),
            snapshot: parts.snapshot,
            observed: parts.live,
            table_counters: TableCounters::default(),
            event_ts: 0,
            refused: None,
            exactly: parts.exactly,
            open: None,
            batch: Batch::default(),
            ended: Vec::new(),
            produced_ms: 0,
            sent: 0,
            sent_bytes: 0,
        }
    }

    /// Runs until the reader closes the channel or a definite error. The
    /// sink comes back either way: dropping it would purge the messages
    /// still in flight, which the session may yet see acknowledged.
    pub fn run(mut self, mut rx: mpsc::Receiver<Chunk>) -> (Result<(), PipelineError>, Sink) {
        let began = std::time::Instant::now();
        self.publish_chains();
        let result = (|| {
            self.snapshot_boundary()?;
            loop {
                match self.next_input(&mut rx) {
                    Input::Binlog(chunk) => self.chunk(&chunk)?,
                    Input::Snapshot(reply) => self.snapshot_reply(reply)?,
                    Input::Closed => {
                        if !self.binlog_closed && self.open.is_none() {
                            // The reader stopped at the end of the binlog
                            // (`stop_at_end`): finish the snapshot first.
                            self.binlog_closed = true;
                            self.snapshot_boundary()?;
                            self.flush()?;
                            continue;
                        }
                        break;
                    }
                }
                self.maybe_commit(rx.is_empty())?;
            }
            // Stopped while idle: a delivery may have failed meanwhile.
            match self.health.take_failure() {
                Some(e) => Err(e.into()),
                None => Ok(()),
            }
        })();
        if let Err(PipelineError::Decode(_)) = &result {
            crate::metrics::get().decode_errors.inc();
        }
        self.finish_transaction(&result);
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
        (result, self.sink)
    }

    /// Processes one chunk of events and sends what it decoded.
    pub fn chunk(&mut self, chunk: &[Event]) -> Result<(), PipelineError> {
        self.produced_ms = now_ms();
        self.observed.heard(self.produced_ms);
        for (i, ev) in chunk.iter().enumerate() {
            if self.open.is_none() && self.snapshot_holds_binlog() {
                self.leftover = chunk[i..].to_vec();
                break;
            }
            self.event(ev)?;
        }
        self.flush()?;
        self.heartbeat()
    }

    /// Sends a heartbeat when one is due and no transaction is open: it
    /// says Sluice has read up to `at`, a transaction boundary. It is
    /// registered with the tracker as a transaction starting and ending
    /// there, so the checkpoint never moves past what was acknowledged
    /// before it, nor back.
    fn heartbeat(&mut self) -> Result<(), PipelineError> {
        if self.open.is_some() || !self.markers.heartbeat_due() {
            return Ok(());
        }
        let id = self.tracker.begin(self.at.clone());
        self.markers
            .heartbeat(&mut self.batch, id, &self.at, now_ms());
        self.ended.push((id, self.at.clone()));
        self.flush()
    }

    fn event(&mut self, ev: &Event) -> Result<(), PipelineError> {
        self.event_ts = ev.header().timestamp();
        self.markers.saw(self.event_ts);
        let step = self.boundaries.step(ev)?;
        if step.ends_unfinished {
            // A transaction that never committed in the log (the server
            // crashed mid-write): it ends where this one begins. Its GTID
            // is not counted as done: the server may give the number to
            // the transaction it logs next.
            if let Some(o) = &self.open {
                self.tracker.uncommitted(o.id);
            }
            self.end_open(step.start.clone())?;
        }
        if let Some(b) = &step.begins {
            self.begin(step.start.clone(), b.gtid.as_deref())?;
        }
        match &step.carries {
            Carries::Nothing => {}
            Carries::TableMap => {
                self.decoder
                    .table_map(ev)
                    .map_err(|e| e.at(step.start.clone()))?;
            }
            Carries::Rows => {
                self.watch_keys(ev, &step)?;
                self.rows(ev, &step)?;
            }
            Carries::Statement {
                sql,
                schema,
                in_transaction,
            } => {
                let ddl = recognise(sql, schema);
                if let Some(d) = &ddl {
                    self.snapshot_schema_change(d);
                }
                let ddl = ddl.filter(|d| self.wants_ddl(d));
                if let Some(ddl) = ddl {
                    if *in_transaction {
                        self.schema_change(ev, &ddl, sql);
                    } else {
                        // Old servers log DDL without a GTID: it is a
                        // transaction alone, which Sluice opens and ends.
                        self.begin(step.start.clone(), None)?;
                        self.schema_change(ev, &ddl, sql);
                        return self.end_open(step.end.clone());
                    }
                }
            }
        }
        if step.ends {
            self.end_open(step.end.clone())?;
            self.maybe_commit(false)?;
        }
        if let Some(to) = step.skip_to {
            self.skip_to(to)?;
        }
        Ok(())
    }

    fn rows(&mut self, ev: &Event, step: &Step) -> Result<(), PipelineError> {
        let open = self
            .open
            .as_mut()
            .expect("the stepper opened a transaction");
        let rules = &mut self.rules.1;
        let signals = &self.snapshot.signals;
        let mut signal = false;
        let before = (self.batch.records.len(), self.batch.buf.len());
        self.decoder
            .rows(
                ev,
                &mut open.source,
                self.produced_ms,
                &mut self.batch,
                &mut |s| match signals.plan_for(s) {
                    Some(p) => {
                        signal = true;
                        p
                    }
                    None => rules.plan(s),
                },
            )
            .map_err(|e| e.at(step.start.clone()))?;
        if signal {
            self.take_signals(before);
        }
        if self.batch.len() >= self.limits.rows || self.batch.buf.len() >= self.limits.bytes {
            self.flush()?;
        }
        Ok(())
    }

    /// The open transaction was read to `end`: it is marked ended once its
    /// last rows are handed to the sink.
    fn end_open(&mut self, end: Position) -> Result<(), PipelineError> {
        if let Some(o) = self.open.take() {
            crate::metrics::get().transactions.inc();
            if let Some(mark) = self.snapshot.planner.take_mark() {
                self.tracker.mark(o.id, mark);
            }
            self.ended.push((o.id, end.clone()));
        }
        self.at = end;
        self.snapshot_boundary()
    }

    /// Whether a schema change goes to the DDL topic: there is one, and the
    /// table (if the statement names one) is captured.
    fn wants_ddl(&self, ddl: &Ddl) -> bool {
        if self.ddl_topic.is_none() || crate::route::is_system_schema(&ddl.db) {
            return false;
        }
        match &ddl.table {
            Some(t) => self.rules.1.rule_for(&ddl.db, t).is_some(),
            None => true,
        }
    }

    /// Emits a schema-change event to the DDL topic, in the open
    /// transaction.
    fn schema_change(&mut self, ev: &Event, ddl: &Ddl, sql: &str) {
        let Some(topic) = self.ddl_topic.clone() else {
            return;
        };
        let open = self
            .open
            .as_ref()
            .expect("DDL is written inside a transaction");
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
    }

    fn begin(&mut self, start: Position, gtid: Option<&str>) -> Result<(), PipelineError> {
        self.refresh_rules(&start)?;
        let id = self.tracker.begin_at(
            start.clone(),
            gtid.and_then(|g| g.parse().ok()),
            self.event_ts,
        );
        self.markers.begin(id, &start, gtid);
        self.open = Some(Open {
            id,
            source: TxnSource::new(id, self.server_id, &start, gtid),
            start,
            gtid: gtid.map(str::to_string),
        });
        Ok(())
    }

    /// New rules or new plugins take effect between transactions: at the
    /// next one, or at the next event outside one (a heartbeat, when the
    /// server is idle). What was read before goes through the chains it was
    /// read under.
    ///
    /// New rules whose chains cannot be built (a plugin they name is
    /// missing, or its `init` rejects the rule's settings) are not applied:
    /// the previous rules and chains keep running, as when a plugin file is
    /// replaced by a version that rejects its settings. One rule for both:
    /// a change while running never stops the pipeline; a restart with
    /// such a config fails at start.
    fn refresh_rules(&mut self, at: &Position) -> Result<(), PipelineError> {
        let generation = self.live.generation();
        let tried = Some((generation, self.chains.plugin_generation()));
        let new_rules = generation != self.rules.0 && self.refused != tried;
        if !new_rules && !self.chains.stale(self.rules.0) {
            return Ok(());
        }
        self.flush()?;
        if new_rules {
            let candidate = self.live.load();
            match super::sync_chains(&mut self.chains, candidate.1.rules(), candidate.0) {
                Ok(()) => {
                    let old = std::mem::replace(&mut self.rules, candidate);
                    self.refused = None;
                    self.snapshot_new_rules(&old.1);
                    tracing::info!(generation = self.rules.0, rules = self.rules.1.rules().len(), at = %at, "new rules in force from here on");
                }
                Err(e) => {
                    self.refused = tried;
                    crate::metrics::get().reload(false);
                    tracing::error!(generation, at = %at, "new rules not applied: {e}; the previous rules and plugins keep running. Fix the rule or put the plugin right (a restart with this config fails until then)");
                }
            }
        } else {
            super::sync_chains(&mut self.chains, self.rules.1.rules(), self.rules.0)?;
        }
        self.publish_chains();
        Ok(())
    }

    /// Tells the status endpoint which plugin versions each rule runs.
    fn publish_chains(&self) {
        let rules = self.rules.1.rules();
        let chains = self
            .chains
            .versions()
            .into_iter()
            .map(|(i, plugins)| ChainVersions {
                rule: rules
                    .get(i)
                    .map(|r| r.chain_spec().rule)
                    .unwrap_or_default(),
                plugins,
            })
            .collect();
        self.observed.chains(chains);
    }

    /// Moves the resume position over events outside any transaction, once
    /// everything before them is settled.
    fn skip_to(&mut self, pos: Position) -> Result<(), PipelineError> {
        if self.ended.is_empty() && self.batch.is_empty() {
            self.tracker.skip_to(pos.clone());
        }
        self.refresh_rules(&pos)?;
        self.at = pos;
        self.snapshot_boundary()
    }

    /// Rewrites the events of rules with `format = "debezium-json"`, after
    /// their plugin chains (plugins always see MessagePack).
    fn encode(&mut self) -> Result<(), PipelineError> {
        let rules = &self.rules.1;
        let default = self.encoder.default_format();
        let outputs: Vec<_> = rules.rules().iter().map(|r| r.output(default)).collect();
        let name = rules.prefix().unwrap_or_default();
        self.encoder
            .encode(&mut self.batch, &outputs, name)
            .map_err(|e| PipelineError::Encode {
                position: self.tracker.start_of(e.txn),
                error: e,
            })
    }

    /// Routes and sends the batch, then marks finished transactions ended.
    fn flush(&mut self) -> Result<(), PipelineError> {
        if !self.batch.is_empty() {
            if let Err(e) = self.chains.apply(&mut self.batch) {
                return Err(match e {
                    crate::plugin::PluginError::InCall { txn, .. } => PipelineError::PluginFailed {
                        position: self.tracker.start_of(txn),
                        error: e,
                    },
                    e => e.into(),
                });
            }
            self.encode()?;
        }
        self.markers
            .frame(&mut self.batch, &self.ended, self.produced_ms);
        if !self.batch.is_empty() {
            self.table_counters
                .count(crate::metrics::get(), &self.batch);
            // Count each transaction's messages before any can be acknowledged.
            let mut i = 0;
            let recs = &self.batch.records;
            while i < recs.len() {
                let txn = recs[i].txn;
                let n = recs[i..].iter().take_while(|r| r.txn == txn).count();
                self.tracker.produced(txn, n as u64);
                i += n;
            }
            if let Err(e) = self.sink.send(&self.batch, &self.cancel) {
                // Transactions of this batch before the refused record were
                // handed over whole and may yet be acknowledged: marking
                // them ended lets the checkpoint pass them. Those at or
                // after it can never complete, ended or not.
                for (id, end) in self.ended.drain(..) {
                    self.tracker.end(id, end);
                }
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
        self.observed.read_upto(&self.at);
        if let Some(e) = self.health.take_failure() {
            return Err(e.into());
        }
        Ok(())
    }
}
