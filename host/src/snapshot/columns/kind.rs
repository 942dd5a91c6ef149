//! An information_schema.COLUMNS row -> the column's [`ColumnKind`], the
//! one the binlog decoder builds from the table map for the same column,
//! and, where the server would send something else, the `SELECT`
//! expression that gets what the binlog holds.

use std::sync::Arc;

use mysql_async::Row;

use super::{number, quote, text};
use crate::decode::charset::Charset;
use crate::decode::schema::ColumnKind;
use crate::event::msgpack::PreEncoded;

/// What information_schema.COLUMNS says about one column (the query in
/// [`super::describe`] selects these, in this order).
#[derive(Debug, Default)]
pub(super) struct ColumnInfo {
    pub name: String,
    /// `DATA_TYPE`, lower case: `int`, `varchar`, `enum`, `inet6`...
    pub data_type: String,
    /// `COLUMN_TYPE`: `int(10) unsigned`, `enum('a','b')`...
    pub column_type: String,
    pub charset: Option<String>,
    pub collation: Option<String>,
    /// Width in bytes of character and binary columns.
    pub octet_len: Option<u64>,
    pub precision: Option<u64>,
    pub scale: Option<u64>,
    pub fsp: Option<u64>,
    /// `IS_NULLABLE` is `YES`.
    pub nullable: bool,
}

impl ColumnInfo {
    pub(super) fn from_row(row: &Row) -> ColumnInfo {
        ColumnInfo {
            name: text(row, 0).unwrap_or_default(),
            data_type: text(row, 1).unwrap_or_default().to_ascii_lowercase(),
            column_type: text(row, 2).unwrap_or_default(),
            charset: text(row, 3),
            collation: text(row, 4),
            octet_len: number(row, 5),
            precision: number(row, 6),
            scale: number(row, 7),
            fsp: number(row, 8),
            nullable: text(row, 9).is_some_and(|n| n.eq_ignore_ascii_case("YES")),
        }
    }
}

/// The column's kind, its type name as the binlog decoder names it, and
/// the `SELECT` expression to read it with when not the column itself.
/// `charset` is the column's (`Binary` for binary strings).
pub(super) fn kind_of(
    c: &ColumnInfo,
    charset: Charset,
) -> Result<(ColumnKind, &'static str, Option<String>), String> {
    let unsigned = c.column_type.to_ascii_lowercase().contains("unsigned");
    let int = |bytes| ColumnKind::Int { bytes, unsigned };
    let fsp = c.fsp.unwrap_or(0).min(6) as u8;
    let octets = c.octet_len.unwrap_or(0);
    let col = quote(&c.name);
    let as_binary = |n: u16| {
        (
            ColumnKind::FixedString {
                len_bytes: 1,
                max_len: n,
                charset: Charset::Binary,
            },
            "CHAR",
            // The server sends these as text; the binlog holds their
            // bytes, which CAST gives.
            Some(format!("CAST({col} AS BINARY({n}))")),
        )
    };
    let plain = |kind, name| (kind, name, None);
    Ok(match c.data_type.as_str() {
        "tinyint" => plain(int(1), "TINYINT"),
        "smallint" => plain(int(2), "SMALLINT"),
        "mediumint" => plain(int(3), "MEDIUMINT"),
        "int" | "integer" => plain(int(4), "INT"),
        "bigint" => plain(int(8), "BIGINT"),
        "float" => plain(ColumnKind::Float, "FLOAT"),
        "double" | "real" | "double precision" => plain(ColumnKind::Double, "DOUBLE"),
        "decimal" | "numeric" => {
            let (p, s) = (c.precision.unwrap_or(10), c.scale.unwrap_or(0));
            if p > 65 || s > 30 || s > p {
                return Err(format!("DECIMAL({p},{s}) is out of range"));
            }
            let kind = ColumnKind::Decimal {
                precision: p as u8,
                scale: s as u8,
            };
            plain(kind, "DECIMAL")
        }
        "year" => plain(ColumnKind::Year, "YEAR"),
        "date" => plain(ColumnKind::Date, "DATE"),
        "time" => plain(ColumnKind::Time2 { fsp }, "TIME"),
        "datetime" => plain(ColumnKind::DateTime2 { fsp }, "DATETIME"),
        "timestamp" => plain(ColumnKind::Timestamp2 { fsp }, "TIMESTAMP"),
        "char" | "binary" => {
            let max_len = u16::try_from(octets).map_err(|_| format!("CHAR of {octets} bytes"))?;
            let kind = ColumnKind::FixedString {
                len_bytes: if max_len < 256 { 1 } else { 2 },
                max_len,
                charset,
            };
            plain(kind, "CHAR")
        }
        "varchar" | "varbinary" => {
            let kind = ColumnKind::VarString {
                len_bytes: if octets < 256 { 1 } else { 2 },
                charset,
            };
            plain(kind, "VARCHAR")
        }
        "tinytext" | "tinyblob" => plain(blob(1, charset), "BLOB"),
        "text" | "blob" => plain(blob(2, charset), "BLOB"),
        "mediumtext" | "mediumblob" => plain(blob(3, charset), "BLOB"),
        "longtext" | "longblob" => plain(blob(4, charset), "BLOB"),
        // ENUM and SET are read as their numbers (index, bitmap), which the
        // labels turn into text exactly as in the binlog.
        "enum" => {
            let labels = labels(&c.column_type)?;
            let bytes = if labels.len() > 255 { 2 } else { 1 };
            let kind = ColumnKind::Enum { bytes, labels };
            (kind, "ENUM", Some(format!("{col} + 0")))
        }
        "set" => {
            let labels = labels(&c.column_type)?;
            let bytes = match labels.len().div_ceil(8) {
                0 | 1 => 1,
                n @ 2..=4 => n as u8,
                _ => 8,
            };
            let kind = ColumnKind::Set { bytes, labels };
            (kind, "SET", Some(format!("{col} + 0")))
        }
        "bit" => {
            let bits = c.precision.unwrap_or(1);
            if bits == 0 || bits > 64 {
                return Err(format!("BIT({bits}) is out of range"));
            }
            plain(ColumnKind::Bit { bits: bits as u16 }, "BIT")
        }
        // MySQL's JSON; MariaDB's is a LONGTEXT and says so here.
        "json" => plain(ColumnKind::Json { len_bytes: 4 }, "JSON"),
        "geometry" | "point" | "linestring" | "polygon" | "multipoint" | "multilinestring"
        | "multipolygon" | "geometrycollection" | "geomcollection" => {
            plain(ColumnKind::Geometry { len_bytes: 4 }, "GEOMETRY")
        }
        "vector" => plain(ColumnKind::Vector { len_bytes: 4 }, "VECTOR"),
        "inet4" => as_binary(4),
        "inet6" | "uuid" => as_binary(16),
        other => return Err(format!("type {other} ({}) is not supported", c.column_type)),
    })
}

