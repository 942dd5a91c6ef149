//! MariaDB's JSON (a LONGTEXT that must hold valid JSON) arrives as the text
//! the server stores; GEOMETRY as bin in the server's internal form (4-byte
//! little-endian SRID, then WKB), exactly what `HEX(g)` shows; generated
//! columns, stored and virtual, and INVISIBLE columns as ordinary columns
//! (MariaDB writes the computed value of a VIRTUAL column into the row
//! image).
//! (MySQL's binary JSON is covered by the decoder's fixture tests.)

use crate::types_support::{after, before, check};

#[test]
fn json_is_text_and_geometry_is_srid_plus_wkb() {
    let events = check(
        "id INT PRIMARY KEY, j JSON, g GEOMETRY, name VARCHAR(20) CHARACTER SET latin1,
         p POINT, ls LINESTRING, poly POLYGON, note TEXT CHARACTER SET cp1251, gc GEOMETRYCOLLECTION",
        "INSERT INTO t VALUES
          (1, '{\"a\": 1, \"b\": [true, null, 1.5e300], \"ü\": \"😀\"}', ST_GeomFromText('POINT(1 2)', 4326), 'Zürich €',
              ST_GeomFromText('POINT(-1.5 2.25)'), ST_GeomFromText('LINESTRING(0 0, 1 1, 2 0)', 3857),
              ST_GeomFromText('POLYGON((0 0, 4 0, 4 4, 0 4, 0 0), (1 1, 2 1, 2 2, 1 1))'), 'щука',
              ST_GeomFromText('GEOMETRYCOLLECTION(POINT(1 1), LINESTRING(0 0, 1 1))')),
          (2, '[]', ST_GeomFromText('POLYGON((0 0, 1 0, 0 1, 0 0))'), '', ST_GeomFromText('POINT(0 0)'), NULL, NULL, '', NULL),
          (3, 'null', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
          (4, '\"just a string\"', NULL, 'x', NULL, NULL, NULL, 'x', NULL),
          (5, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);",
        5,
        &[
            ("j", "CONCAT('str:', j)"),
            ("g p ls poly gc", "CONCAT('bin:', HEX({c}))"),
            ("name note", "CONCAT('str:', CONVERT({c} USING utf8mb4))"),
        ],
    );
    // POINT(1 2) with SRID 4326: SRID little-endian, then WKB (byte order 1,
    // type 1, x, y as little-endian doubles).
    let g = after(&events[0], "g").as_slice().unwrap();
    assert_eq!(&g[..4], &4326u32.to_le_bytes());
    assert_eq!(&g[4..9], &[1, 1, 0, 0, 0]);
    assert_eq!(&g[9..17], &1f64.to_le_bytes());
    assert_eq!(&g[17..25], &2f64.to_le_bytes());
    assert_eq!(after(&events[0], "name").as_str(), Some("Zürich €"));
    assert_eq!(after(&events[2], "j").as_str(), Some("null"));
}

#[test]
fn generated_and_invisible_columns_are_ordinary_columns() {
    let events = check(
        "id INT PRIMARY KEY, a INT, hidden INT INVISIBLE DEFAULT 7,
         stored_sum INT AS (a + id) STORED, virtual_double INT AS (a * 2) VIRTUAL,
         label VARCHAR(30) AS (CONCAT('row ', id)) VIRTUAL, tail VARCHAR(10)",
        "INSERT INTO t (id, a, tail) VALUES (1, 10, 'x'), (2, NULL, 'y');
         INSERT INTO t (id, a, hidden, tail) VALUES (3, -5, 70, 'z');
         UPDATE t SET a = a + 1 WHERE id = 1;",
        4,
        &[
            ("a hidden stored_sum virtual_double", "CONCAT('int:', {c})"),
            ("label tail", "CONCAT('str:', {c})"),
        ],
    );
    // MariaDB (binlog_row_image=FULL) computes virtual columns into the row
    // image, before and after; MySQL leaves them out unless
    // binlog_row_value_options / row image settings include them (the
    // fixture rpl_unfiltered_hidden_gcol covers that side).
    let update = &events[3];
    assert_eq!(before(update, "virtual_double").as_i64(), Some(20));
    assert_eq!(after(update, "virtual_double").as_i64(), Some(22));
    // INVISIBLE columns are columns like the others in the binlog.
    assert_eq!(after(&events[0], "hidden").as_i64(), Some(7));
}
