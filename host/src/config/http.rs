//! `[http]` -> [`HttpSettings`].

use super::input::Input;
use super::raw::RawHttp;
use super::{ConfigError, ENV_HTTP_LISTEN};
use crate::http::settings::{
    HttpSettings, DEFAULT_LISTEN, DEFAULT_MAX_TABLE_LABELS, DEFAULT_METRICS,
};

pub(super) fn settings(raw: RawHttp, input: &Input) -> Result<HttpSettings, ConfigError> {
    let (listen, origin) = input.pick(ENV_HTTP_LISTEN, raw.listen);
    let listen = listen.unwrap_or_else(|| DEFAULT_LISTEN.into());
    let listen = match listen.trim() {
        "" => None,
        addr => Some(addr.parse().map_err(|_| {
            input.invalid(
                &origin,
                "http.listen",
                format!("`{addr}` is not an address to listen on; write e.g. \"127.0.0.1:9187\", \"0.0.0.0:9187\" or \"[::1]:9187\" (port 0 picks a free port), or \"\" to turn the endpoint off"),
            )
        })?),
    };
    Ok(HttpSettings {
        listen,
        max_table_labels: raw.max_table_labels.unwrap_or(DEFAULT_MAX_TABLE_LABELS),
        metrics: raw.metrics.unwrap_or(DEFAULT_METRICS),
    })
}
