//! Configuration: the TOML file (see `docs/CONFIG.md`) parsed into raw serde
//! types, overridden from the environment, then validated section by
//! section into the settings each stage defines (`binlog::settings`,
//! `kafka::settings`, ...). This module sits at the edge: it knows every
//! stage's settings, and no stage knows it.

mod debezium;
#[cfg(test)]
mod documented;
mod error;
mod http;
mod input;
mod kafka;
mod kafka_security;
mod log;
mod pipeline;
mod plugins;
mod raw;
mod restart;
mod rules;
mod secret;
mod snapshot;
mod source;
mod standby;
mod state;
pub mod watch;

use std::path::Path;

pub use error::{suggest, ConfigError};
use input::Input;
use raw::RawConfig;
pub use restart::needs_restart;

pub use crate::app::settings::PipelineSettings;
pub use crate::binlog::gtid::{BadGtid, GtidState};
pub use crate::binlog::settings::{
    ClientCert, Endpoint, SourceSettings, Start, TlsMode, TlsSettings,
};
pub use crate::checkpoint::settings::StateSettings;
pub use crate::http::HttpSettings;
pub use crate::kafka::settings::ClientCert as KafkaClientCert;
pub use crate::kafka::settings::{
    KafkaSecurity, KafkaSettings, SaslLogin, SaslMechanism, SecurityProtocol, SinkKind,
};
pub use crate::logging::{LogFormat, LogSettings};
use crate::plugin::PluginHostConfig;
use crate::route::Rule;
pub use crate::snapshot::{SignalTable, SnapshotMode, SnapshotSettings};

/// Environment variables that override the file (they win over it).
pub const ENV_MYSQL_URL: &str = "SLUICE_MYSQL_URL";
pub const ENV_KAFKA_BROKERS: &str = "SLUICE_KAFKA_BROKERS";
pub const ENV_STATE_DIR: &str = "SLUICE_STATE_DIR";
pub const ENV_START: &str = "SLUICE_START";
pub const ENV_PLUGINS_DIR: &str = "SLUICE_PLUGINS_DIR";
pub const ENV_HTTP_LISTEN: &str = "SLUICE_HTTP_LISTEN";

#[derive(Clone, Debug)]
pub struct Config {
    pub source: SourceSettings,
    pub kafka: KafkaSettings,
    pub state: StateSettings,
    pub pipeline: PipelineSettings,
    /// Empty: capture every table (see `route::Rules`).
    pub rules: Vec<Rule>,
    pub plugins: PluginHostConfig,
    pub snapshot: SnapshotSettings,
    pub log: LogSettings,
    pub http: HttpSettings,
    pub standby: crate::standby::settings::StandbySettings,
}

impl Config {
    /// Reads, overrides from the environment, and validates.
    pub fn load(path: &Path) -> Result<Config, ConfigError> {
        Config::load_with_text(path).map(|(config, _)| config)
    }

    /// `load`, also returning the text the config was parsed from (the
    /// reloader compares the file with it).
    pub fn load_with_text(path: &Path) -> Result<(Config, String), ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        let config = Config::parse(path, &text, &|k| std::env::var(k).ok())?;
        Ok((config, text))
    }

    /// Only the `[kafka]` section of the file at `path`, validated as `run`
    /// validates it, for commands that talk to Kafka alone (`sluice tail`).
    /// `brokers` may be missing (empty): the command line can give them.
    pub fn load_kafka(path: &Path) -> Result<KafkaSettings, ConfigError> {
        // The null sink is the one that does not require brokers.
        section(path, |raw, input| {
            kafka::settings(raw.kafka.unwrap_or_default(), SinkKind::Null, input)
        })
    }

    /// The `[log]` section of the file at `path`, read before anything is
    /// logged. A file that cannot be read or parsed gives the defaults: the
    /// full load that follows reports it.
    pub fn load_log(path: &Path) -> LogSettings {
        let Ok(text) = std::fs::read_to_string(path) else {
            return LogSettings::default();
        };
        let env = |k: &str| std::env::var(k).ok();
        let input = Input::new(path, &text, &env);
        toml::from_str::<RawConfig>(&text)
            .ok()
            .and_then(|raw| log::settings(raw.log.unwrap_or_default(), &input).ok())
            .unwrap_or_default()
    }

    /// Only the `[http]` section of the file at `path`, for `sluice status`.
    pub fn load_http(path: &Path) -> Result<HttpSettings, ConfigError> {
        section(path, |raw, input| {
            http::settings(raw.http.unwrap_or_default(), input)
        })
    }

    /// Parses `text` (read from `path`, used in messages) with `env` giving
    /// environment overrides.
    pub fn parse(
        path: &Path,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| error::from_toml(path, text, &e))?;
        validate(raw, &Input::new(path, text, env))
    }
}

