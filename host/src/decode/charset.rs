//! Character sets: the collation ids in table-map metadata resolved to a way
//! of turning column bytes into UTF-8.

use std::borrow::Cow;
use std::collections::HashMap;

use encoding_rs::Encoding;
use mysql_common::collations::{Collation, CollationId};

/// How to turn a column's bytes into the event's value.
#[derive(Clone, Copy, Debug)]
pub enum Charset {
    /// utf8mb4, utf8mb3, ascii: already UTF-8.
    Utf8,
    /// The `binary` charset: the value is bytes, emitted as MessagePack bin.
    Binary,
    /// Any other charset that encoding_rs knows.
    Other(&'static Encoding),
    /// UTF-32 big-endian (encoding_rs has no UTF-32).
    Utf32,
    /// A charset Sluice cannot convert: bytes are emitted as bin and the
    /// column is named in a warning once.
    Unknown(u16),
}

impl Charset {
    /// Decodes, replacing invalid sequences with U+FFFD.
    pub fn decode_lossy<'a>(&self, b: &'a [u8]) -> Cow<'a, str> {
        match self {
            Charset::Utf8 | Charset::Binary | Charset::Unknown(_) => String::from_utf8_lossy(b),
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
}

/// Maps MySQL charset names to the WHATWG labels encoding_rs uses.
fn by_name(name: &str) -> Option<Charset> {
    let label = match name {
        "utf8mb4" | "utf8mb3" | "utf8" | "ascii" => return Some(Charset::Utf8),
        "binary" => return Some(Charset::Binary),
        "utf32" => return Some(Charset::Utf32),
        // MySQL's latin1 is Windows-1252, not ISO-8859-1.
        "latin1" => "windows-1252",
        "latin2" => "iso-8859-2",
        "latin5" => "windows-1254",
        "latin7" => "iso-8859-13",
        "greek" => "iso-8859-7",
        "hebrew" => "iso-8859-8",
        "cp1250" => "windows-1250",
        "cp1251" => "windows-1251",
        "cp1256" => "windows-1256",
        "cp1257" => "windows-1257",
        "cp866" => "ibm866",
        "koi8r" => "koi8-r",
        "koi8u" => "koi8-u",
        "tis620" => "windows-874",
        "sjis" | "cp932" => "shift_jis",
        "ujis" | "eucjpms" => "euc-jp",
        "euckr" => "euc-kr",
        "gb2312" | "gbk" => "gbk",
        "gb18030" => "gb18030",
        "big5" => "big5",
        "ucs2" | "utf16" => "utf-16be",
        "utf16le" => "utf-16le",
        "macroman" => "macintosh",
        _ => return None,
    };
    Encoding::for_label(label.as_bytes()).map(Charset::Other)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn resolves_common_collations_without_a_server() {
        let m = CharsetMap::default();
        assert!(matches!(m.get(Some(45)), Charset::Utf8)); // utf8mb4_general_ci
        assert!(matches!(m.get(Some(255)), Charset::Utf8)); // utf8mb4_0900_ai_ci
        assert!(matches!(m.get(Some(33)), Charset::Utf8)); // utf8mb3_general_ci
        assert!(matches!(m.get(Some(63)), Charset::Binary));
        assert_eq!(m.get(Some(8)).decode_lossy(&[0x80, b'a']), "\u{20ac}a"); // latin1 is cp1252
        assert_eq!(m.get(Some(51)).decode_lossy(&[0xc0]), "\u{410}"); // cp1251
    }

    #[test]
    fn server_rows_win() {
        let m = CharsetMap::from_server([(2048u16, "utf8mb4".to_string()), (8, "latin2".into())]);
        assert!(matches!(m.get(Some(2048)), Charset::Utf8));
        assert_eq!(m.get(Some(8)).decode_lossy(&[0xb1]), "\u{105}");
    }
}
