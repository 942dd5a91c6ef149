//! The null sink: every event is acknowledged as soon as it is handed over.
//! For dry runs and for measuring decode speed without a broker.

use std::sync::Arc;

use crate::event::{Batch, TxnId};

use super::{Acks, SinkError};

pub struct NullSink {
    acks: Arc<dyn Acks>,
    pub records: u64,
    pub bytes: u64,
}

impl NullSink {
    pub fn new(acks: Arc<dyn Acks>) -> Self {
        NullSink {
            acks,
            records: 0,
            bytes: 0,
        }
    }

    pub fn send(&mut self, batch: &Batch) -> Result<(), SinkError> {
        // Acknowledged per run of records of one transaction, not per
        // record: a batch holds few transactions and many rows.
        let mut run: Option<(TxnId, u64)> = None;
        for r in &batch.records {
            self.bytes += r.value.len() as u64;
            run = match run {
                Some((txn, n)) if txn == r.txn => Some((txn, n + 1)),
                Some((txn, n)) => {
                    self.acks.ack(txn, n);
                    Some((r.txn, 1))
                }
                None => Some((r.txn, 1)),
            };
        }
        if let Some((txn, n)) = run {
            self.acks.ack(txn, n);
        }
        self.records += batch.records.len() as u64;
        Ok(())
    }
}
