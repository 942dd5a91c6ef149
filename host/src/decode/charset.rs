//! Character sets: the collation ids in table-map metadata resolved to a way
//! of turning column bytes into UTF-8.
//!
//! Conversion follows the server's own tables, not just the nearest WHATWG
//! encoding: single-byte charsets decode through a 256-entry table, and the
//! multi-byte ones through `encoding_rs` with the code points where MySQL
//! and MariaDB differ from it patched in (`charset/fixes.rs`: sjis's wave
//! dash, EUC-JP's user-defined rows, ...). Values are written straight into
//! the output buffer; only the rare UTF-16/UTF-32 columns allocate.
//!
//! `single.rs` and `multi.rs` hold the converters of the two families;
//! this file picks one per collation.

use std::borrow::Cow;
use std::collections::HashMap;

use encoding_rs::Encoding;
use mysql_common::collations::{Collation, CollationId};

use crate::event::msgpack::{extend_short, write_bin, write_str, write_str_header};

mod fixes;
mod multi;
mod single;
#[cfg(test)]
mod tests;

pub(crate) use multi::MultiByte;
use multi::{BIG5, CP932, EUCJPMS, EUCKR, GB2312, GBK, SJIS, UJIS};
pub(crate) use single::SingleByte;
use single::SINGLE;

