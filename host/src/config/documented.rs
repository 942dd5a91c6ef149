//! docs/CONFIG.md against the code: every default in its section tables
//! (`| key | default | meaning |`) must be the stage's constant, and every
//! constant must be documented, so the two cannot drift apart.

use std::collections::BTreeMap;
use std::fmt::Display;

use crate::app::settings as pipeline;
use crate::binlog::settings as source;
use crate::checkpoint::settings as state;
use crate::debezium::settings as debezium;
use crate::http::settings as http;
use crate::kafka::settings as kafka;
use crate::logging as log;
use crate::plugin::config as plugins;
use crate::snapshot::settings as snapshot;
use crate::standby::settings as standby;

const DOC: &str = include_str!("../../../docs/CONFIG.md");

/// The sections whose settings the stages own (rules are route's, and have
/// no numeric defaults).
const SECTIONS: [&str; 10] = [
    "source",
    "kafka",
    "kafka.debezium",
    "state",
    "pipeline",
    "plugins",
    "snapshot",
    "log",
    "http",
    "standby",
];

/// `section.key` -> the default column, from every `## \`[section]\`` table.
fn documented_defaults() -> BTreeMap<String, String> {
    let mut out = BTreeMap::new();
    let mut section = None;
    for line in DOC.lines() {
        if line.starts_with('#') {
            // `### [kafka.producer]` lists librdkafka's properties, not keys.
            section = line
                .strip_prefix("## ")
                .map(str::trim)
                .and_then(|t| t.strip_prefix("`["))
                .and_then(|t| t.strip_suffix("]`"))
                .filter(|s| SECTIONS.contains(s));
            continue;
        }
        let (Some(section), Some(row)) = (section, line.strip_prefix('|')) else {
            continue;
        };
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        let Some(key) = cells[0].strip_prefix('`').and_then(|k| k.strip_suffix('`')) else {
            continue; // the header and the |---| line
        };
        out.insert(format!("{section}.{key}"), cells[1].to_string());
    }
    out
}

fn code(v: impl Display) -> String {
    format!("`{v}`")
}

fn quoted(v: impl Display) -> String {
    format!("`\"{v}\"`")
}

