//! Which changed settings only take effect after a restart. The reloader
//! applies `[[rules]]` and `kafka.topic_prefix` while running; everything
//! else (`[snapshot]` too: the reader and the planner take it at start) is
//! read once at start, so a change to it is reported instead.

use super::Config;
use crate::binlog::SourceSettings;
use crate::kafka::KafkaSettings;
use crate::snapshot::SnapshotSettings;

/// The settings that differ between `old` and `new` and need a restart, as
/// the names logged for them.
pub fn needs_restart(old: &Config, new: &Config) -> Vec<&'static str> {
    // Destructured in full: a setting added to a stage must be placed here,
    // as reloadable or not, before this compiles.
    let SourceSettings {
        endpoint,
        server_id,
        start,
        heartbeat,
        connect_timeout,
        max_backoff,
        stop_at_end,
    } = &old.source;
    let KafkaSettings {
        brokers,
        topic_prefix: _, // reloadable
        ddl_topic,
        heartbeat_topic,
        heartbeat_interval,
        transaction_topic,
        dead_letter_topic,
        create_topics,
        partitions,
        replication_factor,
        stall_timeout,
        producer,
        security,
        format,
        debezium,
        delivery,
        transaction_interval,
    } = &old.kafka;
    let SnapshotSettings {
        mode,
        chunk_rows,
        signal_table,
        new_tables,
        progress_interval,
    } = &old.snapshot;
    let (s, k, snap) = (&new.source, &new.kafka, &new.snapshot);
    let changes = [
        (*endpoint != s.endpoint, "source (url, password, tls)"),
        (*server_id != s.server_id, "source.server_id"),
        (
            *start != s.start
                || *heartbeat != s.heartbeat
                || *connect_timeout != s.connect_timeout
                || *max_backoff != s.max_backoff,
            "source (start, heartbeat, timeouts)",
        ),
        (*stop_at_end != s.stop_at_end, "source.stop_at_end"),
        (*brokers != k.brokers, "kafka.brokers"),
        (
            *format != k.format || *debezium != k.debezium,
            "kafka (format, [kafka.debezium])",
        ),
        (old.plugins != new.plugins, "plugins"),
        (
            *dead_letter_topic != k.dead_letter_topic,
            "kafka.dead_letter_topic",
        ),
        (*ddl_topic != k.ddl_topic, "kafka.ddl_topic"),
        (
            *heartbeat_topic != k.heartbeat_topic || *heartbeat_interval != k.heartbeat_interval,
            "kafka (heartbeat_topic, heartbeat_interval_secs)",
        ),
        (
            *transaction_topic != k.transaction_topic,
            "kafka.transaction_topic",
        ),
        (
            *producer != k.producer
                || *create_topics != k.create_topics
                || *partitions != k.partitions
                || *replication_factor != k.replication_factor,
            "kafka (producer, topic creation)",
        ),
        (
            *stall_timeout != k.stall_timeout,
            "kafka.stall_timeout_secs",
        ),
        (*security != k.security, "kafka (TLS and SASL)"),
        (
            *delivery != k.delivery || *transaction_interval != k.transaction_interval,
            "kafka (delivery, transaction_interval_ms)",
        ),
        (old.standby != new.standby, "standby"),
        (old.state != new.state, "state"),
        (old.log != new.log, "log"),
        (old.http != new.http, "http"),
        (old.pipeline != new.pipeline, "pipeline"),
        (*mode != snap.mode, "snapshot.mode"),
        (*chunk_rows != snap.chunk_rows, "snapshot.chunk_rows"),
        (*signal_table != snap.signal_table, "snapshot.signal_table"),
        (*new_tables != snap.new_tables, "snapshot.new_tables"),
        (
            *progress_interval != snap.progress_interval,
            "snapshot.progress_interval_ms",
        ),
    ];
    changes
        .into_iter()
        .filter_map(|(changed, name)| changed.then_some(name))
        .collect()
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;

    /// Topics named outright, so a prefix change moves no derived topic.
    const BASE: &str = r#"
