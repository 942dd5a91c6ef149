//! Character sets: the collation ids in table-map metadata resolved to a way
//! of turning column bytes into UTF-8.
//!
//! Conversion follows the server's own tables, not just the nearest WHATWG
//! encoding: single-byte charsets decode through a 256-entry table, and the
//! multi-byte ones through `encoding_rs` with the code points where MySQL
//! and MariaDB differ from it patched in (`charset_fixes.rs`: sjis's wave
//! dash, EUC-JP's user-defined rows, ...). Values are written straight into
//! the output buffer; only the rare UTF-16/UTF-32 columns allocate.

use std::borrow::Cow;
use std::collections::HashMap;
use std::sync::LazyLock;

use encoding_rs::Encoding;
use mysql_common::collations::{Collation, CollationId};

use crate::event::msgpack::{extend_short, write_bin, write_str, write_str_header};

#[path = "charset_fixes.rs"]
mod fixes;

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

/// A single-byte charset as a table from byte to character.
pub struct SingleByte {
    name: &'static str,
    chars: [char; 256],
    /// Bytes 0x00-0x7F are ASCII (all but swe7).
    ascii: bool,
}

impl std::fmt::Debug for SingleByte {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SingleByte({})", self.name)
    }
}

impl SingleByte {
    /// encoding_rs's table for `enc`, with the server's differences.
    fn new(name: &'static str, enc: &'static Encoding, fixes: &[fixes::Span]) -> Self {
        let mut chars = ['\u{fffd}'; 256];
        for (b, c) in chars.iter_mut().enumerate() {
            let byte = [b as u8];
            let s = enc.decode_without_bom_handling(&byte).0;
            let mut it = s.chars();
            if let (Some(ch), None) = (it.next(), it.next()) {
                *c = ch;
            }
        }
        Self::with(name, chars, fixes)
    }

    /// A charset encoding_rs does not know: ASCII below 0x80, then only
    /// what `table` says (U+FFFD where it says nothing).
    fn from_table(name: &'static str, table: &[fixes::Span]) -> Self {
        let mut chars = ['\u{fffd}'; 256];
        for (b, c) in chars.iter_mut().enumerate().take(0x80) {
            *c = b as u8 as char;
        }
        Self::with(name, chars, table)
    }

    fn with(name: &'static str, mut chars: [char; 256], fixes: &[fixes::Span]) -> Self {
        for (code, ch) in fixes::entries(fixes) {
            if let Some(slot) = chars.get_mut(code as usize) {
                *slot = ch;
            }
        }
        let ascii = (0..0x80).all(|b| chars[b] as u32 == b as u32);
        SingleByte { name, chars, ascii }
    }

    /// Appends the UTF-8 form of `b`.
    fn append(&self, out: &mut Vec<u8>, b: &[u8]) {
        let mut buf = [0u8; 4];
        for &x in b {
            if x < 0x80 && self.ascii {
                out.push(x);
            } else {
                out.extend_from_slice(self.chars[x as usize].encode_utf8(&mut buf).as_bytes());
            }
        }
    }

    /// Length of the UTF-8 form of `b`.
    fn utf8_len(&self, b: &[u8]) -> usize {
        b.iter()
            .map(|&x| {
                if x < 0x80 && self.ascii {
                    1
                } else {
                    self.chars[x as usize].len_utf8()
                }
            })
            .sum()
    }
}

/// How a multi-byte charset splits bytes into characters.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Layout {
    /// sjis, cp932: lead 0x81-0x9F or 0xE0-0xFC, then one byte.
    ShiftJis,
    /// ujis, eucjpms: 0x8E and 0xA1-0xFE lead two bytes, 0x8F three.
    EucJp,
    /// gbk, gb2312, big5, euckr: lead 0x81-0xFE, then one byte.
    Lead81,
}