fn blob(len_bytes: u8, charset: Charset) -> ColumnKind {
    ColumnKind::Blob { len_bytes, charset }
}

/// The labels of `enum('a','b')` / `set(...)` as COLUMN_TYPE writes them:
/// quoted with `'`, a quote doubled, and `\` escapes for backslash and
/// control bytes (the server's `append_unescaped`).
fn labels(column_type: &str) -> Result<Arc<[PreEncoded]>, String> {
    let bad = || format!("cannot read the labels of {column_type}");
    let open = column_type.find('(').ok_or_else(bad)?;
    let mut it = column_type[open + 1..].chars().peekable();
    let mut labels = Vec::new();
    loop {
        if it.next() != Some('\'') {
            return Err(bad());
        }
        let mut label = String::new();
        loop {
            match it.next().ok_or_else(bad)? {
                '\'' if it.peek() == Some(&'\'') => {
                    it.next();
                    label.push('\'');
                }
                '\'' => break,
                '\\' => label.push(match it.next().ok_or_else(bad)? {
                    '0' => '\0',
                    'n' => '\n',
                    'r' => '\r',
                    'Z' => '\u{1a}',
                    'b' => '\u{8}',
                    't' => '\t',
                    other => other,
                }),
                ch => label.push(ch),
            }
        }
        labels.push(PreEncoded::str(&label));
        match it.next() {
            Some(',') => continue,
            Some(')') => break,
            _ => return Err(bad()),
        }
    }
    Ok(labels.into())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn strs(l: &[PreEncoded]) -> Vec<String> {
        l.iter()
            .map(|p| {
                rmpv::decode::read_value(&mut p.bytes())
                    .unwrap()
                    .as_str()
                    .unwrap()
                    .to_string()
            })
            .collect()
    }

    #[test]
    fn labels_undo_the_servers_quoting() {
        assert_eq!(strs(&labels("enum('a','b')").unwrap()), ["a", "b"]);
        assert_eq!(
            strs(&labels(r"set('it''s','back\\slash','nl\n','','a,b)')").unwrap()),
            ["it's", "back\\slash", "nl\n", "", "a,b)"]
        );
        assert_eq!(strs(&labels("enum('é','ß')").unwrap()), ["é", "ß"]);
        assert!(labels("enum('a'").is_err());
        assert!(labels("enum(a)").is_err());
    }

    fn info(data_type: &str, column_type: &str) -> ColumnInfo {
        ColumnInfo {
            name: "c".into(),
            data_type: data_type.into(),
            column_type: column_type.into(),
            ..ColumnInfo::default()
        }
    }

    #[test]
    fn kinds_follow_the_binlog_decoders() {
        let k = |i: &ColumnInfo| kind_of(i, Charset::Binary).unwrap();
        assert!(matches!(
            k(&info("int", "int(10) unsigned")).0,
            ColumnKind::Int {
                bytes: 4,
                unsigned: true
            }
        ));
        let (kind, name, expr) = k(&info("inet6", "inet6"));
        assert!(matches!(kind, ColumnKind::FixedString { max_len: 16, .. }));
        assert_eq!(
            (name, expr.as_deref()),
            ("CHAR", Some("CAST(`c` AS BINARY(16))"))
        );
        let (kind, _, expr) = k(&info("set", "set('a','b','c','d','e','f','g','h','i')"));
        assert!(matches!(kind, ColumnKind::Set { bytes: 2, .. }));
        assert_eq!(expr.as_deref(), Some("`c` + 0"));
        let mut t = info("time", "time(3)");
        t.fsp = Some(3);
        assert!(matches!(k(&t).0, ColumnKind::Time2 { fsp: 3 }));
        assert!(kind_of(&info("xml", "xml"), Charset::Utf8).is_err());
    }
}
