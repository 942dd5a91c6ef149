//! Which records of a partition belong to aborted Kafka transactions, read
//! from the log itself.
//!
//! A Kafka broker hides aborted transactions from `read_committed`
//! consumers by listing them in its fetch responses; tansu 0.6 lists none,
//! so librdkafka shows their records. The log still holds the truth: every
//! transactional batch is followed, for its producer, by a control batch
//! saying COMMIT or ABORT. This reads the partition with plain Fetch
//! requests (version 4, batch headers and control records only; data
//! batches are skipped, compressed or not) and applies those markers, so a
//! test can check what a `read_committed` consumer of a Kafka broker sees.

use std::collections::{BTreeMap, BTreeSet};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use anyhow::{bail, Context};

/// A producer id and epoch: a transactional id's producer between two
/// `init_transactions` (each process, and each restart, has its own).
pub type Producer = (i64, i16);

/// The offsets of records in aborted transactions, with the producer that
/// wrote them, and of records whose transaction is still open at the end
/// of the log.
#[derive(Debug, Default)]
pub struct TxnOutcome {
    pub aborted: BTreeMap<i64, Producer>,
    pub open: BTreeSet<i64>,
    /// Transactions (per producer) that ended in COMMIT and ABORT.
    pub commits: usize,
    pub aborts: usize,
}

/// Reads `topic`/`partition` on the broker at `addr` (`host:port`, the one
/// that leads it: tansu is a single broker) from offset 0 to its end.
pub fn outcome(addr: &str, topic: &str, partition: i32) -> anyhow::Result<TxnOutcome> {
    let mut conn = TcpStream::connect(addr).with_context(|| format!("connecting to {addr}"))?;
    conn.set_read_timeout(Some(Duration::from_secs(10)))?;
    let mut pending: BTreeMap<i64, Vec<(i64, Producer)>> = BTreeMap::new();
    let mut out = TxnOutcome::default();
    let mut offset = 0i64;
    for correlation in 1.. {
        let (high, records) = fetch(&mut conn, correlation, topic, partition, offset)?;
        let before = offset;
        for batch in batches(&records)? {
            let last = batch.base_offset + i64::from(batch.last_offset_delta);
            if last < offset {
                continue;
            }
            if batch.control {
                let ids = pending.remove(&batch.producer_id).unwrap_or_default();
                match batch.control_type {
                    Some(0) => {
                        out.aborts += 1;
                        out.aborted.extend(ids);
                    }
                    Some(1) => out.commits += 1,
                    other => bail!(
                        "control batch at {} of unknown type {other:?}",
                        batch.base_offset
                    ),
                }
            } else if batch.transactional {
                let producer = (batch.producer_id, batch.producer_epoch);
                pending
                    .entry(batch.producer_id)
                    .or_default()
                    .extend((batch.base_offset..=last).map(|o| (o, producer)));
            }
            offset = last + 1;
        }
        if offset >= high {
            break;
        }
        if offset == before {
            bail!("fetching {topic}/{partition} at {offset} brought nothing before its end {high}");
        }
    }
    out.open = pending.into_values().flatten().map(|(o, _)| o).collect();
    Ok(out)
}

/// One Fetch (v4, read_uncommitted) from `offset`: the high watermark and
/// the raw record batches.
fn fetch(
    conn: &mut TcpStream,
    correlation: i32,
    topic: &str,
    partition: i32,
    offset: i64,
) -> anyhow::Result<(i64, Vec<u8>)> {
    let mut req = Vec::new();
    req.extend(1i16.to_be_bytes()); // api key: Fetch
    req.extend(4i16.to_be_bytes()); // api version
    req.extend(correlation.to_be_bytes());
    put_str(&mut req, "sluice-test-txn-log");
    req.extend((-1i32).to_be_bytes()); // replica id: a consumer
    req.extend(100i32.to_be_bytes()); // max wait ms
    req.extend(1i32.to_be_bytes()); // min bytes
    req.extend((64i32 << 20).to_be_bytes()); // max bytes
    req.push(0); // read_uncommitted: every batch, control batches too
    req.extend(1i32.to_be_bytes());
    put_str(&mut req, topic);
    req.extend(1i32.to_be_bytes());
    req.extend(partition.to_be_bytes());
    req.extend(offset.to_be_bytes());
    req.extend((64i32 << 20).to_be_bytes());
    conn.write_all(&(req.len() as i32).to_be_bytes())?;
    conn.write_all(&req)?;
    let mut len = [0u8; 4];
    conn.read_exact(&mut len)?;
    let mut resp = vec![0u8; i32::from_be_bytes(len) as usize];
    conn.read_exact(&mut resp)?;
    let mut r = Reader(&resp);
    if r.i32()? != correlation {
        bail!("a response to another request");
    }
    r.i32()?; // throttle
    let topics = r.i32()?;
    if topics != 1 {
        bail!("{topics} topics in the response");
    }
    r.str()?;
    r.i32()?; // partitions: 1
    r.i32()?; // partition
    let error = r.i16()?;
    if error != 0 {
        bail!("fetch error code {error} for {topic}/{partition}");
    }
    let high = r.i64()?;
    r.i64()?; // last stable offset
    let aborted = r.i32()?;
    for _ in 0..aborted.max(0) {
        r.i64()?;
        r.i64()?;
    }
    let size = r.i32()?;
    let records = r.take(size.max(0) as usize)?.to_vec();
    Ok((high, records))
}