[source]
url = "mysql://root@127.0.0.1:3306"
[kafka]
brokers = "127.0.0.1:9092"
ddl_topic = "ddl"
dead_letter_topic = "dlq"
[state]
[pipeline]
[plugins]
[snapshot]
[log]
"#;

    fn config(text: &str) -> Config {
        Config::parse(Path::new("sluice.toml"), text, &|_| None).unwrap()
    }

    /// The names reported after adding `line` under `[section]` of BASE.
    fn changed(section: &str, line: &str) -> Vec<&'static str> {
        let header = format!("[{section}]\n");
        let edited = BASE.replacen(&header, &format!("{header}{line}\n"), 1);
        assert_ne!(edited, BASE, "no [{section}] in BASE");
        needs_restart(&config(BASE), &config(&edited))
    }

    #[test]
    fn each_setting_read_once_is_reported() {
        let cases = [
            ("source", "server_id = 7", "source.server_id"),
            (
                "source",
                "start = \"earliest\"",
                "source (start, heartbeat, timeouts)",
            ),
            (
                "source",
                "heartbeat_secs = 1",
                "source (start, heartbeat, timeouts)",
            ),
            (
                "source",
                "connect_timeout_secs = 1",
                "source (start, heartbeat, timeouts)",
            ),
            (
                "source",
                "max_backoff_secs = 1",
                "source (start, heartbeat, timeouts)",
            ),
            ("source", "stop_at_end = true", "source.stop_at_end"),
            ("log", "format = \"json\"", "log"),
            ("log", "level = \"debug\"", "log"),
            (
                "kafka",
                "heartbeat_topic = \"hb\"",
                "kafka (heartbeat_topic, heartbeat_interval_secs)",
            ),
            (
                "kafka",
                "heartbeat_interval_secs = 3",
                "kafka (heartbeat_topic, heartbeat_interval_secs)",
            ),
            (
                "kafka",
                "transaction_topic = \"tx\"",
                "kafka.transaction_topic",
            ),
            (
                "source",
                "tls = \"required\"",
                "source (url, password, tls)",
            ),
            ("source", "password = \"x\"", "source (url, password, tls)"),
            (
                "kafka",
                "create_topics = false",
                "kafka (producer, topic creation)",
            ),
            (
                "kafka",
                "partitions = 3",
                "kafka (producer, topic creation)",
            ),
            (
                "kafka",
                "replication_factor = 3",
                "kafka (producer, topic creation)",
            ),
            (
                "kafka",
                "stall_timeout_secs = 0",
                "kafka.stall_timeout_secs",
            ),
            ("state", "dir = \"elsewhere\"", "state"),
            ("state", "checkpoint_interval_ms = 50", "state"),
            ("pipeline", "sink = \"null\"", "pipeline"),
            ("pipeline", "max_in_flight = 1", "pipeline"),
            ("pipeline", "batch_rows = 1", "pipeline"),
            ("pipeline", "batch_bytes = 1", "pipeline"),
            ("pipeline", "channel_chunks = 1", "pipeline"),
            ("plugins", "dir = \"elsewhere\"", "plugins"),
            ("plugins", "deadline_ms = 5", "plugins"),
            ("plugins", "watch = false", "plugins"),
            ("snapshot", "mode = \"never\"", "snapshot.mode"),
            ("snapshot", "chunk_rows = 10", "snapshot.chunk_rows"),
            ("snapshot", "signal_table = \"\"", "snapshot.signal_table"),
            ("snapshot", "new_tables = false", "snapshot.new_tables"),
            (
                "snapshot",
                "progress_interval_ms = 500",
                "snapshot.progress_interval_ms",
            ),
        ];
        for (section, line, name) in cases {
            assert_eq!(changed(section, line), [name], "{line}");
        }
        // Keys already in BASE are replaced rather than added.
        let swap =
            |from: &str, to: &str| needs_restart(&config(BASE), &config(&BASE.replace(from, to)));
        assert_eq!(
            swap("127.0.0.1:3306", "10.0.0.1:3306"),
            ["source (url, password, tls)"]
        );
        assert_eq!(swap("127.0.0.1:9092", "k:9092"), ["kafka.brokers"]);
        assert_eq!(swap("\"ddl\"", "\"ddl2\""), ["kafka.ddl_topic"]);
        assert_eq!(swap("\"dlq\"", "\"dlq2\""), ["kafka.dead_letter_topic"]);
        let producer = format!("{BASE}[kafka.producer]\n\"linger.ms\" = 50\n");
        assert_eq!(
            needs_restart(&config(BASE), &config(&producer)),
            ["kafka (producer, topic creation)"]
        );
        // TLS and SASL, by named key or by librdkafka property alike.
        assert_eq!(
            changed("kafka", "security_protocol = \"ssl\""),
            ["kafka (TLS and SASL)"]
        );
        let property = format!("{BASE}[kafka.producer]\n\"security.protocol\" = \"ssl\"\n");
        assert_eq!(
            needs_restart(&config(BASE), &config(&property)),
            ["kafka (TLS and SASL)"]
        );
    }

    #[test]
    fn rules_and_the_topic_prefix_reload_without_restart() {
        assert!(changed("kafka", "topic_prefix = \"prod\"").is_empty());
        let rules = format!("{BASE}[[rules]]\ntables = [\"shop.*\"]\ntopic = \"x\"\n");
        assert!(needs_restart(&config(BASE), &config(&rules)).is_empty());
        assert!(needs_restart(&config(BASE), &config(BASE)).is_empty());
    }

    /// Without explicit topics the prefix also renames the derived ones,
    /// which the running producer cannot follow.
    #[test]
    fn a_prefix_that_renames_derived_topics_reports_them() {
        let derived = BASE.replace("ddl_topic = \"ddl\"\ndead_letter_topic = \"dlq\"\n", "");
        let prefixed = derived.replace("[kafka]\n", "[kafka]\ntopic_prefix = \"prod\"\n");
        assert_eq!(
            needs_restart(&config(&derived), &config(&prefixed)),
            ["kafka.dead_letter_topic", "kafka.ddl_topic"]
        );
    }
}
