//! The replica side: preflight checks, the catalog probes of `sluice
//! check`, the binlog connection, and the transaction boundaries in the
//! event stream (`txn` classifies events, `boundary` steps through them).

pub mod boundary;
pub mod catalog;
pub mod ddl;
mod error;
pub mod file;
pub mod preflight;
pub mod reader;
pub mod settings;
pub mod txn;

pub use error::BinlogError;
pub use mysql_common::binlog::events::Event;
pub use settings::{SourceSettings, Start};
