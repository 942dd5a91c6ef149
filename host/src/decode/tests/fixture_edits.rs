//! Recorded binlogs edited byte by byte into cases no server wrote, and a
//! throughput measure over them. Skipped without the fixtures (see
//! `fixture_dir.rs`).

use super::fixture_dir::read;
use super::harness::{decode, events, HEADER_LEN};

#[test]
fn rows_whose_images_have_no_columns_are_an_error_not_an_endless_loop() {
    // mysql_type_bit.000001: one WRITE_ROWS_EVENT (v2) of a 3-column table.
    let Some(file) = read("mysql_type_bit.000001") else {
        return;
    };
    let evs = events(&file);
    let w = evs
        .iter()
        .find(|e| e.kind == 30)
        .expect("a write rows event");
    let mut file = file.clone();
    let body = w.at + HEADER_LEN;
    // table id (6), flags (2), extra-data length (2, counting itself),
    // column count (1 byte here), then the columns-present bitmap.
    let extra = u16::from_le_bytes([file[body + 8], file[body + 9]]) as usize;
    let bitmap = body + 8 + extra + 1;
    file[bitmap] = 0;
    let end = w.at + w.len;
    let crc = crc32fast::hash(&file[w.at..end - 4]);
    file[end - 4..end].copy_from_slice(&crc.to_le_bytes());
    let d = decode(&file, "mysql_type_bit.000001");
    assert!(d.events.is_empty(), "{:?}", d.events);
    assert!(
        d.errors
            .iter()
            // A named table's image without columns is caught as a partial
            // image first; the endless-loop guard covers unnamed tables.
            .any(|e| e.contains("images have no columns")
                || e.contains("leaves out column(s) a, b, c")),
        "{:?}",
        d.errors
    );
}

/// Rough decode throughput over the rows events of a few fixtures, for
/// spotting regressions in the hot path. Run in release:
/// `cargo test --release -p sluice --lib decode_throughput -- --ignored --nocapture`
#[test]
#[ignore]
fn decode_throughput() {
    use crate::binlog::file::BinlogBytes;
    use crate::decode::{Decoder, TablePlan, TxnSource};
    use crate::event::{Batch, Position};
    use std::sync::Arc;
    for name in [
        "mariadb-bin.000001",
        "mysql-enum-string-set.000001",
        "vector.binlog",
        "json-opaque.binlog",
    ] {
        let Some(bytes) = read(name) else {
            return;
        };
        let mut d = Decoder::default();
        let mut rows = Vec::new();
        for ev in BinlogBytes::new(&bytes).unwrap() {
            let ev = ev.unwrap();
            match ev.header().event_type_raw() {
                19 => {
                    d.table_map(&ev).unwrap();
                }
                23..=25 | 30..=32 => rows.push(ev),
                _ => {}
            }
        }
        let from = Position::new(name, 4);
        let mut txn = TxnSource::new(crate::event::TxnId(0), 1, &from, None);
        let mut batch = Batch::default();
        let mut plans: Vec<(u64, Arc<TablePlan>)> = Vec::new();
        let mut plan = |s: &Arc<crate::decode::schema::TableSchema>| {
            if let Some((_, p)) = plans.iter().find(|(id, _)| *id == s.table_id) {
                return p.clone();
            }
            let p = Arc::new(TablePlan::everything(s));
            plans.push((s.table_id, p.clone()));
            p
        };
        let started = std::time::Instant::now();
        let mut n = 0usize;
        let mut events = 0usize;
        while started.elapsed().as_millis() < 1000 {
            events += 1000 * rows.len();
            for _ in 0..1000 {
                for ev in &rows {
                    n += d.rows(ev, &mut txn, 0, &mut batch, &mut plan).unwrap();
                }
                batch.clear();
            }
        }
        let secs = started.elapsed().as_secs_f64();
        eprintln!(
            "{name}: {:.0} rows/s, {:.1} rows per event",
            n as f64 / secs,
            n as f64 / events.max(1) as f64
        );
    }
}

#[test]
fn mariadb_compressed_rows_events_stop_the_pipeline_instead_of_vanishing() {
    // A MariaDB rows event retyped as WRITE_ROWS_COMPRESSED_EVENT_V1 (166).
    let name = "mariadb-bin.000001";
    let Some(mut file) = read(name) else {
        return;
    };
    let evs = events(&file);
    let before = decode(&file, name).events.len();
    let w = evs
        .iter()
        .find(|e| matches!(e.kind, 23 | 30))
        .expect("a write rows event");
    file[w.at + 4] = 166;
    let end = w.at + w.len;
    if w.crc {
        let crc = crc32fast::hash(&file[w.at..end - 4]);
        file[end - 4..end].copy_from_slice(&crc.to_le_bytes());
    }
    let d = decode(&file, name);
    assert!(d.events.len() < before);
    assert!(
        d.errors.iter().any(|e| e.contains("log_bin_compress")),
        "{:?}",
        d.errors
    );
}
