//! `format = "debezium-json"` end to end: MariaDB's binlog -> sluice ->
//! tansu, read back as JSON and checked against what Debezium's MySQL
//! connector documents for the same changes: the envelope, the key, the
//! values of each type, a primary-key change as delete + tombstone +
//! create, and a rule that keeps MessagePack beside it.

use serde_json::{json, Value};

use crate::sluice::{events, master_position, unique, Sluice};
use crate::support::{self, consume_all_blocking, Message, Rule, SluiceConfig, Step};

fn json_of(bytes: Option<&[u8]>) -> Option<Value> {
    bytes.map(|b| {
        serde_json::from_slice(b)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(b)))
    })
}

fn header<'a>(m: &'a Message, name: &str) -> Option<&'a str> {
    m.headers
        .iter()
        .find(|(k, _)| k == name)
        .and_then(|(_, v)| std::str::from_utf8(v.as_deref()?).ok())
}

#[test]
fn changes_arrive_as_debeziums_json_envelope_with_schemas() {
    let s = support::shared();
    let db = &s.mariadb;
    let brokers = s.tansu.brokers();
    let shop = unique("dbz");
    db.sql(&format!(
        "CREATE DATABASE {shop};
         CREATE TABLE {shop}.customers (
            id INT PRIMARY KEY, first_name VARCHAR(50) NOT NULL, price DECIMAL(10,2),
            born DATE NOT NULL, seen DATETIME(6), ts TIMESTAMP(3) NULL, kind ENUM('a','b','c'),
            tags SET('a','b','c'), flags BIT(10), yr YEAR, raw VARBINARY(8), big BIGINT UNSIGNED);
         CREATE TABLE {shop}.notes (msg TEXT);"
    ))
    .unwrap();
    let start = master_position(db);
    let dir = tempfile::tempdir().unwrap();
    let config = SluiceConfig::new(&db.url(), &brokers)
        .start(&start)
        .kafka("format", "debezium-json")
        .rule(Rule::tables(&[&format!("{shop}.customers")]).tombstones(true))
        .rule(Rule::tables(&[&format!("{shop}.notes")]).format("msgpack"))
        .raw("[kafka.debezium]\nschemas_enable = true\n");
    let prefix = config.prefix().unwrap().to_string();
    let mut sluice = Sluice::run(dir.path(), &config);

    db.sql(&format!(
        "SET time_zone = '+05:30', sql_mode = '';
         INSERT INTO {shop}.customers VALUES
            (1004, 'Anne', 12.50, '2018-06-20', '2018-06-20 06:37:03.123456', '2018-06-20 19:07:03.5',
             'b', 'a,c', b'1000000001', 2024, x'0001ff', 18446744073709551615),
            (1005, 'Bob', NULL, '0000-00-00', NULL, NULL, NULL, '', NULL, NULL, NULL, NULL);
         UPDATE {shop}.customers SET first_name = 'Anne Marie' WHERE id = 1004;
         UPDATE {shop}.customers SET id = 2005 WHERE id = 1005;
         DELETE FROM {shop}.customers WHERE id = 1004;
         INSERT INTO {shop}.notes VALUES ('no key');"
    ))
    .unwrap();

    // c, c, u, then the key change (d, tombstone, c), then d and its tombstone.
    let topic = sluice.topic(&format!("{shop}.customers"));
    assert_eq!(topic, format!("{prefix}.{shop}.customers"));
    let msgs = consume_all_blocking(&brokers, &topic, 8, std::time::Duration::from_secs(60));
    assert_eq!(msgs.len(), 8, "log:\n{}", sluice.log());
    let keys: Vec<Value> = msgs
        .iter()
        .map(|m| json_of(m.key.as_deref()).expect("every record has a key")["payload"].clone())
        .collect();
    let ids: Vec<i64> = keys.iter().map(|k| k["id"].as_i64().unwrap()).collect();
    assert_eq!(ids, [1004, 1005, 1004, 1005, 1005, 2005, 1004, 1004]);
    let values: Vec<Option<Value>> = msgs.iter().map(|m| json_of(m.payload.as_deref())).collect();
    let ops: Vec<&str> = values
        .iter()
        .map(|v| {
            v.as_ref()
                .map_or("tombstone", |v| v["payload"]["op"].as_str().unwrap())
        })
        .collect();
    assert_eq!(
        ops,
        ["c", "c", "u", "d", "tombstone", "c", "d", "tombstone"]
    );
    let headers: Vec<&str> = msgs.iter().map(|m| header(m, "op").unwrap()).collect();
    assert_eq!(headers, ["c", "c", "u", "d", "d", "c", "d", "d"]);

    // The key, schema and payload.
    let key = json_of(msgs[0].key.as_deref()).unwrap();
    assert_eq!(
        key["schema"],
        json!({"type": "struct", "fields": [{"type": "int32", "optional": false, "field": "id"}],
               "optional": false, "name": format!("{prefix}.{shop}.customers.Key")})
    );

    // The first insert, value by value (FORMAT.md, "Debezium JSON").
    let first = values[0].as_ref().unwrap();
    let p = &first["payload"];
    assert_eq!(p["before"], json!(null));
    assert_eq!(
        p["after"],
        json!({
            "id": 1004, "first_name": "Anne",
            "price": "BOI=",                      // 1250, scale 2
            "born": 17702,                        // days since 1970-01-01
            "seen": 1529476623123456i64,          // DATETIME(6): microseconds
            "ts": "2018-06-20T13:37:03.500Z",     // written at +05:30, in UTC
            "kind": "b", "tags": "a,c",
            "flags": "AQI=",                      // 0x201, little-endian
            "yr": 2024,
            "raw": "AAH/",
            "big": -1                             // BIGINT UNSIGNED as a long
        })
    );
    let source = &p["source"];
    assert_eq!(source["connector"], "mysql");
    assert_eq!(source["name"], prefix.as_str());
    assert_eq!(source["db"], shop.as_str());
    assert_eq!(source["table"], "customers");
    assert_eq!(source["snapshot"], "false");
    assert!(source["file"].as_str().unwrap().contains("bin"));
    assert!(source["pos"].as_u64().unwrap() > 0);
    assert!(source["gtid"].is_string(), "MariaDB logs a GTID: {source}");
    assert!(p["ts_ms"].as_u64().unwrap() >= source["ts_ms"].as_u64().unwrap());
    // The zero date of a NOT NULL column is the epoch, NULLs are null.
    let bob = &values[1].as_ref().unwrap()["payload"]["after"];
    assert_eq!(
        (bob["born"].clone(), bob["price"].clone()),
        (json!(0), json!(null))
    );
    assert_eq!(bob["tags"], "");

    // The envelope's schema names the table's types.
    let schema = &first["schema"];
    assert_eq!(
        schema["name"],
        format!("{prefix}.{shop}.customers.Envelope")
    );
    let after = &schema["fields"][1];
    assert_eq!(after["field"], "after");
    assert_eq!(after["name"], format!("{prefix}.{shop}.customers.Value"));
    let field = |name: &str| {
        after["fields"]
            .as_array()
            .unwrap()
            .iter()
            .find(|f| f["field"] == name)
            .unwrap_or_else(|| panic!("no field {name} in {after}"))
            .clone()
    };
    assert_eq!(
        field("price"),
        json!({"type": "bytes", "optional": true, "name": "org.apache.kafka.connect.data.Decimal",
               "version": 1, "parameters": {"scale": "2", "connect.decimal.precision": "10"}, "field": "price"})
    );
    assert_eq!(
        field("born"),
        json!({"type": "int32", "optional": false, "name": "io.debezium.time.Date", "version": 1, "field": "born"})
    );
    assert_eq!(field("seen")["name"], "io.debezium.time.MicroTimestamp");
    assert_eq!(field("ts")["name"], "io.debezium.time.ZonedTimestamp");
    assert_eq!(field("kind")["parameters"], json!({"allowed": "a,b,c"}));
    assert_eq!(field("tags")["name"], "io.debezium.data.EnumSet");
    assert_eq!(field("flags")["parameters"], json!({"length": "10"}));
    assert_eq!(field("yr")["name"], "io.debezium.time.Year");
    assert_eq!(
        field("first_name"),
        json!({"type": "string", "optional": false, "field": "first_name"})
    );

    // The update, and the primary-key change: delete of the old key, its
    // tombstone, create under the new key.
    let update = &values[2].as_ref().unwrap()["payload"];
    assert_eq!(
        (
            update["before"]["first_name"].clone(),
            update["after"]["first_name"].clone()
        ),
        (json!("Anne"), json!("Anne Marie"))
    );
    let moved_out = &values[3].as_ref().unwrap()["payload"];
    assert_eq!(
        (
            moved_out["before"]["id"].clone(),
            moved_out["after"].clone()
        ),
        (json!(1005), json!(null))
    );
    let moved_in = &values[5].as_ref().unwrap()["payload"];
    assert_eq!(
        (moved_in["before"].clone(), moved_in["after"]["id"].clone()),
        (json!(null), json!(2005))
    );

    // The rule that keeps MessagePack: a keyless table, Sluice's event.
    let notes = events(&brokers, &sluice.topic(&format!("{shop}.notes")), 1);
    assert_eq!(notes[0].value["v"], 1);
    assert_eq!(notes[0].value["after"]["msg"], "no key");
    assert_eq!(notes[0].key, None);
    sluice.stop();
}

