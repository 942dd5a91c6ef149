//! Single-byte charsets: a table from byte to character each.

use std::sync::LazyLock;

use encoding_rs::Encoding;

use super::fixes;

/// A single-byte charset as a table from byte to character.
pub struct SingleByte {
    pub(super) name: &'static str,
    chars: [char; 256],
    /// Bytes 0x00-0x7F are ASCII (all but swe7).
    pub(super) ascii: bool,
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
    pub(super) fn append(&self, out: &mut Vec<u8>, b: &[u8]) {
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
    pub(super) fn utf8_len(&self, b: &[u8]) -> usize {
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

pub(super) static SINGLE: LazyLock<Vec<SingleByte>> = LazyLock::new(|| {
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
