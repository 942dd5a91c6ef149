//! `[state]`: where the checkpoint is kept and how often it is written.
//! Each default is a constant here, the one place it is written
//! (docs/CONFIG.md is checked against these by a test in `config`).

use std::path::PathBuf;
use std::time::Duration;

/// Directory of `checkpoint.json`, relative to where Sluice runs.
pub(crate) const DEFAULT_DIR: &str = "state";
pub(crate) const DEFAULT_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(1000);
/// A shorter interval is raised to this: a zero interval would make the
/// ticker panic, and syncing the file more often only costs disk time.
pub(crate) const MIN_CHECKPOINT_INTERVAL: Duration = Duration::from_millis(10);

#[derive(Clone, Debug, PartialEq)]
pub struct StateSettings {
    pub dir: PathBuf,
    /// How often the checkpoint is written when it moved; at least
    /// [`MIN_CHECKPOINT_INTERVAL`].
    pub checkpoint_interval: Duration,
}
