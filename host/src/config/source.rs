//! `[source]` -> [`SourceSettings`].

use std::time::Duration;

use super::input::Input;
use super::raw::RawSource;
use super::{ConfigError, ENV_MYSQL_URL, ENV_START};
use crate::binlog::settings::{
    SourceSettings, Start, DEFAULT_CONNECT_TIMEOUT, DEFAULT_HEARTBEAT, DEFAULT_MAX_BACKOFF,
    DEFAULT_SERVER_ID, DEFAULT_START, DEFAULT_STOP_AT_END,
};

pub(super) fn settings(raw: RawSource, input: &Input) -> Result<SourceSettings, ConfigError> {
    let secs = |v: Option<u64>, default: Duration, key: &str| {
        input
            .at_least_one(v, default.as_secs(), key)
            .map(Duration::from_secs)
    };
    Ok(SourceSettings {
        url: url(raw.url, input)?,
        server_id: server_id(raw.server_id, input)?,
        start: start(raw.start, input)?,
        heartbeat: secs(
            raw.heartbeat_secs,
            DEFAULT_HEARTBEAT,
            "source.heartbeat_secs",
        )?,
        connect_timeout: secs(
            raw.connect_timeout_secs,
            DEFAULT_CONNECT_TIMEOUT,
            "source.connect_timeout_secs",
        )?,
        max_backoff: secs(
            raw.max_backoff_secs,
            DEFAULT_MAX_BACKOFF,
            "source.max_backoff_secs",
        )?,
        stop_at_end: raw.stop_at_end.unwrap_or(DEFAULT_STOP_AT_END),
    })
}

fn url(file_value: Option<String>, input: &Input) -> Result<String, ConfigError> {
    let (url, origin) = input.pick(ENV_MYSQL_URL, file_value);
    let url = url.ok_or_else(|| {
        input.in_file(
            "source.url",
            format!(
                "missing: set url = \"mysql://user@host:3306\" under [source], or {ENV_MYSQL_URL}"
            ),
        )
    })?;
    match url::Url::parse(&url) {
        Ok(u) if u.scheme() == "mysql" && u.host_str().is_some() => Ok(url),
        _ => Err(input.invalid(
            &origin,
            "source.url",
            format!("`{url}` is not a mysql:// URL; write it as mysql://user:password@host:3306"),
        )),
    }
}

fn server_id(value: Option<u32>, input: &Input) -> Result<u32, ConfigError> {
    match value.unwrap_or(DEFAULT_SERVER_ID) {
        0 => Err(input.in_file(
            "source.server_id",
            "0 is not a valid replica id; pick a number from 1 to 4294967295 that no other replica of the server uses",
        )),
        id => Ok(id),
    }
}

fn start(file_value: Option<String>, input: &Input) -> Result<Start, ConfigError> {
    match input.pick(ENV_START, file_value) {
        (None, _) => Ok(DEFAULT_START),
        (Some(s), origin) => s.parse().map_err(|e| {
            input.invalid(
                &origin,
                "source.start",
                format!("{e}; or use \"latest\" or \"earliest\""),
            )
        }),
    }
}
