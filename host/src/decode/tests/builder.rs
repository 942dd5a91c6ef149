//! Binlog files built byte by byte, laid out as MySQL 8.0 and 9.x write
//! them (the server's `libbinlogevents`, which mysql_common parses), so the
//! MySQL-only event kinds are tested from a clone of the repository, without
//! the recorded fixtures.
//!
//! Every event is a 19-byte header (timestamp, type, server id, size, end
//! position, flags), a body, and a CRC32 of both (binlog_checksum=CRC32).
//! Integers are little-endian; "lenenc" is the protocol's length-encoded
//! integer.

/// Event types.
pub(super) const QUERY: u8 = 2;
pub(super) const FORMAT_DESCRIPTION: u8 = 15;
pub(super) const XID: u8 = 16;
pub(super) const TABLE_MAP: u8 = 19;
pub(super) const WRITE_ROWS: u8 = 30;
pub(super) const UPDATE_ROWS: u8 = 31;
pub(super) const DELETE_ROWS: u8 = 32;
pub(super) const GTID: u8 = 33;
pub(super) const PARTIAL_UPDATE_ROWS: u8 = 39;
pub(super) const TRANSACTION_PAYLOAD: u8 = 40;

/// The source UUID of built GTIDs, and its text form.
pub(super) const UUID: [u8; 16] = [
    0x3e, 0x11, 0xfa, 0x47, 0x71, 0xca, 0x11, 0xe1, 0x9e, 0x33, 0xc8, 0x0a, 0xa9, 0x42, 0x95, 0x63,
];
pub(super) const UUID_TEXT: &str = "3e11fa47-71ca-11e1-9e33-c80aa9429563";

/// The header's timestamp of every built event, in seconds.
pub(super) const TIMESTAMP: u32 = 1_700_000_000;
const HEADER_LEN: usize = 19;
const SERVER_ID: u32 = 1;

/// Post-header length of event types 1..=41 in MySQL 8.0's format
/// description event.
const POST_HEADER_LENGTHS_80: [u8; 41] = [
    0, 13, 0, 8, 0, 0, 0, 0, 4, 0, // 1-10: QUERY 13, ROTATE 8, APPEND_BLOCK 4
    4, 0, 0, 0, 98, 0, 4, 26, 8, 0, // 11-20: FORMAT_DESCRIPTION 98, TABLE_MAP 8
    0, 0, 8, 8, 8, 2, 0, 0, 0, 10, // 21-30: rows v1 8, INCIDENT 2, rows v2 10
    10, 10, 42, 42, 0, 18, 52, 0, 10, 40, // 31-40: GTID 42, PARTIAL_UPDATE 10, PAYLOAD 40
    0,  // 41: HEARTBEAT_V2
];

/// A binlog file being written.
pub(super) struct Binlog {
    bytes: Vec<u8>,
}

impl Binlog {
    /// A file of a MySQL server of `version` ("8.0.36", "9.1.0"): the magic
    /// number and the format description event, with checksums on.
    pub(super) fn mysql(version: &str) -> Self {
        let mut b = Binlog {
            bytes: b"\xfebin".to_vec(),
        };
        b.push(FORMAT_DESCRIPTION, &format_description(version));
        b
    }

    /// Appends an event and returns where it starts.
    pub(super) fn push(&mut self, event_type: u8, body: &[u8]) -> u64 {
        let at = self.bytes.len();
        let size = HEADER_LEN + body.len() + 4;
        let end = (at + size) as u32;
        self.bytes.extend_from_slice(&header(event_type, size, end));
        self.bytes.extend_from_slice(body);
        let crc = crc32fast::hash(&self.bytes[at..]);
        self.bytes.extend_from_slice(&crc.to_le_bytes());
        at as u64
    }

    /// Appends a transaction as MySQL logs one without compression: its
    /// GTID event, BEGIN, the events given (table maps, rows), the XID.
    /// Returns where it starts.
    pub(super) fn transaction(&mut self, gno: u64, schema: &str, events: &[(u8, Vec<u8>)]) -> u64 {
        let at = self.push(GTID, &gtid(UUID, gno));
        self.push(QUERY, &query(schema, "BEGIN"));
        for (t, body) in events {
            self.push(*t, body);
        }
        self.push(XID, &xid(gno + 100));
        at
    }

    pub(super) fn bytes(self) -> Vec<u8> {
        self.bytes
    }
}

