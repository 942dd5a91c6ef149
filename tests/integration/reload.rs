//! Hot reload of the rules while streaming under load: tables added and
//! removed, topic templates changed, a broken file written and fixed. Every
//! transaction must be routed entirely by one version of the rules, the
//! versions must follow each other in binlog order, and nothing may be lost.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;

use crate::sluice::{events, unique, Load, Sluice, PATIENCE};
use crate::support::{self, poll_until, Rule, SluiceConfig, Step};

/// `base` with one rule: `db`'s `tables` to `{tag}.{db}.{table}`.
fn rules(base: &SluiceConfig, tag: &str, db: &str, tables: &[&str]) -> SluiceConfig {
    base.clone().rule(rule(tag, db, tables))
}

fn rule(tag: &str, db: &str, tables: &[&str]) -> Rule {
    let list: Vec<String> = tables.iter().map(|t| format!("{db}.{t}")).collect();
    let list: Vec<&str> = list.iter().map(String::as_str).collect();
    Rule::tables(&list).topic(&format!("{tag}.{{db}}.{{table}}"))
}

/// The same rule with a plugin chain that drops the `secret` column.
fn rules_masked(base: &SluiceConfig, tag: &str, db: &str, tables: &[&str]) -> SluiceConfig {
    base.clone().rule(
        rule(tag, db, tables).plugins([Step::new("pii-mask")
            .set("columns", "secret")
            .set("mode", "drop")]),
    )
}

/// Replaces `path` the way editors do: write a temporary file, rename it over.
fn write_by_rename(path: &Path, text: &str) {
    let tmp = path.with_extension("tmp~");
    fs::write(&tmp, text).unwrap();
    fs::rename(&tmp, path).unwrap();
}

/// Replaces the file behind a Kubernetes-style ConfigMap mount: the config
/// path is a symlink through `..data`, which is swapped atomically.
fn swap_configmap(dir: &Path, version: u32, text: &str) {
    let real = dir.join(format!("..v{version}"));
    fs::create_dir_all(&real).unwrap();
    fs::write(real.join("sluice.toml"), text).unwrap();
    let tmp = dir.join("..data_tmp");
    let _ = fs::remove_file(&tmp);
    std::os::unix::fs::symlink(format!("..v{version}"), &tmp).unwrap();
    fs::rename(&tmp, dir.join("..data")).unwrap();
}

#[test]
fn rules_reload_at_transaction_boundaries_under_load() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("reload");
    let tag = unique("rl");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.a (id INT PRIMARY KEY, secret VARCHAR(10)); CREATE TABLE {name}.b (id INT PRIMARY KEY, secret VARCHAR(10)); CREATE TABLE {name}.c (id INT PRIMARY KEY, secret VARCHAR(10));"
    ))
    .unwrap();

    // The config lives behind a ConfigMap-style symlink; the base part is
    // the same in every version.
    let dir = tempfile::tempdir().unwrap();
    let mount = dir.path().join("mount");
    fs::create_dir_all(&mount).unwrap();
    // Plugins are loaded from the start (the directory is read once); the
    // last version of the rules puts one in the chain.
    let plugin_dir = crate::plugins::plugin_dir(dir.path(), &["pii-mask"]);
    let base = SluiceConfig::from_now(db, &brokers).plugins_dir(&plugin_dir);
    let v1 = rules(&base, &format!("{tag}.v1"), &name, &["a"]);
    swap_configmap(&mount, 1, &v1.render());
    std::os::unix::fs::symlink("..data/sluice.toml", mount.join("sluice.toml")).unwrap();
    let mut sluice = Sluice::with_config(&dir.path().join("run"), &mount.join("sluice.toml"));

    // Load: each transaction writes the same id into a, b and c.
    let load = Load::start({
        let name = name.clone();
        move |id| {
            format!("BEGIN; INSERT INTO {name}.a VALUES ({id}, 's'); INSERT INTO {name}.b VALUES ({id}, 's'); INSERT INTO {name}.c VALUES ({id}, 's'); COMMIT;")
        }
    });
    let settle = |n: u32| load.settle(n);
    settle(20);
    // v2: add table b, new topic template (Kubernetes-style swap).
    swap_configmap(
        &mount,
        2,
        &rules(&base, &format!("{tag}.v2"), &name, &["a", "b"]).render(),
    );
    sluice.wait_for_log("config reloaded", 1);
    settle(20);
    // Edits of the file the mount points at (editor-style rename inside the
    // mounted version); each waits for Sluice to react, then for more load.
    let edit = |config: SluiceConfig, reaction: &str, times: usize| {
        write_by_rename(
            &fs::canonicalize(mount.join("sluice.toml")).unwrap(),
            &config.render(),
        );
        sluice.wait_for_log(reaction, times);
        settle(20);
    };
    // A broken file (the text is the point): reported, and v2 keeps running.
    edit(
        base.clone()
            .raw(&format!("[[rules]]\ntables = [\"{name}.*\"\ntopic = 1\n")),
        "config not reloaded",
        1,
    );
    // v3: drop a, add c.
    edit(
        rules(&base, &format!("{tag}.v3"), &name, &["b", "c"]),
        "config reloaded",
        2,
    );
    // v4: the same tables through a plugin chain that drops a column.
    edit(
        rules_masked(&base, &format!("{tag}.v4"), &name, &["b", "c"]),
        "config reloaded",
        3,
    );
    let total = load.finish();
    // Every transaction of the load acknowledged: the topics hold them all.
    sluice.wait_caught_up(db);

    // Which version routed each transaction, read until every transaction
    // is on some topic: each read of a topic stops a second after its
    // first message, which a slow consumer may not fill.
    let all: BTreeSet<u64> = (0..total as u64).collect();
    let mut routed = Routed::default();
    poll_until(PATIENCE, || {
        routed = read_routed(&brokers, &tag, &name);
        routed.ids == all
    });
    let Routed {
        by_txn,
        ids: seen_ids,
    } = routed;
    let mut versions = Vec::new();
    for (txn, (vs, mut tables, _)) in by_txn {
        let v = &vs[0];
        assert!(
            vs.iter().all(|x| x == v),
            "transaction {txn:?} split between rule versions {vs:?}"
        );
        tables.sort();
        let want: &[&str] = match v.as_str() {
            "v1" => &["a"],
            "v2" => &["a", "b"],
            _ => &["b", "c"],
        };
        assert_eq!(tables, want, "transaction {txn:?} under {v}");
        versions.push(v.clone());
    }
    // Versions follow each other in binlog order, each one used.
    let mut order = versions.clone();
    order.dedup();
    assert_eq!(order, ["v1", "v2", "v3", "v4"], "log:\n{}", sluice.log());
    assert_eq!(seen_ids, all, "every transaction routed by some version");
    let log = sluice.log();
    assert!(
        log.contains("config not reloaded, still running on the previous one"),
        "{log}"
    );
    assert!(
        log.contains("sluice.toml:"),
        "the error names the file and line: {log}"
    );
    sluice.stop();
}

