//! A table's column layout, built once per table map and reused for every row.
//!
//! The server writes a table map before the rows of each table in every
//! transaction. Building the schema is the expensive part (names, charsets,
//! enum labels), so [`SchemaCache`] keeps it until the table map's bytes
//! change (an ALTER, or a table id reused for another table).

use std::collections::HashMap;
use std::sync::Arc;

use mysql_common::binlog::events::{
    Event, OptionalMetaExtractor, OptionalMetadataField, TableMapEvent,
};
use mysql_common::constants::ColumnType;
use mysql_common::proto::MySerialize;

use super::charset::{Charset, CharsetMap};
use super::DecodeError;
use crate::event::batch::TableName;
use crate::event::msgpack::PreEncoded;

/// How a column's bytes are laid out in a row image, with the metadata the
/// decoder needs already resolved.
#[derive(Clone, Debug)]
pub enum Kind {
    /// Integer of 1, 2, 3, 4 or 8 bytes.
    Int {
        bytes: u8,
        unsigned: bool,
    },
    Float,
    Double,
    Decimal {
        precision: u8,
        scale: u8,
    },
    Year,
    Date,
    /// Pre-5.6 TIME (3 bytes, no fractions).
    TimeOld,
    Time2 {
        fsp: u8,
    },
    /// Pre-5.6 DATETIME (8 bytes, no fractions).
    DateTimeOld,
    DateTime2 {
        fsp: u8,
    },
    /// Pre-5.6 TIMESTAMP (4 bytes, no fractions).
    TimestampOld,
    Timestamp2 {
        fsp: u8,
    },
    /// VARCHAR / VARBINARY: a length prefix of 1 or 2 bytes.
    VarString {
        len_bytes: u8,
        charset: Charset,
    },
    /// CHAR / BINARY: a length prefix of 1 or 2 bytes; `max_len` is the
    /// declared width in bytes, used to pad BINARY back to its full width.
    FixedString {
        len_bytes: u8,
        max_len: u16,
        charset: Charset,
    },
    /// TEXT / BLOB families: a length prefix of 1 to 4 bytes.
    Blob {
        len_bytes: u8,
        charset: Charset,
    },
    Enum {
        bytes: u8,
        labels: Arc<[PreEncoded]>,
    },
    Set {
        bytes: u8,
        labels: Arc<[PreEncoded]>,
    },
    Bit {
        bits: u16,
    },
    /// MySQL's binary JSON; MariaDB logs JSON as text (a Blob).
    Json {
        len_bytes: u8,
    },
    Geometry {
        len_bytes: u8,
    },
    /// MySQL 9 VECTOR: float32 values, little-endian.
    Vector {
        len_bytes: u8,
    },
}

#[derive(Clone, Debug)]
pub struct Column {
    pub name: Box<str>,
    /// The name as a MessagePack string, copied into every event.
    pub name_mp: PreEncoded,
    pub kind: Kind,
    /// The SQL type as written in `docs/FORMAT.md`, for error messages.
    pub type_name: &'static str,
}

#[derive(Debug)]
pub struct TableSchema {
    pub table_id: u64,
    pub name: Arc<TableName>,
    /// `db` and `table` as MessagePack strings for the `source` map.
    pub db_mp: PreEncoded,
    pub table_mp: PreEncoded,
    pub columns: Vec<Column>,
    /// Primary-key column indexes, in key order; empty when the table has no
    /// primary key or the server did not log one (binlog_row_metadata=MINIMAL).
    pub primary_key: Vec<usize>,
    /// False when the server logged no column names (binlog_row_metadata=MINIMAL):
    /// columns are then named `@1`, `@2`, ... like mysqlbinlog does.
    pub has_names: bool,
}

/// Table maps seen so far, by table id.
#[derive(Default)]
pub struct SchemaCache {
    by_id: HashMap<u64, (Vec<u8>, Arc<TableSchema>)>,
}