/// What the default column must say for each key, from the constants.
fn expected_defaults() -> Vec<(&'static str, String)> {
    let derived = |name: &str| format!("`{{topic_prefix}}.{name}` or `{name}`");
    vec![
        ("source.url", "required".into()),
        ("source.server_id", code(source::DEFAULT_SERVER_ID)),
        ("source.start", quoted(source::DEFAULT_START)),
        (
            "source.heartbeat_secs",
            code(source::DEFAULT_HEARTBEAT.as_secs()),
        ),
        (
            "source.connect_timeout_secs",
            code(source::DEFAULT_CONNECT_TIMEOUT.as_secs()),
        ),
        (
            "source.max_backoff_secs",
            code(source::DEFAULT_MAX_BACKOFF.as_secs()),
        ),
        ("source.stop_at_end", code(source::DEFAULT_STOP_AT_END)),
        ("source.password", "none".into()),
        ("source.password_file", "none".into()),
        ("source.password_env", "none".into()),
        ("source.tls", quoted(source::DEFAULT_TLS)),
        ("source.ca_file", "none".into()),
        ("source.client_cert_file", "none".into()),
        ("source.client_key_file", "none".into()),
        (
            "kafka.brokers",
            "required (unless `pipeline.sink = \"null\"`)".into(),
        ),
        ("kafka.topic_prefix", "none".into()),
        ("kafka.dead_letter_topic", derived(kafka::DEAD_LETTER_TOPIC)),
        ("kafka.ddl_topic", derived(kafka::DDL_TOPIC)),
        ("kafka.heartbeat_topic", "none".into()),
        (
            "kafka.heartbeat_interval_secs",
            code(kafka::DEFAULT_HEARTBEAT_INTERVAL.as_secs()),
        ),
        ("kafka.transaction_topic", "none".into()),
        ("kafka.create_topics", code(kafka::DEFAULT_CREATE_TOPICS)),
        ("kafka.partitions", code(kafka::DEFAULT_PARTITIONS)),
        (
            "kafka.replication_factor",
            code(kafka::DEFAULT_REPLICATION_FACTOR),
        ),
        (
            "kafka.stall_timeout_secs",
            code(kafka::DEFAULT_STALL_TIMEOUT.as_secs()),
        ),
        (
            "kafka.security_protocol",
            quoted(kafka::DEFAULT_SECURITY_PROTOCOL.name()),
        ),
        ("kafka.sasl_mechanism", "none".into()),
        ("kafka.sasl_username", "none".into()),
        ("kafka.sasl_password", "none".into()),
        ("kafka.sasl_password_file", "none".into()),
        ("kafka.sasl_password_env", "none".into()),
        ("kafka.ssl_ca_file", "none".into()),
        ("kafka.ssl_cert_file", "none".into()),
        ("kafka.ssl_key_file", "none".into()),
        ("kafka.ssl_key_password", "none".into()),
        ("kafka.ssl_key_password_file", "none".into()),
        ("kafka.ssl_key_password_env", "none".into()),
        (
            "kafka.ssl_verify_hostname",
            code(kafka::DEFAULT_SSL_VERIFY_HOSTNAME),
        ),
        ("kafka.format", quoted(debezium::DEFAULT_FORMAT.name())),
        ("kafka.delivery", quoted(kafka::DEFAULT_DELIVERY.name())),
        (
            "kafka.transaction_interval_ms",
            code(kafka::DEFAULT_TRANSACTION_INTERVAL.as_millis()),
        ),
        (
            "kafka.debezium.schemas_enable",
            code(debezium::DEFAULT_SCHEMAS_ENABLE),
        ),
        (
            "kafka.debezium.decimal_handling_mode",
            quoted(debezium::DEFAULT_DECIMAL_MODE.name()),
        ),
        (
            "kafka.debezium.time_precision_mode",
            quoted(debezium::DEFAULT_TIME_MODE.name()),
        ),
        (
            "kafka.debezium.bigint_unsigned_handling_mode",
            quoted(debezium::DEFAULT_BIGINT_UNSIGNED_MODE.name()),
        ),
        (
            "kafka.debezium.binary_handling_mode",
            quoted(debezium::DEFAULT_BINARY_MODE.name()),
        ),
        ("state.dir", quoted(state::DEFAULT_DIR)),
        (
            "state.checkpoint_interval_ms",
            code(state::DEFAULT_CHECKPOINT_INTERVAL.as_millis()),
        ),
        ("state.store", quoted(state::DEFAULT_STORE.name())),
        ("state.topic", quoted(state::DEFAULT_TOPIC)),
        ("pipeline.name", quoted(pipeline::DEFAULT_NAME)),
        ("pipeline.sink", quoted(pipeline::DEFAULT_SINK.name())),
        (
            "pipeline.max_in_flight",
            code(pipeline::DEFAULT_MAX_IN_FLIGHT),
        ),
        ("pipeline.batch_rows", code(pipeline::DEFAULT_BATCH_ROWS)),
        ("pipeline.batch_bytes", code(pipeline::DEFAULT_BATCH_BYTES)),
        (
            "pipeline.channel_chunks",
            code(pipeline::DEFAULT_CHANNEL_CHUNKS),
        ),
        ("plugins.dir", quoted(plugins::DEFAULT_DIR)),
        (
            "plugins.cache_dir",
            format!("`{{dir}}/{}`", plugins::CACHE_DIR_NAME),
        ),
        (
            "plugins.memory_limit_mib",
            format!(
                "{}, {} for JavaScript plugins",
                code(plugins::DEFAULT_MEMORY_LIMIT_MIB),
                code(plugins::DEFAULT_JS_MEMORY_LIMIT_MIB)
            ),
        ),
        ("plugins.deadline_ms", code(plugins::DEFAULT_DEADLINE_MS)),
        (
            "plugins.max_call_events",
            code(plugins::DEFAULT_MAX_CALL_EVENTS),
        ),
        (
            "plugins.max_call_bytes",
            code(plugins::DEFAULT_MAX_CALL_BYTES),
        ),
        (
            "plugins.max_instances",
            code(plugins::DEFAULT_MAX_INSTANCES),
        ),
        ("plugins.watch", code(plugins::DEFAULT_WATCH)),
        ("plugins.debounce_ms", code(plugins::DEFAULT_DEBOUNCE_MS)),
        ("snapshot.mode", quoted(snapshot::DEFAULT_MODE.name())),
        ("snapshot.chunk_rows", code(snapshot::DEFAULT_CHUNK_ROWS)),
        (
            "snapshot.signal_table",
            quoted(snapshot::DEFAULT_SIGNAL_TABLE),
        ),
        ("snapshot.new_tables", code(snapshot::DEFAULT_NEW_TABLES)),
        (
            "snapshot.progress_interval_ms",
            code(snapshot::DEFAULT_PROGRESS_INTERVAL.as_millis()),
        ),
        ("log.format", quoted(log::DEFAULT_FORMAT.name())),
        ("log.level", quoted(log::DEFAULT_LEVEL)),
        ("http.listen", quoted(http::DEFAULT_LISTEN)),
        (
            "http.max_table_labels",
            code(http::DEFAULT_MAX_TABLE_LABELS),
        ),
        ("http.metrics", code(http::DEFAULT_METRICS)),
        ("standby.enabled", code(standby::DEFAULT_ENABLED)),
        ("standby.lease_secs", code(standby::DEFAULT_LEASE.as_secs())),
    ]
}

#[test]
fn documented_defaults_are_the_constants() {
    let mut documented = documented_defaults();
    assert!(documented.len() > 20, "tables not found: {documented:?}");
    for (key, expected) in expected_defaults() {
        let doc = documented.remove(key);
        assert_eq!(
            doc.as_deref(),
            Some(expected.as_str()),
            "docs/CONFIG.md, {key}"
        );
    }
    // A documented key the list above does not know has no constant behind
    // its default.
    assert!(
        documented.is_empty(),
        "not checked against the code: {documented:?}"
    );
}

/// The list above covers every key the config file accepts.
#[test]
fn every_key_of_the_file_is_documented() {
    let keys: Vec<&str> = expected_defaults().iter().map(|(k, _)| *k).collect();
    for section in SECTIONS {
        let unknown = format!("[{section}]\nno_such_key = 1\n");
        let err = toml::from_str::<super::raw::RawConfig>(&unknown).unwrap_err();
        // "unknown field `no_such_key`, expected `a` or `b`" (or "one of").
        let expected = err.message().split_once("expected ").map_or("", |(_, e)| e);
        let known: Vec<&str> = expected.split('`').skip(1).step_by(2).collect();
        assert!(known.len() > 1, "{}", err.message());
        for key in known {
            if section == "kafka" && key == "producer" {
                continue; // its own table of librdkafka properties
            }
            if section == "kafka" && key == "debezium" {
                continue; // a section of its own, checked as one
            }
            let full = format!("{section}.{key}");
            assert!(keys.contains(&full.as_str()), "{full} is not in the list");
        }
    }
}
