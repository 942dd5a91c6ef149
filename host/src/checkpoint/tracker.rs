//! Ordered acknowledgement of transactions.
//!
//! A transaction is done when it has been read to its end and every message
//! it produced is acknowledged. The resume position is the start of the
//! oldest transaction not yet done, or, when all are done, the end of the
//! last one: a restart therefore always replays whole transactions, and
//! the table maps they need come with them.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use crate::binlog::gtid::{Gtid, GtidState};
use crate::event::Position;
use crate::snapshot::Progress;

pub(super) use crate::event::TxnId;

#[derive(Debug)]
struct Txn {
    start: Position,
    /// Set when the transaction has been read to its commit.
    end: Option<Position>,
    /// Messages produced and not yet acknowledged.
    outstanding: u64,
    /// The stream broke inside this transaction; it will be read again from
    /// `start` under a new id, and this entry only waits for its messages.
    abandoned: bool,
    /// Snapshot progress as of the end of this transaction, when it changed
    /// it (a chunk merged, a request seen): durable once this is done.
    mark: Option<Arc<Progress>>,
    /// Its GTID, added to the resume state once it is done.
    gtid: Option<Gtid>,
    /// The source's timestamp of its first event (Unix seconds; 0 for
    /// transactions Sluice makes itself): what the lag is measured from.
    source_ts: u32,
    /// When it was read to its commit: the commit-to-acknowledge latency
    /// is measured from here.
    ended_at: Option<Instant>,
}

#[derive(Debug)]
struct State {
    /// Transactions not yet done, oldest first; `first` is the id of the front.
    txns: VecDeque<Txn>,
    first: TxnId,
    /// Where to resume when no transaction is pending.
    done_upto: Position,
    /// Snapshot progress as of the resume position: the mark of the last
    /// done transaction that had one.
    done_mark: Option<Arc<Progress>>,
    /// The GTID state as of the resume position, when known: the state
    /// Sluice started from plus the GTID of every done transaction.
    done_gtid: Option<GtidState>,
    outstanding: u64,
    /// The oldest transaction with a message Kafka refused (or that was
    /// never handed over): its messages will never all be acknowledged, so
    /// the checkpoint cannot pass it and waiting for it is pointless.
    failed: Option<TxnId>,
}

/// What the lag is computed from (see [`Tracker::lag`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Lag {
    /// The source timestamp of the oldest transaction not yet done; `None`
    /// when every transaction read is done.
    pub oldest_pending_ts: Option<u32>,
}

/// What a checkpoint written now holds; all three read under one lock, so
/// they always describe the same point.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Resume {
    pub position: Position,
    pub progress: Option<Arc<Progress>>,
    pub gtid: Option<GtidState>,
}

#[derive(Debug)]
pub struct Tracker {
    state: Mutex<State>,
}

impl Tracker {
    /// A tracker whose resume position starts at `from`.
    pub fn new(from: Position) -> Self {
        Self::with_progress(from, None)
    }

    /// A tracker starting at `from` with the snapshot progress stored with it.
    pub(crate) fn with_progress(from: Position, progress: Option<Arc<Progress>>) -> Self {
        Self::resuming(from, progress, None)
    }

    /// A tracker starting at `from`, with the snapshot progress and the GTID
    /// state (when known) that go with it.
    pub(crate) fn resuming(
        from: Position,
        progress: Option<Arc<Progress>>,
        gtid: Option<GtidState>,
    ) -> Self {
        Tracker {
            state: Mutex::new(State {
                txns: VecDeque::new(),
                first: TxnId(0),
                done_upto: from,
                done_mark: progress,
                done_gtid: gtid,
                outstanding: 0,
                failed: None,
            }),
        }
    }

    /// Registers a transaction that starts at `start`.
    pub fn begin(&self, start: Position) -> TxnId {
        self.begin_gtid(start, None)
    }

    /// Registers a transaction that starts at `start` with this GTID.
    pub(crate) fn begin_gtid(&self, start: Position, gtid: Option<Gtid>) -> TxnId {
        self.begin_at(start, gtid, 0)
    }

