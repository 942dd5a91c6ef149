//! The event value's layout (docs/FORMAT.md "Value" and "Schema changes",
//! version 1): every field name, and the order the fields are written in, in
//! one place. The decoder writes row events and [`super::ddl`] writes
//! schema-change events with these pieces; neither spells a field itself.
//!
//! A row event is written in pieces because the decoder turns millions of
//! rows a second into events: what every row of a transaction or of a rows
//! event shares is encoded once ([`SourceTxn`], [`RowFrame`]) and copied per
//! row.
//!
//! ```text
//! row event:    {v, op, after, before, source, ts_ms}
//! ddl event:    {v, op, kind, db, table, sql, source, ts_ms}
//! source:       {server_id, file, pos, gtid, db, table, row, ts_ms}
//! ```

use super::msgpack::*;
use super::{Op, FORMAT_VERSION};

/// Field names, as written.
pub(crate) mod field {
    pub(crate) const V: &str = "v";
    pub(crate) const OP: &str = "op";
    pub(crate) const AFTER: &str = "after";
    pub(crate) const BEFORE: &str = "before";
    pub(crate) const SOURCE: &str = "source";
    pub(crate) const TS_MS: &str = "ts_ms";
    /// Schema changes: the statement's kind and text.
    pub(crate) const KIND: &str = "kind";
    pub(crate) const SQL: &str = "sql";
    /// In `source`, and in schema changes and their key.
    pub(crate) const DB: &str = "db";
    pub(crate) const TABLE: &str = "table";
    /// `source` only.
    pub(crate) const SERVER_ID: &str = "server_id";
    pub(crate) const FILE: &str = "file";
    pub(crate) const POS: &str = "pos";
    pub(crate) const GTID: &str = "gtid";
    pub(crate) const ROW: &str = "row";
    /// `source` of snapshot rows only.
    pub(crate) const SNAPSHOT: &str = "snapshot";
}

/// Fields of a row event, of a schema-change event and of `source`.
const ROW_FIELDS: usize = 6;
const DDL_FIELDS: usize = 8;
const SOURCE_FIELDS: usize = 8;

/// Writes the fields every event starts with: the map header (of `fields`
/// fields), `v` and `op`.
fn write_head(out: &mut Vec<u8>, fields: usize, op: Op) {
    write_map_header(out, fields);
    write_str(out, field::V);
    write_uint(out, FORMAT_VERSION);
    write_str(out, field::OP);
    write_str(out, op.code());
}

/// Writes a schema-change event's fields up to `source` (see
/// [`super::ddl::DdlEvent`]); [`write_source`] and [`write_tail`] follow.
pub(crate) fn write_ddl_head(
    out: &mut Vec<u8>,
    kind: &str,
    db: &str,
    table: Option<&str>,
    sql: &str,
) {
    write_head(out, DDL_FIELDS, Op::Ddl);
    write_str(out, field::KIND);
    write_str(out, kind);
    write_str(out, field::DB);
    write_str(out, db);
    write_str(out, field::TABLE);
    write_opt_str(out, table);
    write_str(out, field::SQL);
    write_str(out, sql);
}

fn write_opt_str(out: &mut Vec<u8>, s: Option<&str>) {
    match s {
        Some(s) => write_str(out, s),
        None => write_nil(out),
    }
}

/// The fields of `source` that identify the transaction (`server_id`,
/// `file`, `pos`, `gtid`), after the map's header: the same for every event
/// of the transaction, so they are encoded once per transaction.
#[derive(Clone, Debug)]
pub(crate) struct SourceTxn(Vec<u8>);

impl SourceTxn {
    /// `file` and `pos` are where the transaction starts.
    pub(crate) fn new(server_id: u32, file: &str, pos: u64, gtid: Option<&str>) -> Self {
        let mut b = Self::head(SOURCE_FIELDS, server_id, file, pos);
        write_opt_str(&mut b, gtid);
        SourceTxn(b)
    }

