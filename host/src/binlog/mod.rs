//! The replica side: preflight checks, the catalog probes of `sluice
//! check`, the binlog connection, and the transaction boundaries in the
//! event stream (`txn` classifies events, `boundary` steps through them).

pub(crate) mod boundary;
pub(crate) mod catalog;
pub(crate) mod ddl;
pub(crate) mod end;
pub(crate) mod endpoint;
mod error;
pub(crate) mod file;
pub(crate) mod gtid;
pub(crate) mod preflight;
pub(crate) mod reader;
pub(crate) mod settings;
pub(crate) mod tls;
pub(crate) mod txn;

pub(crate) use error::BinlogError;
pub(crate) use mysql_common::binlog::events::Event;
pub(crate) use settings::SourceSettings;

/// Schemas that belong to the server itself: never captured, and their
/// statements are the server's business.
pub(crate) const SYSTEM_SCHEMAS: [&str; 4] =
    ["mysql", "information_schema", "performance_schema", "sys"];

/// Whether `db` is one of [`SYSTEM_SCHEMAS`] (in any case).
pub(crate) fn is_system_schema(db: &str) -> bool {
    SYSTEM_SCHEMAS.iter().any(|s| db.eq_ignore_ascii_case(s))
}
