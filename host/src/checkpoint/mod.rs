//! Resume positions: which transactions Kafka has fully acknowledged, and a
//! durable record of where to start again.
//!
//! This stage sees positions and acknowledgements only. [`Tracker`] orders
//! acknowledgements (Kafka confirms messages out of order across
//! partitions); [`Store`] keeps the resume position, in a file written
//! atomically or in a compacted Kafka topic (`kafka.rs`).

mod file;
mod kafka;
mod record;
pub(crate) mod settings;
mod store;
mod tracker;

pub(crate) use kafka::{transactional_id, KafkaStoreSettings};
pub(crate) use store::{Committed, Saved, Store, StoreError};
pub(crate) use tracker::Tracker;