    /// The `source` fields of snapshot rows merged into the stream at
    /// `file`:`pos` (FORMAT.md, "Snapshot rows"): no GTID, and `snapshot`
    /// true, which streamed changes do not have.
    pub(crate) fn snapshot(server_id: u32, file: &str, pos: u64) -> Self {
        let mut b = Self::head(SOURCE_FIELDS + 1, server_id, file, pos);
        write_nil(&mut b);
        write_str(&mut b, field::SNAPSHOT);
        write_bool(&mut b, true);
        SourceTxn(b)
    }

    /// The map header of `fields` fields and the fields up to the GTID's
    /// value, which the caller writes.
    fn head(fields: usize, server_id: u32, file: &str, pos: u64) -> Vec<u8> {
        let mut b = Vec::with_capacity(80 + file.len());
        write_map_header(&mut b, fields);
        write_str(&mut b, field::SERVER_ID);
        write_uint(&mut b, server_id as u64);
        write_str(&mut b, field::FILE);
        write_str(&mut b, file);
        write_str(&mut b, field::POS);
        write_uint(&mut b, pos);
        write_str(&mut b, field::GTID);
        b
    }
}

/// Writes the `source` key and the `source` map up to the value of its `row`
/// field: the transaction's fields, then `db` and `table`, given already
/// encoded (a str, or nil for a schema change of a database). The caller
/// writes the row's index (a uint), then [`write_tail`].
pub(crate) fn write_source(out: &mut Vec<u8>, txn: &SourceTxn, db: &[u8], table: &[u8]) {
    write_str(out, field::SOURCE);
    out.extend_from_slice(&txn.0);
    write_str(out, field::DB);
    out.extend_from_slice(db);
    write_str(out, field::TABLE);
    out.extend_from_slice(table);
    write_str(out, field::ROW);
}

/// Writes what follows `source`'s `row` value and ends every event: the
/// binlog event's timestamp (`source.ts_ms`, closing `source`), then the
/// time Sluice produced the event (the event's `ts_ms`).
pub(crate) fn write_tail(out: &mut Vec<u8>, event_ts_ms: u64, produced_ms: u64) {
    write_str(out, field::TS_MS);
    write_uint(out, event_ts_ms);
    write_str(out, field::TS_MS);
    write_uint(out, produced_ms);
}

/// Writes the `before` key, which follows the after image: `after` is
/// written ahead of `before` so readers of the new row (plugins, streaming
/// decoders) need not step over the old one (FORMAT.md).
#[inline]
pub(crate) fn write_before_key(out: &mut Vec<u8>) {
    write_str(out, field::BEFORE);
}

/// The bytes every row event of one rows event shares, encoded once per
/// rows event: the value up to the after image, `source` up to the row's
/// index, and the timestamps after it. A row event is then
/// [`RowFrame::open`], the after image, [`write_before_key`], the before
/// image, [`RowFrame::close`].
#[derive(Debug, Default)]
pub(crate) struct RowFrame {
    head: Vec<u8>,
    source: Vec<u8>,
    tail: Vec<u8>,
}

impl RowFrame {
    /// Encodes the frame for changes of kind `op` to the table `db`.`table`
    /// (both already encoded as str), made by the transaction `txn` in a
    /// binlog event written at `event_ts_ms`.
    pub(crate) fn set(
        &mut self,
        op: Op,
        txn: &SourceTxn,
        db: &[u8],
        table: &[u8],
        event_ts_ms: u64,
        produced_ms: u64,
    ) {
        self.head.clear();
        write_head(&mut self.head, ROW_FIELDS, op);
        write_str(&mut self.head, field::AFTER);
        self.source.clear();
        write_source(&mut self.source, txn, db, table);
        self.tail.clear();
        write_tail(&mut self.tail, event_ts_ms, produced_ms);
    }

