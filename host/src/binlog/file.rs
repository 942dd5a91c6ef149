//! Reading binlog files from disk (recorded fixtures, offline tools).
//!
//! Each event's length is checked against the bytes that are really there
//! before mysql_common parses it, so a truncated or corrupt file ends with
//! an error instead of a panic.

use std::collections::VecDeque;
use std::io::Read;

use mysql_common::binlog::consts::{BinlogChecksumAlg, BinlogVersion, EventType};
use mysql_common::binlog::events::TransactionPayloadEvent;
use mysql_common::binlog::EventStreamReader;

use super::Event;

const MAGIC: &[u8; 4] = b"\xfebin";
const HEADER_LEN: usize = 19;
/// Largest decompressed transaction payload accepted (MySQL's own limit on
/// a payload is max_allowed_packet, at most 1 GiB).
const MAX_PAYLOAD: u64 = 1 << 30;

pub(crate) struct BinlogBytes<'a> {
    data: &'a [u8],
    offset: usize,
    reader: EventStreamReader,
    done: bool,
    /// Smallest valid event: the header, and the checksum when the format
    /// description event says there is one.
    min_size: usize,
    /// Events unpacked from a compressed transaction payload, yielded after
    /// the payload event itself (as the network stream does).
    inner: VecDeque<Event>,
}

impl<'a> BinlogBytes<'a> {
    /// `data` is a whole binlog file, magic number included.
    pub(crate) fn new(data: &'a [u8]) -> Result<Self, String> {
        if data.len() < 4 || &data[..4] != MAGIC {
            return Err("not a binlog file: the magic number \\xfebin is missing".into());
        }
        Ok(BinlogBytes {
            data,
            offset: 4,
            reader: EventStreamReader::new(BinlogVersion::Version4),
            done: false,
            min_size: HEADER_LEN,
            inner: VecDeque::new(),
        })
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
        // With checksums on, mysql_common slices the last 4 bytes off every
        // event without checking that they are there.
        if size < self.min_size || size > rest.len() {
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
                if ev.header().event_type_raw() == EventType::FORMAT_DESCRIPTION_EVENT as u8 {
                    self.min_size = match ev.footer().get_checksum_alg() {
                        Ok(None) | Ok(Some(BinlogChecksumAlg::BINLOG_CHECKSUM_ALG_OFF)) => {
                            HEADER_LEN
                        }
                        _ => HEADER_LEN + 4,
                    };
                }
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

/// Checks a transaction payload event's header fields the way
/// mysql_common 0.37 parses them, because its parser panics (`unwrap`) on a
/// field type above 255, on a compression type other than ZSTD (0) or NONE
/// (255), and on an unknown field whose length runs past the event.
fn payload_header_ok(mut b: &[u8]) -> Result<(), String> {
    fn lenenc(b: &mut &[u8]) -> Result<u64, String> {
        let short = || "transaction payload header is truncated".to_string();
        let (&first, rest) = b.split_first().ok_or_else(short)?;
        let n = match first {
            0..=0xfa => {
                *b = rest;
                return Ok(first as u64);
            }
            0xfc => 2,
            0xfd => 3,
            0xfe => 8,
            _ => return Err("transaction payload header has a bad length".into()),
        };
        let v = rest.get(..n).ok_or_else(short)?;
        *b = &rest[n..];
        Ok(v.iter().rev().fold(0u64, |a, &x| (a << 8) | x as u64))
    }
    loop {
        match lenenc(&mut b)? {
            0 => return Ok(()),
            1 | 3 => {
                lenenc(&mut b)?;
                lenenc(&mut b)?;
            }
            2 => {
                lenenc(&mut b)?;
                let alg = lenenc(&mut b)?;
                if alg != 0 && alg != 255 {
                    return Err(format!(
                        "transaction payload compression type {alg} is unknown"
                    ));
                }
            }
            t if t > 255 => return Err(format!("transaction payload field type {t} is unknown")),
            _ => {
                let len = lenenc(&mut b)?;
                if len > b.len() as u64 {
                    return Err("transaction payload header field runs past the event".into());
                }
                b = &b[len as usize..];
            }
        }
    }
}

impl BinlogBytes<'_> {
    fn unpack(&mut self, ev: &Event) -> Result<(), String> {
        payload_header_ok(ev.data())?;
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

#[cfg(test)]
mod tests {
    use super::payload_header_ok;

    #[test]
    fn payload_headers_that_would_panic_mysql_common_are_errors() {
        // size 3, compression ZSTD, end mark: fine.
        assert!(payload_header_ok(&[1, 1, 3, 2, 1, 0, 0, 1, 2, 3]).is_ok());
        // Compression type 1 (mysql_common unwraps the conversion).
        assert!(payload_header_ok(&[1, 1, 3, 2, 1, 1, 0]).is_err());
        // Field type 300 (does not fit the u8 mysql_common unwraps it into).
        assert!(payload_header_ok(&[0xfc, 0x2c, 0x01, 1, 0, 0]).is_err());
        // Unknown field whose length runs past the event.
        assert!(payload_header_ok(&[9, 200, 1, 2]).is_err());
        assert!(payload_header_ok(&[]).is_err());
    }
}
