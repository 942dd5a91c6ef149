//! The debezium-json output format: after the plugin chains, the change
//! events of rules with `format = "debezium-json"` are rewritten into what
//! Debezium's MySQL connector produces through Kafka Connect's
//! JsonConverter (docs/FORMAT.md, "Debezium JSON"). Plugins never see it:
//! they work on Sluice's MessagePack events, and this stage converts what
//! they made. Schema changes, markers and dead-lettered events stay
//! MessagePack.
//!
//! Values are written straight into the batch's buffer (`write.rs`), one
//! column at a time (`value.rs`), reading the MessagePack in place
//! (`mp.rs`); `{schema, payload}`'s schemas (`schema.rs`) are made once per
//! table and set of fields and copied after that.

mod envelope;
mod mp;
mod schema;
pub mod settings;
mod value;
mod write;

#[cfg(test)]
mod tests;

use std::collections::HashMap;
use std::ops::Range;
use std::sync::Arc;

use crate::event::batch::{KeyHeader, NameId};
use crate::event::columns::TableColumns;
use crate::event::{Batch, Op, Record};
pub use settings::{DebeziumSettings, Format};
use value::Ctx;

/// An event that cannot be read as a Sluice event (what a plugin wrote,
/// if anything, since the chain checks events): it cannot be converted.
#[derive(Debug, thiserror::Error)]
#[error("an event of {db}.{table} is not a well-formed Sluice event, so it cannot be written as debezium-json; the plugin chain of its rule made it: fix the plugin, or use format = \"msgpack\" for that rule")]
pub struct EncodeError {
    pub db: String,
    pub table: String,
    /// The record's transaction, for the pipeline to name its position.
    pub txn: crate::event::TxnId,
}

/// What the encoder needs of a record's rule.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RuleOutput {
    pub format: Format,
    /// Deletes are followed by tombstones: so is the delete of a
    /// primary-key change.
    pub tombstones: bool,
}

/// The stage: settings, and scratch kept for its allocations.
pub struct Encoder {
    settings: DebeziumSettings,
    /// Where records of no rule go (`[kafka] format`).
    default: Format,
    /// The buffer the batch had, kept to be the next batch's.
    spare: Vec<u8>,
    /// A payload, when the schema goes ahead of it.
    payload: Vec<u8>,
    /// Where the payload of the message written last is in its buffer
    /// (within `{schema, payload}`, or the whole message).
    last_payload: Range<usize>,
    doc: Vec<u8>,
    fields: Vec<envelope::Field>,
    key_fields: Vec<envelope::Field>,
    key: Vec<(Range<usize>, usize)>,
    /// An update's before image's fields, to find its old key.
    image: Vec<(Range<usize>, usize)>,
    /// The before image's fields, when the after image's are the schema.
    before_fields: Vec<envelope::Field>,
    /// Per column of the table being written: its `"name":` and
    /// conversion, made once per run of the table's records.
    known: Vec<(Vec<u8>, value::Conv)>,
    /// Schemas already written, by table, field list and kind (value or
    /// key). The table's columns are held so their address is not reused.
    schemas: HashMap<SchemaKey, (Arc<TableColumns>, Vec<u8>)>,
    /// The value schema and the key schema written last: records come in
    /// runs of one table with the same fields, so the next one usually
    /// needs the same schema, which a comparison finds without building
    /// and hashing a [`SchemaKey`] (an allocation or two and a SipHash per
    /// message: about 5 % of a `{schema, payload}` run).
    last: [Option<LastSchema>; 2],
}

struct LastSchema {
    key: SchemaKey,
    /// Held so that the address in `key.columns` is not reused.
    _columns: Arc<TableColumns>,
    bytes: Vec<u8>,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
struct SchemaKey {
    base: String,
    columns: usize,
    key: bool,
    /// Each field's column (or, for a field the table does not have, its
    /// name) and conversion.
    fields: Vec<(Result<u16, Vec<u8>>, value::Conv)>,
}

impl SchemaKey {
    /// Whether this is the key [`Encoder::schema`] would build for these
    /// arguments, compared in place.
    fn matches(&self, base: &str, columns: usize, src: &[u8], fields: &[envelope::Field]) -> bool {
        self.columns == columns
            && self.base == base
            && self.fields.len() == fields.len()
            && self.fields.iter().zip(fields).all(|((col, conv), f)| {
                *conv == f.conv
                    && match (col, f.col) {
                        (Ok(a), Some(b)) => *a == b,
                        (Err(name), None) => name[..] == src[f.name.clone()],
                        _ => false,
                    }
            })
    }
}

/// Schemas kept before the cache starts over (tables times field lists).
const MAX_SCHEMAS: usize = 4096;

/// The headers of the two halves of a primary-key change: on the delete,
/// the row's new key; on the create, its old one (Debezium's names).
const NEW_KEY_HEADER: &str = "__debezium.newkey";
const OLD_KEY_HEADER: &str = "__debezium.oldkey";

impl Encoder {
    pub fn new(default: Format, settings: DebeziumSettings) -> Self {
        Encoder {
            settings,
            default,
            spare: Vec::new(),
            payload: Vec::new(),
            last_payload: 0..0,
            doc: Vec::new(),
            fields: Vec::new(),
            key_fields: Vec::new(),
            key: Vec::new(),
            image: Vec::new(),
            before_fields: Vec::new(),
            known: Vec::new(),
            schemas: HashMap::new(),
            last: [None, None],
        }
    }

