//! Configuration: the TOML file (see `docs/CONFIG.md`) parsed into raw serde
//! types, overridden from the environment, then validated into [`Config`].

mod error;
mod raw;
pub mod watch;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

pub use error::{suggest, ConfigError};
use raw::RawConfig;

use crate::event::{topic, Position};
use crate::route::glob::TablePattern;
use crate::route::{ColumnFilter, Rule};

/// Environment variables that override the file (they win over it).
pub const ENV_MYSQL_URL: &str = "SLUICE_MYSQL_URL";
pub const ENV_KAFKA_BROKERS: &str = "SLUICE_KAFKA_BROKERS";
pub const ENV_STATE_DIR: &str = "SLUICE_STATE_DIR";
pub const ENV_START: &str = "SLUICE_START";
pub const ENV_PLUGINS_DIR: &str = "SLUICE_PLUGINS_DIR";

#[derive(Clone, Debug)]
pub struct Config {
    pub source: Source,
    pub kafka: Kafka,
    pub state: State,
    pub pipeline: Pipeline,
    /// Empty: capture every table (see `route::Rules`).
    pub rules: Vec<Rule>,
    pub plugins: crate::plugin::PluginHostConfig,
}

/// Where replication starts when there is no checkpoint.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Start {
    /// The server's current position: only changes made from now on.
    Latest,
    /// The oldest binlog the server still has.
    Earliest,
    At(Position),
}

#[derive(Clone, Debug, PartialEq)]
pub struct Source {
    pub url: String,
    pub server_id: u32,
    pub start: Start,
    pub heartbeat: Duration,
    pub connect_timeout: Duration,
    pub max_backoff: Duration,
    pub stop_at_end: bool,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Kafka {
    /// Empty only with the null sink.
    pub brokers: String,
    pub topic_prefix: Option<String>,
    /// Where schema changes go; `None` when turned off.
    pub ddl_topic: Option<String>,
    /// Where events go that a plugin failed on, with `on_error = "dead-letter"`.
    pub dead_letter_topic: String,
    pub create_topics: bool,
    pub partitions: i32,
    pub replication_factor: i32,
    /// No acknowledgement for this long while messages wait: a new
    /// producer from the checkpoint. `None`: wait forever.
    pub stall_timeout: Option<Duration>,
    /// librdkafka properties from `[kafka.producer]`, as strings.
    pub producer: BTreeMap<String, String>,
}

#[derive(Clone, Debug, PartialEq)]
pub struct State {
    pub dir: PathBuf,
    pub checkpoint_interval: Duration,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkKind {
    Kafka,
    Null,
}

#[derive(Clone, Debug, PartialEq)]
pub struct Pipeline {
    pub sink: SinkKind,
    pub max_in_flight: usize,
    pub batch_rows: usize,
    pub batch_bytes: usize,
    pub channel_chunks: usize,
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

