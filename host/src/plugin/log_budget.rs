//! Rate limit for a plugin's log lines: a plugin that logs per event would
//! otherwise write megabytes within one call's deadline and drown the
//! host's own lines. A token bucket per instance; what is dropped is
//! counted and reported with the next line let through.

use std::time::Instant;

/// Lines a plugin may log at once.
pub(crate) const BURST: f64 = 100.0;
/// Lines a second after the burst.
pub(crate) const PER_SEC: f64 = 20.0;

#[derive(Debug)]
pub(crate) struct LogBudget {
    tokens: f64,
    last: Instant,
    dropped: u64,
}

impl LogBudget {
    pub(crate) fn new(now: Instant) -> Self {
        LogBudget {
            tokens: BURST,
            last: now,
            dropped: 0,
        }
    }

    /// Whether a line may be logged at `now`: `None` drops it; `Some(n)`
    /// logs it, `n` lines having been dropped since the last one logged.
    pub(crate) fn take(&mut self, now: Instant) -> Option<u64> {
        let secs = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + secs * PER_SEC).min(BURST);
        if self.tokens < 1.0 {
            self.dropped += 1;
            return None;
        }
        self.tokens -= 1.0;
        Some(std::mem::take(&mut self.dropped))
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn a_burst_passes_then_the_rate_and_the_dropped_are_counted() {
        let t0 = Instant::now();
        let mut b = LogBudget::new(t0);
        for _ in 0..BURST as usize {
            assert_eq!(b.take(t0), Some(0));
        }
        for _ in 0..1000 {
            assert_eq!(b.take(t0), None);
        }
        // One line's worth of time later: one line, with the count.
        let later = t0 + Duration::from_secs_f64(1.0 / PER_SEC);
        assert_eq!(b.take(later), Some(1000));
        assert_eq!(b.take(later), None);
        // A quiet minute refills the burst, no more.
        let quiet = later + Duration::from_secs(60);
        for _ in 0..BURST as usize {
            assert!(b.take(quiet).is_some());
        }
        assert_eq!(b.take(quiet), None);
    }
}
