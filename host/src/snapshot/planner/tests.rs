use super::*;
use crate::decode::schema::TableSchema;
use crate::event::batch::TableName;
use crate::event::msgpack::PreEncoded;
use crate::snapshot::catalog::TableInfo;
use crate::snapshot::chunk::ChunkRows;
use crate::snapshot::columns::SnapshotTable;
use crate::snapshot::job::PartOutcome;

fn p(pos: u64) -> Position {
    Position::new("bin.000001", pos)
}

fn table(db: &str, name: &str) -> TableProgress {
    TableProgress {
        db: db.into(),
        table: name.into(),
        condition: None,
        after: None,
        rows: 0,
        estimate: 5,
        reason: "initial".into(),
    }
}

fn planner(tables: Vec<TableProgress>, chunk_rows: usize) -> Planner {
    Planner::new(
        Progress {
            tables,
            requests: vec![],
        },
        chunk_rows,
        Duration::from_secs(60),
        Some(SignalTable {
            db: "sluice".into(),
            table: "snapshot_signals".into(),
        }),
    )
}

/// A chunk of rows with integer keys `ids` (keys encoded as one byte each:
/// the planner only compares them), read up to `high`.
/// The reader's answer to chunk job `id`, for a table every rule captures.
fn answer(pl: &mut Planner, id: u64, outcome: ChunkOutcome) {
    pl.reply(
        Reply::Chunk {
            id,
            outcome: Ok(outcome),
        },
        &all,
    )
    .unwrap();
}

fn chunk(ids: &[u8], high: u64) -> ChunkOutcome {
    let schema = Arc::new(TableSchema {
        table_id: 1 << 62,
        name: Arc::new(TableName {
            db: "d".into(),
            table: "t".into(),
        }),
        db_mp: PreEncoded::str("d"),
        table_mp: PreEncoded::str("t"),
        columns: vec![],
        primary_key: vec![0],
        has_names: true,
        types: Default::default(),
    });
    let mut rows = ChunkRows::default();
    for &id in ids {
        let at = rows.key_buf.len();
        rows.key_buf.push(id);
        rows.keys.push(at..at + 1);
        rows.rows += 1;
    }
    rows.last_key = ids.last().map(|&i| vec![KeyValue::Int(i as i64)]);
    ChunkOutcome::Rows(Box::new(ReadChunk {
        table: Arc::new(SnapshotTable {
            schema,
            select_list: String::new(),
            key_order: String::new(),
        }),
        rows,
        high: p(high),
        read_ms: 0,
    }))
}

fn chunk_job(job: Option<Job>) -> ChunkRequest {
    match job {
        Some(Job::Chunk(c)) => c,
        other => panic!("expected a chunk job, got {other:?}"),
    }
}

fn all(_: &str, _: &str) -> bool {
    true
}

#[test]
fn a_chunk_joins_the_stream_past_its_high_watermark_without_rows_changed_meanwhile() {
    let mut pl = planner(vec![table("d", "t")], 3);
    let (merges, job) = pl.boundary(&p(100));
    assert!(merges.is_empty());
    let first = chunk_job(job);
    assert_eq!((first.after.clone(), first.limit), (None, 3));
    assert_eq!(pl.watching(), Some(("d", "t")));
    // Key 2 changes in the stream while the chunk is read.
    pl.touched(&[2]);
    answer(&mut pl, first.id, chunk(&[1, 2, 3], 300));
    // The stream is not at the chunk's high watermark yet: no merge, but
    // the next chunk is asked for, after the last key read.
    let (merges, job) = pl.boundary(&p(200));
    assert!(merges.is_empty());
    let second = chunk_job(job);
    assert_eq!(second.after, Some(vec![KeyValue::Int(3)]));
    pl.touched(&[4]);
    let (merges, job) = pl.boundary(&p(300));
    assert!(job.is_none(), "the second chunk is still being read");
    assert_eq!(merges.len(), 1);
    assert_eq!(merges[0].keep, [true, false, true]);
    let mark = pl.take_mark().unwrap();
    assert_eq!(mark.tables[0].rows, 2);
    assert_eq!(mark.tables[0].after, Some(vec![KeyValue::Int(3)]));
    assert!(pl.take_mark().is_none(), "unchanged since");
    // The last, short chunk: key 4 changed inside its window too.
    answer(&mut pl, second.id, chunk(&[4, 5], 400));
    let (merges, job) = pl.boundary(&p(450));
    assert!(job.is_none(), "nothing left to read");
    assert_eq!(merges[0].keep, [false, true]);
    assert!(pl.take_mark().unwrap().is_empty(), "the table is done");
    assert!(pl.is_idle());
    assert_eq!(pl.watching(), None);
}

