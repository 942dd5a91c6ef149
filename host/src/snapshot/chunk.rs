//! One chunk of a table: the rows after a primary key, in key order, read
//! with a prepared `SELECT` (binary protocol: exact FLOAT and DOUBLE bits,
//! dates and times as numbers) and converted as they stream in.

use std::ops::Range;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

use super::columns::{quote, SnapshotTable};
use super::{value, KeyValue, SnapshotError};
use crate::event::msgpack::{extend_short, write_map_header};

/// Sets up a connection for chunk queries, so that values arrive in the
/// binlog's terms: TIMESTAMP in UTC, strings as their stored bytes (no
/// conversion to a client charset, which could lose characters), CHAR
/// without the padding PAD_CHAR_TO_FULL_LENGTH would add. Each autocommit
/// `SELECT` is then a consistent read of its own; the watermarks around it
/// order it with the binlog.
pub(crate) async fn prepare_session(conn: &mut Conn) -> Result<(), SnapshotError> {
    conn.query_drop(
        "SET SESSION time_zone = '+00:00', SESSION character_set_results = NULL,
             SESSION sql_mode = TRIM(BOTH ',' FROM REPLACE(
                 CONCAT(',', @@SESSION.sql_mode, ','), ',PAD_CHAR_TO_FULL_LENGTH,', ','))",
    )
    .await
    .map_err(|e| SnapshotError::Connect(format!("setting up the snapshot session: {e}")))
}

/// The rows of one chunk, values already MessagePack.
#[derive(Debug, Default)]
pub(crate) struct ChunkRows {
    /// Every value of every row, back to back.
    pub buf: Vec<u8>,
    /// Per row, `ncols + 1` offsets into `buf`: column `i` of row `r` is
    /// `buf[offsets[r * (n + 1) + i]..offsets[r * (n + 1) + i + 1]]`.
    pub offsets: Vec<usize>,
    pub rows: usize,
    /// Per row, its key in `key_buf`: a map of primary-key column name ->
    /// value in key order, the bytes the decoder writes as a message key.
    pub keys: Vec<Range<usize>>,
    pub key_buf: Vec<u8>,
    /// The primary key of the last row, for the next chunk's query.
    pub last_key: Option<Vec<KeyValue>>,
}

impl ChunkRows {
    pub(crate) fn clear(&mut self) {
        self.buf.clear();
        self.offsets.clear();
        self.rows = 0;
        self.keys.clear();
        self.key_buf.clear();
        self.last_key = None;
    }

    /// Column `col` of row `row` (`ncols` columns per row).
    pub(crate) fn value(&self, ncols: usize, row: usize, col: usize) -> &[u8] {
        let at = row * (ncols + 1) + col;
        &self.buf[self.offsets[at]..self.offsets[at + 1]]
    }

    /// Row `row`'s key.
    pub(crate) fn key(&self, row: usize) -> &[u8] {
        &self.key_buf[self.keys[row].clone()]
    }
}

/// The keyset condition for the rows after `after` in key order, written
/// so the server can use the key as a range (`a >= ? AND (a > ? OR (a = ?
/// AND b > ?))`, not a row constructor, which older servers do not), and
/// its parameters.
fn keyset(key: &[&str], after: &[KeyValue]) -> (String, Vec<Value>) {
    let cols: Vec<String> = key.iter().map(|c| quote(c)).collect();
    let mut params = Vec::new();
    let mut alternatives = Vec::new();
    for i in 0..cols.len() {
        let mut terms = Vec::new();
        for (c, v) in cols[..i].iter().zip(after) {
            terms.push(format!("{c} = ?"));
            params.push(v.to_param());
        }
        terms.push(format!("{} > ?", cols[i]));
        params.push(after[i].to_param());
        alternatives.push(match terms.len() {
            1 => terms.remove(0),
            _ => format!("({})", terms.join(" AND ")),
        });
    }
    if cols.len() == 1 {
        return (alternatives.remove(0), params);
    }
    // The leading `>=` gives the optimizer a range on the first column.
    params.insert(0, after[0].to_param());
    let sql = format!("{} >= ? AND ({})", cols[0], alternatives.join(" OR "));
    (sql, params)
}

