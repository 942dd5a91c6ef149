//! Heartbeats, transaction markers and JSON logs, against a real server
//! and broker.

use std::collections::BTreeMap;

use serde_json::{json, Value};

use crate::sluice::{events, unique, Event, Sluice, PATIENCE};
use crate::support::{self, next_server_id, poll_until, Rule, SluiceConfig, Step};

/// `(file, pos)` of a `source` map, ordered as the binlog is.
fn at(source: &Value) -> (String, u64) {
    (
        source["file"].as_str().expect("file").to_owned(),
        source["pos"].as_u64().expect("pos"),
    )
}

#[test]
fn heartbeats_come_at_the_interval_and_follow_the_source() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("hb");
    let topic = unique("heartbeat");
    let server_id = next_server_id();
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.t (id INT PRIMARY KEY)"
    ))
    .unwrap();
    let config = SluiceConfig::from_now(db, &brokers)
        .server_id(server_id)
        .source("heartbeat_secs", 1)
        .kafka("heartbeat_topic", topic.as_str())
        .kafka("heartbeat_interval_secs", 1)
        .rule(Rule::tables(&[&format!("{name}.*")]));
    let dir = tempfile::tempdir().unwrap();
    // `sluice check` says where heartbeats go (before `run`, which would
    // hold the replica id).
    let path = dir.path().join("check.toml");
    config.write(&path);
    let out = crate::sluice::command("check", &path, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        stdout.contains(&format!("markers  a heartbeat every 1 s to topic {topic}")),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut sluice = Sluice::run(dir.path(), &config);

    // Nothing this test captures is written: heartbeats come anyway.
    let first = events(&brokers, &topic, 4);
    assert!(
        first.len() >= 4,
        "{} heartbeats\n{}",
        first.len(),
        sluice.log()
    );
    for e in &first {
        assert_eq!(e.value["v"], 1);
        assert_eq!(e.value["type"], "heartbeat");
        assert_eq!(e.key, Some(json!({"server_id": server_id})));
        assert_eq!(e.value["source"]["server_id"], server_id);
        assert_eq!(e.header("op"), Some("heartbeat"));
        assert_eq!(e.header("db"), None, "a heartbeat belongs to no table");
        assert!(e.value["ts_ms"].as_u64().unwrap() > 1_600_000_000_000);
    }
    // Sent by Sluice's clock, one interval apart at least (the clock the
    // interval is measured with is not the one `ts_ms` reads: a little
    // slack), and not bunched: four took at least three intervals.
    let sent: Vec<u64> = first
        .iter()
        .map(|e| e.value["ts_ms"].as_u64().unwrap())
        .collect();
    assert!(sent.windows(2).all(|w| w[1] >= w[0] + 950), "{sent:?}");
    assert!(sent[3] - sent[0] >= 2850, "{sent:?}");

    // A write moves the position heartbeats report past it, with the
    // server's time of the write.
    db.sql(&format!("INSERT INTO {name}.t VALUES (1)")).unwrap();
    let written = db.binlog_position();
    let (file, pos) = written.rsplit_once(':').unwrap();
    let written = (file.to_owned(), pos.parse::<u64>().unwrap());
    let mut later: Vec<Event> = Vec::new();
    poll_until(PATIENCE, || {
        later = events(&brokers, &topic, first.len() + 2)
            .into_iter()
            .filter(|e| at(&e.value["source"]) >= written)
            .collect();
        !later.is_empty()
    });
    let hb = later
        .first()
        .unwrap_or_else(|| panic!("no heartbeat reached {written:?}\n{}", sluice.log()));
    assert!(at(&hb.value["source"]) > at(&first[0].value["source"]));
    let server_ts = hb.value["source"]["ts_ms"].as_u64().unwrap();
    assert!(
        server_ts > 1_600_000_000_000 && server_ts <= hb.value["ts_ms"].as_u64().unwrap() + 1000,
        "{}",
        hb.value
    );
    // `sluice tail` prints them as JSON.
    let tail = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "tail",
            "--brokers",
            &brokers,
            "--topic",
            &topic,
            "--count",
            "1",
        ])
        .output()
        .unwrap();
    let line = String::from_utf8_lossy(&tail.stdout);
    let printed: Value = serde_json::from_str(line.trim())
        .unwrap_or_else(|e| panic!("{e}: {line}{}", String::from_utf8_lossy(&tail.stderr)));
    assert_eq!(printed["value"], first[0].value, "{printed}");
    assert_eq!(printed["key"], json!({"server_id": server_id}));
    // Heartbeats go through the tracker: the checkpoint still catches up.
    sluice.wait_caught_up(db);
    sluice.stop();
}

