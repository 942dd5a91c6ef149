//! A batch of encoded events: one flat buffer plus a record per event.
//!
//! The decoder appends to a batch; plugins, the router and the sink read it.
//! One buffer for many events keeps allocations per batch, not per row, and
//! is the same shape the plugin interface passes across the sandbox boundary.

use std::ops::Range;
use std::sync::Arc;

use super::columns::TableColumns;
use super::{Op, TxnId};

/// Database and table of a change, shared by every record of that table.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct TableName {
    pub db: Arc<str>,
    pub table: Arc<str>,
}

/// One event in a [`Batch`].
#[derive(Clone, Debug)]
pub struct Record {
    /// The MessagePack event value, in [`Batch::buf`]. Empty for a
    /// tombstone (a null value after a delete, for compacted topics).
    pub value: Range<usize>,
    /// The MessagePack key (primary-key columns), in [`Batch::buf`]; `None`
    /// for tables without a primary key.
    pub key: Option<Range<usize>>,
    pub op: Op,
    /// The change's table: an index into the batch's tables
    /// ([`Batch::table`] reads it).
    pub table: NameId,
    /// The transaction this change belongs to, as numbered by the
    /// checkpoint tracker: the sink acknowledges records by it.
    pub txn: TxnId,
    /// Topic chosen by routing, an index into the batch's topics
    /// ([`Batch::topic`] reads it); `None` until routed.
    pub topic: Option<NameId>,
    /// Set when a plugin failed on this event and its rule sends such events
    /// to the dead-letter topic: the sink adds these as headers.
    pub dead_letter: Option<Arc<DeadLetterNote>>,
    /// Index of the rule that captured it, whose plugin chain it goes through.
    pub rule: Option<usize>,
    /// A header naming the other key of a primary-key change, which the
    /// Debezium format splits into a delete and a create
    /// (`__debezium.newkey` on the delete, `__debezium.oldkey` on the
    /// create); `None` otherwise.
    pub key_header: Option<KeyHeader>,
}

/// A header whose value is in [`Batch::buf`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct KeyHeader {
    pub name: &'static str,
    pub value: Range<usize>,
}

/// Why an event went to the dead-letter topic.
#[derive(Debug, PartialEq, Eq)]
pub struct DeadLetterNote {
    pub plugin: Arc<str>,
    pub error: String,
}

/// A table or topic of a [`Batch`], by its index there.
///
/// Records name them by index rather than holding an `Arc` each: cloning
/// and dropping two `Arc`s per row were two pairs of atomic operations per
/// row, a measurable share of the decoder's time.
pub(crate) type NameId = u32;

#[derive(Debug, Default)]
pub struct Batch {
    pub buf: Vec<u8>,
    pub records: Vec<Record>,
    tables: Vec<Arc<TableName>>,
    topics: Vec<Arc<str>>,
    /// By table id, the table's column types when the maker of its rows
    /// knew them (decoder, snapshot): for formats that need SQL types.
    columns: Vec<Option<Arc<TableColumns>>>,
}

impl Batch {
    pub fn clear(&mut self) {
        self.buf.clear();
        self.records.clear();
        self.tables.clear();
        self.topics.clear();
        self.columns.clear();
    }

    /// Says which columns the table with id `table` has (see
    /// [`Batch::columns`]). Cheap when nothing changed: callers set it once
    /// per run of a table's rows.
    pub(crate) fn set_columns(&mut self, table: NameId, columns: &Arc<TableColumns>) {
        let i = table as usize;
        if self.columns.len() <= i {
            self.columns.resize(i + 1, None);
        }
        match &self.columns[i] {
            Some(c) if Arc::ptr_eq(c, columns) => {}
            _ => self.columns[i] = Some(columns.clone()),
        }
    }

    /// The column types of `r`'s table, if its maker gave them; `None`
    /// for schema changes and markers, and events a plugin made up.
    pub(crate) fn columns(&self, r: &Record) -> Option<&Arc<TableColumns>> {
        self.columns.get(r.table as usize)?.as_ref()
    }

