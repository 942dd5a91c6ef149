//! The replica side: preflight checks, the catalog probes of `sluice
//! check`, the binlog connection, and the transaction boundaries in the
//! event stream (`txn` classifies events, `boundary` steps through them).

pub(crate) mod boundary;
pub(crate) mod catalog;
pub(crate) mod ddl;
mod error;
pub(crate) mod file;
pub(crate) mod preflight;
pub(crate) mod reader;
pub(crate) mod settings;
pub(crate) mod txn;

pub(crate) use error::BinlogError;
pub(crate) use mysql_common::binlog::events::Event;
pub(crate) use settings::SourceSettings;
