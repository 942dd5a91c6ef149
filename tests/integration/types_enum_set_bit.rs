//! ENUM arrives as its label (`""` for the invalid-value index 0), SET as an
//! array of labels in definition order (`[]` for the empty set), BIT(1) as
//! bool and BIT(n) as uint (BIT(64) over its full range).

use crate::types_support::{after, TypeTable};

/// SELECT expression turning a SET column into the tagged array text.
fn set_expr(c: &str) -> String {
    format!("CONCAT('[', IF({c} = '', '', CONCAT('str:', REPLACE({c}, ',', ',str:'))), ']')")
}

#[test]
fn enums_are_labels_and_sets_are_arrays_of_labels() {
    let big_enum: Vec<String> = (0..300).map(|i| format!("'v{i}'")).collect();
    let big_set: Vec<String> = (0..64).map(|i| format!("'m{i}'")).collect();
    let t = TypeTable::create(
        &format!(
            "id INT PRIMARY KEY, e ENUM('a', 'b', 'c'), e_latin1 ENUM('café', 'naïve') CHARACTER SET latin1,
             e_big ENUM({}), s SET('x', 'y', 'z'), s_cp1251 SET('ёж', 'щи') CHARACTER SET cp1251, s_big SET({})",
            big_enum.join(","),
            big_set.join(",")
        ),
        "",
    );
    let all64 = (0..64)
        .map(|i| format!("m{i}"))
        .collect::<Vec<_>>()
        .join(",");
    t.write(&format!(
        "SET sql_mode = '';
         INSERT INTO t VALUES
          (1, 'a', 'café', 'v0', 'x', 'ёж', 'm0'),
          (2, 'c', 'naïve', 'v299', 'x,y,z', 'ёж,щи', '{all64}'),
          (3, 'not a label', 'naïve', 'v255', '', '', ''),
          (4, 'b', 'café', 'v256', 'z,x', 'щи', 'm63'),
          (5, NULL, NULL, NULL, NULL, NULL, NULL);"
    ));
    let events = t.events(5);
    let sets: Vec<String> = ["s", "s_cp1251", "s_big"]
        .iter()
        .map(|c| set_expr(c))
        .collect();
    t.assert_matches_select(
        &events,
        &[
            ("e", "CONCAT('str:', e)"),
            ("e_latin1", "CONCAT('str:', e_latin1)"),
            ("e_big", "CONCAT('str:', e_big)"),
            ("s", &sets[0]),
            ("s_cp1251", &sets[1]),
            ("s_big", &sets[2]),
        ],
    );
    assert_eq!(after(&events[2], "e").as_str(), Some(""));
    assert_eq!(after(&events[2], "s").as_array().map(Vec::len), Some(0));
    assert_eq!(
        after(&events[1], "s_big").as_array().map(Vec::len),
        Some(64)
    );
    assert_eq!(after(&events[0], "e_latin1").as_str(), Some("café"));
    let mut t = t;
    t.sluice.stop();
}

#[test]
fn bit_1_is_bool_and_wider_bits_are_unsigned() {
    let t = TypeTable::create(
        "id INT PRIMARY KEY, b1 BIT(1), b2 BIT(2), b8 BIT(8), b13 BIT(13), b63 BIT(63), b64 BIT(64)",
        "",
    );
    t.write(
        "INSERT INTO t VALUES
          (1, b'0', b'00', b'0', b'0', b'0', b'0'),
          (2, b'1', b'11', b'11111111', b'1111111111111', 9223372036854775807, 18446744073709551615),
          (3, 1, 2, 128, 4096, 4611686018427387904, 9223372036854775808),
          (4, NULL, NULL, NULL, NULL, NULL, NULL);",
    );
    let events = t.events(4);
    t.assert_matches_select(
        &events,
        &[
            ("b1", "ELT(b1 + 1, 'bool:false', 'bool:true')"),
            ("b2", "CONCAT('int:', b2 + 0)"),
            ("b8", "CONCAT('int:', b8 + 0)"),
            ("b13", "CONCAT('int:', b13 + 0)"),
            ("b63", "CONCAT('int:', b63 + 0)"),
            ("b64", "CONCAT('int:', b64 + 0)"),
        ],
    );
    assert_eq!(after(&events[1], "b1").as_bool(), Some(true));
    assert_eq!(after(&events[1], "b64").as_u64(), Some(u64::MAX));
    let mut t = t;
    t.sluice.stop();
}
