//! `[state]`: where the checkpoint is kept (a file or a Kafka topic) and
//! how often it is written.
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
    pub store: StoreKind,
    /// The checkpoint topic, used with [`StoreKind::Kafka`].
    pub topic: String,
}

/// Where the checkpoint is kept.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreKind {
    /// `{dir}/checkpoint.json`.
    File,
    /// A compacted Kafka topic, keyed by `[pipeline] name`.
    Kafka,
}

pub(crate) const DEFAULT_STORE: StoreKind = StoreKind::File;
/// The compacted topic of `store = "kafka"`; one for every pipeline.
pub(crate) const DEFAULT_TOPIC: &str = "__sluice_checkpoints";

impl StoreKind {
    pub const ALL: [StoreKind; 2] = [StoreKind::File, StoreKind::Kafka];

    /// The name written in the config file.
    pub fn name(self) -> &'static str {
        match self {
            StoreKind::File => "file",
            StoreKind::Kafka => "kafka",
        }
    }

    pub fn from_name(name: &str) -> Option<StoreKind> {
        StoreKind::ALL.into_iter().find(|k| k.name() == name)
    }
}
