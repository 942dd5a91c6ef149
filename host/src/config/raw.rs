//! The configuration file exactly as written: serde types, unknown keys
//! refused. Each section's module (`source`, `kafka`, ...) turns its part
//! into the stage's settings; the defaults are constants in the stages
//! (linked below), never repeated here.

use std::collections::BTreeMap;
use std::path::PathBuf;

use serde::Deserialize;

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawConfig {
    /// `[source]`: the MySQL or MariaDB server to replicate from.
    pub source: Option<RawSource>,
    /// `[kafka]`: where events go.
    pub kafka: Option<RawKafka>,
    /// `[state]`: where Sluice keeps its checkpoint.
    pub state: Option<RawState>,
    /// `[pipeline]`: sizes of the queues between stages, and the sink.
    pub pipeline: Option<RawPipeline>,
    /// `[[rules]]`: which tables to capture and how; the first rule that
    /// matches a table wins. Without rules every table is captured.
    pub rules: Option<Vec<RawRule>>,
    /// `[plugins]`: where WebAssembly plugins are loaded from and the
    /// sandbox's limits (see docs/PLUGINS.md).
    pub plugins: Option<RawPlugins>,
    /// `[snapshot]`: reading the rows tables already hold (docs/SNAPSHOT.md).
    pub snapshot: Option<RawSnapshot>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawRule {
    /// `tables = ["shop.*", "crm.contacts"]`: `db.table` globs (`*`, `?`);
    /// a pattern without a dot means every table of that database. Required.
    pub tables: Option<Vec<String>>,
    /// `exclude = ["shop.tmp_*"]`: tables this rule does not match.
    pub exclude: Option<Vec<String>>,
    /// `topic = "cdc.{db}.{table}"`: topic template; `{db}` and `{table}` are
    /// replaced. Default `{db}.{table}`, after `[kafka] topic_prefix`.
    pub topic: Option<String>,
    /// `key = ["tenant_id", "id"]`: key columns. Default the primary key.
    pub key: Option<Vec<String>>,
    /// `include_columns = ["id", "status"]`: emit only these columns.
    pub include_columns: Option<Vec<String>>,
    /// `exclude_columns = ["password_hash"]`: emit all but these columns.
    pub exclude_columns: Option<Vec<String>>,
    /// `ops = ["insert", "update"]`: changes to capture. Default all three.
    pub ops: Option<Vec<String>>,
    /// `tombstones = true`: after a delete, also send a null value with the
    /// same key, so compacted topics forget the row. Default false.
    pub tombstones: Option<bool>,
    /// `plugins = ["pii-mask", { name = "tenant-route", config = { column = "tenant" }, on_error = "dead-letter" }]`:
    /// the plugin chain, in order; each by file stem in the plugins directory.
    pub plugins: Option<crate::plugin::ChainSpec>,
}

/// Defaults: [`crate::binlog::settings`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    /// `url = "mysql://user:password@host:3306"`: required.
    pub url: Option<String>,
    /// `server_id = <1..>`: the replica id Sluice registers with; unique
    /// among the server's replicas.
    pub server_id: Option<u32>,
    /// `start = "latest" | "earliest" | "<file>:<pos>"`: where to begin when
    /// there is no checkpoint.
    pub start: Option<String>,
    /// `heartbeat_secs = <1..>`: the server sends a heartbeat this often when
    /// idle; three missed heartbeats count as a lost connection.
    pub heartbeat_secs: Option<u64>,
    /// `connect_timeout_secs = <1..>`.
    pub connect_timeout_secs: Option<u64>,
    /// `stop_at_end = true`: stop once the end of the server's binlog is
    /// reached instead of waiting for new changes (backfills, benchmarks).
    pub stop_at_end: Option<bool>,
    /// `max_backoff_secs = <1..>`: longest wait between reconnection attempts.
    pub max_backoff_secs: Option<u64>,
}

