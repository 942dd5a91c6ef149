//! Prometheus metrics: one process-wide registry that every stage counts
//! into, rendered by the HTTP endpoint (`http/`). A leaf module: it knows
//! no stage, so any stage may use it without a cycle.
//!
//! Names follow Prometheus' conventions (`sluice_` prefix, `_total`
//! counters, seconds and bytes); docs/OPERATIONS.md lists them all. Labels
//! stay bounded: per-table series stop at `[http] max_table_labels`
//! tables, later ones are counted under `table="_other"`.
//!
//! Why a global: the counters are touched from the pipeline thread,
//! librdkafka's delivery thread, the plugin chains and the reloader; a
//! handle threaded through every constructor would add nothing but noise.
//! Counting is a relaxed atomic add on a handle each stage caches.

mod tables;

use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::LazyLock;

use prometheus_client::encoding::text::encode;
use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::metrics::info::Info;
use prometheus_client::registry::Registry;

pub(crate) use tables::TableCounters;

/// Every metric's name as scraped (counters with `_total`; a histogram's
/// series are this name with `_bucket`, `_sum` and `_count`), for the
/// tests that check the docs, the dashboard and the alerts against it.
pub const NAMES: &[&str] = &[
    "sluice_build_info",
    "sluice_rows_total",
    "sluice_row_bytes_total",
    "sluice_transactions_total",
    "sluice_lag_seconds",
    "sluice_source_binlog_bytes_behind",
    "sluice_source_binlog_files_behind",
    "sluice_checkpoint_age_seconds",
    "sluice_source_connected",
    "sluice_standby_active",
    "sluice_standby_waiting",
    "sluice_ready",
    "sluice_kafka_queue_messages",
    "sluice_kafka_acks_total",
    "sluice_kafka_errors_total",
    "sluice_kafka_retries_total",
    "sluice_kafka_transactions_total",
    "sluice_reconnects_total",
    "sluice_plugin_calls_total",
    "sluice_plugin_call_duration_seconds",
    "sluice_plugin_traps_total",
    "sluice_plugin_skipped_events_total",
    "sluice_plugin_dead_letters_total",
    "sluice_config_reloads_total",
    "sluice_decode_errors_total",
    "sluice_commit_to_ack_seconds",
];

