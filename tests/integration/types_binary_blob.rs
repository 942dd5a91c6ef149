//! Binary columns arrive as MessagePack bin: BINARY(n) padded back to its n
//! bytes with zeros (the binlog drops trailing zeros, SELECT shows them),
//! VARBINARY and the BLOB family byte for byte, up to a value larger than
//! the 16 MB protocol packet.

use std::time::Duration;

use crate::support::{MariaDb, MariaDbOptions};
use crate::types_support::{after, check, hex, TypeTable};

#[test]
fn binary_values_are_bytes_with_binary_n_padded_back() {
    let all = (0..=255u8).map(|b| format!("{b:02X}")).collect::<String>();
    // 0x00..0xFE: 255 bytes, the most BINARY(255) and TINYBLOB hold.
    let no_ff = &all[..510];
    let events = check(
        "id INT PRIMARY KEY, b1 BINARY(1), b8 BINARY(8), b255 BINARY(255), vb VARBINARY(20),
         vb_long VARBINARY(1000), tb TINYBLOB, bl BLOB, mb MEDIUMBLOB, lb LONGBLOB",
        &format!(
            "INSERT INTO t VALUES
          (1, 'a', 'abc', 'abc', 'abc', 'abc', 'abc', 'abc', 'abc', 'abc'),
          (2, '', '', '', '', '', '', '', '', ''),
          (3, X'00', X'0000000000000000', X'00', X'0000', X'00', X'00', X'00', X'00', X'00'),
          (4, X'FF', X'01020300000000FF', X'0100', X'AB000000', X'00FF00', X'FF00', X'00FF', X'FF00', X'FF00'),
          (5, X'80', X'6162630000', UNHEX('{no_ff}'), X'00', UNHEX('{all}{all}'), UNHEX('{no_ff}'), UNHEX(REPEAT('{all}', 200)),
              UNHEX(REPEAT('{all}', 300)), UNHEX(REPEAT('{all}', 1000))),
          (6, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL);"
        ),
        6,
        &[(
            "b1 b8 b255 vb vb_long tb bl mb lb",
            "CONCAT('bin:', HEX({c}))",
        )],
    );
    // Spelled out: BINARY(8) 'abc' is abc and five zeros, as SELECT shows.
    assert_eq!(
        after(&events[0], "b8").as_slice(),
        Some(&b"abc\0\0\0\0\0"[..])
    );
    assert_eq!(after(&events[1], "b8").as_slice(), Some(&[0u8; 8][..]));
    assert_eq!(after(&events[1], "vb").as_slice(), Some(&b""[..]));
    assert_eq!(after(&events[2], "vb").as_slice(), Some(&[0u8, 0][..]));
}

/// A LONGBLOB bigger than one 16 MB packet of the replication protocol, on
/// a server of its own: every sluice streaming the shared server would have
/// to produce this row, and Kafka's default message size (1 MB) refuses it.
#[test]
fn a_blob_larger_than_16_mb_arrives_whole() {
    let t = TypeTable::create_on(
        MariaDb::start(MariaDbOptions::default()).unwrap(),
        "id INT PRIMARY KEY, lb LONGBLOB, lt LONGTEXT CHARACTER SET utf8mb4",
        "",
        |c| c.producer("message.max.bytes", 100_000_000),
    );
    // The value is built on the server (REPEAT), so the statement stays small;
    // the server's max_allowed_packet (1G in the test config) bounds it.
    const REPS: usize = 4_400_000; // x 4 bytes = 17.6 MB
    t.write(&format!(
        "INSERT INTO t VALUES (1, REPEAT(X'00FF7F80', {REPS}), REPEAT('é', 10)),
                                   (2, X'01', REPEAT('€', 6000000))"
    ));
    let ev = t.events_within(2, Duration::from_secs(120));
    let lb = after(&ev[0], "lb").as_slice().expect("bin");
    let server_len: usize = t.select(&["LENGTH(lb)"])[0][0].parse().unwrap();
    assert_eq!(lb.len(), server_len);
    assert_eq!(lb.len(), 4 * REPS);
    assert!(lb.chunks(4).all(|c| c == [0x00, 0xff, 0x7f, 0x80]));
    let lt = after(&ev[1], "lt").as_str().expect("str");
    assert_eq!(lt.len(), 18_000_000);
    assert!(lt.chars().all(|c| c == '€'));
    assert_eq!(hex(after(&ev[1], "lb").as_slice().unwrap()), "01");
    t.stop();
}

/// MariaDB's INET4, INET6 and UUID types are logged as fixed-size binary
/// strings: they arrive as bin (4 or 16 bytes), not as their text form.
#[test]
fn mariadb_inet_and_uuid_types_are_their_stored_bytes() {
    let events = check(
        "id INT PRIMARY KEY, v4 INET4, v6 INET6, u UUID",
        "INSERT INTO t VALUES
          (1, '192.168.0.1', '2001:db8::ff00:42:8329', '123e4567-e89b-12d3-a456-426655440000'),
          (2, '0.0.0.0', '::', '00000000-0000-0000-0000-000000000000'),
          (3, '255.255.255.255', '::ffff:1.2.3.4', 'ffffffff-ffff-ffff-ffff-ffffffffffff'),
          (4, NULL, NULL, NULL)",
        4,
        // The bytes are the binary form CAST(... AS BINARY) gives: addresses
        // in network order, the UUID in its text order.
        &[
            ("v4", "CONCAT('bin:', HEX(CAST(v4 AS BINARY(4))))"),
            ("v6", "CONCAT('bin:', HEX(CAST(v6 AS BINARY(16))))"),
            ("u", "CONCAT('bin:', HEX(CAST(u AS BINARY(16))))"),
        ],
    );
    assert_eq!(hex(after(&events[0], "v4").as_slice().unwrap()), "C0A80001");
}

/// MariaDB with `log_bin_compress=ON` compresses rows events of 256 bytes
/// and more (WRITE_ROWS_COMPRESSED_EVENT_V1 ...). Sluice does not decode
/// them yet; it must stop with an error that says so rather than skip them.
#[test]
fn compressed_mariadb_rows_events_are_not_skipped() {
    let mut t = TypeTable::create_on(
        MariaDb::start(MariaDbOptions::with_args(["--log-bin-compress=ON"])).unwrap(),
        "id INT PRIMARY KEY, v TEXT",
        "",
        |c| c,
    );
    t.write(
        "INSERT INTO t VALUES (1, 'small');
         INSERT INTO t VALUES (2, REPEAT('compressible ', 100));
         INSERT INTO t VALUES (3, 'after');",
    );
    let code = t.sluice.wait_exit(Duration::from_secs(60));
    assert!(matches!(code, Some(c) if c != 0), "exit {code:?}");
    let log = t.sluice.log();
    assert!(log.contains("log_bin_compress"), "{log}");
    let msgs = t.messages(1, Duration::from_secs(10));
    // Nothing from the compressed event on. The small row before it is sent
    // only if it was flushed before the pipeline stopped (it is in the same
    // read chunk or not, by timing); the checkpoint keeps it either way.
    let ids: Vec<_> = msgs
        .iter()
        .map(|m| crate::sluice::Event::from_message(m).value["after"]["id"].clone())
        .collect();
    assert!(ids.is_empty() || ids == [serde_json::json!(1)], "{ids:?}");
}
