//! A column's type and metadata from the table map -> its [`ColumnKind`].

use std::sync::Arc;

use mysql_common::constants::ColumnType;

use super::ColumnKind;
use crate::decode::charset::{Charset, CharsetMap};
use crate::event::msgpack::PreEncoded;

fn labels(list: Option<Vec<Vec<u8>>>, charset: Charset) -> Arc<[PreEncoded]> {
    list.unwrap_or_default()
        .iter()
        .map(|l| PreEncoded::str(&charset.decode_lossy(l)))
        .collect()
}

#[allow(clippy::too_many_arguments)]
pub(super) fn kind_of(
    t: ColumnType,
    real: ColumnType,
    width: u16,
    meta: &[u8],
    unsigned: bool,
    charset: Option<u16>,
    charsets: &CharsetMap,
    enum_labels: &mut dyn Iterator<Item = Vec<Vec<u8>>>,
    set_labels: &mut dyn Iterator<Item = Vec<Vec<u8>>>,
) -> Result<(ColumnKind, &'static str), String> {
    use ColumnType::*;
    let m0 = meta.first().copied().unwrap_or(0);
    let m1 = meta.get(1).copied().unwrap_or(0);
    let cs = |c: Option<u16>| charsets.get(c);
    Ok(match t {
        MYSQL_TYPE_TINY => (ColumnKind::Int { bytes: 1, unsigned }, "TINYINT"),
        MYSQL_TYPE_SHORT => (ColumnKind::Int { bytes: 2, unsigned }, "SMALLINT"),
        MYSQL_TYPE_INT24 => (ColumnKind::Int { bytes: 3, unsigned }, "MEDIUMINT"),
        MYSQL_TYPE_LONG => (ColumnKind::Int { bytes: 4, unsigned }, "INT"),
        MYSQL_TYPE_LONGLONG => (ColumnKind::Int { bytes: 8, unsigned }, "BIGINT"),
        MYSQL_TYPE_FLOAT => (ColumnKind::Float, "FLOAT"),
        MYSQL_TYPE_DOUBLE => (ColumnKind::Double, "DOUBLE"),
        MYSQL_TYPE_NEWDECIMAL => {
            if m0 > 65 || m1 > 30 || m1 > m0 {
                return Err(format!("DECIMAL({m0},{m1}) is out of range"));
            }
            (
                ColumnKind::Decimal {
                    precision: m0,
                    scale: m1,
                },
                "DECIMAL",
            )
        }
        MYSQL_TYPE_YEAR => (ColumnKind::Year, "YEAR"),
        MYSQL_TYPE_DATE | MYSQL_TYPE_NEWDATE => (ColumnKind::Date, "DATE"),
        MYSQL_TYPE_TIME => (ColumnKind::TimeOld, "TIME"),
        MYSQL_TYPE_TIME2 => (ColumnKind::Time2 { fsp: m0.min(6) }, "TIME"),
        MYSQL_TYPE_DATETIME => (ColumnKind::DateTimeOld, "DATETIME"),
        MYSQL_TYPE_DATETIME2 => (ColumnKind::DateTime2 { fsp: m0.min(6) }, "DATETIME"),
        MYSQL_TYPE_TIMESTAMP => (ColumnKind::TimestampOld, "TIMESTAMP"),
        MYSQL_TYPE_TIMESTAMP2 => (ColumnKind::Timestamp2 { fsp: m0.min(6) }, "TIMESTAMP"),
        MYSQL_TYPE_VARCHAR | MYSQL_TYPE_VAR_STRING => {
            let max = u16::from_le_bytes([m0, m1]);
            let len_bytes = if max < 256 { 1 } else { 2 };
            (
                ColumnKind::VarString {
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
                    ColumnKind::Enum {
                        bytes: m1.clamp(1, 2),
                        labels,
                    },
                    "ENUM",
                )
            }
            MYSQL_TYPE_SET => {
                let labels = labels(set_labels.next(), cs(charset));
                (
                    ColumnKind::Set {
                        bytes: m1.clamp(1, 8),
                        labels,
                    },
                    "SET",
                )
            }
            _ => {
                let len_bytes = if width < 256 { 1 } else { 2 };
                (
                    ColumnKind::FixedString {
                        len_bytes,
                        max_len: width,
                        charset: cs(charset),
                    },
                    "CHAR",
                )
            }
        },
        MYSQL_TYPE_ENUM => (
            ColumnKind::Enum {
                bytes: m1.clamp(1, 2),
                labels: labels(enum_labels.next(), cs(charset)),
            },
            "ENUM",
        ),
        MYSQL_TYPE_SET => (
            ColumnKind::Set {
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
                ColumnKind::Blob {
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
            (ColumnKind::Bit { bits }, "BIT")
        }
        MYSQL_TYPE_JSON => (
            ColumnKind::Json {
                len_bytes: m0.clamp(1, 4),
            },
            "JSON",
        ),
        MYSQL_TYPE_GEOMETRY => (
            ColumnKind::Geometry {
                len_bytes: m0.clamp(1, 4),
            },
            "GEOMETRY",
        ),
        MYSQL_TYPE_VECTOR => (
            ColumnKind::Vector {
                len_bytes: m0.clamp(1, 4),
            },
            "VECTOR",
        ),
        other => return Err(format!("column type {other:?} is not supported")),
    })
}
