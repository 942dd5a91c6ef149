//! Binlog rows -> change events.
//!
//! The decoder turns table maps into [`schema::TableSchema`]s (once per
//! table, cached) and rows events into MessagePack events written straight
//! into a [`Batch`]. It knows nothing of Kafka, plugins or checkpoints: the
//! caller tells it which transaction a row belongs to and which tables to
//! skip.

pub(crate) mod charset;
pub(crate) mod cursor;
pub(crate) mod decimal;
mod digits;
mod error;
mod image;
pub(crate) mod json;
mod keys;
pub(crate) mod plan;
mod row;
pub(crate) mod schema;
pub(crate) mod temporal;
pub(crate) mod value;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use mysql_common::binlog::consts::EventType;
use mysql_common::binlog::events::{Event, RowsEventData, TableMapEvent};

pub(crate) use charset::CharsetMap;
pub(crate) use error::DecodeError;
pub(crate) use plan::TablePlan;
use schema::{SchemaCache, TableSchema};

use crate::event::batch::NameId;
use crate::event::layout::{RowFrame, SourceTxn};
use crate::event::{Batch, Op, Position, Record, TxnId};
use cursor::Cursor;
use row::{RowImages, RowsEvent};

/// The transaction rows are being decoded for: its identity goes into every
/// event's `source` map.
pub struct TxnSource {
    /// Transaction number from the checkpoint tracker.
    pub txn: TxnId,
    /// `source`'s fields that identify the transaction, already encoded.
    source: SourceTxn,
    /// Index of the next change within the transaction.
    pub next_row: u64,
}

impl TxnSource {
    pub fn new(txn: TxnId, server_id: u32, start: &Position, gtid: Option<&str>) -> Self {
        TxnSource {
            txn,
            source: SourceTxn::new(server_id, &start.file, start.pos, gtid),
            next_row: 0,
        }
    }
}

/// MariaDB's WRITE/UPDATE/DELETE_ROWS_COMPRESSED_EVENT(_V1), written when
/// `log_bin_compress=ON` for events of `log_bin_compress_min_len` bytes
/// and more.
const MARIADB_COMPRESSED_ROWS: std::ops::RangeInclusive<u8> = 166..=171;

#[derive(Default)]
pub struct Decoder {
    schemas: SchemaCache,
    charsets: CharsetMap,
    /// The bytes every row of a rows event shares, encoded once per event.
    frame: RowFrame,
    /// Writes each row change's images; scratch kept for its allocations.
    images: RowImages,
}

impl Decoder {
    pub fn new(charsets: CharsetMap) -> Self {
        Decoder {
            charsets,
            ..Default::default()
        }
    }

    /// Records a TABLE_MAP event and returns the table's schema.
    pub fn table_map(&mut self, ev: &Event) -> Result<Arc<TableSchema>, DecodeError> {
        let tme: TableMapEvent<'_> = ev
            .read_event()
            .map_err(|e| DecodeError::malformed(format!("table map event is malformed: {e}")))?;
        self.schemas
            .insert(ev.data(), &tme, &self.charsets, schema::Flavor::of(ev))
    }

    /// Forgets all table maps (a new binlog file reuses table ids).
    pub fn reset_tables(&mut self) {
        self.schemas.clear();
    }

    pub fn schema(&self, table_id: u64) -> Option<&Arc<TableSchema>> {
        self.schemas.get(table_id)
    }

    /// Whether an event is a rows event this decoder handles.
    pub fn is_rows_event(event_type: u8) -> bool {
        use EventType::*;
        [
            WRITE_ROWS_EVENT,
            UPDATE_ROWS_EVENT,
            DELETE_ROWS_EVENT,
            WRITE_ROWS_EVENT_V1,
            UPDATE_ROWS_EVENT_V1,
            DELETE_ROWS_EVENT_V1,
            PARTIAL_UPDATE_ROWS_EVENT,
        ]
        .iter()
        .any(|t| *t as u8 == event_type)
            || MARIADB_COMPRESSED_ROWS.contains(&event_type)
    }

