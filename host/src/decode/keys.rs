//! The primary keys a rows event touches, whatever the rules emit: the
//! snapshot's watermark windows drop a chunk's row when its key changed in
//! the stream while the chunk was read (docs/SNAPSHOT.md).

use std::sync::Arc;

use mysql_common::binlog::events::Event;

use super::cursor::Cursor;
use super::plan::TablePlan;
use super::row::RowsEvent;
use super::schema::TableSchema;
use super::{read_rows, DecodeError, Decoder};

impl Decoder {
    /// The table a rows event changes (its table map must have been read).
    pub fn rows_table(&self, ev: &Event) -> Result<Arc<TableSchema>, DecodeError> {
        self.schema_of(&read_rows(ev)?)
    }

    /// Passes the primary key of every image of every row of a rows event to
    /// `out`, encoded as the default record key: a map of the primary-key
    /// columns, in key order. Nothing for a table without a primary key.
    pub fn changed_keys(
        &mut self,
        ev: &Event,
        out: &mut dyn FnMut(&[u8]),
    ) -> Result<(), DecodeError> {
        let data = read_rows(ev)?;
        let schema = self.schema_of(&data)?;
        if schema.primary_key.is_empty() {
            return Ok(());
        }
        self.images.start(&schema, &data)?;
        let plan = TablePlan {
            capture: true,
            key: schema.primary_key.clone(),
            emit: Some(vec![false; schema.columns.len()]),
            ops: [true; 3],
            ..TablePlan::skip()
        };
        let rows = RowsEvent::new(&schema, &plan, &data);
        let mut c = Cursor::new(data.rows_data());
        let mut json_before = Vec::new();
        let mut scratch = Vec::new();
        while c.remaining() > 0 {
            let at = c.pos;
            self.images
                .keys(&rows, &mut c, &mut json_before, &mut scratch, out)?;
            if c.pos == at {
                return Err(rows.malformed(
                    "rows event has bytes after its rows but its images have no columns",
                ));
            }
        }
        Ok(())
    }
}
