//! Binlog rows -> change events.
//!
//! The decoder turns table maps into [`schema::TableSchema`]s (once per
//! table, cached) and rows events into MessagePack events written straight
//! into a [`Batch`]. It knows nothing of Kafka, plugins or checkpoints: the
//! caller tells it which transaction a row belongs to and which tables to
//! skip.

pub mod charset;
mod cursor;
pub mod decimal;
mod digits;
mod error;
mod image;
pub mod json;
pub mod plan;
pub mod schema;
pub mod temporal;
mod value;

#[cfg(test)]
mod tests;

use std::sync::Arc;

use mysql_common::binlog::consts::EventType;
use mysql_common::binlog::events::{Event, RowsEventData, TableMapEvent};

pub use charset::CharsetMap;
pub use error::DecodeError;
pub use plan::TablePlan;
use schema::{SchemaCache, TableSchema};

use crate::event::msgpack::*;
use crate::event::{Batch, Op, Position, Record, FORMAT_VERSION};
use cursor::Cursor;
use image::{partial_bits, write_key, Image, Json, Span};

/// The transaction rows are being decoded for: its identity goes into every
/// event's `source` map.
pub struct TxnSource {
    /// Transaction number from the checkpoint tracker.
    pub txn: u64,
    /// `server_id`, `file`, `pos` and `gtid` of `source`, already encoded.
    head: Vec<u8>,
    /// Index of the next change within the transaction.
    pub next_row: u64,
}

