//! Mutated binlog events through the same steps as the pipeline (file
//! reading, boundaries, table maps, rows): whatever the bytes, the decoder
//! returns events or errors, and never panics, hangs or allocates without
//! bound.
//!
//! Deterministic: a fixed-seed generator mutates the table map, rows and
//! compressed-payload events of the recorded fixtures (when they are there,
//! see `fixture_dir.rs`) and of the files built in `built_*.rs` (bit flips,
//! random and boundary bytes, insertions, deletions, copied chunks, length fields
//! set to extremes), keeps the event's size field and CRC32 consistent so
//! the mutation reaches the decoder rather than the checksum check, and
//! decodes the file up to a few events after the mutated one. A failing
//! case prints its seed; `SLUICE_FUZZ_SEED` replays one, and
//! `SLUICE_FUZZ_CASES` runs more (the cargo-fuzz target in `fuzz/` explores
//! further).

use std::panic::{catch_unwind, AssertUnwindSafe};

use super::fixture_dir;
use super::harness::{decode, events, Ev, HEADER_LEN};

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

/// A seed file: its name, bytes, events, and the indexes of the events the
/// mutations aim at.
type Fixture = (String, Vec<u8>, Vec<Ev>, Vec<usize>);

struct Corpus {
    files: Vec<Fixture>,
    /// How many of `files` are recorded fixtures; `None` without them.
    recorded: Option<usize>,
}

fn corpus() -> Corpus {
    let mut files = Vec::new();
    let mut recorded = None;
    if let Some(dir) = fixture_dir::dir() {
        let mut names: Vec<_> = std::fs::read_dir(dir)
            .expect("fixtures directory")
            .map(|e| e.unwrap().path())
            .collect();
        names.sort();
        for path in names {
            let name = path.file_name().unwrap().to_string_lossy().to_string();
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            add(&mut files, name, bytes);
        }
        recorded = Some(files.len());
    }
    for (name, bytes) in super::built_files() {
        add(&mut files, name.to_string(), bytes);
    }
    Corpus { files, recorded }
}

fn add(files: &mut Vec<Fixture>, name: String, bytes: Vec<u8>) {
    if !bytes.starts_with(b"\xfebin") {
        return;
    }
    let evs = events(&bytes);
    let targets: Vec<usize> = (0..evs.len()).filter(|&i| is_target(evs[i].kind)).collect();
    if !targets.is_empty() {
        files.push((name, bytes, evs, targets));
    }
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
    if let Some(recorded) = corpus.recorded {
        assert!(recorded >= 20, "{recorded} fixtures");
    }
    let built = corpus.files.len() - corpus.recorded.unwrap_or(0);
    assert!(built >= 4, "{built} built seed files");
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
