//! On-demand snapshot requests. `sluice snapshot` inserts a row into the
//! signal table of the source database; the running Sluice sees the insert
//! in the binlog like any change, so the request is ordered with the
//! changes around it and needs no channel of its own to the process.

use mysql_async::prelude::Queryable;
use mysql_async::Conn;

use super::catalog::ident;
use super::{SignalTable, SnapshotError};
use crate::route::glob::TablePattern;

/// The signal table's database, created when missing.
pub(crate) const CREATE_DATABASE: &str = "CREATE DATABASE IF NOT EXISTS {db}";

/// The signal table; `{table}` is its quoted `db.table`. utf8mb4 so table
/// names in any script arrive intact (MariaDB's default charset is latin1).
pub(crate) const CREATE_TABLE: &str = "CREATE TABLE IF NOT EXISTS {table} (\
id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, \
tables TEXT NOT NULL, \
where_sql TEXT NULL, \
requested_by VARCHAR(255) NULL, \
requested_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3)\
) DEFAULT CHARSET = utf8mb4";

/// Server error codes the request tells apart.
const ER_DBACCESS_DENIED: u16 = 1044;
const ER_TABLEACCESS_DENIED: u16 = 1142;
const ER_BAD_DB: u16 = 1049;
const ER_NO_SUCH_TABLE: u16 = 1146;

/// A request read back from the binlog.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Signal {
    pub id: u64,
    pub patterns: Vec<TablePattern>,
    /// Only rows matching this SQL condition; `None` for every row.
    pub condition: Option<String>,
}

/// Writes one request and returns its id. The table (and its database) is
/// created only when the insert finds it missing, so a user who may only
/// insert into an existing table needs no `CREATE`.
pub(crate) async fn request(
    conn: &mut Conn,
    table: &SignalTable,
    patterns: &[String],
    condition: Option<&str>,
) -> Result<u64, SnapshotError> {
    let tables = patterns.join(" ");
    let inserted = match insert(conn, table, &tables, condition).await {
        Err(e) if matches!(code(&e), Some(ER_NO_SUCH_TABLE | ER_BAD_DB)) => {
            create(conn, table).await?;
            insert(conn, table, &tables, condition).await
        }
        other => other,
    };
    match inserted {
        Ok(id) => Ok(id),
        Err(e) => Err(failure(conn, table, Step::Insert, e).await),
    }
}

/// Whether `sluice snapshot` could write a request now, as `sluice check`
/// reports it.
#[derive(Debug)]
pub(crate) enum Access {
    /// The user may insert into the table.
    Writable,
    /// The table (or its database) does not exist yet: the first request
    /// creates it, which needs `CREATE`.
    Missing,
    /// Refused (the error names the GRANT), or the server failed otherwise.
    Refused(SnapshotError),
}

/// Finds out without writing anything: the server plans an insert
/// (`EXPLAIN INSERT`) only when the user has the privilege to run it.
pub(crate) async fn access(conn: &mut Conn, table: &SignalTable) -> Access {
    let sql = format!("EXPLAIN INSERT INTO {} (tables) VALUES ('')", quoted(table));
    match conn.query_drop(sql).await {
        Ok(()) => Access::Writable,
        Err(e) if matches!(code(&e), Some(ER_NO_SUCH_TABLE | ER_BAD_DB)) => Access::Missing,
        Err(e) => Access::Refused(failure(conn, table, Step::Insert, e).await),
    }
}

/// What the request was doing when the server refused.
#[derive(Clone, Copy, Debug)]
enum Step {
    CreateDatabase,
    CreateTable,
    Insert,
}

async fn insert(
    conn: &mut Conn,
    table: &SignalTable,
    tables: &str,
    condition: Option<&str>,
) -> Result<u64, mysql_async::Error> {
    let sql = format!(
        "INSERT INTO {} (tables, where_sql, requested_by) VALUES (?, ?, USER())",
        quoted(table)
    );
    conn.exec_drop(sql, (tables, condition)).await?;
    Ok(conn.last_insert_id().unwrap_or(0))
}