/// How to turn a column's bytes into the event's value.
#[derive(Clone, Copy, Debug)]
pub enum Charset {
    /// utf8mb4, utf8mb3, ascii: already UTF-8.
    Utf8,
    /// The `binary` charset: the value is bytes, emitted as MessagePack bin.
    Binary,
    /// A single-byte charset (latin1, cp1251, latin2, koi8r, ...).
    Single(&'static SingleByte),
    /// A multi-byte charset (sjis, ujis, gbk, euckr, big5, ...).
    Multi(&'static MultiByte),
    /// Any other charset that encoding_rs knows (the UTF-16 family).
    Other(&'static Encoding),
    /// UTF-32 big-endian (encoding_rs has no UTF-32).
    Utf32,
    /// A charset Sluice cannot convert: bytes are emitted as bin.
    Unknown(u16),
}

impl Charset {
    /// Decodes, replacing invalid sequences with U+FFFD.
    pub fn decode_lossy<'a>(&self, b: &'a [u8]) -> Cow<'a, str> {
        match self {
            Charset::Utf8 | Charset::Binary | Charset::Unknown(_) => String::from_utf8_lossy(b),
            Charset::Single(_) | Charset::Multi(_) => {
                if b.is_ascii() && !matches!(self, Charset::Single(t) if !t.ascii) {
                    return String::from_utf8_lossy(b);
                }
                let mut v = Vec::with_capacity(b.len() * 2);
                self.append_utf8(&mut v, b);
                Cow::Owned(
                    String::from_utf8(v)
                        .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                )
            }
            Charset::Other(enc) => enc.decode_without_bom_handling(b).0,
            Charset::Utf32 => Cow::Owned(
                b.chunks(4)
                    .map(|c| {
                        let mut v = [0u8; 4];
                        v[4 - c.len()..].copy_from_slice(c);
                        char::from_u32(u32::from_be_bytes(v)).unwrap_or('\u{fffd}')
                    })
                    .collect(),
            ),
        }
    }

    fn append_utf8(&self, out: &mut Vec<u8>, b: &[u8]) {
        match self {
            Charset::Single(t) => t.append(out, b),
            Charset::Multi(m) => m.append(out, b),
            other => out.extend_from_slice(other.decode_lossy(b).as_bytes()),
        }
    }

    /// Writes a column value: a MessagePack str in UTF-8, or bin for the
    /// binary charset and charsets Sluice cannot convert.
    #[inline]
    pub fn write_value(&self, out: &mut Vec<u8>, b: &[u8]) {
        match self {
            // Most text is ASCII, which a word-at-a-time check clears
            // faster than full UTF-8 validation.
            Charset::Utf8 if b.is_ascii() || std::str::from_utf8(b).is_ok() => {
                write_str_header(out, b.len());
                extend_short(out, b);
            }
            Charset::Utf8 => write_str(out, &String::from_utf8_lossy(b)),
            Charset::Binary | Charset::Unknown(_) => write_bin(out, b),
            // ASCII-compatible charsets: ASCII is the same in UTF-8.
            Charset::Single(t) if t.ascii && b.is_ascii() => {
                write_str_header(out, b.len());
                extend_short(out, b);
            }
            Charset::Multi(_) if b.is_ascii() => {
                write_str_header(out, b.len());
                extend_short(out, b);
            }
            Charset::Single(t) => {
                write_str_header(out, t.utf8_len(b));
                t.append(out, b);
            }
            Charset::Multi(m) => {
                // The UTF-8 length is known only after decoding: decode after
                // a 5-byte header and close the gap if a shorter one fits.
                let at = out.len();
                out.extend_from_slice(&[0; 5]);
                m.append(out, b);
                let len = out.len() - at - 5;
                let (hdr, n) = str_header(len);
                out.copy_within(at + 5.., at + n);
                out[at..at + n].copy_from_slice(&hdr[..n]);
                out.truncate(at + n + len);
            }
            Charset::Other(_) | Charset::Utf32 => write_str(out, &self.decode_lossy(b)),
        }
    }
}

/// The MessagePack str header for `len` bytes, as `write_str_header` writes it.
fn str_header(len: usize) -> ([u8; 5], usize) {
    let mut h = [0u8; 5];
    if len < 32 {
        h[0] = 0xa0 | len as u8;
        (h, 1)
    } else if len <= u8::MAX as usize {
        h[0] = 0xd9;
        h[1] = len as u8;
        (h, 2)
    } else if len <= u16::MAX as usize {
        h[0] = 0xda;
        h[1..3].copy_from_slice(&(len as u16).to_be_bytes());
        (h, 3)
    } else {
        h[0] = 0xdb;
        h[1..5].copy_from_slice(&(len as u32).to_be_bytes());
        (h, 5)
    }
}

/// Maps a MySQL charset name to its converter.
fn by_name(name: &str) -> Option<Charset> {
    if let Some(t) = SINGLE.iter().find(|t| t.name == name) {
        return Some(Charset::Single(t));
    }
    Some(match name {
        "utf8mb4" | "utf8mb3" | "utf8" | "ascii" => Charset::Utf8,
        "binary" => Charset::Binary,
        "utf32" => Charset::Utf32,
        "sjis" => Charset::Multi(&SJIS),
        "cp932" => Charset::Multi(&CP932),
        "ujis" => Charset::Multi(&UJIS),
        "eucjpms" => Charset::Multi(&EUCJPMS),
        "gbk" => Charset::Multi(&GBK),
        "gb2312" => Charset::Multi(&GB2312),
        "euckr" => Charset::Multi(&EUCKR),
        "big5" => Charset::Multi(&BIG5),
        // MySQL 5.7+'s gb18030 is the standard one (1-, 2- and 4-byte).
        "gb18030" => Charset::Other(encoding_rs::GB18030),
        "ucs2" | "utf16" => Charset::Other(encoding_rs::UTF_16BE),
        "utf16le" => Charset::Other(encoding_rs::UTF_16LE),
        _ => return None,
    })
}

/// Collation id -> charset, from the server's own `information_schema` when
/// connected (MariaDB numbers its newer collations differently from MySQL),
/// falling back to the MySQL table built into mysql_common.
#[derive(Clone, Debug, Default)]
pub struct CharsetMap {
    server: HashMap<u16, Charset>,
}

impl CharsetMap {
    /// Builds the map from `(collation id, charset name)` rows.
    pub fn from_server(rows: impl IntoIterator<Item = (u16, String)>) -> Self {
        let server = rows
            .into_iter()
            .map(|(id, name)| (id, by_name(&name).unwrap_or(Charset::Unknown(id))))
            .collect();
        CharsetMap { server }
    }

    pub fn get(&self, collation: Option<u16>) -> Charset {
        let Some(id) = collation else {
            // No charset metadata was logged: UTF-8 is by far the likeliest,
            // and invalid bytes are replaced rather than failing the row.
            return Charset::Utf8;
        };
        if let Some(c) = self.server.get(&id) {
            return *c;
        }
        let collation = Collation::resolve(CollationId::from(id));
        by_name(collation.charset()).unwrap_or(Charset::Unknown(id))
    }
}
