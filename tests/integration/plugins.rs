//! Plugins in the running pipeline: a rule's chain filters and masks what
//! reaches Kafka, per-plugin settings come from the config file, and a
//! plugin dropped into the directory while Sluice runs is picked up at a
//! transaction boundary, and a plugin file replaced, deleted and put back
//! under load changes the chain between transactions, never within one.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde_json::json;

use crate::sluice::{events, master_position, unique, Load, Sluice};
use crate::support::{self, Rule, SluiceConfig, Step};

/// Where scripts/build-plugins (which scripts/test runs before `cargo test`)
/// puts the example plugins: `$CARGO_TARGET_DIR/plugins`.
pub fn built_dir() -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).parent().unwrap();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    target.join("plugins")
}

/// The built example plugin `name`. The tests never build plugins
/// themselves (that may install toolchains): a missing file fails the test
/// with what to run.
pub fn built(name: &str) -> PathBuf {
    let path = built_dir().join(format!("{name}.wasm"));
    assert!(
        path.is_file(),
        "{} is missing: run scripts/build-plugins first (scripts/test does), with the same \
         CARGO_TARGET_DIR and without SLUICE_SKIP_PYTHON, SLUICE_SKIP_JS or SLUICE_SKIP_C",
        path.display()
    );
    path
}

/// `root/plugins`, created, holding copies of the named example plugins.
pub fn plugin_dir(root: &Path, names: &[&str]) -> PathBuf {
    let dir = root.join("plugins");
    fs::create_dir_all(&dir).unwrap();
    for name in names {
        fs::copy(built(name), dir.join(format!("{name}.wasm"))).unwrap();
    }
    dir
}

#[test]
fn a_rules_chain_filters_and_masks_and_new_plugins_are_picked_up() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("plug");
    db.sql(&format!("CREATE DATABASE {name}; CREATE TABLE {name}.users (id INT PRIMARY KEY, email VARCHAR(50), status VARCHAR(10));")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["pii-mask"]);
    let tag = unique("pt");
    // Both versions of the file share everything (the server_id too) but
    // the chain.
    let base = SluiceConfig::from_now(db, &brokers).plugins_dir(&plugins);
    let with_chain = |chain: Vec<Step>| {
        base.clone().rule(
            Rule::tables(&[&format!("{name}.*")])
                .topic(&format!("{tag}.{{table}}"))
                .plugins(chain),
        )
    };
    let mask = || {
        Step::new("pii-mask")
            .set("columns", "email")
            .set("mode", "drop")
    };
    let config = dir.path().join("sluice.toml");
    with_chain(vec![mask()]).write(&config);
    let mut sluice = Sluice::with_config(&dir.path().join("run"), &config);

    db.sql(&format!("INSERT INTO {name}.users VALUES (1, 'a@example.com', 'active'), (2, 'b@example.com', 'gone');")).unwrap();
    let first = events(&brokers, &format!("{tag}.users"), 2);
    assert_eq!(first.len(), 2, "{}", sluice.log());
    for e in &first {
        assert_eq!(
            e.value["after"].get("email"),
            None,
            "the email column is dropped: {}",
            e.value
        );
    }
    assert_eq!(
        first[0].value["after"],
        json!({"id": 1, "status": "active"})
    );

    // A filter dropped into the directory, then named in the rule: from the
    // next transaction on, only active users pass.
    let tmp = plugins.join("row-filter.wasm.part");
    fs::copy(built("row-filter"), &tmp).unwrap();
    fs::rename(&tmp, plugins.join("row-filter.wasm")).unwrap();
    sluice.wait_for_log("row-filter", 1);
    let filter = Step::new("row-filter")
        .set("column", "status")
        .set("equals", "active");
    let tmp = dir.path().join("sluice.toml.new");
    with_chain(vec![filter, mask()]).write(&tmp);
    fs::rename(&tmp, &config).unwrap();
    sluice.wait_for_log("config reloaded", 1);
    db.sql(&format!("BEGIN; INSERT INTO {name}.users VALUES (3, 'c@example.com', 'active'), (4, 'd@example.com', 'gone'); UPDATE {name}.users SET status = 'active' WHERE id = 2; COMMIT;")).unwrap();
    let all = events(&brokers, &format!("{tag}.users"), 4);
    let ids: Vec<_> = all.iter().map(|e| e.value["after"]["id"].clone()).collect();
    assert_eq!(
        ids,
        [json!(1), json!(2), json!(3), json!(2)],
        "row 4 (gone) is filtered out; log:\n{}",
        sluice.log()
    );
    assert!(all.iter().all(|e| e.value["after"].get("email").is_none()));
    sluice.stop();
}

