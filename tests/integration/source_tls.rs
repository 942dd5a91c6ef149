//! TLS to the source, against a private MariaDB with a certificate made at
//! test time (support/certs.rs: it names `localhost` only) and
//! `require_secure_transport = ON`: the modes that encrypt stream changes to
//! Kafka, each failure is an error that says what to change, and
//! `preferred` still works against a server without TLS.

use std::path::{Path, PathBuf};
use std::process::Output;

use crate::sluice::{command, events, unique, Sluice};
use crate::support::{self, Certs, MariaDb, MariaDbOptions, SluiceConfig};

/// A server that refuses plaintext logins, and the certificates it uses.
struct TlsServer {
    // Field order: the server stops before its certificates go.
    db: MariaDb,
    certs: Certs,
}

fn tls_server() -> TlsServer {
    let certs = Certs::for_mysql().unwrap_or_else(|e| panic!("{e:#}"));
    let mut args = certs.server_args();
    args.push("--require-secure-transport=ON".into());
    let db = MariaDb::start(MariaDbOptions::with_args(args).client_args(["--ssl"]))
        .unwrap_or_else(|e| panic!("{e:#}"));
    TlsServer { db, certs }
}

fn url(host: &str, db: &MariaDb) -> String {
    format!("mysql://root@{host}:{}", db.port())
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// `sluice check` on `config`, written into `dir`.
fn check(dir: &Path, config: &SluiceConfig) -> Output {
    let path = dir.join("check.toml");
    config.write(&path);
    command("check", &path, &[])
}

/// What `sluice check` wrote on failure, asserting it failed.
fn check_error(dir: &Path, config: &SluiceConfig) -> String {
    let out = check(dir, config);
    assert!(!out.status.success(), "check passed: {}", text(&out.stdout));
    text(&out.stderr)
}

fn path(p: PathBuf) -> String {
    p.display().to_string()
}

#[test]
fn required_verify_ca_and_verify_identity_stream_encrypted() {
    let s = tls_server();
    let db = &s.db;
    let brokers = support::shared().tansu.brokers();
    let name = unique("tls");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.t (id INT PRIMARY KEY, mode VARCHAR(20))"
    ))
    .unwrap();
    let ca = path(s.certs.ca_file());
    // verify_ca connects by 127.0.0.1, which the certificate does not
    // name: only the CA is checked. verify_identity connects by the name
    // it holds.
    let cases = [
        ("required", "127.0.0.1", None),
        ("verify_ca", "127.0.0.1", Some(&ca)),
        ("verify_identity", "localhost", Some(&ca)),
    ];
    for (id, (mode, host, ca)) in cases.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let mut config = SluiceConfig::new(&url(host, db), &brokers)
            .start(&db.binlog_position())
            .source("tls", mode);
        if let Some(ca) = ca {
            config = config.source("ca_file", ca.as_str());
        }
        let out = check(dir.path(), &config);
        let report = text(&out.stdout);
        assert!(out.status.success(), "{mode}: {}", text(&out.stderr));
        assert!(
            report.contains("tls      encrypted (TLSv1."),
            "{mode}: {report}"
        );
        assert!(
            report.contains(&format!("tls = \"{mode}\"")),
            "{mode}: {report}"
        );

        let mut sluice = Sluice::run(dir.path(), &config);
        db.sql(&format!("INSERT INTO {name}.t VALUES ({id}, '{mode}')"))
            .unwrap();
        let got = events(&brokers, &sluice.topic(&format!("{name}.t")), 1);
        assert_eq!(got.len(), 1, "{mode}: log:\n{}", sluice.log());
        assert_eq!(got[0].value["after"]["mode"], mode, "{mode}");
        let log = sluice.log();
        assert!(log.contains("preflight passed"), "{log}");
        assert!(log.contains("encrypted (TLSv1."), "{mode}: {log}");
        sluice.stop();
    }
}

#[test]
fn tls_failures_name_the_server_the_mode_and_the_fix() {
    let s = tls_server();
    let db = &s.db;
    let dir = tempfile::tempdir().unwrap();
    let at = |host: &str, mode: &str| {
        SluiceConfig::new(&url(host, db), "unused:9092")
            .sink("null")
            .source("tls", mode)
    };
    let server = url("127.0.0.1", db);

    let err = check_error(dir.path(), &at("127.0.0.1", "disabled"));
    assert!(
        err.contains(&format!("TLS to MySQL at {server} failed (tls = \"disabled\"): the server requires TLS (require_secure_transport = ON) and refused the plaintext login: set tls = \"verify_identity\"")),
        "{err}"
    );

    let ca = path(s.certs.ca_file());
    let err = check_error(
        dir.path(),
        &at("127.0.0.1", "verify_identity").source("ca_file", ca.as_str()),
    );
    assert!(
        err.contains(&format!("TLS to MySQL at {server} failed (tls = \"verify_identity\"): hostname mismatch: the server's certificate is not for 127.0.0.1; the certificate is for localhost. Connect by a name the certificate holds")),
        "{err}"
    );
    assert!(err.contains("use tls = \"verify_ca\""), "{err}");

    let err = check_error(dir.path(), &at("localhost", "verify_identity"));
    assert!(
        err.contains(
            "certificate not trusted: give `ca_file` = the CA certificate (PEM) that signed it"
        ),
        "{err}"
    );
    let other = path(s.certs.other_ca_file());
    let err = check_error(
        dir.path(),
        &at("127.0.0.1", "verify_ca").source("ca_file", other.as_str()),
    );
    assert!(
        err.contains(&format!(
            "certificate not trusted: the CA in ca_file ({other}) did not sign it"
        )),
        "{err}"
    );

    // `run` stops on it rather than retrying what cannot succeed.
    let mut sluice = Sluice::run(
        dir.path(),
        &at("127.0.0.1", "verify_identity").source("ca_file", ca.as_str()),
    );
    let log = sluice.exit_error_log();
    assert!(log.contains("hostname mismatch"), "{log}");
    assert!(!log.contains("panicked"), "{log}");
}

#[test]
fn a_client_certificate_logs_in_a_user_that_requires_one() {
    let s = tls_server();
    let db = &s.db;
    db.sql(
        "CREATE USER 'x509'@'%' REQUIRE X509; GRANT REPLICATION SLAVE, BINLOG MONITOR ON *.* TO 'x509'@'%'",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let url = format!("mysql://x509@127.0.0.1:{}", db.port());
    let config = SluiceConfig::new(&url, "unused:9092")
        .sink("null")
        .source("tls", "required");

    let err = check_error(dir.path(), &config);
    assert!(err.contains("Access denied for user 'x509'"), "{err}");

    let config = config
        .source("client_cert_file", path(s.certs.cert_file("client")))
        .source("client_key_file", path(s.certs.key_file("client")));
    let out = check(dir.path(), &config);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(report.contains("tls      encrypted (TLSv1."), "{report}");
}

#[test]
fn preferred_connects_in_plaintext_to_a_server_without_tls_and_required_refuses() {
    let db = &support::shared().mariadb;
    let dir = tempfile::tempdir().unwrap();
    let config = SluiceConfig::new(&db.url(), "unused:9092").sink("null");

    let out = check(dir.path(), &config);
    let report = text(&out.stdout);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        report.contains("tls      not encrypted: the server offers no TLS (tls = \"preferred\")"),
        "{report}"
    );

    let err = check_error(dir.path(), &config.source("tls", "required"));
    assert!(
        err.contains(&format!(
            "TLS to MySQL at mysql://sluice@127.0.0.1:{} failed (tls = \"required\"): the server does not offer TLS",
            db.port()
        )),
        "{err}"
    );
}
