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
    batch.set_columns(table, schema.column_types());
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
            key_header: None,
        });
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use mysql_async::Value;
    use mysql_common::constants::ColumnType;
    use mysql_common::packets::Column as Wire;
    use mysql_common::row::new_row;
    use rmpv::Value as V;

    use super::*;
    use crate::decode::charset::Charset;
    use crate::decode::schema::{Column, ColumnKind, TableSchema};
    use crate::event::batch::TableName;
    use crate::event::msgpack::PreEncoded;
    use crate::event::Position;
    use crate::snapshot::chunk::{add_row, ChunkRows};
    use crate::snapshot::columns::SnapshotTable;
    use crate::snapshot::job::ReadChunk;

    fn table() -> Arc<SnapshotTable> {
        let column = |name: &str, kind| Column {
            name: name.into(),
            name_mp: PreEncoded::str(name),
            kind,
            type_name: "",
            nullable: true,
        };
        let int = || ColumnKind::Int {
            bytes: 4,
            unsigned: false,
        };
        let text = ColumnKind::VarString {
            len_bytes: 1,
            charset: Charset::Utf8,
        };
        let schema = TableSchema {
            table_id: 1 << 62,
            name: Arc::new(TableName {
                db: "shop".into(),
                table: "t".into(),
            }),
            db_mp: PreEncoded::str("shop"),
            table_mp: PreEncoded::str("t"),
            columns: vec![
                column("id", int()),
                column("note", text),
                column("n", int()),
            ],
            primary_key: vec![0],
            has_names: true,
            types: Default::default(),
        };
        Arc::new(SnapshotTable {
            schema: Arc::new(schema),
            select_list: String::new(),
            key_order: String::new(),
        })
    }

    /// Rows (id, note, n) as the reader converts them, then as `plan`
    /// writes them: (after map, key map) per row kept.
    fn emitted(rows: &[(i64, &str, i64)], keep: Vec<bool>, plan: &TablePlan) -> Vec<(V, V)> {
        let t = table();
        let wire: Arc<[Wire]> = Arc::from(vec![Wire::new(ColumnType::MYSQL_TYPE_LONG); 3]);
        let mut chunk = ChunkRows::default();
        chunk.begin(&t.schema);
        for &(id, note, n) in rows {
            let values = vec![Value::Int(id), Value::Bytes(note.into()), Value::Int(n)];
            add_row(&t, &new_row(values, wire.clone()), &mut chunk).unwrap();
        }
        let merge = Merge {
            chunk: Box::new(ReadChunk {
                table: t,
                rows: chunk,
                high: Position::new("mysql-bin.000001", 4),
                read_ms: 1,
            }),
            keep,
        };
        let source = SourceTxn::snapshot(1, "mysql-bin.000001", 3);
        let at = Placement {
            plan,
            source: &source,
            first_row: 0,
            txn: TxnId(0),
            produced_ms: 2,
        };
        let mut batch = Batch::default();
        let n = write_rows(&merge, &at, &mut batch);
        assert_eq!(n as usize, batch.records.len());
        let read = |b: &[u8]| rmpv::decode::read_value(&mut &b[..]).unwrap();
        batch
            .records
            .iter()
            .map(|r| {
                let v = read(batch.value(r));
                let after = v["after"].clone();
                assert_eq!(v["op"].as_str(), Some("r"));
                (after, batch.key(r).map_or(V::Nil, read))
            })
            .collect()
    }

    fn map(entries: &[(&str, V)]) -> V {
        V::Map(
            entries
                .iter()
                .map(|(k, v)| ((*k).into(), v.clone()))
                .collect(),
        )
    }

    #[test]
    fn every_column_and_the_primary_key_as_whole_copies() {
        let plan = TablePlan::everything(&table().schema);
        let rows = [(1, "a", 10), (2, "b é", -5), (3, "", 0)];
        let got = emitted(&rows, vec![true, false, true], &plan);
        let want = |id: i64, note: &str, n: i64| {
            let after = map(&[("id", id.into()), ("note", note.into()), ("n", n.into())]);
            (after, map(&[("id", id.into())]))
        };
        assert_eq!(got, [want(1, "a", 10), want(3, "", 0)]);
    }

    #[test]
    fn some_columns_and_another_key_pair_by_pair() {
        let plan = TablePlan {
            key: vec![2, 0],
            emit: Some(vec![true, false, true]),
            ..TablePlan::everything(&table().schema)
        };
        let got = emitted(&[(7, "hidden", 70)], vec![true], &plan);
        let after = map(&[("id", 7.into()), ("n", 70.into())]);
        let key = map(&[("n", 70.into()), ("id", 7.into())]);
        assert_eq!(got, [(after, key)]);
        let unkeyed = TablePlan {
            key: vec![],
            ..TablePlan::everything(&table().schema)
        };
        assert_eq!(emitted(&[(7, "x", 70)], vec![true], &unkeyed)[0].1, V::Nil);
    }
}
