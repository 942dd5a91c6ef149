//! Conversions checked against what MySQL and MariaDB give.

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

/// A few characters from each table in `fixes.rs`, as MariaDB
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
