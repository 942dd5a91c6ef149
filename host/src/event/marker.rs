//! Messages about the stream rather than about rows (docs/FORMAT.md,
//! "Heartbeats" and "Transaction markers"): a heartbeat saying how far
//! Sluice has read, and the BEGIN and END records framing a transaction.
//! Both are keyed by the `server_id` Sluice registered with, so a source's
//! markers stay in order in one partition and a compacted heartbeat topic
//! keeps the latest one per source.

use std::sync::Arc;

use super::batch::TableName;
use super::msgpack::*;
use super::{Batch, Op, TxnId, FORMAT_VERSION};

/// Field names, as written.
mod field {
    pub(super) const V: &str = "v";
    pub(super) const TYPE: &str = "type";
    pub(super) const STATUS: &str = "status";
    pub(super) const ID: &str = "id";
    pub(super) const SOURCE: &str = "source";
    pub(super) const SERVER_ID: &str = "server_id";
    pub(super) const FILE: &str = "file";
    pub(super) const POS: &str = "pos";
    pub(super) const GTID: &str = "gtid";
    pub(super) const TS_MS: &str = "ts_ms";
    pub(super) const EVENT_COUNT: &str = "event_count";
    pub(super) const DATA_COLLECTIONS: &str = "data_collections";
    pub(super) const DB: &str = "db";
    pub(super) const TABLE: &str = "table";
}

/// A place in the source's binlog and the server time that goes with it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct SourcePoint<'a> {
    pub server_id: u32,
    pub file: &'a str,
    pub pos: u64,
    pub gtid: Option<&'a str>,
    /// The server's timestamp (seconds precision, in milliseconds).
    pub ts_ms: u64,
}

impl SourcePoint<'_> {
    fn write(&self, out: &mut Vec<u8>) {
        write_str(out, field::SOURCE);
        write_map_header(out, 5);
        write_str(out, field::SERVER_ID);
        write_uint(out, self.server_id as u64);
        write_str(out, field::FILE);
        write_str(out, self.file);
        write_str(out, field::POS);
        write_uint(out, self.pos);
        write_str(out, field::GTID);
        match self.gtid {
            Some(g) => write_str(out, g),
            None => write_nil(out),
        }
        write_str(out, field::TS_MS);
        write_uint(out, self.ts_ms);
    }

    /// `{"server_id": <n>}`.
    fn write_key(&self, out: &mut Vec<u8>) {
        write_map_header(out, 1);
        write_str(out, field::SERVER_ID);
        write_uint(out, self.server_id as u64);
    }
}

/// How far Sluice has read: `source` is the last transaction boundary read
/// and the timestamp of the last event the server sent with one.
pub(crate) struct Heartbeat<'a> {
    pub source: SourcePoint<'a>,
    pub produced_ms: u64,
}

impl Heartbeat<'_> {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        write_head(out, 4, "heartbeat");
        self.source.write(out);
        write_str(out, field::TS_MS);
        write_uint(out, self.produced_ms);
    }

    /// Appends the heartbeat to `batch` for `topic`, acknowledged as `txn`.
    pub(crate) fn push(&self, batch: &mut Batch, topic: &Arc<str>, txn: TxnId) {
        push(
            batch,
            topic,
            txn,
            Op::Heartbeat,
            |out| self.write(out),
            &self.source,
        );
    }
}

/// Changes of one table in a transaction, as produced.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TableCount {
    pub table: Arc<TableName>,
    pub events: u64,
}

/// BEGIN, or END with what the transaction produced.
pub(crate) enum Status<'a> {
    Begin,
    End {
        /// In the order each table's first change was produced.
        tables: &'a [TableCount],
    },
}

/// A transaction's BEGIN or END record. `source` is where the transaction
/// starts (its `file` and `pos` are those of its change events' `source`),
/// with the timestamp of its first event.
pub(crate) struct TxnMarker<'a> {
    pub source: SourcePoint<'a>,
    pub status: Status<'a>,
    pub produced_ms: u64,
}