    /// The id of `table` in this batch, added unless it is the last one
    /// added (callers add a table once per run of its rows).
    pub fn table_id(&mut self, table: &Arc<TableName>) -> NameId {
        intern(&mut self.tables, table)
    }

    /// The id of `topic` in this batch, as [`Batch::table_id`].
    pub fn topic_id(&mut self, topic: &Arc<str>) -> NameId {
        intern(&mut self.topics, topic)
    }

    /// Appends one keyed record for `table`, routed to `topic` and acked
    /// as part of `txn`: `value` and then `key` write their bytes into the
    /// buffer. For events made outside the decoder (schema changes, markers).
    pub(crate) fn push_routed(
        &mut self,
        table: &Arc<TableName>,
        topic: &Arc<str>,
        txn: TxnId,
        op: Op,
        value: impl FnOnce(&mut Vec<u8>),
        key: impl FnOnce(&mut Vec<u8>),
    ) {
        let at = self.buf.len();
        value(&mut self.buf);
        let value = at..self.buf.len();
        key(&mut self.buf);
        let key = value.end..self.buf.len();
        let table = self.table_id(table);
        let topic = self.topic_id(topic);
        self.records.push(Record {
            value,
            key: Some(key),
            op,
            table,
            txn,
            topic: Some(topic),
            dead_letter: None,
            rule: None,
            key_header: None,
        });
    }

    /// How many tables the batch's records name.
    pub(crate) fn table_count(&self) -> usize {
        self.tables.len()
    }

    /// The table with this id.
    pub(crate) fn table_by_id(&self, id: NameId) -> &Arc<TableName> {
        &self.tables[id as usize]
    }

    pub fn table(&self, r: &Record) -> &TableName {
        &self.tables[r.table as usize]
    }

    /// [`Batch::table`], shared.
    pub fn table_name(&self, r: &Record) -> &Arc<TableName> {
        &self.tables[r.table as usize]
    }

    pub fn topic(&self, r: &Record) -> Option<&str> {
        r.topic.map(|t| &*self.topics[t as usize])
    }

    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    pub fn len(&self) -> usize {
        self.records.len()
    }

    pub fn value(&self, r: &Record) -> &[u8] {
        &self.buf[r.value.clone()]
    }

    /// The value, or `None` for a tombstone.
    pub fn payload(&self, r: &Record) -> Option<&[u8]> {
        (!r.value.is_empty()).then(|| self.value(r))
    }

    pub fn key(&self, r: &Record) -> Option<&[u8]> {
        r.key.clone().map(|k| &self.buf[k])
    }
}

fn intern<T: ?Sized>(list: &mut Vec<Arc<T>>, item: &Arc<T>) -> NameId {
    match list.last() {
        Some(last) if Arc::ptr_eq(last, item) => (list.len() - 1) as NameId,
        _ => {
            list.push(item.clone());
            (list.len() - 1) as NameId
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_added_once_per_run_and_read_back_by_record() {
        let t = |n: &str| {
            Arc::new(TableName {
                db: "shop".into(),
                table: n.into(),
            })
        };
        let (orders, items) = (t("orders"), t("items"));
        let mut b = Batch::default();
        let a = b.table_id(&orders);
        assert_eq!(b.table_id(&orders), a, "the same table again: same id");
        let i = b.table_id(&items);
        assert_ne!(i, a);
        let topic = b.topic_id(&Arc::from("shop.items"));
        b.records.push(Record {
            value: 0..0,
            key: None,
            op: Op::Create,
            table: i,
            txn: TxnId(1),
            topic: Some(topic),
            dead_letter: None,
            rule: None,
            key_header: None,
        });
        let r = &b.records[0];
        assert_eq!(&*b.table(r).table, "items");
        assert_eq!(b.topic(r), Some("shop.items"));
        b.clear();
        assert_eq!(b.table_id(&items), 0, "ids start over with the batch");
    }
}
