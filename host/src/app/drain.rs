//! The end of a session: waiting for Kafka to acknowledge what was handed
//! to it, so the checkpoint covers it.
//!
//! Only messages that can still be acknowledged are waited for: once Kafka
//! refused a message (too large, say), its transaction and those after it
//! never complete, and waiting for them would only delay the error by the
//! whole timeout. The checkpoint is written whenever it moves during the
//! wait, so a SIGKILL meanwhile loses nothing already delivered, and a
//! signal ends the wait.

use std::time::Duration;

use tokio::time::Instant;

use crate::checkpoint::{Store, StoreError, Tracker};
use crate::shutdown::Cancel;

/// How long to wait at the end of a session for Kafka to acknowledge what
/// was sent.
pub(super) const TIMEOUT: Duration = Duration::from_secs(30);

/// How often the tracker is looked at while waiting. Acknowledgements
/// arrive on librdkafka's thread; polling the tracker keeps it free of any
/// async wake-up on its hot path, and a drain lasts only until the last
/// acknowledgement.
const POLL: Duration = Duration::from_millis(20);

/// How a drain ended.
#[derive(Debug, PartialEq, Eq)]
pub(super) enum Drained {
    /// Every message that can still be acknowledged was.
    Settled,
    /// `timeout` passed with messages still out.
    TimedOut,
    /// `stop` was cancelled during the wait.
    Interrupted,
}

/// Waits until the tracker is [settled](Tracker::settled), `timeout`
/// passes or `stop` is cancelled, writing the checkpoint each time it
/// moves. A `stop` already cancelled when the drain begins (the signal that
/// ended the session) does not cut it short: that is the orderly stop the
/// drain is for.
pub(super) async fn drain(
    tracker: &Tracker,
    store: &mut Store,
    server_id: u32,
    stop: &Cancel,
    timeout: Duration,
) -> Result<Drained, StoreError> {
    let deadline = Instant::now() + timeout;
    let watch_stop = !stop.is_cancelled();
    let mut told = false;
    loop {
        super::save(store, tracker, server_id)?;
        if tracker.settled() {
            return Ok(Drained::Settled);
        }
        if !told {
            told = true;
            tracing::info!(
                outstanding = tracker.outstanding(),
                secs = timeout.as_secs(),
                "waiting for Kafka to acknowledge what was sent"
            );
        }
        if Instant::now() >= deadline {
            return Ok(Drained::TimedOut);
        }
        tokio::select! {
            _ = stop.cancelled(), if watch_stop => return Ok(Drained::Interrupted),
            _ = tokio::time::sleep(POLL) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::Position;
    use crate::shutdown::Reason;

    fn p(pos: u64) -> Position {
        Position::new("bin.000001", pos)
    }

    fn saved(dir: &std::path::Path) -> Option<Position> {
        Store::open_file(dir)
            .unwrap()
            .load()
            .unwrap()
            .map(|c| c.position())
    }

    /// A refused transaction is not waited for, and what was delivered
    /// before it is on disk when the drain returns.
    #[tokio::test]
    async fn a_refused_transaction_is_not_waited_for() {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Store::open_file(dir.path()).unwrap();
        let t = Tracker::new(p(4));
        let a = t.begin(p(10));
        t.produced(a, 1);
        t.end(a, p(20));
        t.ack(a);
        let b = t.begin(p(20));
        t.produced(b, 3);
        t.fail(b);
        // A day: only a drain that waited for b could reach it.
        let day = Duration::from_secs(86_400);
        let got = drain(&t, &mut store, 1, &Cancel::new(), day).await;
        assert_eq!(got.unwrap(), Drained::Settled);
        assert_eq!(saved(dir.path()), Some(p(20)));
    }

    /// While messages that can still be acknowledged are out, the drain
    /// writes each new position (a SIGKILL during the wait loses nothing
    /// delivered) and a signal ends the wait.
    #[tokio::test]
    async fn the_checkpoint_is_written_during_the_wait_and_a_signal_ends_it() {
        let dir = tempfile::tempdir().unwrap();
        let t = std::sync::Arc::new(Tracker::new(p(4)));
        let a = t.begin(p(10));
        t.produced(a, 1);
        t.end(a, p(20));
        let b = t.begin(p(20));
        t.produced(b, 1);
        t.end(b, p(30));
        let stop = Cancel::new();
        let waiting = tokio::spawn({
            let (t, stop, dir) = (t.clone(), stop.clone(), dir.path().to_owned());
            async move {
                let mut store = Store::open_file(&dir).unwrap();
                drain(&t, &mut store, 1, &stop, Duration::from_secs(86_400)).await
            }
        });
        t.ack(a);
        let give_up = Instant::now() + Duration::from_secs(60);
        while saved(dir.path()) != Some(p(20)) {
            assert!(!waiting.is_finished(), "b is still out");
            assert!(Instant::now() < give_up, "a's end never written");
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop.cancel(Reason::Requested);
        assert_eq!(waiting.await.unwrap().unwrap(), Drained::Interrupted);
        assert_eq!(saved(dir.path()), Some(p(20)), "b was never acknowledged");
    }

    /// The signal that ended the session does not cut its drain short.
    #[tokio::test]
    async fn a_stop_given_before_the_drain_lets_it_finish() {
        let dir = tempfile::tempdir().unwrap();
        let t = std::sync::Arc::new(Tracker::new(p(4)));
        let a = t.begin(p(10));
        t.produced(a, 1);
        t.end(a, p(20));
        let stop = Cancel::new();
        stop.cancel(Reason::Requested);
        let waiting = tokio::spawn({
            let (t, dir) = (t.clone(), dir.path().to_owned());
            async move {
                let mut store = Store::open_file(&dir).unwrap();
                drain(&t, &mut store, 1, &stop, Duration::from_secs(86_400)).await
            }
        });
        // Let the drain start waiting before the acknowledgement comes.
        tokio::task::yield_now().await;
        t.ack(a);
        assert_eq!(waiting.await.unwrap().unwrap(), Drained::Settled);
        assert_eq!(saved(dir.path()), Some(p(20)));
    }
}
