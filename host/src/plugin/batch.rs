//! The reusable event batch: the pipeline fills it, the chain rewrites it in
//! place, the pipeline reads the surviving events back.
//!
//! Layout follows the WIT `batch` record (one flat buffer + metadata) so it
//! is handed to plugins without conversion. Clearing keeps every buffer's
//! capacity; pushing an event allocates only for a new (db, table) pair.

use std::sync::Arc;

use super::bindings::{self, EventMeta, TableName, WitBatch, WitOp};
use super::error::PluginError;
use crate::event::Op;

/// Why an event goes to the dead-letter topic; the kafka stage turns this
/// into headers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub plugin: Arc<str>,
    pub error: String,
}

/// Per-event state that is not part of the WIT record.
#[derive(Debug, Clone, Copy)]
pub(crate) struct EventState {
    /// Index of the input event this one descends from.
    pub(crate) origin: u32,
    /// Topic override: index into `EventBatch::topics`.
    pub(crate) topic: Option<u32>,
    /// Key override: range in `EventBatch::keys`.
    pub(crate) key: Option<(u32, u32)>,
    /// A transform has produced this event's bytes: they may differ from
    /// the input's.
    pub(crate) rewritten: bool,
}

#[derive(Debug)]
pub(crate) struct DeadEntry {
    pub(crate) state: EventState,
    pub(crate) table: u32,
    pub(crate) op: WitOp,
    pub(crate) range: (u32, u32),
    pub(crate) why: DeadLetter,
}

#[derive(Debug)]
pub struct EventBatch {
    /// What plugins see; `events` and `state` run in parallel.
    pub(crate) wit: WitBatch,
    pub(crate) state: Vec<EventState>,
    pub(crate) topics: Vec<String>,
    /// `topics` by name: a router may name a thousand distinct topics in
    /// one batch (one per tenant), and a linear search made that quadratic.
    topic_ids: std::collections::HashMap<String, u32>,
    pub(crate) keys: Vec<u8>,
    pub(crate) dead: Vec<DeadEntry>,
    pub(crate) dead_data: Vec<u8>,
    inputs: u32,
    /// Last table index pushed: rows of one table usually come together.
    last_table: u32,
}

impl Default for EventBatch {
    fn default() -> Self {
        Self::new()
    }
}

/// One event leaving the chain.
#[derive(Debug, Clone, Copy)]
pub struct OutputEvent<'a> {
    /// Position of the input event it came from (a transform may emit
    /// several events for one input, or none).
    pub origin: usize,
    pub db: &'a str,
    pub table: &'a str,
    pub op: Op,
    /// MessagePack event, as produced to Kafka.
    pub bytes: &'a [u8],
    /// Topic chosen by a route plugin; `None` keeps the rule's topic.
    pub topic: Option<&'a str>,
    /// Key chosen by a key plugin; `None` keeps the default key.
    pub key: Option<&'a [u8]>,
    /// Set when the event must go to the dead-letter topic.
    pub dead_letter: Option<&'a DeadLetter>,
    /// Whether a transform made `bytes`; when false they are the input
    /// event's bytes, unchanged, and the caller may keep its own copy.
    pub rewritten: bool,
}

impl EventBatch {
    pub fn new() -> Self {
        EventBatch {
            wit: WitBatch {
                tables: Vec::new(),
                events: Vec::new(),
                data: Vec::new(),
            },
            state: Vec::new(),
            topics: Vec::new(),
            topic_ids: std::collections::HashMap::new(),
            keys: Vec::new(),
            dead: Vec::new(),
            dead_data: Vec::new(),
            inputs: 0,
            last_table: 0,
        }
    }

    /// Empties the batch, keeping its allocations for the next one.
    pub fn clear(&mut self) {
        self.wit.tables.clear();
        self.wit.events.clear();
        self.wit.data.clear();
        self.state.clear();
        self.topics.clear();
        self.topic_ids.clear();
        self.keys.clear();
        self.dead.clear();
        self.dead_data.clear();
        self.inputs = 0;
        self.last_table = 0;
    }

