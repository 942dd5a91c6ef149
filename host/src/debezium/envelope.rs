//! One Sluice event (its MessagePack value and key) -> Debezium's change
//! event: the envelope `{before, after, source, op, ts_ms, transaction}`
//! and the key struct, each bare or inside `{schema, payload}`.

use std::ops::Range;

use super::mp::{Malformed, Mp, Reader};
use super::value::{self, Conv, Ctx, Unfit};
use super::{schema, write, DebeziumSettings};
use crate::event::columns::TableColumns;

/// What `source` says, read from the event's `source` map.
#[derive(Debug, Default)]
pub(super) struct Source<'a> {
    server_id: u64,
    file: &'a [u8],
    pos: u64,
    gtid: Option<&'a [u8]>,
    db: &'a [u8],
    table: Option<&'a [u8]>,
    row: u64,
    ts_ms: u64,
    snapshot: bool,
}

/// A change event's parts, by position in the buffer it was read from.
#[derive(Debug, Default)]
pub(super) struct Event<'a> {
    /// Where the after and before images' maps start; `None` when nil.
    pub(super) after: Option<usize>,
    pub(super) before: Option<usize>,
    pub(super) source: Source<'a>,
    /// When Sluice produced the event.
    pub(super) ts_ms: u64,
}

/// Reads the fields of the event in `b` (a MessagePack map); fields other
/// than Sluice's (`v`, or what a plugin added) are stepped over.
pub(super) fn parse(b: &[u8]) -> Result<Event<'_>, Malformed> {
    let mut r = Reader::new(b);
    let Mp::Map(n) = r.next()? else {
        return Err(Malformed);
    };
    let mut ev = Event::default();
    for _ in 0..n {
        let key = r.key()?;
        match key {
            b"after" | b"before" => {
                let at = r.pos;
                let image = match r.next()? {
                    Mp::Nil => None,
                    Mp::Map(_) => {
                        r.pos = at;
                        r.skip()?;
                        Some(at)
                    }
                    _ => return Err(Malformed),
                };
                if key == b"after" {
                    ev.after = image;
                } else {
                    ev.before = image;
                }
            }
            b"source" => ev.source = source(&mut r)?,
            b"ts_ms" => ev.ts_ms = uint(&mut r)?,
            _ => r.skip()?,
        }
    }
    Ok(ev)
}

fn uint(r: &mut Reader<'_>) -> Result<u64, Malformed> {
    match r.next()? {
        Mp::Uint(u) => Ok(u),
        Mp::Int(i) if i >= 0 => Ok(i as u64),
        _ => Err(Malformed),
    }
}

fn opt_str<'a>(r: &mut Reader<'a>) -> Result<Option<&'a [u8]>, Malformed> {
    match r.next()? {
        Mp::Str(s) => Ok(Some(s)),
        Mp::Nil => Ok(None),
        _ => Err(Malformed),
    }
}

fn source<'a>(r: &mut Reader<'a>) -> Result<Source<'a>, Malformed> {
    let Mp::Map(n) = r.next()? else {
        return Err(Malformed);
    };
    let mut s = Source::default();
    for _ in 0..n {
        match r.key()? {
            b"server_id" => s.server_id = uint(r)?,
            b"file" => s.file = opt_str(r)?.unwrap_or_default(),
            b"pos" => s.pos = uint(r)?,
            b"gtid" => s.gtid = opt_str(r)?,
            b"db" => s.db = opt_str(r)?.unwrap_or_default(),
            b"table" => s.table = opt_str(r)?,
            b"row" => s.row = uint(r)?,
            b"ts_ms" => s.ts_ms = uint(r)?,
            b"snapshot" => s.snapshot = matches!(r.next()?, Mp::Bool(true)),
            _ => r.skip()?,
        }
    }
    Ok(s)
}

