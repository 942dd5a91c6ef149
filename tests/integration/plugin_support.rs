//! Runs the built example plugins in-process through the library's plugin
//! host (no database, no broker), for `plugin_examples` and
//! `plugin_polyglot`.

use std::path::Path;

use serde_json::json;
use sluice::plugin::{
    Chain, ChainSpec, EventBatch, Op, PluginGeneration, PluginHostConfig, PluginRegistry,
};

use crate::plugins::{built, built_dir};

/// A MessagePack event as the decoder produces it, keys in its order.
pub fn event(op: &str, before: serde_json::Value, after: serde_json::Value) -> Vec<u8> {
    let m = |j: &serde_json::Value| rmpv::ext::to_value(j).unwrap();
    let source = json!({"server_id": 1, "file": "bin.000001", "pos": 4, "row": 0, "gtid": null,
                        "db": "shop", "table": "users", "ts_ms": 0});
    let v = rmpv::Value::Map(vec![
        ("v".into(), 1.into()),
        ("op".into(), op.into()),
        ("after".into(), m(&after)),
        ("before".into(), m(&before)),
        ("source".into(), m(&source)),
        ("ts_ms".into(), 0.into()),
    ]);
    let mut buf = Vec::new();
    rmpv::encode::write_value(&mut buf, &v).unwrap();
    buf
}

/// An event as JSON. Strings that are not UTF-8, binary and extension
/// values (which no example writes where these tests look) fail the test.
pub fn decode(bytes: &[u8]) -> serde_json::Value {
    let v = rmpv::decode::read_value(&mut &bytes[..]).unwrap();
    rmpv::ext::from_value(v).unwrap()
}

/// A batch of `shop.users` events, the row as the after image (the before
/// image for deletes, both images for updates: the images docs/FORMAT.md
/// gives each op, which the host checks a transform's output against).
pub fn users(rows: &[(&str, serde_json::Value)]) -> EventBatch {
    let mut b = EventBatch::new();
    for (op, row) in rows {
        let (before, after) = match *op {
            "d" => (row.clone(), json!(null)),
            "u" => (row.clone(), row.clone()),
            _ => (json!(null), row.clone()),
        };
        b.push("shop", "users", op_of(op), &event(op, before, after))
            .unwrap();
    }
    b
}

pub fn op_of(code: &str) -> Op {
    Op::from_code(code).unwrap()
}

/// `plugins = [...]` in TOML, as a rule would have it.
pub fn spec(toml_list: &str) -> ChainSpec {
    #[derive(serde::Deserialize)]
    struct Rule {
        plugins: ChainSpec,
    }
    toml::from_str::<Rule>(&format!("plugins = {toml_list}"))
        .unwrap()
        .plugins
}

pub fn chain(generation: &PluginGeneration, toml_list: &str) -> Chain {
    Chain::new(generation, &spec(toml_list)).unwrap()
}

/// The error building a chain from `toml_list` gives, as text.
pub fn chain_error(generation: &PluginGeneration, toml_list: &str) -> String {
    match Chain::new(generation, &spec(toml_list)) {
        Ok(_) => panic!("the chain {toml_list} was accepted"),
        Err(e) => e.to_string(),
    }
}

pub fn example_config(dir: &Path) -> PluginHostConfig {
    PluginHostConfig {
        dir: dir.to_path_buf(),
        deadline_ms: 1000,
        max_instances: 32,
        watch: false,
        // Shared across tests and runs: the Python and JavaScript components
        // take 15-25 s each to compile, then load from here in milliseconds.
        cache_dir: Some(built_dir().with_file_name("plugin-cache")),
        ..PluginHostConfig::default()
    }
}

/// A registry over a temp dir holding copies of the named example plugins,
/// which must all have been built and must load.
pub fn example_registry(names: &[&str]) -> (tempfile::TempDir, PluginRegistry) {
    let dir = tempfile::tempdir().unwrap();
    for name in names {
        let tmp = dir.path().join(format!(".{name}.wasm.tmp"));
        std::fs::copy(built(name), &tmp).unwrap();
        std::fs::rename(&tmp, dir.path().join(format!("{name}.wasm"))).unwrap();
    }
    let reg = PluginRegistry::start(&example_config(dir.path())).unwrap();
    let g = reg.current();
    for name in names {
        assert!(g.problem(name).is_none(), "{name}: {:?}", g.problem(name));
    }
    (dir, reg)
}
