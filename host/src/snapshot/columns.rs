//! A table described for the chunk queries: its columns from
//! `information_schema`, resolved to the same [`TableSchema`] the binlog
//! decoder builds from a table map, so a row read with `SELECT` becomes the
//! same MessagePack as the row from the binlog ([`super::value`]).

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use mysql_async::prelude::Queryable;
use mysql_async::{from_value_opt, Conn, Row};

use super::SnapshotError;
use crate::decode::charset::{Charset, CharsetMap};
use crate::decode::schema::{Column, ColumnKind, TableSchema};
use crate::event::batch::TableName;
use crate::event::msgpack::PreEncoded;

mod kind;

/// A table ready for [`super::chunk::read_chunk`].
#[derive(Debug)]
pub(crate) struct SnapshotTable {
    pub schema: Arc<TableSchema>,
    /// The `SELECT` list: every column in table order, some through an
    /// expression that makes the server send what the binlog holds.
    pub select_list: String,
    /// The primary-key columns for `ORDER BY`: "`a`, `b`".
    pub key_order: String,
}

/// Binlog table ids are under 2^48; snapshot schemas count from 2^62 so
/// that caches keyed by table id (route plans) never mistake one for a
/// binlog table.
static NEXT_TABLE_ID: AtomicU64 = AtomicU64::new(1 << 62);

