//! Heartbeats and transaction markers (docs/FORMAT.md): what the pipeline
//! adds to a batch besides the changes. Transaction markers are framed
//! after the plugins ran, so END counts what was produced; they are records
//! of their transaction, so the tracker counts them like its changes and the
//! transaction is done only once its markers are acknowledged too.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::event::marker::{Heartbeat, SourcePoint, Status, TableCount, TxnMarker};
use crate::event::{Batch, Op, Position, Record, TxnId};

/// A binlog transaction that may get markers.
struct Txn {
    start: Position,
    gtid: Option<String>,
    ts_ms: u64,
    /// BEGIN was added: the transaction produced a change.
    begun: bool,
    tables: Vec<TableCount>,
}

impl Txn {
    fn source(&self, server_id: u32) -> SourcePoint<'_> {
        SourcePoint {
            server_id,
            file: &self.start.file,
            pos: self.start.pos,
            gtid: self.gtid.as_deref(),
            ts_ms: self.ts_ms,
        }
    }
}

pub(super) struct Markers {
    server_id: u32,
    /// Topic and interval.
    heartbeat: Option<(Arc<str>, Duration)>,
    last_heartbeat: Option<Instant>,
    transactions: Option<Arc<str>>,
    /// Transactions registered and not yet ended through a batch.
    txns: BTreeMap<TxnId, Txn>,
    /// The GTID of the last transaction read.
    last_gtid: Option<String>,
    /// The server's timestamp of the last event that had one (its
    /// heartbeats carry none), in milliseconds.
    source_ts_ms: u64,
}

impl Markers {
    pub(super) fn new(
        server_id: u32,
        heartbeat: Option<(Arc<str>, Duration)>,
        transactions: Option<Arc<str>>,
    ) -> Self {
        Markers {
            server_id,
            heartbeat,
            last_heartbeat: None,
            transactions,
            txns: BTreeMap::new(),
            last_gtid: None,
            source_ts_ms: 0,
        }
    }

    /// An event with the server's timestamp `secs` was read.
    #[inline]
    pub(super) fn saw(&mut self, secs: u32) {
        if secs != 0 {
            self.source_ts_ms = secs as u64 * 1000;
        }
    }

    /// A binlog transaction `id` begins at `start`.
    pub(super) fn begin(&mut self, id: TxnId, start: &Position, gtid: Option<&str>) {
        // Only heartbeats report it: no allocation per transaction otherwise.
        if gtid.is_some() && self.heartbeat.is_some() {
            self.last_gtid = gtid.map(str::to_string);
        }
        if self.transactions.is_some() {
            self.txns.insert(
                id,
                Txn {
                    start: start.clone(),
                    gtid: gtid.map(str::to_string),
                    ts_ms: self.source_ts_ms,
                    begun: false,
                    tables: Vec::new(),
                },
            );
        }
    }

    /// Adds BEGIN before the first change of each transaction and END
    /// after the last change of each transaction in `ended`, to a batch
    /// the plugins already ran over. A transaction without a change gets
    /// neither.
    pub(super) fn frame(&mut self, batch: &mut Batch, ended: &[(TxnId, Position)], now_ms: u64) {
        let Some(topic) = self.transactions.clone() else {
            return;
        };
        if self.txns.is_empty() {
            return;
        }
        let records = std::mem::take(&mut batch.records);
        batch.records.reserve(records.len() + 2);
        let mut ends = ended.iter().map(|(id, _)| *id).peekable();
        let mut current = None;
        for r in records {
            if current != Some(r.txn) {
                // Transactions end in the order they were read: those
                // before this record's end before it.
                if let Some(c) = current {
                    if ends.next_if(|e| *e == c).is_some() {
                        self.end(batch, &topic, c, now_ms);
                    }
                }
                while let Some(e) = ends.next_if(|e| *e < r.txn) {
                    self.end(batch, &topic, e, now_ms);
                }
                current = Some(r.txn);
            }
            if counted(&r) {
                if let Some(t) = self.txns.get_mut(&r.txn) {
                    if !t.begun {
                        t.begun = true;
                        TxnMarker {
                            source: t.source(self.server_id),
                            status: Status::Begin,
                            produced_ms: now_ms,
                        }
                        .push(batch, &topic, r.txn);
                    }
                    let table = batch.table_name(&r);
                    match t.tables.iter_mut().rev().find(|c| c.table == *table) {
                        Some(c) => c.events += 1,
                        None => t.tables.push(TableCount {
                            table: table.clone(),
                            events: 1,
                        }),
                    }
                }
            }
            batch.records.push(r);
        }
        for e in ends {
            self.end(batch, &topic, e, now_ms);
        }
    }

