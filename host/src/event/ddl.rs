//! The schema-change event (see docs/FORMAT.md, "Schema changes").

use super::msgpack::*;
use super::{Op, FORMAT_VERSION};

/// What a schema-change event says.
pub struct DdlEvent<'a> {
    /// e.g. `"ALTER TABLE"`.
    pub kind: &'a str,
    pub db: &'a str,
    pub table: Option<&'a str>,
    pub sql: &'a str,
    /// `source` fields: server_id, file, pos, gtid, then the event timestamp.
    pub server_id: u32,
    pub file: &'a str,
    pub pos: u64,
    pub gtid: Option<&'a str>,
    pub event_ts_ms: u64,
    pub produced_ms: u64,
}

impl DdlEvent<'_> {
    pub fn write(&self, out: &mut Vec<u8>) {
        write_map_header(out, 8);
        write_str(out, "v");
        write_uint(out, FORMAT_VERSION);
        write_str(out, "op");
        write_str(out, Op::Ddl.code());
        write_str(out, "kind");
        write_str(out, self.kind);
        write_str(out, "db");
        write_str(out, self.db);
        write_str(out, "table");
        match self.table {
            Some(t) => write_str(out, t),
            None => write_nil(out),
        }
        write_str(out, "sql");
        write_str(out, self.sql);
        write_str(out, "source");
        write_map_header(out, 8);
        write_str(out, "server_id");
        write_uint(out, self.server_id as u64);
        write_str(out, "file");
        write_str(out, self.file);
        write_str(out, "pos");
        write_uint(out, self.pos);
        write_str(out, "gtid");
        match self.gtid {
            Some(g) => write_str(out, g),
            None => write_nil(out),
        }
        write_str(out, "db");
        write_str(out, self.db);
        write_str(out, "table");
        match self.table {
            Some(t) => write_str(out, t),
            None => write_nil(out),
        }
        write_str(out, "row");
        write_uint(out, 0);
        write_str(out, "ts_ms");
        write_uint(out, self.event_ts_ms);
        write_str(out, "ts_ms");
        write_uint(out, self.produced_ms);
    }
}
