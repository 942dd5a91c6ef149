//! Any bytes as a binlog file, through the same steps as the pipeline: file
//! reading (event lengths, compressed payloads), transaction boundaries,
//! table maps and rows decoded into MessagePack events. Errors are fine;
//! panics, aborts, hangs and runaway allocations are bugs.

#![no_main]

use std::sync::Arc;

use libfuzzer_sys::fuzz_target;
use sluice::fuzzing::{
    classify, Batch, BinlogBytes, Decoder, EventKind, Position, Positions, TablePlan, TxnId,
    TxnSource,
};

fuzz_target!(|data: &[u8]| {
    // Inputs without the magic number get it, so mutations of the corpus's
    // bodies are not all stopped at the first check.
    let mut owned;
    let bytes = if data.starts_with(b"\xfebin") {
        data
    } else {
        owned = b"\xfebin".to_vec();
        owned.extend_from_slice(data);
        &owned[..]
    };
    let Ok(events) = BinlogBytes::new(bytes) else {
        return;
    };
    let mut decoder = Decoder::default();
    let from = Position::new("fuzz.000001", 4);
    let mut positions = Positions::new(&from);
    let mut txn = TxnSource::new(TxnId(0), 1, &from, None);
    let mut batch = Batch::default();
    for ev in events {
        let Ok(ev) = ev else { break };
        let (start, _) = positions.of(&ev);
        match classify(&ev) {
            Ok(EventKind::Gtid { gtid, .. }) => {
                txn = TxnSource::new(TxnId(0), 1, &start, gtid.as_deref())
            }
            Ok(EventKind::TableMap) => {
                let _ = decoder.table_map(&ev);
            }
            Ok(EventKind::Rows) => {
                batch.clear();
                let _ = decoder.rows(&ev, &mut txn, 0, &mut batch, &mut |s| {
                    Arc::new(TablePlan::everything(s))
                });
                // Every event must be well-formed MessagePack.
                for r in &batch.records {
                    let mut v = batch.value(r);
                    if !v.is_empty() {
                        rmpv::decode::read_value(&mut v).expect("event is MessagePack");
                    }
                }
            }
            Ok(EventKind::Rotate { next }) => positions.rotate(&next),
            _ => {}
        }
    }
});
