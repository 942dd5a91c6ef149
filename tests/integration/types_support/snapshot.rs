//! The snapshot side of every types test: each row still in the table,
//! read the way a snapshot reads it (`SELECT` in primary-key chunks), must
//! be the same bytes as the `after` image of the row's last streamed event
//! and its message key, so a consumer cannot tell a snapshot row from a
//! streamed one.
//!
//! The streamed bytes are sliced out of the Kafka payload as they are
//! (not decoded and re-encoded), so any difference in encoding shows.

use std::collections::BTreeMap;

use rmpv::Value;

use super::{field, hex, tagged};
use crate::support::{MariaDb, Message};

/// Rows per chunk: small, so every test pages through its table.
const CHUNK_ROWS: usize = 2;

/// Why a column of the streamed image cannot be in the snapshot's, for
/// the only such columns (every column *type* reads back identically):
/// MariaDB's hidden hash of a long UNIQUE index (`UNIQUE (blob_col)`, kept
/// `USING HASH`) is in the binlog image, but no `SELECT` can read it and
/// information_schema does not list it (docs/FORMAT.md, "Snapshot rows").
fn not_in_snapshot(column: &str) -> Option<&'static str> {
    column
        .starts_with("DB_ROW_HASH_")
        .then_some("MariaDB's long-unique hash column cannot be selected")
}

/// One row's raw bytes: the after image and the message key.
#[derive(Debug)]
struct RawRow {
    after: Vec<u8>,
    key: Option<Vec<u8>>,
}

/// Checks every row of `db`.`t` on `server` against the streamed `msgs`.
pub(super) fn assert_snapshot_matches(server: &MariaDb, db: &str, msgs: &[Message]) {
    let streamed = replay_raw(msgs);
    let rows = sluice::testing::snapshot_rows(&server.url(), db, "t", CHUNK_ROWS)
        .unwrap_or_else(|e| panic!("snapshot of {db}.t failed: {e}"));
    let mut snapshot = BTreeMap::new();
    for r in rows {
        let id = id_of(&r.after);
        let row = RawRow {
            after: r.after,
            key: Some(r.key),
        };
        assert!(
            snapshot.insert(id, row).is_none(),
            "snapshot read row {id} twice"
        );
    }
    let ids = |m: &BTreeMap<i64, RawRow>| m.keys().copied().collect::<Vec<_>>();
    assert_eq!(
        ids(&snapshot),
        ids(&streamed),
        "rows read by the snapshot (left) vs rows streamed (right)"
    );
    let mut diffs = Vec::new();
    for (id, s) in &streamed {
        let snap = &snapshot[id];
        if let Some(d) = diff_images(&comparable(&s.after), &snap.after) {
            diffs.push(format!("row id={id} after image:\n{d}"));
        }
        // Tables without a primary key have no message key to compare.
        if s.key.is_some() && s.key != snap.key {
            let show = |k: &Option<Vec<u8>>| k.as_deref().map(render).unwrap_or_default();
            diffs.push(format!(
                "row id={id} key:\n  streamed: {}\n  snapshot: {}",
                show(&s.key),
                show(&snap.key)
            ));
        }
    }
    assert!(
        diffs.is_empty(),
        "{} snapshot rows differ from the streamed ones:\n{}",
        diffs.len(),
        diffs.join("\n")
    );
}

/// The raw after image and key of each row's last event, by `id`, for
/// rows that still exist after all of `msgs`.
fn replay_raw(msgs: &[Message]) -> BTreeMap<i64, RawRow> {
    let mut rows = BTreeMap::new();
    for m in msgs {
        let payload = m.payload.as_deref().expect("payload");
        let before = raw_field(payload, "before").expect("before");
        let after = raw_field(payload, "after").expect("after");
        if before != [0xc0] {
            rows.remove(&id_of(before));
        }
        if after != [0xc0] {
            let row = RawRow {
                after: after.to_vec(),
                key: m.key.clone(),
            };
            rows.insert(id_of(after), row);
        }
    }
    rows
}

fn id_of(image: &[u8]) -> i64 {
    let v = decode(image);
    field(&v, "id")
        .and_then(Value::as_i64)
        .unwrap_or_else(|| panic!("image without an integer id: {v}"))
}

