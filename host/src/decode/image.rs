//! One row image to a MessagePack map, and the key copied from it.
//!
//! [`super::row`] writes a row change's images with this, column by column,
//! as the table's plan says (which columns, which of them form the key),
//! including the JSON columns of a partial update, which are rebuilt from
//! the before image's document.

use crate::event::msgpack::*;

use super::cursor::{Cursor, Truncated};
use super::plan::TablePlan;
use super::schema::{self, Column, TableSchema};
use super::value::{self, ValueError};
use super::{json, DecodeError};

/// Bytes of one encoded value: in the batch buffer, or in `hidden`.
#[derive(Clone, Copy, Debug)]
pub(super) struct Span {
    hidden: bool,
    start: usize,
    end: usize,
}

/// Writes row images as maps of column name -> value, following a plan.
pub(super) struct Image<'a> {
    pub schema: &'a TableSchema,
    pub plan: &'a TablePlan,
    /// Where each key column's value went (see `RowImages::spans`).
    pub spans: &'a mut Vec<Option<Span>>,
    /// Values of key columns that the plan does not emit.
    pub hidden: &'a mut Vec<u8>,
}

/// What to do with the JSON columns of an image.
pub(super) enum Json<'p, 'r> {
    Plain,
    /// Keep each JSON document of this (before) image, by column.
    Capture(&'p mut Vec<Option<&'r [u8]>>),
    /// A partial update's after image: JSON columns whose bit is set in
    /// `bits` (one per JSON column of the table) hold diffs to apply to the
    /// `before` documents.
    Diffs {
        before: &'p [Option<&'r [u8]>],
        bits: &'r [u8],
    },
}

/// Reads the "shared image" that starts a partial update's after image:
/// the value options, and with PARTIAL_JSON_UPDATES (bit 0) a bitmap over
/// the table's JSON columns.
pub(super) fn partial_bits<'r>(
    c: &mut Cursor<'r>,
    json_columns: usize,
) -> Result<&'r [u8], Truncated> {
    let options = match c.u8()? {
        x @ 0..=0xfa => x as u64,
        0xfc => c.uint_le(2)?,
        0xfd => c.uint_le(3)?,
        0xfe => c.uint_le(8)?,
        _ => return Err(Truncated),
    };
    if options & 1 != 0 {
        c.take(json_columns.div_ceil(8))
    } else {
        Ok(&[])
    }
}