/// The plugin file a rule uses is replaced by rename, overwritten in place,
/// deleted and put back while rows stream in. Two plugins that accept the
/// same settings stand in for two versions of "stamp": pii-mask hashes the
/// `secret` column (H), key-columns leaves it and keys the event by it (K).
/// Every transaction must carry one mark on all its rows, the marks must
/// change in binlog order exactly as the files did (H, K, H, K: the delete
/// keeps the running version), and every row must arrive exactly once.
#[test]
fn plugin_files_replaced_deleted_and_put_back_under_load() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("swap");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.t (id INT PRIMARY KEY, secret VARCHAR(20));"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &[]);
    let (hash, key) = (built("pii-mask"), built("key-columns"));
    let stamp = plugins.join("stamp.wasm");
    let replace_by_rename = |from: &Path| {
        let tmp = plugins.join(".stamp.wasm.tmp");
        fs::copy(from, &tmp).unwrap();
        fs::rename(&tmp, &stamp).unwrap();
    };
    replace_by_rename(&hash);
    let tag = unique("sw");
    let config = SluiceConfig::from_now(db, &brokers)
        .plugins_dir(&plugins)
        .plugins("debounce_ms", 50)
        .rule(
            Rule::tables(&[&format!("{name}.t")])
                .topic(&tag)
                .plugins([Step::new("stamp").set("columns", "secret")]),
        );
    let mut sluice = Sluice::run(&dir.path().join("run"), &config);

    // Load: transaction n inserts ids 4n .. 4n+3.
    let load = Load::start({
        let name = name.clone();
        move |n| {
            let rows: Vec<_> = (4 * n..4 * n + 4)
                .map(|id| format!("({id}, 's{id}')"))
                .collect();
            format!("INSERT INTO {name}.t VALUES {};", rows.join(", "))
        }
    });
    let settle = |n: u32| load.settle(n);
    let swapped = "plugin replaced by a new version";
    settle(25);
    replace_by_rename(&key);
    sluice.wait_for_log(swapped, 1);
    settle(25);
    // In place, as `cp` does: the watcher may see a half-written file
    // first, which fails to load and changes nothing.
    fs::copy(&hash, &stamp).unwrap();
    sluice.wait_for_log(swapped, 2);
    settle(25);
    fs::remove_file(&stamp).unwrap();
    sluice.wait_for_log("plugin removed", 1);
    sluice.wait_for_log("the chain keeps the plugin versions it was running", 1);
    settle(25);
    replace_by_rename(&key);
    sluice.wait_for_log(swapped, 3);
    settle(25);
    let txns = load.finish() as usize;
    let msgs = support::consume_all_blocking(&brokers, &tag, 4 * txns, Duration::from_secs(60));
    assert_eq!(msgs.len(), 4 * txns, "{}", sluice.log());
    let mut marks = vec![Vec::new(); txns];
    for m in &msgs {
        let e = crate::sluice::Event::from_message(m);
        let id = e.value["after"]["id"].as_u64().unwrap();
        let secret = e.value["after"]["secret"].as_str().unwrap();
        let plain = format!("s{id}");
        let mark = if secret == plain && m.key.as_deref() == Some(plain.as_bytes()) {
            'K'
        } else if secret.len() == 64 && m.key.as_deref() != Some(plain.as_bytes()) {
            'H'
        } else {
            panic!(
                "row {id} carries neither mark: {} key {:?}",
                e.value,
                m.key_str()
            );
        };
        marks[id as usize / 4].push((id, mark));
    }
    let mut runs: Vec<(char, usize)> = Vec::new();
    for (n, rows) in marks.iter().enumerate() {
        let mut ids: Vec<_> = rows.iter().map(|r| r.0).collect();
        ids.sort();
        assert_eq!(
            ids,
            (4 * n as u64..4 * n as u64 + 4).collect::<Vec<_>>(),
            "transaction {n}: each row exactly once"
        );
        let mark = rows[0].1;
        assert!(
            rows.iter().all(|r| r.1 == mark),
            "transaction {n} went through two versions: {rows:?}"
        );
        match runs.last_mut() {
            Some((m, len)) if *m == mark => *len += 1,
            _ => runs.push((mark, 1)),
        }
    }
    let order: String = runs.iter().map(|r| r.0).collect();
    assert_eq!(
        order,
        "HKHK",
        "versions in binlog order, runs {runs:?}\n{}",
        sluice.log()
    );
    // The third version ran on through the delete: the 25 transactions
    // written before it and the 25 after.
    assert!(runs[2].1 >= 50, "runs {runs:?}");
    sluice.stop();
}

