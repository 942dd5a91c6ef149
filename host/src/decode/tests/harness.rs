//! Runs a binlog file through the same steps as the pipeline (file reading,
//! transaction boundaries, table maps, rows) and collects what comes out.

use std::collections::HashMap;

use serde_json::Value;

use crate::binlog::file::BinlogBytes;
use crate::binlog::txn::{classify, EventKind, Positions};
use crate::decode::{Decoder, TxnSource};
use crate::event::{Batch, Position, TxnId};

/// Size of an event header (binlog version 4).
pub(super) const HEADER_LEN: usize = 19;

pub(super) struct Decoded {
    pub(super) events: Vec<Value>,
    pub(super) keys: Vec<Option<Value>>,
    pub(super) errors: Vec<String>,
    /// The MessagePack bytes of each event.
    pub(super) raw: Vec<Vec<u8>>,
}

/// Runs a file through the same steps as the pipeline: boundaries, table
/// maps, rows.
pub(super) fn decode(bytes: &[u8], name: &str) -> Decoded {
    let mut out = Decoded {
        events: vec![],
        keys: vec![],
        errors: vec![],
        raw: vec![],
    };
    let events = match BinlogBytes::new(bytes) {
        Ok(e) => e,
        Err(e) => {
            out.errors.push(e);
            return out;
        }
    };
    let mut d = Decoder::default();
    let from = Position::new(name, 4);
    let mut positions = Positions::new(&from);
    let mut txn = TxnSource::new(TxnId(0), 1, &from, None);
    let mut batch = Batch::default();
    for ev in events {
        let ev = match ev {
            Ok(ev) => ev,
            Err(e) => {
                out.errors.push(e);
                break;
            }
        };
        let (start, _) = positions.of(&ev);
        match classify(&ev) {
            Ok(EventKind::Gtid { gtid, .. }) => {
                txn = TxnSource::new(TxnId(0), 1, &start, gtid.as_deref())
            }
            Ok(EventKind::Begin) => {}
            Ok(EventKind::TableMap) => {
                if let Err(e) = d.table_map(&ev) {
                    out.errors.push(e.to_string());
                }
            }
            Ok(EventKind::Rows) => {
                batch.clear();
                match d.rows(&ev, &mut txn, 0, &mut batch, &mut |s| {
                    std::sync::Arc::new(crate::decode::TablePlan::everything(s))
                }) {
                    Ok(_) => {
                        for r in &batch.records {
                            out.events
                                .push(crate::event::json::msgpack_to_json(batch.value(r)));
                            out.keys
                                .push(batch.key(r).map(crate::event::json::msgpack_to_json));
                            out.raw.push(batch.value(r).to_vec());
                        }
                    }
                    Err(e) => out.errors.push(e.to_string()),
                }
            }
            Ok(EventKind::Rotate { next }) => positions.rotate(&next),
            Ok(_) => {}
            Err(e) => out.errors.push(e),
        }
    }
    out
}

/// The change events as MessagePack values, to check wire types (float32
/// vs float64, bin vs str) that JSON cannot show.
pub(super) fn raw_values(d: &Decoded) -> Vec<HashMap<String, rmpv::Value>> {
    d.raw
        .iter()
        .map(|b| {
            let v = rmpv::decode::read_value(&mut &b[..]).unwrap();
            v.as_map()
                .unwrap()
                .iter()
                .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
                .collect()
        })
        .collect()
}

pub(super) fn afters(d: &Decoded) -> Vec<Value> {
    d.events.iter().map(|e| e["after"].clone()).collect()
}

/// The MessagePack value of column `col` in image `image` ("after" or
/// "before") of an event, encoded again, to compare byte for byte.
pub(super) fn column_bytes(raw_event: &[u8], image: &str, col: &str) -> Vec<u8> {
    let find = |v: &rmpv::Value, k: &str| -> rmpv::Value {
        v.as_map()
            .unwrap()
            .iter()
            .find(|(key, _)| key.as_str() == Some(k))
            .unwrap_or_else(|| panic!("no {k:?} in {v}"))
            .1
            .clone()
    };
    let ev = rmpv::decode::read_value(&mut &raw_event[..]).unwrap();
    let value = find(&find(&ev, image), col);
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, &value).unwrap();
    bytes
}

/// One event of a file: where it starts, its size and type, and whether it
/// ends with a valid CRC32.
#[derive(Clone, Copy, Debug)]
pub(super) struct Ev {
    pub(super) at: usize,
    pub(super) len: usize,
    pub(super) kind: u8,
    pub(super) crc: bool,
}

/// The events of a binlog file, up to the first that does not fit.
pub(super) fn events(file: &[u8]) -> Vec<Ev> {
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
