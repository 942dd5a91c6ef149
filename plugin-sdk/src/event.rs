//! What a plugin sees: events, settings, and the transform output buffer.

use std::cell::Cell;

use serde::{Deserialize, Serialize};

use crate::msgpack::{
    find_images, map_find, map_find_many_at, Value, ABSENT, AFTER, BEFORE, UNKNOWN,
};
use crate::Op;

/// One event: metadata plus the MessagePack bytes that go to Kafka.
#[derive(Debug, Clone)]
pub struct Event<'a> {
    pub db: &'a str,
    pub table: &'a str,
    pub op: Op,
    pub bytes: &'a [u8],
    /// Where the before and after images start (`[before, after]`), found
    /// on first access: `UNKNOWN`, `ABSENT` or a position in `bytes`.
    images: Cell<[usize; 2]>,
}

impl<'a> Event<'a> {
    pub fn new(db: &'a str, table: &'a str, op: Op, bytes: &'a [u8]) -> Self {
        Event {
            db,
            table,
            op,
            bytes,
            images: Cell::new([UNKNOWN; 2]),
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
        self.image(self.image_at(AFTER), column)
    }

    /// A column of the row image before the change (updates, deletes).
    pub fn before(&self, column: &str) -> Option<Value<'a>> {
        self.image(self.image_at(BEFORE), column)
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
        let is_map = |at: Option<usize>| {
            at.and_then(|p| self.bytes.get(p))
                .is_some_and(|m| matches!(m, 0x80..=0x8f | 0xde | 0xdf))
        };
        let after = self.image_at(AFTER);
        let Some(at) = (if is_map(after) {
            after
        } else {
            self.image_at(BEFORE)
        }) else {
            return;
        };
        map_find_many_at(self.bytes, at, columns, out);
    }

    /// The value at a position found by `find_columns`.
    pub fn value_at(&self, pos: usize) -> Option<Value<'a>> {
        Value::parse(self.bytes.get(pos..)?)
    }

    /// Where image `which` starts. The top-level map is scanned only as far
    /// as that image's key, noting the other image if it comes first.
    fn image_at(&self, which: usize) -> Option<usize> {
        let mut found = self.images.get();
        if found[which] == UNKNOWN {
            find_images(self.bytes, &mut found, which);
            self.images.set(found);
        }
        (found[which] != ABSENT).then_some(found[which])
    }

    fn image(&self, at: Option<usize>, column: &str) -> Option<Value<'a>> {
        Value::parse(
            self.bytes
                .get(map_find(self.bytes, at?, column.as_bytes())?..)?,
        )
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

#[cfg(test)]
mod tests {
    use super::*;
    use rmpv::Value as V;

    fn event(fields: Vec<(&str, V)>) -> Vec<u8> {
        let v = V::Map(fields.into_iter().map(|(k, v)| (k.into(), v)).collect());
        let mut buf = Vec::new();
        rmpv::encode::write_value(&mut buf, &v).unwrap();
        buf
    }

    fn row(id: u64, email: &str) -> V {
        V::Map(vec![
            ("id".into(), id.into()),
            ("tags".into(), V::Array(vec!["a".into()])),
            ("email".into(), email.into()),
        ])
    }

    /// Updates, inserts and deletes with the images in either order.
    #[test]
    fn columns_of_either_image_in_any_key_order() {
        let update = |after_first: bool| {
            let mut f = vec![
                ("v", V::from(1)),
                ("op", "u".into()),
                ("before", row(1, "old@x")),
                ("after", row(2, "new@x")),
                ("ts_ms", 0.into()),
            ];
            if after_first {
                f.swap(2, 3);
            }
            event(f)
        };
        for after_first in [false, true] {
            let bytes = update(after_first);
            let e = Event::new("d", "t", Op::Update, &bytes);
            assert_eq!(e.after("email"), Some(Value::Str("new@x")));
            assert_eq!(e.before("email"), Some(Value::Str("old@x")));
            assert_eq!(e.column("id"), Some(Value::UInt(2)));
            assert_eq!(e.after("missing"), None);
            // Before first asked, then after, on a fresh event.
            let e = Event::new("d", "t", Op::Update, &bytes);
            assert_eq!(e.before("id"), Some(Value::UInt(1)));
            assert_eq!(e.after("id"), Some(Value::UInt(2)));
            let mut found = Vec::new();
            e.find_columns(&["email", "nope", "id"], &mut found);
            assert_eq!(e.value_at(found[0].unwrap()), Some(Value::Str("new@x")));
            assert_eq!(found[1], None);
            assert_eq!(e.value_at(found[2].unwrap()), Some(Value::UInt(2)));
        }

        let delete = event(vec![
            ("op", "d".into()),
            ("before", row(3, "gone@x")),
            ("after", V::Nil),
        ]);
        let e = Event::new("d", "t", Op::Delete, &delete);
        assert_eq!(e.after("id"), None);
        assert_eq!(e.column("id"), Some(Value::UInt(3)));
        let mut found = Vec::new();
        e.find_columns(&["email"], &mut found);
        assert_eq!(e.value_at(found[0].unwrap()), Some(Value::Str("gone@x")));

        let insert = event(vec![("after", row(4, "a@x")), ("before", V::Nil)]);
        let e = Event::new("d", "t", Op::Create, &insert);
        assert_eq!(e.before("id"), None);
        assert_eq!(e.column("email"), Some(Value::Str("a@x")));

        // No images at all, or not an event.
        for bytes in [event(vec![("v", 1.into())]), vec![0x91, 0xc0], vec![]] {
            let e = Event::new("d", "t", Op::Create, &bytes);
            assert_eq!(e.column("id"), None);
            let mut found = Vec::new();
            e.find_columns(&["id"], &mut found);
            assert_eq!(found, [None]);
        }
    }
}