impl TxnSource {
    pub fn new(txn: u64, server_id: u32, start: &Position, gtid: Option<&str>) -> Self {
        let mut head = Vec::with_capacity(64 + start.file.len());
        write_map_header(&mut head, 8);
        write_str(&mut head, "server_id");
        write_uint(&mut head, server_id as u64);
        write_str(&mut head, "file");
        write_str(&mut head, &start.file);
        write_str(&mut head, "pos");
        write_uint(&mut head, start.pos);
        write_str(&mut head, "gtid");
        match gtid {
            Some(g) => write_str(&mut head, g),
            None => write_nil(&mut head),
        }
        TxnSource {
            txn,
            head,
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
    before_cols: Vec<usize>,
    after_cols: Vec<usize>,
    /// Where each key column's value was written (by column; other
    /// columns' entries stay `None`), so the key is copied rather than
    /// decoded twice.
    spans: Vec<Option<Span>>,
    /// Values of key columns that the plan does not emit.
    hidden: Vec<u8>,
    /// The bytes every row of a rows event shares, encoded once per event:
    /// the event up to the after image, the `source` map up to the row
    /// number, and the timestamps after it.
    row_head: Vec<u8>,
    row_source: Vec<u8>,
    row_tail: Vec<u8>,
    /// An update's before image, held while its after image is written.
    before_image: Vec<u8>,
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
        if MARIADB_COMPRESSED_ROWS.contains(&ev.header().event_type_raw()) {
            // Skipping them would lose the rows without a trace.
            return Err(DecodeError::malformed(
                "MariaDB compressed rows events (log_bin_compress=ON) are not decoded; \
                 set log_bin_compress=OFF on the server and restart Sluice from a position \
                 before this event",
            ));
        }
        let data: RowsEventData<'_> = match ev.read_data() {
            Ok(Some(mysql_common::binlog::events::EventData::RowsEvent(r))) => r,
            Ok(_) => return Err(DecodeError::malformed("not a rows event")),
            Err(e) => {
                return Err(DecodeError::malformed(format!(
                    "rows event is malformed: {e}"
                )))
            }
        };
        let op = match &data {
            RowsEventData::WriteRowsEvent(_) | RowsEventData::WriteRowsEventV1(_) => Op::Create,
            RowsEventData::UpdateRowsEvent(_) | RowsEventData::UpdateRowsEventV1(_) => Op::Update,
            RowsEventData::DeleteRowsEvent(_) | RowsEventData::DeleteRowsEventV1(_) => Op::Delete,
            // binlog_row_value_options=PARTIAL_JSON: JSON columns of the
            // after image may hold changes to the before image's document.
            RowsEventData::PartialUpdateRowsEvent(_) => Op::Update,
        };
        let partial = matches!(data, RowsEventData::PartialUpdateRowsEvent(_));
        let schema = self
            .schemas
            .get(data.table_id())
            .ok_or(DecodeError::MissingTableMap {
                table_id: data.table_id(),
                position: None,
            })?
            .clone();
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
        self.before_cols.clear();
        if let Some(bits) = data.columns_before_image() {
            self.before_cols
                .extend(bits.iter_ones().filter(|i| *i < ncols));
        }
        self.after_cols.clear();
        if let Some(bits) = data.columns_after_image() {
            self.after_cols
                .extend(bits.iter_ones().filter(|i| *i < ncols));
        }

        refuse_partial_images(&schema, &data, &self.before_cols, &self.after_cols)?;

        let plan = plan_for(&schema);
        let included = plan.capture && plan.ops.get(op.index()).copied().unwrap_or(false);
        let ts_ms = ev.header().timestamp() as u64 * 1000;
        self.row_head.clear();
        write_map_header(&mut self.row_head, 6);
        write_str(&mut self.row_head, "v");
        write_uint(&mut self.row_head, FORMAT_VERSION);
        write_str(&mut self.row_head, "op");
        write_str(&mut self.row_head, op.code());
        write_str(&mut self.row_head, "after");
        self.row_source.clear();
        write_str(&mut self.row_source, "source");
        self.row_source.extend_from_slice(&txn.head);
        write_str(&mut self.row_source, "db");
        self.row_source.extend_from_slice(schema.db_mp.bytes());
        write_str(&mut self.row_source, "table");
        self.row_source.extend_from_slice(schema.table_mp.bytes());
        write_str(&mut self.row_source, "row");
        self.row_tail.clear();
        write_str(&mut self.row_tail, "ts_ms");
        write_uint(&mut self.row_tail, ts_ms);
        write_str(&mut self.row_tail, "ts_ms");
        write_uint(&mut self.row_tail, produced_ms);
        self.spans.clear();
        self.spans.resize(ncols, None);
        let mut c = Cursor::new(data.rows_data());
        let mut n = 0;
        let (table_id, topic_id) = if included {
            (batch.table_id(&schema.name), batch.topic_id(&plan.topic))
        } else {
            (0, 0)
        };
        // Partial updates only: the before image's JSON documents, by column.
        let mut json_before: Vec<Option<&[u8]>> = Vec::new();
        let json_columns = if partial {
            schema
                .columns
                .iter()
                .filter(|c| matches!(c.kind, schema::Kind::Json { .. }))
                .count()
        } else {
            0
        };
        while c.remaining() > 0 {
            let row_at = c.pos;
            let row = txn.next_row;
            txn.next_row += 1;
            let start = batch.buf.len();
            let out = &mut batch.buf;
            extend_short(out, &self.row_head);
            // Only key columns get spans (see `Image::write`).
            for &k in &plan.key {
                self.spans[k] = None;
            }
            self.hidden.clear();
            let mut img = Image {
                schema: &schema,
                plan: &plan,
                spans: &mut self.spans,
                hidden: &mut self.hidden,
            };
            // `after` is written ahead of `before` (FORMAT.md: readers of
            // the after image, like plugins, need not step over the before
            // image), but the binlog has the before image first: an
            // update's before image goes to `before_image` until the after
            // image is written.
            self.before_image.clear();
            if op == Op::Update {
                let to = &mut self.before_image;
                if partial {
                    json_before.clear();
                    json_before.resize(ncols, None);
                    let json = Json::Capture(&mut json_before);
                    img.write(&self.before_cols, &mut c, to, false, json)?;
                } else {
                    img.write(&self.before_cols, &mut c, to, false, Json::Plain)?;
                }
            }
            if op == Op::Delete {
                write_nil(out);
                write_str(out, "before");
                img.write(&self.before_cols, &mut c, out, true, Json::Plain)?;
            } else if partial {
                let bits = partial_bits(&mut c, json_columns).map_err(|_| {
                    DecodeError::malformed(format!(
                        "{}.{}: partial update row image is truncated",
                        schema.name.db, schema.name.table
                    ))
                })?;
                let json = Json::Diffs {
                    before: &json_before,
                    bits,
                };
                img.write(&self.after_cols, &mut c, out, true, json)?;
            } else {
                img.write(&self.after_cols, &mut c, out, true, Json::Plain)?;
            }
            match op {
                Op::Create => {
                    write_str(out, "before");
                    write_nil(out);
                }
                Op::Update => {
                    write_str(out, "before");
                    out.extend_from_slice(&self.before_image);
                }
                _ => {}
            }
            if c.pos == row_at {
                // Images of no columns take no bytes: the rest of the event
                // would be read as endless empty rows.
                return Err(DecodeError::malformed(format!(
                    "{}.{}: rows event has bytes after its rows but its images have no columns",
                    schema.name.db, schema.name.table
                )));
            }
            out.extend_from_slice(&self.row_source);
            write_uint(out, row);
            extend_short(out, &self.row_tail);
            let value = start..out.len();
            if !included {
                out.truncate(start);
                continue;
            }
            let key = write_key(&schema, &plan.key, &self.spans, &self.hidden, out);
            let tombstone = op == Op::Delete && plan.tombstones && key.is_some();
            batch.records.push(Record {
                value: value.clone(),
                key: key.clone(),
                op,
                table: table_id,
                txn: txn.txn,
                topic: Some(topic_id),
                dead_letter: None,
                rule: plan.rule,
            });
            if tombstone {
                batch.records.push(Record {
                    value: value.end..value.end,
                    key,
                    op,
                    table: table_id,
                    txn: txn.txn,
                    topic: Some(topic_id),
                    dead_letter: None,
                    rule: plan.rule,
                });
            }
            n += 1;
        }
        Ok(n)
    }
}

