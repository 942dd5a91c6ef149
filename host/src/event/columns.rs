//! A table's columns as SQL types, for output formats that describe values
//! by their type rather than by their MessagePack shape (Debezium's JSON:
//! a DATE is days since the epoch there, a string here; its schema names
//! every column's type and nullability).
//!
//! The decoder and the snapshot reader make one per table schema; a batch
//! carries it beside each table ([`super::Batch::columns`]), so the encoder
//! that runs after the plugins knows what each column of the event was,
//! without knowing where the event came from.

use std::sync::Arc;

/// A column's SQL type, with what its values' meaning depends on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SqlType {
    /// TINYINT (1 byte) … BIGINT (8 bytes).
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
    /// TIME(fsp).
    Time {
        fsp: u8,
    },
    /// DATETIME(fsp).
    DateTime {
        fsp: u8,
    },
    /// TIMESTAMP(fsp).
    Timestamp {
        fsp: u8,
    },
    /// CHAR, VARCHAR, TEXT and MariaDB's JSON (text to the binlog).
    Text,
    /// BINARY, VARBINARY, BLOB, and MariaDB's INET4/INET6/UUID.
    Binary,
    /// ENUM and its labels, in definition order.
    Enum(Arc<[Box<str>]>),
    /// SET and its labels, in definition order.
    Set(Arc<[Box<str>]>),
    Bit {
        bits: u16,
    },
    /// MySQL's binary JSON.
    Json,
    Geometry,
    /// MySQL 9 VECTOR.
    Vector,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ColumnType {
    pub name: Box<str>,
    pub sql: SqlType,
    /// Whether the column allows NULL.
    pub nullable: bool,
}

/// Every column of a table, in table order.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct TableColumns {
    pub columns: Vec<ColumnType>,
}

impl TableColumns {
    /// The index of the column named `name`, looked for from `hint` on
    /// first: an event's columns come in table order, so the caller passes
    /// the index after the previous one and this is found at once.
    #[inline]
    pub fn find(&self, name: &[u8], hint: usize) -> Option<usize> {
        if let Some(c) = self.columns.get(hint) {
            if c.name.as_bytes() == name {
                return Some(hint);
            }
        }
        self.columns.iter().position(|c| c.name.as_bytes() == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_are_found_by_name_with_or_without_the_hint() {
        let col = |n: &str| ColumnType {
            name: n.into(),
            sql: SqlType::Text,
            nullable: true,
        };
        let t = TableColumns {
            columns: vec![col("a"), col("b"), col("c")],
        };
        assert_eq!(t.find(b"b", 1), Some(1));
        assert_eq!(t.find(b"c", 0), Some(2), "a wrong hint still finds it");
        assert_eq!(t.find(b"c", 9), Some(2), "a hint past the end too");
        assert_eq!(t.find(b"x", 0), None);
    }
}