    /// Decodes every row of a rows event into `batch`, one event per row
    /// change, as the table's plan says. Rows the plan does not capture are
    /// skipped but still counted in `txn.next_row`, so a row's index does
    /// not depend on the rules in force.
    pub fn rows(
        &mut self,
        ev: &Event,
        txn: &mut TxnSource,
        produced_ms: u64,
        batch: &mut Batch,
        plan_for: &mut dyn FnMut(&Arc<TableSchema>) -> Arc<TablePlan>,
    ) -> Result<usize, DecodeError> {
        let data = read_rows(ev)?;
        let schema = self.schema_of(&data)?;
        self.images.start(&schema, &data)?;
        let plan = plan_for(&schema);
        let rows = RowsEvent::new(&schema, &plan, &data);
        let event_ts_ms = ev.header().timestamp() as u64 * 1000;
        let (db, table) = (schema.db_mp.bytes(), schema.table_mp.bytes());
        self.frame
            .set(rows.op, &txn.source, db, table, event_ts_ms, produced_ms);
        let target = rows.included().then(|| Target::new(&rows, batch));
        let mut c = Cursor::new(data.rows_data());
        // Partial updates only: the before image's JSON documents, by column.
        let mut json_before: Vec<Option<&[u8]>> = Vec::new();
        let mut n = 0;
        while c.remaining() > 0 {
            let row = txn.next_row;
            txn.next_row += 1;
            let start = batch.buf.len();
            self.row(&rows, &mut c, &mut json_before, &mut batch.buf, row)?;
            let value = start..batch.buf.len();
            let Some(target) = &target else {
                batch.buf.truncate(start);
                continue;
            };
            let key = self.images.write_key(&schema, &plan.key, &mut batch.buf);
            target.push(batch, value, key, txn.txn);
            n += 1;
        }
        Ok(n)
    }

    /// Writes one row change's event: the frame around its images.
    #[inline]
    fn row<'r>(
        &mut self,
        rows: &RowsEvent<'_>,
        c: &mut Cursor<'r>,
        json_before: &mut Vec<Option<&'r [u8]>>,
        out: &mut Vec<u8>,
        row: u64,
    ) -> Result<(), DecodeError> {
        let row_at = c.pos;
        self.frame.open(out);
        self.images.write(rows, c, json_before, out)?;
        if c.pos == row_at {
            // Images of no columns take no bytes: the rest of the event
            // would be read as endless empty rows.
            return Err(rows
                .malformed("rows event has bytes after its rows but its images have no columns"));
        }
        self.frame.close(out, row);
        Ok(())
    }

    /// The schema of the rows event's table, which must have as many
    /// columns as the event.
    fn schema_of(&self, data: &RowsEventData<'_>) -> Result<Arc<TableSchema>, DecodeError> {
        let schema = self
            .schemas
            .get(data.table_id())
            .ok_or(DecodeError::MissingTableMap {
                table_id: data.table_id(),
                position: None,
            })?;
        let ncols = schema.columns.len();
        if data.num_columns() as usize != ncols {
            return Err(DecodeError::malformed(format!(
                "{}.{}: rows event has {} columns, its table map {}",
                schema.name.db,
                schema.name.table,
                data.num_columns(),
                ncols
            )));
        }
        Ok(schema.clone())
    }
}

/// Reads a rows event's data.
fn read_rows(ev: &Event) -> Result<RowsEventData<'_>, DecodeError> {
    if MARIADB_COMPRESSED_ROWS.contains(&ev.header().event_type_raw()) {
        // Skipping them would lose the rows without a trace.
        return Err(DecodeError::malformed(
            "MariaDB compressed rows events (log_bin_compress=ON) are not decoded; \
             set log_bin_compress=OFF on the server and restart Sluice from a position \
             before this event",
        ));
    }
    match ev.read_data() {
        Ok(Some(mysql_common::binlog::events::EventData::RowsEvent(r))) => Ok(r),
        Ok(_) => Err(DecodeError::malformed("not a rows event")),
        Err(e) => Err(DecodeError::malformed(format!(
            "rows event is malformed: {e}"
        ))),
    }
}

/// Where the events of a captured table go, and how.
struct Target {
    /// The table and topic, by their ids in the batch.
    table: NameId,
    topic: NameId,
    rule: Option<usize>,
    op: Op,
    /// Deletes are followed by a tombstone (same key, null value).
    tombstones: bool,
}

impl Target {
    fn new(rows: &RowsEvent<'_>, batch: &mut Batch) -> Self {
        let table = batch.table_id(&rows.schema.name);
        batch.set_columns(table, rows.schema.column_types());
        Target {
            table,
            topic: batch.topic_id(&rows.plan.topic),
            rule: rows.plan.rule,
            op: rows.op,
            tombstones: rows.plan.tombstones,
        }
    }

    /// Adds the record of an event written at `value`, and its tombstone
    /// if it has one.
    #[inline]
    fn push(
        &self,
        batch: &mut Batch,
        value: std::ops::Range<usize>,
        key: Option<std::ops::Range<usize>>,
        txn: TxnId,
    ) {
        let tombstone = self.op == Op::Delete && self.tombstones && key.is_some();
        batch
            .records
            .push(self.record(value.clone(), key.clone(), txn));
        if tombstone {
            batch
                .records
                .push(self.record(value.end..value.end, key, txn));
        }
    }

    #[inline]
    fn record(
        &self,
        value: std::ops::Range<usize>,
        key: Option<std::ops::Range<usize>>,
        txn: TxnId,
    ) -> Record {
        Record {
            value,
            key,
            op: self.op,
            table: self.table,
            txn,
            topic: Some(self.topic),
            dead_letter: None,
            rule: self.rule,
            key_header: None,
        }
    }
}
