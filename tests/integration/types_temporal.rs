//! Dates and times arrive as the strings the server would print, with
//! exactly the column's fraction digits:
//!
//! - DATE `"YYYY-MM-DD"`, DATETIME(f) `"YYYY-MM-DD HH:MM:SS[.f]"`, zero and
//!   partial-zero dates exactly as stored (`"0000-00-00"`, `"2024-00-15"`);
//! - TIME(f) `"[-]HH:MM:SS[.f]"` over -838:59:59..838:59:59, with the sign
//!   kept on negative values that have fractions only (`"-00:00:00.5"`);
//! - TIMESTAMP(f) `"YYYY-MM-DDTHH:MM:SS[.f]Z"` in UTC, whatever the writer
//!   session's time_zone; the zero TIMESTAMP is `"0000-00-00T00:00:00Z"`;
//! - YEAR an int, `0` for the zero year.
//!
//! Writers use `sql_mode=''` so that zero dates are accepted.

use crate::support::{MariaDb, MariaDbOptions};
use crate::types_support::{after, check, TypeTable};

/// The tagged text of a DATE, DATETIME or TIME column `{c}`.
const AS_CHAR: &str = "CONCAT('str:', CAST({c} AS CHAR))";

#[test]
fn time_keeps_its_sign_and_fraction_digits_over_the_whole_range() {
    let values = [
        "838:59:59",
        "-838:59:59",
        "00:00:00",
        "-00:00:00.000001",
        "-00:00:00.5",
        "-00:00:01.25",
        "-12:34:56.789012",
        "12:34:56.789012",
        "-1:00:00.1",
        "100:00:00.05",
        "-99:59:59.99999",
        "-838:59:58.999999",
        "00:00:00.000001",
    ];
    let mut sql = String::from("SET sql_mode = ''; INSERT INTO t VALUES ");
    for (i, v) in values.iter().enumerate() {
        sql += &format!("({i}, '{v}', '{v}', '{v}', '{v}', '{v}', '{v}', '{v}'),");
    }
    sql += "(99, NULL, NULL, NULL, NULL, NULL, NULL, NULL);";
    let events = check(
        "id INT PRIMARY KEY, t0 TIME, t1 TIME(1), t2 TIME(2), t3 TIME(3), t4 TIME(4), t5 TIME(5), t6 TIME(6)",
        &sql,
        values.len() + 1,
        &[("t0 t1 t2 t3 t4 t5 t6", AS_CHAR)],
    );
    // Spelled out.
    assert_eq!(after(&events[1], "t0").as_str(), Some("-838:59:59"));
    assert_eq!(after(&events[4], "t1").as_str(), Some("-00:00:00.5"));
    assert_eq!(after(&events[6], "t6").as_str(), Some("-12:34:56.789012"));
}

#[test]
fn dates_and_datetimes_come_out_as_stored_zero_dates_included() {
    let values = [
        ("1000-01-01", "1000-01-01 00:00:00"),
        ("9999-12-31", "9999-12-31 23:59:59.999999"),
        ("0000-00-00", "0000-00-00 00:00:00"),
        ("2024-00-15", "2024-00-15 10:11:12.5"),
        ("2024-02-00", "2024-02-00 00:00:00.000001"),
        ("0000-01-01", "0000-00-00 23:59:59.999"),
        ("2024-02-29", "2024-02-29 12:34:56.123456"),
        ("0001-01-01", "0001-01-01 00:00:01"),
    ];
    let mut sql = String::from("SET sql_mode = ''; INSERT INTO t VALUES ");
    for (i, (d, dt)) in values.iter().enumerate() {
        sql += &format!("({i}, '{d}', '{dt}', '{dt}', '{dt}', '{dt}', '{dt}', '{dt}', '{dt}'),");
    }
    sql += "(99, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);";
    let events = check(
        "id INT PRIMARY KEY, d DATE, dt0 DATETIME, dt1 DATETIME(1), dt2 DATETIME(2), dt3 DATETIME(3),
         dt4 DATETIME(4), dt5 DATETIME(5), dt6 DATETIME(6)",
        &sql,
        values.len() + 1,
        &[("d dt0 dt1 dt2 dt3 dt4 dt5 dt6", AS_CHAR)],
    );
    assert_eq!(after(&events[2], "d").as_str(), Some("0000-00-00"));
    assert_eq!(after(&events[3], "d").as_str(), Some("2024-00-15"));
    assert_eq!(
        after(&events[2], "dt6").as_str(),
        Some("0000-00-00 00:00:00.000000")
    );
}

