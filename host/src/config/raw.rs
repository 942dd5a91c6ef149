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
    /// `[log]`: how Sluice logs.
    pub log: Option<RawLog>,
    /// `[http]`: the metrics, health and status endpoint.
    pub http: Option<RawHttp>,
    /// `[standby]`: several processes with one `[pipeline] name`, of which
    /// one streams and the others wait to take over.
    pub standby: Option<RawStandby>,
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
    /// `format = "msgpack" | "debezium-json"`: this rule's tables' events
    /// on Kafka. Default `[kafka] format`.
    pub format: Option<String>,
}

/// Defaults: [`crate::binlog::settings`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawSource {
    /// `url = "mysql://user@host:3306"`: required. It may hold the
    /// password (`user:password@`) unless one of the keys below gives it.
    pub url: Option<String>,
    /// `password = "..."`: the user's password, instead of in the URL.
    pub password: Option<String>,
    /// `password_file = "/run/secrets/mysql"`: a file holding the password
    /// (one trailing newline is ignored).
    pub password_file: Option<String>,
    /// `password_env = "MYSQL_PASSWORD"`: an environment variable holding it.
    pub password_env: Option<String>,
    /// `tls = "disabled" | "preferred" | "required" | "verify_ca" |
    /// "verify_identity"`: as the mysql client's `--ssl-mode`.
    pub tls: Option<String>,
    /// `ca_file = "/etc/ssl/mysql-ca.pem"`: the CA (PEM) that signed the
    /// server's certificate; for `verify_ca` and `verify_identity`.
    pub ca_file: Option<PathBuf>,
    /// `client_cert_file = "client.pem"`: a certificate Sluice logs in
    /// with; with `client_key_file`.
    pub client_cert_file: Option<PathBuf>,
    /// `client_key_file = "client-key.pem"`: its private key (PEM).
    pub client_key_file: Option<PathBuf>,
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
    /// `heartbeat_topic = "sluice.heartbeat"`: where a heartbeat goes every
    /// `heartbeat_interval_secs` (docs/FORMAT.md, "Heartbeats"). Default
    /// none: no heartbeats.
    pub heartbeat_topic: Option<String>,
    /// `heartbeat_interval_secs = <1..>`: how often a heartbeat is sent.
    pub heartbeat_interval_secs: Option<u64>,
    /// `transaction_topic = "sluice.transactions"`: where each transaction's
    /// BEGIN and END records go (docs/FORMAT.md, "Transaction markers").
    /// Default none: no markers.
    pub transaction_topic: Option<String>,
    /// `create_topics = false`: create missing topics, or not.
    pub create_topics: Option<bool>,
    /// `partitions = <n>`: partitions of topics Sluice creates.
    pub partitions: Option<i32>,
    /// `replication_factor = <n>`: replication factor of topics Sluice creates.
    pub replication_factor: Option<i32>,
    /// `delivery = "at_least_once" | "exactly_once"`: exactly once puts
    /// each group of transactions and its checkpoint in one Kafka
    /// transaction (needs `[state] store = "kafka"`).
    pub delivery: Option<String>,
    /// `transaction_interval_ms = <1..>`: with exactly once, how long one
    /// Kafka transaction gathers binlog transactions before it commits.
    pub transaction_interval_ms: Option<u64>,
    /// `stall_timeout_secs = <n>`: when Kafka acknowledges nothing for this
    /// long while messages wait, start over from the checkpoint with a new
    /// producer. 0 turns it off.
    pub stall_timeout_secs: Option<u64>,
    /// `security_protocol = "plaintext" | "ssl" | "sasl_plaintext" | "sasl_ssl"`:
    /// TLS, SASL, both or neither, for every Kafka client Sluice makes.
    pub security_protocol: Option<String>,
    /// `sasl_mechanism = "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512"`: with a
    /// `sasl_*` protocol; required then.
    pub sasl_mechanism: Option<String>,
    /// `sasl_username = "sluice"`: with a `sasl_*` protocol; required then.
    pub sasl_username: Option<String>,
    /// `sasl_password = "..."`: with a `sasl_*` protocol, this or
    /// `sasl_password_file` or `sasl_password_env` is required.
    pub sasl_password: Option<String>,
    /// `sasl_password_file = "/run/secrets/kafka"`: a file holding the password.
    pub sasl_password_file: Option<String>,
    /// `sasl_password_env = "KAFKA_PASSWORD"`: a variable holding the password.
    pub sasl_password_env: Option<String>,
    /// `ssl_ca_file = "/etc/sluice/kafka-ca.pem"`: the CA certificate(s) the
    /// brokers' certificates are checked against. Default the system's CAs.
    pub ssl_ca_file: Option<String>,
    /// `ssl_cert_file = "client.pem"`: a client certificate, for brokers that
    /// authenticate clients by certificate; needs `ssl_key_file`.
    pub ssl_cert_file: Option<String>,
    /// `ssl_key_file = "client.key"`: the client certificate's private key.
    pub ssl_key_file: Option<String>,
    /// `ssl_key_password = "..."`: the password of an encrypted `ssl_key_file`.
    pub ssl_key_password: Option<String>,
    /// `ssl_key_password_file = "..."`: a file holding it.
    pub ssl_key_password_file: Option<String>,
    /// `ssl_key_password_env = "..."`: a variable holding it.
    pub ssl_key_password_env: Option<String>,
    /// `ssl_verify_hostname = false`: accept a broker certificate issued for
    /// another host name (still signed by a trusted CA).
    pub ssl_verify_hostname: Option<bool>,
    /// `[kafka.producer]`: any librdkafka producer property, e.g.
    /// `"linger.ms" = 5`. Values override Sluice's defaults. Its `ssl.*`,
    /// `sasl.*` and `security.protocol` properties apply to every Kafka
    /// client, as the named keys above do.
    pub producer: Option<BTreeMap<String, toml::Value>>,
    /// `format = "msgpack" | "debezium-json"`: what events look like on
    /// Kafka (docs/FORMAT.md); a rule's `format` wins for its tables.
    pub format: Option<String>,
    /// `[kafka.debezium]`: how debezium-json writes values.
    pub debezium: Option<RawDebezium>,
}

