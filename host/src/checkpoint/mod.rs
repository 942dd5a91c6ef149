//! Resume positions: which transactions Kafka has fully acknowledged, and a
//! durable record of where to start again.
//!
//! This stage sees positions and acknowledgements only. [`Tracker`] orders
//! acknowledgements (Kafka confirms messages out of order across
//! partitions); [`Store`] writes the resume position atomically.

pub(crate) mod settings;
mod store;
mod tracker;

pub(crate) use store::{Saved, Store, StoreError};
pub(crate) use tracker::Tracker;