impl SchemaCache {
    /// Records a table map, rebuilding the schema only when its bytes changed.
    /// `raw` is the table map event's body.
    pub fn insert(
        &mut self,
        raw: &[u8],
        tme: &TableMapEvent<'_>,
        charsets: &CharsetMap,
        flavor: Flavor,
    ) -> Result<Arc<TableSchema>, DecodeError> {
        if let Some((bytes, schema)) = self.by_id.get(&tme.table_id()) {
            if bytes.as_slice() == raw {
                return Ok(schema.clone());
            }
        }
        let schema = Arc::new(build(tme, charsets, flavor)?);
        self.by_id
            .insert(tme.table_id(), (raw.to_vec(), schema.clone()));
        Ok(schema)
    }

    pub fn get(&self, table_id: u64) -> Option<&Arc<TableSchema>> {
        self.by_id.get(&table_id).map(|(_, s)| s)
    }

    /// Forgets every table map: a new binlog file restarts table ids.
    pub fn clear(&mut self) {
        self.by_id.clear();
    }
}

/// Columns with an entry in the table map's signedness bitmap. YEAR is
/// one of them (MariaDB 10.11 and MySQL alike): leaving it out would give
/// every numeric column after a YEAR its neighbour's signedness.
fn is_numeric(t: ColumnType) -> bool {
    use ColumnType::*;
    matches!(
        t,
        MYSQL_TYPE_YEAR
            | MYSQL_TYPE_TINY
            | MYSQL_TYPE_SHORT
            | MYSQL_TYPE_INT24
            | MYSQL_TYPE_LONG
            | MYSQL_TYPE_LONGLONG
            | MYSQL_TYPE_NEWDECIMAL
            | MYSQL_TYPE_DECIMAL
            | MYSQL_TYPE_FLOAT
            | MYSQL_TYPE_DOUBLE
    )
}

/// The server's raw type and, for MYSQL_TYPE_STRING, the real type and width
/// folded into its two metadata bytes.
fn real_type(t: ColumnType, meta: &[u8]) -> (ColumnType, u16) {
    if t == ColumnType::MYSQL_TYPE_STRING && meta.len() == 2 {
        let (b0, b1) = (meta[0] as u16, meta[1] as u16);
        if b0 & 0x30 != 0x30 {
            // Widths above 255 keep two extra bits in the first byte.
            let len = (((b0 & 0x30) ^ 0x30) << 4) | b1;
            let real = ColumnType::try_from((b0 | 0x30) as u8).unwrap_or(t);
            return (real, len);
        }
        let real = ColumnType::try_from(b0 as u8).unwrap_or(t);
        return (real, b1);
    }
    (t, 0)
}

fn is_character(t: ColumnType) -> bool {
    use ColumnType::*;
    matches!(
        t,
        MYSQL_TYPE_STRING
            | MYSQL_TYPE_VAR_STRING
            | MYSQL_TYPE_VARCHAR
            | MYSQL_TYPE_BLOB
            | MYSQL_TYPE_TINY_BLOB
            | MYSQL_TYPE_MEDIUM_BLOB
            | MYSQL_TYPE_LONG_BLOB
    )
}

/// Which kind of server wrote a table map. They differ in which columns
/// the charset metadata lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Flavor {
    #[default]
    MySql,
    MariaDb,
}

impl Flavor {
    /// From the server version of the binlog's format description event.
    pub fn of(ev: &Event) -> Flavor {
        let v = ev.fde().server_version_raw();
        if v.windows(7).any(|w| w.eq_ignore_ascii_case(b"mariadb")) {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        }
    }
}

/// Which charset list of the table map, if any, has an entry for a column.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum CharsetSlot {
    /// The next entry of the character columns' list is this column's.
    Text,
    /// The next entry of the ENUM and SET columns' list is this column's.
    EnumSet,
    /// The column has an entry in the character columns' list that does
    /// not matter for its value: MariaDB lists GEOMETRY columns there (with
    /// the binary charset), MySQL does not; MySQL 9 lists VECTOR columns.
    /// Skipping the entry keeps the columns after it on their own charsets.
    TextIgnored,
    None,
}