    /// Appends an input event. Fails only if the batch outgrows 4 GiB, or
    /// for a schema change (not a row event).
    pub fn push(&mut self, db: &str, table: &str, op: Op, bytes: &[u8]) -> Result<(), PluginError> {
        let op = bindings::to_wit(op).ok_or(PluginError::NotRowEvent)?;
        let offset = u32::try_from(self.wit.data.len()).map_err(|_| PluginError::BatchTooLarge)?;
        let len = u32::try_from(bytes.len()).map_err(|_| PluginError::BatchTooLarge)?;
        offset.checked_add(len).ok_or(PluginError::BatchTooLarge)?;
        let table = self.intern_table(db, table);
        self.wit.data.extend_from_slice(bytes);
        self.wit.events.push(EventMeta {
            table,
            op,
            offset,
            len,
        });
        self.state.push(EventState {
            origin: self.inputs,
            topic: None,
            key: None,
            rewritten: false,
        });
        self.inputs += 1;
        Ok(())
    }

    fn intern_table(&mut self, db: &str, table: &str) -> u32 {
        let tables = &mut self.wit.tables;
        let hit = |t: &TableName| t.db == db && t.table == table;
        if tables.get(self.last_table as usize).is_some_and(hit) {
            return self.last_table;
        }
        let idx = match tables.iter().position(hit) {
            Some(i) => i,
            None => {
                tables.push(TableName {
                    db: db.into(),
                    table: table.into(),
                });
                tables.len() - 1
            }
        };
        self.last_table = idx as u32;
        self.last_table
    }

    /// Number of input events pushed since the last `clear`.
    pub fn input_len(&self) -> usize {
        self.inputs as usize
    }

    /// Events still travelling the chain (excludes dead letters).
    pub(crate) fn live_len(&self) -> usize {
        self.wit.events.len()
    }

    /// Number of events `output` yields.
    pub fn output_len(&self) -> usize {
        self.wit.events.len() + self.dead.len()
    }

    /// The surviving events in input order, dead letters included (flagged).
    /// Call after `Chain::run`; before it, yields the input unchanged.
    pub fn output(&self) -> impl Iterator<Item = OutputEvent<'_>> + '_ {
        // Live events are in origin order (transforms may not reorder);
        // dead letters are kept sorted by origin by the chain. Merge them.
        let mut live = 0;
        let mut dead = 0;
        std::iter::from_fn(move || {
            let l = self.state.get(live).map(|s| s.origin);
            let d = self.dead.get(dead).map(|e| e.state.origin);
            let take_dead = match (l, d) {
                (None, None) => return None,
                (Some(_), None) => false,
                (None, Some(_)) => true,
                (Some(l), Some(d)) => d < l,
            };
            Some(if take_dead {
                dead += 1;
                let e = &self.dead[dead - 1];
                self.view(
                    e.state,
                    e.table,
                    e.op,
                    &self.dead_data,
                    e.range,
                    Some(&e.why),
                )
            } else {
                live += 1;
                let m = &self.wit.events[live - 1];
                self.view(
                    self.state[live - 1],
                    m.table,
                    m.op,
                    &self.wit.data,
                    (m.offset, m.len),
                    None,
                )
            })
        })
    }