    /// Starts a row event: everything up to the after image.
    #[inline]
    pub(crate) fn open(&self, out: &mut Vec<u8>) {
        extend_short(out, &self.head);
    }

    /// Ends a row event after its images: `source` with the row's index
    /// within its transaction, and the timestamps.
    #[inline]
    pub(crate) fn close(&self, out: &mut Vec<u8>, row: u64) {
        out.extend_from_slice(&self.source);
        write_uint(out, row);
        extend_short(out, &self.tail);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rmpv::Value;

    fn read(b: &[u8]) -> Value {
        let mut r = b;
        let v = rmpv::decode::read_value(&mut r).unwrap();
        assert!(r.is_empty(), "one value, nothing after it");
        v
    }

    fn keys(v: &Value) -> Vec<&str> {
        v.as_map()
            .unwrap()
            .iter()
            .map(|(k, _)| k.as_str().unwrap())
            .collect()
    }

    fn get<'a>(v: &'a Value, key: &str) -> &'a Value {
        let m = v.as_map().unwrap();
        &m.iter().find(|(k, _)| k.as_str() == Some(key)).unwrap().1
    }

    #[test]
    fn a_row_event_has_the_documented_fields_in_order() {
        let txn = SourceTxn::new(7, "bin.000002", 1234, Some("0-1-9"));
        let mut frame = RowFrame::default();
        let (db, table) = (PreEncoded::str("shop"), PreEncoded::str("users"));
        frame.set(Op::Update, &txn, db.bytes(), table.bytes(), 5000, 6000);
        let mut out = Vec::new();
        frame.open(&mut out);
        write_map_header(&mut out, 0);
        write_before_key(&mut out);
        write_nil(&mut out);
        frame.close(&mut out, 3);
        let v = read(&out);
        assert_eq!(keys(&v), ["v", "op", "after", "before", "source", "ts_ms"]);
        assert_eq!(get(&v, "v").as_u64(), Some(FORMAT_VERSION));
        assert_eq!(get(&v, "op").as_str(), Some("u"));
        assert_eq!(get(&v, "ts_ms").as_u64(), Some(6000));
        let source = get(&v, "source");
        assert_eq!(
            keys(source),
            [
                "server_id",
                "file",
                "pos",
                "gtid",
                "db",
                "table",
                "row",
                "ts_ms"
            ]
        );
        assert_eq!(get(source, "server_id").as_u64(), Some(7));
        assert_eq!(get(source, "file").as_str(), Some("bin.000002"));
        assert_eq!(get(source, "pos").as_u64(), Some(1234));
        assert_eq!(get(source, "gtid").as_str(), Some("0-1-9"));
        assert_eq!(get(source, "db").as_str(), Some("shop"));
        assert_eq!(get(source, "table").as_str(), Some("users"));
        assert_eq!(get(source, "row").as_u64(), Some(3));
        assert_eq!(get(source, "ts_ms").as_u64(), Some(5000));
    }

    #[test]
    fn a_frame_set_again_forgets_the_previous_rows_event() {
        let txn = SourceTxn::new(1, "f", 4, None);
        let mut frame = RowFrame::default();
        frame.set(Op::Create, &txn, &[0xa1, b'a'], &[0xa1, b'b'], 1, 2);
        frame.set(Op::Delete, &txn, &[0xa1, b'c'], &[0xa1, b'd'], 3, 4);
        let mut out = Vec::new();
        frame.open(&mut out);
        write_nil(&mut out);
        write_before_key(&mut out);
        write_nil(&mut out);
        frame.close(&mut out, 0);
        let v = read(&out);
        assert_eq!(get(&v, "op").as_str(), Some("d"));
        assert_eq!(get(get(&v, "source"), "db").as_str(), Some("c"));
        assert_eq!(get(get(&v, "source"), "gtid"), &Value::Nil);
        assert_eq!(get(&v, "ts_ms").as_u64(), Some(4));
    }
}