/// A multi-byte charset: encoding_rs plus the server's differences.
#[derive(Debug)]
pub struct MultiByte {
    enc: &'static Encoding,
    layout: Layout,
    /// Where the server differs from encoding_rs, by the sequence's bytes
    /// as a big-endian number.
    fixes: &'static [fixes::Span],
    /// EUC-JP user-defined rows 0xF5-0xFE map to the Private Use Area.
    pua: bool,
}

impl MultiByte {
    #[inline]
    fn char_len(&self, lead: u8) -> usize {
        match self.layout {
            Layout::ShiftJis => matches!(lead, 0x81..=0x9f | 0xe0..=0xfc) as usize + 1,
            Layout::EucJp => match lead {
                0x8f => 3,
                0x8e | 0xa1..=0xfe => 2,
                _ => 1,
            },
            Layout::Lead81 => matches!(lead, 0x81..=0xfe) as usize + 1,
        }
    }

    /// The server's character for one multi-byte sequence, where it
    /// differs from encoding_rs.
    #[inline]
    fn fix(&self, seq: &[u8]) -> Option<char> {
        let code = seq.iter().fold(0u32, |a, &b| (a << 8) | b as u32);
        if self.pua {
            let in_rows = |r: u8, c: u8| (0xf5..=0xfe).contains(&r) && (0xa1..=0xfe).contains(&c);
            match *seq {
                [r, c] if in_rows(r, c) => {
                    return char::from_u32(0xe000 + (r - 0xf5) as u32 * 94 + (c - 0xa1) as u32)
                }
                [0x8f, r, c] if in_rows(r, c) => {
                    return char::from_u32(0xe3ac + (r - 0xf5) as u32 * 94 + (c - 0xa1) as u32)
                }
                _ => {}
            }
        }
        fixes::lookup(self.fixes, code)
    }

    /// Appends the UTF-8 form of `b`.
    fn append(&self, out: &mut Vec<u8>, b: &[u8]) {
        let mut dec = self.enc.new_decoder_without_bom_handling();
        let mut run = 0;
        let mut i = 0;
        while i < b.len() {
            let n = self.char_len(b[i]).min(b.len() - i);
            if n > 1 {
                if let Some(ch) = self.fix(&b[i..i + n]) {
                    decode_run(&mut dec, &b[run..i], out, false);
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(ch.encode_utf8(&mut buf).as_bytes());
                    run = i + n;
                }
            }
            i += n;
        }
        decode_run(&mut dec, &b[run..], out, true);
    }
}