    fn view<'a>(
        &'a self,
        s: EventState,
        table: u32,
        op: WitOp,
        data: &'a [u8],
        (offset, len): (u32, u32),
        dead_letter: Option<&'a DeadLetter>,
    ) -> OutputEvent<'a> {
        let t = &self.wit.tables[table as usize];
        OutputEvent {
            origin: s.origin as usize,
            db: &t.db,
            table: &t.table,
            op: bindings::from_wit(op),
            bytes: &data[offset as usize..(offset + len) as usize],
            topic: s.topic.map(|i| self.topics[i as usize].as_str()),
            key: s.key.map(|(o, l)| &self.keys[o as usize..(o + l) as usize]),
            dead_letter,
            rewritten: s.rewritten,
        }
    }

    pub(crate) fn event_bytes(&self, i: usize) -> &[u8] {
        let m = &self.wit.events[i];
        &self.wit.data[m.offset as usize..(m.offset + m.len) as usize]
    }

    /// Drops the live events whose `keep` is false without moving the other
    /// events' bytes: the metadata is compacted and the dropped events'
    /// bytes are zeroed, so later plugins never see them (they receive the
    /// buffer with holes). Returns false, changing nothing, when copying the
    /// survivors into a fresh buffer is the better choice: when they would
    /// fill less than half of it (holes cost transport to every later
    /// plugin), or when the events' byte ranges are not in increasing,
    /// non-overlapping order (a transform may point several outputs at the
    /// same bytes, which zeroing one would corrupt for the other).
    pub(crate) fn drop_in_place(&mut self, keep: &[bool]) -> bool {
        debug_assert_eq!(keep.len(), self.wit.events.len());
        let mut end = 0u64;
        let mut kept = 0u64;
        for (m, k) in self.wit.events.iter().zip(keep) {
            if (m.offset as u64) < end {
                return false;
            }
            end = m.offset as u64 + m.len as u64;
            if *k {
                kept += m.len as u64;
            }
        }
        if kept * 2 < self.wit.data.len() as u64 {
            return false;
        }
        let mut w = 0;
        for (i, k) in keep.iter().enumerate() {
            let m = self.wit.events[i];
            if *k {
                self.wit.events[w] = m;
                self.state[w] = self.state[i];
                w += 1;
            } else {
                self.wit.data[m.offset as usize..(m.offset + m.len) as usize].fill(0);
            }
        }
        self.wit.events.truncate(w);
        self.state.truncate(w);
        true
    }

    /// Interns a topic override, returning its index.
    pub(crate) fn intern_topic(&mut self, topic: &str) -> u32 {
        if let Some(&i) = self.topic_ids.get(topic) {
            return i;
        }
        let i = self.topics.len() as u32;
        self.topics.push(topic.to_owned());
        self.topic_ids.insert(topic.to_owned(), i);
        i
    }

    /// Stores a key override, returning its range in `keys`.
    pub(crate) fn store_key(&mut self, key: &[u8]) -> (u32, u32) {
        let o = self.keys.len() as u32;
        self.keys.extend_from_slice(key);
        (o, key.len() as u32)
    }

    /// Moves live event `i`'s bytes to the dead-letter list. The caller
    /// removes it from the live list.
    pub(crate) fn push_dead(&mut self, i: usize, why: DeadLetter) {
        let m = self.wit.events[i];
        let o = self.dead_data.len() as u32;
        let (start, end) = (m.offset as usize, (m.offset + m.len) as usize);
        self.dead_data.extend_from_slice(&self.wit.data[start..end]);
        let entry = DeadEntry {
            state: self.state[i],
            table: m.table,
            op: m.op,
            range: (o, m.len),
            why,
        };
        // Keep dead letters in origin order (a later step's dead letter may
        // come from an earlier input).
        let at = self
            .dead
            .partition_point(|e| e.state.origin <= entry.state.origin);
        self.dead.insert(at, entry);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(events: &[&[u8]]) -> EventBatch {
        let mut b = EventBatch::new();
        for e in events {
            b.push("shop", "users", Op::Create, e).unwrap();
        }
        b
    }

    fn live(b: &EventBatch) -> Vec<(usize, Vec<u8>)> {
        b.output().map(|e| (e.origin, e.bytes.to_vec())).collect()
    }

    #[test]
    fn plugin_filter_drops_in_place_and_zeroes_the_dropped_bytes() {
        let mut b = batch(&[b"\x81aaaa", b"\x81bb", b"\x81cccc", b"\x81d"]);
        let data_len = b.wit.data.len();
        assert!(b.drop_in_place(&[true, false, true, false]));
        assert_eq!(
            live(&b),
            [(0, b"\x81aaaa".to_vec()), (2, b"\x81cccc".to_vec())]
        );
        // The buffer keeps its layout; what was dropped reads as zeros.
        assert_eq!(b.wit.data.len(), data_len);
        assert_eq!(&b.wit.data[5..8], &[0, 0, 0]);
        assert_eq!(&b.wit.data[13..], &[0, 0]);
        // Holes count: one more drop would leave the buffer mostly empty,
        // so the caller copies instead.
        assert!(!b.drop_in_place(&[false, true]));
        assert_eq!(b.live_len(), 2);
    }

    #[test]
    fn plugin_filter_copies_when_holes_would_dominate_or_ranges_overlap() {
        // Survivors would fill less than half of the buffer.
        let mut b = batch(&[b"\x81a", b"\x81bbbbbbbb", b"\x81c"]);
        assert!(!b.drop_in_place(&[true, false, true]));
        assert_eq!(b.live_len(), 3, "unchanged");
        // Two events over the same bytes (a transform may emit that):
        // zeroing one would corrupt the other.
        let mut b = batch(&[b"\x81aaaa", b"\x81bbbb"]);
        b.wit.events[1].offset = 0;
        b.wit.events[1].len = 5;
        assert!(!b.drop_in_place(&[false, true]));
        // Out of order.
        let mut b = batch(&[b"\x81aaaa", b"\x81bbbb"]);
        b.wit.events.swap(0, 1);
        assert!(!b.drop_in_place(&[true, false]));
        assert_eq!(b.wit.data, b"\x81aaaa\x81bbbb");
    }
}
