//! Integers: signed columns arrive as MessagePack int, unsigned ones as uint
//! over their full range (BIGINT UNSIGNED up to 18446744073709551615), BOOL
//! (TINYINT(1)) as an int like the server stores it, ZEROFILL as the plain
//! number.

use crate::types_support::{before, check, field, replay};

#[test]
fn integers_arrive_with_their_full_signed_and_unsigned_ranges() {
    let events = check(
        "id INT PRIMARY KEY,
         ti TINYINT, tu TINYINT UNSIGNED,
         si SMALLINT, su SMALLINT UNSIGNED,
         mi MEDIUMINT, mu MEDIUMINT UNSIGNED,
         i INT, iu INT UNSIGNED,
         bi BIGINT, bu BIGINT UNSIGNED,
         flag BOOL, zf INT(6) ZEROFILL",
        "INSERT INTO t VALUES
          (1, -128, 0, -32768, 0, -8388608, 0, -2147483648, 0, -9223372036854775808, 0, 0, 0),
          (2, 127, 255, 32767, 65535, 8388607, 16777215, 2147483647, 4294967295, 9223372036854775807, 18446744073709551615, 1, 42),
          (3, -1, 1, -1, 1, -1, 1, -1, 1, -1, 1, -1, 4294967295),
          (4, 0, 128, -129, 32768, -32769, 8388608, -2147483647, 2147483648, -4294967296, 9223372036854775808, 127, 1),
          (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);
         UPDATE t SET bu = bu - 1, ti = ti - 1 WHERE id = 2;
         DELETE FROM t WHERE id = 3;",
        7,
        &[(
            "ti tu si su mi mu i iu bi bu flag zf",
            "CONCAT('int:', {c} + 0)",
        )],
    );
    // The extremes, spelled out.
    let max = &replay(&events)[&2];
    assert_eq!(
        field(max, "bu").unwrap().as_u64(),
        Some(18446744073709551614)
    );
    assert_eq!(field(max, "bi").unwrap().as_i64(), Some(i64::MAX));
    // The deleted row's before image carries the signed -1s.
    let deleted = &events[6];
    assert_eq!(before(deleted, "mi").as_i64(), Some(-1));
    assert_eq!(before(deleted, "mu").as_u64(), Some(1));
}

#[test]
fn signedness_stays_with_its_column_after_year_decimal_and_floats() {
    // The table map's signedness bitmap lists only numeric columns: a type
    // counted on one side and not on the other would shift it.
    check(
        "id INT PRIMARY KEY, y YEAR, u1 INT UNSIGNED, s1 INT, d DECIMAL(5,2) UNSIGNED,
         u2 TINYINT UNSIGNED, f FLOAT UNSIGNED, s2 SMALLINT, b BIT(4), u3 BIGINT UNSIGNED, s3 TINYINT",
        "INSERT INTO t VALUES (1, 2000, 4294967295, -1, 1.5, 255, 1.5, -2, 3, 18446744073709551615, -3)",
        1,
        &[("y u1 s1 u2 s2 b u3 s3", "CONCAT('int:', {c} + 0)")],
    );
}
