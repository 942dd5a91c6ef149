//! A table map event -> the table's [`TableSchema`]: names, signedness,
//! charsets, labels and primary key from the optional metadata.

use std::sync::Arc;

use mysql_common::binlog::events::{OptionalMetaExtractor, OptionalMetadataField, TableMapEvent};
use mysql_common::constants::ColumnType;
use mysql_common::proto::MySerialize;

use super::kind::kind_of;
use super::{Column, Flavor, TableSchema};
use crate::decode::charset::CharsetMap;
use crate::decode::DecodeError;
use crate::event::batch::TableName;
use crate::event::msgpack::PreEncoded;

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

pub(super) fn build(
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
        // Without full row metadata, columns are named by position.
        let name: Box<str> = match names.get(i).filter(|_| has_names) {
            Some(name) => name.clone(),
            None => format!("@{}", i + 1).into(),
        };
        columns.push(Column {
            name_mp: PreEncoded::str(&name),
            name,
            kind,
            type_name,
            nullable: tme.null_bitmask().get(i).is_some_and(|b| *b),
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
        types: Default::default(),
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