    /// Parses `text` (read from `path`, used in messages) with `env` giving
    /// environment overrides.
    pub fn parse(
        path: &Path,
        text: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<Config, ConfigError> {
        let raw: RawConfig = toml::from_str(text).map_err(|e| error::from_toml(path, text, &e))?;
        validate(path, text, raw, env)
    }
}

fn validate(
    path: &Path,
    text: &str,
    raw: RawConfig,
    env: &dyn Fn(&str) -> Option<String>,
) -> Result<Config, ConfigError> {
    let file = path.display().to_string();
    let invalid = |origin: &str, key: &str, message: String| ConfigError::Invalid {
        // Values from the file point at their line; from the environment,
        // at the variable.
        origin: match error::locate(text, key) {
            Some((line, col)) if origin == file => format!("{origin}:{line}:{col}"),
            _ => origin.to_string(),
        },
        key: key.to_string(),
        message,
    };
    // A value from the environment is reported as coming from there.
    let pick = |var: &str, file_value: Option<String>| -> (Option<String>, String) {
        match env(var).filter(|v| !v.is_empty()) {
            Some(v) => (Some(v), format!("environment variable {var}")),
            None => (file_value, file.clone()),
        }
    };

    let source = raw.source.unwrap_or_default();
    let (url, url_origin) = pick(ENV_MYSQL_URL, source.url);
    let url = url.ok_or_else(|| {
        invalid(
            &file,
            "source.url",
            format!(
                "missing: set url = \"mysql://user@host:3306\" under [source], or {ENV_MYSQL_URL}"
            ),
        )
    })?;
    match url::Url::parse(&url) {
        Ok(u) if u.scheme() == "mysql" && u.host_str().is_some() => {}
        _ => {
            return Err(invalid(
                &url_origin,
                "source.url",
                format!(
                    "`{url}` is not a mysql:// URL; write it as mysql://user:password@host:3306"
                ),
            ))
        }
    }
    let server_id = source.server_id.unwrap_or(4242);
    if server_id == 0 {
        return Err(invalid(&file, "source.server_id", "0 is not a valid replica id; pick a number from 1 to 4294967295 that no other replica of the server uses".into()));
    }
    let (start, start_origin) = pick(ENV_START, source.start);
    let start = match start.as_deref().unwrap_or("latest") {
        "latest" => Start::Latest,
        "earliest" => Start::Earliest,
        other => Start::At(other.parse().map_err(|e| {
            invalid(
                &start_origin,
                "source.start",
                format!("{e}; or use \"latest\" or \"earliest\""),
            )
        })?),
    };
    let secs = |v: Option<u64>, default: u64, key: &str| -> Result<Duration, ConfigError> {
        match v.unwrap_or(default) {
            0 => Err(invalid(&file, key, "must be at least 1".into())),
            n => Ok(Duration::from_secs(n)),
        }
    };
    let source = Source {
        url,
        server_id,
        start,
        heartbeat: secs(source.heartbeat_secs, 5, "source.heartbeat_secs")?,
        connect_timeout: secs(
            source.connect_timeout_secs,
            10,
            "source.connect_timeout_secs",
        )?,
        max_backoff: secs(source.max_backoff_secs, 30, "source.max_backoff_secs")?,
        stop_at_end: source.stop_at_end.unwrap_or(false),
    };

    let pipeline = raw.pipeline.unwrap_or_default();
    let sink = match pipeline.sink.as_deref().unwrap_or("kafka") {
        "kafka" => SinkKind::Kafka,
        "null" => SinkKind::Null,
        other => {
            return Err(invalid(
                &file,
                "pipeline.sink",
                format!("`{other}` is not a sink; use \"kafka\" or \"null\""),
            ))
        }
    };
    let positive = |v: Option<usize>, default: usize, key: &str| -> Result<usize, ConfigError> {
        match v.unwrap_or(default) {
            0 => Err(invalid(&file, key, "must be at least 1".into())),
            n => Ok(n),
        }
    };
    let pipeline = Pipeline {
        sink,
        max_in_flight: positive(pipeline.max_in_flight, 100_000, "pipeline.max_in_flight")?,
        batch_rows: positive(pipeline.batch_rows, 2048, "pipeline.batch_rows")?,
        batch_bytes: positive(pipeline.batch_bytes, 8 << 20, "pipeline.batch_bytes")?,
        channel_chunks: positive(pipeline.channel_chunks, 16, "pipeline.channel_chunks")?,
    };

    let kafka = raw.kafka.unwrap_or_default();
    let (brokers, _) = pick(ENV_KAFKA_BROKERS, kafka.brokers);
    let brokers = match (brokers, sink) {
        (Some(b), _) if !b.trim().is_empty() => b,
        (_, SinkKind::Null) => String::new(),
        _ => {
            return Err(invalid(
                &file,
                "kafka.brokers",
                format!(
                    "missing: set brokers = \"host:9092\" under [kafka], or {ENV_KAFKA_BROKERS}"
                ),
            ))
        }
    };
    let mut producer = BTreeMap::new();
    for (k, v) in kafka.producer.unwrap_or_default() {
        let v = match v {
            toml::Value::String(s) => s,
            toml::Value::Integer(i) => i.to_string(),
            toml::Value::Float(f) => f.to_string(),
            toml::Value::Boolean(b) => b.to_string(),
            other => {
                return Err(invalid(
                    &file,
                    &format!("kafka.producer.\"{k}\""),
                    format!(
                        "librdkafka properties are strings, numbers or booleans, not {}",
                        other.type_str()
                    ),
                ))
            }
        };
        producer.insert(k, v);
    }
    let topic_prefix = kafka.topic_prefix.filter(|p| !p.is_empty());
    let ddl_topic = match kafka.ddl_topic {
        Some(t) if t.is_empty() => None,
        Some(t) => Some(topic::sanitize(&t)),
        None => Some(topic::prefixed(topic_prefix.as_deref(), "__ddl")),
    };
    let dead_letter_topic = match kafka.dead_letter_topic.filter(|t| !t.is_empty()) {
        Some(t) => topic::sanitize(&t),
        None => topic::prefixed(topic_prefix.as_deref(), "__dead_letter"),
    };
    let kafka = Kafka {
        brokers,
        topic_prefix,
        ddl_topic,
        dead_letter_topic,
        create_topics: kafka.create_topics.unwrap_or(true),
        partitions: kafka.partitions.unwrap_or(1).max(1),
        replication_factor: kafka.replication_factor.unwrap_or(1).max(1),
        stall_timeout: match kafka.stall_timeout_secs.unwrap_or(60) {
            0 => None,
            n => Some(Duration::from_secs(n)),
        },
        producer,
    };

    let state = raw.state.unwrap_or_default();
    let (dir, _) = pick(ENV_STATE_DIR, state.dir);
    let state = State {
        dir: PathBuf::from(dir.unwrap_or_else(|| "state".into())),
        checkpoint_interval: Duration::from_millis(
            state.checkpoint_interval_ms.unwrap_or(1000).max(10),
        ),
    };

    let mut rules = Vec::new();
    for (i, r) in raw.rules.unwrap_or_default().into_iter().enumerate() {
        rules.push(rule(r, &format!("rules[{i}]"), &|key, message| {
            invalid(&file, key, message)
        })?);
    }

    let mut plugins = raw.plugins.unwrap_or_default();
    if let (Some(dir), _) = pick(ENV_PLUGINS_DIR, None) {
        plugins.dir = PathBuf::from(dir);
    }

    Ok(Config {
        source,
        kafka,
        state,
        pipeline,
        rules,
        plugins,
    })
}

fn rule(
    r: raw::RawRule,
    at: &str,
    invalid: &dyn Fn(&str, String) -> ConfigError,
) -> Result<Rule, ConfigError> {
    let patterns = |list: Vec<String>, key: &str| -> Result<Vec<TablePattern>, ConfigError> {
        list.iter()
            .map(|p| TablePattern::parse(p).map_err(|e| invalid(&format!("{at}.{key}"), e)))
            .collect()
    };
    let tables = r.tables.ok_or_else(|| {
        invalid(
            &format!("{at}.tables"),
            "missing: say which tables the rule is for, e.g. tables = [\"shop.*\"]".into(),
        )
    })?;
    if tables.is_empty() {
        return Err(invalid(
            &format!("{at}.tables"),
            "is empty: list at least one db.table pattern".into(),
        ));
    }
    if let Some(t) = &r.topic {
        let mut rest = t.as_str();
        while let Some(open) = rest.find('{') {
            let close = rest[open..].find('}').map(|c| open + c).ok_or_else(|| {
                invalid(
                    &format!("{at}.topic"),
                    format!("`{t}` has a `{{` without `}}`"),
                )
            })?;
            let name = &rest[open + 1..close];
            if name != "db" && name != "table" {
                let hint = suggest(name, &["db", "table"])
                    .map(|s| format!("; did you mean {{{s}}}?"))
                    .unwrap_or_default();
                return Err(invalid(&format!("{at}.topic"), format!("unknown placeholder {{{name}}} in `{t}`: only {{db}} and {{table}} are replaced{hint}")));
            }
            rest = &rest[close + 1..];
        }
        if t.is_empty() {
            return Err(invalid(&format!("{at}.topic"), "is empty".into()));
        }
    }
    let columns = match (r.include_columns, r.exclude_columns) {
        (Some(_), Some(_)) => {
            return Err(invalid(
                &format!("{at}.include_columns"),
                "give include_columns or exclude_columns, not both".into(),
            ))
        }
        (Some(c), None) => ColumnFilter::Include(c),
        (None, Some(c)) => ColumnFilter::Exclude(c),
        (None, None) => ColumnFilter::All,
    };
    let ops = match r.ops {
        None => [true; 3],
        Some(list) => {
            let mut ops = [false; 3];
            for o in &list {
                let i = match o.as_str() {
                    "insert" | "c" => 0,
                    "update" | "u" => 1,
                    "delete" | "d" => 2,
                    other => {
                        let hint = suggest(other, &["insert", "update", "delete"])
                            .map(|s| format!("; did you mean \"{s}\"?"))
                            .unwrap_or_default();
                        return Err(invalid(&format!("{at}.ops"), format!("`{other}` is not an op: use \"insert\", \"update\" or \"delete\"{hint}")));
                    }
                };
                ops[i] = true;
            }
            ops
        }
    };
    Ok(Rule {
        tables: patterns(tables, "tables")?,
        exclude: patterns(r.exclude.unwrap_or_default(), "exclude")?,
        topic: r.topic,
        key: r.key.unwrap_or_default(),
        columns,
        ops,
        tombstones: r.tombstones.unwrap_or(false),
        chain: r.plugins.unwrap_or_default(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(c.source.url, "mysql://u@h:1");
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
            "sluice.toml:7:1: unknown key `brokerz`; did you mean `brokers`? (known keys: brokers, topic_prefix, dead_letter_topic, ddl_topic, create_topics, partitions, replication_factor, stall_timeout_secs, producer) (in [kafka])\n    7 | brokerz = \"127.0.0.1:9092\""
        );
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