#[test]
fn check_prints_what_each_table_becomes_without_streaming() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("check");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.orders (id INT PRIMARY KEY, email TEXT); CREATE TABLE {name}.tmp_x (id INT); CREATE TABLE {name}.lines (o INT, n INT, PRIMARY KEY (o, n));"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugin_dir = crate::plugins::plugin_dir(dir.path(), &["pii-mask"]);
    let config = dir.path().join("sluice.toml");
    SluiceConfig::new(&db.url(), &brokers)
        .topic_prefix(None)
        .plugins_dir(&plugin_dir)
        .rule(
            Rule::tables(&[&format!("{name}.orders")])
                .topic("orders-{db}")
                .exclude_columns(&["email"])
                .ops(&["insert", "update"])
                .plugins([Step::new("pii-mask").set("columns", "email")]),
        )
        .rule(Rule::tables(&[&format!("{name}.*")]).exclude(&[&format!("{name}.tmp_*")]))
        .write(&config);
    let out = crate::sluice::command("check", &config, &[]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("preflight passed"), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "kafka    {brokers} (security_protocol = \"plaintext\"): reachable"
        )),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("  {name}.orders  -> topic orders-{name}  key (id)  columns all but email  ops insert,update  chain [pii-mask]  rule #0")), "{stdout}");
    assert!(
        stdout.contains("plugins  ") && stdout.contains(": pii-mask"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("  {name}.lines  -> topic {name}.lines  key (o, n)  columns all  ops insert,update,delete  rule #1")), "{stdout}");
    assert!(
        stdout.contains(&format!("  {name}.tmp_x  not captured (no rule matches)")),
        "{stdout}"
    );
    assert!(
        !dir.path().join("state/checkpoint.json").exists(),
        "check streams nothing"
    );
}

/// One transaction's rule versions, tables, and id.
type TxnRoutes = (Vec<String>, Vec<String>, u64);

/// What the version topics hold.
#[derive(Default)]
struct Routed {
    /// Per transaction (its source position): the versions and tables it
    /// went to, and its id.
    by_txn: BTreeMap<(String, u64), TxnRoutes>,
    /// The ids of the transactions seen.
    ids: BTreeSet<u64>,
}

/// Reads every topic a version of the rules routes to.
fn read_routed(brokers: &str, tag: &str, name: &str) -> Routed {
    let mut routed = Routed::default();
    let topics = [
        ("v1", "a"),
        ("v2", "a"),
        ("v2", "b"),
        ("v3", "b"),
        ("v3", "c"),
        ("v4", "b"),
        ("v4", "c"),
    ];
    for (v, t) in topics {
        let got = events(brokers, &format!("{tag}.{v}.{name}.{t}"), 1);
        eprintln!("{v}.{t}: {} events", got.len());
        for e in got {
            let (file, pos, _) = e.identity();
            let id = e.value["after"]["id"].as_u64().unwrap();
            routed.ids.insert(id);
            // Only the chain of v4 drops the column.
            assert_eq!(
                e.value["after"].get("secret").is_none(),
                v == "v4",
                "{v}: {}",
                e.value
            );
            let entry = routed
                .by_txn
                .entry((file, pos))
                .or_insert_with(|| (vec![], vec![], id));
            entry.0.push(v.to_string());
            entry.1.push(t.to_string());
            assert_eq!(entry.2, id, "one transaction, one id");
        }
    }
    routed
}
