//! Logging in to the source: a user with exactly the grants docs/SECURITY.md
//! lists for MariaDB streams, takes an initial snapshot and an on-demand one;
//! `sluice check` names a grant that is missing; the password comes from a
//! file and shows up in no output.

use std::path::Path;
use std::process::Output;

use crate::sluice::{command, events, unique, Sluice};
use crate::support::{self, MariaDb, Rule, SluiceConfig};

const SECURITY_MD: &str = include_str!("../../docs/SECURITY.md");

/// The SQL block under `heading` in docs/SECURITY.md.
fn documented_sql(heading: &str) -> String {
    let (_, after) = SECURITY_MD
        .split_once(heading)
        .unwrap_or_else(|| panic!("no {heading:?} in docs/SECURITY.md"));
    let (_, block) = after.split_once("```sql\n").expect("an sql block");
    let (sql, _) = block.split_once("```").expect("the block's end");
    sql.to_string()
}

/// A user with a password of its own, logging in from the password file in
/// `dir`.
struct Account {
    user: String,
    password: String,
}

impl Account {
    fn new(prefix: &str) -> Account {
        Account {
            user: unique(prefix),
            password: format!("hunter2-{}", unique("pw")),
        }
    }

    fn config(&self, dir: &Path, db: &MariaDb, brokers: &str) -> SluiceConfig {
        let file = dir.join("mysql-password");
        std::fs::write(&file, format!("{}\n", self.password)).unwrap();
        let url = format!("mysql://{}@127.0.0.1:{}", self.user, db.port());
        SluiceConfig::new(&url, brokers)
            .start(&db.binlog_position())
            .source("password_file", file.display().to_string())
    }

    /// Fails the test if `text` holds the password.
    fn assert_hidden(&self, text: &str) {
        assert!(
            !text.contains(&self.password),
            "the password shows in:\n{text}"
        );
    }
}

fn check(dir: &Path, config: &SluiceConfig) -> Output {
    let path = dir.join("check.toml");
    config.write(&path);
    command("check", &path, &[])
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_user_with_the_documented_mariadb_grants_streams_and_snapshots() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let shop = unique("lp");
    let signals = unique("lpsig");
    db.sql(&format!(
        "CREATE DATABASE {shop}; CREATE TABLE {shop}.t (id INT PRIMARY KEY, v VARCHAR(10));
         INSERT INTO {shop}.t SELECT seq, 'old' FROM {shop}.seq_1_to_20;"
    ))
    .unwrap();
    let account = Account::new("lp");
    let grants = documented_sql("### MariaDB 10.11 and later")
        .replace("'sluice'@'%'", &format!("'{}'@'%'", account.user))
        .replace("'change-me'", &format!("'{}'", account.password))
        .replace(" shop.*", &format!(" {shop}.*"))
        .replace(" sluice.*", &format!(" {signals}.*"));
    db.sql(&grants).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let config = account
        .config(dir.path(), db, &brokers)
        .snapshot("mode", "initial")
        .snapshot("signal_table", format!("{signals}.requests"))
        .rule(Rule::tables(&[&format!("{shop}.*")]));
    let out = check(dir.path(), &config);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(report.contains("preflight passed"), "{report}");
    assert!(
        report.contains(&format!("signals  {signals}.requests does not exist yet: the first `sluice snapshot` creates it")),
        "{report}"
    );
    assert!(
        report.contains("1 table(s) to read") && !report.contains("cannot read"),
        "{report}"
    );
    account.assert_hidden(&report);

    let mut sluice = Sluice::run(dir.path(), &config);
    let topic = sluice.topic(&format!("{shop}.t"));
    let initial = events(&brokers, &topic, 20);
    assert_eq!(initial.len(), 20, "{}", sluice.log());
    assert!(initial.iter().all(|e| e.value["op"] == "r"));
    db.sql(&format!("INSERT INTO {shop}.t VALUES (100, 'streamed')"))
        .unwrap();
    let out = command(
        "snapshot",
        &dir.path().join("sluice.toml"),
        &["--where", "id <= 5", &format!("{shop}.t")],
    );
    assert!(out.status.success(), "{}", text(&out));
    let all = events(&brokers, &topic, 20 + 1 + 5);
    let again: Vec<u64> = all[20..]
        .iter()
        .filter(|e| e.value["op"] == "r")
        .map(|e| e.value["after"]["id"].as_u64().unwrap())
        .collect();
    assert_eq!(again, [1, 2, 3, 4, 5], "{}", sluice.log());
    assert!(all.iter().any(|e| e.value["after"]["id"] == 100));
    sluice.stop();
    account.assert_hidden(&sluice.log());

    let out = check(dir.path(), &config);
    let report = text(&out);
    assert!(out.status.success(), "{report}");
    assert!(
        report.contains(&format!(
            "signals  {signals}.requests: `sluice snapshot` may write requests"
        )),
        "{report}"
    );
}

#[test]
fn check_names_the_grant_a_user_is_missing() {
    let s = support::shared();
    let db = &s.mariadb;
    let dir = tempfile::tempdir().unwrap();
    for (has, lacks) in [
        ("REPLICATION SLAVE", "BINLOG MONITOR"),
        ("BINLOG MONITOR", "REPLICATION SLAVE"),
    ] {
        let account = Account::new("partial");
        let user = &account.user;
        db.sql(&format!(
            "CREATE USER '{user}'@'%' IDENTIFIED BY '{}'; GRANT {has} ON *.* TO '{user}'@'%'",
            account.password
        ))
        .unwrap();
        let config = account.config(dir.path(), db, "unused:9092").sink("null");
        let out = check(dir.path(), &config);
        let output = text(&out);
        assert!(!out.status.success(), "{output}");
        assert!(
            output.contains(&format!("privilege {lacks} is missing, Sluice needs granted: an administrator runs GRANT {lacks} ON *.* TO '{user}'@'%';")),
            "{output}"
        );
        assert!(!output.contains(&format!("privilege {has}")), "{output}");
        account.assert_hidden(&output);
    }
}

#[test]
fn a_wrong_password_from_the_file_is_refused_without_showing_it() {
    let db = &support::shared().mariadb;
    let account = Account::new("wrongpw");
    db.sql(&format!(
        "CREATE USER '{}'@'%' IDENTIFIED BY 'the-right-one'",
        account.user
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let config = account.config(dir.path(), db, "unused:9092").sink("null");
    let out = check(dir.path(), &config);
    let output = text(&out);
    assert!(!out.status.success(), "{output}");
    assert!(
        output.contains(&format!(
            "Access denied for user '{}'@'127.0.0.1' (using password: YES)",
            account.user
        )),
        "{output}"
    );
    account.assert_hidden(&output);

    // `sluice run` retries a refused login like any failed connection;
    // none of its messages show the password either.
    let mut sluice = Sluice::run(dir.path(), &config);
    sluice.wait_for_log("Access denied", 2);
    sluice.stop();
    account.assert_hidden(&sluice.log());
}