/// Reads up to `limit` rows after `after` (from the first row when `None`)
/// that match `condition`, into `out` (cleared first). Fewer than `limit`
/// rows: the table is done.
pub(crate) async fn read_chunk(
    conn: &mut Conn,
    t: &SnapshotTable,
    after: Option<&[KeyValue]>,
    condition: Option<&str>,
    limit: usize,
    out: &mut ChunkRows,
) -> Result<(), SnapshotError> {
    out.clear();
    let schema = &t.schema;
    let (db, table) = (&*schema.name.db, &*schema.name.table);
    let err = |what: &'static str| {
        move |source: mysql_async::Error| match source {
            mysql_async::Error::Server(ref e) if e.code == 1142 => SnapshotError::Denied {
                db: db.into(),
                table: table.into(),
            },
            source => SnapshotError::Query {
                db: db.into(),
                table: table.into(),
                what,
                source,
            },
        }
    };
    if schema.primary_key.is_empty() {
        return Err(SnapshotError::BadValue {
            db: db.into(),
            table: table.into(),
            column: String::new(),
            what: "primary key",
            reason: "the table has no primary key: chunks are read in primary-key order".into(),
        });
    }
    let key: Vec<&str> = schema
        .primary_key
        .iter()
        .map(|&i| &*schema.columns[i].name)
        .collect();
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    if let Some(after) = after {
        let (sql, p) = keyset(&key, after);
        conditions.push(sql);
        params = p;
    }
    if let Some(c) = condition {
        conditions.push(format!("({c})"));
    }
    let filter = match conditions.is_empty() {
        true => String::new(),
        false => format!(" WHERE {}", conditions.join(" AND ")),
    };
    let sql = format!(
        "SELECT {} FROM {}.{}{filter} ORDER BY {} LIMIT {limit}",
        t.select_list,
        quote(db),
        quote(table),
        t.key_order
    );
    let params = if params.is_empty() {
        mysql_async::Params::Empty
    } else {
        mysql_async::Params::Positional(params)
    };
    let mut result = conn
        .exec_iter(sql, params)
        .await
        .map_err(err("running the chunk query"))?;
    let mut last: Option<Row> = None;
    while let Some(row) = result
        .next()
        .await
        .map_err(err("reading the chunk's rows"))?
    {
        add_row(t, &row, out)?;
        last = Some(row);
    }
    if let Some(row) = last {
        out.last_key = Some(last_key(t, &row)?);
    }
    Ok(())
}

/// Converts one row into `out`: its values, then its key from them.
fn add_row(t: &SnapshotTable, row: &Row, out: &mut ChunkRows) -> Result<(), SnapshotError> {
    let schema = &t.schema;
    let base = out.offsets.len();
    out.offsets.push(out.buf.len());
    for (i, column) in schema.columns.iter().enumerate() {
        let v = row.as_ref(i).unwrap_or(&Value::NULL);
        value::write(&column.kind, v, &mut out.buf).map_err(|reason| bad(t, i, reason))?;
        out.offsets.push(out.buf.len());
    }
    let start = out.key_buf.len();
    write_map_header(&mut out.key_buf, schema.primary_key.len());
    for &i in &schema.primary_key {
        extend_short(&mut out.key_buf, schema.columns[i].name_mp.bytes());
        let range = out.offsets[base + i]..out.offsets[base + i + 1];
        out.key_buf.extend_from_slice(&out.buf[range]);
    }
    out.keys.push(start..out.key_buf.len());
    out.rows += 1;
    Ok(())
}

fn last_key(t: &SnapshotTable, row: &Row) -> Result<Vec<KeyValue>, SnapshotError> {
    let schema = &t.schema;
    schema
        .primary_key
        .iter()
        .map(|&i| {
            let v = row.as_ref(i).unwrap_or(&Value::NULL);
            value::key_value(&schema.columns[i].kind, v).map_err(|reason| bad(t, i, reason))
        })
        .collect()
}

#[cold]
fn bad(t: &SnapshotTable, col: usize, reason: String) -> SnapshotError {
    let c = &t.schema.columns[col];
    SnapshotError::BadValue {
        db: t.schema.name.db.to_string(),
        table: t.schema.name.table.to_string(),
        column: c.name.to_string(),
        what: c.type_name,
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keyset_conditions_are_index_friendly() {
        let (sql, params) = keyset(&["id"], &[KeyValue::Int(5)]);
        assert_eq!(sql, "`id` > ?");
        assert_eq!(params, [Value::Int(5)]);
        let after = [
            KeyValue::Int(1),
            KeyValue::Text("é".into()),
            KeyValue::UInt(3),
        ];
        let (sql, params) = keyset(&["a", "b`c", "d"], &after);
        assert_eq!(
            sql,
            "`a` >= ? AND (`a` > ? OR (`a` = ? AND `b``c` > ?) OR (`a` = ? AND `b``c` = ? AND `d` > ?))"
        );
        let p = |k: &KeyValue| k.to_param();
        let (a, b, d) = (p(&after[0]), p(&after[1]), p(&after[2]));
        assert_eq!(
            params,
            [a.clone(), a.clone(), a.clone(), b.clone(), a, b, d]
        );
    }
}