/// Refuses a rows event whose images leave columns out (partial row
/// images): such a change would reach Kafka as a partial row.
fn refuse_partial_images(
    schema: &TableSchema,
    data: &RowsEventData<'_>,
    before_cols: &[usize],
    after_cols: &[usize],
) -> Result<(), DecodeError> {
    let ncols = schema.columns.len();
    // binlog_row_image = MINIMAL or NOBLOB leaves columns out of the
    // images: the change would reach Kafka as a partial row (an update
    // without its key, a delete with only its key). Preflight refuses
    // such servers; this catches the setting changed while Sluice runs,
    // or set by one session for itself. MySQL also leaves out the hidden
    // columns of functional indexes (named `!hidden!...`) in every
    // image; those are fine. Without column names (binlog_row_metadata
    // = MINIMAL, which preflight refuses too) hidden columns cannot be
    // told apart, so only named tables are checked.
    for (image, cols, logged) in [
        ("before", before_cols, data.columns_before_image().is_some()),
        ("after", after_cols, data.columns_after_image().is_some()),
    ] {
        if !logged || cols.len() == ncols || !schema.has_names {
            continue;
        }
        let missing: Vec<&str> = (0..ncols)
            .filter(|i| !cols.contains(i))
            .map(|i| &*schema.columns[i].name)
            .filter(|name| !name.starts_with("!hidden!"))
            .collect();
        if !missing.is_empty() {
            return Err(DecodeError::Unsupported {
                db: schema.name.db.to_string(),
                table: schema.name.table.to_string(),
                what: format!(
                    "the {image} image of a row change leaves out column(s) {}: the server logged partial row images \
                     (binlog_row_image = MINIMAL or NOBLOB). Set binlog_row_image = FULL (SET GLOBAL, and in the server's \
                     option file under [mysqld]). The missing values are not in the binlog: re-snapshot the table, \
                     or restart Sluice from a position after this event on purpose",
                    missing.join(", ")
                ),
                position: None,
            });
        }
    }
    Ok(())
}
