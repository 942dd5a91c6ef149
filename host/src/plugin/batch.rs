//! The reusable event batch: the pipeline fills it, the chain rewrites it in
//! place, the pipeline reads the surviving events back.
//!
//! Layout follows the WIT `batch` record (one flat buffer + metadata) so it
//! is handed to plugins without conversion. Clearing keeps every buffer's
//! capacity; pushing an event allocates only for a new (db, table) pair.

use std::sync::Arc;

use super::bindings::{Batch, EventMeta, Op, TableName};
use super::error::PluginError;

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
}

#[derive(Debug)]
pub(crate) struct DeadEntry {
    pub(crate) state: EventState,
    pub(crate) table: u32,
    pub(crate) op: Op,
    pub(crate) range: (u32, u32),
    pub(crate) why: DeadLetter,
}

#[derive(Debug)]
pub struct EventBatch {
    /// What plugins see; `events` and `state` run in parallel.
    pub(crate) wit: Batch,
    pub(crate) state: Vec<EventState>,
    pub(crate) topics: Vec<String>,
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
}

impl EventBatch {
    pub fn new() -> Self {
        EventBatch {
            wit: Batch {
                tables: Vec::new(),
                events: Vec::new(),
                data: Vec::new(),
            },
            state: Vec::new(),
            topics: Vec::new(),
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
        self.keys.clear();
        self.dead.clear();
        self.dead_data.clear();
        self.inputs = 0;
        self.last_table = 0;
    }

    /// Appends an input event. Fails only if the batch outgrows 4 GiB.
    pub fn push(&mut self, db: &str, table: &str, op: Op, bytes: &[u8]) -> Result<(), PluginError> {
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
        op: Op,
        data: &'a [u8],
        (offset, len): (u32, u32),
        dead_letter: Option<&'a DeadLetter>,
    ) -> OutputEvent<'a> {
        let t = &self.wit.tables[table as usize];
        OutputEvent {
            origin: s.origin as usize,
            db: &t.db,
            table: &t.table,
            op,
            bytes: &data[offset as usize..(offset + len) as usize],
            topic: s.topic.map(|i| self.topics[i as usize].as_str()),
            key: s.key.map(|(o, l)| &self.keys[o as usize..(o + l) as usize]),
            dead_letter,
        }
    }

    pub(crate) fn event_bytes(&self, i: usize) -> &[u8] {
        let m = &self.wit.events[i];
        &self.wit.data[m.offset as usize..(m.offset + m.len) as usize]
    }

    /// Interns a topic override, returning its index.
    pub(crate) fn intern_topic(&mut self, topic: &str) -> u32 {
        match self.topics.iter().position(|t| t == topic) {
            Some(i) => i as u32,
            None => {
                self.topics.push(topic.to_owned());
                (self.topics.len() - 1) as u32
            }
        }
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
