//! Whether Kafka answers, for `sluice check`: a metadata request, nothing
//! produced.

use std::time::Duration;

use rdkafka::config::ClientConfig;
use rdkafka::consumer::{BaseConsumer, Consumer};

use super::SinkError;

/// How long `sluice check` waits for the brokers' metadata.
const METADATA_TIMEOUT: Duration = Duration::from_secs(10);

/// The number of brokers the cluster at `brokers` reports. Blocking: call
/// it off the async runtime.
pub(crate) fn broker_count(brokers: &str) -> Result<usize, SinkError> {
    let unreachable =
        |e: String| SinkError::Config(format!("Kafka at {brokers} is not reachable: {e}"));
    let c: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", brokers)
        .create()
        .map_err(|e| unreachable(e.to_string()))?;
    let md = c
        .fetch_metadata(None, METADATA_TIMEOUT)
        .map_err(|e| unreachable(e.to_string()))?;
    Ok(md.brokers().len())
}