fn decode(mut b: &[u8]) -> Value {
    rmpv::decode::read_value(&mut b).expect("MessagePack")
}

/// `None` when equal, else which columns differ, as tagged text and hex,
/// and both images whole.
fn diff_images(streamed: &[u8], snapshot: &[u8]) -> Option<String> {
    if streamed == snapshot {
        return None;
    }
    let (s, n) = (decode(streamed), decode(snapshot));
    let empty = Vec::new();
    let (sm, nm) = (s.as_map().unwrap_or(&empty), n.as_map().unwrap_or(&empty));
    let mut out = Vec::new();
    for (i, (k, sv)) in sm.iter().enumerate() {
        let name = k.as_str().unwrap_or("?");
        let Some((nk, nv)) = nm.get(i) else { break };
        let (rs, rn) = (raw_value(streamed, i), raw_value(snapshot, i));
        if nk != k {
            out.push(format!(
                "  column {i}: streamed as {name}, in the snapshot as {nk}"
            ));
        } else if rs != rn {
            let hex_of = |r: Option<Vec<u8>>| short(&hex(&r.unwrap_or_default()));
            out.push(format!(
                "  column {name}:\n    streamed: {} ({})\n    snapshot: {} ({})",
                short(&tagged(sv)),
                hex_of(rs),
                short(&tagged(nv)),
                hex_of(rn),
            ));
        }
    }
    if sm.len() != nm.len() {
        out.push(format!(
            "  {} columns streamed, {} in the snapshot",
            sm.len(),
            nm.len()
        ));
    }
    out.push(format!("  streamed image: {}", render(streamed)));
    out.push(format!("  snapshot image: {}", render(snapshot)));
    Some(out.join("\n"))
}

/// As JSON and hex, cut to a readable length.
fn render(b: &[u8]) -> String {
    let json = serde_json::to_string(&decode(b)).unwrap_or_default();
    format!("{} hex {}", short(&json), short(&hex(b)))
}

fn short(s: &str) -> String {
    if s.chars().count() > 300 {
        let head: String = s.chars().take(300).collect();
        format!("{head}... ({} chars)", s.chars().count())
    } else {
        s.to_string()
    }
}

/// A streamed image without the columns a snapshot cannot have, sliced
/// from its bytes, with its map header rewritten for the new length.
fn comparable(image: &[u8]) -> Vec<u8> {
    let (n, mut at) = map_header(image).expect("an image is a map");
    let mut kept = Vec::new();
    let mut count = 0;
    for _ in 0..n {
        let key_end = skip(image, at).expect("key");
        let end = skip(image, key_end).expect("value");
        let name = decode(&image[at..key_end]);
        if not_in_snapshot(name.as_str().unwrap_or("")).is_none() {
            kept.extend_from_slice(&image[at..end]);
            count += 1;
        }
        at = end;
    }
    if count == n {
        return image.to_vec();
    }
    let mut out = Vec::new();
    match count {
        0..=15 => out.push(0x80 | count as u8),
        16..=0xffff => {
            out.push(0xde);
            out.extend_from_slice(&(count as u16).to_be_bytes());
        }
        _ => {
            out.push(0xdf);
            out.extend_from_slice(&(count as u32).to_be_bytes());
        }
    }
    out.extend_from_slice(&kept);
    out
}

/// The raw bytes of the `i`th value of the map in `b`.
fn raw_value(b: &[u8], i: usize) -> Option<Vec<u8>> {
    let (n, mut at) = map_header(b)?;
    for j in 0..n {
        at = skip(b, at)?;
        let end = skip(b, at)?;
        if j == i {
            return Some(b[at..end].to_vec());
        }
        at = end;
    }
    None
}

/// The raw bytes of the value of string key `name` in the map in `b`.
fn raw_field<'a>(b: &'a [u8], name: &str) -> Option<&'a [u8]> {
    let (n, mut at) = map_header(b)?;
    for _ in 0..n {
        let key_end = skip(b, at)?;
        let end = skip(b, key_end)?;
        if decode(&b[at..key_end]).as_str() == Some(name) {
            return Some(&b[key_end..end]);
        }
        at = end;
    }
    None
}

