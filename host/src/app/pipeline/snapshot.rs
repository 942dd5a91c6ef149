//! The pipeline's side of snapshots: it feeds the planner the stream's
//! boundaries, the keys changed inside open windows, schema changes and
//! signal rows, sends the planner's jobs to the reader task, and writes
//! merged chunks into the batch as a transaction of their own, so the
//! checkpoint moves past them like past any other.

use std::sync::Arc;

use tokio::sync::mpsc;

use super::{Pipeline, PipelineError};
use crate::binlog::boundary::Step;
use crate::binlog::ddl::Ddl;
use crate::binlog::reader::Chunk;
use crate::binlog::Event;
use crate::decode::plan::TablePlan;
use crate::decode::schema::TableSchema;
use crate::event::layout::SourceTxn;
use crate::event::{now_ms, Position};
use crate::route::{Rule, Rules};
use crate::snapshot::emit::{self, Placement};
use crate::snapshot::job::{Job, Reply};
use crate::snapshot::planner::{Hold, Merge, Planner};
use crate::snapshot::{signal, Request, SignalTable};

/// The planner and its channels to the reader task.
pub(crate) struct SnapshotLink {
    pub planner: Planner,
    pub jobs: mpsc::UnboundedSender<Job>,
    pub replies: mpsc::Receiver<Reply>,
    /// For waiting on the binlog and the reader at once.
    pub runtime: tokio::runtime::Handle,
    pub signals: Signals,
    /// Tables a reloaded rule starts to capture are read too.
    pub new_tables: bool,
    /// `source.row` of the next snapshot row merged at this position.
    pub(super) next_row: (Position, u64),
}

impl SnapshotLink {
    pub(crate) fn new(
        planner: Planner,
        jobs: mpsc::UnboundedSender<Job>,
        replies: mpsc::Receiver<Reply>,
        signal_table: Option<SignalTable>,
        new_tables: bool,
    ) -> Self {
        SnapshotLink {
            planner,
            jobs,
            replies,
            runtime: tokio::runtime::Handle::current(),
            signals: Signals::new(signal_table),
            new_tables,
            next_row: (Position::new("", 0), 0),
        }
    }
}

/// Recognises the signal table's rows: they are read (inserts only, every
/// column) whatever the rules say, and never sent.
pub(crate) struct Signals {
    table: Option<SignalTable>,
    plan: Arc<TablePlan>,
}

impl Signals {
    fn new(table: Option<SignalTable>) -> Self {
        Signals {
            table,
            plan: Arc::new(TablePlan {
                capture: true,
                ops: [true, false, false],
                ..TablePlan::skip()
            }),
        }
    }

    /// The plan for the signal table, `None` for any other.
    pub(crate) fn plan_for(&self, s: &TableSchema) -> Option<Arc<TablePlan>> {
        let t = self.table.as_ref()?;
        (*s.name.db == t.db && *s.name.table == t.table).then(|| self.plan.clone())
    }
}

/// What the pipeline thread waits for.
pub(super) enum Input {
    Binlog(Chunk),
    Snapshot(Reply),
    Closed,
}

impl Pipeline {
    /// The next binlog chunk, or the reader's reply when a job is out; only
    /// replies while a table without a key is merged at its position, and
    /// the binlog only up to that position before ([`Hold`]).
    pub(super) fn next_input(&mut self, rx: &mut mpsc::Receiver<Chunk>) -> Input {
        let link = &mut self.snapshot;
        let (binlog, replies) = match link.planner.hold() {
            Hold::Free => (true, link.planner.waiting_for_reply()),
            Hold::Replies => (false, true),
            Hold::UpTo(p) => (self.at < *p, self.at >= *p),
        };
        let binlog = binlog && !self.binlog_closed;
        if binlog && !self.leftover.is_empty() {
            return Input::Binlog(std::mem::take(&mut self.leftover));
        }
        let from_reader = &mut link.replies;
        match (binlog, replies) {
            (true, false) => rx.blocking_recv().map_or(Input::Closed, Input::Binlog),
            (false, true) => link
                .runtime
                .block_on(from_reader.recv())
                .map_or(Input::Closed, Input::Snapshot),
            (true, true) => link.runtime.block_on(async {
                tokio::select! {
                    biased;
                    r = from_reader.recv() => r.map_or(Input::Closed, Input::Snapshot),
                    c = rx.recv() => c.map_or(Input::Closed, Input::Binlog),
                }
            }),
            (false, false) => Input::Closed,
        }
    }

    /// Whether the binlog must stop here (between transactions) for a
    /// table read whole.
    pub(super) fn snapshot_holds_binlog(&self) -> bool {
        match self.snapshot.planner.hold() {
            Hold::Free => false,
            Hold::Replies => true,
            Hold::UpTo(p) => self.at >= *p,
        }
    }

    pub(super) fn snapshot_reply(&mut self, reply: Reply) -> Result<(), PipelineError> {
        let rules = &self.rules.1;
        self.snapshot
            .planner
            .reply(reply, &|db, t| rules.rule_for(db, t).is_some())?;
        if self.open.is_none() {
            self.snapshot_boundary()?;
        }
        if self.binlog_closed {
            // No binlog chunk will come to flush what was merged.
            self.flush()?;
        }
        Ok(())
    }

