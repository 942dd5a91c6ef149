//! The null sink: every event is acknowledged as soon as it is handed over.
//! For dry runs and for measuring decode speed without a broker.

use std::sync::Arc;

use crate::checkpoint::Tracker;
use crate::event::Batch;

use super::SinkError;

pub struct NullSink {
    tracker: Arc<Tracker>,
    pub records: u64,
    pub bytes: u64,
}

impl NullSink {
    pub fn new(tracker: Arc<Tracker>) -> Self {
        NullSink {
            tracker,
            records: 0,
            bytes: 0,
        }
    }

    pub fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        for r in &batch.records {
            self.bytes += r.value.len() as u64;
            self.tracker.ack(r.txn);
        }
        self.records += batch.records.len() as u64;
        Ok(())
    }
}
