//! One cancellation for everything that runs: the signal handler, the
//! binlog reader, the pipeline thread and the sink all watch the same
//! [`Cancel`], and the first to cancel it says why.
//!
//! Before this there were six separate stop and failure signals (a stop
//! watch, a halt flag, a reader stop, a "pipeline done" channel, a failure
//! watch and a stalled flag); each new way to end a session had to be wired
//! into all of them. Now a session is a child of the process-wide token: a
//! signal ends every session, and a session ending (for any reason) ends
//! only itself.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};

use tokio::sync::watch;

/// Why a [`Cancel`] was cancelled. The first reason given sticks.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Reason {
    /// SIGINT or SIGTERM, or a caller asked Sluice to stop: finish what was
    /// sent and write the checkpoint.
    Requested,
    /// The pipeline thread ended by itself (an error it reports).
    PipelineEnded,
    /// Kafka refused a message; the pipeline reports which.
    SinkFailed,
    /// Kafka acknowledged nothing for the stall timeout.
    Stalled,
    /// `[standby]`: this process no longer holds the pipeline's lock, and
    /// another may be streaming: stop at once, without the end-of-session
    /// drain or checkpoint, and wait as a standby.
    LeaseLost,
}

/// A cloneable cancellation with a reason. Cheap to check from a hot loop
/// ([`Cancel::is_cancelled`] is one relaxed load) and awaitable from async
/// code ([`Cancel::cancelled`]).
#[derive(Clone)]
pub struct Cancel {
    inner: Arc<Inner>,
}

struct Inner {
    flag: AtomicBool,
    reason: OnceLock<Reason>,
    wake: watch::Sender<bool>,
    /// Children cancelled with this one; pruned of dropped ones on each
    /// `child()`, so a long-running process does not accumulate them.
    children: Mutex<Vec<std::sync::Weak<Inner>>>,
}

impl Default for Cancel {
    fn default() -> Self {
        Cancel::new()
    }
}

impl Cancel {
    pub fn new() -> Self {
        Cancel {
            inner: Arc::new(Inner {
                flag: AtomicBool::new(false),
                reason: OnceLock::new(),
                wake: watch::channel(false).0,
                children: Mutex::new(Vec::new()),
            }),
        }
    }

    /// A token cancelled when this one is (with the same reason), and which
    /// can also be cancelled alone.
    pub fn child(&self) -> Cancel {
        let child = Cancel::new();
        let mut children = self.inner.children.lock().unwrap();
        children.retain(|c| c.strong_count() > 0);
        children.push(Arc::downgrade(&child.inner));
        drop(children);
        // Cancelled before the child was registered: pass it on now.
        if let Some(reason) = self.reason() {
            child.cancel(reason);
        }
        child
    }

    /// Cancels this token and its children; the first reason wins.
    pub fn cancel(&self, reason: Reason) {
        self.inner.cancel(reason);
    }

    pub fn is_cancelled(&self) -> bool {
        self.inner.flag.load(Ordering::Relaxed)
    }

    /// Why it was cancelled, once it is.
    pub fn reason(&self) -> Option<Reason> {
        self.inner.reason.get().copied()
    }

    /// Resolves once cancelled (at once if it already is).
    pub async fn cancelled(&self) {
        let mut rx = self.inner.wake.subscribe();
        // wait_for checks the current value first, so a cancel between
        // subscribe and here is not missed.
        let _ = rx.wait_for(|c| *c).await;
    }
}

impl Inner {
    fn cancel(&self, reason: Reason) {
        let _ = self.reason.set(reason);
        if self.flag.swap(true, Ordering::SeqCst) {
            return;
        }
        self.wake.send_replace(true);
        let children: Vec<_> = self.children.lock().unwrap().drain(..).collect();
        for c in children.iter().filter_map(|c| c.upgrade()) {
            c.cancel(reason);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_reason_sticks() {
        let c = Cancel::new();
        assert!(!c.is_cancelled());
        assert_eq!(c.reason(), None);
        c.cancel(Reason::SinkFailed);
        c.cancel(Reason::Requested);
        assert!(c.is_cancelled());
        assert_eq!(c.reason(), Some(Reason::SinkFailed));
    }

    #[test]
    fn a_parent_cancels_its_children_but_not_the_other_way() {
        let parent = Cancel::new();
        let a = parent.child();
        let b = parent.child();
        a.cancel(Reason::PipelineEnded);
        assert!(!parent.is_cancelled() && !b.is_cancelled());
        parent.cancel(Reason::Requested);
        assert_eq!(b.reason(), Some(Reason::Requested));
        // a keeps its own, earlier reason.
        assert_eq!(a.reason(), Some(Reason::PipelineEnded));
        // A child made after the parent was cancelled starts cancelled.
        assert_eq!(parent.child().reason(), Some(Reason::Requested));
    }

    #[tokio::test]
    async fn cancelled_wakes_waiters_and_returns_at_once_afterwards() {
        let c = Cancel::new();
        let waiter = tokio::spawn({
            let c = c.clone();
            async move { c.cancelled().await }
        });
        c.cancel(Reason::Stalled);
        waiter.await.unwrap();
        c.cancelled().await;
    }
}
