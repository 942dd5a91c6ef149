//! The edges of snapshots that need no running sluice: `sluice snapshot`
//! writing its request to the signal table, and `sluice check` listing
//! what an initial snapshot would read.

use std::path::Path;
use std::process::Output;

use crate::support::{self, unique, MariaDb, Rule, SluiceConfig};

/// Runs the sluice binary with `args` (after the subcommand) on `config`.
fn sluice(command: &str, config: &Path, args: &[&str]) -> Output {
    crate::sluice::command(command, config, args)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A config for the shared server with `[snapshot] signal_table` set.
fn config_with_signals(dir: &Path, db: &MariaDb, signal_table: &str) -> std::path::PathBuf {
    let path = dir.join("sluice.toml");
    SluiceConfig::new(&db.url(), "unused:9092")
        .sink("null")
        .snapshot("signal_table", signal_table)
        .write(&path);
    path
}

#[test]
fn snapshot_writes_a_request_row_creating_the_signal_table() {
    let db = &support::shared().mariadb;
    let name = unique("sig");
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_signals(dir.path(), db, &format!("{name}.signals"));

    let out = sluice(
        "snapshot",
        &config,
        &["--where", "id > 5", &format!("{name}.orders"), "crm.*"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        text(&out.stdout).trim_end(),
        format!("snapshot requested: id 1 for {name}.orders crm.* (signal table {name}.signals); sluice picks it up from the binlog")
    );
    let out = sluice("snapshot", &config, &[&format!("{name}.items")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).starts_with("snapshot requested: id 2 for "));

    let rows = db
        .sql(&format!(
            "SELECT id, tables, COALESCE(where_sql, 'NULL'), requested_by, requested_at IS NOT NULL FROM {name}.signals ORDER BY id"
        ))
        .unwrap();
    let rows: Vec<Vec<&str>> = rows.lines().map(|l| l.split('\t').collect()).collect();
    let orders = format!("{name}.orders crm.*");
    let items = format!("{name}.items");
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(rows[0][..3], ["1", orders.as_str(), "id > 5"]);
    assert_eq!(rows[1][..3], ["2", items.as_str(), "NULL"]);
    for r in &rows {
        // USER(): the user and the host the server saw (the client
        // moves to the server's socket when it can).
        assert!(
            ["sluice@127.0.0.1", "sluice@localhost"].contains(&r[3]),
            "{rows:?}"
        );
        assert_eq!(r[4], "1", "{rows:?}");
    }
    let columns = db
        .sql(&format!(
            "SELECT GROUP_CONCAT(COLUMN_NAME ORDER BY ORDINAL_POSITION) FROM information_schema.COLUMNS WHERE TABLE_SCHEMA = '{name}' AND TABLE_NAME = 'signals'"
        ))
        .unwrap();
    assert_eq!(
        columns.trim(),
        "id,tables,where_sql,requested_by,requested_at"
    );
}

#[test]
fn snapshot_refuses_bad_patterns_and_disabled_signals_before_writing() {
    let db = &support::shared().mariadb;
    let name = unique("sigbad");
    let dir = tempfile::tempdir().unwrap();
    let config = config_with_signals(dir.path(), db, &format!("{name}.signals"));
    let refused = |config: &Path, args: &[&str]| {
        let out = sluice("snapshot", config, args);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
        text(&out.stderr)
    };

    let err = refused(&config, &["shop.orders", ".x"]);
    assert!(
        err.contains("`.x` is not a table pattern: write db.table, with * and ? as wildcards"),
        "{err}"
    );
    let err = refused(&config, &[","]);
    assert!(
        err.contains("no table patterns: name at least one"),
        "{err}"
    );
    let missing = db
        .sql(&format!(
            "SELECT COUNT(*) FROM information_schema.SCHEMATA WHERE SCHEMA_NAME = '{name}'"
        ))
        .unwrap();
    assert_eq!(missing.trim(), "0", "nothing written for a refused request");

    let off = config_with_signals(dir.path(), db, "");
    let err = refused(&off, &["shop.orders"]);
    assert!(
        err.contains("on-demand snapshots are off") && err.contains("signal_table = \"\""),
        "{err}"
    );
}

/// An account on the shared server with only `grants` (each `PRIV ON
/// what`), logging in over TCP as the harness's root does.
fn limited_user(db: &MariaDb, grants: &[String]) -> (String, String) {
    let user = unique("u");
    let mut sql = format!("CREATE USER '{user}'@'127.0.0.1' IDENTIFIED BY 'pw';");
    for g in grants {
        sql.push_str(&format!("GRANT {g} TO '{user}'@'127.0.0.1';"));
    }
    db.sql(&sql).unwrap();
    let url = format!("mysql://{user}:pw@127.0.0.1:{}", db.port());
    (user, url)
}

#[test]
fn snapshot_names_the_grant_a_user_lacks() {
    let db = &support::shared().mariadb;
    let name = unique("siggrant");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.signals (id BIGINT UNSIGNED AUTO_INCREMENT PRIMARY KEY, tables TEXT NOT NULL, where_sql TEXT NULL, requested_by VARCHAR(255) NULL, requested_at TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP(3))"
    ))
    .unwrap();
    let (user, url) = limited_user(db, &[format!("SELECT ON {name}.signals")]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sluice.toml");
    SluiceConfig::new(&url, "unused:9092")
        .sink("null")
        .snapshot("signal_table", format!("{name}.signals"))
        .write(&config);

    let out = sluice("snapshot", &config, &["shop.orders"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("'{user}'@'127.0.0.1' may not insert into {name}.signals; run `GRANT INSERT ON `{name}`.`signals` TO '{user}'@'127.0.0.1'`")),
        "{err}"
    );
    db.sql(&format!(
        "GRANT INSERT ON {name}.signals TO '{user}'@'127.0.0.1'"
    ))
    .unwrap();
    let out = sluice("snapshot", &config, &["shop.orders"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
}

#[test]
fn snapshot_names_the_grant_to_create_a_missing_signal_table() {
    let db = &support::shared().mariadb;
    let name = unique("sigcreate");
    let (user, url) = limited_user(db, &[format!("INSERT ON {name}.*")]);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sluice.toml");
    SluiceConfig::new(&url, "unused:9092")
        .sink("null")
        .snapshot("signal_table", format!("{name}.signals"))
        .write(&config);
    let account = format!("'{user}'@'127.0.0.1'");

    let out = sluice("snapshot", &config, &["shop.orders"]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!("{account} may not create {name}.signals; run `GRANT CREATE, INSERT ON `{name}`.`signals` TO {account}`")),
        "{err}"
    );
    // Allowed to create the table, but not its database.
    db.sql(&format!("GRANT CREATE ON {name}.signals TO {account}"))
        .unwrap();
    let err = text(&sluice("snapshot", &config, &["shop.orders"]).stderr);
    assert!(
        err.contains(&format!("{account} may not create the database of {name}.signals; run `GRANT CREATE, INSERT ON `{name}`.* TO {account}`")),
        "{err}"
    );
    db.sql(&format!("GRANT CREATE ON {name}.* TO {account}"))
        .unwrap();
    let out = sluice("snapshot", &config, &["shop.orders"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let rows = db
        .sql(&format!("SELECT id, tables FROM {name}.signals"))
        .unwrap();
    assert_eq!(rows, "1\tshop.orders\n");
}

#[test]
fn check_lists_what_an_initial_snapshot_would_read() {
    let db = &support::shared().mariadb;
    let name = unique("snapcheck");
    let values: Vec<String> = (1..=200).map(|i| format!("({i}, 'row {i}')")).collect();
    db.sql(&format!(
        "CREATE DATABASE {name};
         CREATE TABLE {name}.orders (id INT PRIMARY KEY, note TEXT);
         INSERT INTO {name}.orders VALUES {};
         CREATE TABLE {name}.events (at INT, what TEXT);
         INSERT INTO {name}.events VALUES (1, 'a'), (2, 'b');
         CREATE TABLE {name}.secret (id INT PRIMARY KEY);
         CREATE TABLE {name}.signals (id INT PRIMARY KEY);
         CREATE TABLE {name}.skipped (id INT PRIMARY KEY);
         ANALYZE TABLE {name}.orders, {name}.events;",
        values.join(", ")
    ))
    .unwrap();
    // What the server estimates is what check must print.
    let estimate = |table: &str| {
        db.sql(&format!(
            "SELECT TABLE_ROWS, DATA_LENGTH FROM information_schema.TABLES WHERE TABLE_SCHEMA = '{name}' AND TABLE_NAME = '{table}'"
        ))
        .unwrap()
        .trim()
        .split('\t')
        .map(|v| v.parse::<u64>().unwrap())
        .collect::<Vec<_>>()
    };
    let orders = estimate("orders");
    assert!(orders[0] > 0, "ANALYZE gave an estimate: {orders:?}");

    // SELECT on what it reads, INSERT alone on `secret` (so the table is
    // visible but not readable), and what the preflight needs.
    let (user, url) = limited_user(
        db,
        &[
            "REPLICATION SLAVE, BINLOG MONITOR ON *.*".into(),
            format!("SELECT ON {name}.orders"),
            format!("SELECT ON {name}.events"),
            format!("INSERT ON {name}.secret"),
        ],
    );
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sluice.toml");
    SluiceConfig::new(&url, "unused:9092")
        .sink("null")
        .snapshot("mode", "initial")
        .snapshot("signal_table", format!("{name}.signals"))
        .rule(Rule::tables(&[&format!("{name}.*")]).exclude(&[&format!("{name}.skipped")]))
        .write(&config);
    let out = sluice("check", &config, &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}\n{}", text(&out.stderr));
    let section = stdout
        .split_once("snapshot mode \"initial\": at start it would read")
        .unwrap_or_else(|| panic!("no snapshot section:\n{stdout}"))
        .1;
    let line = |table: &str| {
        section
            .lines()
            .find(|l| l.starts_with(&format!("  {name}.{table}  ")))
            .unwrap_or_else(|| panic!("{table} not listed:\n{stdout}"))
            .to_string()
    };
    assert!(
        line("orders").starts_with(&format!("  {name}.orders  ~{} rows  ~", orders[0])),
        "{stdout}"
    );
    assert!(!line("orders").contains("no primary key"), "{stdout}");
    assert!(line("events").contains("  no primary key"), "{stdout}");
    assert!(
        line("secret").contains(&format!("cannot read: snapshot of {name}.secret: the user has no SELECT privilege on it; run `GRANT SELECT ON {name}.secret TO")),
        "{stdout}"
    );
    for absent in ["signals", "skipped"] {
        assert!(
            !section.contains(&format!("{name}.{absent}  ")),
            "{absent} listed:\n{stdout}"
        );
    }
    let rows = orders[0] + estimate("events")[0] + estimate("secret")[0];
    assert!(
        section.contains(&format!("3 table(s) to read, ~{rows} rows, ~")),
        "{stdout}"
    );
    assert!(
        section.contains("; 1 without a primary key; 1 the user may not SELECT from"),
        "{stdout}"
    );
    db.sql(&format!("DROP USER '{user}'@'127.0.0.1'")).unwrap();
}

#[test]
fn check_leaves_the_snapshot_out_when_mode_is_never() {
    let db = &support::shared().mariadb;
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("sluice.toml");
    SluiceConfig::new(&db.url(), "unused:9092")
        .sink("null")
        .write(&config);
    let out = sluice("check", &config, &[]);
    let stdout = text(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", text(&out.stderr));
    assert!(stdout.contains("table(s) captured"), "{stdout}");
    assert!(!stdout.contains("snapshot mode"), "{stdout}");
}
