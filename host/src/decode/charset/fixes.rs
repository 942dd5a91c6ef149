//! The server's character tables, as data, where `encoding_rs` differs from
//! them or lacks the charset; `single.rs` and `multi.rs` build their
//! converters from these.
//!
//! # Where the data came from
//! MariaDB 10.11's own conversions: every byte sequence each charset accepts
//! was converted with `SELECT HEX(CONVERT(CONVERT(x'..' USING cs) USING
//! utf8mb4))`.
//! - For a charset `encoding_rs` knows (a WHATWG encoding), a table lists
//!   only the sequences that `encoding_rs` decodes differently.
//! - For a single-byte charset it lacks, a table lists every byte from 0x80
//!   up (U+FFFD, `�`, where the server has no character); bytes below 0x80
//!   are ASCII unless listed (only swe7 lists any).
//! - EUC-JP's user-defined rows 0xF5-0xFE follow a formula instead (to the
//!   Private Use Area, in `multi.rs`).
//!
//! # Reading a table
//! A code is a character's bytes read as a big-endian number (sjis 0x81 0x60
//! is 0x8160). A table is a list of spans, sorted by code, not overlapping:
//! - `chars(code, "..")`: the codes from `code` on are the string's
//!   characters, one each. A single-byte table's string has 16 to a line,
//!   so its lines start at 0x80, 0x90, ...
//! - `run(code, to, len)`: `len` codes from `code` are as many consecutive
//!   code points from `to` (`run(0x80, 0x80, 32)`: the C1 controls, as
//!   themselves).
//!
//! # Regenerating or extending
//! Convert the charset's sequences on the server as above, compare each with
//! `encoding_rs` (or keep every byte from 0x80, for a charset it lacks), and
//! write what remains as spans; merge consecutive codes into one `chars` and
//! use `run` for long stretches of consecutive code points. Then name the
//! table in the charset's entry in `single.rs` or `multi.rs`, add it to
//! `TABLES` in the tests below (which check order, overlap and sizes) and add
//! a known conversion or two to `tests.rs`.

/// Consecutive codes from `code`, and their characters.
#[derive(Clone, Copy, Debug)]
pub(super) enum Span {
    /// `len` codes map to as many consecutive code points from `to`.
    Run { code: u32, to: u32, len: u32 },
    /// The codes map to these characters, one each.
    Chars { code: u32, chars: &'static str },
}

const fn run(code: u32, to: u32, len: u32) -> Span {
    Span::Run { code, to, len }
}

const fn chars(code: u32, chars: &'static str) -> Span {
    Span::Chars { code, chars }
}

impl Span {
    fn code(&self) -> u32 {
        match *self {
            Span::Run { code, .. } | Span::Chars { code, .. } => code,
        }
    }