fn header(event_type: u8, size: usize, end: u32) -> Vec<u8> {
    let mut h = Vec::with_capacity(HEADER_LEN);
    h.extend_from_slice(&TIMESTAMP.to_le_bytes());
    h.push(event_type);
    h.extend_from_slice(&SERVER_ID.to_le_bytes());
    h.extend_from_slice(&(size as u32).to_le_bytes());
    h.extend_from_slice(&end.to_le_bytes());
    h.extend_from_slice(&0u16.to_le_bytes()); // flags
    h
}

/// Binlog version 4, the server version (50 bytes, zero-padded), a create
/// timestamp, the header length, the post-header length of each event type,
/// and the checksum algorithm (1: CRC32).
fn format_description(version: &str) -> Vec<u8> {
    let mut lengths = POST_HEADER_LENGTHS_80.to_vec();
    if version.starts_with('9') {
        // 9.0 dropped the v1 rows events and added GTID_TAGGED_LOG_EVENT.
        lengths[22..25].fill(0);
        lengths.push(0);
        lengths[14] += 1;
    }
    let mut b = 4u16.to_le_bytes().to_vec();
    let mut v = version.as_bytes().to_vec();
    v.resize(50, 0);
    b.extend_from_slice(&v);
    b.extend_from_slice(&0u32.to_le_bytes());
    b.push(HEADER_LEN as u8);
    b.extend_from_slice(&lengths);
    b.push(1);
    b
}

/// An event inside a compressed transaction: no end position and no
/// checksum, as the server writes them there.
pub(super) fn inner_event(event_type: u8, body: &[u8]) -> Vec<u8> {
    let mut e = header(event_type, HEADER_LEN + body.len(), 0);
    e.extend_from_slice(body);
    e
}

pub(super) fn lenenc(n: u64) -> Vec<u8> {
    match n {
        0..=250 => vec![n as u8],
        251..=0xffff => [&[0xfc][..], &(n as u16).to_le_bytes()].concat(),
        0x1_0000..=0xff_ffff => [&[0xfd][..], &(n as u32).to_le_bytes()[..3]].concat(),
        _ => [&[0xfe][..], &n.to_le_bytes()].concat(),
    }
}

/// GTID_LOG_EVENT of MySQL 8.0: flags, source UUID, transaction number,
/// the logical clock (type 2, last committed, sequence number), the commit
/// timestamp (7 bytes, in microseconds), the transaction's length and the
/// server version (8.0.36).
pub(super) fn gtid(uuid: [u8; 16], gno: u64) -> Vec<u8> {
    let mut b = vec![0];
    b.extend_from_slice(&uuid);
    b.extend_from_slice(&gno.to_le_bytes());
    b.push(2);
    b.extend_from_slice(&(gno - 1).to_le_bytes());
    b.extend_from_slice(&gno.to_le_bytes());
    b.extend_from_slice(&(TIMESTAMP as u64 * 1_000_000).to_le_bytes()[..7]);
    b.extend_from_slice(&lenenc(0)); // not read by the decoder
    b.extend_from_slice(&80036u32.to_le_bytes());
    b
}

/// A QUERY_EVENT: thread id, execution time, schema length, error code,
/// status variables' length (none here), the schema, a 0, the statement.
pub(super) fn query(schema: &str, sql: &str) -> Vec<u8> {
    let mut b = 7u32.to_le_bytes().to_vec();
    b.extend_from_slice(&0u32.to_le_bytes());
    b.push(schema.len() as u8);
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(&0u16.to_le_bytes());
    b.extend_from_slice(schema.as_bytes());
    b.push(0);
    b.extend_from_slice(sql.as_bytes());
    b
}

/// An XID_EVENT: the storage engine's transaction id.
pub(super) fn xid(id: u64) -> Vec<u8> {
    id.to_le_bytes().to_vec()
}

/// A TRANSACTION_PAYLOAD_EVENT holding `events` (built with
/// [`inner_event`]) compressed with zstd: fields of type, length and value
/// (compression type 0 = ZSTD, uncompressed size, compressed size), an end
/// mark, then the compressed bytes.
pub(super) fn transaction_payload(events: &[Vec<u8>]) -> Vec<u8> {
    let raw = events.concat();
    let compressed = zstd::encode_all(&raw[..], 3).expect("zstd compresses");
    let mut b = Vec::new();
    for (field, value) in [(2, 0), (3, raw.len() as u64), (1, compressed.len() as u64)] {
        let v = lenenc(value);
        b.extend_from_slice(&lenenc(field));
        b.extend_from_slice(&lenenc(v.len() as u64));
        b.extend_from_slice(&v);
    }
    b.push(0);
    b.extend_from_slice(&compressed);
    b
}