/// Plugins see Sluice's MessagePack and the format is applied to what the
/// chain made: a dropped column is not in the JSON, the key is the one the
/// key plugin wrote (text, passed on as it is), and the tombstone after a
/// delete carries it too. Without schemas, values are the bare payload.
#[test]
fn the_format_is_applied_after_the_plugin_chain() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("dbzp");
    db.sql(&format!(
        "CREATE DATABASE {name};
         CREATE TABLE {name}.users (id INT PRIMARY KEY, email VARCHAR(50), status VARCHAR(10), joined DATE);"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = crate::plugins::plugin_dir(dir.path(), &["pii-mask", "key-columns"]);
    let config = SluiceConfig::from_now(db, &brokers)
        .plugins_dir(&plugins)
        .rule(
            Rule::tables(&[&format!("{name}.*")])
                .tombstones(true)
                .format("debezium-json")
                .plugins([
                    Step::new("pii-mask")
                        .set("columns", "email")
                        .set("mode", "drop"),
                    Step::new("key-columns").set("columns", "status,id"),
                ]),
        )
        .raw("[kafka.debezium]\nschemas_enable = false\n");
    let mut sluice = Sluice::run(&dir.path().join("run"), &config);
    db.sql(&format!(
        "INSERT INTO {name}.users VALUES (1, 'a@example.com', 'active', '2024-02-29');
         DELETE FROM {name}.users WHERE id = 1;"
    ))
    .unwrap();
    let topic = sluice.topic(&format!("{name}.users"));
    let msgs = consume_all_blocking(&brokers, &topic, 3, std::time::Duration::from_secs(60));
    assert_eq!(msgs.len(), 3, "log:\n{}", sluice.log());
    // key-columns writes the key as text: it goes out as the plugin wrote it.
    let keys: Vec<Option<&str>> = msgs.iter().map(Message::key_str).collect();
    assert_eq!(keys, [Some("active|1"); 3]);
    let insert = json_of(msgs[0].payload.as_deref()).unwrap();
    assert_eq!(insert["op"], "c");
    assert_eq!(
        insert["after"],
        json!({"id": 1, "status": "active", "joined": 19782}),
        "email dropped by the plugin; the date as Debezium's days"
    );
    let delete = json_of(msgs[1].payload.as_deref()).unwrap();
    assert_eq!(
        (delete["op"].clone(), delete["after"].clone()),
        (json!("d"), json!(null))
    );
    assert!(msgs[2].payload.is_none(), "a tombstone is a null value");
    sluice.stop();
}

/// Every type the type tests cover, from the real server, without schemas:
/// the default modes, then the others on the same binlog range.
#[test]
fn each_type_from_mariadb_maps_as_formatmd_says_in_each_mode() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("dbzt");
    db.sql(&format!(
        "CREATE DATABASE {name};
         CREATE TABLE {name}.t (
            id INT PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,
            mi MEDIUMINT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED, f FLOAT, d DOUBLE,
            dc DECIMAL(20,4), t6 TIME(6), t0 TIME, dt0 DATETIME, dt3 DATETIME(3), ts TIMESTAMP NULL,
            dz DATE NULL, y YEAR, y2 YEAR, c CHAR(5), vb VARBINARY(4), bn BINARY(4), bl BLOB,
            tx TEXT, e ENUM('a','b'), st SET('a','b','c'), b1 BIT(1), b64 BIT(64), j JSON,
            g GEOMETRY, ip INET6, u UUID);"
    ))
    .unwrap();
    let start = db.binlog_position();
    db.sql(&format!(
        "SET time_zone = '+00:00', sql_mode = '';
         INSERT INTO {name}.t VALUES (1, -128, 255, -32768, 65535, -8388608, 4294967295,
            -9223372036854775808, 18446744073709551615, 1.5, -2.25, -12345678901234.5678,
            '-838:59:59.000000', '12:00:00', '2018-06-20 06:37:03', '2018-06-20 06:37:03.123',
            '2018-06-20 13:37:03', '0000-00-00', 0, 2155, 'ab', x'00ff', x'01', x'',
            'é\"\\n', 'b', 'a,c', b'1', x'ffffffffffffffff', '{{\"a\": [1, 2]}}',
            ST_GeomFromText('POINT(1 2)', 4326), '::1', '123e4567-e89b-12d3-a456-426614174000');"
    ))
    .unwrap();
    let run = |tag: &str, modes: &str| {
        let dir = tempfile::tempdir().unwrap();
        let config = SluiceConfig::new(&db.url(), &brokers)
            .start(&start)
            .topic_prefix(Some(&unique(tag)))
            .rule(Rule::tables(&[&format!("{name}.t")]).format("debezium-json"))
            .raw(&format!("[kafka.debezium]\n{modes}"));
        let mut sluice = Sluice::run(dir.path(), &config);
        let topic = sluice.topic(&format!("{name}.t"));
        let msgs = consume_all_blocking(&brokers, &topic, 1, std::time::Duration::from_secs(60));
        assert_eq!(msgs.len(), 1, "log:\n{}", sluice.log());
        sluice.stop();
        json_of(msgs[0].payload.as_deref()).unwrap()["after"].clone()
    };

    let after = run("dbzd", "");
    assert_eq!(
        after,
        json!({
            "id": 1, "ti": -128, "tu": 255, "si": -32768, "su": 65535, "mi": -8388608,
            "iu": 4294967295u64, "bi": i64::MIN, "bu": -1, "f": 1.5, "d": -2.25,
            "dc": "/klktFnPDLI=",                   // -123456789012345678 at scale 4
            "t6": -3020399000000i64, "t0": 43200000000i64,
            "dt0": 1529476623000i64, "dt3": 1529476623123i64,
            "ts": "2018-06-20T13:37:03Z",
            "dz": null,                             // a zero date in a nullable column
            "y": 1900, "y2": 2155,                  // the zero year reads as 1900
            "c": "ab", "vb": "AP8=", "bn": "AQAAAA==", "bl": "", "tx": "é\"\n",
            "e": "b", "st": "a,c", "b1": true, "b64": "//////////8=",
            "j": "{\"a\": [1, 2]}",                  // MariaDB's JSON is text
            "g": {"wkb": "AQEAAAAAAAAAAADwPwAAAAAAAABA", "srid": 4326},
            "ip": "AAAAAAAAAAAAAAAAAAAAAQ==", "u": "Ej5FZ+ibEtOkVkJmFBdAAA=="
        })
    );

    let after = run(
        "dbzm",
        "decimal_handling_mode = \"string\"\ntime_precision_mode = \"connect\"\n\
         bigint_unsigned_handling_mode = \"precise\"\nbinary_handling_mode = \"hex\"\n",
    );
    assert_eq!(after["dc"], "-12345678901234.5678");
    assert_eq!(after["t0"], 43200000, "Kafka Connect's Time: milliseconds");
    assert_eq!(after["dt3"], 1529476623123i64);
    assert_eq!(after["bu"], "AP//////////", "Decimal(20, 0) bytes");
    assert_eq!(
        (after["vb"].clone(), after["bn"].clone()),
        (json!("00ff"), json!("01000000"))
    );
    assert_eq!(after["ip"], "00000000000000000000000000000001");
    assert_eq!(
        after["g"]["wkb"], "AQEAAAAAAAAAAADwPwAAAAAAAABA",
        "WKB stays bytes"
    );
    let after = run("dbzf", "decimal_handling_mode = \"double\"\n");
    // A double: the nearest one to the decimal, digits beyond it lost.
    let nearest: f64 = "-12345678901234.5678".parse().unwrap();
    assert_eq!(after["dc"].as_f64(), Some(nearest));
}