    /// At a transaction boundary (`self.at`): merges the chunks that may
    /// join the stream here and sends the reader its next job.
    pub(super) fn snapshot_boundary(&mut self) -> Result<(), PipelineError> {
        if self.snapshot.planner.is_idle() {
            return Ok(());
        }
        let (merges, job) = self.snapshot.planner.boundary(&self.at);
        for m in merges {
            self.merge(&m)?;
        }
        if let Some(job) = job {
            // A reader that is gone ends the session through its channel.
            let _ = self.snapshot.jobs.send(job);
        }
        Ok(())
    }

    /// Writes a chunk's rows as a transaction starting and ending at the
    /// merge point, marked with the progress they complete.
    fn merge(&mut self, m: &Merge) -> Result<(), PipelineError> {
        let at = self.at.clone();
        let plan = self.rules.1.plan(&m.chunk.table.schema);
        let id = self.tracker.begin(at.clone());
        let link = &mut self.snapshot;
        if link.next_row.0 != at {
            link.next_row = (at.clone(), 0);
        }
        // One less than the merge point: no event starts there, so the
        // rows sort after every change before it and before every change
        // from it on (FORMAT.md, "Snapshot rows").
        let source = SourceTxn::snapshot(self.server_id, &at.file, at.pos.saturating_sub(1));
        let placement = Placement {
            plan: &plan,
            source: &source,
            first_row: link.next_row.1,
            txn: id,
            produced_ms: now_ms(),
        };
        link.next_row.1 += emit::write_rows(m, &placement, &mut self.batch);
        if let Some(mark) = link.planner.take_mark() {
            self.tracker.mark(id, mark);
        }
        self.ended.push((id, at));
        if self.batch.len() >= self.limits.rows || self.batch.buf.len() >= self.limits.bytes {
            self.flush()?;
        }
        Ok(())
    }

    /// Feeds the planner the keys a rows event of the watched table touches.
    pub(super) fn watch_keys(&mut self, ev: &Event, step: &Step) -> Result<(), PipelineError> {
        let Some((db, table)) = self.snapshot.planner.watching() else {
            return Ok(());
        };
        let schema = self
            .decoder
            .rows_table(ev)
            .map_err(|e| e.at(step.start.clone()))?;
        if *schema.name.db != *db || *schema.name.table != *table {
            return Ok(());
        }
        let planner = &mut self.snapshot.planner;
        self.decoder
            .changed_keys(ev, &mut |k| planner.touched(k))
            .map_err(|e| e.at(step.start.clone()))?;
        Ok(())
    }

    /// Takes the signal rows just decoded (records from `from` on) out of
    /// the batch and queues what they ask for.
    pub(super) fn take_signals(&mut self, from: (usize, usize)) {
        let (records, bytes) = from;
        for r in &self.batch.records[records..] {
            let value = self.batch.value(r);
            match after_image(value)
                .map_err(|e| e.to_string())
                .and_then(|a| signal::parse(&a))
            {
                Ok(s) => self.snapshot.planner.request(Request {
                    reason: format!("signal {}", s.id),
                    patterns: Some(
                        s.patterns
                            .iter()
                            .map(|p| format!("{}.{}", p.db, p.table))
                            .collect(),
                    ),
                    except_captured_by: None,
                    condition: s.condition,
                }),
                Err(e) => {
                    tracing::warn!(error = %e, at = %self.at, "a snapshot signal row cannot be read; it is ignored")
                }
            }
        }
        self.batch.records.truncate(records);
        self.batch.buf.truncate(bytes);
    }

    /// A table being snapshotted that is altered starts again; dropped or
    /// renamed, its snapshot ends.
    pub(super) fn snapshot_schema_change(&mut self, ddl: &Ddl) {
        let Some(table) = &ddl.table else {
            return;
        };
        let gone = match ddl.kind {
            "DROP TABLE" | "RENAME TABLE" => true,
            "ALTER TABLE" | "TRUNCATE TABLE" => false,
            _ => return,
        };
        // What it did is logged by the planner.
        let _ = self.snapshot.planner.schema_changed(&ddl.db, table, gone);
    }

    /// New rules are in force: tables they capture that the old ones did not
    /// get their existing rows, when `[snapshot] new_tables` says so.
    pub(super) fn snapshot_new_rules(&mut self, old: &Rules) {
        if !self.snapshot.new_tables {
            return;
        }
        let names = |ps: &[crate::route::glob::TablePattern]| {
            ps.iter().map(|p| format!("{}.{}", p.db, p.table)).collect()
        };
        let scope = old
            .rules()
            .iter()
            .map(|r: &Rule| (names(&r.tables), names(&r.exclude)))
            .collect();
        self.snapshot.planner.request(Request {
            reason: "new rule".into(),
            patterns: None,
            except_captured_by: Some(scope),
            condition: None,
        });
    }
}

/// The `after` map of an event value, as its own MessagePack bytes.
fn after_image(value: &[u8]) -> Result<Vec<u8>, rmpv::decode::Error> {
    let v = rmpv::decode::read_value(&mut &value[..])?;
    let after = v
        .as_map()
        .and_then(|m| m.iter().find(|(k, _)| k.as_str() == Some("after")))
        .map(|(_, a)| a.clone())
        .unwrap_or(rmpv::Value::Nil);
    let mut out = Vec::new();
    rmpv::encode::write_value(&mut out, &after).expect("writing to a Vec");
    Ok(out)
}
