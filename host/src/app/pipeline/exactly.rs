//! Exactly-once delivery: when the pipeline's Kafka transaction commits.
//!
//! Every message goes into the sink's open Kafka transaction. At the end
//! of a binlog transaction once `[kafka] transaction_interval_ms` has
//! passed, or after a chunk that ends at a boundary when the reader has
//! nothing more queued (so an idle source is not kept waiting), the
//! pipeline commits it with the checkpoint of everything in it as its last
//! record: the changes and the position that covers them
//! become visible to `read_committed` consumers together, or not at all.
//! A session that ends between boundaries aborts its transaction; the next
//! one resumes from the last committed checkpoint.

use std::time::{Duration, Instant};

use super::{Pipeline, PipelineError};
use crate::checkpoint::Committed;
use crate::event::Position;

/// The pipeline's side of exactly-once delivery.
pub(crate) struct Exactly {
    committed: Committed,
    interval: Duration,
    since: Instant,
    /// The position the last commit covered.
    at: Option<Position>,
    /// This session's commits and the time the pipeline spent blocked in
    /// them (logged when the session ends; scripts/bench reads it).
    commits: u64,
    blocked: Duration,
}

impl Exactly {
    pub(crate) fn new(committed: Committed, interval: Duration) -> Self {
        Exactly {
            committed,
            interval,
            since: Instant::now(),
            at: None,
            commits: 0,
            blocked: Duration::ZERO,
        }
    }
}

impl Pipeline {
    /// Commits the open Kafka transaction if this is a binlog transaction
    /// boundary and it is due: the interval has passed (checked at every
    /// boundary, so that a steady load, whose chunks seldom end exactly at
    /// one, is grouped by time too), or `idle`: the reader has nothing
    /// queued. What is still in the batch goes to the sink first.
    pub(super) fn maybe_commit(&mut self, idle: bool) -> Result<(), PipelineError> {
        let Some(x) = &self.exactly else {
            return Ok(());
        };
        if self.open.is_some() || !(idle || x.since.elapsed() >= x.interval) {
            return Ok(());
        }
        self.flush()?;
        self.commit()
    }

    /// Commits what was sent with the checkpoint that covers it, when no
    /// binlog transaction is half sent.
    fn commit(&mut self) -> Result<(), PipelineError> {
        let Some(x) = &mut self.exactly else {
            return Ok(());
        };
        let Some(r) = self.tracker.resume_state_once_delivered() else {
            return Ok(());
        };
        x.since = Instant::now();
        if x.at.as_ref() == Some(&r.position) {
            return Ok(());
        }
        let progress = r.progress.as_deref().filter(|p| !p.is_empty());
        let value = x.committed.value(&r.position, progress, r.gtid.as_ref());
        let c = &x.committed;
        let t0 = Instant::now();
        self.sink
            .commit((&c.topic, &c.key, &value))
            .map_err(PipelineError::Sink)?;
        x.blocked += t0.elapsed();
        x.commits += 1;
        c.done(&r.position, r.gtid.as_ref());
        x.at = Some(r.position);
        crate::metrics::get().kafka_commits.inc();
        Ok(())
    }

    /// At the end of a session: commits what can be committed, or aborts so
    /// that `read_committed` consumers need not wait for the transaction's
    /// timeout. A fenced producer is left alone: its transaction is the
    /// new owner's to abort.
    pub(super) fn finish_transaction(&mut self, ended: &Result<(), PipelineError>) {
        if self.exactly.is_none() {
            return;
        }
        self.finish_transaction_inner(ended);
        if let Some(x) = &self.exactly {
            tracing::info!(
                commits = x.commits,
                blocked_secs = format!("{:.2}", x.blocked.as_secs_f64()),
                "kafka transactions of this session"
            );
        }
    }

    fn finish_transaction_inner(&mut self, ended: &Result<(), PipelineError>) {
        let fenced = matches!(
            ended,
            Err(PipelineError::Sink(crate::kafka::SinkError::Fenced { .. }))
        );
        if fenced {
            return;
        }
        if ended.is_ok() && self.open.is_none() && self.commit().is_ok() {
            return;
        }
        self.sink.abort();
    }
}