#[test]
fn timestamps_are_utc_whatever_the_writers_time_zone() {
    let events = check(
        "id INT PRIMARY KEY, ts0 TIMESTAMP NULL, ts1 TIMESTAMP(1) NULL, ts3 TIMESTAMP(3) NULL, ts6 TIMESTAMP(6) NULL,
         ts2 TIMESTAMP(2) NULL, ts4 TIMESTAMP(4) NULL, ts5 TIMESTAMP(5) NULL",
        "SET sql_mode = '';
         SET time_zone = '+05:30';
         INSERT INTO t (id, ts0, ts1, ts3, ts6) VALUES
          (1, '1970-01-01 05:30:01', '1970-01-01 05:30:01.1', '1970-01-01 05:30:01.001', '1970-01-01 05:30:01.000001'),
          (2, '2038-01-19 08:44:07', '2038-01-19 08:44:07.9', '2038-01-19 08:44:07.999', '2038-01-19 08:44:07.999999'),
          (3, '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00 00:00:00'),
          (4, '2024-03-01 05:29:59', '2024-03-01 05:29:59.5', '2024-03-01 05:29:59.5', '2024-03-01 05:29:59.5');
         SET time_zone = '-08:00';
         INSERT INTO t (id, ts0, ts1, ts3, ts6) VALUES
          (5, '2023-12-31 16:00:00', '2023-12-31 16:00:00.3', '2023-12-31 16:00:00.123', '2023-12-31 16:00:00.654321'),
          (6, NULL, NULL, NULL, NULL);
         SET time_zone = '+00:00';
         INSERT INTO t (id, ts0, ts1, ts3, ts6) VALUES (7, '2000-02-29 00:00:00', '2000-02-29 00:00:00', '2000-02-29 00:00:00', '2000-02-29 00:00:00');
         -- The other precisions, in update events (row 6 stays NULL: not logged).
         SET time_zone = '+09:00';
         UPDATE t SET ts2 = ts6, ts4 = ts6, ts5 = ts6;",
        13,
        // The comparison SELECT runs with time_zone '+00:00'.
        &[(
            "ts0 ts1 ts2 ts3 ts4 ts5 ts6",
            "CONCAT('str:', REPLACE(CAST({c} AS CHAR), ' ', 'T'), 'Z')",
        )],
    );
    assert_eq!(
        after(&events[0], "ts6").as_str(),
        Some("1970-01-01T00:00:01.000001Z")
    );
    assert_eq!(
        after(&events[1], "ts0").as_str(),
        Some("2038-01-19T03:14:07Z")
    );
    assert_eq!(
        after(&events[2], "ts3").as_str(),
        Some("0000-00-00T00:00:00.000Z")
    );
    assert_eq!(
        after(&events[3], "ts1").as_str(),
        Some("2024-02-29T23:59:59.5Z")
    );
    assert_eq!(
        after(&events[4], "ts0").as_str(),
        Some("2024-01-01T00:00:00Z")
    );
}

#[test]
fn year_is_an_integer() {
    let events = check(
        "id INT PRIMARY KEY, y YEAR",
        "SET sql_mode = '';
         INSERT INTO t VALUES (1, 1901), (2, 2155), (3, 0), (4, '0'), (5, 70), (6, '69'), (7, 2024), (8, NULL);",
        8,
        &[("y", "CONCAT('int:', y + 0)")],
    );
    assert_eq!(after(&events[2], "y").as_u64(), Some(0));
    assert_eq!(after(&events[3], "y").as_u64(), Some(2000));
}

/// Tables created while `mysql56_temporal_format` is OFF (the default before
/// MariaDB 10.1, still found on upgraded servers) keep the pre-5.6
/// encodings: TIME as a 3-byte HHMMSS number, DATETIME as an 8-byte
/// YYYYMMDDhhmmss number, TIMESTAMP as 4 little-endian bytes. Those decode
/// exactly. (Such columns *with* fractions use MariaDB 5.3's own encodings,
/// whose width the table map does not give: see docs/FORMAT.md.) A server
/// of its own: the setting is global.
#[test]
fn mariadb_pre_10_1_temporal_formats_decode_the_same() {
    let t = TypeTable::create_on(
        MariaDb::start(MariaDbOptions::with_args(["--mysql56-temporal-format=OFF"])).unwrap(),
        "id INT PRIMARY KEY,
           t0 TIME, dt0 DATETIME, ts0 TIMESTAMP NULL, d DATE, tail VARCHAR(5)",
        "",
        |c| c,
    );
    t.write(
        "SET sql_mode = ''; SET time_zone = '+02:00'; INSERT INTO t VALUES
          (1, '838:59:59', '9999-12-31 23:59:59', '2038-01-19 05:14:07', '9999-12-31', 'a'),
          (2, '-838:59:59', '0000-00-00 00:00:00', '0000-00-00 00:00:00', '0000-00-00', 'b'),
          (3, '-00:00:01', '2024-00-15 10:11:12', '1970-01-01 02:00:01', '2024-02-00', 'c'),
          (4, '-12:34:56', '1000-01-01 00:00:00', NULL, NULL, NULL)",
    );
    let events = t.events_within(4, std::time::Duration::from_secs(60));
    // The server's text in a +00:00 session, NULL as NULL.
    let server = t.select(&[
        "CAST(t0 AS CHAR)",
        "CAST(dt0 AS CHAR)",
        "IFNULL(CONCAT(REPLACE(CAST(ts0 AS CHAR), ' ', 'T'), 'Z'), 'NULL')",
        "IFNULL(CAST(d AS CHAR), 'NULL')",
        "IFNULL(tail, 'NULL')",
    ]);
    let got: Vec<Vec<String>> = events
        .iter()
        .map(|v| {
            ["t0", "dt0", "ts0", "d", "tail"]
                .iter()
                .map(|c| match after(v, c) {
                    rmpv::Value::Nil => "NULL".to_string(),
                    x => x.as_str().unwrap_or("(not a string)").to_string(),
                })
                .collect()
        })
        .collect();
    assert_eq!(got, server);
    t.stop();
}
