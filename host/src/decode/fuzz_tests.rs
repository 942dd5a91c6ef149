//! Mutated binlog events through the same steps as the pipeline (file
//! reading, boundaries, table maps, rows): whatever the bytes, the decoder
//! returns events or errors, and never panics, hangs or allocates without
//! bound.
//!
//! Deterministic: a fixed-seed generator mutates the table map, rows and
//! compressed-payload events of the recorded fixtures (bit flips, random
//! and boundary bytes, insertions, deletions, copied chunks, length fields
//! set to extremes), keeps the event's size field and CRC32 consistent so
//! the mutation reaches the decoder rather than the checksum check, and
//! decodes the file up to a few events after the mutated one. A failing
//! case prints its seed; `SLUICE_FUZZ_SEED` replays one, and
//! `SLUICE_FUZZ_CASES` runs more (the cargo-fuzz target in `fuzz/` explores
//! further).

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::fixture_tests::{decode, dir};

const HEADER_LEN: usize = 19;

/// xorshift64*: small, fast and the same everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

/// One event of a file: where it starts, its size and type, and whether it
/// ends with a valid CRC32.
#[derive(Clone, Copy, Debug)]
struct Ev {
    at: usize,
    len: usize,
    kind: u8,
    crc: bool,
}

fn events(file: &[u8]) -> Vec<Ev> {
    let mut out = Vec::new();
    let mut at = 4;
    while at + HEADER_LEN <= file.len() {
        let len = u32::from_le_bytes(file[at + 9..at + 13].try_into().unwrap()) as usize;
        if len < HEADER_LEN || at + len > file.len() {
            break;
        }
        let e = &file[at..at + len];
        let crc =
            len >= HEADER_LEN + 4 && crc32fast::hash(&e[..len - 4]).to_le_bytes() == e[len - 4..];
        out.push(Ev {
            at,
            len,
            kind: file[at + 4],
            crc,
        });
        at += len;
    }
    out
}

/// Table map, rows (v1, v2, partial) and transaction payload events.
fn is_target(kind: u8) -> bool {
    matches!(kind, 19 | 23..=25 | 30..=32 | 39 | 40)
}

const INTERESTING: [u8; 8] = [0x00, 0x01, 0x7f, 0x80, 0xfe, 0xff, 0xfc, 0xfb];

/// Mutates an event body (header and checksum excluded) in place.
fn mutate(rng: &mut Rng, body: &mut Vec<u8>) {
    let rounds = 1 + rng.below(4);
    for _ in 0..rounds {
        let n = body.len();
        match rng.below(9) {
            0 if n > 0 => {
                let i = rng.below(n);
                body[i] ^= 1 << rng.below(8);
            }
            1 if n > 0 => {
                let i = rng.below(n);
                body[i] = rng.next() as u8;
            }
            2 if n > 0 => {
                let i = rng.below(n);
                body[i] = INTERESTING[rng.below(INTERESTING.len())];
            }
            3 => {
                let i = rng.below(n + 1);
                let k = 1 + rng.below(8);
                for _ in 0..k {
                    body.insert(i, rng.next() as u8);
                }
            }
            4 if n > 0 => {
                let i = rng.below(n);
                let k = (1 + rng.below(8)).min(n - i);
                body.drain(i..i + k);
            }
            5 if n > 1 => {
                // Copy a chunk over another place (repeats structure).
                let a = rng.below(n);
                let b = rng.below(n);
                let k = rng.below(16).min(n - a).min(n - b);
                let chunk = body[a..a + k].to_vec();
                body[b..b + k].copy_from_slice(&chunk);
            }
            6 if n > 3 => {
                // A length-like field set to an extreme.
                let i = rng.below(n - 3);
                let v: u32 = [0, 1, 0xff, 0xffff, 0xff_ffff, u32::MAX, 0x8000_0000][rng.below(7)];
                body[i..i + 4].copy_from_slice(&v.to_le_bytes());
            }
            7 if n > 0 => {
                // Truncate.
                let i = rng.below(n);
                body.truncate(i);
            }
            _ if n > 0 => {
                // A length-encoded integer marker (0xfb-0xfe) somewhere.
                let i = rng.below(n);
                body[i] = [0xfb, 0xfc, 0xfd, 0xfe][rng.below(4)];
            }
            _ => body.push(rng.next() as u8),
        }
    }
}

