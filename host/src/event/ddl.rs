//! The schema-change event (see docs/FORMAT.md, "Schema changes"): its
//! value, its key, and its record in a batch.

use std::sync::Arc;

use super::batch::TableName;
use super::layout::{self, field, SourceTxn};
use super::msgpack::*;
use super::{Batch, Op, TxnId};

/// What a schema-change event says.
pub(crate) struct DdlEvent<'a> {
    /// e.g. `"ALTER TABLE"`.
    pub kind: &'a str,
    pub db: &'a str,
    pub table: Option<&'a str>,
    pub sql: &'a str,
    /// `source` fields: server_id, file, pos, gtid, then the event timestamp.
    pub server_id: u32,
    pub file: &'a str,
    pub pos: u64,
    pub gtid: Option<&'a str>,
    pub event_ts_ms: u64,
    pub produced_ms: u64,
}

impl DdlEvent<'_> {
    /// Writes the event's value.
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        layout::write_ddl_head(out, self.kind, self.db, self.table, self.sql);
        let txn = SourceTxn::new(self.server_id, self.file, self.pos, self.gtid);
        let mut table = Vec::new();
        match self.table {
            Some(t) => write_str(&mut table, t),
            None => write_nil(&mut table),
        }
        layout::write_source(out, &txn, PreEncoded::str(self.db).bytes(), &table);
        // A schema change is a transaction of its own: the first change in it.
        write_uint(out, 0);
        layout::write_tail(out, self.event_ts_ms, self.produced_ms);
    }

    /// Writes the event's key, `{"db": <database>}`, so the changes of one
    /// database stay in order.
    pub(crate) fn write_key(&self, out: &mut Vec<u8>) {
        write_map_header(out, 1);
        write_str(out, field::DB);
        write_str(out, self.db);
    }

    /// Appends the event to `batch` as a record of transaction `txn` for
    /// `topic`.
    pub(crate) fn push(&self, batch: &mut Batch, topic: &Arc<str>, txn: TxnId) {
        let table = Arc::new(TableName {
            db: self.db.into(),
            table: self.table.unwrap_or("").into(),
        });
        batch.push_routed(
            &table,
            topic,
            txn,
            Op::Ddl,
            |out| self.write(out),
            |out| self.write_key(out),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::json::to_json;
    use crate::event::layout::RowFrame;
    use serde_json::json;

    fn ddl(table: Option<&str>) -> DdlEvent<'_> {
        DdlEvent {
            kind: "ALTER TABLE",
            db: "shop",
            table,
            sql: "ALTER TABLE users ADD x INT",
            server_id: 9,
            file: "bin.000003",
            pos: 120,
            gtid: None,
            event_ts_ms: 1000,
            produced_ms: 2000,
        }
    }

    #[test]
    fn a_schema_change_is_pushed_with_its_key_and_documented_value() {
        let mut batch = Batch::default();
        batch.buf.extend_from_slice(b"earlier");
        let topic: Arc<str> = Arc::from("__ddl");
        ddl(Some("users")).push(&mut batch, &topic, TxnId(4));
        let r = &batch.records[0];
        assert_eq!((r.op, r.txn, r.rule), (Op::Ddl, TxnId(4), None));
        assert_eq!(batch.topic(r), Some("__ddl"));
        assert_eq!(&*batch.table(r).table, "users");
        let value = to_json(&rmpv::decode::read_value(&mut batch.value(r)).unwrap());
        assert_eq!(
            value,
            json!({"v": 1, "op": "ddl", "kind": "ALTER TABLE", "db": "shop", "table": "users",
                   "sql": "ALTER TABLE users ADD x INT",
                   "source": {"server_id": 9, "file": "bin.000003", "pos": 120, "gtid": null,
                              "db": "shop", "table": "users", "row": 0, "ts_ms": 1000},
                   "ts_ms": 2000})
        );
        let key = batch.key(r).unwrap();
        assert_eq!(key, [0x81, 0xa2, b'd', b'b', 0xa4, b's', b'h', b'o', b'p']);
    }

    #[test]
    fn a_schema_change_has_the_source_map_of_a_row_event() {
        let e = ddl(None);
        let mut out = Vec::new();
        e.write(&mut out);
        let v = rmpv::decode::read_value(&mut &out[..]).unwrap();
        let mut source = Vec::new();
        rmpv::encode::write_value(&mut source, &v["source"]).unwrap();

        let txn = SourceTxn::new(e.server_id, e.file, e.pos, e.gtid);
        let mut frame = RowFrame::default();
        frame.set(
            Op::Create,
            &txn,
            PreEncoded::str("shop").bytes(),
            &[0xc0],
            1000,
            2000,
        );
        let mut row = Vec::new();
        frame.open(&mut row);
        write_nil(&mut row);
        layout::write_before_key(&mut row);
        write_nil(&mut row);
        frame.close(&mut row, 0);
        let rv = rmpv::decode::read_value(&mut &row[..]).unwrap();
        let mut row_source = Vec::new();
        rmpv::encode::write_value(&mut row_source, &rv["source"]).unwrap();
        assert_eq!(source, row_source);
        assert_eq!(v["table"], rmpv::Value::Nil);
    }
}
