//! `[state]` -> [`StateSettings`].

use std::path::PathBuf;
use std::time::Duration;

use super::input::{one_of, Input};
use super::raw::RawState;
use super::{ConfigError, ENV_STATE_DIR};
use crate::checkpoint::settings::{
    StateSettings, StoreKind, DEFAULT_CHECKPOINT_INTERVAL, DEFAULT_DIR, DEFAULT_STORE,
    DEFAULT_TOPIC, MIN_CHECKPOINT_INTERVAL,
};
use crate::event::topic;

pub(super) fn settings(raw: RawState, input: &Input) -> Result<StateSettings, ConfigError> {
    let (dir, _) = input.pick(ENV_STATE_DIR, raw.dir);
    let interval = raw
        .checkpoint_interval_ms
        .map_or(DEFAULT_CHECKPOINT_INTERVAL, Duration::from_millis);
    let names: Vec<&str> = StoreKind::ALL.iter().map(|k| k.name()).collect();
    let store = match raw.store {
        None => DEFAULT_STORE,
        Some(s) => one_of(
            &s,
            "state.store",
            "a checkpoint store",
            &names,
            StoreKind::from_name,
            input,
        )?,
    };
    Ok(StateSettings {
        dir: PathBuf::from(dir.unwrap_or_else(|| DEFAULT_DIR.into())),
        checkpoint_interval: interval.max(MIN_CHECKPOINT_INTERVAL),
        store,
        topic: raw
            .topic
            .filter(|t| !t.is_empty())
            .map_or_else(|| DEFAULT_TOPIC.to_string(), |t| topic::sanitize(&t)),
    })
}
