//! The replica side: preflight checks, the binlog connection, and the
//! transaction boundaries in the event stream.

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