    /// Registers a transaction that starts at `start` with this GTID, whose
    /// first event the source wrote at `source_ts` (Unix seconds).
    pub(crate) fn begin_at(&self, start: Position, gtid: Option<Gtid>, source_ts: u32) -> TxnId {
        let mut s = self.state.lock().unwrap();
        s.txns.push_back(Txn {
            start,
            end: None,
            outstanding: 0,
            abandoned: false,
            mark: None,
            gtid,
            source_ts,
            ended_at: None,
        });
        TxnId(s.first.0 + s.txns.len() as u64 - 1)
    }

    /// Counts `n` messages about to be produced for `txn`. Must be called
    /// before they are handed to the sink, or an early acknowledgement could
    /// complete the transaction too soon.
    pub fn produced(&self, txn: TxnId, n: u64) {
        let mut s = self.state.lock().unwrap();
        if let Some(t) = s.get(txn) {
            t.outstanding += n;
            s.outstanding += n;
        }
    }

    /// Marks `txn` as read to its end; `end` is where the next event starts.
    pub fn end(&self, txn: TxnId, end: Position) {
        let mut s = self.state.lock().unwrap();
        if let Some(t) = s.get(txn) {
            t.end = Some(end);
            t.ended_at = Some(Instant::now());
        }
        s.advance();
    }

    /// Snapshot progress as of the end of `txn`: it becomes the stored
    /// progress once `txn` is done, together with its end position.
    pub(crate) fn mark(&self, txn: TxnId, progress: Arc<Progress>) {
        let mut s = self.state.lock().unwrap();
        if let Some(t) = s.get(txn) {
            t.mark = Some(progress);
        }
    }

    /// `txn` never committed (its end is missing from the log): its GTID is
    /// left out of the GTID state.
    pub(crate) fn uncommitted(&self, txn: TxnId) {
        let mut s = self.state.lock().unwrap();
        if let Some(t) = s.get(txn) {
            t.gtid = None;
        }
    }

    /// The stream broke inside `txn`: it will be read again from its start.
    pub fn abandon(&self, txn: TxnId) {
        let mut s = self.state.lock().unwrap();
        if let Some(t) = s.get(txn) {
            t.abandoned = true;
        }
        s.advance();
    }

    /// One message of `txn` was acknowledged by the sink.
    pub fn ack(&self, txn: TxnId) {
        self.ack_n(txn, 1);
    }

    /// `n` messages of `txn` were acknowledged by the sink: one lock for a
    /// run of messages of the same transaction.
    pub fn ack_n(&self, txn: TxnId, n: u64) {
        let mut s = self.state.lock().unwrap();
        if let Some(t) = s.get(txn) {
            t.outstanding = t.outstanding.saturating_sub(n);
            s.outstanding = s.outstanding.saturating_sub(n);
        }
        s.advance();
    }

    /// A message of `txn` was refused, or never handed to the sink: `txn`
    /// (and everything after it) will not be acknowledged in this session.
    pub fn fail(&self, txn: TxnId) {
        let mut s = self.state.lock().unwrap();
        s.failed = Some(s.failed.map_or(txn, |f| f.min(txn)));
    }

    /// Whether the resume position can still move: some transaction before
    /// the first failed one (any, when none failed) has messages that are
    /// not yet acknowledged and still can be.
    pub fn settled(&self) -> bool {
        let s = self.state.lock().unwrap();
        let Some(failed) = s.failed else {
            return s.outstanding == 0;
        };
        let before = failed.0.saturating_sub(s.first.0) as usize;
        s.txns.iter().take(before).all(|t| t.outstanding == 0)
    }

    /// Moves the resume position forward over events that belong to no
    /// transaction (a rotation to a new file), when nothing is pending.
    pub fn skip_to(&self, pos: Position) {
        let mut s = self.state.lock().unwrap();
        if s.txns.is_empty() && pos > s.done_upto {
            s.done_upto = pos;
        }
    }

    /// Where transaction `txn` starts, while it is pending.
    pub fn start_of(&self, txn: TxnId) -> Option<Position> {
        let mut s = self.state.lock().unwrap();
        s.get(txn).map(|t| t.start.clone())
    }

    /// Where a restart must resume so that nothing unacknowledged is lost.
    pub fn resume_position(&self) -> Position {
        let s = self.state.lock().unwrap();
        match s.txns.front() {
            Some(t) => t.start.clone(),
            None => s.done_upto.clone(),
        }
    }

