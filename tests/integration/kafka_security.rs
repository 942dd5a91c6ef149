//! Kafka over TLS and SASL, with real processes: events reach the brokers
//! and `sluice tail` reads them back with the same settings; a certificate
//! or a login the brokers refuse stops Sluice at start with the brokers,
//! the settings and the fix, and never shows the password.
//!
//! The brokers: tansu behind a rustls TLS listener, with
//! `--authentication` for SASL. tansu 0.6 refuses every SASL login (no user
//! can be registered with it: support/secure_kafka.rs says why), so SASL is
//! tested here as far as a real broker takes it: the TLS handshake, the
//! SASL handshake and a SCRAM exchange that ends in a refusal. That the
//! login settings reach librdkafka is a unit test (kafka::security).

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::sluice::{command, unique, Sluice};
use crate::support::certs::Certs;
use crate::support::secure_kafka::TlsTansu;
use crate::support::{self, MariaDb, SluiceConfig, Tansu, TansuOptions};

/// A password to look for in every output: it must never be there.
const PASSWORD: &str = "hunter2-sluice-kafka";

/// Longest a refused start may take: one probe, not a retry loop.
const REFUSED_WITHIN: Duration = Duration::from_secs(30);

/// A database with a table, and a config streaming it from now to `brokers`.
fn table(db: &MariaDb, brokers: &str) -> (String, SluiceConfig) {
    let name = unique("sec");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.t (id INT PRIMARY KEY, v VARCHAR(20));"
    ))
    .unwrap();
    (name, SluiceConfig::from_now(db, brokers))
}

/// Streams three rows with `config`, reads them back with `sluice tail
/// --config` (same TLS and SASL settings), and checks that `sluice check`
/// names the protocol. Returns everything Sluice printed.
fn streams_through(db: &MariaDb, name: &str, config: SluiceConfig, expect: &str) -> String {
    let dir = tempfile::tempdir().unwrap();
    let mut sluice = Sluice::run(dir.path(), &config);
    db.sql(&format!(
        "INSERT INTO {name}.t VALUES (1, 'a'), (2, 'b'); INSERT INTO {name}.t VALUES (3, 'c');"
    ))
    .unwrap();
    let path = dir.path().join("sluice.toml");
    let topic = sluice.topic(&format!("{name}.t"));
    let tail = tail(&path, &topic, 3);
    assert!(
        tail.status.success(),
        "tail failed: {}\nsluice log:\n{}",
        String::from_utf8_lossy(&tail.stderr),
        sluice.log()
    );
    let stdout = String::from_utf8_lossy(&tail.stdout).into_owned();
    let ids: Vec<i64> = stdout
        .lines()
        .map(|l| {
            let v: Value = serde_json::from_str(l).unwrap();
            v["value"]["after"]["id"].as_i64().unwrap()
        })
        .collect();
    assert_eq!(ids, [1, 2, 3], "{stdout}\nsluice log:\n{}", sluice.log());

    // After the stop: a running Sluice holds the replica's server_id.
    sluice.stop();
    let check = command("check", &path, &[]);
    let report = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(
        check.status.success(),
        "{report}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let kafka_line = report.lines().find(|l| l.starts_with("kafka")).unwrap();
    assert!(
        kafka_line.contains(expect) && kafka_line.contains("reachable"),
        "{report}"
    );
    let all = format!(
        "{}{stdout}{}{report}{}",
        sluice.log(),
        String::from_utf8_lossy(&tail.stderr),
        String::from_utf8_lossy(&check.stderr)
    );
    assert!(!all.contains(PASSWORD), "the password was printed:\n{all}");
    all
}

fn tail(config: &Path, topic: &str, count: usize) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_sluice"))
        // Everything it can log, librdkafka's lines too: none may hold the
        // password.
        .env("SLUICE_LOG", "trace")
        .args(["tail", "--config"])
        .arg(config)
        .args(["--topic", topic, "--count", &count.to_string()])
        .args(["--timeout-secs", "60"])
        .output()
        .expect("run sluice tail")
}

