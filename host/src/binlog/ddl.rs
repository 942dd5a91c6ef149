//! Recognising schema changes among the statements of the binlog. Only the
//! kind of statement and the table it names are read; no DDL is parsed
//! further, because column names come from the table maps.

/// A schema change worth telling consumers about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Ddl {
    /// e.g. `"CREATE TABLE"`, `"TRUNCATE TABLE"`, `"DROP DATABASE"`.
    pub kind: &'static str,
    /// The database the statement applies to: the one it names, or the
    /// session's current one.
    pub db: String,
    /// The table it names, when it names exactly one that can be read off
    /// simply; `None` for database statements.
    pub table: Option<String>,
}

const KINDS: &[(&str, &str, &str)] = &[
    ("CREATE", "TABLE", "CREATE TABLE"),
    ("ALTER", "TABLE", "ALTER TABLE"),
    ("DROP", "TABLE", "DROP TABLE"),
    ("RENAME", "TABLE", "RENAME TABLE"),
    ("TRUNCATE", "TABLE", "TRUNCATE TABLE"),
    ("CREATE", "INDEX", "CREATE INDEX"),
    ("DROP", "INDEX", "DROP INDEX"),
    ("CREATE", "DATABASE", "CREATE DATABASE"),
    ("CREATE", "SCHEMA", "CREATE DATABASE"),
    ("ALTER", "DATABASE", "ALTER DATABASE"),
    ("ALTER", "SCHEMA", "ALTER DATABASE"),
    ("DROP", "DATABASE", "DROP DATABASE"),
    ("DROP", "SCHEMA", "DROP DATABASE"),
];

/// Splits SQL into words and quoted identifiers, skipping comments.
fn tokens(sql: &str) -> Vec<String> {
    let mut out = Vec::new();
    let b = sql.as_bytes();
    let mut i = 0;
    while i < b.len() && out.len() < 16 {
        match b[i] {
            c if c.is_ascii_whitespace() => i += 1,
            b'/' if b.get(i + 1) == Some(&b'*') => {
                i = sql[i + 2..]
                    .find("*/")
                    .map(|e| i + 2 + e + 2)
                    .unwrap_or(b.len());
            }
            b'-' if b.get(i + 1) == Some(&b'-') => {
                i = sql[i..].find('\n').map(|e| i + e).unwrap_or(b.len())
            }
            b'#' => i = sql[i..].find('\n').map(|e| i + e).unwrap_or(b.len()),
            b'`' => {
                let end = sql[i + 1..].find('`').map(|e| i + 1 + e).unwrap_or(b.len());
                out.push(format!("`{}", &sql[i + 1..end]));
                i = end + 1;
            }
            b'.' | b'(' | b',' | b';' => {
                out.push((b[i] as char).to_string());
                i += 1;
            }
            _ => {
                let start = i;
                while i < b.len()
                    && !b[i].is_ascii_whitespace()
                    && !matches!(b[i], b'.' | b'(' | b',' | b';' | b'`')
                {
                    i += 1;
                }
                out.push(sql[start..i].to_string());
            }
        }
    }
    out
}

fn ident(t: &str) -> String {
    t.strip_prefix('`').unwrap_or(t).to_string()
}

/// Recognises a schema change; `None` for any other statement.
pub(crate) fn recognise(sql: &str, session_db: &str) -> Option<Ddl> {
    let t = tokens(sql);
    let up = |i: usize| t.get(i).map(|s| s.to_ascii_uppercase()).unwrap_or_default();
    let mut i = 1;
    // CREATE OR REPLACE TABLE (MariaDB), CREATE TEMPORARY TABLE, CREATE UNIQUE INDEX...
    while matches!(
        up(i).as_str(),
        "OR" | "REPLACE" | "TEMPORARY" | "UNIQUE" | "FULLTEXT" | "SPATIAL" | "ONLINE" | "IGNORE"
    ) {
        i += 1;
    }
    let (first, second) = (up(0), up(i));
    let kind = KINDS
        .iter()
        .find(|(a, b, _)| *a == first && *b == second)?
        .2;
    i += 1;
    while matches!(up(i).as_str(), "IF" | "NOT" | "EXISTS") {
        i += 1;
    }
    let name = t.get(i).map(|s| ident(s));
    if kind.ends_with("DATABASE") {
        return Some(Ddl {
            kind,
            db: name.unwrap_or_else(|| session_db.to_string()),
            table: None,
        });
    }
    if kind.ends_with("INDEX") {
        // CREATE INDEX i ON t (...) / DROP INDEX i ON t
        let on = (i..t.len()).find(|&j| t[j].eq_ignore_ascii_case("ON"))?;
        return Some(table_ref(kind, &t, on + 1, session_db));
    }
    Some(table_ref(kind, &t, i, session_db))
}

fn table_ref(kind: &'static str, t: &[String], i: usize, session_db: &str) -> Ddl {
    let first = t.get(i).map(|s| ident(s));
    match (first, t.get(i + 1).map(String::as_str), t.get(i + 2)) {
        (Some(db), Some("."), Some(table)) => Ddl {
            kind,
            db,
            table: Some(ident(table)),
        },
        (table, _, _) => Ddl {
            kind,
            db: session_db.to_string(),
            table,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(sql: &str) -> Option<(String, String, Option<String>)> {
        recognise(sql, "cur").map(|d| (d.kind.to_string(), d.db, d.table))
    }

    #[test]
    fn recognises_table_and_database_statements() {
        let some = |k: &str, d: &str, t: Option<&str>| {
            Some((k.to_string(), d.to_string(), t.map(str::to_string)))
        };
        assert_eq!(
            r("CREATE TABLE t (id int)"),
            some("CREATE TABLE", "cur", Some("t"))
        );
        assert_eq!(
            r("create table if not exists `shop`.`or ders` (id int)"),
            some("CREATE TABLE", "shop", Some("or ders"))
        );
        assert_eq!(
            r("/* x */ ALTER TABLE shop.orders ADD c INT"),
            some("ALTER TABLE", "shop", Some("orders"))
        );
        assert_eq!(
            r("DROP TABLE IF EXISTS `t` /* generated by server */"),
            some("DROP TABLE", "cur", Some("t"))
        );
        assert_eq!(
            r("TRUNCATE TABLE shop.orders"),
            some("TRUNCATE TABLE", "shop", Some("orders"))
        );
        assert_eq!(
            r("RENAME TABLE a TO b"),
            some("RENAME TABLE", "cur", Some("a"))
        );
        assert_eq!(
            r("CREATE OR REPLACE TABLE x.y (a int)"),
            some("CREATE TABLE", "x", Some("y"))
        );
        assert_eq!(
            r("CREATE UNIQUE INDEX i ON shop.t (a)"),
            some("CREATE INDEX", "shop", Some("t"))
        );
        assert_eq!(
            r("CREATE DATABASE shop"),
            some("CREATE DATABASE", "shop", None)
        );
        assert_eq!(
            r("DROP SCHEMA IF EXISTS `shop`"),
            some("DROP DATABASE", "shop", None)
        );
    }

    #[test]
    fn ignores_everything_else() {
        for sql in [
            "INSERT INTO t VALUES (1)",
            "GRANT ALL ON *.* TO x",
            "CREATE USER u",
            "CREATE VIEW v AS SELECT 1",
            "FLUSH PRIVILEGES",
            "",
            "DROP",
        ] {
            assert_eq!(r(sql), None, "{sql}");
        }
    }
}