impl Image<'_> {
    /// Writes the image of the columns in `cols`. With `for_key`, records
    /// where each value went so the key can be copied from it.
    pub(super) fn write<'r>(
        &mut self,
        cols: &[usize],
        c: &mut Cursor<'r>,
        out: &mut Vec<u8>,
        for_key: bool,
        mut json: Json<'_, 'r>,
    ) -> Result<(), DecodeError> {
        let schema = self.schema;
        let nulls = c.take(cols.len().div_ceil(8)).map_err(|_| {
            DecodeError::malformed(format!(
                "{}.{}: row image is truncated",
                schema.name.db, schema.name.table
            ))
        })?;
        let shown = match &self.plan.emit {
            None => cols.len(),
            Some(_) => cols.iter().filter(|&&i| self.plan.emits(i)).count(),
        };
        write_map_header(out, shown);
        for (i, &col) in cols.iter().enumerate() {
            let null = nulls[i / 8] & (1 << (i % 8)) != 0;
            self.column(col, null, c, out, for_key, &mut json)?;
        }
        Ok(())
    }

    /// Writes one column: its name and value when the plan emits it, and
    /// with `for_key` where the value of a key column went.
    #[inline]
    fn column<'r>(
        &mut self,
        col: usize,
        null: bool,
        c: &mut Cursor<'r>,
        out: &mut Vec<u8>,
        for_key: bool,
        json: &mut Json<'_, 'r>,
    ) -> Result<(), DecodeError> {
        let column = &self.schema.columns[col];
        let emit = self.plan.emits(col);
        if emit {
            extend_short(out, column.name_mp.bytes());
        }
        let at = out.len();
        if null {
            write_nil(out);
        } else {
            self.value(col, column, c, out, json)?;
        }
        if for_key && self.plan.key.contains(&col) {
            self.keep_span(col, emit, at, out);
        }
        if !emit {
            out.truncate(at);
        }
        Ok(())
    }

    /// Writes the value of `column` (number `col`), not null.
    #[inline]
    fn value<'r>(
        &self,
        col: usize,
        column: &Column,
        c: &mut Cursor<'r>,
        out: &mut Vec<u8>,
        json: &mut Json<'_, 'r>,
    ) -> Result<(), DecodeError> {
        if let schema::ColumnKind::Json { len_bytes } = column.kind {
            match json {
                Json::Plain => {}
                Json::Capture(docs) => docs[col] = peek_json(c, len_bytes),
                Json::Diffs { before, bits } => {
                    let ordinal = self.schema.columns[..col]
                        .iter()
                        .filter(|c| is_json(c))
                        .count();
                    if bits
                        .get(ordinal / 8)
                        .is_some_and(|b| b & (1 << (ordinal % 8)) != 0)
                    {
                        return self.apply_json_diffs(column, before[col], len_bytes, c, out);
                    }
                }
            }
        }
        value::write(&column.kind, c, out).map_err(|e| self.bad(column, e))
    }

    /// A JSON column of a partial update's after image that holds changes:
    /// the before image's document with them applied.
    fn apply_json_diffs(
        &self,
        column: &Column,
        before: Option<&[u8]>,
        len_bytes: u8,
        c: &mut Cursor<'_>,
        out: &mut Vec<u8>,
    ) -> Result<(), DecodeError> {
        let truncated = |_| self.bad(column, ValueError::Truncated);
        let len = c.uint_le(len_bytes as usize).map_err(truncated)?;
        let diffs = c.take(len as usize).map_err(truncated)?;
        let doc = before.ok_or_else(|| {
            self.bad(
                column,
                ValueError::Bad(
                    "a partial JSON update whose document is not in the before image: \
                     binlog_row_image must be FULL to rebuild it"
                        .into(),
                ),
            )
        })?;
        json::apply_diffs(doc, diffs, out).map_err(|e| {
            self.bad(
                column,
                ValueError::Bad(format!("partial JSON update: {}", e.0)),
            )
        })
    }

    /// Records where key column `col`'s value (written from `at`) is: in
    /// `out` when emitted, else in a copy kept aside in `hidden`.
    #[inline]
    fn keep_span(&mut self, col: usize, emit: bool, at: usize, out: &[u8]) {
        self.spans[col] = Some(if emit {
            Span {
                hidden: false,
                start: at,
                end: out.len(),
            }
        } else {
            let start = self.hidden.len();
            self.hidden.extend_from_slice(&out[at..]);
            Span {
                hidden: true,
                start,
                end: self.hidden.len(),
            }
        });
    }

    #[cold]
    fn bad(&self, column: &Column, e: ValueError) -> DecodeError {
        DecodeError::BadValue {
            db: self.schema.name.db.to_string(),
            table: self.schema.name.table.to_string(),
            column: column.name.to_string(),
            what: column.type_name,
            reason: match e {
                ValueError::Truncated => "the row image ends inside the value".into(),
                ValueError::Bad(s) => s,
            },
            position: None,
        }
    }
}

/// The JSON document at the cursor, without moving it; `None` when the
/// image is truncated there (reading the value reports that).
#[inline]
fn peek_json<'r>(c: &Cursor<'r>, len_bytes: u8) -> Option<&'r [u8]> {
    let mut peek = Cursor::new(c.buf);
    peek.pos = c.pos;
    let len = peek.uint_le(len_bytes as usize).ok()?;
    peek.take(len as usize).ok()
}

/// Whether `c` is a JSON column.
pub(super) fn is_json(c: &Column) -> bool {
    matches!(c.kind, schema::ColumnKind::Json { .. })
}

/// Appends the key (a map of key column -> value) copied from the spans of
/// the image just written. No key when the plan has none or a key column is
/// missing from the image.
pub(super) fn write_key(
    schema: &TableSchema,
    key: &[usize],
    spans: &[Option<Span>],
    hidden: &[u8],
    out: &mut Vec<u8>,
) -> Option<std::ops::Range<usize>> {
    if key.is_empty() || key.iter().any(|&i| spans[i].is_none()) {
        return None;
    }
    let start = out.len();
    write_map_header(out, key.len());
    for &i in key {
        let s = spans[i].expect("checked above");
        extend_short(out, schema.columns[i].name_mp.bytes());
        if s.hidden {
            out.extend_from_slice(&hidden[s.start..s.end]);
        } else {
            extend_short_within(out, s.start..s.end);
        }
    }
    Some(start..out.len())
}
