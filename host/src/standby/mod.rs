//! Standby: processes sharing a `[pipeline] name`, of which one streams.
//!
//! The lock is MySQL's `GET_LOCK` on the source server (see
//! docs/GUARANTEES.md for why); exactly-once delivery adds Kafka's producer
//! fencing behind it, so a holder that lost the lock without noticing
//! cannot make anything visible.

pub(crate) mod settings;