    /// `[kafka] format`: what events of no rule, and of rules that name
    /// no format, look like.
    pub fn default_format(&self) -> Format {
        self.default
    }

    /// Rewrites the change events of `batch` whose rule (`rules`, by index)
    /// or, for records of no rule, the default asks for debezium-json.
    /// `name` is Debezium's logical server name (`topic.prefix`): in
    /// `source.name` and the schemas' names.
    pub fn encode(
        &mut self,
        batch: &mut Batch,
        rules: &[RuleOutput],
        name: &str,
    ) -> Result<(), EncodeError> {
        let default = self.default;
        let output = |rule: Option<usize>| match rule.and_then(|i| rules.get(i)) {
            Some(r) => *r,
            None => RuleOutput {
                format: default,
                tombstones: false,
            },
        };
        let any = self.default == Format::DebeziumJson
            || rules.iter().any(|r| r.format == Format::DebeziumJson);
        if !any || batch.is_empty() {
            return Ok(());
        }
        let src = std::mem::take(&mut batch.buf);
        let mut dst = std::mem::take(&mut self.spare);
        dst.clear();
        dst.reserve(src.len() * 2);
        let records = std::mem::take(&mut batch.records);
        batch.records.reserve(records.len());
        let mut result = Ok(());
        // What the records of one table share, made again when the table
        // changes (records come in runs of one table): no allocation and no
        // reference count per row.
        let mut table: Option<(NameId, Option<Arc<TableColumns>>, String)> = None;
        for r in records {
            let out = output(r.rule);
            let convert = out.format == Format::DebeziumJson
                && r.dead_letter.is_none()
                && matches!(r.op, Op::Create | Op::Update | Op::Delete | Op::Read);
            if !convert || result.is_err() {
                batch.records.push(copied(&src, &mut dst, r));
                continue;
            }
            if table.as_ref().is_none_or(|t| t.0 != r.table) {
                let name_of = batch.table(&r);
                let base = format!("{name}.{}.{}", name_of.db, name_of.table);
                let cols = batch.columns(&r).cloned();
                self.known = match &cols {
                    Some(c) => envelope::known(c, &self.settings),
                    None => Vec::new(),
                };
                table = Some((r.table, cols, base));
            }
            let (_, cols, base) = table.as_ref().expect("set above");
            let made = self.record(
                &src,
                &mut dst,
                &r,
                cols.as_ref(),
                base,
                name,
                out,
                &mut batch.records,
            );
            if made.is_err() {
                let t = batch.table(&r);
                result = Err(EncodeError {
                    db: t.db.to_string(),
                    table: t.table.to_string(),
                    txn: r.txn,
                });
                batch.records.push(copied(&src, &mut dst, r));
            }
        }
        batch.buf = dst;
        self.spare = src;
        if self.schemas.len() > MAX_SCHEMAS {
            self.schemas.clear();
        }
        result
    }

    /// The records one record becomes: itself rewritten, or, for an
    /// update that changed the primary key, a delete of the old key (and
    /// its tombstone) and a create under the new one, as Debezium emits.
    #[allow(clippy::too_many_arguments)]
    fn record(
        &mut self,
        src: &[u8],
        dst: &mut Vec<u8>,
        r: &Record,
        cols: Option<&Arc<TableColumns>>,
        base: &str,
        name: &str,
        out: RuleOutput,
        made: &mut Vec<Record>,
    ) -> Result<(), mp::Malformed> {
        let mut key = std::mem::take(&mut self.key);
        key.clear();
        // Sluice's keys are maps of the key columns; a key plugin's are
        // whatever bytes it chose (text, say), which go out as they are.
        let opaque = match &r.key {
            Some(k) => envelope::key_entries(src, k.start, Some(k.end), &mut key).is_err(),
            None => false,
        };
        let result = self.record_with_key(src, dst, r, cols, base, name, out, &key, opaque, made);
        self.key = key;
        result
    }