/// `name` quoted as an identifier.
pub(crate) fn quote(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

/// Describes `db`.`table`; `None` when it does not exist.
pub(crate) async fn describe(
    conn: &mut Conn,
    db: &str,
    table: &str,
    charsets: &CharsetMap,
) -> Result<Option<SnapshotTable>, SnapshotError> {
    let query = |what| {
        let (db, table) = (db.to_string(), table.to_string());
        move |source| SnapshotError::Query {
            db,
            table,
            what,
            source,
        }
    };
    let rows: Vec<Row> = conn
        .exec(
            "SELECT COLUMN_NAME, DATA_TYPE, COLUMN_TYPE, CHARACTER_SET_NAME, COLLATION_NAME,
                    CHARACTER_OCTET_LENGTH, NUMERIC_PRECISION, NUMERIC_SCALE, DATETIME_PRECISION,
                    IS_NULLABLE
             FROM information_schema.COLUMNS
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ? ORDER BY ORDINAL_POSITION",
            (db, table),
        )
        .await
        .map_err(query("reading its columns from information_schema.COLUMNS"))?;
    if rows.is_empty() {
        return exists_without_columns(conn, db, table).await;
    }
    let collations = collation_ids(conn)
        .await
        .map_err(query("reading information_schema.COLLATIONS"))?;
    let mut columns = Vec::with_capacity(rows.len());
    let mut select = Vec::with_capacity(rows.len());
    for row in &rows {
        let info = kind::ColumnInfo::from_row(row);
        let charset = collations.charset(&info, charsets);
        let (kind, type_name, expr) =
            kind::kind_of(&info, charset).map_err(|reason| SnapshotError::BadValue {
                db: db.to_string(),
                table: table.to_string(),
                column: info.name.clone(),
                what: "column type",
                reason,
            })?;
        select.push(expr.unwrap_or_else(|| quote(&info.name)));
        columns.push(Column {
            name_mp: PreEncoded::str(&info.name),
            name: info.name.as_str().into(),
            kind,
            type_name,
            nullable: info.nullable,
        });
    }
    let mut key_names = primary_key(conn, db, table).await.map_err(query(
        "reading its primary key from information_schema.STATISTICS",
    ))?;
    let implicit = implicit_period(conn, db, table, &columns)
        .await
        .map_err(query("looking for system-versioning columns"))?;
    if implicit {
        // MariaDB's hidden row_start/row_end: last in the row image, and
        // row_end part of the primary key the table map logs.
        for name in ["row_start", "row_end"] {
            select.push(quote(name));
            columns.push(Column {
                name_mp: PreEncoded::str(name),
                name: name.into(),
                kind: ColumnKind::Timestamp2 { fsp: 6 },
                type_name: "TIMESTAMP",
                nullable: false,
            });
        }
        if !key_names.is_empty() {
            key_names.push("row_end".into());
        }
    }
    let primary_key: Vec<usize> = key_names
        .iter()
        .filter_map(|k| columns.iter().position(|c| &*c.name == k))
        .collect();
    let key_order = key_names
        .iter()
        .map(|k| quote(k))
        .collect::<Vec<_>>()
        .join(", ");
    let schema = TableSchema {
        table_id: NEXT_TABLE_ID.fetch_add(1, Ordering::Relaxed),
        name: Arc::new(TableName {
            db: db.into(),
            table: table.into(),
        }),
        db_mp: PreEncoded::str(db),
        table_mp: PreEncoded::str(table),
        columns,
        primary_key,
        has_names: true,
        types: Default::default(),
    };
    Ok(Some(SnapshotTable {
        schema: Arc::new(schema),
        select_list: select.join(", "),
        key_order,
    }))
}

/// Whether the table is system-versioned with MariaDB's implicit period
/// columns (`WITH SYSTEM VERSIONING` alone): information_schema lists
/// neither them nor their place in the primary key, but the binlog image
/// has both. Explicit period columns are listed like any other.
async fn implicit_period(
    conn: &mut Conn,
    db: &str,
    table: &str,
    columns: &[Column],
) -> Result<bool, mysql_async::Error> {
    let row: Option<Row> = conn
        .exec_first(
            "SELECT TABLE_TYPE FROM information_schema.TABLES
             WHERE TABLE_SCHEMA = ? AND TABLE_NAME = ?",
            (db, table),
        )
        .await?;
    let listed = columns
        .iter()
        .any(|c| &*c.name == "row_start" || &*c.name == "row_end");
    let kind = row.and_then(|r| text(&r, 0));
    if kind.as_deref() != Some("SYSTEM VERSIONED") || listed {
        return Ok(false);
    }
    // Explicit period columns under other names: no such columns.
    let probe = format!(
        "SELECT row_start, row_end FROM {}.{} LIMIT 0",
        quote(db),
        quote(table)
    );
    match conn.query_drop(probe).await {
        Ok(()) => Ok(true),
        Err(mysql_async::Error::Server(e)) if e.code == 1054 => Ok(false),
        Err(e) => Err(e),
    }
}

/// No columns listed: the table does not exist, or the user may not see
/// it (information_schema hides tables without privileges), which a
/// direct query tells apart.
async fn exists_without_columns(
    conn: &mut Conn,
    db: &str,
    table: &str,
) -> Result<Option<SnapshotTable>, SnapshotError> {
    let sql = format!("SELECT 1 FROM {}.{} LIMIT 0", quote(db), quote(table));
    match conn.query_drop(sql).await {
        Err(mysql_async::Error::Server(e)) if e.code == 1142 => Err(SnapshotError::Denied {
            db: db.into(),
            table: table.into(),
        }),
        Err(mysql_async::Error::Server(e)) if e.code == 1146 || e.code == 1049 => Ok(None),
        Err(source) => Err(SnapshotError::Query {
            db: db.into(),
            table: table.into(),
            what: "checking that it exists",
            source,
        }),
        // Visible to a query but not to information_schema: nothing to
        // describe it with, so treat it as absent rather than guess.
        Ok(()) => Ok(None),
    }
}

/// The primary key's columns in key order. Without a PRIMARY KEY the
/// server takes the first UNIQUE index over NOT NULL columns as the
/// table's primary key (and logs it as such in the table map), so that
/// one, in the server's index order (the order STATISTICS lists them in).
async fn primary_key(
    conn: &mut Conn,
    db: &str,
    table: &str,
) -> Result<Vec<String>, mysql_async::Error> {
    let rows: Vec<Row> = conn
        .exec(
            "SELECT s.INDEX_NAME, s.COLUMN_NAME, s.SEQ_IN_INDEX, s.NON_UNIQUE,
                    (SELECT c.IS_NULLABLE FROM information_schema.COLUMNS c
                     WHERE c.TABLE_SCHEMA = s.TABLE_SCHEMA AND c.TABLE_NAME = s.TABLE_NAME
                       AND c.COLUMN_NAME = s.COLUMN_NAME)
             FROM information_schema.STATISTICS s
             WHERE s.TABLE_SCHEMA = ? AND s.TABLE_NAME = ? AND s.COLUMN_NAME IS NOT NULL",
            (db, table),
        )
        .await?;
    // Read cell by cell: a tuple conversion would panic on a surprise.
    let parts: Vec<IndexPart> = rows
        .iter()
        .map(|r| {
            let t = |i| text(r, i).unwrap_or_default();
            let n = |i| number(r, i).unwrap_or(0);
            (t(0), t(1), n(2), n(3), t(4))
        })
        .collect();
    Ok(pick_primary_key(&parts))
}

/// One column of an index: index, column, position in the index (from 1),
/// non-unique, `IS_NULLABLE` of the column.
type IndexPart = (String, String, u64, u64, String);

/// The key as the server chooses it (see [`primary_key`]).
fn pick_primary_key(rows: &[IndexPart]) -> Vec<String> {
    let mut order: Vec<&str> = Vec::new();
    for (index, ..) in rows {
        if !order.contains(&index.as_str()) {
            order.push(index);
        }
    }
    let parts = |index: &str| -> Vec<&IndexPart> {
        let mut p: Vec<&IndexPart> = rows.iter().filter(|r| r.0 == index).collect();
        p.sort_by_key(|r| r.2);
        p
    };
    let qualifies = |index: &str| parts(index).iter().all(|r| r.3 == 0 && r.4 == "NO");
    let chosen = if order.contains(&"PRIMARY") {
        Some("PRIMARY")
    } else {
        order.iter().copied().find(|i| qualifies(i))
    };
    chosen
        .map(|index| parts(index).iter().map(|r| r.1.clone()).collect())
        .unwrap_or_default()
}

/// Collation and charset names -> collation ids, for [`CharsetMap::get`].
struct Collations {
    by_collation: HashMap<String, u16>,
    by_charset: HashMap<String, u16>,
}

impl Collations {
    /// The charset of a column: `Binary` for binary strings (and columns
    /// without one). A collation without an id of its own (MariaDB 11's
    /// `uca1400` names) still has its charset, which is all the conversion
    /// depends on.
    fn charset(&self, info: &kind::ColumnInfo, charsets: &CharsetMap) -> Charset {
        if info.charset.is_none() && info.collation.is_none() {
            return Charset::Binary;
        }
        let id = info
            .collation
            .as_ref()
            .and_then(|c| self.by_collation.get(c))
            .or_else(|| info.charset.as_ref().and_then(|c| self.by_charset.get(c)));
        // Unresolved: the same guess as the decoder's without metadata.
        charsets.get(id.copied())
    }
}

async fn collation_ids(conn: &mut Conn) -> Result<Collations, mysql_async::Error> {
    let rows: Vec<Row> = conn
        .query(
            "SELECT COLLATION_NAME, CHARACTER_SET_NAME, ID FROM information_schema.COLLATIONS
             WHERE ID IS NOT NULL ORDER BY IS_DEFAULT = 'Yes' DESC",
        )
        .await?;
    let mut c = Collations {
        by_collation: HashMap::new(),
        by_charset: HashMap::new(),
    };
    for r in &rows {
        let (Some(collation), Some(charset), Some(id)) = (text(r, 0), text(r, 1), number(r, 2))
        else {
            continue;
        };
        let Ok(id) = u16::try_from(id) else { continue };
        c.by_collation.insert(collation, id);
        c.by_charset.entry(charset).or_insert(id);
    }
    Ok(c)
}

/// A cell of an information_schema row as text (`None` for NULL).
fn text(row: &Row, i: usize) -> Option<String> {
    row.as_ref(i)
        .and_then(|v| from_value_opt::<Option<String>>(v.clone()).ok())
        .flatten()
}

/// A cell of an information_schema row as a number (`None` for NULL).
fn number(row: &Row, i: usize) -> Option<u64> {
    row.as_ref(i)
        .and_then(|v| from_value_opt::<Option<u64>>(v.clone()).ok())
        .flatten()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(index: &str, column: &str, seq: u64, non_unique: u64, nullable: &str) -> IndexPart {
        (
            index.into(),
            column.into(),
            seq,
            non_unique,
            nullable.into(),
        )
    }

    #[test]
    fn identifiers_are_quoted_with_backticks_doubled() {
        assert_eq!(quote("a"), "`a`");
        assert_eq!(quote("we`ird"), "`we``ird`");
    }

    #[test]
    fn the_primary_key_or_the_first_unique_not_null_index() {
        let rows = [
            row("u", "c", 1, 0, "NO"),
            row("PRIMARY", "a", 2, 0, "NO"),
            row("PRIMARY", "b", 1, 0, "NO"),
        ];
        assert_eq!(pick_primary_key(&rows), ["b", "a"]);
        let rows = [
            row("nullable", "x", 1, 0, "YES"),
            row("plain", "y", 1, 1, "NO"),
            row("u2", "d", 2, 0, "NO"),
            row("u2", "c", 1, 0, "NO"),
            row("u3", "e", 1, 0, "NO"),
        ];
        assert_eq!(pick_primary_key(&rows), ["c", "d"]);
        assert!(pick_primary_key(&[row("plain", "y", 1, 1, "NO")]).is_empty());
    }
}