    /// The character of the code `i` after the first, if the span has one.
    fn get(&self, i: u32) -> Option<char> {
        match *self {
            Span::Run { to, len, .. } => (i < len).then(|| char::from_u32(to + i)).flatten(),
            Span::Chars { chars, .. } => chars.chars().nth(i as usize),
        }
    }
}

/// The character `spans` give `code`, if any.
pub(super) fn lookup(spans: &[Span], code: u32) -> Option<char> {
    let i = spans.partition_point(|s| s.code() <= code).checked_sub(1)?;
    spans[i].get(code - spans[i].code())
}

/// Every (code, character) of `spans`, in order.
pub(super) fn entries(spans: &[Span]) -> Vec<(u32, char)> {
    let mut all = Vec::new();
    for span in spans {
        match *span {
            Span::Run { code, to, len } => {
                all.extend((0..len).filter_map(|i| Some((code + i, char::from_u32(to + i)?))))
            }
            Span::Chars { code, chars } => all.extend((code..).zip(chars.chars())),
        }
    }
    all
}

// Multi-byte charsets: where the server differs from encoding_rs.

/// `sjis` is JIS X 0208 as the server maps it: encoding_rs's Shift_JIS is
/// Windows-31J (the server's `cp932`), with fullwidth forms here.
pub(super) const SJIS: &[Span] = &[
    chars(0x815F, "\u{5C}\u{301C}\u{2016}"), // reverse solidus, wave dash, double vertical line
    chars(0x817C, "\u{2212}"),               // minus sign
    chars(0x8191, "\u{A2}\u{A3}"),           // cent sign, pound sign
    chars(0x81CA, "\u{AC}"),                 // not sign
];

/// `ujis`: the same JIS X 0208 differences as `sjis`, and JIS X 0212's tilde.
pub(super) const UJIS: &[Span] = &[
    chars(0xA1C0, "\u{5C}\u{301C}\u{2016}"), // reverse solidus, wave dash, double vertical line
    chars(0xA1DD, "\u{2212}"),               // minus sign
    chars(0xA1F1, "\u{A2}\u{A3}"),           // cent sign, pound sign
    chars(0xA2CC, "\u{AC}"),                 // not sign
    chars(0x8FA2B7, "\u{7E}"),               // tilde
];

/// `eucjpms`: IBM extensions in JIS X 0212 rows 0x73-0x74, which encoding_rs
/// does not decode: small and capital roman numerals, five symbols, then IBM
/// kanji (compatibility ideographs U+F9xx-U+FAxx among them).
pub(super) const EUCJPMS: &[Span] = &[
    chars(0x8FA2C3, "\u{FFE4}"),         // fullwidth broken bar
    run(0x8FF3F3, 0x2170, 10),           // ⅰ-ⅹ
    chars(0x8FF3FD, "\u{2160}\u{2161}"), // Ⅰ-Ⅹ, across the end of the row
    run(0x8FF4A1, 0x2162, 8),
    chars(0x8FF4A9, "\u{FF07}\u{FF02}\u{3231}\u{2116}\u{2121}"), // ＇＂㈱№℡
    chars(
        0x8FF4AE,
        "\
         \u{70BB}\u{4EFC}\u{50F4}\u{51EC}\u{5307}\u{5324}\u{FA0E}\u{548A}\u{5759}\
         \u{FA0F}\u{FA10}\u{589E}\u{5BEC}\u{5CF5}\u{5D53}\u{FA11}\u{5FB7}\u{6085}\
         \u{6120}\u{654E}\u{663B}\u{6665}\u{FA12}\u{F929}\u{6801}\u{FA13}\u{FA14}\
         \u{6A6B}\u{6AE2}\u{6DF8}\u{6DF2}\u{7028}\u{FA15}\u{FA16}\u{7501}\u{7682}\
         \u{769E}\u{FA17}\u{7930}\u{FA18}\u{FA19}\u{FA1A}\u{FA1B}\u{7AE7}\u{FA1C}\
         \u{FA1D}\u{7DA0}\u{7DD6}\u{FA1E}\u{8362}\u{FA1F}\u{85B0}\u{FA20}\u{FA21}\
         \u{8807}\u{FA22}\u{8B7F}\u{8CF4}\u{8D76}\u{FA23}\u{FA24}\u{FA25}\u{90DE}\
         \u{FA26}\u{9115}\u{FA27}\u{FA28}\u{9592}\u{F9DC}\u{FA29}\u{973B}\u{974D}\
         \u{9751}\u{FA2A}\u{FA2B}\u{FA2C}\u{999E}\u{9AD9}\u{9B72}\u{FA2D}\u{9ED1}",
    ),
];

/// `big5`: plain Big5 symbols (U+FFFD where the server has none), then the
/// ETEN kana, Cyrillic and numbered circles and parentheses in 0xC6A1-0xC7FC,
/// laid out unlike WHATWG's Big5-HKSCS.
pub(super) const BIG5: &[Span] = &[
    chars(0xA145, "\u{2022}"), // bullet
    chars(0xA14E, "\u{FF64}"), // halfwidth ideographic comma
    chars(0xA15A, "\u{FFFD}"),
    chars(0xA1C2, "\u{203E}\u{FFFD}"), // overline, none
    chars(0xA1C5, "\u{FFFD}"),
    chars(0xA1E3, "\u{223C}"),         // tilde operator
    chars(0xA1F2, "\u{2641}\u{2609}"), // earth, sun
    chars(0xA1FE, "\u{FFFD}"),
    chars(0xA240, "\u{FFFD}\u{FF0F}\u{FF3C}"), // none, fullwidth solidus and reverse solidus
    chars(0xA244, "\u{A5}"),                   // yen sign
    chars(0xA246, "\u{A2}\u{A3}"),             // cent sign, pound sign
    chars(0xA2CC, "\u{FFFD}"),
    chars(0xA2CE, "\u{FFFD}"),
    chars(0xC6A1, "\u{30FE}\u{309D}\u{309E}\u{3005}"), // ヾゝゞ々
    run(0xC6A5, 0x3041, 83),                           // ぁ-ん
    run(0xC6F8, 0x30A1, 7),                            // ァ-ェ
    run(0xC740, 0x30A8, 63),                           // エ-ユ
    run(0xC7A1, 0x30E7, 16),                           // ョ-ヶ
    chars(0xC7B1, "\u{414}\u{415}\u{401}"),            // ДЕЁ
    run(0xC7B4, 0x416, 7),                             // Ж-М
    run(0xC7BB, 0x423, 19),                            // У-е
    chars(0xC7CE, "\u{451}"),                          // ё
    run(0xC7CF, 0x436, 26),                            // ж-я
    run(0xC7E9, 0x2460, 10),                           // ①-⑩
    run(0xC7F3, 0x2474, 10),                           // ⑴-⑽
];

/// `gb2312`: two punctuation marks GBK has otherwise.
pub(super) const GB2312: &[Span] = &[
    chars(0xA1A4, "\u{30FB}"), // katakana middle dot
    chars(0xA1AA, "\u{2015}"), // horizontal bar
];

// Single-byte charsets encoding_rs has: where the server differs from it.

/// `latin5` is ISO-8859-9: C1 controls where Windows-1254 has punctuation.
pub(super) const LATIN5: &[Span] = &[
    run(0x80, 0x80, 1),
    run(0x82, 0x82, 11),
    run(0x91, 0x91, 12),
    run(0x9F, 0x9F, 1),
];

/// `greek`
pub(super) const GREEK: &[Span] = &[
    chars(0xA1, "\u{2BD}\u{2BC}"), // modifier letter reversed comma, modifier letter apostrophe
];

/// `hebrew`
pub(super) const HEBREW: &[Span] = &[
    chars(0xAF, "\u{203E}"), // overline
];

/// `cp866`
pub(super) const CP866: &[Span] = &[
    chars(0xFC, "\u{207F}\u{B2}"), // superscript latin small letter n, superscript two
];

/// `koi8u`
pub(super) const KOI8U: &[Span] = &[
    chars(0x95, "\u{2022}"), // bullet
    chars(0xAE, "\u{255D}"), // box drawings double up and left
    chars(0xBE, "\u{256C}"), // box drawings double vertical and horizontal
];

/// `tis620` is TIS-620: C1 controls where Windows-874 has punctuation, and
/// no character at 0xA0.
pub(super) const TIS620: &[Span] = &[
    run(0x80, 0x80, 1),
    run(0x85, 0x85, 1),
    run(0x91, 0x91, 7),
    chars(0xA0, "\u{FFFD}"), // none
];

// Single-byte charsets encoding_rs lacks: every byte from 0x80 up.

/// `armscii8` (ARMSCII-8, Armenian)
pub(super) const ARMSCII8: &[Span] = &[
    run(0x80, 0x80, 32),
    chars(
        0xA0,
        "\
         \u{A0}❁§։)(»«—.՝,-՟…՜\
         ՛՞ԱաԲբԳգԴդԵեԶզԷէ\
         ԸըԹթԺժԻիԼլԽխԾծԿկ\
         ՀհՁձՂղՃճՄմՅյՆնՇշ\
         ՈոՉչՊպՋջՌռՍսՎվՏտ\
         ՐրՑցՒւՓփՔքՕօՖֆ’'",
    ),
];

/// `cp850` (DOS Latin 1)
pub(super) const CP850: &[Span] = &[chars(
    0x80,
    "\
     ÇüéâäàåçêëèïîìÄÅ\
     ÉæÆôöòûùÿÖÜø£Ø×ƒ\
     áíóúñÑªº¿®¬½¼¡«»\
     ░▒▓│┤ÁÂÀ©╣║╗╝¢¥┐\
     └┴┬├─┼ãÃ╚╔╩╦╠═╬¤\
     ðÐÊËÈıÍÎÏ┘┌█▄¦Ì▀\
     ÓßÔÒõÕµþÞÚÛÙýÝ¯´\
     \u{AD}±‗¾¶§÷¸°¨·¹³²■\u{A0}",
)];

/// `cp852` (DOS Latin 2)
pub(super) const CP852: &[Span] = &[chars(
    0x80,
    "\
     ÇüéâäůćçłëŐőîŹÄĆ\
     ÉĹĺôöĽľŚśÖÜŤťŁ×č\
     áíóúĄąŽžĘę¬źČş«»\
     ░▒▓│┤ÁÂĚŞ╣║╗╝Żż┐\
     └┴┬├─┼Ăă╚╔╩╦╠═╬¤\
     đĐĎËďŇÍÎě┘┌█▄ŢŮ▀\
     ÓßÔŃńňŠšŔÚŕŰýÝţ´\
     \u{AD}˝˛ˇ˘§÷¸°¨˙űŘř■\u{A0}",
)];

/// `dec8` (DEC Multinational)
pub(super) const DEC8: &[Span] = &[
    run(0x80, 0x80, 32),
    chars(
        0xA0,
        "\
         \u{A0}¡¢£�¥�§¤©ª«����\
         °±²³�µ¶·�¹º»¼½�¿\
         ÀÁÂÃÄÅÆÇÈÉÊËÌÍÎÏ\
         �ÑÒÓÔÕÖŒØÙÚÛÜŸ�ß\
         àáâãäåæçèéêëìíîï\
         �ñòóôõöœøùúûüÿ��",
    ),
];

/// `geostd8` (GEOSTD8, Georgian)
pub(super) const GEOSTD8: &[Span] = &[chars(
    0x80,
    "\
     €�‚�„…†‡�‰�‹����\
     �‘’“”•–—���›����\
     \u{A0}¡¢£¤¥¦§¨©ª«¬\u{AD}®¯\
     °±²³´µ¶·¸¹º»¼½¾¿\
     აბგდევზჱთიკლმნჲო\
     პჟრსტჳუფქღყშჩცძწ\
     ჭხჴჯჰჵ����������\
     �������������№��",
)];

/// `hp8` (HP Roman-8)
pub(super) const HP8: &[Span] = &[
    run(0x80, 0x80, 32),
    chars(
        0xA0,
        "\
         \u{A0}ÀÂÈÊËÎÏ´ˋˆ¨˜ÙÛ₤\
         ¯Ýý°ÇçÑñ¡¿¤£¥§ƒ¢\
         âêôûáéóúàèòùäëöü\
         ÅîØÆåíøæÄìÖÜÉïßÔ\
         ÁÃãÐðÍÌÓÒÕõŠšÚŸÿ\
         Þþ·µ¶¾—¼½ªº«■»±�",
    ),
];

/// `keybcs2` (Kamenický, DOS Czech and Slovak)
pub(super) const KEYBCS2: &[Span] = &[chars(
    0x80,
    "\
     ČüéďäĎŤčěĚĹÍľĺÄÁ\
     ÉžŽôöÓůÚýÖÜŠĽÝŘť\
     áíóúňŇŮÔšřŕŔ¼¡«»\
     ░▒▓│┤╡╢╖╕╣║╗╝╜╛┐\
     └┴┬├─┼╞╟╚╔╩╦╠═╬╧\
     ╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀\
     αßΓπΣσµτΦΘΩδ∞φε∩\
     ≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u{A0}",
)];

/// `macce` (Mac Central European)
pub(super) const MACCE: &[Span] = &[chars(
    0x80,
    "\
     ÄĀāÉĄÖÜáąČäčĆćéŹ\
     źĎíďĒēĖóėôöõúĚěü\
     †°Ę£§•¶ß®©™ę¨≠ģĮ\
     įĪ≤≥īĶ∂∑łĻļĽľĹĺŅ\
     ņŃ¬√ńŇ∆«»…\u{A0}ňŐÕőŌ\
     –—“”‘’÷◊ōŔŕŘ‹›řŖ\
     ŗŠ‚„šŚśÁŤťÍŽžŪÓÔ\
     ūŮÚůŰűŲųÝýķŻŁżĢˇ",
)];

/// `swe7` (7-bit Swedish): no byte from 0x80 up, and letters in place of
/// `@[\]^` and `` `{|}~ ``.
pub(super) const SWE7: &[Span] = &[
    chars(0x40, "É"),
    chars(0x5B, "ÄÖÅÜ"),
    chars(0x60, "é"),
    chars(0x7B, "äöåü"),
];

#[cfg(test)]
mod tests {
    use super::*;