    #[allow(clippy::too_many_arguments)]
    fn record_with_key(
        &mut self,
        src: &[u8],
        dst: &mut Vec<u8>,
        r: &Record,
        cols: Option<&Arc<TableColumns>>,
        base: &str,
        name: &str,
        out: RuleOutput,
        key: &[(Range<usize>, usize)],
        opaque: bool,
        made: &mut Vec<Record>,
    ) -> Result<(), mp::Malformed> {
        let has_key = r.key.is_some();
        let write_key = |this: &mut Self, dst: &mut Vec<u8>| match &r.key {
            Some(k) if opaque => {
                let at = dst.len();
                dst.extend_from_slice(&src[k.clone()]);
                Ok(Some(at..dst.len()))
            }
            Some(_) => this.key(src, dst, cols, base, key).map(Some),
            None => Ok(None),
        };
        if r.value.is_empty() {
            // A tombstone: the key alone.
            let key = write_key(self, dst)?;
            let at = dst.len();
            made.push(Record {
                value: at..at,
                key,
                ..r.clone()
            });
            return Ok(());
        }
        let value = &src[r.value.clone()];
        let ev = envelope::parse(value)?;
        // Positions in `ev` are within the value; the rows read `src`.
        let shift = |p: Option<usize>| p.map(|p| p + r.value.start);
        let (before, after) = (shift(ev.before), shift(ev.after));
        if r.op == Op::Update && has_key && !opaque {
            if let Some(before_at) = before {
                let mut image = std::mem::take(&mut self.image);
                let old = envelope::old_key(src, key, before_at, &mut image);
                self.image = image;
                if let Some(old) = old? {
                    // Each half names the other's key in a header, as
                    // Debezium does: the key's payload, without a schema.
                    let deleted = self.value(src, dst, cols, &ev, before, None, "d", base, name)?;
                    let old_key = self.key(src, dst, cols, base, &old)?;
                    let old_payload = self.last_payload.clone();
                    let created = self.value(src, dst, cols, &ev, None, after, "c", base, name)?;
                    let new_key = self.key(src, dst, cols, base, key)?;
                    let new_payload = self.last_payload.clone();
                    let new_key_header = Some(KeyHeader {
                        name: NEW_KEY_HEADER,
                        value: new_payload,
                    });
                    made.push(Record {
                        value: deleted,
                        key: Some(old_key.clone()),
                        op: Op::Delete,
                        key_header: new_key_header.clone(),
                        ..r.clone()
                    });
                    if out.tombstones {
                        // The delete's tombstone carries its header too.
                        made.push(Record {
                            value: dst.len()..dst.len(),
                            key: Some(old_key),
                            op: Op::Delete,
                            key_header: new_key_header,
                            ..r.clone()
                        });
                    }
                    made.push(Record {
                        value: created,
                        key: Some(new_key),
                        op: Op::Create,
                        key_header: Some(KeyHeader {
                            name: OLD_KEY_HEADER,
                            value: old_payload,
                        }),
                        ..r.clone()
                    });
                    return Ok(());
                }
            }
        }
        let v = self.value(src, dst, cols, &ev, before, after, r.op.code(), base, name)?;
        let k = write_key(self, dst)?;
        made.push(Record {
            value: v,
            key: k,
            ..r.clone()
        });
        Ok(())
    }

    /// Writes an envelope to `dst` and returns where it is.
    #[allow(clippy::too_many_arguments)]
    fn value(
        &mut self,
        src: &[u8],
        dst: &mut Vec<u8>,
        cols: Option<&Arc<TableColumns>>,
        ev: &envelope::Event<'_>,
        before: Option<usize>,
        after: Option<usize>,
        op: &str,
        base: &str,
        name: &str,
    ) -> Result<Range<usize>, mp::Malformed> {
        self.message(
            src,
            dst,
            cols,
            base,
            false,
            |out, row, fields, before_fields| {
                envelope::payload(out, row, ev, before, after, op, name, fields, before_fields)
            },
        )
    }

    /// Writes a key (the entries' fields) to `dst` and returns where it is.
    fn key(
        &mut self,
        src: &[u8],
        dst: &mut Vec<u8>,
        cols: Option<&Arc<TableColumns>>,
        base: &str,
        entries: &[(Range<usize>, usize)],
    ) -> Result<Range<usize>, mp::Malformed> {
        self.message(src, dst, cols, base, true, |out, row, fields, _| {
            envelope::key_payload(out, row, entries, fields)
        })
    }