/// Defaults: [`crate::kafka::settings`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawKafka {
    /// `brokers = "host1:9092,host2:9092"`: required for the kafka sink.
    pub brokers: Option<String>,
    /// `topic_prefix = "prod"`: topics become `prod.{db}.{table}`. Default none.
    pub topic_prefix: Option<String>,
    /// `dead_letter_topic = "dlq"`: where events a plugin failed on go when
    /// its `on_error = "dead-letter"`. Default `__dead_letter` after the
    /// topic prefix.
    pub dead_letter_topic: Option<String>,
    /// `ddl_topic = "schema_changes"`: where schema changes go; "" turns them
    /// off. Default `__ddl` after the topic prefix.
    pub ddl_topic: Option<String>,
    /// `create_topics = false`: create missing topics, or not.
    pub create_topics: Option<bool>,
    /// `partitions = <n>`: partitions of topics Sluice creates.
    pub partitions: Option<i32>,
    /// `replication_factor = <n>`: replication factor of topics Sluice creates.
    pub replication_factor: Option<i32>,
    /// `stall_timeout_secs = <n>`: when Kafka acknowledges nothing for this
    /// long while messages wait, start over from the checkpoint with a new
    /// producer. 0 turns it off.
    pub stall_timeout_secs: Option<u64>,
    /// `[kafka.producer]`: any librdkafka producer property, e.g.
    /// `"linger.ms" = 5`. Values override Sluice's defaults.
    pub producer: Option<BTreeMap<String, toml::Value>>,
}

/// Defaults: [`crate::checkpoint::settings`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawState {
    /// `dir = "/var/lib/sluice"`: directory for the checkpoint, created if
    /// missing.
    pub dir: Option<String>,
    /// `checkpoint_interval_ms = <n>`: how often the checkpoint is written
    /// when it moved.
    pub checkpoint_interval_ms: Option<u64>,
}

/// Defaults: [`crate::app::settings`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPipeline {
    /// `sink = "kafka" | "null"`: "null" decodes and drops every event, for
    /// dry runs and benchmarks.
    pub sink: Option<String>,
    /// `max_in_flight = <1..>`: messages handed to the producer and not
    /// yet acknowledged; reading stops while the limit is reached.
    pub max_in_flight: Option<usize>,
    /// `batch_rows = <1..>`: rows decoded into one batch before it is sent on.
    pub batch_rows: Option<usize>,
    /// `batch_bytes = <1..>`: bytes of encoded events in one batch before
    /// it is sent on; with `max_in_flight` and the producer's queue limits
    /// this bounds memory however large a transaction is.
    pub batch_bytes: Option<usize>,
    /// `channel_chunks = <1..>`: chunks of binlog events buffered between the
    /// reader and the decoder.
    pub channel_chunks: Option<usize>,
}

/// Defaults: [`crate::plugin::config`]. The field order is the order of the
/// known keys listed when a key is misspelt.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPlugins {
    /// `dir = "/etc/sluice/plugins"`: every `*.wasm` here is loaded.
    pub dir: Option<PathBuf>,
    /// `cache_dir = "/var/cache/sluice"`: compiled plugins; default under `dir`.
    pub cache_dir: Option<PathBuf>,
    /// `memory_limit_mib = <n>`: memory each plugin instance may use.
    pub memory_limit_mib: Option<u64>,
    /// `deadline_ms = <1..>`: longest one plugin call may run.
    pub deadline_ms: Option<u64>,
    /// `max_call_events = <1..>`: most events passed in one call.
    pub max_call_events: Option<usize>,
    /// `max_call_bytes = <1..>`: most event bytes passed in one call.
    pub max_call_bytes: Option<usize>,
    /// `max_instances = <1..>`: upper bound of live plugin instances.
    pub max_instances: Option<u32>,
    /// `watch = false`: pick up plugin files changed while running, or not.
    pub watch: Option<bool>,
    /// `debounce_ms = <n>`: quiet time after the last file change before
    /// the directory is scanned again.
    pub debounce_ms: Option<u64>,
}

/// Defaults: [`crate::snapshot::settings`]. The field order is the order of
/// the known keys listed when a key is misspelt.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSnapshot {
    /// `mode = "initial" | "never" | "when_needed"`: when Sluice reads the
    /// captured tables' existing rows on its own.
    pub mode: Option<String>,
    /// `chunk_rows = <1..>`: rows per chunk query.
    pub chunk_rows: Option<usize>,
    /// `signal_table = "db.table"`: where `sluice snapshot` writes its
    /// requests; "" turns on-demand snapshots off.
    pub signal_table: Option<String>,
    /// `new_tables = false`: a table a reloaded rule starts to capture gets
    /// its existing rows too, or not.
    pub new_tables: Option<bool>,
    /// `progress_interval_ms = <100..>`: how often a table's progress is
    /// logged.
    pub progress_interval_ms: Option<u64>,
}