/// A field as written: its name (in the event buffer), its column, and
/// how its value was written. The schema is made from these.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub(super) struct Field {
    pub(super) name: Range<usize>,
    pub(super) col: Option<u16>,
    pub(super) conv: Conv,
}

/// What every struct written for one record shares.
pub(super) struct Row<'a, 'c> {
    pub(super) buf: &'a [u8],
    pub(super) cols: Option<&'a TableColumns>,
    pub(super) cx: Ctx<'c>,
    /// Whether fields are listed (for a schema); without schemas they are
    /// not needed.
    pub(super) list: bool,
    /// Per column of `cols`: its `"name":` as JSON and its conversion
    /// (see [`known`]); empty when not made.
    pub(super) known: &'a [(Vec<u8>, Conv)],
}

/// What every row of a table shares, per column: the field's name as
/// written (`"name":`) and the conversion of its values.
pub(super) fn known(cols: &TableColumns, s: &DebeziumSettings) -> Vec<(Vec<u8>, Conv)> {
    cols.columns
        .iter()
        .map(|c| {
            let mut prefix = Vec::with_capacity(c.name.len() + 3);
            write::str(&mut prefix, &c.name);
            prefix.push(b':');
            (prefix, Conv::of_column(c, s))
        })
        .collect()
}

impl Row<'_, '_> {
    /// Writes the MessagePack map at `at` as a JSON object of its
    /// columns' values, and appends each field to `fields`.
    pub(super) fn map(
        &mut self,
        out: &mut Vec<u8>,
        at: usize,
        fields: &mut Vec<Field>,
    ) -> Result<(), Malformed> {
        let mut r = Reader::at(self.buf, at);
        let Mp::Map(n) = r.next()? else {
            return Err(Malformed);
        };
        out.push(b'{');
        let mut hint = 0;
        for i in 0..n {
            if i > 0 {
                out.push(b',');
            }
            let name = r.key()?;
            let name = (r.pos - name.len())..r.pos;
            let f = self.entry(out, &mut r, name, &mut hint)?;
            if self.list {
                fields.push(f);
            }
        }
        out.push(b'}');
        Ok(())
    }

    /// Writes `"name":value` for the value at `r`, and says how.
    pub(super) fn entry(
        &mut self,
        out: &mut Vec<u8>,
        r: &mut Reader<'_>,
        name: Range<usize>,
        hint: &mut usize,
    ) -> Result<Field, Malformed> {
        let key = &self.buf[name.clone()];
        let col = self.cols.and_then(|c| c.find(key, *hint));
        let col_type = col.map(|i| &self.cols.expect("found in it").columns[i]);
        if let Some(i) = col {
            *hint = i + 1;
        }
        // A table column's `"name":` and conversion are made once per
        // table (`known`); a column a plugin added is written here.
        let known = col.and_then(|i| self.known.get(i));
        match known {
            Some((prefix, _)) => out.extend_from_slice(prefix),
            None => {
                write::string(out, key);
                out.push(b':');
            }
        }
        let value_at = r.pos;
        let mark = out.len();
        let head = r.next()?;
        let conv = match (known, col_type) {
            (Some((_, conv)), _) => *conv,
            (None, Some(c)) => Conv::of_column(c, self.cx.settings),
            (None, None) => Conv::of_value(&head),
        };
        let conv = match value::write(out, conv, col_type, head, r, &mut self.cx) {
            Ok(()) => conv,
            Err(Unfit::Malformed) => return Err(Malformed),
            Err(Unfit::Kind) => {
                // Not what the column holds: a plugin changed it. Written
                // as what it is, so nothing is lost.
                out.truncate(mark);
                r.pos = value_at;
                let head = r.next()?;
                let conv = Conv::of_value(&head);
                value::write(out, conv, None, head, r, &mut self.cx).map_err(|_| Malformed)?;
                conv
            }
        };
        Ok(Field {
            name,
            col: col.filter(|_| conv_uses_column(conv)).map(|i| i as u16),
            conv,
        })
    }
}

