//! `[standby]`: whether this process takes the pipeline's lock before
//! streaming, and how long a silent holder keeps it. Each default is a
//! constant here (docs/CONFIG.md is checked against these by a test in
//! `config`).

use std::time::Duration;

pub(crate) const DEFAULT_ENABLED: bool = false;
/// A holder that stopped answering (SIGSTOP, a network cut) keeps the lock
/// this long; a standby takes over soon after.
pub(crate) const DEFAULT_LEASE: Duration = Duration::from_secs(10);
/// Shorter leases are refused: the holder renews every third of it, and a
/// busy machine must not lose its lock to a pause.
pub(crate) const MIN_LEASE_SECS: u64 = 2;

#[derive(Clone, Debug, PartialEq)]
pub struct StandbySettings {
    pub enabled: bool,
    pub lease: Duration,
}

impl Default for StandbySettings {
    fn default() -> Self {
        StandbySettings {
            enabled: DEFAULT_ENABLED,
            lease: DEFAULT_LEASE,
        }
    }
}
