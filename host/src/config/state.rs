//! `[state]` -> [`StateSettings`].

use std::path::PathBuf;
use std::time::Duration;

use super::input::Input;
use super::raw::RawState;
use super::ENV_STATE_DIR;
use crate::checkpoint::settings::{
    StateSettings, DEFAULT_CHECKPOINT_INTERVAL, DEFAULT_DIR, MIN_CHECKPOINT_INTERVAL,
};

pub(super) fn settings(raw: RawState, input: &Input) -> StateSettings {
    let (dir, _) = input.pick(ENV_STATE_DIR, raw.dir);
    let interval = raw
        .checkpoint_interval_ms
        .map_or(DEFAULT_CHECKPOINT_INTERVAL, Duration::from_millis);
    StateSettings {
        dir: PathBuf::from(dir.unwrap_or_else(|| DEFAULT_DIR.into())),
        checkpoint_interval: interval.max(MIN_CHECKPOINT_INTERVAL),
    }
}