#[test]
fn a_resumed_table_starts_after_its_stored_key() {
    let mut t = table("d", "t");
    t.after = Some(vec![KeyValue::Int(40)]);
    let mut pl = planner(vec![t], 10);
    let job = chunk_job(pl.boundary(&p(4)).1);
    assert_eq!(job.after, Some(vec![KeyValue::Int(40)]));
}

#[test]
fn an_altered_table_starts_again_and_a_dropped_one_ends() {
    let mut pl = planner(vec![table("d", "t"), table("d", "u")], 3);
    let first = chunk_job(pl.boundary(&p(10)).1);
    answer(&mut pl, first.id, chunk(&[1, 2, 3], 20));
    let (merges, second) = pl.boundary(&p(20));
    assert_eq!(merges.len(), 1);
    let second = chunk_job(second);
    pl.schema_changed("d", "t", false);
    // The answer to the request made before the ALTER is dropped.
    answer(&mut pl, second.id, chunk(&[4], 30));
    let again = chunk_job(pl.boundary(&p(30)).1);
    assert_eq!(again.after, None, "from the first row");
    assert!(again.epoch > first.epoch, "described again");
    assert_eq!(pl.take_mark().unwrap().tables[0].rows, 0);
    assert_eq!(pl.schema_changed("d", "t", true), SchemaChange::Ended);
    let next = chunk_job(pl.boundary(&p(40)).1);
    assert_eq!(next.table, "u");
}

/// An ALTER and then a DROP with no boundary between them (the stream idle
/// in between): no chunk of the table is out when the DROP comes, and its
/// snapshot still ends, as reported.
#[test]
fn a_table_dropped_right_after_an_alter_ends_its_snapshot() {
    let mut pl = planner(vec![table("d", "t"), table("d", "u"), table("d", "v")], 3);
    let first = chunk_job(pl.boundary(&p(10)).1);
    assert_eq!(pl.schema_changed("d", "t", false), SchemaChange::Restarted);
    assert!(!pl.waiting_for_reply(), "the chunk out is moot");
    assert_eq!(pl.schema_changed("d", "t", true), SchemaChange::Ended);
    // The answer to the chunk asked for before both is dropped.
    answer(&mut pl, first.id, chunk(&[1, 2, 3], 20));
    // A queued table dropped before its turn is left out.
    assert_eq!(pl.schema_changed("d", "v", true), SchemaChange::LeftOut);
    assert_eq!(pl.schema_changed("d", "x", true), SchemaChange::NotQueued);
    let next = chunk_job(pl.boundary(&p(30)).1);
    assert_eq!(next.table, "u");
    assert_eq!(next.after, None);
}

#[test]
fn requests_resolve_to_captured_tables_they_name() {
    let mut pl = planner(vec![], 3);
    let info = |db: &str, t: &str| TableInfo {
        db: db.into(),
        table: t.into(),
        rows_estimate: 7,
        bytes_estimate: 0,
        has_primary_key: true,
    };
    pl.request(Request {
        reason: "signal 1".into(),
        patterns: Some(vec!["shop.o*".into(), "sluice.*".into()]),
        except_captured_by: None,
        condition: Some("id > 3".into()),
    });
    pl.request(Request {
        reason: "new rule".into(),
        patterns: None,
        except_captured_by: Some(vec![(vec!["shop.*".into()], vec!["shop.orders".into()])]),
        condition: None,
    });
    let server = vec![
        info("shop", "orders"),
        info("shop", "items"),
        info("shop", "old"),
        info("crm", "people"),
        info("sluice", "snapshot_signals"),
    ];
    let captured = |_: &str, t: &str| t != "old";
    for _ in 0..2 {
        let id = match pl.boundary(&p(4)).1 {
            Some(Job::Tables { id }) => id,
            other => panic!("{other:?}"),
        };
        pl.reply(
            Reply::Tables {
                id,
                outcome: Ok(server.clone()),
            },
            &captured,
        )
        .unwrap();
        if pl.progress.requests.is_empty() {
            break;
        }
    }
    let queued: Vec<(&str, &str, Option<&str>)> = pl
        .progress
        .tables
        .iter()
        .map(|t| (&*t.db, &*t.table, t.condition.as_deref()))
        .collect();
    assert_eq!(
        queued,
        [
            ("shop", "orders", Some("id > 3")),
            ("shop", "orders", None),
            ("crm", "people", None),
        ],
        "the signal table and uncaptured tables are never read; the reload \
         adds what the old rules did not capture"
    );
}

