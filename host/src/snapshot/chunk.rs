//! One chunk of a table: the rows after a primary key, in key order, read
//! with a prepared `SELECT` (binary protocol: exact FLOAT and DOUBLE bits,
//! dates and times as numbers) and converted as they stream in.

use std::ops::Range;

use mysql_async::prelude::Queryable;
use mysql_async::{Conn, Row, Value};

use super::columns::{quote, SnapshotTable};
use super::{value, KeyValue, SnapshotError};
use crate::decode::charset::Charset;
use crate::decode::schema::{Column, ColumnKind, TableSchema};
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

/// The rows of one chunk, already MessagePack: each row as the body of its
/// after map, so that a row whose every column is shown joins the stream
/// with one copy.
#[derive(Debug, Default)]
pub(crate) struct ChunkRows {
    /// Every row's columns as name/value pairs, in table order, back to
    /// back.
    pub buf: Vec<u8>,
    /// Per row, `ncols + 1` offsets into `buf`: the pair of column `i` of
    /// row `r` is `buf[offsets[r * (n + 1) + i]..offsets[r * (n + 1) + i + 1]]`.
    pub offsets: Vec<usize>,
    /// Per column, the length of its name in a pair: its value follows.
    pub name_lens: Vec<usize>,
    pub rows: usize,
    /// Per row, its key in `key_buf`: a map of primary-key column name ->
    /// value in key order, the bytes the decoder writes as a message key.
    pub keys: Vec<Range<usize>>,
    pub key_buf: Vec<u8>,
    /// The primary key of the last row, for the next chunk's query.
    pub last_key: Option<Vec<KeyValue>>,
}

/// How large a chunk's buffers grew, to size the next chunk's.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct ChunkSizes {
    buf: usize,
    offsets: usize,
    keys: usize,
    key_buf: usize,
}

impl ChunkRows {
    /// Empty, with room for a chunk of `like`'s size (the last chunk of the
    /// same table): a chunk's buffers are megabytes, and growing them by
    /// doubling copies each about once more.
    pub(crate) fn with_room(like: ChunkSizes) -> ChunkRows {
        // A little over, so a chunk slightly larger than the last needs
        // no final doubling.
        let room = |n: usize| n + n / 8;
        ChunkRows {
            buf: Vec::with_capacity(room(like.buf)),
            offsets: Vec::with_capacity(room(like.offsets)),
            keys: Vec::with_capacity(room(like.keys)),
            key_buf: Vec::with_capacity(room(like.key_buf)),
            ..ChunkRows::default()
        }
    }

    pub(crate) fn sizes(&self) -> ChunkSizes {
        ChunkSizes {
            buf: self.buf.len(),
            offsets: self.offsets.len(),
            keys: self.keys.len(),
            key_buf: self.key_buf.len(),
        }
    }

    /// Empties it for rows of `schema`.
    pub(super) fn begin(&mut self, schema: &TableSchema) {
        self.buf.clear();
        self.offsets.clear();
        self.name_lens.clear();
        self.name_lens
            .extend(schema.columns.iter().map(|c| c.name_mp.bytes().len()));
        self.rows = 0;
        self.keys.clear();
        self.key_buf.clear();
        self.last_key = None;
    }

    /// The value of column `col` of row `row` (`ncols` columns per row).
    pub(crate) fn value(&self, ncols: usize, row: usize, col: usize) -> &[u8] {
        let at = row * (ncols + 1) + col;
        &self.buf[self.offsets[at] + self.name_lens[col]..self.offsets[at + 1]]
    }

    /// Column `col` of row `row` as a map entry: its name, then its value.
    pub(crate) fn pair(&self, ncols: usize, row: usize, col: usize) -> &[u8] {
        let at = row * (ncols + 1) + col;
        &self.buf[self.offsets[at]..self.offsets[at + 1]]
    }

    /// Every column of row `row` as map entries: an after map's body.
    pub(crate) fn body(&self, ncols: usize, row: usize) -> &[u8] {
        let at = row * (ncols + 1);
        &self.buf[self.offsets[at]..self.offsets[at + ncols]]
    }

    /// Row `row`'s key.
    pub(crate) fn key(&self, row: usize) -> &[u8] {
        &self.key_buf[self.keys[row].clone()]
    }
}

/// A primary-key column as the keyset condition writes it.
struct KeyColumn {
    /// The quoted name.
    name: String,
    /// What to cast the value to, if anything.
    cast: Option<String>,
}

impl KeyColumn {
    fn new(column: &Column) -> KeyColumn {
        let cast = match column.kind {
            // MariaDB's INET4/INET6/UUID parse a text value as an address
            // or UUID; as binary they take its bytes, which is what the
            // key holds. The same is harmless for BINARY(n).
            ColumnKind::FixedString {
                charset: Charset::Binary,
                max_len,
                ..
            } => Some(format!("BINARY({max_len})")),
            _ => None,
        };
        KeyColumn {
            name: quote(&column.name),
            cast,
        }
    }