/// Reads and parses the file at `path` and validates one section of it
/// with `validate`, for the commands that need only that section.
fn section<T>(
    path: &Path,
    validate: impl FnOnce(RawConfig, &Input) -> Result<T, ConfigError>,
) -> Result<T, ConfigError> {
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: path.to_owned(),
        source,
    })?;
    let raw: RawConfig = toml::from_str(&text).map_err(|e| error::from_toml(path, &text, &e))?;
    let env = |k: &str| std::env::var(k).ok();
    validate(raw, &Input::new(path, &text, &env))
}

/// Section by section, stopping at the first error; `[pipeline]` comes
/// before `[kafka]` because the sink decides whether brokers are required.
fn validate(raw: RawConfig, input: &Input) -> Result<Config, ConfigError> {
    let source = source::settings(raw.source.unwrap_or_default(), input)?;
    let pipeline = pipeline::settings(raw.pipeline.unwrap_or_default(), input)?;
    let kafka = kafka::settings(raw.kafka.unwrap_or_default(), pipeline.sink, input)?;
    let state = state::settings(raw.state.unwrap_or_default(), input)?;
    exactly_once_needs_kafka_state(&kafka, &state, &pipeline, input)?;
    let rules = rules::rules(raw.rules.unwrap_or_default(), input)?;
    debezium_needs_a_name(&kafka, &rules, input)?;
    let plugins = plugins::settings(raw.plugins.unwrap_or_default(), input)?;
    let snapshot = snapshot::settings(raw.snapshot.unwrap_or_default(), input)?;
    let log = log::settings(raw.log.unwrap_or_default(), input)?;
    let http = http::settings(raw.http.unwrap_or_default(), input)?;
    let standby = standby::settings(raw.standby.unwrap_or_default(), input)?;
    Ok(Config {
        source,
        kafka,
        state,
        pipeline,
        rules,
        plugins,
        snapshot,
        log,
        http,
        standby,
    })
}

/// Exactly once commits each checkpoint in the Kafka transaction of the
/// changes it covers: a checkpoint file cannot take part in it.
fn exactly_once_needs_kafka_state(
    kafka: &KafkaSettings,
    state: &StateSettings,
    pipeline: &PipelineSettings,
    input: &Input,
) -> Result<(), ConfigError> {
    use crate::checkpoint::settings::StoreKind;
    use crate::kafka::settings::Delivery;
    if kafka.delivery != Delivery::ExactlyOnce {
        return Ok(());
    }
    if pipeline.sink != SinkKind::Kafka {
        return Err(input.in_file(
            "kafka.delivery",
            "\"exactly_once\" needs the kafka sink; remove sink = \"null\" under [pipeline], or use delivery = \"at_least_once\"",
        ));
    }
    if state.store != StoreKind::Kafka {
        return Err(input.in_file(
            "kafka.delivery",
            "\"exactly_once\" needs the checkpoint in Kafka, committed with the changes it covers; set store = \"kafka\" under [state] (docs/GUARANTEES.md)",
        ));
    }
    Ok(())
}