/// Defaults: [`crate::debezium::settings`]. Keys are Debezium's and Kafka
/// Connect's property names with `_` for `.`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawDebezium {
    /// `schemas_enable = false`: the bare payload instead of
    /// `{schema, payload}` (JsonConverter's `schemas.enable`).
    pub schemas_enable: Option<bool>,
    /// `decimal_handling_mode = "precise" | "string" | "double"`.
    pub decimal_handling_mode: Option<String>,
    /// `time_precision_mode = "adaptive_time_microseconds" | "connect"`.
    pub time_precision_mode: Option<String>,
    /// `bigint_unsigned_handling_mode = "long" | "precise"`.
    pub bigint_unsigned_handling_mode: Option<String>,
    /// `binary_handling_mode = "bytes" | "base64" | "base64-url-safe" | "hex"`.
    pub binary_handling_mode: Option<String>,
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
    /// `store = "file" | "kafka"`: the checkpoint in `dir`, or in a
    /// compacted Kafka topic keyed by `[pipeline] name` (no disk needed).
    pub store: Option<String>,
    /// `topic = "__sluice_checkpoints"`: that topic, with `store = "kafka"`.
    pub topic: Option<String>,
}

/// Defaults: [`crate::app::settings`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawPipeline {
    /// `name = "orders-db"`: this pipeline's name: the key of its
    /// checkpoint in Kafka, its transactional id and its standby lock.
    /// Processes with the same name are one pipeline.
    pub name: Option<String>,
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
    /// `memory_limit_mib = <1..=4096>`: memory each plugin instance may use.
    pub memory_limit_mib: Option<u64>,
    /// `deadline_ms = <1..=3600000>`: longest one plugin call may run.
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

/// Defaults: [`crate::logging`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawLog {
    /// `format = "text" | "json"`: lines for people, or one JSON object
    /// per line.
    pub format: Option<String>,
    /// `level = "info"`: the filter, e.g. `"warn,sluice=debug"`;
    /// `SLUICE_LOG` wins over it.
    pub level: Option<String>,
}

/// Defaults: [`crate::http::settings`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawHttp {
    /// `listen = "127.0.0.1:9187"`: where `/metrics`, `/health/live`,
    /// `/health/ready` and `/status` are served; "" turns it off.
    /// `SLUICE_HTTP_LISTEN` wins over it.
    pub listen: Option<String>,
    /// `max_table_labels = <0..>`: tables with their own `table` label in
    /// the row metrics; later ones are counted as `_other`.
    pub max_table_labels: Option<usize>,
    /// `metrics = false`: no per-table row counting.
    pub metrics: Option<bool>,
}

/// Defaults: [`crate::standby::settings`].
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct RawStandby {
    /// `enabled = true`: take the pipeline's lock on the source server
    /// before streaming; without it, wait.
    pub enabled: Option<bool>,
    /// `lease_secs = <2..>`: how long a holder that stopped answering
    /// keeps the lock before a standby may take over.
    pub lease_secs: Option<u64>,
}
