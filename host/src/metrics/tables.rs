//! Per-table row counters: bounded labels, and the pipeline's cache of
//! counter handles so a batch costs one lookup per table, not per row.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use prometheus_client::metrics::counter::Counter;

use super::{Metrics, TableOp};
use crate::event::batch::TableName;
use crate::event::{Batch, Op};

/// The label of tables beyond `[http] max_table_labels`.
pub(crate) const OTHER_TABLE: &str = "_other";

/// The tables that have a label of their own, with their counters; once
/// given, a label is kept (a series that vanished would look like a
/// counter reset).
#[derive(Default)]
pub(super) struct Labels {
    given: Mutex<HashMap<Arc<str>, Arc<Handles>>>,
}

impl Labels {
    /// The counters of `db.table`: its own while under `cap` tables (or
    /// once labelled), the shared [`OTHER_TABLE`] ones beyond it.
    fn handles(&self, m: &Metrics, db: &str, table: &str, cap: usize) -> Arc<Handles> {
        let name = format!("{db}.{table}");
        let mut given = self.given.lock().unwrap();
        if let Some(h) = given.get(name.as_str()) {
            return h.clone();
        }
        let own = given.keys().filter(|l| &***l != OTHER_TABLE).count();
        let label: Arc<str> = if own < cap {
            Arc::from(name)
        } else {
            Arc::from(OTHER_TABLE)
        };
        given
            .entry(label.clone())
            .or_insert_with(|| Arc::new(new_handles(m, &label)))
            .clone()
    }

    /// Rows counted so far per label, by op (c, u, d, r), sorted by label.
    pub(super) fn totals(&self) -> Vec<(String, [u64; 4])> {
        let given = self.given.lock().unwrap();
        let mut out: Vec<_> = given
            .iter()
            .map(|(l, h)| (l.to_string(), h.rows.each_ref().map(Counter::get)))
            .collect();
        out.sort();
        out
    }
}

/// The ops counted per table, in the order of the handles below.
const OPS: [(Op, &str); 4] = [
    (Op::Create, "c"),
    (Op::Update, "u"),
    (Op::Delete, "d"),
    (Op::Read, "r"),
];

fn op_index(op: Op) -> Option<usize> {
    OPS.iter().position(|(o, _)| *o == op)
}

pub(super) struct Handles {
    rows: [Counter; 4],
    bytes: [Counter; 4],
}

/// The pipeline's per-table counters: counts a batch's row events by
/// table and op, after plugins (what is produced).
#[derive(Default)]
pub(crate) struct TableCounters {
    handles: HashMap<Arc<TableName>, Arc<Handles>>,
    /// Scratch: per table of the batch, rows and bytes per op.
    counts: Vec<[(u64, u64); 4]>,
}

impl TableCounters {
    /// Counts the row events of `batch` (schema changes, markers and
    /// tombstones are not rows).
    pub(crate) fn count(&mut self, m: &Metrics, batch: &Batch) {
        if !m.per_table() {
            return;
        }
        self.counts.clear();
        self.counts.resize(batch.table_count(), [(0, 0); 4]);
        for r in &batch.records {
            if r.value.is_empty() {
                continue;
            }
            if let Some(i) = op_index(r.op) {
                let c = &mut self.counts[r.table as usize][i];
                c.0 += 1;
                c.1 += r.value.len() as u64;
            }
        }
        for (t, counts) in self.counts.iter().enumerate() {
            if counts.iter().all(|c| c.0 == 0) {
                continue;
            }
            let table = batch.table_by_id(t as u32);
            let h = self
                .handles
                .entry(table.clone())
                .or_insert_with(|| m.table_handles(&table.db, &table.table));
            for (i, (rows, bytes)) in counts.iter().enumerate() {
                if *rows > 0 {
                    h.rows[i].inc_by(*rows);
                    h.bytes[i].inc_by(*bytes);
                }
            }
        }
    }
}

fn new_handles(m: &Metrics, label: &str) -> Handles {
    let get = |family: &prometheus_client::metrics::family::Family<TableOp, Counter>, op| {
        family
            .get_or_create(&TableOp {
                table: label.to_string(),
                op,
            })
            .clone()
    };
    Handles {
        rows: OPS.map(|(_, op)| get(&m.rows, op)),
        bytes: OPS.map(|(_, op)| get(&m.row_bytes, op)),
    }
}

impl Metrics {
    /// The row counters of `db.table` (see [`Labels`]).
    pub(super) fn table_handles(&self, db: &str, table: &str) -> Arc<Handles> {
        let cap = self
            .max_table_labels
            .load(std::sync::atomic::Ordering::Relaxed) as usize;
        self.tables.handles(self, db, table, cap)
    }

    /// Rows counted per table label, by op (c, u, d, r), for `/status`.
    pub(crate) fn table_totals(&self) -> Vec<(String, [u64; 4])> {
        self.tables.totals()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tables_beyond_the_cap_share_one_label() {
        let m = Metrics::new();
        let l = Labels::default();
        l.handles(&m, "a", "t1", 2).rows[0].inc();
        l.handles(&m, "a", "t2", 2).rows[0].inc();
        l.handles(&m, "a", "t3", 2).rows[0].inc();
        l.handles(&m, "a", "t4", 2).rows[1].inc();
        // Labelled once, kept, whatever the cap says now.
        l.handles(&m, "a", "t1", 0).rows[0].inc();
        assert_eq!(
            l.totals(),
            vec![
                (OTHER_TABLE.to_string(), [1, 1, 0, 0]),
                ("a.t1".to_string(), [2, 0, 0, 0]),
                ("a.t2".to_string(), [1, 0, 0, 0]),
            ]
        );
    }
}