    /// [`Tracker::resume_position`] and the snapshot progress that goes with
    /// it (both under one lock, so they always match).
    pub(crate) fn resume_state(&self) -> Resume {
        let s = self.state.lock().unwrap();
        let position = match s.txns.front() {
            Some(t) => t.start.clone(),
            None => s.done_upto.clone(),
        };
        Resume {
            position,
            progress: s.done_mark.clone(),
            gtid: s.done_gtid.clone(),
        }
    }

    /// What the checkpoint will be once every message handed over so far is
    /// acknowledged: with exactly-once delivery, the checkpoint committed in
    /// the same Kafka transaction as those messages. `None` while a
    /// transaction is still being read, or one failed: no checkpoint can
    /// cover part of a transaction.
    pub(crate) fn resume_state_once_delivered(&self) -> Option<Resume> {
        let s = self.state.lock().unwrap();
        if s.failed.is_some() {
            return None;
        }
        let mut r = Resume {
            position: s.done_upto.clone(),
            progress: s.done_mark.clone(),
            gtid: s.done_gtid.clone(),
        };
        for t in &s.txns {
            if t.abandoned {
                return None;
            }
            r.position = t.end.clone()?;
            if let Some(mark) = &t.mark {
                r.progress = Some(mark.clone());
            }
            if let (Some(g), Some(state)) = (&t.gtid, &mut r.gtid) {
                state.apply(g);
            }
        }
        Some(r)
    }

    /// Messages produced and not yet acknowledged.
    pub fn outstanding(&self) -> u64 {
        self.state.lock().unwrap().outstanding
    }

    /// The source time of the oldest source transaction not yet done.
    /// Transactions Sluice makes itself (heartbeats, snapshot chunks) have
    /// no source time and are passed over.
    pub(crate) fn lag(&self) -> Lag {
        let s = self.state.lock().unwrap();
        Lag {
            oldest_pending_ts: s
                .txns
                .iter()
                .find(|t| !t.abandoned && t.source_ts > 0)
                .map(|t| t.source_ts),
        }
    }
}

impl State {
    fn get(&mut self, txn: TxnId) -> Option<&mut Txn> {
        let i = txn.0.checked_sub(self.first.0)?;
        self.txns.get_mut(i as usize)
    }

