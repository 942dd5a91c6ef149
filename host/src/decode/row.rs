//! The images of a row change, in the order the event has them.
//!
//! [`Decoder::rows`](super::Decoder::rows) frames each row change with the
//! event's other fields; this writes the after and before images between
//! them ([`super::image`] writes each image) and keeps the scratch space
//! they need.

use mysql_common::binlog::events::RowsEventData;

use crate::event::layout::write_before_key;
use crate::event::msgpack::write_nil;
use crate::event::Op;

use super::cursor::Cursor;
use super::image::{is_json, partial_bits, write_key, Image, Json, Span};
use super::plan::TablePlan;
use super::schema::TableSchema;
use super::DecodeError;

/// What every row change of one rows event shares.
pub(super) struct RowsEvent<'a> {
    pub schema: &'a TableSchema,
    pub plan: &'a TablePlan,
    pub op: Op,
    /// A partial update (`binlog_row_value_options=PARTIAL_JSON`): JSON
    /// columns of the after image may hold changes to the before image's
    /// document.
    pub partial: bool,
    /// The table's JSON columns, counted for partial updates only.
    pub json_columns: usize,
}

impl<'a> RowsEvent<'a> {
    pub(super) fn new(
        schema: &'a TableSchema,
        plan: &'a TablePlan,
        data: &RowsEventData<'_>,
    ) -> Self {
        let op = match data {
            RowsEventData::WriteRowsEvent(_) | RowsEventData::WriteRowsEventV1(_) => Op::Create,
            RowsEventData::UpdateRowsEvent(_) | RowsEventData::UpdateRowsEventV1(_) => Op::Update,
            RowsEventData::DeleteRowsEvent(_) | RowsEventData::DeleteRowsEventV1(_) => Op::Delete,
            RowsEventData::PartialUpdateRowsEvent(_) => Op::Update,
        };
        let partial = matches!(data, RowsEventData::PartialUpdateRowsEvent(_));
        let json_columns = if partial {
            schema.columns.iter().filter(|c| is_json(c)).count()
        } else {
            0
        };
        RowsEvent {
            schema,
            plan,
            op,
            partial,
            json_columns,
        }
    }

    /// Whether the plan emits this event's changes.
    pub(super) fn included(&self) -> bool {
        self.plan.capture && self.plan.ops.get(self.op.index()).copied().unwrap_or(false)
    }

    #[cold]
    pub(super) fn malformed(&self, what: &str) -> DecodeError {
        DecodeError::malformed(format!(
            "{}.{}: {what}",
            self.schema.name.db, self.schema.name.table
        ))
    }
}

/// The images of a row change, with the scratch space they need; kept
/// across rows and rows events for its allocations.
#[derive(Default)]
pub(super) struct RowImages {
    /// Columns in the before and after images of the current rows event.
    before_cols: Vec<usize>,
    after_cols: Vec<usize>,
    /// Where each key column's value was written (by column; other
    /// columns' entries stay `None`), so the key is copied rather than
    /// decoded twice.
    spans: Vec<Option<Span>>,
    /// Values of key columns that the plan does not emit.
    hidden: Vec<u8>,
    /// An update's before image, held while its after image is written.
    before_image: Vec<u8>,
}

impl RowImages {
    /// Takes the image columns of a rows event, refusing partial images.
    pub(super) fn start(
        &mut self,
        schema: &TableSchema,
        data: &RowsEventData<'_>,
    ) -> Result<(), DecodeError> {
        let ncols = schema.columns.len();
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
        refuse_partial_images(schema, data, &self.before_cols, &self.after_cols)?;
        self.spans.clear();
        self.spans.resize(ncols, None);
        Ok(())
    }