#[test]
fn transactions_get_begin_and_end_records_counting_what_was_produced() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("txm");
    let topic = unique("transactions");
    db.sql(&format!(
        "CREATE DATABASE {name};
         CREATE TABLE {name}.a (id INT PRIMARY KEY, v INT);
         CREATE TABLE {name}.b (id INT PRIMARY KEY, v INT);
         CREATE TABLE {name}.skip (id INT PRIMARY KEY)"
    ))
    .unwrap();
    // Deletes are not captured, nor is `skip`, and a plugin drops rows
    // whose `v` is not one of a few.
    let dir = tempfile::tempdir().unwrap();
    let plugins = crate::plugins::plugin_dir(dir.path(), &["row-filter"]);
    let config = SluiceConfig::from_now(db, &brokers)
        .kafka("transaction_topic", topic.as_str())
        .plugins_dir(&plugins)
        .rule(
            Rule::tables(&[&format!("{name}.a"), &format!("{name}.b")])
                .ops(&["insert", "update"])
                .plugins([Step::new("row-filter")
                    .set("column", "v")
                    .set("equals", "1,2,3,10")]),
        );
    let mut sluice = Sluice::run(dir.path(), &config);
    sluice.wait_for_log("starting from [source] start", 1);
    db.sql(&format!(
        "BEGIN; INSERT INTO {name}.a VALUES (1, 1), (2, 2); INSERT INTO {name}.b VALUES (1, 1); COMMIT;
         BEGIN; UPDATE {name}.a SET v = 10 WHERE id = 1; INSERT INTO {name}.b VALUES (2, 2);
                DELETE FROM {name}.b WHERE id = 1; INSERT INTO {name}.a VALUES (5, 98); COMMIT;
         BEGIN; INSERT INTO {name}.skip VALUES (1); DELETE FROM {name}.a WHERE id = 2; COMMIT;
         BEGIN; INSERT INTO {name}.a VALUES (4, 99); INSERT INTO {name}.b VALUES (3, 99); COMMIT;
         INSERT INTO {name}.a VALUES (3, 3);"
    ))
    .unwrap();
    sluice.wait_caught_up(db);

    // Three transactions produced changes. The one that only deleted and
    // wrote to `skip`, and the one whose rows the plugin dropped, produced
    // none and have no markers.
    let markers = events(&brokers, &topic, 6);
    let statuses: Vec<&str> = markers
        .iter()
        .map(|e| e.value["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        statuses,
        ["BEGIN", "END", "BEGIN", "END", "BEGIN", "END"],
        "{}",
        sluice.log()
    );
    let mut data: Vec<Event> = events(&brokers, &sluice.topic(&format!("{name}.a")), 4);
    data.extend(events(&brokers, &sluice.topic(&format!("{name}.b")), 2));
    assert_eq!(data.len(), 6);
    // What the data topics hold, per transaction (file, pos) and table.
    let mut produced: BTreeMap<(String, u64), BTreeMap<String, u64>> = BTreeMap::new();
    let mut gtids: BTreeMap<(String, u64), Value> = BTreeMap::new();
    for e in &data {
        let src = &e.value["source"];
        *produced
            .entry(at(src))
            .or_default()
            .entry(src["table"].as_str().unwrap().to_owned())
            .or_default() += 1;
        gtids.insert(at(src), src["gtid"].clone());
    }
    assert_eq!(produced.len(), 3, "{produced:?}");
    let mut seen = Vec::new();
    for pair in markers.chunks(2) {
        let (begin, end) = (&pair[0].value, &pair[1].value);
        assert_eq!(begin["type"], "transaction");
        assert_eq!((begin["v"].clone(), end["v"].clone()), (json!(1), json!(1)));
        assert_eq!(begin["id"], end["id"], "BEGIN and END of one transaction");
        assert_eq!(begin["source"], end["source"]);
        let txn = at(&begin["source"]);
        assert_eq!(begin["id"], format!("{}:{}", txn.0, txn.1));
        assert_eq!(begin["event_count"], Value::Null);
        assert_eq!(gtids[&txn], begin["source"]["gtid"], "the changes' GTID");
        assert!(begin["source"]["gtid"].is_string(), "MariaDB logs GTIDs");
        let counts: BTreeMap<String, u64> = end["data_collections"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| {
                assert_eq!(c["db"], json!(name));
                (
                    c["table"].as_str().unwrap().to_owned(),
                    c["event_count"].as_u64().unwrap(),
                )
            })
            .collect();
        assert_eq!(counts, produced[&txn], "END of {txn:?}");
        assert_eq!(end["event_count"], counts.values().sum::<u64>());
        assert_eq!(pair[0].header("op"), Some("transaction"));
        seen.push((txn, end["event_count"].as_u64().unwrap()));
    }
    // In binlog order, with the counts the rules, ops and plugin leave.
    let counts: Vec<u64> = seen.iter().map(|(_, n)| *n).collect();
    assert_eq!(counts, [3, 2, 1]);
    assert!(seen.windows(2).all(|w| w[0].0 < w[1].0));
    sluice.stop();
}