    const TABLES: &[(&str, &[Span])] = &[
        ("sjis", SJIS),
        ("ujis", UJIS),
        ("eucjpms", EUCJPMS),
        ("big5", BIG5),
        ("gb2312", GB2312),
        ("latin5", LATIN5),
        ("greek", GREEK),
        ("hebrew", HEBREW),
        ("cp866", CP866),
        ("koi8u", KOI8U),
        ("tis620", TIS620),
        ("armscii8", ARMSCII8),
        ("cp850", CP850),
        ("cp852", CP852),
        ("dec8", DEC8),
        ("geostd8", GEOSTD8),
        ("hp8", HP8),
        ("keybcs2", KEYBCS2),
        ("macce", MACCE),
        ("swe7", SWE7),
    ];

    #[test]
    fn tables_are_sorted_without_overlaps_or_invalid_code_points() {
        for &(name, spans) in TABLES {
            let mut end = 0;
            for s in spans {
                let len = match *s {
                    Span::Run { to, len, .. } => {
                        assert!(len > 0, "{name}: empty run at {:#X}", s.code());
                        for i in 0..len {
                            assert!(char::from_u32(to + i).is_some(), "{name}: {:#X}", to + i);
                        }
                        len
                    }
                    Span::Chars { chars, .. } => chars.chars().count() as u32,
                };
                assert!(
                    len > 0 && s.code() >= end,
                    "{name}: {:#X} overlaps",
                    s.code()
                );
                end = s.code() + len;
            }
        }
    }

    #[test]
    fn lookup_agrees_with_entries_and_misses_between_spans() {
        for &(name, spans) in TABLES {
            let all = entries(spans);
            for &(code, ch) in &all {
                assert_eq!(lookup(spans, code), Some(ch), "{name} {code:#X}");
            }
            let lo = all[0].0.saturating_sub(300);
            let hi = all[all.len() - 1].0 + 300;
            let n = (lo..=hi).filter(|&c| lookup(spans, c).is_some()).count();
            assert_eq!(n, all.len(), "{name}");
        }
    }

    #[test]
    fn single_byte_tables_without_encoding_rs_cover_0x80_to_0xff() {
        for t in [ARMSCII8, CP850, CP852, DEC8, GEOSTD8, HP8, KEYBCS2, MACCE] {
            let codes: Vec<u32> = entries(t).iter().map(|e| e.0).collect();
            assert_eq!(codes, (0x80..=0xFF).collect::<Vec<_>>());
        }
        assert!(entries(SWE7).iter().all(|e| e.0 < 0x80));
    }
}
