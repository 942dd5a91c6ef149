//! DECIMAL arrives as an exact string with exactly `scale` fraction digits
//! (no exponent, no rounding, up to DECIMAL(65,30)); FLOAT as float32 and
//! DOUBLE as float64, bit for bit, from the largest to the smallest
//! (subnormal) values.
//!
//! Negative zero: MariaDB stores `-0e0` (however it is computed) as `0`, so
//! no -0 reaches its binlog; the decoder keeps the sign bit of whatever the
//! binlog holds (see `value.rs`'s unit tests).

use crate::types_support::{after, check};

#[test]
fn decimals_are_exact_strings_with_their_scale() {
    let events = check(
        "id INT PRIMARY KEY,
         widest DECIMAL(65,30), integral DECIMAL(65,0), money DECIMAL(10,2),
         one_digit DECIMAL(1,0), all_fraction DECIMAL(5,5), nine_nine DECIMAL(18,9),
         group_edge DECIMAL(19,10), unsigned_dec DECIMAL(20,4) UNSIGNED",
        "INSERT INTO t VALUES
          (1, 99999999999999999999999999999999999.999999999999999999999999999999,
              99999999999999999999999999999999999999999999999999999999999999999,
              99999999.99, 9, 0.99999, 999999999.999999999, 999999999.9999999999, 9999999999999999.9999),
          (2, -99999999999999999999999999999999999.999999999999999999999999999999,
              -99999999999999999999999999999999999999999999999999999999999999999,
              -99999999.99, -9, -0.99999, -999999999.999999999, -999999999.9999999999, 0),
          (3, 0, 0, 0, 0, 0, 0, 0, 0),
          (4, -0.000000000000000000000000000001, -1, -0.01, -0, 0.00001, 0.000000001, -0.0000000001, 0.0001),
          (5, 1.5, 10, 12.5, 1, 0.5, 100000000.1, 100000000, 1234567890123456.789),
          (6, 123456789012345678901234567890.123456789012345678901234567890, 12345678901234567890123456789012345678901234567890123456789012345,
              1000000, 5, 0.01, -1, 1, 1),
          (7, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);",
        7,
        &[(
            "widest integral money one_digit all_fraction nine_nine group_edge unsigned_dec",
            "CONCAT('str:', CAST({c} AS CHAR))",
        )],
    );
    // Spelled out: the scale is always there, zero has no sign.
    assert_eq!(after(&events[2], "money").as_str(), Some("0.00"));
    assert_eq!(after(&events[2], "integral").as_str(), Some("0"));
    assert_eq!(after(&events[3], "money").as_str(), Some("-0.01"));
    assert_eq!(after(&events[3], "one_digit").as_str(), Some("0"));
    assert_eq!(
        after(&events[3], "widest").as_str(),
        Some("-0.000000000000000000000000000001")
    );
}

#[test]
fn floats_and_doubles_keep_their_width_and_every_bit() {
    let events = check(
        "id INT PRIMARY KEY, f FLOAT, d DOUBLE, fu FLOAT UNSIGNED, dp DOUBLE(10,3)",
        "INSERT INTO t VALUES
          (1, 3.4028234e38, 1.7976931348623157e308, 3.4028234e38, 1234567.125),
          (2, -3.4028234e38, -1.7976931348623157e308, 0, -1234567.125),
          (3, 1.17549435e-38, 2.2250738585072014e-308, 1.17549435e-38, 0.001),
          (4, 1.401298e-45, 4.9406564584124654e-324, 1.401298e-45, -0.001),
          (5, 0.1, 0.1, 0.1, 0.1),
          (6, -0e0, -0e0, 0, 0),
          (7, 16777217, 9007199254740993, 16777216, 1e6),
          (8, NULL, NULL, NULL, NULL);",
        8,
        &[
            ("f", "CONCAT('f32:', CAST(f AS DOUBLE))"),
            ("d", "CONCAT('f64:', d)"),
            ("fu", "CONCAT('f32:', CAST(fu AS DOUBLE))"),
            ("dp", "CONCAT('f64:', dp + 0e0)"),
        ],
    );
    // float32 stays float32 on the wire.
    assert!(matches!(after(&events[0], "f"), rmpv::Value::F32(v) if *v == f32::MAX));
    assert!(matches!(after(&events[0], "d"), rmpv::Value::F64(v) if *v == f64::MAX));
    assert!(matches!(after(&events[3], "f"), rmpv::Value::F32(v) if v.to_bits() == 1));
    assert!(matches!(after(&events[3], "d"), rmpv::Value::F64(v) if v.to_bits() == 1));
    // MariaDB turned -0 into 0 before logging it.
    assert!(matches!(after(&events[5], "d"), rmpv::Value::F64(v) if v.to_bits() == 0));
}