fn charset_slot(t: ColumnType, real: ColumnType, flavor: Flavor) -> CharsetSlot {
    let enum_or_set = matches!(
        real,
        ColumnType::MYSQL_TYPE_ENUM | ColumnType::MYSQL_TYPE_SET
    );
    if enum_or_set {
        CharsetSlot::EnumSet
    } else if is_character(t) {
        CharsetSlot::Text
    } else if t == ColumnType::MYSQL_TYPE_GEOMETRY && flavor == Flavor::MariaDb {
        CharsetSlot::TextIgnored
    } else if t == ColumnType::MYSQL_TYPE_VECTOR {
        // MySQL 9 lists VECTOR columns (binary) among the character columns.
        CharsetSlot::TextIgnored
    } else {
        CharsetSlot::None
    }
}

fn build(
    tme: &TableMapEvent<'_>,
    charsets: &CharsetMap,
    flavor: Flavor,
) -> Result<TableSchema, DecodeError> {
    let db = tme.database_name().into_owned();
    let table = tme.table_name().into_owned();
    let bad = |what: String| DecodeError::Unsupported {
        db: db.clone(),
        table: table.clone(),
        what,
        position: None,
    };
    let n = tme.columns_count() as usize;
    let meta_err = |e: std::io::Error| bad(format!("table map metadata is malformed: {e}"));
    let extractor = OptionalMetaExtractor::new(tme.iter_optional_meta()).map_err(meta_err)?;

    let mut names: Vec<Box<str>> = Vec::with_capacity(n);
    for name in extractor.iter_column_name() {
        names.push(name.map_err(meta_err)?.name().into());
    }
    let has_names = names.len() == n;
    let mut signedness = extractor.iter_signedness();
    let mut text_charsets = extractor.iter_charset();
    let mut enum_set_charsets = extractor.iter_enum_and_set_charset();
    let (mut enum_labels, mut set_labels) = (Vec::new(), Vec::new());
    for field in tme.iter_optional_meta() {
        match field.map_err(meta_err)? {
            OptionalMetadataField::EnumStrValue(v) => {
                let mut raw = Vec::new();
                v.serialize(&mut raw);
                enum_labels.extend(str_values(&raw).map_err(|e| bad(format!("ENUM labels: {e}")))?);
            }
            OptionalMetadataField::SetStrValue(v) => {
                let mut raw = Vec::new();
                v.serialize(&mut raw);
                set_labels.extend(str_values(&raw).map_err(|e| bad(format!("SET labels: {e}")))?);
            }
            _ => {}
        }
    }
    let (mut enum_labels, mut set_labels) = (enum_labels.into_iter(), set_labels.into_iter());

    let mut columns = Vec::with_capacity(n);
    for i in 0..n {
        let t = tme
            .get_raw_column_type(i)
            .map_err(|e| bad(format!("column {i} has an unknown type: {e}")))?
            .ok_or_else(|| bad(format!("column {i} is missing from the table map")))?;
        let meta = tme
            .get_column_metadata(i)
            .ok_or_else(|| bad(format!("column {i}: metadata missing")))?;
        let unsigned = if is_numeric(t) {
            signedness.next().unwrap_or(false)
        } else {
            false
        };
        let (real, width) = real_type(t, meta);
        let next_charset = |it: &mut dyn Iterator<Item = std::io::Result<u16>>| -> Result<Option<u16>, DecodeError> {
            it.next().transpose().map_err(meta_err)
        };
        let charset = match charset_slot(t, real, flavor) {
            CharsetSlot::Text => next_charset(&mut text_charsets)?,
            CharsetSlot::EnumSet => next_charset(&mut enum_set_charsets)?,
            CharsetSlot::TextIgnored => {
                next_charset(&mut text_charsets)?;
                None
            }
            CharsetSlot::None => None,
        };
        let (kind, type_name) = kind_of(
            t,
            real,
            width,
            meta,
            unsigned,
            charset,
            charsets,
            &mut enum_labels,
            &mut set_labels,
        )
        .map_err(|what| bad(format!("column {i}: {what}")))?;
        let name: Box<str> = if has_names {
            names[i].clone()
        } else {
            format!("@{}", i + 1).into()
        };
        columns.push(Column {
            name_mp: PreEncoded::str(&name),
            name,
            kind,
            type_name,
        });
    }

    let mut primary_key = Vec::new();
    for idx in extractor.iter_primary_key() {
        let idx = idx.map_err(meta_err)? as usize;
        if idx >= n {
            return Err(bad(format!("primary key names column {idx} of {n}")));
        }
        primary_key.push(idx);
    }

    Ok(TableSchema {
        table_id: tme.table_id(),
        db_mp: PreEncoded::str(&db),
        table_mp: PreEncoded::str(&table),
        name: Arc::new(TableName {
            db: db.into(),
            table: table.into(),
        }),
        columns,
        primary_key,
        has_names,
    })
}

