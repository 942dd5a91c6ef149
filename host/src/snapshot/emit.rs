//! A merged chunk's rows as events in the pipeline's batch: op `"r"`, the
//! table's plan (topic, key, columns, rule) exactly as for streamed rows,
//! values copied from what the reader converted: a row's whole after map
//! body, and its primary key, in one copy each when the plan shows every
//! column and keys by the primary key (the common case), pair by pair
//! otherwise.

use crate::decode::plan::TablePlan;
use crate::event::layout::{write_before_key, RowFrame, SourceTxn};
use crate::event::msgpack::{extend_short, write_map_header, write_nil};
use crate::event::{Batch, Op, Record, TxnId};

use super::planner::Merge;

/// Where the rows of one merge go.
pub(crate) struct Placement<'a> {
    pub plan: &'a TablePlan,
    /// `source` of every row: the merge point (FORMAT.md, "Snapshot rows").
    pub source: &'a SourceTxn,
    /// `source.row` of the first row emitted.
    pub first_row: u64,
    pub txn: TxnId,
    pub produced_ms: u64,
}

/// Writes the kept rows of `merge` into `batch`; returns how many.
pub(crate) fn write_rows(merge: &Merge, at: &Placement<'_>, batch: &mut Batch) -> u64 {
    let plan = at.plan;
    if !plan.capture || !plan.ops[Op::Read.index()] {
        return 0;
    }
    let chunk = &merge.chunk;
    let schema = &chunk.table.schema;
    let mut frame = RowFrame::default();
    frame.set(
        Op::Read,
        at.source,
        schema.db_mp.bytes(),
        schema.table_mp.bytes(),
        chunk.read_ms,
        at.produced_ms,
    );
    let table = batch.table_id(&schema.name);
    let topic = batch.topic_id(&plan.topic);
    let ncols = schema.columns.len();
    let shown: Vec<usize> = (0..ncols).filter(|&c| plan.emits(c)).collect();
    let every_column = shown.len() == ncols;
    // The reader built each row's key from the primary key.
    let primary_key = plan.key == schema.primary_key;
    let rows = &chunk.rows;
    let mut n = 0;
    for r in (0..rows.rows).filter(|&r| merge.keep[r]) {
        let out = &mut batch.buf;
        let start = out.len();
        frame.open(out);
        write_map_header(out, shown.len());
        if every_column {
            out.extend_from_slice(rows.body(ncols, r));
        } else {
            for &c in &shown {
                extend_short(out, rows.pair(ncols, r, c));
            }
        }
        write_before_key(out);
        write_nil(out);
        frame.close(out, at.first_row + n);
        let value = start..out.len();
        let key = (!plan.key.is_empty()).then(|| {
            let k = out.len();
            if primary_key {
                extend_short(out, rows.key(r));
            } else {
                write_map_header(out, plan.key.len());
                for &c in &plan.key {
                    extend_short(out, rows.pair(ncols, r, c));
                }
            }
            k..out.len()
        });
        batch.records.push(Record {
            value,
            key,
            op: Op::Read,
            table,
            txn: at.txn,
            topic: Some(topic),
            dead_letter: None,
            rule: plan.rule,
        });
        n += 1;
    }
    n
}