#[test]
fn a_table_that_vanished_or_cannot_be_read_whole_is_passed_over() {
    let mut pl = planner(
        vec![table("d", "gone"), table("d", "nokey"), table("d", "t")],
        3,
    );
    let job = chunk_job(pl.boundary(&p(4)).1);
    answer(&mut pl, job.id, ChunkOutcome::Gone);
    // No key, and a server that cannot say where a consistent read is.
    let id = whole_job(&mut pl, 4);
    pl.reply(
        Reply::Part {
            id,
            outcome: Ok(PartOutcome::NoConsistentPosition),
        },
        &all,
    )
    .unwrap();
    assert_eq!(chunk_job(pl.boundary(&p(4)).1).table, "t");
}

fn part(ids: &[u8], at: u64, last: bool) -> PartOutcome {
    let ChunkOutcome::Rows(chunk) = chunk(ids, at) else {
        unreachable!()
    };
    PartOutcome::Rows { chunk, last }
}

fn whole_job(pl: &mut Planner, at: u64) -> u64 {
    let first = chunk_job(pl.boundary(&p(at)).1);
    answer(pl, first.id, ChunkOutcome::NoPrimaryKey);
    match pl.boundary(&p(at)).1 {
        Some(Job::Whole(r)) => r.id,
        other => panic!("expected a whole-table job, got {other:?}"),
    }
}

#[test]
fn a_table_without_a_key_joins_the_stream_exactly_at_its_read_position() {
    let mut pl = planner(vec![table("d", "t"), table("d", "u")], 2);
    let id = whole_job(&mut pl, 10);
    assert_eq!(
        pl.hold(),
        Hold::Replies,
        "the binlog waits for the position"
    );
    pl.reply(
        Reply::Part {
            id,
            outcome: Ok(part(&[1, 2], 50, false)),
        },
        &all,
    )
    .unwrap();
    assert_eq!(pl.hold(), Hold::UpTo(&p(50)));
    let (merges, job) = pl.boundary(&p(40));
    assert!(merges.is_empty() && job.is_none());
    let (merges, _) = pl.boundary(&p(50));
    assert_eq!(merges[0].keep, [true, true], "no key, nothing to drop");
    pl.reply(
        Reply::Part {
            id,
            outcome: Ok(part(&[3], 50, true)),
        },
        &all,
    )
    .unwrap();
    let (merges, job) = pl.boundary(&p(50));
    assert_eq!(merges.len(), 1);
    assert_eq!(pl.hold(), Hold::Free, "the binlog goes on");
    assert_eq!(chunk_job(job).table, "u");
    let mark = pl.take_mark().unwrap();
    assert_eq!(mark.tables.len(), 1, "t is done");
}

#[test]
fn a_whole_read_the_stream_went_past_is_given_up_and_its_parts_dropped() {
    let mut pl = planner(vec![table("d", "t")], 2);
    let id = whole_job(&mut pl, 10);
    pl.reply(
        Reply::Part {
            id,
            outcome: Ok(part(&[1, 2], 50, false)),
        },
        &all,
    )
    .unwrap();
    let (merges, job) = pl.boundary(&p(60));
    assert!(merges.is_empty() && job.is_none());
    assert!(
        pl.waiting_for_reply(),
        "the rest of the read is still drained"
    );
    pl.reply(
        Reply::Part {
            id,
            outcome: Ok(part(&[3], 50, true)),
        },
        &all,
    )
    .unwrap();
    assert!(pl.is_idle());
    assert_eq!(pl.hold(), Hold::Free);
}