impl TxnMarker<'_> {
    pub(crate) fn write(&self, out: &mut Vec<u8>) {
        write_head(out, 8, "transaction");
        write_str(out, field::STATUS);
        write_str(
            out,
            match self.status {
                Status::Begin => "BEGIN",
                Status::End { .. } => "END",
            },
        );
        write_str(out, field::ID);
        write_str(out, &format!("{}:{}", self.source.file, self.source.pos));
        self.source.write(out);
        match self.status {
            Status::Begin => {
                write_str(out, field::EVENT_COUNT);
                write_nil(out);
                write_str(out, field::DATA_COLLECTIONS);
                write_nil(out);
            }
            Status::End { tables } => {
                write_str(out, field::EVENT_COUNT);
                write_uint(out, tables.iter().map(|t| t.events).sum());
                write_str(out, field::DATA_COLLECTIONS);
                write_array_header(out, tables.len());
                for t in tables {
                    write_map_header(out, 3);
                    write_str(out, field::DB);
                    write_str(out, &t.table.db);
                    write_str(out, field::TABLE);
                    write_str(out, &t.table.table);
                    write_str(out, field::EVENT_COUNT);
                    write_uint(out, t.events);
                }
            }
        }
        write_str(out, field::TS_MS);
        write_uint(out, self.produced_ms);
    }

    /// Appends the record to `batch` for `topic`, as a message of `txn`.
    pub(crate) fn push(&self, batch: &mut Batch, topic: &Arc<str>, txn: TxnId) {
        push(
            batch,
            topic,
            txn,
            Op::Transaction,
            |out| self.write(out),
            &self.source,
        );
    }
}

/// The map header of `fields` fields, `v` and `type`.
fn write_head(out: &mut Vec<u8>, fields: usize, kind: &str) {
    write_map_header(out, fields);
    write_str(out, field::V);
    write_uint(out, FORMAT_VERSION);
    write_str(out, field::TYPE);
    write_str(out, kind);
}

fn push(
    batch: &mut Batch,
    topic: &Arc<str>,
    txn: TxnId,
    op: Op,
    value: impl FnOnce(&mut Vec<u8>),
    source: &SourcePoint<'_>,
) {
    // Markers belong to no table: the sink writes no db or table header.
    let table = Arc::new(TableName {
        db: "".into(),
        table: "".into(),
    });
    batch.push_routed(&table, topic, txn, op, value, |out| source.write_key(out));
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::json::msgpack_to_json;
    use serde_json::json;

    fn source(gtid: Option<&str>) -> SourcePoint<'_> {
        SourcePoint {
            server_id: 9,
            file: "bin.000003",
            pos: 120,
            gtid,
            ts_ms: 1000,
        }
    }

    #[test]
    fn a_heartbeat_is_keyed_by_server_id_and_says_where_and_when() {
        let mut batch = Batch::default();
        batch.buf.extend_from_slice(b"earlier");
        Heartbeat {
            source: source(Some("0-1-7")),
            produced_ms: 2000,
        }
        .push(&mut batch, &Arc::from("hb"), TxnId(3));
        let r = &batch.records[0];
        assert_eq!((r.op, r.txn, r.rule), (Op::Heartbeat, TxnId(3), None));
        assert_eq!(batch.topic(r), Some("hb"));
        assert_eq!(
            msgpack_to_json(batch.value(r)),
            json!({"v": 1, "type": "heartbeat",
                   "source": {"server_id": 9, "file": "bin.000003", "pos": 120,
                              "gtid": "0-1-7", "ts_ms": 1000},
                   "ts_ms": 2000})
        );
        assert_eq!(
            msgpack_to_json(batch.key(r).unwrap()),
            json!({"server_id": 9})
        );
    }

    #[test]
    fn begin_and_end_carry_the_transaction_identity_and_end_the_counts() {
        let t = |db: &str, table: &str, events| TableCount {
            table: Arc::new(TableName {
                db: db.into(),
                table: table.into(),
            }),
            events,
        };
        let tables = [t("shop", "orders", 2), t("shop", "items", 3)];
        let mut batch = Batch::default();
        let topic: Arc<str> = Arc::from("txns");
        for status in [Status::Begin, Status::End { tables: &tables }] {
            TxnMarker {
                source: source(None),
                status,
                produced_ms: 2000,
            }
            .push(&mut batch, &topic, TxnId(5));
        }
        let [begin, end] = [0, 1].map(|i| msgpack_to_json(batch.value(&batch.records[i])));
        let src = json!({"server_id": 9, "file": "bin.000003", "pos": 120, "gtid": null,
                         "ts_ms": 1000});
        assert_eq!(
            begin,
            json!({"v": 1, "type": "transaction", "status": "BEGIN", "id": "bin.000003:120",
                   "source": src, "event_count": null, "data_collections": null,
                   "ts_ms": 2000})
        );
        assert_eq!(
            end,
            json!({"v": 1, "type": "transaction", "status": "END", "id": "bin.000003:120",
                   "source": src, "event_count": 5,
                   "data_collections": [
                       {"db": "shop", "table": "orders", "event_count": 2},
                       {"db": "shop", "table": "items", "event_count": 3}],
                   "ts_ms": 2000})
        );
        assert!(batch.records.iter().all(|r| r.op == Op::Transaction));
    }
}
