//! Plugins in the running pipeline: a rule's chain filters and masks what
//! reaches Kafka, per-plugin settings come from the config file, and a
//! plugin dropped into the directory while Sluice runs is picked up at a
//! transaction boundary.

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::json;

use crate::sluice::{base_config, events, master_position, unique, Sluice};
use crate::support;

/// The example plugins, built by scripts/build-plugins (which scripts/test
/// runs first) into the target directory.
pub fn built(name: &str) -> PathBuf {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let target =
        std::env::var_os("CARGO_TARGET_DIR").map_or_else(|| root.join("target"), PathBuf::from);
    let path = target.join("plugins").join(format!("{name}.wasm"));
    if !path.exists() {
        let ok = std::process::Command::new(root.join("scripts/build-plugins"))
            .env("PLUGIN_OUT", target.join("plugins"))
            .status()
            .unwrap()
            .success();
        assert!(ok, "scripts/build-plugins failed");
    }
    path
}

#[test]
fn a_rules_chain_filters_and_masks_and_new_plugins_are_picked_up() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("plug");
    db.sql(&format!("CREATE DATABASE {name}; CREATE TABLE {name}.users (id INT PRIMARY KEY, email VARCHAR(50), status VARCHAR(10));")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    fs::create_dir_all(&plugins).unwrap();
    fs::copy(built("pii-mask"), plugins.join("pii-mask.wasm")).unwrap();
    let tag = unique("pt");
    let rules = |chain: &str| {
        format!(
            "[plugins]\ndir = \"{}\"\n\n[[rules]]\ntables = [\"{name}.*\"]\ntopic = \"{tag}.{{table}}\"\nplugins = [{chain}]\n",
            plugins.display()
        )
    };
    let config = dir.path().join("sluice.toml");
    let base = base_config(&db.url(), &brokers, &master_position(db));
    fs::write(
        &config,
        format!(
            "{base}{}",
            rules("{ name = \"pii-mask\", config = { columns = \"email\", mode = \"drop\" } }")
        ),
    )
    .unwrap();
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
    let deadline = Instant::now() + Duration::from_secs(60);
    while !sluice.log().contains("row-filter") {
        assert!(
            Instant::now() < deadline,
            "the new plugin was not loaded:\n{}",
            sluice.log()
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    let chain = "{ name = \"row-filter\", config = { column = \"status\", equals = \"active\" } }, { name = \"pii-mask\", config = { columns = \"email\", mode = \"drop\" } }";
    let tmp = dir.path().join("sluice.toml.new");
    fs::write(&tmp, format!("{base}{}", rules(chain))).unwrap();
    fs::rename(&tmp, &config).unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while !sluice.log().contains("config reloaded") {
        assert!(Instant::now() < deadline, "{}", sluice.log());
        std::thread::sleep(Duration::from_millis(100));
    }
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