    /// The placeholder for `v` in a comparison with this column, and the
    /// parameter. Bytes travel as hex: the binary protocol sends every
    /// string parameter in the client's charset, where bytes that are not
    /// valid UTF-8 would not reach the comparison intact.
    fn bind(&self, v: &KeyValue) -> (String, Value) {
        let (placeholder, param) = match v {
            KeyValue::Bytes(b) => {
                let hex: String = b.iter().map(|x| format!("{x:02X}")).collect();
                ("UNHEX(?)", Value::Bytes(hex.into_bytes()))
            }
            other => ("?", other.to_param()),
        };
        match &self.cast {
            Some(to) => (format!("CAST({placeholder} AS {to})"), param),
            None => (placeholder.to_string(), param),
        }
    }
}

/// The keyset condition for the rows after `after` in key order, written
/// so the server can use the key as a range (`a >= ? AND (a > ? OR (a = ?
/// AND b > ?))`, not a row constructor, which older servers do not), and
/// its parameters.
fn keyset(key: &[KeyColumn], after: &[KeyValue]) -> (String, Vec<Value>) {
    let mut params = Vec::new();
    let mut term = |k: &KeyColumn, op: &str, v: &KeyValue| {
        let (placeholder, param) = k.bind(v);
        params.push(param);
        format!("{} {op} {placeholder}", k.name)
    };
    // The leading `>=` gives the optimizer a range on the first column.
    let lead = (key.len() > 1).then(|| term(&key[0], ">=", &after[0]));
    let mut alternatives = Vec::new();
    for i in 0..key.len() {
        let mut terms: Vec<String> = (0..i).map(|j| term(&key[j], "=", &after[j])).collect();
        terms.push(term(&key[i], ">", &after[i]));
        alternatives.push(match terms.len() {
            1 => terms.remove(0),
            _ => format!("({})", terms.join(" AND ")),
        });
    }
    let sql = match lead {
        None => alternatives.remove(0),
        Some(lead) => format!("{lead} AND ({})", alternatives.join(" OR ")),
    };
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
    let schema = &t.schema;
    out.begin(schema);
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
    let key: Vec<KeyColumn> = schema
        .primary_key
        .iter()
        .map(|&i| KeyColumn::new(&schema.columns[i]))
        .collect();
    let mut conditions = Vec::new();
    let mut params = Vec::new();
    if let Some(after) = after {
        if after.len() != key.len() {
            // A resume key from before the primary key changed.
            return Err(SnapshotError::BadValue {
                db: db.into(),
                table: table.into(),
                column: String::new(),
                what: "primary key",
                reason: format!(
                    "the key to resume after has {} values but the primary key has {} columns \
                     (it changed since): request a new snapshot of the table",
                    after.len(),
                    key.len()
                ),
            });
        }
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

/// Converts one row into `out` (begun for `t`): its name/value pairs,
/// then its key from them.
pub(super) fn add_row(
    t: &SnapshotTable,
    row: &Row,
    out: &mut ChunkRows,
) -> Result<(), SnapshotError> {
    let schema = &t.schema;
    let base = out.offsets.len();
    out.offsets.push(out.buf.len());
    for (i, column) in schema.columns.iter().enumerate() {
        let v = row.as_ref(i).unwrap_or(&Value::NULL);
        extend_short(&mut out.buf, column.name_mp.bytes());
        value::write(&column.kind, v, &mut out.buf).map_err(|reason| bad(t, i, reason))?;
        out.offsets.push(out.buf.len());
    }
    let start = out.key_buf.len();
    write_map_header(&mut out.key_buf, schema.primary_key.len());
    for &i in &schema.primary_key {
        let pair = &out.buf[out.offsets[base + i]..out.offsets[base + i + 1]];
        extend_short(&mut out.key_buf, pair);
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

    fn column(name: &str, kind: ColumnKind) -> Column {
        Column {
            name: name.into(),
            name_mp: crate::event::msgpack::PreEncoded::str(name),
            kind,
            type_name: "",
            nullable: true,
        }
    }

    #[test]
    fn keyset_conditions_are_index_friendly() {
        let int = || ColumnKind::Int {
            bytes: 4,
            unsigned: false,
        };
        let id = [KeyColumn::new(&column("id", int()))];
        let (sql, params) = keyset(&id, &[KeyValue::Int(5)]);
        assert_eq!(sql, "`id` > ?");
        assert_eq!(params, [Value::Int(5)]);
        let inet6 = ColumnKind::FixedString {
            len_bytes: 1,
            max_len: 16,
            charset: Charset::Binary,
        };
        let key = [
            KeyColumn::new(&column("a", int())),
            KeyColumn::new(&column("b`c", inet6)),
            KeyColumn::new(&column("d", int())),
        ];
        let after = [
            KeyValue::Int(1),
            KeyValue::Bytes(vec![0; 16]),
            KeyValue::UInt(3),
        ];
        let (sql, params) = keyset(&key, &after);
        let b = "`b``c`";
        let bp = "CAST(UNHEX(?) AS BINARY(16))";
        assert_eq!(
            sql,
            format!(
                "`a` >= ? AND (`a` > ? OR (`a` = ? AND {b} > {bp}) OR (`a` = ? AND {b} = {bp} AND `d` > ?))"
            )
        );
        let p = |k: &KeyValue| k.to_param();
        let (a, d) = (p(&after[0]), p(&after[2]));
        let b = Value::Bytes(b"00000000000000000000000000000000".to_vec());
        assert_eq!(
            params,
            [a.clone(), a.clone(), a.clone(), b.clone(), a, b, d]
        );
    }
}