/// Two rules with chains of their own, whose rows alternate inside one
/// transaction: each row goes through its rule's chain only, a transform's
/// output replaces the row, a router's topics and a filter's drops apply,
/// and a row the router fails on (a topic name longer than Kafka allows)
/// goes to the dead-letter topic as the router received it (already
/// masked), with the plugin and the error in its headers. Order within
/// each topic follows the binlog.
#[test]
fn two_rules_chains_transform_route_filter_and_dead_letter_in_one_transaction() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("chains");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.a (id INT PRIMARY KEY, tenant VARCHAR(300), email VARCHAR(50)); CREATE TABLE {name}.b (id INT PRIMARY KEY, status VARCHAR(10));"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["pii-mask", "tenant-router", "row-filter"]);
    let tag = unique("ch");
    let config = SluiceConfig::from_now(db, &brokers)
        .kafka("dead_letter_topic", format!("{tag}.dlq"))
        .plugins_dir(&plugins)
        .rule(
            Rule::tables(&[&format!("{name}.a")])
                .topic(&format!("{tag}.a"))
                .plugins([
                    Step::new("pii-mask")
                        .set("columns", "email")
                        .set("mode", "drop"),
                    Step::new("tenant-router")
                        .set("column", "tenant")
                        .set("topic", format!("{tag}.t.{{value}}"))
                        .on_error("dead-letter"),
                ]),
        )
        .rule(
            Rule::tables(&[&format!("{name}.b")])
                .topic(&format!("{tag}.b"))
                .plugins([Step::new("row-filter")
                    .set("column", "status")
                    .set("equals", "active")]),
        );
    let mut sluice = Sluice::run(&dir.path().join("run"), &config);
    let long = "y".repeat(260);
    db.sql(&format!(
        "BEGIN; INSERT INTO {name}.a VALUES (1, 'x', 'a1@x'); INSERT INTO {name}.b VALUES (1, 'active'); \
         INSERT INTO {name}.a VALUES (2, '{long}', 'a2@x'); INSERT INTO {name}.b VALUES (2, 'gone'); \
         INSERT INTO {name}.a VALUES (3, 'x', 'a3@x'); INSERT INTO {name}.b VALUES (3, 'active'); COMMIT;"
    ))
    .unwrap();
    let ids = |events: &[crate::sluice::Event]| -> Vec<u64> {
        events
            .iter()
            .map(|e| e.value["after"]["id"].as_u64().unwrap())
            .collect()
    };
    let routed = events(&brokers, &format!("{tag}.t.x"), 2);
    assert_eq!(ids(&routed), [1, 3], "{}", sluice.log());
    assert!(routed
        .iter()
        .all(|e| e.value["after"].get("email").is_none() && e.value["after"]["tenant"] == "x"));
    let filtered = events(&brokers, &format!("{tag}.b"), 2);
    assert_eq!(ids(&filtered), [1, 3]);
    let dead = events(&brokers, &format!("{tag}.dlq"), 1);
    assert_eq!(ids(&dead), [2]);
    assert_eq!(
        dead[0].value["after"].get("email"),
        None,
        "masked before the router failed"
    );
    assert_eq!(
        dead[0].header("sluice.dead_letter.plugin"),
        Some("tenant-router")
    );
    assert!(
        dead[0]
            .header("sluice.dead_letter.error")
            .is_some_and(|e| e.contains("topic")),
        "{:?}",
        dead[0].headers
    );
    sluice.stop();
}