    /// Writes the images of one row change, `after` ahead of `before`
    /// (FORMAT.md: readers of the after image, like plugins, need not step
    /// over the before image). The binlog has the before image first: an
    /// update's before image goes to `before_image` until the after image
    /// is written. `json_before` is scratch for a partial update.
    #[inline]
    pub(super) fn write<'r>(
        &mut self,
        ev: &RowsEvent<'_>,
        c: &mut Cursor<'r>,
        json_before: &mut Vec<Option<&'r [u8]>>,
        out: &mut Vec<u8>,
    ) -> Result<(), DecodeError> {
        // Only key columns get spans (see `Image::column`).
        for &k in &ev.plan.key {
            self.spans[k] = None;
        }
        self.hidden.clear();
        let mut img = Image {
            schema: ev.schema,
            plan: ev.plan,
            spans: &mut self.spans,
            hidden: &mut self.hidden,
        };
        let (before, after) = (&self.before_cols[..], &self.after_cols[..]);
        match ev.op {
            Op::Delete => {
                write_nil(out);
                write_before_key(out);
                img.write(before, c, out, true, Json::Plain)
            }
            Op::Update => {
                let held = &mut self.before_image;
                held.clear();
                if ev.partial {
                    json_before.clear();
                    json_before.resize(ev.schema.columns.len(), None);
                    img.write(before, c, held, false, Json::Capture(json_before))?;
                    let bits = partial_bits(c, ev.json_columns)
                        .map_err(|_| ev.malformed("partial update row image is truncated"))?;
                    let json = Json::Diffs {
                        before: json_before,
                        bits,
                    };
                    img.write(after, c, out, true, json)?;
                } else {
                    img.write(before, c, held, false, Json::Plain)?;
                    img.write(after, c, out, true, Json::Plain)?;
                }
                write_before_key(out);
                out.extend_from_slice(held);
                Ok(())
            }
            Op::Create | Op::Read | Op::Ddl | Op::Heartbeat | Op::Transaction => {
                img.write(after, c, out, true, Json::Plain)?;
                write_before_key(out);
                write_nil(out);
                Ok(())
            }
        }
    }

    /// Reads one row change's images for their keys only: nothing is
    /// emitted (the plan emits no column), and the key of each image, before
    /// then after, goes to `out`. An update that changes the key touches
    /// both keys, which is why both images count.
    pub(super) fn keys<'r>(
        &mut self,
        ev: &RowsEvent<'_>,
        c: &mut Cursor<'r>,
        json_before: &mut Vec<Option<&'r [u8]>>,
        scratch: &mut Vec<u8>,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(), DecodeError> {
        let before = std::mem::take(&mut self.before_cols);
        let after = std::mem::take(&mut self.after_cols);
        let r = self.keys_of(ev, &before, &after, c, json_before, scratch, out);
        self.before_cols = before;
        self.after_cols = after;
        r
    }

    #[allow(clippy::too_many_arguments)]
    fn keys_of<'r>(
        &mut self,
        ev: &RowsEvent<'_>,
        before: &[usize],
        after: &[usize],
        c: &mut Cursor<'r>,
        json_before: &mut Vec<Option<&'r [u8]>>,
        scratch: &mut Vec<u8>,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(), DecodeError> {
        match ev.op {
            Op::Delete => self.image_key(ev, before, c, Json::Plain, scratch, out),
            Op::Update if ev.partial => {
                json_before.clear();
                json_before.resize(ev.schema.columns.len(), None);
                self.image_key(ev, before, c, Json::Capture(json_before), scratch, out)?;
                let bits = partial_bits(c, ev.json_columns)
                    .map_err(|_| ev.malformed("partial update row image is truncated"))?;
                let json = Json::Diffs {
                    before: json_before,
                    bits,
                };
                self.image_key(ev, after, c, json, scratch, out)
            }
            Op::Update => {
                self.image_key(ev, before, c, Json::Plain, scratch, out)?;
                self.image_key(ev, after, c, Json::Plain, scratch, out)
            }
            Op::Create | Op::Read | Op::Ddl | Op::Heartbeat | Op::Transaction => {
                self.image_key(ev, after, c, Json::Plain, scratch, out)
            }
        }
    }

    /// Reads one image and passes its key to `out` (none when a key column
    /// is missing from the image).
    fn image_key<'r>(
        &mut self,
        ev: &RowsEvent<'_>,
        cols: &[usize],
        c: &mut Cursor<'r>,
        json: Json<'_, 'r>,
        scratch: &mut Vec<u8>,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(), DecodeError> {
        for &k in &ev.plan.key {
            self.spans[k] = None;
        }
        self.hidden.clear();
        scratch.clear();
        Image {
            schema: ev.schema,
            plan: ev.plan,
            spans: &mut self.spans,
            hidden: &mut self.hidden,
        }
        .write(cols, c, scratch, true, json)?;
        scratch.clear();
        if let Some(k) = write_key(ev.schema, &ev.plan.key, &self.spans, &self.hidden, scratch) {
            out(&scratch[k]);
        }
        Ok(())
    }

    /// Appends the key copied from the image just written (see
    /// [`write_key`]).
    #[inline]
    pub(super) fn write_key(
        &self,
        schema: &TableSchema,
        key: &[usize],
        out: &mut Vec<u8>,
    ) -> Option<std::ops::Range<usize>> {
        write_key(schema, key, &self.spans, &self.hidden, out)
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
