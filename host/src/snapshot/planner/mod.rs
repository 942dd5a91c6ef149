//! The snapshot's side of the pipeline thread: which chunk to read next,
//! the watermark window each chunk is read in, and when a chunk may join
//! the stream (docs/SNAPSHOT.md, "Algorithm").
//!
//! A chunk is requested at a transaction boundary S of the stream; its
//! window opens there and collects the primary keys that every later
//! change of the table touches. The reader runs the chunk's `SELECT` (a
//! consistent read that starts after S was written) and then reads the
//! server's binlog position H, which is past every transaction the
//! `SELECT` saw. The chunk joins the stream at the first boundary E >= H,
//! without the rows whose key changed in S..E: the stream already carries
//! those keys' newer (or equal) images, and every other row is unchanged
//! from the `SELECT` to E. No lock, and no transaction held open.
//!
//! Pure state: the pipeline feeds it boundaries, keys and replies, and
//! carries out the jobs and merges it returns; unit tests drive it alone.

use std::collections::{HashSet, VecDeque};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tracing::{info, warn};

use super::job::{ChunkOutcome, ChunkRequest, Job, ReadChunk, Reply};
use super::{KeyValue, Progress, Request, SignalTable, SnapshotError, TableProgress};

mod resolve;
mod whole;
use crate::event::Position;

/// What a schema change did to the snapshot.
#[derive(Debug, PartialEq)]
pub(crate) enum SchemaChange {
    /// Not a table the snapshot still has to read (or altered while
    /// queued: it is described when its turn comes).
    NotQueued,
    /// The table being read starts again from its first row.
    Restarted,
    /// The table being read is gone: its snapshot ends.
    Ended,
    /// A queued table is gone: it is left out.
    LeftOut,
}

/// Chunks read ahead of the stream at most (one merging, one being read).
const MAX_AHEAD: usize = 2;

/// The primary keys changed in the stream since a chunk was requested.
#[derive(Debug, Default)]
struct Window {
    id: u64,
    keys: HashSet<Vec<u8>>,
}

#[derive(Debug)]
enum Pending {
    Chunk(Window),
    Tables(u64),
    /// A table read whole; `discard`: its parts are no longer wanted (the
    /// table changed) and are dropped as they come.
    Whole {
        id: u64,
        discard: bool,
    },
}

/// What the pipeline may read next while a table without a primary key is
/// read whole: its rows join the stream exactly at the consistent read's
/// position, so the binlog must stop there.
#[derive(Debug, PartialEq)]
pub(crate) enum Hold<'a> {
    /// The binlog and replies alike.
    Free,
    /// Replies only: the position is not known yet.
    Replies,
    /// The binlog up to this position, then replies only.
    UpTo(&'a Position),
}

/// The table at the front of the queue, as read so far (ahead of
/// [`Progress`], which moves when a chunk is merged).
#[derive(Debug)]
struct Reading {
    after: Option<Vec<KeyValue>>,
    /// Its last chunk was read.
    exhausted: bool,
    /// It has no primary key: it is read whole.
    whole: bool,
    started: Instant,
    last_log: Instant,
    rows_at_start: u64,
}

/// A chunk ready to join the stream: `keep[i]` says whether row `i` is
/// emitted (its key did not change inside the chunk's window).
#[derive(Debug)]
pub(crate) struct Merge {
    pub chunk: Box<ReadChunk>,
    pub keep: Vec<bool>,
}

pub(crate) struct Planner {
    /// The work left as of the chunks merged so far: what a checkpoint
    /// taken after them stores.
    progress: Progress,
    /// `progress` changed since it was last taken as a mark.
    dirty: bool,
    chunk_rows: usize,
    interval: Duration,
    signal: Option<SignalTable>,
    next_id: u64,
    /// Bumped when a queued table is altered, so the reader describes it
    /// again.
    epoch: u64,
    reading: Option<Reading>,
    inflight: Option<Pending>,
    arrived: VecDeque<(Window, Box<ReadChunk>)>,
    /// The position of the whole read under way, once known.
    whole_at: Option<Position>,
}

impl Planner {
    pub(crate) fn new(
        progress: Progress,
        chunk_rows: usize,
        interval: Duration,
        signal: Option<SignalTable>,
    ) -> Self {
        if let Some(t) = progress.tables.first() {
            info!(tables = progress.tables.len(), db = %t.db, table = %t.table, rows = t.rows, "snapshot resumes where the checkpoint left it");
        }
        Planner {
            progress,
            dirty: false,
            chunk_rows,
            interval,
            signal,
            next_id: 1,
            epoch: 0,
            reading: None,
            inflight: None,
            arrived: VecDeque::new(),
            whole_at: None,
        }
    }

