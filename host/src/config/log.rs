//! `[log]` -> [`LogSettings`].

use super::input::Input;
use super::raw::RawLog;
use super::ConfigError;
use crate::logging::{valid_level, LogFormat, LogSettings, DEFAULT_FORMAT, DEFAULT_LEVEL};

pub(super) fn settings(raw: RawLog, input: &Input) -> Result<LogSettings, ConfigError> {
    let format = match raw.format {
        None => DEFAULT_FORMAT,
        Some(name) => LogFormat::from_name(&name).ok_or_else(|| {
            input.in_file(
                "log.format",
                format!("`{name}` is not a log format; use \"text\" or \"json\""),
            )
        })?,
    };
    let level = raw.level.unwrap_or_else(|| DEFAULT_LEVEL.into());
    valid_level(&level).map_err(|e| {
        input.in_file(
            "log.level",
            format!(
                "`{level}` is not a log filter ({e}); write e.g. \"info\" or \"warn,sluice=debug\""
            ),
        )
    })?;
    Ok(LogSettings { format, level })
}