/// The file cut a few events after event `target`, with that event's body
/// mutated and its size and CRC made consistent again.
fn mutated_file(rng: &mut Rng, file: &[u8], evs: &[Ev], target: usize) -> Vec<u8> {
    let e = evs[target];
    let mut crc_len = if e.crc { 4 } else { 0 };
    let mut body = file[e.at + HEADER_LEN..e.at + e.len - crc_len].to_vec();
    mutate(rng, &mut body);
    if rng.below(16) == 0 {
        // An event shorter than its checksum.
        body.truncate(rng.below(4));
        crc_len = 0;
    }
    let end = evs
        .get(target + 1 + rng.below(4))
        .map(|n| n.at + n.len)
        .unwrap_or(file.len());
    let mut out = Vec::with_capacity(end + 64);
    out.extend_from_slice(&file[..e.at]);
    let mut ev = file[e.at..e.at + HEADER_LEN].to_vec();
    if rng.below(8) == 0 {
        // Another event type over the same body: a rows event read as a
        // table map, a table map as a payload, ...
        ev[4] = [19, 23, 24, 25, 30, 31, 32, 39, 40][rng.below(9)];
    }
    ev.extend_from_slice(&body);
    let size = (ev.len() + crc_len) as u32;
    ev[9..13].copy_from_slice(&size.to_le_bytes());
    if crc_len > 0 {
        let crc = crc32fast::hash(&ev);
        ev.extend_from_slice(&crc.to_le_bytes());
    }
    out.extend_from_slice(&ev);
    if e.at + e.len < end {
        out.extend_from_slice(&file[e.at + e.len..end]);
    }
    out
}

/// A fixture: its name, bytes, events, and the indexes of the events the
/// mutations aim at.
type Fixture = (String, Vec<u8>, Vec<Ev>, Vec<usize>);

struct Corpus {
    files: Vec<Fixture>,
}

fn corpus() -> Corpus {
    let mut files = Vec::new();
    let mut names: Vec<_> = std::fs::read_dir(dir())
        .expect("fixtures directory (set SLUICE_FIXTURES to move it)")
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    for path in names {
        let name = path.file_name().unwrap().to_string_lossy().to_string();
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        if !bytes.starts_with(b"\xfebin") {
            continue;
        }
        let evs = events(&bytes);
        let targets: Vec<usize> = (0..evs.len()).filter(|&i| is_target(evs[i].kind)).collect();
        if !targets.is_empty() {
            files.push((name, bytes, evs, targets));
        }
    }
    Corpus { files }
}

fn run_case(corpus: &Corpus, seed: u64) -> (usize, usize) {
    let mut rng = Rng(seed | 1);
    let (name, bytes, evs, targets) = &corpus.files[rng.below(corpus.files.len())];
    // Mostly the decoder's events; sometimes any event (format description,
    // GTID, query...), which the same pipeline steps read first.
    let target = if rng.below(10) == 0 {
        rng.below(evs.len())
    } else {
        targets[rng.below(targets.len())]
    };
    let file = mutated_file(&mut rng, bytes, evs, target);
    let result = catch_unwind(AssertUnwindSafe(|| decode(&file, name)));
    match result {
        Ok(d) => {
            // Every change event consumes at least a byte of its rows event.
            assert!(
                d.events.len() <= file.len(),
                "seed {seed}: {} events from {} bytes of {name}",
                d.events.len(),
                file.len()
            );
            (d.events.len(), d.errors.len())
        }
        Err(p) => {
            eprintln!(
                "decoder panicked on a mutation of {name} event #{target} (type {}); replay with SLUICE_FUZZ_SEED={seed}",
                evs[target].kind
            );
            std::panic::resume_unwind(p);
        }
    }
}

#[test]
fn mutated_events_never_panic_hang_or_blow_up() {
    let corpus = corpus();
    assert!(corpus.files.len() >= 20, "{} fixtures", corpus.files.len());
    if let Some(seed) = std::env::var("SLUICE_FUZZ_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        let (events, errors) = run_case(&corpus, seed);
        eprintln!("{events} events, {errors} errors");
        return;
    }
    let cases: u64 = std::env::var("SLUICE_FUZZ_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(10_000);
    let started = std::time::Instant::now();
    let (mut events, mut failed) = (0, 0);
    for i in 0..cases {
        let (e, f) = run_case(&corpus, 0x5eed_0000 + i.wrapping_mul(0x9e37_79b9_7f4a_7c15));
        events += e;
        failed += (f > 0) as usize;
    }
    eprintln!(
        "{cases} mutated files decoded in {:?}: {events} change events, {failed} files ended in an error",
        started.elapsed()
    );
}

#[test]
fn the_mutator_keeps_sizes_consistent() {
    let corpus = corpus();
    let mut rng = Rng(42);
    for (_, bytes, evs, targets) in corpus.files.iter().take(10) {
        let t = targets[0];
        let file = mutated_file(&mut rng, bytes, evs, t);
        let again = events(&file);
        assert!(again.len() > t, "the mutated event is still an event");
    }
}

#[test]
fn rows_whose_images_have_no_columns_are_an_error_not_an_endless_loop() {
    // mysql_type_bit.000001: one WRITE_ROWS_EVENT (v2) of a 3-column table.
    let file = std::fs::read(dir().join("mysql_type_bit.000001")).unwrap();
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
        let bytes = std::fs::read(dir().join(name)).unwrap();
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
        let mut plan = |s: &Arc<super::schema::TableSchema>| {
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
    let mut file = std::fs::read(dir().join(name)).unwrap();
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