/// Per-table labels by default: enough for most servers, bounded for
/// those with 100 k tables.
pub const DEFAULT_MAX_TABLE_LABELS: usize = 1000;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct TableOp {
    pub table: String,
    pub op: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct PluginLabel {
    pub plugin: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct CauseLabel {
    pub cause: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
pub(crate) struct ResultLabel {
    pub result: &'static str,
}

type HistogramFamily<L> = Family<L, Histogram, fn() -> Histogram>;

fn plugin_call_histogram() -> Histogram {
    // 10 µs .. ~5 s: a filter over a small batch up to a slow transform.
    Histogram::new(exponential_buckets(1e-5, 3.0, 13))
}

/// Every metric Sluice exports.
pub struct Metrics {
    registry: Registry,
    /// Per-table counting on (`[http] metrics`); the endpoint's other
    /// metrics cost nothing measurable and are always kept.
    enabled: AtomicBool,
    max_table_labels: AtomicU64,
    pub(crate) rows: Family<TableOp, Counter>,
    pub(crate) row_bytes: Family<TableOp, Counter>,
    pub(crate) transactions: Counter,
    pub(crate) lag_seconds: Gauge<f64, AtomicU64>,
    pub(crate) binlog_bytes_behind: Gauge,
    pub(crate) binlog_files_behind: Gauge,
    pub(crate) checkpoint_age_seconds: Gauge<f64, AtomicU64>,
    pub(crate) source_connected: Gauge,
    pub(crate) standby_active: Gauge,
    pub(crate) standby_waiting: Gauge,
    pub(crate) ready: Gauge,
    pub(crate) kafka_queue: Gauge,
    pub(crate) kafka_acks: Counter,
    pub(crate) kafka_errors: Counter,
    pub(crate) kafka_retries: Counter,
    pub(crate) kafka_commits: Counter,
    pub(crate) reconnects: Family<CauseLabel, Counter>,
    pub(crate) plugin_calls: Family<PluginLabel, Counter>,
    pub(crate) plugin_call_seconds: HistogramFamily<PluginLabel>,
    pub(crate) plugin_traps: Family<PluginLabel, Counter>,
    pub(crate) plugin_skipped: Family<PluginLabel, Counter>,
    pub(crate) plugin_dead_letters: Family<PluginLabel, Counter>,
    pub(crate) config_reloads: Family<ResultLabel, Counter>,
    pub(crate) decode_errors: Counter,
    pub(crate) commit_to_ack: Histogram,
    tables: tables::Labels,
}

static METRICS: LazyLock<Metrics> = LazyLock::new(Metrics::new);

/// The process's metrics.
pub fn get() -> &'static Metrics {
    &METRICS
}

impl Metrics {
    fn new() -> Metrics {
        let mut r = Registry::default();
        let m = Metrics {
            registry: Registry::default(),
            enabled: AtomicBool::new(true),
            max_table_labels: AtomicU64::new(DEFAULT_MAX_TABLE_LABELS as u64),
            rows: Family::default(),
            row_bytes: Family::default(),
            transactions: Counter::default(),
            lag_seconds: Gauge::default(),
            binlog_bytes_behind: Gauge::default(),
            binlog_files_behind: Gauge::default(),
            checkpoint_age_seconds: Gauge::default(),
            source_connected: Gauge::default(),
            standby_active: Gauge::default(),
            standby_waiting: Gauge::default(),
            ready: Gauge::default(),
            kafka_queue: Gauge::default(),
            kafka_acks: Counter::default(),
            kafka_errors: Counter::default(),
            kafka_retries: Counter::default(),
            kafka_commits: Counter::default(),
            reconnects: Family::default(),
            plugin_calls: Family::default(),
            plugin_call_seconds: Family::new_with_constructor(plugin_call_histogram),
            plugin_traps: Family::default(),
            plugin_skipped: Family::default(),
            plugin_dead_letters: Family::default(),
            config_reloads: Family::default(),
            decode_errors: Counter::default(),
            // 1 ms .. ~65 s.
            commit_to_ack: Histogram::new(exponential_buckets(0.001, 2.0, 17)),
            tables: tables::Labels::default(),
        };
        r.register(
            "sluice_build",
            "Sluice's version",
            Info::new(vec![("version", env!("CARGO_PKG_VERSION"))]),
        );
        r.register(
            "sluice_rows",
            "Row events produced, after plugins, by table and op (c, u, d, r)",
            m.rows.clone(),
        );
        r.register(
            "sluice_row_bytes",
            "Bytes of row event values produced, by table and op",
            m.row_bytes.clone(),
        );
        r.register(
            "sluice_transactions",
            "Source transactions read to their commit",
            m.transactions.clone(),
        );
        r.register(
            "sluice_lag_seconds",
            "Seconds behind the source: the age of the oldest transaction read and not yet acknowledged by Kafka; 0 when everything read is acknowledged",
            m.lag_seconds.clone(),
        );
        r.register(
            "sluice_source_binlog_bytes_behind",
            "Bytes of binlog between Sluice's read position and the server's end",
            m.binlog_bytes_behind.clone(),
        );
        r.register(
            "sluice_source_binlog_files_behind",
            "Binlog files between Sluice's read position and the server's current file",
            m.binlog_files_behind.clone(),
        );
        r.register(
            "sluice_checkpoint_age_seconds",
            "Seconds since the checkpoint was last written",
            m.checkpoint_age_seconds.clone(),
        );
        r.register(
            "sluice_source_connected",
            "1 while a replication connection to the source is streaming",
            m.source_connected.clone(),
        );
        r.register(
            "sluice_standby_active",
            "1 while this process holds its pipeline's [standby] lock; 0 while it waits as a standby, or without [standby]",
            m.standby_active.clone(),
        );
        r.register(
            "sluice_standby_waiting",
            "1 while this process waits as a standby for its pipeline's [standby] lock (it is not ready then, by design)",
            m.standby_waiting.clone(),
        );
        r.register(
            "sluice_ready",
            "1 when /health/ready answers 200",
            m.ready.clone(),
        );
        r.register(
            "sluice_kafka_queue_messages",
            "Messages handed to the producer and not yet acknowledged",
            m.kafka_queue.clone(),
        );
        r.register(
            "sluice_kafka_acks",
            "Messages Kafka acknowledged",
            m.kafka_acks.clone(),
        );
        r.register(
            "sluice_kafka_errors",
            "Messages Kafka refused or failed to take",
            m.kafka_errors.clone(),
        );
        r.register(
            "sluice_kafka_retries",
            "Produce requests the producer sent again (librdkafka's txretries)",
            m.kafka_retries.clone(),
        );
        r.register(
            "sluice_kafka_transactions",
            "Kafka transactions committed with their checkpoint (exactly-once delivery)",
            m.kafka_commits.clone(),
        );
        r.register(
            "sluice_reconnects",
            "Sessions started over from the checkpoint, by cause (source, kafka, stall, snapshot)",
            m.reconnects.clone(),
        );
        r.register(
            "sluice_plugin_calls",
            "Plugin calls, by plugin",
            m.plugin_calls.clone(),
        );
        r.register(
            "sluice_plugin_call_duration_seconds",
            "Plugin call duration, by plugin",
            m.plugin_call_seconds.clone(),
        );
        r.register(
            "sluice_plugin_traps",
            "Plugin calls that failed (trap, deadline, memory limit, invalid output), by plugin",
            m.plugin_traps.clone(),
        );
        r.register(
            "sluice_plugin_skipped_events",
            "Events dropped by on_error = \"skip\", by plugin",
            m.plugin_skipped.clone(),
        );
        r.register(
            "sluice_plugin_dead_letters",
            "Events sent to the dead-letter topic, by plugin",
            m.plugin_dead_letters.clone(),
        );
        r.register(
            "sluice_config_reloads",
            "Config file changes, by result (applied, rejected)",
            m.config_reloads.clone(),
        );
        r.register(
            "sluice_decode_errors",
            "Binlog events that could not be decoded",
            m.decode_errors.clone(),
        );
        r.register(
            "sluice_commit_to_ack_seconds",
            "From reading a transaction's commit to Kafka acknowledging its last message",
            m.commit_to_ack.clone(),
        );
        Metrics { registry: r, ..m }
    }

    /// Applies `[http] metrics` and `max_table_labels`.
    pub fn configure(&self, per_table: bool, max_table_labels: usize) {
        self.enabled.store(per_table, Ordering::Relaxed);
        self.max_table_labels
            .store(max_table_labels as u64, Ordering::Relaxed);
    }

    /// Whether per-table counting is on.
    pub(crate) fn per_table(&self) -> bool {
        self.enabled.load(Ordering::Relaxed)
    }

    /// Counters of one plugin, for a chain step to keep.
    pub(crate) fn plugin(&self, name: &str) -> PluginCounters {
        let l = PluginLabel {
            plugin: name.to_string(),
        };
        PluginCounters {
            calls: self.plugin_calls.get_or_create(&l).clone(),
            seconds: self.plugin_call_seconds.get_or_create(&l).clone(),
            traps: self.plugin_traps.get_or_create(&l).clone(),
            skipped: self.plugin_skipped.get_or_create(&l).clone(),
            dead_letters: self.plugin_dead_letters.get_or_create(&l).clone(),
        }
    }

    /// A session started over, for `cause`.
    pub(crate) fn reconnect(&self, cause: &'static str) {
        self.reconnects.get_or_create(&CauseLabel { cause }).inc();
    }

    /// A config file change was applied or rejected.
    pub(crate) fn reload(&self, applied: bool) {
        let result = if applied { "applied" } else { "rejected" };
        self.config_reloads
            .get_or_create(&ResultLabel { result })
            .inc();
    }

    /// The OpenMetrics text exposition of every metric.
    pub fn render(&self) -> String {
        let mut out = String::with_capacity(16 * 1024);
        encode(&mut out, &self.registry).expect("writing to a String");
        out
    }
}

/// One plugin's counters, cached by the chain step that calls it.
#[derive(Clone, Debug)]
pub(crate) struct PluginCounters {
    pub calls: Counter,
    pub seconds: Histogram,
    pub traps: Counter,
    pub skipped: Counter,
    pub dead_letters: Counter,
}

impl PluginCounters {
    /// One call that took `secs`.
    pub(crate) fn call(&self, secs: f64) {
        self.calls.inc();
        self.seconds.observe(secs);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_family_under_its_documented_name() {
        let m = Metrics::new();
        m.transactions.inc();
        m.reconnect("source");
        m.reload(false);
        m.plugin("pii-mask").call(0.002);
        let text = m.render();
        for name in [
            "sluice_build_info{version=",
            "sluice_transactions_total 1",
            "sluice_reconnects_total{cause=\"source\"} 1",
            "sluice_config_reloads_total{result=\"rejected\"} 1",
            "sluice_plugin_calls_total{plugin=\"pii-mask\"} 1",
            "sluice_plugin_call_duration_seconds_count{plugin=\"pii-mask\"} 1",
            "sluice_lag_seconds ",
            "sluice_commit_to_ack_seconds_count 0",
        ] {
            assert!(text.contains(name), "{name} missing from\n{text}");
        }
    }

    /// The names scraped: families without a series yet are not shown,
    /// so every family gets one first.
    fn scraped_names() -> Vec<String> {
        let m = Metrics::new();
        m.table_handles("db", "t");
        m.reconnect("source");
        m.reload(true);
        m.plugin("p");
        let mut names: Vec<String> = m
            .render()
            .lines()
            .filter_map(|l| l.strip_prefix("# TYPE "))
            .map(|l| {
                let (name, kind) = l.split_once(' ').unwrap();
                // OpenMetrics types counters and infos by their stem.
                match kind {
                    "counter" => format!("{name}_total"),
                    "info" => format!("{name}_info"),
                    _ => name.to_string(),
                }
            })
            .collect();
        names.sort();
        names
    }

    #[test]
    fn the_name_list_is_what_is_scraped() {
        let mut listed: Vec<String> = NAMES.iter().map(|n| n.to_string()).collect();
        listed.sort();
        assert_eq!(listed, scraped_names());
    }

    #[test]
    fn docs_list_every_metric() {
        let doc = include_str!("../../../docs/OPERATIONS.md");
        for name in NAMES {
            assert!(
                doc.contains(&format!("`{name}`")),
                "docs/OPERATIONS.md does not list `{name}`"
            );
        }
    }
}
