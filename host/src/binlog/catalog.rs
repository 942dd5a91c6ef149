//! What the server's catalog says about its tables: which exist, and their
//! primary keys. Used by `sluice check`, not while streaming (the stream
//! learns tables from its table maps).

use std::collections::BTreeMap;

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::BinlogError;

/// A base table and its primary-key columns, in key order (empty without
/// a primary key).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct CatalogTable {
    pub db: String,
    pub table: String,
    pub primary_key: Vec<String>,
}

/// Every base table on the server, ordered by database and name.
pub(crate) async fn tables(conn: &mut Conn) -> Result<Vec<CatalogTable>, BinlogError> {
    let q = |what: &'static str| {
        move |e: mysql_async::Error| BinlogError::Query {
            what,
            reason: e.to_string(),
        }
    };
    let tables: Vec<(String, String)> = conn
        .query("SELECT TABLE_SCHEMA, TABLE_NAME FROM information_schema.TABLES WHERE TABLE_TYPE = 'BASE TABLE' ORDER BY 1, 2")
        .await
        .map_err(q("listing tables"))?;
    let pk_rows: Vec<(String, String, String)> = conn
        .query("SELECT TABLE_SCHEMA, TABLE_NAME, COLUMN_NAME FROM information_schema.KEY_COLUMN_USAGE WHERE CONSTRAINT_NAME = 'PRIMARY' ORDER BY TABLE_SCHEMA, TABLE_NAME, ORDINAL_POSITION")
        .await
        .map_err(q("reading primary keys"))?;
    Ok(join(tables, pk_rows))
}

/// Attaches each table's key columns (already in key order).
fn join(
    tables: Vec<(String, String)>,
    pk_rows: Vec<(String, String, String)>,
) -> Vec<CatalogTable> {
    let mut pks: BTreeMap<(String, String), Vec<String>> = BTreeMap::new();
    for (db, t, c) in pk_rows {
        pks.entry((db, t)).or_default().push(c);
    }
    tables
        .into_iter()
        .map(|(db, table)| CatalogTable {
            primary_key: pks.remove(&(db.clone(), table.clone())).unwrap_or_default(),
            db,
            table,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn s(v: &str) -> String {
        v.to_string()
    }

    #[test]
    fn key_columns_join_their_tables_in_order() {
        let got = join(
            vec![(s("a"), s("t")), (s("b"), s("u"))],
            vec![(s("b"), s("u"), s("k1")), (s("b"), s("u"), s("k2"))],
        );
        assert_eq!(got[0].primary_key, Vec::<String>::new());
        assert_eq!(got[1].primary_key, vec![s("k1"), s("k2")]);
        assert_eq!((got[1].db.as_str(), got[1].table.as_str()), ("b", "u"));
    }
}