/// The label lists of the ENUM_STR_VALUE / SET_STR_VALUE metadata: per
/// column, a count and that many length-encoded strings. Parsed here, not
/// with mysql_common's iterators, which reserve room for the count before
/// checking it against the bytes: a corrupt count would abort the process.
fn str_values(mut b: &[u8]) -> Result<Vec<Vec<Vec<u8>>>, String> {
    fn lenenc(b: &mut &[u8]) -> Result<u64, String> {
        let short = || "metadata is truncated".to_string();
        let (&first, rest) = b.split_first().ok_or_else(short)?;
        let n = match first {
            0..=0xfa => {
                *b = rest;
                return Ok(first as u64);
            }
            0xfc => 2,
            0xfd => 3,
            0xfe => 8,
            _ => return Err(format!("bad length prefix 0x{first:02x}")),
        };
        let v = rest.get(..n).ok_or_else(short)?;
        *b = &rest[n..];
        Ok(v.iter().rev().fold(0u64, |a, &x| (a << 8) | x as u64))
    }
    let mut columns = Vec::new();
    while !b.is_empty() {
        let count = lenenc(&mut b)?;
        // Every label takes at least its length byte.
        if count > b.len() as u64 {
            return Err(format!("{count} labels in {} bytes", b.len()));
        }
        let mut labels = Vec::with_capacity(count as usize);
        for _ in 0..count {
            let len = lenenc(&mut b)?;
            if len > b.len() as u64 {
                return Err("a label runs past the metadata".into());
            }
            let (label, rest) = b.split_at(len as usize);
            labels.push(label.to_vec());
            b = rest;
        }
        columns.push(labels);
    }
    Ok(columns)
}

fn labels(list: Option<Vec<Vec<u8>>>, charset: Charset) -> Arc<[PreEncoded]> {
    list.unwrap_or_default()
        .iter()
        .map(|l| PreEncoded::str(&charset.decode_lossy(l)))
        .collect()
}