/// Runs Sluice with `config` and returns what it logged when it stopped on
/// its own, which it must do promptly; `sluice check` and `sluice tail`
/// must fail the same way. No output may hold the password.
fn refused(config: SluiceConfig) -> String {
    let dir = tempfile::tempdir().unwrap();
    let began = Instant::now();
    let mut sluice = Sluice::run(dir.path(), &config);
    let log = sluice.exit_error_log();
    assert!(
        began.elapsed() < REFUSED_WITHIN,
        "took {:?} to give up:\n{log}",
        began.elapsed()
    );
    let path = dir.path().join("sluice.toml");
    let check = command("check", &path, &[]);
    let check_err = String::from_utf8_lossy(&check.stderr).into_owned();
    assert!(!check.status.success(), "{check_err}");
    let tail = tail(&path, "any", 1);
    let tail_err = String::from_utf8_lossy(&tail.stderr).into_owned();
    assert!(!tail.status.success(), "{tail_err}");
    let error = |text: &str| {
        text.lines()
            .find(|l| l.contains("refused the connection"))
            .map(str::to_owned)
            .unwrap_or_else(|| panic!("no refusal in:\n{text}"))
    };
    // The same refusal and fix, whichever command met it (librdkafka's
    // own words in between vary with timing).
    let (run_error, check_error, tail_error) = (error(&log), error(&check_err), error(&tail_err));
    let ends = |l: &str| {
        let from = &l[l.find("Kafka at").unwrap()..];
        let head = &from[..from.find("): ").unwrap()];
        let fix = &from[from.rfind("; ").unwrap()..];
        (head.to_string(), fix.to_string())
    };
    assert_eq!(ends(&run_error), ends(&check_error), "{check_error}");
    assert_eq!(ends(&run_error), ends(&tail_error), "{tail_error}");
    let all = format!(
        "{log}{check_err}{}{tail_err}",
        String::from_utf8_lossy(&check.stdout)
    );
    assert!(!all.contains(PASSWORD), "the password was printed:\n{all}");
    assert!(sluice.checkpoint().is_none(), "nothing streamed:\n{log}");
    run_error
}

fn tls(config: SluiceConfig, ca: &Path) -> SluiceConfig {
    config
        .kafka("security_protocol", "ssl")
        .kafka("ssl_ca_file", ca.display().to_string())
}

#[test]
fn over_tls_events_arrive_and_tail_reads_them() {
    let certs = Certs::for_kafka().unwrap();
    let kafka = TlsTansu::start(&certs, "server", false).unwrap();
    let db = &support::shared().mariadb;
    let (name, config) = table(db, &kafka.brokers());
    streams_through(
        db,
        &name,
        tls(config, &certs.ca_file()),
        "security_protocol = \"ssl\"",
    );
}

#[test]
fn a_certificate_from_an_unknown_ca_stops_sluice_with_the_fix() {
    let certs = Certs::for_kafka().unwrap();
    let kafka = TlsTansu::start(&certs, "server", false).unwrap();
    let db = &support::shared().mariadb;
    let (_, config) = table(db, &kafka.brokers());
    let error = refused(tls(config, &certs.other_ca_file()));
    assert!(
        error.contains(&format!(
            "Kafka at {} refused the connection (security_protocol = \"ssl\")",
            kafka.brokers()
        )),
        "{error}"
    );
    assert!(error.contains("certificate verify failed"), "{error}");
    assert!(
        error.contains(
            "not signed by a CA Sluice trusts: give that CA's certificate as ssl_ca_file"
        ),
        "{error}"
    );
}

#[test]
fn a_certificate_for_another_host_stops_sluice_unless_told_to_accept_it() {
    let certs = Certs::for_kafka().unwrap();
    let kafka = TlsTansu::start(&certs, "elsewhere", false).unwrap();
    let db = &support::shared().mariadb;
    let (name, config) = table(db, &kafka.brokers());
    let config = tls(config, &certs.ca_file());
    let error = refused(config.clone());
    assert!(
        error.contains(&format!(
            "signed by a trusted CA but not issued for the host Sluice connects to ({})",
            kafka.brokers()
        )),
        "{error}"
    );
    assert!(error.contains("ssl_verify_hostname = false"), "{error}");
    streams_through(
        db,
        &name,
        config.kafka("ssl_verify_hostname", false),
        "security_protocol = \"ssl\"",
    );
}

fn authenticating_tansu() -> Tansu {
    Tansu::start_with(TansuOptions {
        authentication: true,
        ..Default::default()
    })
    .unwrap()
}

fn sasl(config: SluiceConfig, protocol: &str, mechanism: &str) -> SluiceConfig {
    config
        .kafka("security_protocol", protocol)
        .kafka("sasl_mechanism", mechanism)
        .kafka("sasl_username", "sluice")
}