    fn end(&mut self, batch: &mut Batch, topic: &Arc<str>, id: TxnId, now_ms: u64) {
        let Some(t) = self.txns.remove(&id) else {
            return;
        };
        if t.begun {
            TxnMarker {
                source: t.source(self.server_id),
                status: Status::End { tables: &t.tables },
                produced_ms: now_ms,
            }
            .push(batch, topic, id);
        }
    }

    /// Whether a heartbeat is due.
    pub(super) fn heartbeat_due(&self) -> bool {
        match (&self.heartbeat, self.last_heartbeat) {
            (None, _) => false,
            (Some(_), None) => true,
            (Some((_, every)), Some(last)) => last.elapsed() >= *every,
        }
    }

    /// Adds a heartbeat saying Sluice has read up to `at`, as message `txn`.
    pub(super) fn heartbeat(&mut self, batch: &mut Batch, txn: TxnId, at: &Position, now_ms: u64) {
        let Some((topic, _)) = &self.heartbeat else {
            return;
        };
        self.last_heartbeat = Some(Instant::now());
        Heartbeat {
            source: SourcePoint {
                server_id: self.server_id,
                file: &at.file,
                pos: at.pos,
                gtid: self.last_gtid.as_deref(),
                ts_ms: self.source_ts_ms,
            },
            produced_ms: now_ms,
        }
        .push(batch, topic, txn);
    }
}