    /// See [`Hold`].
    pub(crate) fn hold(&self) -> Hold<'_> {
        match (&self.whole_at, &self.inflight) {
            (Some(p), _) => Hold::UpTo(p),
            (None, Some(Pending::Whole { discard: false, .. })) => Hold::Replies,
            _ => Hold::Free,
        }
    }

    /// A job is out: the pipeline also waits for its reply.
    pub(crate) fn waiting_for_reply(&self) -> bool {
        self.inflight.is_some()
    }

    /// Whether anything is queued, being read or waiting to be merged.
    pub(crate) fn is_idle(&self) -> bool {
        self.progress.is_empty() && self.inflight.is_none() && self.arrived.is_empty()
    }

    /// The table whose changes are being watched, if any window is open.
    pub(crate) fn watching(&self) -> Option<(&str, &str)> {
        let open = matches!(self.inflight, Some(Pending::Chunk(_))) || !self.arrived.is_empty();
        let t = self.progress.tables.first().filter(|_| open)?;
        Some((&t.db, &t.table))
    }

    /// A change in the stream touched primary key `key` of the watched table.
    pub(crate) fn touched(&mut self, key: &[u8]) {
        if let Some(Pending::Chunk(w)) = &mut self.inflight {
            w.keys.insert(key.to_vec());
        }
        for (w, _) in &mut self.arrived {
            w.keys.insert(key.to_vec());
        }
    }

    /// Queues a request (an on-demand signal, tables a reloaded rule
    /// captures).
    pub(crate) fn request(&mut self, r: Request) {
        info!(reason = %r.reason, patterns = ?r.patterns, condition = ?r.condition, "snapshot requested");
        self.progress.requests.push(r);
        self.dirty = true;
    }

    /// The progress as it now stands, when it changed since last asked: the
    /// caller marks the transaction it belongs to with it.
    pub(crate) fn take_mark(&mut self) -> Option<Arc<Progress>> {
        std::mem::take(&mut self.dirty).then(|| Arc::new(self.progress.clone()))
    }

    /// At a transaction boundary `at` of the stream: the chunks that may
    /// join it here, and the next job for the reader, if one is due.
    pub(crate) fn boundary(&mut self, at: &Position) -> (Vec<Merge>, Option<Job>) {
        if self.whole_at.as_ref().is_some_and(|p| at > p) {
            self.give_up_whole(at);
        }
        let mut merges = Vec::new();
        while self.arrived.front().is_some_and(|(_, c)| *at >= c.high) {
            let (window, chunk) = self.arrived.pop_front().expect("checked");
            merges.push(self.merge(window, chunk));
        }
        (merges, self.next_job())
    }

    fn merge(&mut self, window: Window, chunk: Box<ReadChunk>) -> Merge {
        let rows = &chunk.rows;
        let keep: Vec<bool> = (0..rows.rows)
            .map(|r| !window.keys.contains(&rows.key_buf[rows.keys[r].clone()]))
            .collect();
        let kept = keep.iter().filter(|k| **k).count() as u64;
        let last = rows.rows < self.chunk_rows;
        let front = &mut self.progress.tables[0];
        if let Some(k) = &rows.last_key {
            front.after = Some(k.clone());
        }
        front.rows += kept;
        self.dirty = true;
        self.log_progress(last);
        if last {
            self.finish_front();
        }
        Merge { chunk, keep }
    }

    fn next_job(&mut self) -> Option<Job> {
        if self.inflight.is_some() || self.arrived.len() >= MAX_AHEAD {
            return None;
        }
        let id = self.next_id;
        // Requests are resolved first (one quick query each), so the
        // tables they add queue up behind the ones already queued.
        if !self.progress.requests.is_empty() {
            self.next_id += 1;
            self.inflight = Some(Pending::Tables(id));
            return Some(Job::Tables { id });
        }
        let front = self.progress.tables.first()?;
        let reading = self.reading.get_or_insert_with(|| Reading {
            after: front.after.clone(),
            exhausted: false,
            whole: false,
            started: Instant::now(),
            last_log: Instant::now(),
            rows_at_start: front.rows,
        });
        if reading.exhausted {
            return None;
        }
        self.next_id += 1;
        let request = ChunkRequest {
            id,
            db: front.db.clone(),
            table: front.table.clone(),
            epoch: self.epoch,
            condition: front.condition.clone(),
            after: reading.after.clone(),
            limit: self.chunk_rows,
        };
        if reading.whole {
            reading.exhausted = true;
            self.inflight = Some(Pending::Whole { id, discard: false });
            return Some(Job::Whole(request));
        }
        self.inflight = Some(Pending::Chunk(Window {
            id,
            keys: HashSet::new(),
        }));
        Some(Job::Chunk(request))
    }

    /// The reader's answer to the job in flight (answers to jobs a schema
    /// change made moot are dropped). `captured` says whether the rules in
    /// force capture a table.
    pub(crate) fn reply(
        &mut self,
        reply: Reply,
        captured: &dyn Fn(&str, &str) -> bool,
    ) -> Result<(), SnapshotError> {
        match (reply, self.inflight.take()) {
            (Reply::Chunk { id, outcome }, Some(Pending::Chunk(w))) if w.id == id => {
                self.chunk_read(w, outcome?);
            }
            (Reply::Tables { id, outcome }, Some(Pending::Tables(t))) if t == id => {
                self.resolve(outcome?, captured);
            }
            (Reply::Part { id, outcome }, Some(Pending::Whole { id: w, discard })) if w == id => {
                self.part_read(id, discard, outcome?);
            }
            (_, other) => self.inflight = other,
        }
        Ok(())
    }

    fn chunk_read(&mut self, window: Window, outcome: ChunkOutcome) {
        let front = &self.progress.tables[0];
        let (db, table) = (front.db.clone(), front.table.clone());
        match outcome {
            ChunkOutcome::Rows(chunk) => {
                let reading = self.reading.as_mut().expect("a chunk was requested");
                if let Some(k) = &chunk.rows.last_key {
                    reading.after = Some(k.clone());
                }
                reading.exhausted = chunk.rows.rows < self.chunk_rows;
                self.arrived.push_back((window, chunk));
            }
            ChunkOutcome::Gone => {
                self.gone(&db, &table);
            }
            ChunkOutcome::NoPrimaryKey => {
                info!(db, table, "the table has no primary key: it is read whole in one consistent read, with the stream paused at its position (docs/SNAPSHOT.md, \"Tables without a primary key\")");
                self.reading.as_mut().expect("being read").whole = true;
            }
        }
    }

    /// A schema change of `db`.`table` seen in the stream: the table at the
    /// front of the queue starts again (altered) or ends (dropped, renamed
    /// away), whether a chunk of it is out or not (between two chunks, or
    /// right after an earlier change, none is); a table further back is
    /// left out when dropped.
    pub(crate) fn schema_changed(&mut self, db: &str, table: &str, gone: bool) -> SchemaChange {
        let is = |t: &TableProgress| t.db == db && t.table == table;
        let Some(at) = self.progress.tables.iter().position(is) else {
            return SchemaChange::NotQueued;
        };
        // The reader describes the table again.
        self.epoch += 1;
        if at > 0 {
            if !gone {
                return SchemaChange::NotQueued;
            }
            info!(db, table, "a table queued for the snapshot was dropped or renamed before its turn; it is left out");
            self.progress.tables.retain(|t| !is(t));
            self.dirty = true;
            return SchemaChange::LeftOut;
        }
        match &mut self.inflight {
            Some(Pending::Chunk(_)) => self.inflight = None,
            Some(Pending::Whole { discard, .. }) => *discard = true,
            _ => {}
        }
        self.whole_at = None;
        self.arrived.clear();
        if gone {
            warn!(
                db,
                table,
                "the table was dropped or renamed while being snapshotted; its snapshot ends"
            );
            self.finish_front();
            self.progress.tables.retain(|t| !is(t));
            SchemaChange::Ended
        } else {
            warn!(db, table, "the table was altered while being snapshotted; its snapshot starts again from its first row");
            self.reading = None;
            let front = &mut self.progress.tables[0];
            front.after = None;
            front.rows = 0;
            self.dirty = true;
            SchemaChange::Restarted
        }
    }

    /// The server no longer has the table at the front: dropped or renamed
    /// before its first chunk, or while it was read and before the stream
    /// brought the statement (which then finds nothing left to end).
    pub(super) fn gone(&mut self, db: &str, table: &str) {
        warn!(
            db,
            table,
            "the table was dropped or renamed while being snapshotted (the server no longer has it); its snapshot ends"
        );
        self.finish_front();
    }

    fn finish_front(&mut self) {
        let t = self.progress.tables.remove(0);
        self.whole_at = None;
        let secs = self
            .reading
            .take()
            .map_or(0.0, |r| r.started.elapsed().as_secs_f64());
        self.arrived.clear();
        self.dirty = true;
        info!(db = %t.db, table = %t.table, rows = t.rows, secs = format!("{secs:.1}"), reason = %t.reason, "snapshot of the table finished");
        if self.progress.is_empty() {
            info!("snapshot finished: every queued table was read");
        }
    }

    /// Logs the front table's progress at most once per interval (and when
    /// it ends, which `finish_front` reports).
    fn log_progress(&mut self, last: bool) {
        let (Some(r), Some(t)) = (self.reading.as_mut(), self.progress.tables.first()) else {
            return;
        };
        if last || r.last_log.elapsed() < self.interval {
            return;
        }
        r.last_log = Instant::now();
        let secs = r.started.elapsed().as_secs_f64().max(1e-3);
        let rate = (t.rows - r.rows_at_start) as f64 / secs;
        let left = t.estimate.saturating_sub(t.rows);
        let eta = if rate > 0.0 { left as f64 / rate } else { 0.0 };
        info!(db = %t.db, table = %t.table, rows = t.rows, estimated_total = t.estimate, rows_per_sec = rate as u64, eta_secs = eta as u64, "snapshot progress");
    }
}

#[cfg(test)]
mod tests;
