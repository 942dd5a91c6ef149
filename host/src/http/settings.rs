//! `[http]`: the operations endpoint (docs/OPERATIONS.md).

use std::net::SocketAddr;

pub use crate::metrics::DEFAULT_MAX_TABLE_LABELS;

/// Loopback by default: the endpoint tells what Sluice reads and where, so
/// exposing it is a choice (`0.0.0.0:9187` in a container). 9187 is not
/// taken by a well-known exporter.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:9187";
/// Per-table row counters on by default.
pub const DEFAULT_METRICS: bool = true;

#[derive(Clone, Debug, PartialEq)]
pub struct HttpSettings {
    /// Where to listen; `None`: no endpoint.
    pub listen: Option<SocketAddr>,
    /// Tables with their own `table` label; the rest are `_other`.
    pub max_table_labels: usize,
    /// Per-table row counting (the only metric with a cost per row).
    pub metrics: bool,
}

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            listen: Some(DEFAULT_LISTEN.parse().expect("a socket address")),
            max_table_labels: DEFAULT_MAX_TABLE_LABELS,
            metrics: DEFAULT_METRICS,
        }
    }
}
