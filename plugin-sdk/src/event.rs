//! What a plugin sees: events, settings, and the transform output buffer.

use std::cell::Cell;

use serde::{Deserialize, Serialize};

use crate::msgpack::{images, map_find_many, map_get, Value};
use crate::Op;

/// One event: metadata plus the MessagePack bytes that go to Kafka.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub db: &'a str,
    pub table: &'a str,
    pub op: Op,
    pub bytes: &'a [u8],
    /// Where the before/after images start, found on first column access.
    images: Cell<Option<(Option<usize>, Option<usize>)>>,
}

impl<'a> Event<'a> {
    pub fn new(db: &'a str, table: &'a str, op: Op, bytes: &'a [u8]) -> Self {
        Event {
            db,
            table,
            op,
            bytes,
            images: Cell::new(None),
        }
    }

    /// Deserializes the whole event (serde over MessagePack).
    pub fn decode<T: Deserialize<'a>>(&self) -> Result<T, String> {
        rmp_serde::from_slice(self.bytes).map_err(|e| format!("decoding event: {e}"))
    }

    /// The whole event as a generic value, for rewriting.
    pub fn value(&self) -> Result<rmpv::Value, String> {
        rmpv::decode::read_value(&mut &self.bytes[..]).map_err(|e| format!("decoding event: {e}"))
    }

    /// A column of the row image after the change (inserts, updates).
    /// Reads only what it needs; no allocation.
    pub fn after(&self, column: &str) -> Option<Value<'a>> {
        self.image(self.images().1, column)
    }

    /// A column of the row image before the change (updates, deletes).
    pub fn before(&self, column: &str) -> Option<Value<'a>> {
        self.image(self.images().0, column)
    }

    /// `after`, or `before` when there is no after image (deletes).
    pub fn column(&self, column: &str) -> Option<Value<'a>> {
        match self.after(column) {
            Some(v) => Some(v),
            None => self.before(column),
        }
    }

    /// Several columns in one pass over the row image (after, or before
    /// when there is no after image): `out[i]` is the position of
    /// `columns[i]`'s value in `bytes`, for `value_at`. Cheaper than calling
    /// `column` per name; `out` can be reused across events.
    pub fn find_columns<S: AsRef<str>>(&self, columns: &[S], out: &mut Vec<Option<usize>>) {
        out.clear();
        out.resize(columns.len(), None);
        let (before, after) = self.images();
        let is_map = |at: Option<usize>| {
            at.and_then(|p| self.bytes.get(p))
                .is_some_and(|m| matches!(m, 0x80..=0x8f | 0xde | 0xdf))
        };
        let Some(at) = (if is_map(after) { after } else { before }) else {
            return;
        };
        map_find_many(&self.bytes[at..], columns, out);
        for p in out.iter_mut().flatten() {
            *p += at;
        }
    }

    /// The value at a position found by `find_columns`.
    pub fn value_at(&self, pos: usize) -> Option<Value<'a>> {
        Value::parse(self.bytes.get(pos..)?)
    }

    fn images(&self) -> (Option<usize>, Option<usize>) {
        if let Some(found) = self.images.get() {
            return found;
        }
        let found = images(self.bytes);
        self.images.set(Some(found));
        found
    }

    fn image(&self, at: Option<usize>, column: &str) -> Option<Value<'a>> {
        let image = self.bytes.get(at?..)?;
        Value::parse(map_get(image, column)?)
    }
}

/// The plugin's settings from the Sluice config (`config = { k = "v" }`).
/// Non-string values arrive as JSON text.
#[derive(Debug, Clone, Default)]
pub struct Settings(pub Vec<(String, String)>);

impl Settings {
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    pub fn require(&self, key: &str) -> Result<&str, String> {
        self.get(key)
            .ok_or_else(|| format!("missing setting `{key}`"))
    }

    /// A comma-separated list (`"a, b"`), trimmed, empty items removed.
    pub fn list(&self, key: &str) -> Vec<&str> {
        self.get(key)
            .map(|v| {
                v.split(',')
                    .map(str::trim)
                    .filter(|s| !s.is_empty())
                    .collect()
            })
            .unwrap_or_default()
    }

    /// Rejects keys not in `known`: a typo should not pass silently.
    pub fn only(&self, known: &[&str]) -> Result<(), String> {
        match self.0.iter().find(|(k, _)| !known.contains(&k.as_str())) {
            Some((k, _)) => Err(format!(
                "unknown setting `{k}` (known: {})",
                known.join(", ")
            )),
            None => Ok(()),
        }
    }
}

/// Output of a transform for one input event.
pub struct Emitter<'b> {
    pub(crate) data: &'b mut Vec<u8>,
    pub(crate) out: &'b mut Vec<(Op, u32, u32)>,
    pub(crate) input: &'b [u8],
    pub(crate) op: Op,
}

impl Emitter<'_> {
    /// Emits the input event unchanged.
    pub fn keep(&mut self) {
        let input = self.input;
        self.raw(self.op, input)
    }

    /// Emits already encoded MessagePack (must be a map).
    pub fn raw(&mut self, op: Op, bytes: &[u8]) {
        let start = self.data.len();
        self.data.extend_from_slice(bytes);
        self.out.push((op, start as u32, bytes.len() as u32));
    }

    /// Emits a value (must be a map), keeping the input's op.
    pub fn value(&mut self, v: &rmpv::Value) -> Result<(), String> {
        self.value_with_op(self.op, v)
    }

    pub fn value_with_op(&mut self, op: Op, v: &rmpv::Value) -> Result<(), String> {
        let start = self.data.len();
        rmpv::encode::write_value(self.data, v).map_err(|e| e.to_string())?;
        self.out
            .push((op, start as u32, (self.data.len() - start) as u32));
        Ok(())
    }

    /// Emits any serializable value (structs become maps with field names).
    pub fn serialize<T: Serialize>(&mut self, v: &T) -> Result<(), String> {
        let start = self.data.len();
        let mut ser = rmp_serde::Serializer::new(&mut *self.data).with_struct_map();
        v.serialize(&mut ser).map_err(|e| e.to_string())?;
        self.out
            .push((self.op, start as u32, (self.data.len() - start) as u32));
        Ok(())
    }
}
