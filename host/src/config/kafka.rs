//! `[kafka]` -> [`KafkaSettings`].

use std::collections::BTreeMap;
use std::time::Duration;

use super::input::Input;
use super::kafka_security::{self, NamedKeys};
use super::raw::RawKafka;
use super::secret::SecretKeys;
use super::{ConfigError, ENV_KAFKA_BROKERS};
use crate::event::topic;
use crate::kafka::settings::{
    Delivery, KafkaSettings, SinkKind, DDL_TOPIC, DEAD_LETTER_TOPIC, DEFAULT_CREATE_TOPICS,
    DEFAULT_DELIVERY, DEFAULT_HEARTBEAT_INTERVAL, DEFAULT_PARTITIONS, DEFAULT_REPLICATION_FACTOR,
    DEFAULT_STALL_TIMEOUT, DEFAULT_TRANSACTION_INTERVAL,
};

/// `sink` decides whether brokers are required.
pub(super) fn settings(
    raw: RawKafka,
    sink: SinkKind,
    input: &Input,
) -> Result<KafkaSettings, ConfigError> {
    let brokers = brokers(raw.brokers, sink, input)?;
    let mut producer = producer(raw.producer.unwrap_or_default(), input)?;
    let named = NamedKeys {
        security_protocol: raw.security_protocol,
        sasl_mechanism: raw.sasl_mechanism,
        sasl_username: raw.sasl_username,
        sasl_password: SecretKeys {
            inline: raw.sasl_password,
            file: raw.sasl_password_file,
            env: raw.sasl_password_env,
        },
        ssl_ca_file: raw.ssl_ca_file,
        ssl_cert_file: raw.ssl_cert_file,
        ssl_key_file: raw.ssl_key_file,
        ssl_key_password: SecretKeys {
            inline: raw.ssl_key_password,
            file: raw.ssl_key_password_file,
            env: raw.ssl_key_password_env,
        },
        ssl_verify_hostname: raw.ssl_verify_hostname,
    };
    let security = kafka_security::security(named, &mut producer, input)?;
    let format = match &raw.format {
        Some(f) => super::debezium::format(f, "kafka.format", input)?,
        None => crate::debezium::settings::DEFAULT_FORMAT,
    };
    let debezium = super::debezium::settings(raw.debezium.unwrap_or_default(), input)?;
    let topic_prefix = raw.topic_prefix.filter(|p| !p.is_empty());
    let prefix = topic_prefix.as_deref();
    let ddl_topic = match raw.ddl_topic {
        Some(t) if t.is_empty() => None,
        Some(t) => Some(topic::sanitize(&t)),
        None => Some(topic::prefixed(prefix, DDL_TOPIC)),
    };
    let dead_letter_topic = match raw.dead_letter_topic.filter(|t| !t.is_empty()) {
        Some(t) => topic::sanitize(&t),
        None => topic::prefixed(prefix, DEAD_LETTER_TOPIC),
    };
    // Off unless named: "" is the same as leaving the key out.
    let optional = |t: Option<String>| t.filter(|t| !t.is_empty()).map(|t| topic::sanitize(&t));
    let heartbeat_interval = input
        .at_least_one(
            raw.heartbeat_interval_secs,
            DEFAULT_HEARTBEAT_INTERVAL.as_secs(),
            "kafka.heartbeat_interval_secs",
        )
        .map(Duration::from_secs)?;
    let names: Vec<&str> = Delivery::ALL.iter().map(|d| d.name()).collect();
    let delivery = match &raw.delivery {
        None => DEFAULT_DELIVERY,
        Some(d) => super::input::one_of(
            d,
            "kafka.delivery",
            "a delivery guarantee",
            &names,
            Delivery::from_name,
            input,
        )?,
    };
    let transaction_interval = input
        .at_least_one(
            raw.transaction_interval_ms,
            DEFAULT_TRANSACTION_INTERVAL.as_millis() as u64,
            "kafka.transaction_interval_ms",
        )
        .map(Duration::from_millis)?;
    Ok(KafkaSettings {
        brokers,
        topic_prefix,
        ddl_topic,
        heartbeat_topic: optional(raw.heartbeat_topic),
        heartbeat_interval,
        transaction_topic: optional(raw.transaction_topic),
        dead_letter_topic,
        create_topics: raw.create_topics.unwrap_or(DEFAULT_CREATE_TOPICS),
        partitions: raw.partitions.unwrap_or(DEFAULT_PARTITIONS).max(1),
        replication_factor: raw
            .replication_factor
            .unwrap_or(DEFAULT_REPLICATION_FACTOR)
            .max(1),
        stall_timeout: match raw.stall_timeout_secs {
            None => Some(DEFAULT_STALL_TIMEOUT),
            Some(0) => None,
            Some(n) => Some(Duration::from_secs(n)),
        },
        producer,
        security,
        format,
        debezium,
        delivery,
        transaction_interval,
    })
}

fn brokers(
    file_value: Option<String>,
    sink: SinkKind,
    input: &Input,
) -> Result<String, ConfigError> {
    match (input.pick(ENV_KAFKA_BROKERS, file_value).0, sink) {
        (Some(b), _) if !b.trim().is_empty() => Ok(b),
        (_, SinkKind::Null) => Ok(String::new()),
        _ => Err(input.in_file(
            "kafka.brokers",
            format!("missing: set brokers = \"host:9092\" under [kafka], or {ENV_KAFKA_BROKERS}"),
        )),
    }
}

/// librdkafka takes every property as a string.
fn producer(
    raw: BTreeMap<String, toml::Value>,
    input: &Input,
) -> Result<BTreeMap<String, String>, ConfigError> {
    raw.into_iter()
        .map(|(k, v)| {
            let v = match v {
                toml::Value::String(s) => s,
                toml::Value::Integer(i) => i.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                other => {
                    return Err(input.in_file(
                        &format!("kafka.producer.\"{k}\""),
                        format!(
                            "librdkafka properties are strings, numbers or booleans, not {}",
                            other.type_str()
                        ),
                    ))
                }
            };
            Ok((k, v))
        })
        .collect()
}
