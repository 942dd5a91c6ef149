//! Waiting for something to happen, the only way tests wait.
//!
//! A test never sleeps and then assumes that what it waited for happened,
//! and never asserts how long something took: on a loaded machine (two
//! cores shared by several test binaries) both fail for no reason. It polls
//! an observable condition instead, with a deadline far longer than the
//! condition ever needs, so that only a real failure reaches the deadline,
//! and the failure says what did not happen.

use std::fmt::Display;
use std::time::{Duration, Instant};

/// How often conditions are polled: often enough that a test does not
/// dawdle, rarely enough that polling (a SQL query, a file read) costs
/// nothing.
const POLL: Duration = Duration::from_millis(50);

/// Polls `cond` until it holds (true) or `timeout` passes (false). For
/// callers that add their own context to the failure; see [`wait_until`].
pub fn poll_until(timeout: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + timeout;
    loop {
        if cond() {
            return true;
        }
        if Instant::now() >= deadline {
            return false;
        }
        std::thread::sleep(POLL);
    }
}

/// Polls `cond` until it holds; panics naming `what` it waited for if
/// `timeout` passes first.
pub fn wait_until(timeout: Duration, what: impl Display, cond: impl FnMut() -> bool) {
    assert!(
        poll_until(timeout, cond),
        "timed out after {timeout:?} waiting for {what}"
    );
}