/// JavaScript plugins take 30-40 us per event each and hold a multiple of
/// what they are given in memory. A pipeline batch of 8,192 rows (`batch_rows`
/// raised for throughput) in one call overruns the default 100 ms deadline
/// and 64 MiB; the chain gets each batch in calls of at most
/// `max_call_events` / `max_call_bytes`, so a backlog of 20,000 rows in one
/// transaction goes through a 3-plugin JavaScript chain whole with the
/// default plugin limits.
#[test]
fn a_javascript_chain_takes_a_large_backlog_with_the_default_limits() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("jsbig");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.t (id INT PRIMARY KEY, tenant VARCHAR(10), status VARCHAR(10), pad VARCHAR(100));"
    ))
    .unwrap();
    let start = master_position(db);
    const ROWS: u32 = 20_000;
    db.sql(&format!(
        "INSERT INTO {name}.t SELECT seq, CONCAT('t', seq % 3), IF(seq % 10 = 0, 'gone', 'active'), REPEAT('x', 50) FROM {name}.seq_1_to_{ROWS};"
    ))
    .unwrap();

    let dir = tempfile::tempdir().unwrap();
    let chain = ["js-row-filter", "js-tenant-router", "js-key-columns"];
    let plugins = plugin_dir(dir.path(), &chain);
    // Compiling a JavaScript component takes 20-25 s: share the artifacts
    // the other tests cached.
    let cache = built(chain[0])
        .parent()
        .unwrap()
        .with_file_name("plugin-cache");
    let tag = unique("js");
    let config = SluiceConfig::new(&db.url(), &brokers)
        .start(&start)
        .pipeline("batch_rows", 8192)
        .plugins_dir(&plugins)
        .plugins("cache_dir", cache.display().to_string())
        .rule(
            Rule::tables(&[&format!("{name}.t")]).plugins([
                Step::new("js-row-filter")
                    .set("column", "status")
                    .set("equals", "active"),
                Step::new("js-tenant-router")
                    .set("column", "tenant")
                    .set("topic", format!("{tag}.{{value}}")),
                Step::new("js-key-columns").set("columns", "tenant,id"),
            ]),
        );
    let mut sluice = Sluice::run(&dir.path().join("run"), &config);
    for tenant in 0..3 {
        let ids: Vec<u32> = (1..=ROWS)
            .filter(|id| id % 3 == tenant && id % 10 != 0)
            .collect();
        let got = support::consume_all_blocking(
            &brokers,
            &format!("{tag}.t{tenant}"),
            ids.len(),
            Duration::from_secs(120),
        );
        assert_eq!(
            got.len(),
            ids.len(),
            "tenant t{tenant}; log:\n{}",
            sluice.log()
        );
        for (m, id) in got.iter().zip(&ids) {
            let e = crate::sluice::Event::from_message(m);
            assert_eq!(e.value["after"]["id"], json!(id));
            assert_eq!(m.key_str(), Some(format!("t{tenant}|{id}").as_str()));
        }
    }
    assert!(!sluice.log().contains("ERROR"), "{}", sluice.log());
    sluice.stop();
}

