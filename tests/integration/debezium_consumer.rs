//! A consumer written for Debezium reads Sluice's `debezium-json` topics:
//! every message goes through Kafka Connect's JsonConverter (which checks
//! each payload value against its schema) and Debezium's
//! ExtractNewRecordState, as in a Kafka Connect sink
//! (tests/debezium-reference/SluiceDebeziumConsumer.java), and the rows it
//! leaves, applied in order, are the tables' rows.

use std::collections::BTreeMap;
use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::debezium_reference::{CHANGES, TABLES};
use crate::sluice::{unique, Sluice};
use crate::support::{self, consume_all_blocking, Message, Rule, SluiceConfig};

/// What the consumer makes of each message, one line per message.
fn consume(reference: &std::path::Path, messages: &[Message]) -> Vec<String> {
    let text = |b: &Option<Vec<u8>>| {
        b.as_deref().map_or("null".to_string(), |b| {
            String::from_utf8(b.to_vec()).unwrap()
        })
    };
    let mut input = String::new();
    for m in messages {
        input.push_str(&format!(
            "{}\t{}\t{}\n",
            m.topic,
            text(&m.key),
            text(&m.payload)
        ));
    }
    let classpath = format!(
        "{}/*:{}",
        reference.join("libs").display(),
        reference.join("classes").display()
    );
    let mut child = Command::new("java")
        .args(["-Xmx256m", "-XX:TieredStopAtLevel=1", "-cp", &classpath])
        .arg("SluiceDebeziumConsumer")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("starting java (scripts/test installs it): {e}"));
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success(), "the consumer failed: {out:?}");
    String::from_utf8(out.stdout)
        .unwrap()
        .lines()
        .map(str::to_owned)
        .collect()
}

#[test]
fn a_kafka_connect_sink_with_extract_new_record_state_reads_every_message() {
    let Some(reference) = std::env::var_os("SLUICE_DEBEZIUM_REFERENCE").map(PathBuf::from) else {
        eprintln!(
            "skipped: SLUICE_DEBEZIUM_REFERENCE is not set; scripts/test installs Java and \
             Debezium and sets it (or `source scripts/lib/install.sh && \
             ensure_debezium_reference tests/debezium-reference`)"
        );
        return;
    };
    let s = support::shared();
    let (server, brokers) = (&s.mariadb, s.tansu.brokers());
    let db = unique("dbzsink");
    server
        .sql(&format!("CREATE DATABASE {db}; USE {db}; {TABLES}"))
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = SluiceConfig::from_now(server, &brokers)
        .kafka("format", "debezium-json")
        .rule(Rule::tables(&[&format!("{db}.*")]).tombstones(true))
        .raw("[kafka.debezium]\nschemas_enable = true\n");
    let sluice = Sluice::run(dir.path(), &config);
    server.sql(&format!("USE {db}; {CHANGES}")).unwrap();

    // Per table: the messages Sluice writes for CHANGES (creates, updates,
    // a key change as delete + tombstone + create, deletes with their
    // tombstones where there is a key), and the key of each row left.
    let tables: [(&str, usize, &[&str]); 3] =
        [("t", 11, &["id"]), ("nk", 5, &[]), ("ck", 4, &["a", "b"])];
    for (table, count, key) in tables {
        let topic = sluice.topic(&format!("{db}.{table}"));
        let messages = consume_all_blocking(&brokers, &topic, count, Duration::from_secs(60));
        assert_eq!(messages.len(), count, "{table}: {}", sluice.log_tail(20));
        let rows = consume(&reference, &messages);
        assert_eq!(rows.len(), count, "one answer per message: {rows:?}");
        let errors: Vec<&String> = rows.iter().filter(|r| r.starts_with("error")).collect();
        assert!(
            errors.is_empty(),
            "{table}: the consumer refused {errors:?}"
        );

        let rows: Vec<Option<Value>> = rows
            .iter()
            .zip(&messages)
            .map(|(row, m)| {
                if row == "dropped" {
                    assert!(m.payload.is_none(), "only tombstones are dropped: {m:?}");
                    return None;
                }
                Some(serde_json::from_str(row).unwrap())
            })
            .collect();
        let text = |v: &Value| match v {
            Value::String(s) => s.clone(),
            v => v.to_string(),
        };
        if key.is_empty() {
            // Without a key a sink cannot tell which row an update
            // replaces: the rows as they come, the delete's marked.
            let seen: Vec<(String, String, bool)> = rows
                .iter()
                .flatten()
                .map(|r| (text(&r["msg"]), text(&r["n"]), r["__deleted"] == "true"))
                .collect();
            let row = |m: &str, n: &str, d| (m.to_string(), n.to_string(), d);
            assert_eq!(
                seen,
                [
                    row("no key", "1", false),
                    row("no key", "2", false),
                    row("no key", "3", false),
                    row("no key", "1", true),
                    row("txn", "9", false),
                ]
            );
            continue;
        }
        // Applied in order, as a sink does: a row replaces its key's, a
        // rewritten delete removes it; a tombstone is dropped.
        let mut state: BTreeMap<Vec<String>, Value> = BTreeMap::new();
        for row in rows.into_iter().flatten() {
            let id: Vec<String> = key.iter().map(|k| text(&row[k])).collect();
            if row["__deleted"] == "true" {
                assert!(
                    state.remove(&id).is_some(),
                    "{table}: deleted {id:?}, never seen"
                );
            } else {
                state.insert(id, row);
            }
        }
        let want = server
            .sql(&format!("SELECT {} FROM {db}.{table}", key.join(", ")))
            .unwrap();
        let mut want: Vec<Vec<String>> = want
            .lines()
            .map(|l| l.split('\t').map(str::to_owned).collect())
            .collect();
        want.sort();
        let have: Vec<Vec<String>> = state.keys().cloned().collect();
        assert_eq!(
            have, want,
            "{table}: the sink's rows (left) and the table's"
        );
        if table == "t" {
            // A few values as a sink stores them.
            let one = &state[&vec!["1".to_string()]];
            assert_eq!(
                (one["c"].as_str(), one["vc"].as_str()),
                (Some("cd"), Some("é\"\n"))
            );
            assert_eq!(
                one["bu"],
                Value::from(-1),
                "BIGINT UNSIGNED, long mode: its bits"
            );
        }
    }
    drop(sluice);
}