    /// Writes one message to `dst` (an envelope, or with `key` a key) and
    /// returns where it is: `payload` writes the payload, straight into
    /// `dst` without schemas, else into a buffer then wrapped in `{schema,
    /// payload}`. The field lists are reused across messages.
    fn message(
        &mut self,
        src: &[u8],
        dst: &mut Vec<u8>,
        cols: Option<&Arc<TableColumns>>,
        base: &str,
        key: bool,
        payload: impl FnOnce(
            &mut Vec<u8>,
            &mut envelope::Row<'_, '_>,
            &mut Vec<envelope::Field>,
            &mut Vec<envelope::Field>,
        ) -> Result<(), mp::Malformed>,
    ) -> Result<Range<usize>, mp::Malformed> {
        let start = dst.len();
        let schemas = self.settings.schemas_enable;
        let mut fields = std::mem::take(if key {
            &mut self.key_fields
        } else {
            &mut self.fields
        });
        fields.clear();
        let mut before_fields = std::mem::take(&mut self.before_fields);
        let mut buf = std::mem::take(&mut self.payload);
        buf.clear();
        let mut row = envelope::Row {
            buf: src,
            cols: cols.map(|c| &**c),
            cx: Ctx {
                settings: &self.settings,
                scratch: &mut self.doc,
            },
            list: schemas,
            known: &self.known,
        };
        let out = if schemas { &mut buf } else { &mut *dst };
        let written = payload(out, &mut row, &mut fields, &mut before_fields);
        self.last_payload = start..dst.len();
        if schemas && written.is_ok() {
            with_schema(dst, &buf, |dst| {
                self.schema(dst, src, cols, base, &fields, key)
            });
            // `with_schema` ends with the payload and a closing brace.
            let end = dst.len() - 1;
            self.last_payload = end - buf.len()..end;
        }
        self.payload = buf;
        self.before_fields = before_fields;
        if key {
            self.key_fields = fields;
        } else {
            self.fields = fields;
        }
        written.map(|()| start..dst.len())
    }

    /// Writes the schema of an envelope (or, with `key`, of a key) whose
    /// row has `fields`, made once and then copied.
    fn schema(
        &mut self,
        dst: &mut Vec<u8>,
        src: &[u8],
        cols: Option<&Arc<TableColumns>>,
        base: &str,
        fields: &[envelope::Field],
        key: bool,
    ) {
        let columns = cols.map_or(0, |c| Arc::as_ptr(c) as usize);
        let slot = usize::from(key);
        if let Some(last) = &self.last[slot] {
            if last.key.matches(base, columns, src, fields) {
                dst.extend_from_slice(&last.bytes);
                return;
            }
        }
        let k = SchemaKey {
            base: base.to_string(),
            columns,
            key,
            fields: fields
                .iter()
                .map(|f| (f.col.ok_or_else(|| src[f.name.clone()].to_vec()), f.conv))
                .collect(),
        };
        let held = cols.cloned().unwrap_or_default();
        let bytes = match self.schemas.get(&k) {
            Some((_, bytes)) => bytes.clone(),
            None => {
                let mut list = Vec::new();
                let table = cols.map(|c| &**c);
                envelope::field_schemas(&mut list, src, fields, table, &self.settings);
                let mut bytes = Vec::new();
                if key {
                    schema::structure(&mut bytes, &list, false, &format!("{base}.Key"), None);
                } else {
                    schema::envelope(&mut bytes, &list, base);
                }
                self.schemas
                    .insert(k.clone(), (held.clone(), bytes.clone()));
                bytes
            }
        };
        dst.extend_from_slice(&bytes);
        self.last[slot] = Some(LastSchema {
            key: k,
            _columns: held,
            bytes,
        });
    }
}

/// `r` unchanged, its bytes copied into the new buffer.
fn copied(src: &[u8], dst: &mut Vec<u8>, r: Record) -> Record {
    let mut copy = |range: Range<usize>| {
        let at = dst.len();
        dst.extend_from_slice(&src[range]);
        at..dst.len()
    };
    let value = copy(r.value.clone());
    let key = r.key.clone().map(&mut copy);
    Record { value, key, ..r }
}

/// JsonConverter's `{"schema": ..., "payload": ...}` around a payload.
fn with_schema(dst: &mut Vec<u8>, payload: &[u8], schema: impl FnOnce(&mut Vec<u8>)) {
    dst.extend_from_slice(b"{\"schema\":");
    schema(dst);
    dst.extend_from_slice(b",\"payload\":");
    dst.extend_from_slice(payload);
    dst.push(b'}');
}