/// A plugin failing under `on_error = "fail"` stops Sluice with one
/// message that names the plugin, the table and the binlog position of the
/// transaction, and says what to do; it is printed once.
#[test]
fn a_failing_plugin_stops_sluice_with_one_message_naming_table_and_position() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("pfail");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.t (id INT PRIMARY KEY)"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["slow-filter"]);
    // A deadline the plugin cannot meet: every call fails.
    let config = SluiceConfig::from_now(db, &brokers)
        .plugins_dir(&plugins)
        .plugins("deadline_ms", 1)
        .rule(
            Rule::tables(&[&format!("{name}.t")])
                .plugins([Step::new("slow-filter").set("spin", 2_000_000_000)]),
        );
    let mut sluice = Sluice::run(dir.path(), &config);
    let at = master_position(db);
    db.sql(&format!("INSERT INTO {name}.t VALUES (1)")).unwrap();
    let log = sluice.exit_error_log();
    let stop = format!("stopped at the transaction at binlog position {at}");
    let lines: Vec<&str> = log.lines().filter(|l| l.contains(&stop)).collect();
    assert_eq!(lines.len(), 1, "once, with the position:\n{log}");
    for want in [
        "plugin slow-filter: filter failed",
        "deadline of 1 ms exceeded",
        &format!("an event of {name}.t"),
        "on_error is \"fail\"",
    ] {
        assert!(
            lines[0].contains(want),
            "{want:?} missing from {}",
            lines[0]
        );
    }
}

/// A reload whose new chain cannot be built (the plugin rejects the new
/// settings) is handled like a plugin file whose new version rejects them:
/// the previous rules and chains keep running, the error says so, and a
/// corrected config is applied.
#[test]
fn a_reload_whose_plugin_rejects_its_settings_keeps_the_previous_rules() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("prej");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.u (id INT PRIMARY KEY, email VARCHAR(50))"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = plugin_dir(dir.path(), &["pii-mask"]);
    let tag = unique("pr");
    let base = SluiceConfig::from_now(db, &brokers).plugins_dir(&plugins);
    let with_mode = |mode: &str| {
        base.clone().rule(
            Rule::tables(&[&format!("{name}.*")])
                .topic(&format!("{tag}.{{table}}"))
                .plugins([Step::new("pii-mask")
                    .set("columns", "email")
                    .set("mode", mode)]),
        )
    };
    let config = dir.path().join("sluice.toml");
    with_mode("drop").write(&config);
    let mut sluice = Sluice::with_config(&dir.path().join("run"), &config);
    let topic = format!("{tag}.u");
    db.sql(&format!("INSERT INTO {name}.u VALUES (1, 'a@example.com')"))
        .unwrap();
    assert_eq!(events(&brokers, &topic, 1).len(), 1, "{}", sluice.log());

    // The file is valid, but pii-mask's init refuses the mode.
    let replace = |c: SluiceConfig| {
        let tmp = dir.path().join("sluice.toml.new");
        c.write(&tmp);
        fs::rename(&tmp, &config).unwrap();
    };
    replace(with_mode("scramble"));
    sluice.wait_for_log("config reloaded", 1);
    db.sql(&format!("INSERT INTO {name}.u VALUES (2, 'b@example.com')"))
        .unwrap();
    sluice.wait_for_log("new rules not applied", 1);
    let log = sluice.log();
    assert!(
        log.contains("mode `scramble`: expected hash or drop"),
        "{log}"
    );
    let two = events(&brokers, &topic, 2);
    assert_eq!(two.len(), 2, "still streaming:\n{}", sluice.log());
    assert_eq!(
        two[1].value["after"],
        json!({"id": 2}),
        "still dropping the email"
    );

    // Corrected: applied at the next transaction.
    replace(with_mode("hash"));
    sluice.wait_for_log("config reloaded", 2);
    db.sql(&format!("INSERT INTO {name}.u VALUES (3, 'c@example.com')"))
        .unwrap();
    let three = events(&brokers, &topic, 3);
    assert_eq!(three.len(), 3, "{}", sluice.log());
    let email = &three[2].value["after"]["email"];
    assert!(
        email.is_string() && email != "c@example.com",
        "hashed now: {}",
        three[2].value
    );
    sluice.stop();
}
