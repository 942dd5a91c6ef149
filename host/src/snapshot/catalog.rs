//! The tables a snapshot could read, with the server's estimates of their
//! size, and whether Sluice's user may read them. `sluice check` reports
//! these before anything is read.

use std::collections::HashSet;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::SnapshotError;
use crate::route::is_system_schema;

/// `SELECT` refused on a table, or on a column of it.
const ER_TABLEACCESS_DENIED: u16 = 1142;
const ER_COLUMNACCESS_DENIED: u16 = 1143;

/// A base table and the server's estimates of it (InnoDB's are sampled
/// statistics, so approximate).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct TableInfo {
    pub db: String,
    pub table: String,
    pub rows_estimate: u64,
    /// Bytes of row data (indexes left out: a snapshot reads rows).
    pub bytes_estimate: u64,
    pub has_primary_key: bool,
}

/// Every base table outside the server's own schemas that the user can
/// see, ordered by database and name.
pub(crate) async fn list_tables(conn: &mut Conn) -> Result<Vec<TableInfo>, SnapshotError> {
    let query_err = |what: &'static str| {
        move |source| SnapshotError::Query {
            db: "information_schema".into(),
            table: "TABLES".into(),
            what,
            source,
        }
    };
    let tables: Vec<(String, String, u64, u64)> = conn
        .query(
            "SELECT TABLE_SCHEMA, TABLE_NAME, COALESCE(TABLE_ROWS, 0), COALESCE(DATA_LENGTH, 0) \
             FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY 1, 2",
        )
        .await
        .map_err(query_err("listing tables"))?;
    // KEY_COLUMN_USAGE, not TABLE_CONSTRAINTS: MariaDB 10.11 shows a user
    // with table-level privileges only no rows of the latter.
    let keyed: HashSet<(String, String)> = conn
        .query(
            "SELECT DISTINCT TABLE_SCHEMA, TABLE_NAME FROM information_schema.KEY_COLUMN_USAGE \
             WHERE CONSTRAINT_NAME = 'PRIMARY'",
        )
        .await
        .map_err(query_err("listing primary keys"))?
        .into_iter()
        .collect();
    Ok(tables
        .into_iter()
        .filter(|(db, ..)| !is_system_schema(db))
        .map(|(db, table, rows, bytes)| TableInfo {
            has_primary_key: keyed.contains(&(db.clone(), table.clone())),
            db,
            table,
            rows_estimate: rows,
            bytes_estimate: bytes,
        })
        .collect())
}

/// Whether the user may read every column of `db.table`, reading no row.
/// `SELECT *` rather than `SELECT 1`: a user with SELECT on some columns
/// only passes the latter, and a snapshot reads them all.
pub(crate) async fn check_select(
    conn: &mut Conn,
    db: &str,
    table: &str,
) -> Result<(), SnapshotError> {
    let sql = format!("SELECT * FROM {}.{} LIMIT 0", ident(db), ident(table));
    match conn.query_drop(sql).await {
        Ok(()) => Ok(()),
        Err(mysql_async::Error::Server(e))
            if matches!(e.code, ER_TABLEACCESS_DENIED | ER_COLUMNACCESS_DENIED) =>
        {
            Err(SnapshotError::Denied {
                db: db.into(),
                table: table.into(),
            })
        }
        Err(source) => Err(SnapshotError::Query {
            db: db.into(),
            table: table.into(),
            what: "checking the SELECT privilege",
            source,
        }),
    }
}

/// A name quoted for SQL: in backticks, a backtick in it doubled.
pub(crate) fn ident(name: &str) -> String {
    format!("`{}`", name.replace('`', "``"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_quoted() {
        assert_eq!(ident("orders"), "`orders`");
        assert_eq!(ident("a`b"), "`a``b`");
    }
}
