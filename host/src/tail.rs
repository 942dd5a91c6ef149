//! `sluice tail`: prints the events of a topic as JSON lines, for people
//! looking at what Sluice produced. Partitions are assigned directly rather
//! than through a consumer group, so it starts at once. It connects as
//! `run` does: the same TLS and SASL settings, from the same config file.

use std::io::Write;
use std::time::{Duration, Instant};

use rdkafka::consumer::{BaseConsumer, Consumer};
use rdkafka::message::{Headers, Message};
use rdkafka::{Offset, TopicPartitionList};

/// Keys and values are printed in the JSON rendering of docs/FORMAT.md
/// (bin as `{"$bin": "<hex>"}`), the one `sluice plugin test` reads and
/// prints too.
pub use crate::event::json::msgpack_to_json;
use crate::kafka::probe::{self, PROBE_TIMEOUT};
use crate::kafka::security::{client_config, creation_error, KafkaSecurity};

/// Prints up to `count` events of `topic` from the beginning, waiting at most
/// `timeout` for them.
pub fn run(
    brokers: &str,
    security: &KafkaSecurity,
    topic: &str,
    count: usize,
    timeout: Duration,
    out: &mut dyn Write,
) -> anyhow::Result<usize> {
    // A refused certificate or password is reported as such, rather than
    // as a topic that never shows up.
    probe::probe(brokers, security, timeout.min(PROBE_TIMEOUT))?;
    let mut cc = client_config(brokers, security);
    cc.set("group.id", "sluice-tail")
        .set("enable.auto.commit", "false");
    let consumer: BaseConsumer = cc
        .create()
        .map_err(|e| anyhow::anyhow!("cannot create a Kafka consumer: {}", creation_error(&e)))?;
    let deadline = Instant::now() + timeout;
    let partitions = loop {
        let md = consumer.fetch_metadata(Some(topic), Duration::from_secs(5))?;
        let n = md
            .topics()
            .first()
            .map(|t| t.partitions().len())
            .unwrap_or(0);
        if n > 0 {
            break n;
        }
        if Instant::now() > deadline {
            anyhow::bail!("topic {topic} does not exist on {brokers}");
        }
        std::thread::sleep(Duration::from_millis(300));
    };
    let mut tpl = TopicPartitionList::new();
    for p in 0..partitions as i32 {
        tpl.add_partition_offset(topic, p, Offset::Beginning)?;
    }
    consumer.assign(&tpl)?;
    let mut seen = 0;
    while seen < count && Instant::now() < deadline {
        let Some(msg) = consumer.poll(Duration::from_millis(200)) else {
            continue;
        };
        let msg = msg?;
        let headers: serde_json::Map<String, serde_json::Value> = msg
            .headers()
            .map(|h| {
                h.iter()
                    .map(|h| {
                        (
                            h.key.to_string(),
                            String::from_utf8_lossy(h.value.unwrap_or_default()).into(),
                        )
                    })
                    .collect()
            })
            .unwrap_or_default();
        let line = serde_json::json!({
            "topic": msg.topic(),
            "partition": msg.partition(),
            "offset": msg.offset(),
            "headers": headers,
            "key": msg.key().map(shown),
            "value": msg.payload().map(shown),
        });
        writeln!(out, "{line}")?;
        seen += 1;
    }
    Ok(seen)
}

/// A message's key or value as JSON: Sluice's MessagePack rendered as
/// docs/FORMAT.md says, a debezium-json message as the JSON it is, and
/// other bytes (a key a plugin wrote) as text.
fn shown(b: &[u8]) -> serde_json::Value {
    let mut rest = b;
    if rmpv::decode::read_value(&mut rest).is_ok() && rest.is_empty() {
        return msgpack_to_json(b);
    }
    serde_json::from_slice(b)
        .unwrap_or_else(|_| serde_json::Value::String(String::from_utf8_lossy(b).into_owned()))
}

#[cfg(test)]
mod shown_tests {
    use super::*;

    #[test]
    fn messagepack_json_and_text_are_each_shown_as_what_they_are() {
        let mp = crate::event::json::json_to_msgpack(&serde_json::json!({"id": 1}));
        assert_eq!(shown(&mp), serde_json::json!({"id": 1}));
        // `{` alone reads as the MessagePack number 123: the rest says no.
        assert_eq!(shown(br#"{"id":1}"#), serde_json::json!({"id": 1}));
        assert_eq!(shown(b"active|1"), serde_json::json!("active|1"));
    }
}