async fn create(conn: &mut Conn, table: &SignalTable) -> Result<(), SnapshotError> {
    let create_table = CREATE_TABLE.replace("{table}", &quoted(table));
    match conn.query_drop(&create_table).await {
        Err(e) if code(&e) == Some(ER_BAD_DB) => {
            let create_db = CREATE_DATABASE.replace("{db}", &ident(&table.db));
            if let Err(e) = conn.query_drop(create_db).await {
                return Err(failure(conn, table, Step::CreateDatabase, e).await);
            }
            match conn.query_drop(&create_table).await {
                Ok(()) => Ok(()),
                Err(e) => Err(failure(conn, table, Step::CreateTable, e).await),
            }
        }
        Ok(()) => Ok(()),
        Err(e) => Err(failure(conn, table, Step::CreateTable, e).await),
    }
}

/// A refusal names the GRANT that fixes it; anything else is passed on.
async fn failure(
    conn: &mut Conn,
    table: &SignalTable,
    step: Step,
    source: mysql_async::Error,
) -> SnapshotError {
    let denied = matches!(
        code(&source),
        Some(ER_DBACCESS_DENIED | ER_TABLEACCESS_DENIED)
    );
    if !denied {
        let what = match step {
            Step::CreateDatabase => "creating the database of",
            Step::CreateTable => "creating",
            Step::Insert => "inserting into",
        };
        return SnapshotError::Signal {
            table: table.to_string(),
            what,
            source,
        };
    }
    // The server checks privileges before existence, so a refused insert
    // does not tell whether the table exists.
    let (action, grant, on, hint) = match step {
        Step::CreateDatabase => (
            "create the database of",
            "CREATE, INSERT",
            format!("{}.*", ident(&table.db)),
            "",
        ),
        Step::CreateTable => ("create", "CREATE, INSERT", quoted(table), ""),
        Step::Insert => (
            "insert into",
            "INSERT",
            quoted(table),
            " (and CREATE as well while the table does not exist: sluice creates it)",
        ),
    };
    SnapshotError::SignalDenied {
        table: table.to_string(),
        user: current_user(conn).await,
        action,
        grant,
        on,
        hint,
    }
}

/// The account the server checks privileges of, as GRANT names it
/// (`'sluice'@'%'`).
async fn current_user(conn: &mut Conn) -> String {
    let account: Option<String> = conn
        .query_first("SELECT CURRENT_USER()")
        .await
        .ok()
        .flatten();
    match account.as_deref().and_then(|a| a.rsplit_once('@')) {
        Some((user, host)) => format!("'{user}'@'{host}'"),
        None => "<sluice's user>".into(),
    }
}

fn code(e: &mysql_async::Error) -> Option<u16> {
    match e {
        mysql_async::Error::Server(s) => Some(s.code),
        _ => None,
    }
}

fn quoted(table: &SignalTable) -> String {
    format!("{}.{}", ident(&table.db), ident(&table.table))
}

/// The patterns of a request: globs as `[[rules]] tables` takes them,
/// separated by spaces and/or commas.
pub(crate) fn patterns(list: &str) -> Result<Vec<TablePattern>, String> {
    let patterns = list
        .split(|c: char| c == ',' || c.is_whitespace())
        .filter(|p| !p.is_empty())
        .map(TablePattern::parse)
        .collect::<Result<Vec<_>, _>>()?;
    if patterns.is_empty() {
        return Err(
            "no table patterns: name at least one, e.g. \"shop.orders\" or \"shop.*\"".into(),
        );
    }
    Ok(patterns)
}

