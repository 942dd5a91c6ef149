//! ENUM arrives as its label (`""` for the invalid-value index 0), SET as an
//! array of labels in definition order (`[]` for the empty set), BIT(1) as
//! bool and BIT(n) as uint (BIT(64) over its full range).

use crate::types_support::{after, check};

/// SELECT expression turning a SET column `{c}` into the tagged array text.
const SET_EXPR: &str =
    "CONCAT('[', IF({c} = '', '', CONCAT('str:', REPLACE({c}, ',', ',str:'))), ']')";

#[test]
fn enums_are_labels_and_sets_are_arrays_of_labels() {
    let big_enum: Vec<String> = (0..300).map(|i| format!("'v{i}'")).collect();
    let big_set: Vec<String> = (0..64).map(|i| format!("'m{i}'")).collect();
    let all64 = (0..64)
        .map(|i| format!("m{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let events = check(
        &format!(
            "id INT PRIMARY KEY, e ENUM('a', 'b', 'c'), e_latin1 ENUM('café', 'naïve') CHARACTER SET latin1,
             e_big ENUM({}), s SET('x', 'y', 'z'), s_cp1251 SET('ёж', 'щи') CHARACTER SET cp1251, s_big SET({})",
            big_enum.join(","),
            big_set.join(",")
        ),
        &format!(
            "SET sql_mode = '';
         INSERT INTO t VALUES
          (1, 'a', 'café', 'v0', 'x', 'ёж', 'm0'),
          (2, 'c', 'naïve', 'v299', 'x,y,z', 'ёж,щи', '{all64}'),
          (3, 'not a label', 'naïve', 'v255', '', '', ''),
          (4, 'b', 'café', 'v256', 'z,x', 'щи', 'm63'),
          (5, NULL, NULL, NULL, NULL, NULL, NULL);"
        ),
        5,
        &[
            ("e e_latin1 e_big", "CONCAT('str:', {c})"),
            ("s s_cp1251 s_big", SET_EXPR),
        ],
    );
    assert_eq!(after(&events[2], "e").as_str(), Some(""));
    assert_eq!(after(&events[2], "s").as_array().map(Vec::len), Some(0));
    assert_eq!(
        after(&events[1], "s_big").as_array().map(Vec::len),
        Some(64)
    );
    assert_eq!(after(&events[0], "e_latin1").as_str(), Some("café"));
}

#[test]
fn bit_1_is_bool_and_wider_bits_are_unsigned() {
    let events = check(
        "id INT PRIMARY KEY, b1 BIT(1), b2 BIT(2), b8 BIT(8), b13 BIT(13), b63 BIT(63), b64 BIT(64)",
        "INSERT INTO t VALUES
          (1, b'0', b'00', b'0', b'0', b'0', b'0'),
          (2, b'1', b'11', b'11111111', b'1111111111111', 9223372036854775807, 18446744073709551615),
          (3, 1, 2, 128, 4096, 4611686018427387904, 9223372036854775808),
          (4, NULL, NULL, NULL, NULL, NULL, NULL);",
        4,
        &[
            ("b1", "ELT(b1 + 1, 'bool:false', 'bool:true')"),
            ("b2 b8 b13 b63 b64", "CONCAT('int:', {c} + 0)"),
        ],
    );
    assert_eq!(after(&events[1], "b1").as_bool(), Some(true));
    assert_eq!(after(&events[1], "b64").as_u64(), Some(u64::MAX));
}
