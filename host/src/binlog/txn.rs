//! Where transactions begin and end in the event stream, and the binlog
//! position of every event.
//!
//! MySQL starts a transaction with a GTID (or anonymous GTID) event and a
//! `BEGIN` query, and ends it with an XID event or a `COMMIT` query; DDL is
//! a GTID event followed by the statement alone. MariaDB's GTID event is
//! itself the `BEGIN`, unless flagged standalone (DDL). Old servers without
//! GTIDs write just `BEGIN`.

use mysql_common::binlog::consts::EventType;
use mysql_common::binlog::events::{GtidEvent, QueryEvent, RotateEvent};

use super::Event;
use crate::decode::Decoder;
use crate::event::Position;

/// MariaDB's GTID event, which mysql_common does not name. (Its other
/// own types, annotate rows 160, binlog checkpoint 161 and GTID list 163,
/// carry nothing for boundaries and fall under "other".)
pub(crate) const MARIADB_GTID: u8 = 162;

/// What an event means for transaction boundaries.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum EventKind {
    /// A GTID event. `begun` is true when it also opens the transaction
    /// (MariaDB, not standalone); otherwise a `BEGIN` or a lone statement follows.
    Gtid {
        gtid: Option<String>,
        begun: bool,
    },
    Begin,
    /// XID, or a `COMMIT`/`ROLLBACK` query.
    Commit,
    /// Any other statement: DDL, or statement-based DML.
    Statement {
        sql: String,
        schema: String,
    },
    TableMap,
    Rows,
    /// A switch to another binlog file.
    Rotate {
        next: Position,
    },
    /// Nothing to do: format descriptions, heartbeats, annotations...
    Other,
}

/// Classifies an event. Errors are malformed event bodies.
pub(crate) fn classify(ev: &Event) -> Result<EventKind, String> {
    let t = ev.header().event_type_raw();
    let bad = |what: &str, e: std::io::Error| format!("malformed {what} event: {e}");
    use EventType::*;
    Ok(match t {
        x if x == GTID_EVENT as u8 || x == ANONYMOUS_GTID_EVENT as u8 => {
            let g: GtidEvent = ev.read_event().map_err(|e| bad("GTID", e))?;
            let gtid = (x == GTID_EVENT as u8).then(|| {
                let sid = uuid::Uuid::from_bytes(g.sid());
                match g.tag() {
                    Some(tag) => format!("{sid}:{tag}:{}", g.gno()),
                    None => format!("{sid}:{}", g.gno()),
                }
            });
            EventKind::Gtid { gtid, begun: false }
        }
        MARIADB_GTID => {
            let d = ev.data();
            if d.len() < 13 {
                return Err(format!("malformed MariaDB GTID event of {} bytes", d.len()));
            }
            let seq = u64::from_le_bytes(d[0..8].try_into().unwrap());
            let domain = u32::from_le_bytes(d[8..12].try_into().unwrap());
            const FL_STANDALONE: u8 = 1;
            EventKind::Gtid {
                gtid: Some(format!("{domain}-{}-{seq}", ev.header().server_id())),
                begun: d[12] & FL_STANDALONE == 0,
            }
        }
        x if x == QUERY_EVENT as u8 => {
            let q: QueryEvent<'_> = ev.read_event().map_err(|e| bad("query", e))?;
            let sql = q.query();
            let head = sql
                .trim_start()
                .get(..8)
                .unwrap_or(sql.trim_start())
                .to_ascii_uppercase();
            if head.starts_with("BEGIN") || head.starts_with("XA START") {
                EventKind::Begin
            } else if head.starts_with("COMMIT") || head.starts_with("ROLLBACK") {
                EventKind::Commit
            } else {
                EventKind::Statement {
                    sql: sql.into_owned(),
                    schema: q.schema().into_owned(),
                }
            }
        }
        // An XA transaction's rows are logged when it is prepared; its group
        // ends with the prepare event.
        x if x == XID_EVENT as u8 || x == XA_PREPARE_LOG_EVENT as u8 => EventKind::Commit,
        x if x == TABLE_MAP_EVENT as u8 => EventKind::TableMap,
        x if Decoder::is_rows_event(x) => EventKind::Rows,
        x if x == ROTATE_EVENT as u8 => {
            let r: RotateEvent<'_> = ev.read_event().map_err(|e| bad("rotate", e))?;
            let mut name = r.name_raw();
            if ev.checksum().is_none() && has_trailing_crc(ev) {
                // The rotate event a server sends first, before any format
                // description, is parsed without knowing that checksums are
                // on: its CRC is still stuck to the file name.
                name = &name[..name.len() - 4];
            }
            EventKind::Rotate {
                next: Position::new(String::from_utf8_lossy(name).into_owned(), r.position()),
            }
        }
        _ => EventKind::Other,
    })
}

/// Follows the current file and the byte offsets of events in it.
#[derive(Debug, Clone)]
pub(crate) struct Positions {
    file: String,
    /// End of the last event that carried a position.
    last_end: u64,
}

impl Positions {
    pub(crate) fn new(from: &Position) -> Self {
        Positions {
            file: from.file.clone(),
            last_end: from.pos,
        }
    }

    #[cfg(test)]
    pub(crate) fn file(&self) -> &str {
        &self.file
    }

    /// Start and end of `ev`. Events inside a compressed transaction payload
    /// and artificial events carry no position (log_pos 0): they get the
    /// position of the last event that did.
    pub(crate) fn of(&mut self, ev: &Event) -> (Position, Position) {
        let h = ev.header();
        let end = h.log_pos() as u64;
        if end == 0 {
            let p = Position::new(self.file.clone(), self.last_end);
            return (p.clone(), p);
        }
        let start = end.saturating_sub(h.event_size() as u64);
        self.last_end = end;
        (
            Position::new(self.file.clone(), start),
            Position::new(self.file.clone(), end),
        )
    }

    /// Switches to the file a rotate event names.
    pub(crate) fn rotate(&mut self, next: &Position) {
        self.file = next.file.clone();
        self.last_end = next.pos;
    }
}

/// Whether the last 4 bytes of `ev` are the CRC32 of the bytes before them.
fn has_trailing_crc(ev: &Event) -> bool {
    let mut raw = Vec::with_capacity(ev.data().len() + 19);
    if ev
        .write(
            mysql_common::binlog::consts::BinlogVersion::Version4,
            &mut raw,
        )
        .is_err()
        || raw.len() < 19 + 4
    {
        return false;
    }
    let (body, crc) = raw.split_at(raw.len() - 4);
    crc32fast::hash(body) == u32::from_le_bytes(crc.try_into().unwrap())
}