struct Batch {
    base_offset: i64,
    last_offset_delta: i32,
    producer_id: i64,
    producer_epoch: i16,
    transactional: bool,
    control: bool,
    /// A control batch's marker: 0 ABORT, 1 COMMIT.
    control_type: Option<i16>,
}

/// The record batches (magic 2) in `bytes`; a batch cut off at the end of
/// a fetch response is left out, as Kafka clients do.
fn batches(bytes: &[u8]) -> anyhow::Result<Vec<Batch>> {
    let mut out = Vec::new();
    let mut rest = bytes;
    while rest.len() >= 12 {
        let mut r = Reader(rest);
        let base_offset = r.i64()?;
        let length = r.i32()? as usize;
        if rest.len() < 12 + length {
            break;
        }
        let body = &rest[12..12 + length];
        rest = &rest[12 + length..];
        let mut b = Reader(body);
        b.i32()?; // partition leader epoch
        let magic = b.take(1)?[0];
        if magic != 2 {
            bail!("record batch of magic {magic} at {base_offset}");
        }
        b.i32()?; // crc
        let attributes = b.i16()?;
        let last_offset_delta = b.i32()?;
        b.i64()?;
        b.i64()?; // timestamps
        let producer_id = b.i64()?;
        let producer_epoch = b.i16()?;
        b.i32()?; // base sequence
        b.i32()?; // record count
        let control = attributes & 0x20 != 0;
        let control_type = if control {
            // The first record: length, attributes, timestamp delta,
            // offset delta, key length, then the key: version, type.
            b.varint()?;
            b.take(1)?;
            b.varint()?;
            b.varint()?;
            b.varint()?;
            b.i16()?;
            Some(b.i16()?)
        } else {
            None
        };
        out.push(Batch {
            base_offset,
            last_offset_delta,
            producer_id,
            producer_epoch,
            transactional: attributes & 0x10 != 0,
            control,
            control_type,
        });
    }
    Ok(out)
}

fn put_str(buf: &mut Vec<u8>, s: &str) {
    buf.extend((s.len() as i16).to_be_bytes());
    buf.extend(s.as_bytes());
}

struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> anyhow::Result<&'a [u8]> {
        if self.0.len() < n {
            bail!("truncated: {} bytes wanted, {} left", n, self.0.len());
        }
        let (a, b) = self.0.split_at(n);
        self.0 = b;
        Ok(a)
    }
    fn i16(&mut self) -> anyhow::Result<i16> {
        Ok(i16::from_be_bytes(self.take(2)?.try_into()?))
    }
    fn i32(&mut self) -> anyhow::Result<i32> {
        Ok(i32::from_be_bytes(self.take(4)?.try_into()?))
    }
    fn i64(&mut self) -> anyhow::Result<i64> {
        Ok(i64::from_be_bytes(self.take(8)?.try_into()?))
    }
    fn str(&mut self) -> anyhow::Result<&'a str> {
        let n = self.i16()?;
        Ok(std::str::from_utf8(self.take(n.max(0) as usize)?)?)
    }
    /// A zigzag varint (Kafka's record fields).
    fn varint(&mut self) -> anyhow::Result<i64> {
        let mut v: u64 = 0;
        for shift in (0..64).step_by(7) {
            let byte = self.take(1)?[0];
            v |= u64::from(byte & 0x7f) << shift;
            if byte & 0x80 == 0 {
                return Ok(((v >> 1) as i64) ^ -((v & 1) as i64));
            }
        }
        bail!("varint too long")
    }
}
