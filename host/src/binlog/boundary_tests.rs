//! The boundary stepper over hand-built event sequences: MySQL's
//! GTID/BEGIN/rows/XID, MariaDB's GTID-as-BEGIN, standalone DDL, old servers
//! without GTIDs, rotations, and a transaction that never committed.

use super::*;

/// Events laid out one after another from offset 4, each 100 bytes.
struct Stream {
    b: Boundaries,
    at: u64,
}

impl Stream {
    fn new() -> Self {
        Stream {
            b: Boundaries::new(&p(4)),
            at: 4,
        }
    }

    fn next(&mut self, kind: EventKind) -> Step {
        self.try_next(kind).unwrap()
    }

    fn try_next(&mut self, kind: EventKind) -> Result<Step, BinlogError> {
        let (start, end) = (self.at, self.at + 100);
        self.at = end;
        self.b.step_kind(kind, p(start), p(end))
    }
}

fn p(pos: u64) -> Position {
    Position::new("bin.000001", pos)
}

fn gtid(g: &str, begun: bool) -> EventKind {
    EventKind::Gtid {
        gtid: Some(g.into()),
        begun,
    }
}

fn stmt(sql: &str) -> EventKind {
    EventKind::Statement {
        sql: sql.into(),
        schema: "shop".into(),
    }
}

#[test]
fn mysql_transaction_begins_at_the_gtid_and_ends_after_the_xid() {
    let mut s = Stream::new();
    let g = s.next(gtid("u:1", false));
    assert_eq!(g.start, p(4));
    assert_eq!(
        g.begins,
        Some(Begin {
            gtid: Some("u:1".into())
        })
    );
    assert!(!g.ends_unfinished && g.skip_to.is_none());
    let begin = s.next(EventKind::Begin);
    assert!(begin.begins.is_none() && !begin.ends && begin.skip_to.is_none());
    assert_eq!(s.next(EventKind::TableMap).carries, Carries::TableMap);
    let rows = s.next(EventKind::Rows);
    assert_eq!(rows.carries, Carries::Rows);
    assert!(rows.begins.is_none(), "already open");
    let xid = s.next(EventKind::Commit);
    assert!(xid.ends);
    assert_eq!(xid.end, p(504));
    assert!(!s.b.in_transaction());
}

#[test]
fn mariadb_gtid_is_itself_the_begin() {
    let mut s = Stream::new();
    assert!(s.next(gtid("0-1-7", true)).begins.is_some());
    s.next(EventKind::TableMap);
    assert!(s.next(EventKind::Rows).begins.is_none());
    // A statement inside a begun transaction does not end it.
    let q = s.next(stmt("SAVEPOINT a"));
    assert!(!q.ends && q.skip_to.is_none());
    assert!(matches!(
        q.carries,
        Carries::Statement {
            in_transaction: true,
            ..
        }
    ));
    assert!(s.next(EventKind::Commit).ends);
}

#[test]
fn a_statement_after_a_gtid_without_begin_is_a_transaction_alone() {
    let mut s = Stream::new();
    s.next(gtid("u:2", false));
    let ddl = s.next(stmt("ALTER TABLE t ADD c INT"));
    assert!(ddl.ends, "standalone DDL ends its transaction");
    assert!(ddl.skip_to.is_none());
    assert!(!s.b.in_transaction());
}

#[test]
fn old_servers_begin_without_a_gtid_and_log_ddl_alone() {
    let mut s = Stream::new();
    let b = s.next(EventKind::Begin);
    assert_eq!(b.begins, Some(Begin { gtid: None }));
    s.next(EventKind::Rows);
    assert!(s.next(EventKind::Commit).ends);
    let ddl = s.next(stmt("CREATE TABLE t (id INT)"));
    assert!(!ddl.ends && ddl.begins.is_none());
    assert_eq!(ddl.skip_to, Some(ddl.end.clone()));
    assert!(matches!(
        ddl.carries,
        Carries::Statement {
            in_transaction: false,
            ..
        }
    ));
}

#[test]
fn rows_outside_a_transaction_open_one() {
    let mut s = Stream::new();
    let rows = s.next(EventKind::Rows);
    assert_eq!(rows.begins, Some(Begin { gtid: None }));
    assert!(s.b.in_transaction());
}

#[test]
fn a_gtid_after_an_uncommitted_transaction_ends_it_where_the_new_one_begins() {
    let mut s = Stream::new();
    s.next(gtid("u:3", false));
    s.next(EventKind::Begin);
    s.next(EventKind::Rows);
    // The server crashed before the XID; after restart the next GTID.
    let g = s.next(gtid("u:4", false));
    assert!(g.ends_unfinished);
    assert!(g.begins.is_some());
}

#[test]
fn events_outside_transactions_move_the_resume_position() {
    let mut s = Stream::new();
    let fd = s.next(EventKind::Other);
    assert_eq!(fd.skip_to, Some(p(104)));
    let commit = s.next(EventKind::Commit);
    assert_eq!(
        commit.skip_to,
        Some(p(204)),
        "a stray COMMIT is passed over"
    );
    s.next(EventKind::Begin);
    assert_eq!(
        s.next(EventKind::Other).skip_to,
        None,
        "inside a transaction"
    );
}

#[test]
fn an_event_ending_at_the_file_header_moves_nothing() {
    let mut b = Boundaries::new(&p(4));
    let step = b.step_kind(EventKind::Other, p(0), p(4)).unwrap();
    assert_eq!(step.skip_to, None);
}

