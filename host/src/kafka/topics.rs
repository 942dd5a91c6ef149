//! Creating missing topics, once per topic per run.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use rdkafka::admin::{AdminClient, AdminOptions, NewTopic, TopicReplication};
use rdkafka::client::DefaultClientContext;
use rdkafka::types::RDKafkaErrorCode;

use crate::shutdown::Cancel;

#[derive(Debug, thiserror::Error)]
pub enum TopicError {
    #[error("Kafka refused to create topic {topic}: {reason}; create it yourself (or grant Sluice's user CREATE on the cluster) and set create_topics = false under [kafka] if creation is not allowed")]
    Refused { topic: String, reason: String },
    #[error("stopped while waiting to create topic {0}")]
    Stopped(String),
}

pub(super) struct Topics {
    admin: Option<AdminClient<DefaultClientContext>>,
    partitions: i32,
    replication: i32,
    known: HashSet<Arc<str>>,
    rt: tokio::runtime::Handle,
}

impl Topics {
    /// `admin` is `None` when topic creation is off.
    pub(super) fn new(
        admin: Option<AdminClient<DefaultClientContext>>,
        partitions: i32,
        replication: i32,
        rt: tokio::runtime::Handle,
    ) -> Self {
        Topics {
            admin,
            partitions,
            replication,
            known: HashSet::new(),
            rt,
        }
    }

    /// Makes sure `topic` exists, retrying while the broker is unreachable.
    pub(super) fn ensure(&mut self, topic: &str, cancel: &Cancel) -> Result<(), TopicError> {
        if self.known.contains(topic) {
            return Ok(());
        }
        let Some(admin) = &self.admin else {
            self.known.insert(Arc::from(topic));
            return Ok(());
        };
        let new = NewTopic::new(
            topic,
            self.partitions,
            TopicReplication::Fixed(self.replication),
        );
        let opts = AdminOptions::new()
            .operation_timeout(Some(Duration::from_secs(10)))
            .request_timeout(Some(Duration::from_secs(10)));
        let mut backoff = Duration::from_millis(200);
        loop {
            if cancel.is_cancelled() {
                return Err(TopicError::Stopped(topic.to_string()));
            }
            let res = self.rt.block_on(admin.create_topics([&new], &opts));
            let outcome = match res {
                Ok(results) => match results.into_iter().next() {
                    Some(Ok(_)) | None => Ok(()),
                    Some(Err((_, RDKafkaErrorCode::TopicAlreadyExists))) => Ok(()),
                    Some(Err((_, code))) if is_transient(code) => Err(code.to_string()),
                    Some(Err((_, code))) => {
                        return Err(TopicError::Refused {
                            topic: topic.to_string(),
                            reason: code.to_string(),
                        })
                    }
                },
                Err(e) => Err(e.to_string()),
            };
            match outcome {
                Ok(()) => {
                    tracing::info!(topic = %topic, "topic ready");
                    self.known.insert(Arc::from(topic));
                    return Ok(());
                }
                Err(reason) => {
                    tracing::warn!(topic = %topic, %reason, retry_in_ms = backoff.as_millis() as u64, "cannot create topic yet; is Kafka reachable at [kafka] brokers?");
                    std::thread::sleep(backoff);
                    backoff = (backoff * 2).min(Duration::from_secs(30));
                }
            }
        }
    }
}

fn is_transient(code: RDKafkaErrorCode) -> bool {
    use RDKafkaErrorCode::*;
    matches!(
        code,
        RequestTimedOut
            | NotController
            | BrokerNotAvailable
            | LeaderNotAvailable
            | NetworkException
            | OperationTimedOut
            | BrokerTransportFailure
            | AllBrokersDown
            | CoordinatorNotAvailable
    )
}