#[test]
fn a_replayed_transaction_gets_its_markers_again() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("txr");
    let topic = unique("transactions");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.a (id INT PRIMARY KEY)"
    ))
    .unwrap();
    // The checkpoint is not written while running: a kill -9 replays
    // everything from the start.
    let config = SluiceConfig::from_now(db, &brokers)
        .state("checkpoint_interval_ms", 3_600_000)
        .kafka("transaction_topic", topic.as_str())
        .rule(Rule::tables(&[&format!("{name}.*")]));
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(dir.path(), &config);
    sluice.wait_for_log("starting from [source] start", 1);
    db.sql(&format!(
        "BEGIN; INSERT INTO {name}.a VALUES (1), (2); COMMIT"
    ))
    .unwrap();
    let first = events(&brokers, &topic, 2);
    assert_eq!(first.len(), 2, "{}", sluice.log());
    sluice.kill9();
    sluice.restart();
    let both = events(&brokers, &topic, 4);
    let seen: Vec<(String, String, Value)> = both
        .iter()
        .map(|e| {
            (
                e.value["status"].as_str().unwrap().to_owned(),
                e.value["id"].as_str().unwrap().to_owned(),
                e.value["event_count"].clone(),
            )
        })
        .collect();
    let id = first[0].value["id"].as_str().unwrap().to_owned();
    let once = [
        ("BEGIN".to_owned(), id.clone(), Value::Null),
        ("END".to_owned(), id, json!(2)),
    ];
    assert_eq!(seen, [once.clone(), once].concat(), "{}", sluice.log());
    sluice.stop();
}

#[test]
fn json_logs_are_one_object_per_line_with_positions() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let config = SluiceConfig::from_now(db, &brokers).raw("[log]\nformat = \"json\"");
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(dir.path(), &config);
    sluice.wait_for_log("starting from [source] start", 1);
    sluice.wait_until(PATIENCE, "a checkpoint", || sluice.checkpoint().is_some());
    sluice.stop();
    let start = json_lines(&sluice.log(), "starting from [source] start");
    sluice.restart();
    sluice.wait_for_log("resuming from the checkpoint", 1);
    sluice.stop();
    let resume = json_lines(&sluice.log(), "resuming from the checkpoint");
    for line in [start, resume] {
        let (file, pos) = (
            line["file"].as_str().unwrap(),
            line["pos"].as_u64().unwrap(),
        );
        assert_eq!(line["position"], format!("{file}:{pos}"), "{line}");
        assert!(pos >= 4, "{line}");
        assert_eq!(line["level"], "INFO");
    }
}

#[test]
fn json_logs_stay_json_when_sluice_exits_on_an_error() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    // A file the server never had: refused at start.
    let config = SluiceConfig::new(&db.url(), &brokers)
        .start("mysql-bin.999999:4")
        .raw("[log]\nformat = \"json\"");
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(dir.path(), &config);
    let log = sluice.exit_error_log();
    let exit = json_lines(&log, "exiting on an error");
    assert_eq!(exit["level"], "ERROR");
    assert!(
        exit["error"].as_str().unwrap().contains("mysql-bin.999999"),
        "{exit}"
    );
}

/// Parses every line of `log` as a JSON object and returns the last one
/// whose message contains `message`.
fn json_lines(log: &str, message: &str) -> Value {
    let mut found = None;
    for line in log.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {line}\nlog:\n{log}"));
        assert!(v.is_object(), "{line}");
        if v["message"].as_str().is_some_and(|m| m.contains(message)) {
            found = Some(v);
        }
    }
    found.unwrap_or_else(|| panic!("no {message:?} line in\n{log}"))
}