#[test]
fn a_scram_login_the_brokers_refuse_stops_sluice_without_showing_the_password() {
    let db = &support::shared().mariadb;
    let secrets = tempfile::tempdir().unwrap();
    let password_file = secrets.path().join("kafka-password");
    std::fs::write(&password_file, format!("{PASSWORD}\n")).unwrap();

    let tansu = authenticating_tansu();
    let (_, config) = table(db, &tansu.brokers());
    let config = sasl(config, "sasl_plaintext", "SCRAM-SHA-256")
        .kafka("sasl_password_file", password_file.display().to_string());
    let error = refused(config);
    assert!(
        error.contains(&format!(
            "Kafka at {} refused the connection (security_protocol = \"sasl_plaintext\", sasl_mechanism = \"SCRAM-SHA-256\", sasl_username = \"sluice\")",
            tansu.brokers()
        )),
        "{error}"
    );
    assert!(error.contains("SASL authentication error"), "{error}");
    assert!(
        error.contains("check sasl_username and the password (sasl_password, sasl_password_file or sasl_password_env) under [kafka], and that the user exists on the brokers for SCRAM-SHA-256"),
        "{error}"
    );

    // Over TLS, with the librdkafka properties themselves, as a user of
    // another client would copy them: the TLS handshake passes, the login
    // is refused.
    let certs = Certs::for_kafka().unwrap();
    let kafka = TlsTansu::start(&certs, "server", true).unwrap();
    let (_, config) = table(db, &kafka.brokers());
    let config = config
        .producer("security.protocol", "SASL_SSL")
        .producer("sasl.mechanisms", "SCRAM-SHA-512")
        .producer("sasl.username", "sluice")
        .producer("sasl.password", PASSWORD)
        .producer("ssl.ca.location", certs.ca_file().display().to_string());
    let error = refused(config);
    assert!(
        error.contains("(security_protocol = \"sasl_ssl\", sasl_mechanism = \"SCRAM-SHA-512\", sasl_username = \"sluice\")"),
        "{error}"
    );
    assert!(
        error.contains("sasl_ssl://") && error.contains("SASL authentication error"),
        "{error}"
    );
}

#[test]
fn a_mechanism_the_brokers_do_not_offer_stops_sluice_with_the_fix() {
    let db = &support::shared().mariadb;
    // A broker without SASL answers every handshake "unsupported".
    let plain = &support::shared().tansu;
    let (_, config) = table(db, &plain.brokers());
    let error =
        refused(sasl(config, "sasl_plaintext", "SCRAM-SHA-256").kafka("sasl_password", PASSWORD));
    assert!(error.contains("Unsupported SASL mechanism"), "{error}");
    assert!(
        error.contains("the brokers do not accept sasl_mechanism = \"SCRAM-SHA-256\": set it under [kafka] to one they offer"),
        "{error}"
    );

    // tansu offers SCRAM only.
    let tansu = authenticating_tansu();
    let (_, config) = table(db, &tansu.brokers());
    let error = refused(sasl(config, "sasl_plaintext", "PLAIN").kafka("sasl_password", PASSWORD));
    assert!(
        error.contains("the brokers do not accept sasl_mechanism = \"PLAIN\""),
        "{error}"
    );
}

/// Runs `check` and then `run` with `config`: `check` fails with `hint`,
/// `run` warns with it and waits for Kafka (a listener that hangs up or
/// stalls could be a broker on its way, not a wrong setting).
fn hinted(config: SluiceConfig, hint: &str) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("sluice.toml");
    config.write(&path);
    let check = command("check", &path, &[]);
    let stderr = String::from_utf8_lossy(&check.stderr);
    assert!(!check.status.success(), "{stderr}");
    assert!(
        stderr.contains("did not answer") && stderr.contains(hint),
        "{stderr}"
    );
    let mut sluice = Sluice::run(dir.path(), &config);
    sluice.wait_for_log(hint, 1);
    // Not a SIGTERM: a stop while a topic waits to be created exits 1 (a
    // matter of shutdown, not of this test).
    sluice.kill9();
}

#[test]
fn a_protocol_the_listener_does_not_speak_is_named() {
    let certs = Certs::for_kafka().unwrap();
    let db = &support::shared().mariadb;

    // Plaintext at a TLS listener, which hangs up at the first request.
    let kafka = TlsTansu::start(&certs, "server", false).unwrap();
    let (_, config) = table(db, &kafka.brokers());
    hinted(
        config,
        "the brokers took the connection and closed it at the first request: if their listener expects TLS or SASL, set security_protocol",
    );

    // TLS at a plaintext listener, which waits for a request forever.
    let plain = &support::shared().tansu;
    let (_, config) = table(db, &plain.brokers());
    hinted(
        tls(config, &certs.ca_file()),
        "the brokers never finished the TLS handshake: if this listener does not speak TLS",
    );
}