/// A map's length and where its first key starts.
fn map_header(b: &[u8]) -> Option<(usize, usize)> {
    match *b.first()? {
        m @ 0x80..=0x8f => Some(((m & 0x0f) as usize, 1)),
        0xde => Some((be(b.get(1..3)?), 3)),
        0xdf => Some((be(b.get(1..5)?), 5)),
        _ => None,
    }
}

fn be(b: &[u8]) -> usize {
    b.iter().fold(0, |a, &x| (a << 8) | x as usize)
}

/// Where the MessagePack value starting at `at` ends.
fn skip(b: &[u8], at: usize) -> Option<usize> {
    let m = *b.get(at)?;
    let len = |n: usize| b.get(at + 1..at + 1 + n).map(be);
    let items = |first: usize, count: usize| -> Option<usize> {
        (0..count).try_fold(first, |p, _| skip(b, p))
    };
    Some(match m {
        0x00..=0x7f | 0xe0..=0xff | 0xc0 | 0xc2 | 0xc3 => at + 1,
        0x80..=0x8f => items(at + 1, 2 * (m & 0x0f) as usize)?,
        0x90..=0x9f => items(at + 1, (m & 0x0f) as usize)?,
        0xa0..=0xbf => at + 1 + (m & 0x1f) as usize,
        0xc4 | 0xd9 => at + 2 + len(1)?,
        0xc5 | 0xda => at + 3 + len(2)?,
        0xc6 | 0xdb => at + 5 + len(4)?,
        0xc7 => at + 3 + len(1)?,
        0xc8 => at + 4 + len(2)?,
        0xc9 => at + 6 + len(4)?,
        0xca => at + 5,
        0xcb => at + 9,
        0xcc | 0xd0 => at + 2,
        0xcd | 0xd1 => at + 3,
        0xce | 0xd2 => at + 5,
        0xcf | 0xd3 => at + 9,
        0xd4 => at + 3,
        0xd5 => at + 4,
        0xd6 => at + 6,
        0xd7 => at + 10,
        0xd8 => at + 18,
        0xdc => items(at + 3, len(2)?)?,
        0xdd => items(at + 5, len(4)?)?,
        0xde => items(at + 3, 2 * len(2)?)?,
        0xdf => items(at + 5, 2 * len(4)?)?,
        0xc1 => return None,
    })
    .filter(|&end| end <= b.len())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_skipper_steps_over_every_encoding() {
        let v = Value::Map(vec![
            (Value::from("a"), Value::from(-1_000_000_i64)),
            (Value::from("bin"), Value::Binary(vec![0; 300])),
            (
                Value::from("arr"),
                Value::Array((0..20).map(Value::from).collect()),
            ),
            (Value::from("f"), Value::F32(1.5)),
            (Value::from("s"), Value::from("x".repeat(70_000))),
            (
                Value::from("after"),
                Value::Map(vec![(Value::from("id"), Value::from(7))]),
            ),
        ]);
        let mut b = Vec::new();
        rmpv::encode::write_value(&mut b, &v).unwrap();
        assert_eq!(skip(&b, 0), Some(b.len()));
        assert_eq!(id_of(raw_field(&b, "after").unwrap()), 7);
        assert_eq!(raw_value(&b, 3).unwrap(), [0xca, 0x3f, 0xc0, 0, 0]);
        assert_eq!(skip(&b[..b.len() - 1], 0), None);
        // Nothing to leave out: the same bytes.
        assert_eq!(comparable(&b), b);
        let image = Value::Map(vec![
            (Value::from("id"), Value::from(1)),
            (Value::from("DB_ROW_HASH_1"), Value::from(857)),
            (Value::from("b"), Value::from("x")),
        ]);
        let (mut with, mut without) = (Vec::new(), Vec::new());
        rmpv::encode::write_value(&mut with, &image).unwrap();
        let kept = Value::Map(vec![
            image.as_map().unwrap()[0].clone(),
            image.as_map().unwrap()[2].clone(),
        ]);
        rmpv::encode::write_value(&mut without, &kept).unwrap();
        assert_eq!(comparable(&with), without);
    }
}
