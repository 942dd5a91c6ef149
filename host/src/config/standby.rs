//! `[standby]` -> [`StandbySettings`].

use std::time::Duration;

use super::input::Input;
use super::raw::RawStandby;
use super::ConfigError;
use crate::standby::settings::{StandbySettings, DEFAULT_ENABLED, DEFAULT_LEASE, MIN_LEASE_SECS};

pub(super) fn settings(raw: RawStandby, input: &Input) -> Result<StandbySettings, ConfigError> {
    let lease = match raw.lease_secs {
        None => DEFAULT_LEASE,
        Some(n) if n < MIN_LEASE_SECS => {
            return Err(input.in_file(
                "standby.lease_secs",
                format!("must be at least {MIN_LEASE_SECS}: the holder renews its lock every third of the lease, and a shorter one is lost to an ordinary pause"),
            ))
        }
        Some(n) => Duration::from_secs(n),
    };
    Ok(StandbySettings {
        enabled: raw.enabled.unwrap_or(DEFAULT_ENABLED),
        lease,
    })
}