#[test]
fn rotation_switches_files_and_moves_the_position_outside_transactions() {
    let mut s = Stream::new();
    let next = Position::new("bin.000002", 4);
    let r = s.next(EventKind::Rotate { next: next.clone() });
    assert_eq!(r.skip_to, Some(next.clone()));
    // Inside a transaction the file still switches, the position does not.
    let mut s = Stream::new();
    s.next(EventKind::Begin);
    let r = s.next(EventKind::Rotate { next: next.clone() });
    assert_eq!(r.skip_to, None);
    assert_eq!(s.b.positions.file(), "bin.000002");
}

#[test]
fn row_changes_logged_as_statements_are_refused_with_their_position() {
    let mut s = Stream::new();
    s.next(EventKind::Begin);
    let err = s.try_next(stmt("  insert into t values (1)")).unwrap_err();
    assert!(
        matches!(&err, BinlogError::StatementLogged { position, sql } if *position == p(104) && sql.trim_start().starts_with("insert")),
        "{err}"
    );
    // The system schema's own statements are the server's business.
    let mut s = Stream::new();
    let ok = s.try_next(EventKind::Statement {
        sql: "INSERT INTO mysql.user VALUES ()".into(),
        schema: "mysql".into(),
    });
    assert!(ok.is_ok());
}

#[test]
fn only_row_changing_statements_count_as_dml() {
    for sql in ["INSERT", "update t", "Delete from", "REPLACE", "LOAD DATA"] {
        assert!(is_dml(sql), "{sql}");
    }
    for sql in ["CREATE TABLE", "ALTER", "SAVEPOINT", "LOAD INDEX"] {
        assert!(!is_dml(sql), "{sql}");
    }
}

/// A real event (header and body) as the server sends it: `log_pos` is the
/// header's end position, which MariaDB 11.4+ leaves 0 for every event
/// inside a transaction but the last.
fn raw_event(kind: u8, body: &[u8], log_pos: u32) -> Event {
    use mysql_common::binlog::consts::BinlogVersion;
    use mysql_common::binlog::events::FormatDescriptionEvent;
    let size = 19 + body.len() as u32;
    let mut b = Vec::new();
    b.extend_from_slice(&1_700_000_000u32.to_le_bytes());
    b.push(kind);
    b.extend_from_slice(&1u32.to_le_bytes()); // server id
    b.extend_from_slice(&size.to_le_bytes());
    b.extend_from_slice(&log_pos.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(body);
    let fde = FormatDescriptionEvent::new(BinlogVersion::Version4);
    Event::read(&fde, &b[..]).unwrap()
}

/// One MariaDB transaction laid out from `at`: GTID, annotate, table map,
/// two row events, XID. With `zero_inside`, the events between the GTID
/// and the XID carry `end_log_pos = 0`, as MariaDB 11.4 writes them.
/// Returns the events and where the transaction ends.
fn mariadb_transaction(at: u32, seq: u64, zero_inside: bool) -> (Vec<Event>, u32) {
    use mysql_common::binlog::consts::EventType::*;
    let mut gtid = seq.to_le_bytes().to_vec();
    gtid.extend_from_slice(&0u32.to_le_bytes()); // domain
    gtid.extend_from_slice(&[0u8; 7]); // flags: not standalone
    let parts: [(u8, Vec<u8>); 6] = [
        (crate::binlog::txn::MARIADB_GTID, gtid),
        (160, vec![b'x'; 61]), // annotate rows
        (TABLE_MAP_EVENT as u8, vec![0; 31]),
        (WRITE_ROWS_EVENT as u8, vec![0; 41]),
        (UPDATE_ROWS_EVENT as u8, vec![0; 53]),
        (XID_EVENT as u8, 67u64.to_le_bytes().to_vec()),
    ];
    let mut end = at;
    let last = parts.len() - 1;
    let events = parts
        .into_iter()
        .enumerate()
        .map(|(i, (kind, body))| {
            end += 19 + body.len() as u32;
            let inside = i != 0 && i != last;
            raw_event(kind, &body, if inside && zero_inside { 0 } else { end })
        })
        .collect();
    (events, end)
}

/// MariaDB 11.4+ writes `end_log_pos = 0` on every event of a transaction
/// but its GTID and its XID (go-mysql and others lost rows or positions on
/// it). The transactions must begin and end exactly where they do with
/// real positions, and no event may get a position of 0 or before the
/// transaction.
#[test]
fn mariadb_11_4_zero_end_log_pos_inside_transactions_keeps_boundaries_and_positions() {
    let mut got = Vec::new();
    for zero_inside in [false, true] {
        let mut b = Boundaries::new(&p(256));
        let (first, mid) = mariadb_transaction(256, 41, zero_inside);
        let (second, end) = mariadb_transaction(mid, 42, zero_inside);
        let mut txns = Vec::new();
        let mut open = None;
        for ev in first.iter().chain(&second) {
            let step = b.step(ev).unwrap();
            assert!(!step.ends_unfinished);
            assert!(
                step.start.pos >= 256 && step.end.pos >= step.start.pos,
                "{step:?}"
            );
            if let Some(begin) = &step.begins {
                open = Some((step.start.clone(), begin.gtid.clone()));
            }
            let (start, _) = open.clone().expect("inside a transaction");
            assert!(step.start >= start, "{step:?} before its transaction");
            if step.ends {
                let (start, gtid) = open.take().unwrap();
                txns.push((start, step.end.clone(), gtid));
            }
        }
        assert!(!b.in_transaction());
        assert_eq!(
            txns,
            vec![
                (p(256), p(u64::from(mid)), Some("0-1-41".to_string())),
                (
                    p(u64::from(mid)),
                    p(u64::from(end)),
                    Some("0-1-42".to_string())
                ),
            ],
            "zero_inside = {zero_inside}"
        );
        got.push(txns);
    }
    assert_eq!(got[0], got[1], "the same transactions either way");
}
