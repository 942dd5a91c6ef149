//! A table's column layout, built once per table map and reused for every row.
//!
//! The server writes a table map before the rows of each table in every
//! transaction. Building the schema is the expensive part (names, charsets,
//! enum labels), so [`SchemaCache`] keeps it until the table map's bytes
//! change (an ALTER, or a table id reused for another table).

//!
//! `table_map.rs` reads a table map into a [`TableSchema`]; `kind.rs`
//! resolves each column's type and metadata to its [`ColumnKind`].

use std::collections::HashMap;
use std::sync::{Arc, OnceLock};

use mysql_common::binlog::events::{Event, TableMapEvent};

use super::charset::{Charset, CharsetMap};
use super::DecodeError;
use crate::event::batch::TableName;
use crate::event::columns::{ColumnType, SqlType, TableColumns};
use crate::event::msgpack::PreEncoded;

mod kind;
mod table_map;

use table_map::build;

/// How a column's bytes are laid out in a row image, with the metadata the
/// decoder needs already resolved.
#[derive(Clone, Debug)]
pub enum ColumnKind {
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
    pub kind: ColumnKind,
    /// The SQL type as written in `docs/FORMAT.md`, for error messages.
    pub type_name: &'static str,
    /// Whether the column allows NULL (the table map's null bitmap, or
    /// information_schema's IS_NULLABLE).
    pub nullable: bool,
}

impl Column {
    /// The column as the output formats see it: its SQL type.
    fn sql_type(&self) -> ColumnType {
        let labels = |l: &[PreEncoded]| -> Arc<[Box<str>]> {
            l.iter()
                .map(|p| p.as_str().unwrap_or_default().into())
                .collect()
        };
        let sql = match &self.kind {
            ColumnKind::Int { bytes, unsigned } => SqlType::Int {
                bytes: *bytes,
                unsigned: *unsigned,
            },
            ColumnKind::Float => SqlType::Float,
            ColumnKind::Double => SqlType::Double,
            ColumnKind::Decimal { precision, scale } => SqlType::Decimal {
                precision: *precision,
                scale: *scale,
            },
            ColumnKind::Year => SqlType::Year,
            ColumnKind::Date => SqlType::Date,
            ColumnKind::TimeOld => SqlType::Time { fsp: 0 },
            ColumnKind::Time2 { fsp } => SqlType::Time { fsp: *fsp },
            ColumnKind::DateTimeOld => SqlType::DateTime { fsp: 0 },
            ColumnKind::DateTime2 { fsp } => SqlType::DateTime { fsp: *fsp },
            ColumnKind::TimestampOld => SqlType::Timestamp { fsp: 0 },
            ColumnKind::Timestamp2 { fsp } => SqlType::Timestamp { fsp: *fsp },
            ColumnKind::VarString { charset, .. }
            | ColumnKind::FixedString { charset, .. }
            | ColumnKind::Blob { charset, .. } => {
                // Both are written as bin (FORMAT.md): bytes to consumers.
                if matches!(charset, Charset::Binary | Charset::Unknown(_)) {
                    SqlType::Binary
                } else {
                    SqlType::Text
                }
            }
            ColumnKind::Enum { labels: l, .. } => SqlType::Enum(labels(l)),
            ColumnKind::Set { labels: l, .. } => SqlType::Set(labels(l)),
            ColumnKind::Bit { bits } => SqlType::Bit { bits: *bits },
            ColumnKind::Json { .. } => SqlType::Json,
            ColumnKind::Geometry { .. } => SqlType::Geometry,
            ColumnKind::Vector { .. } => SqlType::Vector,
        };
        ColumnType {
            name: self.name.clone(),
            sql,
            nullable: self.nullable,
        }
    }
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
    /// The columns' SQL types, made the first time an event of the table
    /// is written (see [`TableSchema::column_types`]).
    pub types: OnceLock<Arc<TableColumns>>,
}

impl TableSchema {
    /// The columns' SQL types, for the batch to carry to the output
    /// formats; made once per schema.
    pub fn column_types(&self) -> &Arc<TableColumns> {
        self.types.get_or_init(|| {
            Arc::new(TableColumns {
                columns: self.columns.iter().map(Column::sql_type).collect(),
            })
        })
    }
}

/// Table maps seen so far, by table id.
#[derive(Default)]
pub(crate) struct SchemaCache {
    by_id: HashMap<u64, (Vec<u8>, Arc<TableSchema>)>,
}

impl SchemaCache {
    /// Records a table map, rebuilding the schema only when its bytes changed.
    /// `raw` is the table map event's body.
    pub(crate) fn insert(
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

    pub(crate) fn get(&self, table_id: u64) -> Option<&Arc<TableSchema>> {
        self.by_id.get(&table_id).map(|(_, s)| s)
    }

    /// Forgets every table map: a new binlog file restarts table ids.
    pub(crate) fn clear(&mut self) {
        self.by_id.clear();
    }
}

/// Which kind of server wrote a table map. They differ in which columns
/// the charset metadata lists.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) enum Flavor {
    #[default]
    MySql,
    MariaDb,
}

impl Flavor {
    /// From the server version of the binlog's format description event.
    pub(crate) fn of(ev: &Event) -> Flavor {
        let v = ev.fde().server_version_raw();
        if v.windows(7).any(|w| w.eq_ignore_ascii_case(b"mariadb")) {
            Flavor::MariaDb
        } else {
            Flavor::MySql
        }
    }
}
