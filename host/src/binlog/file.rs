//! Reading binlog files from disk (recorded fixtures, offline tools).
//!
//! Each event's length is checked against the bytes that are really there
//! before mysql_common parses it, so a truncated or corrupt file ends with
//! an error instead of a panic.

use std::collections::VecDeque;
use std::io::Read;

use mysql_common::binlog::consts::{BinlogVersion, EventType};
use mysql_common::binlog::events::TransactionPayloadEvent;
use mysql_common::binlog::EventStreamReader;

use super::Event;

const MAGIC: &[u8; 4] = b"\xfebin";
const HEADER_LEN: usize = 19;
/// Largest decompressed transaction payload accepted (MySQL's own limit on
/// a payload is max_allowed_packet, at most 1 GiB).
const MAX_PAYLOAD: u64 = 1 << 30;

pub struct BinlogBytes<'a> {
    data: &'a [u8],
    offset: usize,
    reader: EventStreamReader,
    done: bool,
    /// Events unpacked from a compressed transaction payload, yielded after
    /// the payload event itself (as the network stream does).
    inner: VecDeque<Event>,
}

impl<'a> BinlogBytes<'a> {
    /// `data` is a whole binlog file, magic number included.
    pub fn new(data: &'a [u8]) -> Result<Self, String> {
        if data.len() < 4 || &data[..4] != MAGIC {
            return Err("not a binlog file: the magic number \\xfebin is missing".into());
        }
        Ok(BinlogBytes {
            data,
            offset: 4,
            reader: EventStreamReader::new(BinlogVersion::Version4),
            done: false,
            inner: VecDeque::new(),
        })
    }

    /// Offset of the next event in the file.
    pub fn offset(&self) -> usize {
        self.offset
    }
}

impl Iterator for BinlogBytes<'_> {
    type Item = Result<Event, String>;

    fn next(&mut self) -> Option<Self::Item> {
        if let Some(ev) = self.inner.pop_front() {
            return Some(Ok(ev));
        }
        if self.done || self.offset >= self.data.len() {
            return None;
        }
        let rest = &self.data[self.offset..];
        let fail = |this: &mut Self, msg: String| {
            this.done = true;
            Some(Err(msg))
        };
        if rest.len() < HEADER_LEN {
            return fail(
                self,
                format!("truncated event header at offset {}", self.offset),
            );
        }
        let size = u32::from_le_bytes(rest[9..13].try_into().unwrap()) as usize;
        if size < HEADER_LEN || size > rest.len() {
            return fail(
                self,
                format!(
                    "event at offset {} claims {size} bytes, {} are left",
                    self.offset,
                    rest.len()
                ),
            );
        }
        match self.reader.read(&rest[..size]) {
            Ok(Some(ev)) => {
                if ev.header().event_type_raw() == EventType::TRANSACTION_PAYLOAD_EVENT as u8 {
                    if let Err(e) = self.unpack(&ev) {
                        return fail(
                            self,
                            format!("compressed transaction at offset {}: {e}", self.offset),
                        );
                    }
                }
                self.offset += size;
                Some(Ok(ev))
            }
            Ok(None) => None,
            Err(e) => fail(self, format!("event at offset {}: {e}", self.offset)),
        }
    }
}

impl BinlogBytes<'_> {
    fn unpack(&mut self, ev: &Event) -> Result<(), String> {
        let tpe: TransactionPayloadEvent<'_> = ev.read_event().map_err(|e| e.to_string())?;
        // Read through a limit instead of trusting the size in the header,
        // so a corrupt header cannot make us allocate gigabytes.
        let mut raw = Vec::new();
        tpe.decompressed()
            .map_err(|e| e.to_string())?
            .take(MAX_PAYLOAD)
            .read_to_end(&mut raw)
            .map_err(|e| e.to_string())?;
        let mut cur = &raw[..];
        while !cur.is_empty() {
            if cur.len() < HEADER_LEN {
                return Err("truncated event inside the payload".into());
            }
            let size = u32::from_le_bytes(cur[9..13].try_into().unwrap()) as usize;
            if size < HEADER_LEN || size > cur.len() {
                return Err(format!(
                    "event inside the payload claims {size} bytes, {} are left",
                    cur.len()
                ));
            }
            match self.reader.read_decompressed(&cur[..size]) {
                Ok(Some(inner)) => self.inner.push_back(inner),
                Ok(None) => break,
                Err(e) => return Err(e.to_string()),
            }
            cur = &cur[size..];
        }
        Ok(())
    }
}
