//! Text columns arrive as UTF-8 MessagePack strings, converted from the
//! column's charset: utf8mb4 and utf8mb3 as they are, latin1 as
//! Windows-1252 (what MySQL's latin1 really is, 0x80 = €), single-byte
//! cp1251 and latin2, multi-byte sjis, gbk, euckr and ujis, and the UTF-16/32
//! family. CHAR loses its trailing spaces as it does in SELECT.

use crate::types_support::{after, check, check_with_options, field, tagged, TypeTable};

/// The tagged text of a text column `{c}` in any charset.
const TEXT: &str = "CONCAT('str:', CONVERT({c} USING utf8mb4))";

const TEXT_COLUMNS: [&str; 18] = [
    "u4", "u3", "l1", "cp", "l2", "sj", "gb", "kr", "uj", "uc", "u16", "u32", "ch", "chu", "tt",
    "tx", "mt", "lt",
];

#[test]
fn text_is_converted_to_utf8_from_every_charset() {
    let cols = TEXT_COLUMNS.join(", ");
    let events = check(
        "id INT PRIMARY KEY,
         u4 VARCHAR(100) CHARACTER SET utf8mb4,
         u3 VARCHAR(100) CHARACTER SET utf8mb3,
         l1 VARCHAR(300) CHARACTER SET latin1,
         cp VARCHAR(100) CHARACTER SET cp1251,
         l2 VARCHAR(100) CHARACTER SET latin2,
         sj VARCHAR(100) CHARACTER SET sjis,
         gb VARCHAR(100) CHARACTER SET gbk,
         kr VARCHAR(100) CHARACTER SET euckr,
         uj VARCHAR(100) CHARACTER SET ujis,
         uc VARCHAR(100) CHARACTER SET ucs2,
         u16 VARCHAR(100) CHARACTER SET utf16,
         u32 VARCHAR(100) CHARACTER SET utf32,
         ch CHAR(10) CHARACTER SET latin1,
         chu CHAR(255) CHARACTER SET utf8mb4,
         tt TINYTEXT CHARACTER SET latin1,
         tx TEXT CHARACTER SET cp1251,
         mt MEDIUMTEXT CHARACTER SET sjis,
         lt LONGTEXT CHARACTER SET utf8mb4",
        &format!(
            "INSERT INTO t (id, {cols}) VALUES
          (1, 'plain', 'plain', 'plain', 'plain', 'plain', 'plain', 'plain', 'plain', 'plain', 'plain', 'plain', 'plain', 'plain', 'plain', 'plain', 'plain', 'plain', 'plain'),
          (2, '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', '', ''),
          (3, '😀 emoji 𝄞', 'ünïcödé ✓', 'Besançon € ‰ Œ ž ÿ', 'Привет, мир ё Ђ', 'Zażółć gęślą jaźń', 'こんにちは 日本語 ｱｲｳ 〜',
              '中文 汉字 ￥', '한국어 텍스트', 'ひらがな カタカナ 漢字', 'ÀÉÎ ☃', 'utf16 😀', 'utf32 😀 𝄞', 'Ä ß', 'trailing  ',
              'tinytext €', 'текст', 'テキスト', 'long 😀'),
          (4, 'tab\\there\\nnewline \\\\ back \\'quote\\' \"dq\"', 'x', 'tab\\tnl\\n', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x', 'x',
              '  lead', 'ü       ', 'x', 'x', 'x', 'x'),
          (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (6, REPEAT('€', 100), REPEAT('ё', 100), REPEAT('é', 300), REPEAT('ж', 100), REPEAT('ł', 100), REPEAT('漢', 100),
              REPEAT('汉', 100), REPEAT('한', 100), REPEAT('漢', 100), REPEAT('Ω', 100), REPEAT('😀', 100), REPEAT('😀', 100),
              REPEAT('Ü', 10), REPEAT('😀', 255), REPEAT('ÿ', 255), REPEAT('ж', 30000), REPEAT('漢', 50000), REPEAT('😀', 100000));
         -- Every latin1 byte, 0x00 to 0xFF: latin1 is Windows-1252 with the five holes mapped to C1 controls.
         INSERT INTO t (id, l1) VALUES (7, UNHEX('{}'));",
            (0..=255u8).map(|b| format!("{b:02X}")).collect::<String>()
        ),
        7,
        &[(&TEXT_COLUMNS.join(" "), TEXT)],
    );
    // Spelled out.
    assert_eq!(after(&events[2], "l1").as_str(), Some("Besançon € ‰ Œ ž ÿ"));
    assert_eq!(after(&events[2], "cp").as_str(), Some("Привет, мир ё Ђ"));
    assert_eq!(
        after(&events[2], "sj").as_str(),
        Some("こんにちは 日本語 ｱｲｳ 〜")
    );
    assert_eq!(after(&events[2], "chu").as_str(), Some("trailing"));
    assert_eq!(after(&events[3], "ch").as_str(), Some("  lead"));
    let all_latin1 = after(&events[6], "l1").as_str().unwrap().to_string();
    assert_eq!(all_latin1.chars().count(), 256);
    assert!(all_latin1.contains("\u{20ac}") && all_latin1.contains("\u{81}"));
}

#[test]
fn table_and_column_default_charsets_apply() {
    // The charset comes from the table default when the column names none,
    // and ENUM columns between text columns do not shift which charset
    // belongs to which column.
    let events = check_with_options(
        "id INT PRIMARY KEY, a VARCHAR(20), e ENUM('é', 'ß') CHARACTER SET latin1, b TEXT,
         c VARCHAR(20) CHARACTER SET utf8mb4, s SET('ё', 'ж') CHARACTER SET cp1251, d CHAR(5)",
        "DEFAULT CHARSET = cp1251",
        "INSERT INTO t VALUES (1, 'жук', 'ß', 'щука', '😀', 'ё,ж', 'ёж'), (2, 'Ђ', 'é', '', 'x', '', '')",
        2,
        &[("a e b d", TEXT), ("c", "CONCAT('str:', c)")],
    );
    assert_eq!(after(&events[0], "s").as_array().unwrap().len(), 2);
    assert_eq!(
        after(&events[0], "s").as_array().unwrap()[1].as_str(),
        Some("ж")
    );
}

#[test]
fn charsets_stay_with_their_columns_after_every_other_type() {
    // A latin1 and a cp1251 column after each type: byte 0xE9 is é in one
    // and й in the other, so a charset assigned to the wrong column shows.
    let types = [
        "TINYINT",
        "BIT(1)",
        "BIT(13)",
        "DECIMAL(10,2)",
        "FLOAT",
        "DOUBLE",
        "YEAR",
        "DATE",
        "TIME(3)",
        "DATETIME(6)",
        "TIMESTAMP(2) NULL",
        "ENUM('a','b')",
        "SET('a','b')",
        "BINARY(3)",
        "VARBINARY(3)",
        "BLOB",
        "JSON",
        "GEOMETRY",
        "POINT",
        "INET6",
        "UUID",
        "INET4",
        "VARCHAR(3) CHARACTER SET utf8mb4",
    ];
    let mut cols = vec!["id INT PRIMARY KEY".to_string()];
    let mut names = vec![];
    for (i, t) in types.iter().enumerate() {
        cols.push(format!("x{i} {t}"));
        cols.push(format!("l{i} VARCHAR(5) CHARACTER SET latin1"));
        cols.push(format!("c{i} VARCHAR(5) CHARACTER SET cp1251"));
        names.push(format!("l{i}"));
        names.push(format!("c{i}"));
    }
    let sets: Vec<String> = (0..types.len())
        .map(|i| format!("l{i} = 'é', c{i} = 'й'"))
        .collect();
    check(
        &cols.join(", "),
        &format!("INSERT INTO t SET id = 1, {}", sets.join(", ")),
        1,
        &[(&names.join(" "), TEXT)],
    );
}

#[test]
fn charsets_without_a_whatwg_encoding_convert_too() {
    let events = check(
        "id INT PRIMARY KEY, a VARCHAR(20) CHARACTER SET cp850, b VARCHAR(20) CHARACTER SET cp852,
         c VARCHAR(20) CHARACTER SET swe7, d VARCHAR(20) CHARACTER SET keybcs2,
         e VARCHAR(20) CHARACTER SET armscii8, f VARCHAR(20) CHARACTER SET macce",
        "INSERT INTO t VALUES (1, 'Grüße ø', 'Zażółć', 'Åsa Öberg É', 'Příliš', 'Հայ', 'Łódź'), (2, 'x', 'y', 'abc', 'z', 'w', 'v')",
        2,
        &[("a b c d e f", TEXT)],
    );
    assert_eq!(after(&events[0], "c").as_str(), Some("Åsa Öberg É"));
}

#[test]
fn keys_carry_the_same_values_as_the_images() {
    // A primary key over a latin1 text, a BINARY(4) and a DECIMAL: the key
    // is the image's values, converted and padded the same way.
    let t = TypeTable::create(
        "id INT, code VARCHAR(10) CHARACTER SET latin1, tag BINARY(4), amount DECIMAL(5,2),
         PRIMARY KEY (code, tag, amount)",
        "",
    );
    t.write(
        "INSERT INTO t VALUES (1, 'Zürich €', X'0100', -1.5);
         UPDATE t SET code = 'Genève' WHERE id = 1;
         DELETE FROM t WHERE id = 1;",
    );
    let events = t.events_with_keys(3);
    t.stop();
    let key_of = |img: &rmpv::Value| {
        rmpv::Value::Map(
            ["code", "tag", "amount"]
                .iter()
                .map(|c| (rmpv::Value::from(*c), field(img, c).unwrap().clone()))
                .collect(),
        )
    };
    let (create, ck) = &events[0];
    assert_eq!(ck.as_ref(), Some(&key_of(field(create, "after").unwrap())));
    assert_eq!(
        tagged(ck.as_ref().unwrap()),
        "{str:code=str:Zürich €,str:tag=bin:01000000,str:amount=str:-1.50}"
    );
    // An update's key is the new row's; a delete's the old row's.
    let (update, uk) = &events[1];
    assert_eq!(uk.as_ref(), Some(&key_of(field(update, "after").unwrap())));
    let (delete, dk) = &events[2];
    assert_eq!(dk.as_ref(), Some(&key_of(field(delete, "before").unwrap())));
}
