//! What the sink tells the rest of the process: which messages were
//! acknowledged ([`Acks`], a narrow interface instead of the checkpoint
//! tracker itself), and whether it is healthy ([`SinkHealth`]: the first
//! delivery failure, and how long messages have waited without a single
//! acknowledgement).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, OnceLock};
use std::time::{Duration, Instant};

use super::SinkError;
use crate::event::TxnId;

/// Receives acknowledgements: `n` messages of transaction `txn` were
/// confirmed. The sink calls it from librdkafka's delivery thread, so it
/// must be cheap and thread-safe.
pub trait Acks: Send + Sync {
    fn ack(&self, txn: TxnId, n: u64);
    /// A message of `txn` was refused, or never handed to Kafka: it will
    /// never be acknowledged, and waiting for it would only delay the stop.
    fn failed(&self, txn: TxnId);
}

/// The sink's health, shared by the sink (which records), the pipeline
/// (which stops on a failure) and the session (which watches for stalls).
#[derive(Debug)]
pub struct SinkHealth {
    /// The first delivery failure since the last [`SinkHealth::take_failure`].
    failure: Mutex<Option<SinkError>>,
    /// Set once any failure was recorded in this session: an idle pipeline
    /// is stopped on it even after the pipeline took the failure.
    failed: OnceLock<()>,
    /// Messages handed to Kafka and not yet acknowledged.
    in_flight: AtomicU64,
    /// When the sink last made progress: an acknowledgement, or the first
    /// message after an idle spell.
    progress: Mutex<Instant>,
}

impl Default for SinkHealth {
    fn default() -> Self {
        SinkHealth {
            failure: Mutex::new(None),
            failed: OnceLock::new(),
            in_flight: AtomicU64::new(0),
            progress: Mutex::new(Instant::now()),
        }
    }
}

impl SinkHealth {
    /// Records `e` unless a failure is recorded already (the first is the
    /// cause; later ones are its consequences).
    pub fn fail(&self, e: SinkError) {
        self.failure.lock().unwrap().get_or_insert(e);
        let _ = self.failed.set(());
    }

    /// Whether a failure was ever recorded.
    pub fn failed(&self) -> bool {
        self.failed.get().is_some()
    }

    /// The recorded failure, for the pipeline to report; once.
    pub fn take_failure(&self) -> Option<SinkError> {
        self.failure.lock().unwrap().take()
    }

    /// `n` messages were handed to Kafka.
    pub(crate) fn sent(&self, n: u64) {
        if self.in_flight.fetch_add(n, Ordering::AcqRel) == 0 {
            *self.progress.lock().unwrap() = Instant::now();
        }
    }

    /// `n` messages were acknowledged.
    pub(crate) fn acked(&self, n: u64) {
        *self.progress.lock().unwrap() = Instant::now();
        // Saturating: an acknowledgement racing `sent` must not wrap.
        let _ = self
            .in_flight
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |v| {
                Some(v.saturating_sub(n))
            });
    }

    /// How long messages have waited without a single acknowledgement;
    /// `None` when nothing waits.
    pub fn stalled_for(&self) -> Option<Duration> {
        (self.in_flight.load(Ordering::Acquire) > 0)
            .then(|| self.progress.lock().unwrap().elapsed())
    }

    /// Messages handed to Kafka and not yet acknowledged.
    pub fn in_flight(&self) -> u64 {
        self.in_flight.load(Ordering::Acquire)
    }

    /// Records a [`SinkError::Stalled`] failure when messages have waited
    /// `limit` or longer; returns whether it did (or had before).
    pub fn check_stall(&self, limit: Duration) -> bool {
        match self.stalled_for() {
            Some(waited) if waited >= limit => {
                self.fail(SinkError::Stalled {
                    outstanding: self.in_flight(),
                    secs: waited.as_secs(),
                });
                true
            }
            _ => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    // Short enough to be below the uptime of any machine that got as far as
    // running tests (Instant cannot go back before boot).
    const AGO: Duration = Duration::from_secs(60);

    impl SinkHealth {
        /// Pretends the last progress was `by` ago, instead of sleeping.
        fn age(&self, by: Duration) {
            let mut p = self.progress.lock().unwrap();
            *p = Instant::now()
                .checked_sub(by)
                .expect("uptime above a minute");
        }
    }

    #[test]
    fn idle_time_before_the_first_message_is_not_a_stall() {
        let h = SinkHealth::default();
        h.age(AGO);
        h.sent(2);
        assert!(h.stalled_for().unwrap() < AGO);
        h.age(AGO);
        assert!(h.stalled_for().unwrap() >= AGO);
        h.acked(1);
        assert!(h.stalled_for().unwrap() < AGO, "an ack is progress");
        h.acked(1);
        assert_eq!(h.stalled_for(), None);
    }

    #[test]
    fn the_first_failure_is_kept_and_taken_once() {
        let h = SinkHealth::default();
        assert!(!h.failed());
        h.fail(SinkError::Stopped);
        h.fail(SinkError::Config("later".into()));
        assert!(h.failed());
        assert!(matches!(h.take_failure(), Some(SinkError::Stopped)));
        assert!(h.take_failure().is_none());
        // Taken, but the session still knows the sink failed.
        assert!(h.failed());
    }

    #[test]
    fn a_stall_needs_messages_waiting() {
        let h = SinkHealth::default();
        assert_eq!(h.stalled_for(), None);
        assert!(!h.check_stall(Duration::ZERO));
        h.sent(3);
        assert!(h.stalled_for().is_some());
        h.acked(3);
        assert_eq!(h.stalled_for(), None);
        h.sent(1);
        // Zero limit: anything waiting is a stall, without a timed wait.
        assert!(h.check_stall(Duration::ZERO));
        assert!(matches!(
            h.take_failure(),
            Some(SinkError::Stalled { outstanding: 1, .. })
        ));
    }
}