#[allow(clippy::too_many_arguments)]
fn kind_of(
    t: ColumnType,
    real: ColumnType,
    width: u16,
    meta: &[u8],
    unsigned: bool,
    charset: Option<u16>,
    charsets: &CharsetMap,
    enum_labels: &mut dyn Iterator<Item = Vec<Vec<u8>>>,
    set_labels: &mut dyn Iterator<Item = Vec<Vec<u8>>>,
) -> Result<(Kind, &'static str), String> {
    use ColumnType::*;
    let m0 = meta.first().copied().unwrap_or(0);
    let m1 = meta.get(1).copied().unwrap_or(0);
    let cs = |c: Option<u16>| charsets.get(c);
    Ok(match t {
        MYSQL_TYPE_TINY => (Kind::Int { bytes: 1, unsigned }, "TINYINT"),
        MYSQL_TYPE_SHORT => (Kind::Int { bytes: 2, unsigned }, "SMALLINT"),
        MYSQL_TYPE_INT24 => (Kind::Int { bytes: 3, unsigned }, "MEDIUMINT"),
        MYSQL_TYPE_LONG => (Kind::Int { bytes: 4, unsigned }, "INT"),
        MYSQL_TYPE_LONGLONG => (Kind::Int { bytes: 8, unsigned }, "BIGINT"),
        MYSQL_TYPE_FLOAT => (Kind::Float, "FLOAT"),
        MYSQL_TYPE_DOUBLE => (Kind::Double, "DOUBLE"),
        MYSQL_TYPE_NEWDECIMAL => {
            if m0 > 65 || m1 > 30 || m1 > m0 {
                return Err(format!("DECIMAL({m0},{m1}) is out of range"));
            }
            (
                Kind::Decimal {
                    precision: m0,
                    scale: m1,
                },
                "DECIMAL",
            )
        }
        MYSQL_TYPE_YEAR => (Kind::Year, "YEAR"),
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => (Kind::Date, "DATE"),
        MYSQL_TYPE_TIME => (Kind::TimeOld, "TIME"),
        MYSQL_TYPE_TIME2 => (Kind::Time2 { fsp: m0.min(6) }, "TIME"),
        MYSQL_TYPE_DATETIME => (Kind::DateTimeOld, "DATETIME"),
        MYSQL_TYPE_DATETIME2 => (Kind::DateTime2 { fsp: m0.min(6) }, "DATETIME"),
        MYSQL_TYPE_TIMESTAMP => (Kind::TimestampOld, "TIMESTAMP"),
        MYSQL_TYPE_TIMESTAMP2 => (Kind::Timestamp2 { fsp: m0.min(6) }, "TIMESTAMP"),
        MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING => {
            let max = u16::from_le_bytes([m0, m1]);
            let len_bytes = if max < 256 { 1 } else { 2 };
            (
                Kind::VarString {
                    len_bytes,
                    charset: cs(charset),
                },
                "VARCHAR",
            )
        }
        MYSQL_TYPE_STRING => match real {
            MYSQL_TYPE_ENUM => {
                let labels = labels(enum_labels.next(), cs(charset));
                (
                    Kind::Enum {
                        bytes: m1.clamp(1, 2),
                        labels,
                    },
                    "ENUM",
                )
            }
            MYSQL_TYPE_SET => {
                let labels = labels(set_labels.next(), cs(charset));
                (
                    Kind::Set {
                        bytes: m1.clamp(1, 8),
                        labels,
                    },
                    "SET",
                )
            }
            _ => {
                let len_bytes = if width < 256 { 1 } else { 2 };
                (
                    Kind::FixedString {
                        len_bytes,
                        max_len: width,
                        charset: cs(charset),
                    },
                    "CHAR",
                )
            }
        },
        MYSQL_TYPE_ENUM => (
            Kind::Enum {
                bytes: m1.clamp(1, 2),
                labels: labels(enum_labels.next(), cs(charset)),
            },
            "ENUM",
        ),
        MYSQL_TYPE_SET => (
            Kind::Set {
                bytes: m1.clamp(1, 8),
                labels: labels(set_labels.next(), cs(charset)),
            },
            "SET",
        ),
        MYSQL_TYPE_BLOB | MYSQL_TYPE_TINY_BLOB | MYSQL_TYPE_MEDIUM_BLOB | MYSQL_TYPE_LONG_BLOB => {
            if !(1..=4).contains(&m0) {
                return Err(format!("BLOB length size {m0} is invalid"));
            }
            // Without charset metadata (binlog_row_metadata=MINIMAL) text and
            // binary columns look alike; bytes are the only safe answer.
            let charset = charset
                .map(|c| charsets.get(Some(c)))
                .unwrap_or(Charset::Binary);
            (
                Kind::Blob {
                    len_bytes: m0,
                    charset,
                },
                "BLOB",
            )
        }
        MYSQL_TYPE_BIT => {
            let bits = m1 as u16 * 8 + m0 as u16;
            if bits == 0 || bits > 64 {
                return Err(format!("BIT({bits}) is out of range"));
            }
            (Kind::Bit { bits }, "BIT")
        }
        MYSQL_TYPE_JSON => (
            Kind::Json {
                len_bytes: m0.clamp(1, 4),
            },
            "JSON",
        ),
        MYSQL_TYPE_GEOMETRY => (
            Kind::Geometry {
                len_bytes: m0.clamp(1, 4),
            },
            "GEOMETRY",
        ),
        MYSQL_TYPE_VECTOR => (
            Kind::Vector {
                len_bytes: m0.clamp(1, 4),
            },
            "VECTOR",
        ),
        other => return Err(format!("column type {other:?} is not supported")),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ColumnType::*;

    #[test]
    fn label_metadata_with_corrupt_counts_is_an_error_not_an_allocation() {
        assert_eq!(
            str_values(&[2, 1, b'a', 2, b'b', b'c', 1, 0]).unwrap(),
            vec![vec![b"a".to_vec(), b"bc".to_vec()], vec![vec![]]]
        );
        // 2^64-1 labels claimed by 9 bytes.
        let mut huge = vec![0xfe];
        huge.extend_from_slice(&u64::MAX.to_le_bytes());
        assert!(str_values(&huge).is_err());
        assert!(str_values(&[1, 5, b'a']).is_err());
        assert!(str_values(&[1, 0xfb]).is_err());
    }

    #[test]
    fn year_has_a_signedness_bit() {
        assert!(is_numeric(MYSQL_TYPE_YEAR));
        assert!(is_numeric(MYSQL_TYPE_NEWDECIMAL));
        assert!(is_numeric(MYSQL_TYPE_FLOAT));
        assert!(!is_numeric(MYSQL_TYPE_BIT));
        assert!(!is_numeric(MYSQL_TYPE_DATE));
    }

    #[test]
    fn mysql9_lists_vector_among_character_columns() {
        for f in [Flavor::MySql, Flavor::MariaDb] {
            assert_eq!(
                charset_slot(MYSQL_TYPE_VECTOR, MYSQL_TYPE_VECTOR, f),
                CharsetSlot::TextIgnored
            );
        }
    }

    #[test]
    fn mariadb_lists_geometry_among_character_columns_mysql_does_not() {
        assert_eq!(
            charset_slot(MYSQL_TYPE_GEOMETRY, MYSQL_TYPE_GEOMETRY, Flavor::MariaDb),
            CharsetSlot::TextIgnored
        );
        assert_eq!(
            charset_slot(MYSQL_TYPE_GEOMETRY, MYSQL_TYPE_GEOMETRY, Flavor::MySql),
            CharsetSlot::None
        );
        for f in [Flavor::MySql, Flavor::MariaDb] {
            assert_eq!(
                charset_slot(MYSQL_TYPE_VARCHAR, MYSQL_TYPE_VARCHAR, f),
                CharsetSlot::Text
            );
            assert_eq!(
                charset_slot(MYSQL_TYPE_BLOB, MYSQL_TYPE_BLOB, f),
                CharsetSlot::Text
            );
            assert_eq!(
                charset_slot(MYSQL_TYPE_STRING, MYSQL_TYPE_ENUM, f),
                CharsetSlot::EnumSet
            );
            assert_eq!(
                charset_slot(MYSQL_TYPE_STRING, MYSQL_TYPE_SET, f),
                CharsetSlot::EnumSet
            );
            assert_eq!(
                charset_slot(MYSQL_TYPE_JSON, MYSQL_TYPE_JSON, f),
                CharsetSlot::None
            );
            assert_eq!(
                charset_slot(MYSQL_TYPE_BIT, MYSQL_TYPE_BIT, f),
                CharsetSlot::None
            );
        }
    }
}