/// debezium-json names every schema and `source.name` after Debezium's
/// `topic.prefix`, which is `[kafka] topic_prefix` (topics are
/// `{prefix}.{db}.{table}` already): required when any events take it.
fn debezium_needs_a_name(
    kafka: &KafkaSettings,
    rules: &[Rule],
    input: &Input,
) -> Result<(), ConfigError> {
    use crate::debezium::Format;
    let used = kafka.format == Format::DebeziumJson
        || rules.iter().any(|r| r.format == Some(Format::DebeziumJson));
    if used && kafka.topic_prefix.is_none() {
        return Err(input.in_file(
            "kafka.topic_prefix",
            "missing: the debezium-json format needs it, as Debezium's topic.prefix (the logical server name in source.name, the schema names and the topics {prefix}.{db}.{table}); set e.g. topic_prefix = \"dbserver1\" under [kafka]",
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use std::path::PathBuf;

    use super::*;
    use crate::event::Position;

    const MINIMAL: &str = r#"
[source]
url = "mysql://root@127.0.0.1:3306"
server_id = 4242
start = "latest"
[kafka]
brokers = "127.0.0.1:9092"
[state]
dir = "state"
"#;

    fn parse(text: &str) -> Result<Config, ConfigError> {
        Config::parse(Path::new("sluice.toml"), text, &|_| None)
    }

    #[test]
    fn the_minimal_config_gets_documented_defaults() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.source.server_id, 4242);
        assert_eq!(c.source.start, Start::Latest);
        assert_eq!(c.kafka.brokers, "127.0.0.1:9092");
        assert!(c.kafka.create_topics);
        assert_eq!(c.state.dir, PathBuf::from("state"));
        assert_eq!(c.pipeline.sink, SinkKind::Kafka);
    }

    #[test]
    fn environment_beats_the_file() {
        let env = |k: &str| match k {
            ENV_KAFKA_BROKERS => Some("b:1".to_string()),
            ENV_START => Some("mysql-bin.000002:4".to_string()),
            ENV_STATE_DIR => Some("/tmp/s".to_string()),
            ENV_MYSQL_URL => Some("mysql://u@h:1".to_string()),
            _ => None,
        };
        let c = Config::parse(Path::new("x.toml"), MINIMAL, &env).unwrap();
        assert_eq!(c.kafka.brokers, "b:1");
        assert_eq!(c.source.endpoint.url(), "mysql://u@h:1");
        assert_eq!(
            c.source.start,
            Start::At(Position::new("mysql-bin.000002", 4))
        );
        assert_eq!(c.state.dir, PathBuf::from("/tmp/s"));
    }

    #[test]
    fn unknown_keys_name_file_line_and_suggestion() {
        let text = MINIMAL.replace("brokers = ", "brokerz = ");
        let err = parse(&text).unwrap_err().to_string();
        assert_eq!(
            err,
            "sluice.toml:7:1: unknown key `brokerz`; did you mean `brokers`? (known keys: brokers, topic_prefix, dead_letter_topic, ddl_topic, heartbeat_topic, heartbeat_interval_secs, transaction_topic, create_topics, partitions, replication_factor, delivery, transaction_interval_ms, stall_timeout_secs, security_protocol, sasl_mechanism, sasl_username, sasl_password, sasl_password_file, sasl_password_env, ssl_ca_file, ssl_cert_file, ssl_key_file, ssl_key_password, ssl_key_password_file, ssl_key_password_env, ssl_verify_hostname, producer, format, debezium) (in [kafka])\n    7 | brokerz = \"127.0.0.1:9092\""
        );
    }

    #[test]
    fn output_formats_and_debezium_modes_are_read_and_misspellings_suggested() {
        let c = parse(MINIMAL).unwrap();
        assert_eq!(c.kafka.format, crate::debezium::Format::MsgPack);
        assert_eq!(c.kafka.debezium, Default::default());
        let text = MINIMAL.replace(
            "brokers = ",
            "topic_prefix = \"dbserver1\"\nformat = \"debezium-json\"\nbrokers = ",
        )
            + "[kafka.debezium]\nschemas_enable = false\ndecimal_handling_mode = \"string\"\n\
             time_precision_mode = \"connect\"\nbigint_unsigned_handling_mode = \"precise\"\n\
             binary_handling_mode = \"hex\"\n[[rules]]\ntables = [\"a.*\"]\nformat = \"msgpack\"\n";
        let c = parse(&text).unwrap();
        use crate::debezium::settings::*;
        assert_eq!(c.kafka.format, Format::DebeziumJson);
        assert_eq!(
            c.kafka.debezium,
            DebeziumSettings {
                schemas_enable: false,
                decimal: DecimalMode::String,
                time: TimeMode::Connect,
                bigint_unsigned: BigIntUnsignedMode::Precise,
                binary: BinaryMode::Hex,
            }
        );
        assert_eq!(c.rules[0].format, Some(Format::MsgPack));
        for (bad, key, hint) in [
            (
                "format = \"debezium_json\"",
                "kafka.format",
                "did you mean \"debezium-json\"?",
            ),
            (
                "format = \"avro\"",
                "kafka.format",
                "use one of \"msgpack\", \"debezium-json\"",
            ),
        ] {
            let err = parse(&MINIMAL.replace("brokers = ", &format!("{bad}\nbrokers = ")))
                .unwrap_err()
                .to_string();
            assert!(err.contains(key) && err.contains(hint), "{err}");
        }
        let err = parse(
            &(MINIMAL.to_string() + "[kafka.debezium]\ntime_precision_mode = \"adaptive\"\n"),
        )
        .unwrap_err()
        .to_string();
        assert!(
            err.contains("kafka.debezium.time_precision_mode")
                && err.contains("did you mean \"adaptive_time_microseconds\"?"),
            "{err}"
        );
        let err = parse(&(MINIMAL.to_string() + "[kafka.debezium]\ndecimal_mode = \"string\"\n"))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("did you mean `decimal_handling_mode`?"),
            "{err}"
        );
        let err =
            parse(&(MINIMAL.to_string() + "[[rules]]\ntables = [\"a\"]\nformat = \"json\"\n"))
                .unwrap_err()
                .to_string();
        assert!(err.contains("rules[0].format"), "{err}");
        // Debezium names everything after topic.prefix: required.
        let err = parse(&MINIMAL.replace("brokers = ", "format = \"debezium-json\"\nbrokers = "))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("kafka.topic_prefix: missing: the debezium-json format needs it"),
            "{err}"
        );
        let err = parse(
            &(MINIMAL.to_string() + "[[rules]]\ntables = [\"a\"]\nformat = \"debezium-json\"\n"),
        )
        .unwrap_err()
        .to_string();
        assert!(err.contains("kafka.topic_prefix"), "{err}");
    }

    #[test]
    fn bad_values_say_what_to_write() {
        let err = parse(&MINIMAL.replace("\"latest\"", "\"yesterday\""))
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("source.start") && err.contains("<file>:<offset>"),
            "{err}"
        );
        let err = parse(&MINIMAL.replace("mysql://root@127.0.0.1:3306", "postgres://x"))
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a mysql:// URL"), "{err}");
        let err = parse("[source]\nurl = \"mysql://a@b\"\n")
            .unwrap_err()
            .to_string();
        assert!(err.contains("kafka.brokers: missing"), "{err}");
        let err = parse(&MINIMAL.replace("server_id = 4242", "server_id = \"x\""))
            .unwrap_err()
            .to_string();
        assert!(err.starts_with("sluice.toml:4:13:"), "{err}");
    }

    #[test]
    fn producer_properties_become_strings() {
        let c = parse(&format!(
            "{MINIMAL}\n[kafka.producer]\n\"linger.ms\" = 5\n\"enable.idempotence\" = true\n"
        ))
        .unwrap();
        assert_eq!(c.kafka.producer["linger.ms"], "5");
        assert_eq!(c.kafka.producer["enable.idempotence"], "true");
    }
}