/// Whether a field written this way is described by its column (its
/// nullability and parameters), or by its value alone.
fn conv_uses_column(conv: Conv) -> bool {
    !matches!(
        conv,
        Conv::AnyNull
            | Conv::AnyBool
            | Conv::AnyInt
            | Conv::AnyFloat32
            | Conv::AnyFloat64
            | Conv::AnyString
            | Conv::AnyBytes
            | Conv::AnyTree
    )
}

/// The schema of a struct's fields, comma-separated.
pub(super) fn field_schemas(
    out: &mut Vec<u8>,
    buf: &[u8],
    fields: &[Field],
    cols: Option<&TableColumns>,
    s: &DebeziumSettings,
) {
    for (i, f) in fields.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let col = f.col.and_then(|c| cols.map(|t| &t.columns[c as usize]));
        schema::field(out, &buf[f.name.clone()], f.conv, col, s);
    }
}

/// Writes the envelope's payload: `before` and `after` (images at these
/// positions, or null), `source`, `op`, `ts_ms`, `transaction`. The fields
/// of the row (after's, or before's for a delete) go to `fields`.
#[allow(clippy::too_many_arguments)]
pub(super) fn payload(
    out: &mut Vec<u8>,
    row: &mut Row<'_, '_>,
    ev: &Event<'_>,
    before: Option<usize>,
    after: Option<usize>,
    op: &str,
    name: &str,
    fields: &mut Vec<Field>,
    before_fields: &mut Vec<Field>,
) -> Result<(), Malformed> {
    before_fields.clear();
    out.extend_from_slice(b"{\"before\":");
    match before {
        Some(at) => row.map(out, at, before_fields)?,
        None => write::null(out),
    }
    out.extend_from_slice(b",\"after\":");
    match after {
        Some(at) => row.map(out, at, fields)?,
        None => write::null(out),
    }
    if after.is_none() {
        std::mem::swap(fields, before_fields);
    }
    out.extend_from_slice(b",\"source\":");
    source_json(out, &ev.source, name);
    // Debezium's order (its schema's): `transaction` before `op`.
    out.extend_from_slice(b",\"transaction\":null,\"op\":\"");
    out.extend_from_slice(op.as_bytes());
    out.extend_from_slice(b"\",");
    timestamps(out, ev.ts_ms);
    out.push(b'}');
    Ok(())
}

/// What `source.version` says: Sluice's version, marked as Sluice's, so
/// nobody takes it for a Debezium release.
const VERSION: &str = concat!(env!("CARGO_PKG_VERSION"), "-sluice");

/// `"ts_ms":..,"ts_us":..,"ts_ns":..`: Debezium 2.6 added the finer two
/// beside `ts_ms`; Sluice's clocks are milliseconds, so they are its
/// multiples.
fn timestamps(out: &mut Vec<u8>, ms: u64) {
    out.extend_from_slice(b"\"ts_ms\":");
    write::uint(out, ms);
    out.extend_from_slice(b",\"ts_us\":");
    write::uint(out, ms.saturating_mul(1000));
    out.extend_from_slice(b",\"ts_ns\":");
    write::uint(out, ms.saturating_mul(1_000_000));
}