/// Whether a record counts as a change of its transaction: a row event on
/// its table's topic (not a schema change, a tombstone, or an event the
/// dead-letter topic took).
fn counted(r: &Record) -> bool {
    matches!(r.op, Op::Create | Op::Update | Op::Delete | Op::Read)
        && !r.value.is_empty()
        && r.dead_letter.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::event::batch::TableName;
    use crate::event::json::msgpack_to_json;
    use serde_json::{json, Value};

    fn row(batch: &mut Batch, txn: u64, table: &Arc<TableName>, op: Op, value: &[u8]) {
        let at = batch.buf.len();
        batch.buf.extend_from_slice(value);
        let table = batch.table_id(table);
        let topic = batch.topic_id(&Arc::from("rows"));
        batch.records.push(Record {
            value: at..batch.buf.len(),
            key: None,
            op,
            table,
            txn: TxnId(txn),
            topic: Some(topic),
            dead_letter: None,
            rule: Some(0),
            key_header: None,
        });
    }

    fn t(name: &str) -> Arc<TableName> {
        Arc::new(TableName {
            db: "shop".into(),
            table: name.into(),
        })
    }

    /// What the batch holds, in order: `status txn` for markers, `op txn`
    /// for changes; and the END records' counts.
    fn seen(batch: &Batch) -> (Vec<String>, Vec<Value>) {
        let mut order = Vec::new();
        let mut ends = Vec::new();
        for r in &batch.records {
            if r.op == Op::Transaction {
                let v = msgpack_to_json(batch.value(r));
                order.push(format!("{} {}", v["status"].as_str().unwrap(), r.txn.0));
                if v["status"] == "END" {
                    ends.push(json!([v["event_count"], v["data_collections"]]));
                }
            } else {
                order.push(format!("{} {}", r.op.code(), r.txn.0));
            }
        }
        (order, ends)
    }

    fn pos(p: u64) -> Position {
        Position::new("bin.000001", p)
    }

    #[test]
    fn transactions_are_framed_across_batches_and_count_what_was_produced() {
        let mut m = Markers::new(7, None, Some(Arc::from("txns")));
        let (orders, items) = (t("orders"), t("items"));
        m.begin(TxnId(1), &pos(100), Some("0-1-5"));
        m.begin(TxnId(2), &pos(200), None);
        // A transaction whose changes a plugin dropped: no markers.
        m.begin(TxnId(3), &pos(300), None);
        m.begin(TxnId(4), &pos(400), None);
        let mut b = Batch::default();
        row(&mut b, 1, &orders, Op::Create, b"\x80");
        row(&mut b, 1, &items, Op::Create, b"\x80");
        row(&mut b, 1, &orders, Op::Update, b"\x80");
        row(&mut b, 1, &orders, Op::Delete, b""); // a tombstone
        row(&mut b, 2, &items, Op::Delete, b"\x80");
        m.frame(&mut b, &[(TxnId(1), pos(200))], 9);
        let (order, ends) = seen(&b);
        assert_eq!(
            order,
            ["BEGIN 1", "c 1", "c 1", "u 1", "d 1", "END 1", "BEGIN 2", "d 2"]
        );
        assert_eq!(
            ends,
            [
                json!([3, [{"db": "shop", "table": "orders", "event_count": 2},
                        {"db": "shop", "table": "items", "event_count": 1}]])
            ]
        );
        // The next batch: 2 goes on and ends, 3 ends with nothing produced,
        // 4 has a change and stays open.
        let mut b = Batch::default();
        row(&mut b, 2, &items, Op::Delete, b"\x80");
        row(&mut b, 4, &items, Op::Create, b"\x80");
        m.frame(&mut b, &[(TxnId(2), pos(300)), (TxnId(3), pos(400))], 9);
        let (order, ends) = seen(&b);
        assert_eq!(order, ["d 2", "END 2", "BEGIN 4", "c 4"]);
        assert_eq!(
            ends,
            [json!([2, [{"db": "shop", "table": "items", "event_count": 2}]])]
        );
        // 4 ends in a batch of its own, after its changes went earlier.
        let mut b = Batch::default();
        m.frame(&mut b, &[(TxnId(4), pos(500))], 9);
        assert_eq!(seen(&b).0, ["END 4"]);
        assert!(m.txns.is_empty());
    }

    #[test]
    fn begin_carries_the_identity_of_the_changes() {
        let mut m = Markers::new(7, None, Some(Arc::from("txns")));
        m.saw(1_700_000_000);
        m.begin(TxnId(1), &pos(100), Some("0-1-5"));
        let mut b = Batch::default();
        row(&mut b, 1, &t("orders"), Op::Create, b"\x80");
        m.frame(&mut b, &[], 9);
        let v = msgpack_to_json(b.value(&b.records[0]));
        assert_eq!(v["id"], "bin.000001:100");
        assert_eq!(
            v["source"],
            json!({"server_id": 7, "file": "bin.000001", "pos": 100, "gtid": "0-1-5",
                   "ts_ms": 1_700_000_000_000u64})
        );
        assert_eq!(b.topic(&b.records[0]), Some("txns"));
    }

    #[test]
    fn without_a_transaction_topic_batches_are_left_alone() {
        let mut m = Markers::new(7, None, None);
        m.begin(TxnId(1), &pos(100), None);
        let mut b = Batch::default();
        row(&mut b, 1, &t("orders"), Op::Create, b"\x80");
        m.frame(&mut b, &[(TxnId(1), pos(200))], 9);
        assert_eq!(seen(&b).0, ["c 1"]);
    }

    #[test]
    fn heartbeats_come_at_the_interval_with_the_last_gtid_and_server_time() {
        let mut m = Markers::new(7, Some((Arc::from("hb"), Duration::from_secs(3600))), None);
        assert!(m.heartbeat_due(), "the first one at once");
        m.saw(1_700_000_000);
        m.saw(0); // a server heartbeat: no timestamp
        m.begin(TxnId(1), &pos(100), Some("0-1-5"));
        let mut b = Batch::default();
        m.heartbeat(&mut b, TxnId(2), &pos(200), 9);
        assert!(!m.heartbeat_due());
        let r = &b.records[0];
        assert_eq!((r.op, r.txn), (Op::Heartbeat, TxnId(2)));
        assert_eq!(
            msgpack_to_json(b.value(r))["source"],
            json!({"server_id": 7, "file": "bin.000001", "pos": 200, "gtid": "0-1-5",
                   "ts_ms": 1_700_000_000_000u64})
        );
    }
}
