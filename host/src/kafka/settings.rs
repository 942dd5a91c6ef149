//! `[kafka]`: where events go, and which sink takes them. Each default is a
//! constant here, the one place it is written (docs/CONFIG.md is checked
//! against these by a test in `config`).

use std::collections::BTreeMap;
use std::time::Duration;

pub use super::security::{ClientCert, KafkaSecurity, SaslLogin, SaslMechanism, SecurityProtocol};

pub(crate) const DEFAULT_CREATE_TOPICS: bool = true;
/// Partitions of the topics Sluice creates.
pub(crate) const DEFAULT_PARTITIONS: i32 = 1;
/// Replication factor of the topics Sluice creates.
pub(crate) const DEFAULT_REPLICATION_FACTOR: i32 = 1;
/// No acknowledgement for this long while messages wait: start over from
/// the checkpoint with a new producer.
pub(crate) const DEFAULT_STALL_TIMEOUT: Duration = Duration::from_secs(60);
/// Name of the schema-change topic, after the topic prefix if there is one.
pub(crate) const DDL_TOPIC: &str = "__ddl";
/// How often a heartbeat goes to `heartbeat_topic`, when there is one.
pub(crate) const DEFAULT_HEARTBEAT_INTERVAL: Duration = Duration::from_secs(10);
/// Name of the dead-letter topic, after the topic prefix if there is one.
pub(crate) const DEAD_LETTER_TOPIC: &str = "__dead_letter";
/// Neither TLS nor SASL unless asked for.
pub(crate) const DEFAULT_SECURITY_PROTOCOL: SecurityProtocol = SecurityProtocol::Plaintext;
/// The brokers' certificates must name the host in `brokers`.
pub(crate) const DEFAULT_SSL_VERIFY_HOSTNAME: bool = true;

#[derive(Clone, Debug, PartialEq)]
pub struct KafkaSettings {
    /// Empty only with the null sink.
    pub brokers: String,
    pub topic_prefix: Option<String>,
    /// Where schema changes go; `None` when turned off.
    pub ddl_topic: Option<String>,
    /// Where heartbeats go, every `heartbeat_interval`; `None`: no heartbeats.
    pub heartbeat_topic: Option<String>,
    pub heartbeat_interval: Duration,
    /// Where transactions' BEGIN and END records go; `None`: no markers.
    pub transaction_topic: Option<String>,
    /// Where events go that a plugin failed on, with `on_error = "dead-letter"`.
    pub dead_letter_topic: String,
    pub create_topics: bool,
    /// At least 1.
    pub partitions: i32,
    /// At least 1.
    pub replication_factor: i32,
    /// No acknowledgement for this long while messages wait: a new
    /// producer from the checkpoint. `None`: wait forever.
    pub stall_timeout: Option<Duration>,
    /// librdkafka properties from `[kafka.producer]`, as strings, except
    /// the TLS and SASL ones, which are in `security`.
    pub producer: BTreeMap<String, String>,
    /// How every Kafka client connects.
    pub security: KafkaSecurity,
    /// What events look like on Kafka when their rule does not say.
    pub format: crate::debezium::Format,
    /// How the debezium-json format writes values.
    pub debezium: crate::debezium::DebeziumSettings,
    pub delivery: Delivery,
    /// With exactly once: how long a Kafka transaction gathers changes.
    pub transaction_interval: Duration,
}

/// How often each change reaches Kafka.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Delivery {
    /// An idempotent producer; after a crash, changes since the checkpoint
    /// are sent again (docs/GUARANTEES.md).
    AtLeastOnce,
    /// Kafka transactions carrying the changes with their checkpoint: a
    /// `read_committed` consumer sees each change once.
    ExactlyOnce,
}

impl Delivery {
    pub const ALL: [Delivery; 2] = [Delivery::AtLeastOnce, Delivery::ExactlyOnce];

    /// The name written in the config file.
    pub fn name(self) -> &'static str {
        match self {
            Delivery::AtLeastOnce => "at_least_once",
            Delivery::ExactlyOnce => "exactly_once",
        }
    }

    pub fn from_name(name: &str) -> Option<Delivery> {
        Delivery::ALL.into_iter().find(|d| d.name() == name)
    }
}

pub(crate) const DEFAULT_DELIVERY: Delivery = Delivery::AtLeastOnce;
/// With exactly once, how long one Kafka transaction gathers binlog
/// transactions: longer is faster (one commit per interval) but delays
/// what a `read_committed` consumer sees by up to as much.
pub(crate) const DEFAULT_TRANSACTION_INTERVAL: Duration = Duration::from_millis(100);

/// Where batches go: Kafka, or nowhere (a dry run, a decode benchmark).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkKind {
    Kafka,
    Null,
}

impl SinkKind {
    pub const ALL: [SinkKind; 2] = [SinkKind::Kafka, SinkKind::Null];

    /// The name written in the config file.
    pub fn name(self) -> &'static str {
        match self {
            SinkKind::Kafka => "kafka",
            SinkKind::Null => "null",
        }
    }

    pub fn from_name(name: &str) -> Option<SinkKind> {
        SinkKind::ALL.into_iter().find(|k| k.name() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sink_names_read_back() {
        for k in SinkKind::ALL {
            assert_eq!(SinkKind::from_name(k.name()), Some(k));
        }
        assert_eq!(SinkKind::from_name("kafak"), None);
    }

    #[test]
    fn topics_go_after_the_prefix() {
        use crate::event::topic::prefixed;
        assert_eq!(prefixed(Some("prod"), DDL_TOPIC), "prod.__ddl");
        assert_eq!(prefixed(None, DEAD_LETTER_TOPIC), "__dead_letter");
    }
}