fn source_json(out: &mut Vec<u8>, s: &Source<'_>, name: &str) {
    out.extend_from_slice(b"{\"version\":\"");
    out.extend_from_slice(VERSION.as_bytes());
    out.extend_from_slice(b"\",\"connector\":\"mysql\",\"name\":");
    write::str(out, name);
    // In the schema's order (`SOURCE`), Debezium's: `ts_us` and `ts_ns`
    // after `sequence`.
    out.extend_from_slice(b",\"ts_ms\":");
    write::uint(out, s.ts_ms);
    // Snapshot rows join the stream at watermarks, between changes, as
    // Debezium's incremental snapshots do.
    out.extend_from_slice(if s.snapshot {
        b",\"snapshot\":\"incremental\",\"db\":"
    } else {
        b",\"snapshot\":\"false\",\"db\":"
    });
    write::string(out, s.db);
    out.extend_from_slice(b",\"sequence\":null,\"ts_us\":");
    write::uint(out, s.ts_ms.saturating_mul(1000));
    out.extend_from_slice(b",\"ts_ns\":");
    write::uint(out, s.ts_ms.saturating_mul(1_000_000));
    out.extend_from_slice(b",\"table\":");
    match s.table {
        Some(t) => write::string(out, t),
        None => write::null(out),
    }
    out.extend_from_slice(b",\"server_id\":");
    write::uint(out, s.server_id);
    out.extend_from_slice(b",\"gtid\":");
    match s.gtid {
        Some(g) => write::string(out, g),
        None => write::null(out),
    }
    out.extend_from_slice(b",\"file\":");
    write::string(out, s.file);
    out.extend_from_slice(b",\"pos\":");
    write::uint(out, s.pos);
    out.extend_from_slice(b",\"row\":");
    write::uint(out, s.row);
    out.extend_from_slice(b",\"thread\":null,\"query\":null}");
}

/// Fields as `(name, value position)` in the event buffer.
pub(super) type Entries = Vec<(Range<usize>, usize)>;

/// The key's fields as `(name, value position)` in `buf`: from a key map,
/// or (for the old key of a primary-key change) from an image.
/// With `end`, the map must end there (a key is exactly one map; bytes a
/// key plugin chose may only start like one).
pub(super) fn key_entries(
    buf: &[u8],
    at: usize,
    end: Option<usize>,
    out: &mut Entries,
) -> Result<(), Malformed> {
    out.clear();
    let buf = match end {
        Some(end) => buf.get(..end).ok_or(Malformed)?,
        None => buf,
    };
    let mut r = Reader::at(buf, at);
    let Mp::Map(n) = r.next()? else {
        return Err(Malformed);
    };
    for _ in 0..n {
        let name = r.key()?;
        let name = (r.pos - name.len())..r.pos;
        out.push((name, r.pos));
        r.skip()?;
    }
    if end.is_some_and(|e| r.pos != e) {
        return Err(Malformed);
    }
    Ok(())
}

/// For an update: the old key's entries, found in the before image at
/// `before`, when any key column's value differs there from the key's.
/// `None` when the key did not change (or the image lacks a key column).
pub(super) fn old_key(
    buf: &[u8],
    key: &[(Range<usize>, usize)],
    before: usize,
    image: &mut Entries,
) -> Result<Option<Entries>, Malformed> {
    key_entries(buf, before, None, image)?;
    let value = |at: usize| -> Result<&[u8], Malformed> {
        let mut r = Reader::at(buf, at);
        r.skip()?;
        Ok(&buf[at..r.pos])
    };
    let mut old = Vec::with_capacity(key.len());
    let mut changed = false;
    for (name, at) in key {
        let Some((_, before_at)) = image
            .iter()
            .find(|(n, _)| buf[n.clone()] == buf[name.clone()])
        else {
            return Ok(None);
        };
        changed |= value(*at)? != value(*before_at)?;
        old.push((name.clone(), *before_at));
    }
    Ok(changed.then_some(old))
}

/// Writes the key struct of `entries`, and its fields to `fields`.
pub(super) fn key_payload(
    out: &mut Vec<u8>,
    row: &mut Row<'_, '_>,
    entries: &[(Range<usize>, usize)],
    fields: &mut Vec<Field>,
) -> Result<(), Malformed> {
    out.push(b'{');
    let mut hint = 0;
    for (i, (name, at)) in entries.iter().enumerate() {
        if i > 0 {
            out.push(b',');
        }
        let mut r = Reader::at(row.buf, *at);
        let f = row.entry(out, &mut r, name.clone(), &mut hint)?;
        if row.list {
            fields.push(f);
        }
    }
    out.push(b'}');
    Ok(())
}