/// Decodes `src` with encoding_rs into the end of `out`, in place.
fn decode_run(dec: &mut encoding_rs::Decoder, src: &[u8], out: &mut Vec<u8>, last: bool) {
    if src.is_empty() && !last {
        return;
    }
    let max = dec
        .max_utf8_buffer_length(src.len())
        .unwrap_or(src.len() * 3 + 16);
    let at = out.len();
    out.resize(at + max, 0);
    let (_, _, written, _) = dec.decode_to_utf8(src, &mut out[at..], last);
    out.truncate(at + written);
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

static SINGLE: LazyLock<Vec<SingleByte>> = LazyLock::new(|| {
    use encoding_rs::*;
    vec![
        // MySQL's latin1 is Windows-1252 (with 0x81, 0x8D, 0x8F, 0x90 and
        // 0x9D as C1 controls, as WHATWG has them).
        SingleByte::new("latin1", WINDOWS_1252, &[]),
        SingleByte::new("latin2", ISO_8859_2, &[]),
        // latin5 is ISO-8859-9: C1 controls where Windows-1254 has ‚ƒ„…
        SingleByte::new("latin5", WINDOWS_1254, fixes::LATIN5),
        SingleByte::new("latin7", ISO_8859_13, &[]),
        SingleByte::new("greek", ISO_8859_7, fixes::GREEK),
        SingleByte::new("hebrew", ISO_8859_8, fixes::HEBREW),
        SingleByte::new("cp1250", WINDOWS_1250, &[]),
        SingleByte::new("cp1251", WINDOWS_1251, &[]),
        SingleByte::new("cp1256", WINDOWS_1256, &[]),
        SingleByte::new("cp1257", WINDOWS_1257, &[]),
        SingleByte::new("cp866", IBM866, fixes::CP866),
        SingleByte::new("koi8r", KOI8_R, &[]),
        SingleByte::new("koi8u", KOI8_U, fixes::KOI8U),
        SingleByte::new("tis620", WINDOWS_874, fixes::TIS620),
        SingleByte::new("macroman", MACINTOSH, &[]),
        SingleByte::from_table("armscii8", fixes::ARMSCII8),
        SingleByte::from_table("cp850", fixes::CP850),
        SingleByte::from_table("cp852", fixes::CP852),
        SingleByte::from_table("dec8", fixes::DEC8),
        SingleByte::from_table("geostd8", fixes::GEOSTD8),
        SingleByte::from_table("hp8", fixes::HP8),
        SingleByte::from_table("keybcs2", fixes::KEYBCS2),
        SingleByte::from_table("macce", fixes::MACCE),
        // 7-bit Swedish: [\]^ and {|}~ are ÄÖÅÜ and äöåü, @ and ` are É and é.
        SingleByte::from_table("swe7", fixes::SWE7),
    ]
});

static SJIS: MultiByte = MultiByte {
    enc: &encoding_rs::SHIFT_JIS_INIT,
    layout: Layout::ShiftJis,
    fixes: fixes::SJIS,
    pua: false,
};
static CP932: MultiByte = MultiByte {
    enc: &encoding_rs::SHIFT_JIS_INIT,
    layout: Layout::ShiftJis,
    fixes: &[],
    pua: false,
};
static UJIS: MultiByte = MultiByte {
    enc: &encoding_rs::EUC_JP_INIT,
    layout: Layout::EucJp,
    fixes: fixes::UJIS,
    pua: true,
};
static EUCJPMS: MultiByte = MultiByte {
    enc: &encoding_rs::EUC_JP_INIT,
    layout: Layout::EucJp,
    fixes: fixes::EUCJPMS,
    pua: true,
};
static GBK: MultiByte = MultiByte {
    enc: &encoding_rs::GBK_INIT,
    layout: Layout::Lead81,
    fixes: &[],
    pua: false,
};
static GB2312: MultiByte = MultiByte {
    enc: &encoding_rs::GBK_INIT,
    layout: Layout::Lead81,
    fixes: fixes::GB2312,
    pua: false,
};
static EUCKR: MultiByte = MultiByte {
    enc: &encoding_rs::EUC_KR_INIT,
    layout: Layout::Lead81,
    fixes: &[],
    pua: false,
};
static BIG5: MultiByte = MultiByte {
    enc: &encoding_rs::BIG5_INIT,
    layout: Layout::Lead81,
    fixes: fixes::BIG5,
    pua: false,
};

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

#[cfg(test)]
mod tests {
    use super::*;

    fn value(c: Charset, b: &[u8]) -> rmpv::Value {
        let mut out = Vec::new();
        c.write_value(&mut out, b);
        rmpv::decode::read_value(&mut &out[..]).unwrap()
    }

    fn named(name: &str) -> Charset {
        by_name(name).unwrap()
    }

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

    #[test]
    fn latin1_is_windows_1252_with_c1_holes() {
        let all: Vec<u8> = (0..=255).collect();
        let s = value(named("latin1"), &all);
        let s = s.as_str().unwrap();
        assert_eq!(s.chars().count(), 256);
        let c: Vec<char> = s.chars().collect();
        assert_eq!(c[0x80], '€');
        assert_eq!(c[0x81], '\u{81}');
        assert_eq!(c[0x9f], 'Ÿ');
        assert_eq!(c[0xff], 'ÿ');
    }

    #[test]
    fn single_byte_charsets_follow_the_server_not_whatwg() {
        // latin5 is ISO-8859-9 (C1 controls), not Windows-1254.
        assert_eq!(
            value(named("latin5"), &[0x80, 0xd0]).as_str(),
            Some("\u{80}Ğ")
        );
        // KOI8-U 0xAE is a box-drawing character in MySQL.
        assert_eq!(value(named("koi8u"), &[0xae]).as_str(), Some("╝"));
        assert_eq!(
            value(named("cp1251"), &[0xcf, 0xf0, 0xe8]).as_str(),
            Some("При")
        );
        assert_eq!(value(named("latin2"), &[0xb1, 0xea]).as_str(), Some("ąę"));
    }

    #[test]
    fn charsets_encoding_rs_lacks_come_from_the_servers_tables() {
        assert_eq!(value(named("cp850"), &[0x81, 0x9b]).as_str(), Some("üø"));
        assert_eq!(value(named("cp852"), &[0xa5]).as_str(), Some("ą"));
        assert_eq!(value(named("keybcs2"), &[0x87]).as_str(), Some("č"));
        // swe7 is not ASCII: no ASCII shortcut may apply.
        assert_eq!(value(named("swe7"), b"[a]@").as_str(), Some("ÄaÅÉ"));
        assert_eq!(named("swe7").decode_lossy(b"{x}"), "äxå");
    }

    #[test]
    fn sjis_is_jis_and_cp932_is_windows() {
        // 0x8160 is WAVE DASH in sjis, FULLWIDTH TILDE in cp932.
        let bytes = [0x82, 0xa0, 0x81, 0x60, b'x', 0xb1];
        assert_eq!(value(named("sjis"), &bytes).as_str(), Some("あ〜xｱ"));
        assert_eq!(value(named("cp932"), &bytes).as_str(), Some("あ～xｱ"));
        // A trail byte that looks like a fixed lead is not one.
        assert_eq!(
            value(named("sjis"), &[0x88, 0x81, 0x60])
                .as_str()
                .map(|s| s.chars().count()),
            Some(2)
        );
    }

    #[test]
    fn euc_jp_user_defined_rows_are_private_use() {
        assert_eq!(
            value(named("ujis"), &[0xf5, 0xa1]).as_str(),
            Some("\u{e000}")
        );
        assert_eq!(
            value(named("ujis"), &[0x8f, 0xf5, 0xa2]).as_str(),
            Some("\u{e3ad}")
        );
        assert_eq!(
            value(named("ujis"), &[0xa4, 0xa2, 0xa1, 0xc1]).as_str(),
            Some("あ〜")
        );
        assert_eq!(
            value(named("eucjpms"), &[0x8f, 0xf3, 0xf3]).as_str(),
            Some("ⅰ")
        );
    }

    #[test]
    fn multi_byte_headers_are_the_smallest_that_fit() {
        for n in [1usize, 10, 11, 100, 30000] {
            let bytes: Vec<u8> = [0xb0, 0xa1].repeat(n); // 가 in euckr
            let mut out = Vec::new();
            named("euckr").write_value(&mut out, &bytes);
            let mut r = Vec::new();
            rmp::encode::write_str(&mut r, &"가".repeat(n)).unwrap();
            assert_eq!(out, r, "{n}");
        }
    }

    #[test]
    fn utf16_and_utf32_are_not_mistaken_for_ascii() {
        assert_eq!(
            value(named("ucs2"), &[0, b'a', 0, b'b']).as_str(),
            Some("ab")
        );
        assert_eq!(
            value(named("utf16"), &[0xd8, 0x3d, 0xde, 0x00]).as_str(),
            Some("😀")
        );
        assert_eq!(
            value(named("utf32"), &[0, 0, 0, b'a', 0, 1, 0xf6, 0]).as_str(),
            Some("a😀")
        );
    }

    #[test]
    fn truncated_or_invalid_bytes_never_panic() {
        for name in [
            "sjis", "ujis", "eucjpms", "gbk", "big5", "euckr", "latin1", "utf16", "utf32",
        ] {
            for b in [
                &[0x81u8][..],
                &[0x8f, 0xf5],
                &[0xff, 0xff, 0xff],
                &[0x80; 7],
            ] {
                let _ = value(named(name), b);
            }
        }
    }

    /// A few characters from each table in `charset_fixes.rs`, as MariaDB
    /// 10.11 converts them (`CONVERT(CONVERT(x'..' USING cs) USING
    /// utf8mb4)`); where the server has no character it writes `?`, and
    /// Sluice U+FFFD.
    #[test]
    fn every_table_converts_as_the_server_does() {
        for (name, bytes, want) in [
            ("latin5", &b"\x80\xd0"[..], "\u{80}Ğ"),
            ("greek", b"\xa1\xa2\xc1", "ʽʼΑ"),
            ("hebrew", b"\xaf\xe0", "‾א"),
            ("cp866", b"\x80\xfc\xfd", "Аⁿ²"),
            ("koi8u", b"\x95\xbe\xa4\xae", "•╬є╝"),
            ("tis620", b"\xa1\x85\xa0", "ก\u{85}\u{fffd}"),
            ("armscii8", b"\xb2\xb3\x80\xa2\xff", "Աա\u{80}§'"),
            ("cp850", b"\xb0\xd5\xff\x81\x9b", "░ı\u{a0}üø"),
            ("cp852", b"\x85\xfd\xa5", "ůřą"),
            ("dec8", b"\xa4\xd7\xfd\x80", "\u{fffd}Œÿ\u{80}"),
            ("geostd8", b"\xc0\x81\xfd", "ა\u{fffd}№"),
            ("hp8", b"\xa1\xaf\xff", "À₤\u{fffd}"),
            ("keybcs2", b"\xe0\xfe\x87", "α■č"),
            ("macce", b"\x81\xff", "Āˇ"),
            ("swe7", b"[a]@", "ÄaÅÉ"),
            ("sjis", b"\x81\x5f\x81\x60", "\\\u{301c}"),
            ("ujis", b"\x8f\xa2\xb7\xf5\xa1", "~\u{e000}"),
            (
                "eucjpms",
                b"\x8f\xf4\xc5\x8f\xa2\xc3\x8f\xf3\xf3",
                "\u{f929}\u{ffe4}\u{2170}",
            ),
            (
                "big5",
                b"\xa1\x45\xc6\xa5\xc7\xb3\xa1\x5a\xa4\x40",
                "•ぁЁ\u{fffd}一",
            ),
            ("gb2312", b"\xa1\xa4\xa1\xaa\xb0\xa1", "・―啊"),
        ] {
            assert_eq!(value(named(name), bytes).as_str(), Some(want), "{name}");
        }
    }

    #[test]
    fn every_byte_is_one_character_and_no_two_high_bytes_share_one() {
        for t in SINGLE.iter() {
            let all: Vec<u8> = (0..=255).collect();
            let s = named(t.name).decode_lossy(&all).into_owned();
            let chars: Vec<char> = s.chars().collect();
            assert_eq!(chars.len(), 256, "{}", t.name);
            let mut seen = std::collections::HashSet::new();
            for (b, &c) in chars.iter().enumerate().skip(0x80) {
                assert!(
                    c == '\u{fffd}' || seen.insert(c),
                    "{} {b:#x}: {c:?} twice",
                    t.name
                );
            }
        }
    }

    #[test]
    fn every_multi_byte_sequence_converts_to_utf8() {
        for name in [
            "sjis", "cp932", "ujis", "eucjpms", "gbk", "gb2312", "euckr", "big5",
        ] {
            for a in 0..=255u8 {
                for b in 0..=255u8 {
                    for bytes in [&[a, b][..], &[0x8f, a, b]] {
                        assert!(
                            value(named(name), bytes).as_str().is_some(),
                            "{name} {bytes:02x?}"
                        );
                    }
                }
            }
        }
    }
}