    /// Pops done transactions off the front.
    fn advance(&mut self) {
        while let Some(t) = self.txns.front() {
            if t.outstanding > 0 {
                break;
            }
            if t.abandoned {
                // Nothing moves: the re-read copy (a later entry, same start)
                // holds the position.
            } else if let Some(end) = &t.end {
                if let Some(at) = t.ended_at {
                    crate::metrics::get()
                        .commit_to_ack
                        .observe(at.elapsed().as_secs_f64());
                }
                self.done_upto = end.clone();
                if let Some(mark) = &t.mark {
                    self.done_mark = Some(mark.clone());
                }
                if let (Some(g), Some(state)) = (&t.gtid, &mut self.done_gtid) {
                    state.apply(g);
                }
            } else {
                break;
            }
            self.txns.pop_front();
            self.first.0 += 1;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(pos: u64) -> Position {
        Position::new("bin.000001", pos)
    }

    /// The checkpoint a Kafka transaction commits with covers every ended
    /// transaction before any acknowledgement, and none while one is open.
    #[test]
    fn the_state_once_delivered_covers_ended_transactions_only() {
        let g = |s: &str| GtidState::parse_mariadb(s).unwrap();
        let t = Tracker::resuming(p(4), None, Some(g("0-1-10")));
        let a = t.begin_gtid(p(100), "0-1-11".parse().ok());
        t.produced(a, 2);
        assert_eq!(t.resume_state_once_delivered(), None, "a is open");
        t.end(a, p(200));
        let b = t.begin_gtid(p(200), "0-1-12".parse().ok());
        t.produced(b, 1);
        t.end(b, p(300));
        let r = t.resume_state_once_delivered().unwrap();
        assert_eq!((r.position, r.gtid), (p(300), Some(g("0-1-12"))));
        assert_eq!(t.resume_position(), p(100), "nothing acknowledged yet");
        t.fail(b);
        assert_eq!(t.resume_state_once_delivered(), None, "b failed");
    }

    #[test]
    fn resumes_at_the_oldest_unacknowledged_transaction() {
        let t = Tracker::new(p(4));
        let a = t.begin(p(100));
        t.produced(a, 2);
        t.end(a, p(200));
        let b = t.begin(p(200));
        t.produced(b, 1);
        t.end(b, p(300));
        assert_eq!(t.resume_position(), p(100));
        // b is acknowledged before a: the position must not jump past a.
        t.ack(b);
        assert_eq!(t.resume_position(), p(100));
        t.ack(a);
        assert_eq!(t.resume_position(), p(100), "a still has one message out");
        t.ack(a);
        assert_eq!(t.resume_position(), p(300));
        assert_eq!(t.outstanding(), 0);
        assert!(t.settled());
    }

    /// The stall is checked against clock readings taken around the calls,
    /// never against a fixed figure: a thread descheduled for a while on a
    /// busy machine makes the figures larger, never the checks false.
    #[test]
    fn an_open_transaction_holds_the_position_even_when_acknowledged() {
        let t = Tracker::new(p(4));
        let a = t.begin(p(100));
        t.produced(a, 1);
        t.ack(a);
        assert_eq!(t.resume_position(), p(100), "not read to its commit yet");
        t.end(a, p(150));
        assert_eq!(t.resume_position(), p(150));
    }

    #[test]
    fn lag_is_measured_from_the_oldest_pending_source_transaction() {
        let t = Tracker::new(p(4));
        assert_eq!(t.lag().oldest_pending_ts, None);
        let hb = t.begin(p(10));
        let a = t.begin_at(p(10), None, 1_000);
        let b = t.begin_at(p(20), None, 1_005);
        t.end(hb, p(10));
        assert_eq!(t.lag().oldest_pending_ts, Some(1_000));
        t.produced(a, 1);
        t.end(a, p(20));
        t.end(b, p(30));
        assert_eq!(
            t.lag().oldest_pending_ts,
            Some(1_000),
            "a is not acknowledged"
        );
        t.ack(a);
        assert_eq!(t.lag().oldest_pending_ts, None);
    }

    #[test]
    fn empty_transactions_complete_at_their_end() {
        let t = Tracker::new(p(4));
        let a = t.begin(p(10));
        t.end(a, p(20));
        assert_eq!(t.resume_position(), p(20));
        t.skip_to(Position::new("bin.000002", 4));
        assert_eq!(t.resume_position(), Position::new("bin.000002", 4));
    }

    #[test]
    fn abandoned_transactions_are_read_again_from_their_start() {
        let t = Tracker::new(p(4));
        let a = t.begin(p(10));
        t.produced(a, 1);
        t.abandon(a);
        let a2 = t.begin(p(10));
        t.produced(a2, 2);
        t.end(a2, p(50));
        assert_eq!(t.resume_position(), p(10));
        t.ack(a2);
        t.ack(a2);
        assert_eq!(
            t.resume_position(),
            p(10),
            "the abandoned copy still has a message out"
        );
        t.ack(a);
        assert_eq!(t.resume_position(), p(50));
    }

    #[test]
    fn a_failed_transaction_is_not_waited_for_but_those_before_it_are() {
        let t = Tracker::new(p(4));
        let a = t.begin(p(10));
        t.produced(a, 2);
        t.end(a, p(20));
        let b = t.begin(p(20));
        t.produced(b, 1);
        t.end(b, p(30));
        let c = t.begin(p(30));
        t.produced(c, 1);
        t.end(c, p(40));
        t.fail(c);
        t.ack(b);
        assert!(!t.settled(), "a can still be acknowledged");
        t.ack(a);
        assert!(!t.settled(), "a has one more message out");
        t.ack(a);
        assert!(t.settled(), "only c's refused message is out");
        assert_eq!(t.resume_position(), p(30), "the start of c");
        assert_eq!(t.outstanding(), 1);
        // An earlier failure moves the boundary back.
        t.fail(a);
        assert!(t.settled());
    }

    #[test]
    fn without_a_failure_settled_means_everything_acknowledged() {
        let t = Tracker::new(p(4));
        assert!(t.settled());
        let a = t.begin(p(10));
        t.produced(a, 1);
        assert!(!t.settled());
        t.ack(a);
        assert!(t.settled());
    }

    #[test]
    fn snapshot_progress_is_stored_with_the_position_it_belongs_to() {
        let progress = |rows| {
            Arc::new(Progress {
                tables: vec![crate::snapshot::TableProgress {
                    db: "d".into(),
                    table: "t".into(),
                    condition: None,
                    after: None,
                    rows,
                    estimate: 0,
                    reason: "initial".into(),
                }],
                requests: vec![],
            })
        };
        let t = Tracker::with_progress(p(4), Some(progress(0)));
        let a = t.begin(p(10));
        t.produced(a, 1);
        t.mark(a, progress(5));
        t.end(a, p(10));
        let b = t.begin(p(10));
        t.produced(b, 1);
        t.mark(b, progress(9));
        t.end(b, p(20));
        t.ack(b);
        let r = t.resume_state();
        assert_eq!(
            (r.position, r.progress.unwrap().tables[0].rows),
            (p(10), 0),
            "a is not done"
        );
        t.ack(a);
        let r = t.resume_state();
        assert_eq!((r.position, r.progress.unwrap().tables[0].rows), (p(20), 9));
    }

    #[test]
    fn the_gtid_state_moves_with_the_position_and_only_over_done_transactions() {
        let state = |s: &str| GtidState::parse_mariadb(s).unwrap();
        let t = Tracker::resuming(p(4), None, Some(state("0-1-5,1-1-3")));
        let a = t.begin_gtid(p(10), Some("0-1-6".parse().unwrap()));
        t.produced(a, 1);
        t.end(a, p(20));
        let b = t.begin_gtid(p(20), Some("1-1-4".parse().unwrap()));
        t.produced(b, 1);
        t.end(b, p(30));
        t.ack(b);
        let r = t.resume_state();
        assert_eq!(
            (r.position, r.gtid),
            (p(10), Some(state("0-1-5,1-1-3"))),
            "a is not done"
        );
        t.ack(a);
        let r = t.resume_state();
        assert_eq!((r.position, r.gtid), (p(30), Some(state("0-1-6,1-1-4"))));
        // An abandoned copy adds nothing; its re-read does.
        let c = t.begin_gtid(p(30), Some("0-1-7".parse().unwrap()));
        t.produced(c, 1);
        t.abandon(c);
        t.ack(c);
        assert_eq!(t.resume_state().gtid, Some(state("0-1-6,1-1-4")));
        let c2 = t.begin_gtid(p(30), Some("0-1-7".parse().unwrap()));
        t.end(c2, p(40));
        assert_eq!(t.resume_state().gtid, Some(state("0-1-7,1-1-4")));
    }

    #[test]
    fn an_uncommitted_transaction_moves_the_position_but_not_the_gtid_state() {
        let state = |s: &str| GtidState::parse_mariadb(s).unwrap();
        let t = Tracker::resuming(p(4), None, Some(state("0-1-5")));
        let a = t.begin_gtid(p(10), Some("0-1-6".parse().unwrap()));
        t.uncommitted(a);
        t.end(a, p(20));
        let r = t.resume_state();
        assert_eq!((r.position, r.gtid), (p(20), Some(state("0-1-5"))));
        let b = t.begin_gtid(p(20), Some("0-1-6".parse().unwrap()));
        t.end(b, p(30));
        assert_eq!(t.resume_state().gtid, Some(state("0-1-6")));
    }

    #[test]
    fn an_unknown_gtid_state_stays_unknown() {
        let t = Tracker::new(p(4));
        let a = t.begin_gtid(p(10), Some("0-1-6".parse().unwrap()));
        t.end(a, p(20));
        assert_eq!(t.resume_state().gtid, None);
    }

    #[test]
    fn a_message_out_keeps_the_tracker_unsettled() {
        let t = Tracker::new(p(4));
        let a = t.begin(p(10));
        t.produced(a, 1);
        assert!(!t.settled());
        assert_eq!(t.outstanding(), 1);
    }
}