/// Reads an inserted signal row's `after` image (a MessagePack map of
/// column name to value, as the decoder writes it).
pub(crate) fn parse(after: &[u8]) -> Result<Signal, String> {
    let value = rmpv::decode::read_value(&mut &after[..])
        .map_err(|e| format!("the row is not MessagePack: {e}"))?;
    let rmpv::Value::Map(columns) = value else {
        return Err("the row is not a map of columns".into());
    };
    let column = |name: &str| {
        columns
            .iter()
            .find(|(k, _)| k.as_str() == Some(name))
            .map(|(_, v)| v)
            .ok_or_else(|| {
                format!("no `{name}` column (the signal table needs id, tables and where_sql, and binlog_row_image=FULL)")
            })
    };
    let id = column("id")?
        .as_u64()
        .ok_or("`id` is not an unsigned integer")?;
    let tables = column("tables")?.as_str().ok_or("`tables` is not text")?;
    let patterns = patterns(tables).map_err(|e| format!("request {id}: {e}"))?;
    let condition = match column("where_sql")? {
        rmpv::Value::Nil => None,
        v => {
            let text = v.as_str().ok_or("`where_sql` is not text")?.trim();
            (!text.is_empty()).then(|| text.to_string())
        }
    };
    Ok(Signal {
        id,
        patterns,
        condition,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An `after` image with these columns, as the decoder writes it.
    fn row(columns: &[(&str, rmpv::Value)]) -> Vec<u8> {
        let map = rmpv::Value::Map(
            columns
                .iter()
                .map(|(k, v)| (rmpv::Value::from(*k), v.clone()))
                .collect(),
        );
        let mut out = Vec::new();
        rmpv::encode::write_value(&mut out, &map).unwrap();
        out
    }

    fn signal_row(tables: &str, where_sql: rmpv::Value) -> Vec<u8> {
        row(&[
            ("id", rmpv::Value::from(7u64)),
            ("tables", rmpv::Value::from(tables)),
            ("where_sql", where_sql),
            ("requested_by", rmpv::Value::from("root@localhost")),
            (
                "requested_at",
                rmpv::Value::from("2024-01-02T03:04:05.000Z"),
            ),
        ])
    }

    fn pattern(s: &str) -> TablePattern {
        TablePattern::parse(s).unwrap()
    }

    #[test]
    fn a_row_becomes_a_signal() {
        let s = parse(&signal_row("shop.orders, crm.*  shop2", rmpv::Value::Nil)).unwrap();
        assert_eq!(
            s,
            Signal {
                id: 7,
                patterns: vec![pattern("shop.orders"), pattern("crm.*"), pattern("shop2.*")],
                condition: None,
            }
        );
        let s = parse(&signal_row("a.b", rmpv::Value::from(" id > 5 "))).unwrap();
        assert_eq!(s.condition.as_deref(), Some("id > 5"));
        let s = parse(&signal_row("a.b", rmpv::Value::from(""))).unwrap();
        assert_eq!(s.condition, None, "an empty condition is none");
    }

    #[test]
    fn a_bad_row_says_what_is_wrong() {
        let err = parse(&signal_row(" , ", rmpv::Value::Nil)).unwrap_err();
        assert!(err.starts_with("request 7: no table patterns"), "{err}");
        let err = parse(&signal_row("shop.orders .x", rmpv::Value::Nil)).unwrap_err();
        assert!(err.contains("`.x` is not a table pattern"), "{err}");
        let err = parse(&row(&[("id", rmpv::Value::from(1u64))])).unwrap_err();
        assert!(err.starts_with("no `tables` column"), "{err}");
        let err = parse(&row(&[
            ("id", rmpv::Value::from(-1i64)),
            ("tables", rmpv::Value::from("a.b")),
            ("where_sql", rmpv::Value::Nil),
        ]))
        .unwrap_err();
        assert_eq!(err, "`id` is not an unsigned integer");
        let err = parse(&row(&[
            ("id", rmpv::Value::from(1u64)),
            ("tables", rmpv::Value::Binary(b"a.b".to_vec())),
            ("where_sql", rmpv::Value::Nil),
        ]))
        .unwrap_err();
        assert_eq!(err, "`tables` is not text");
        assert!(parse(b"\x93\x01\x02\x03")
            .unwrap_err()
            .contains("not a map"));
        assert!(parse(b"\x82\xa2id")
            .unwrap_err()
            .contains("not MessagePack"));
    }

    #[test]
    fn names_are_quoted_for_sql() {
        let t = SignalTable {
            db: "ops".into(),
            table: "sig`nals".into(),
        };
        assert_eq!(quoted(&t), "`ops`.`sig``nals`");
        assert!(CREATE_TABLE
            .replace("{table}", &quoted(&t))
            .starts_with("CREATE TABLE IF NOT EXISTS `ops`.`sig``nals` (id BIGINT UNSIGNED"));
    }
}
