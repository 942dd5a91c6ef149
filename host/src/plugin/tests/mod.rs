//! Plugin tests. Every guest is a WAT module turned into a component
//! in-process (see `wat`), so these tests build nothing outside the crate
//! and install nothing. They cover the kinds, chains, settings, failure
//! policies, limits, versions, hot swap, the sandbox and `plugin test`. The
//! example plugins themselves (Rust SDK, Python, JavaScript, C) are tested
//! in the integration suite, which scripts/test runs after building them.

mod chains;
mod event_check;
mod failures;
mod hotswap;
mod kinds;
mod outputs;
mod sandbox;
mod tombstones;
mod versions;
pub(super) mod wat;

use std::path::Path;

use serde_json::json;

use super::{Chain, ChainSpec, EventBatch, PluginGeneration, PluginHostConfig, PluginRegistry};
use crate::event::Op;

/// A MessagePack event as the decoder produces it, keys in its order.
pub(super) fn event(op: &str, before: serde_json::Value, after: serde_json::Value) -> Vec<u8> {
    let m = crate::event::json::from_json;
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

pub(super) fn op_of(code: &str) -> Op {
    Op::from_code(code).unwrap()
}

/// A batch of events for `shop.users`, one per op code, with `id` = index.
pub(super) fn batch_of(ops: &[&str]) -> EventBatch {
    let mut b = EventBatch::new();
    for (i, op) in ops.iter().enumerate() {
        let row = json!({"id": i, "email": format!("u{i}@example.com"), "tenant_id": format!("t{}", i % 2)});
        // The images docs/FORMAT.md gives each op.
        let (before, after) = match *op {
            "d" => (row, json!(null)),
            "u" => (row.clone(), row),
            _ => (json!(null), row),
        };
        b.push("shop", "users", op_of(op), &event(op, before, after))
            .unwrap();
    }
    b
}

pub(super) fn config(dir: &Path) -> PluginHostConfig {
    PluginHostConfig {
        dir: dir.to_path_buf(),
        deadline_ms: 50,
        max_instances: 32,
        watch: false,
        ..PluginHostConfig::default()
    }
}

/// Writes a plugin file the way a careful deployer does: temp + rename.
pub(super) fn install(dir: &Path, name: &str, bytes: &[u8]) {
    let tmp = dir.join(format!(".{name}.wasm.tmp"));
    std::fs::write(&tmp, bytes).unwrap();
    std::fs::rename(&tmp, dir.join(format!("{name}.wasm"))).unwrap();
}

/// `plugins = [...]` in TOML, as a rule would have it.
pub(super) fn spec(toml_list: &str) -> ChainSpec {
    #[derive(serde::Deserialize)]
    struct Rule {
        plugins: ChainSpec,
    }
    toml::from_str::<Rule>(&format!("plugins = {toml_list}"))
        .unwrap()
        .plugins
}

pub(super) fn chain(generation: &PluginGeneration, toml_list: &str) -> Chain {
    Chain::new(generation, &spec(toml_list)).unwrap()
}

/// A registry over a temp dir holding the given WAT plugins (version 0.1.0).
pub(super) fn wat_registry(plugins: &[(&str, String)]) -> (tempfile::TempDir, PluginRegistry) {
    let dir = tempfile::tempdir().unwrap();
    for (name, wat) in plugins {
        install(
            dir.path(),
            name,
            &wat::component(wat, world_of(wat), "0.1.0"),
        );
    }
    let reg = PluginRegistry::start(&config(dir.path())).unwrap();
    (dir, reg)
}

pub(super) fn world_of(wat: &str) -> &'static str {
    if wat.contains("lifecycle@") {
        "filter-plugin"
    } else if wat.contains("#route") {
        "route-export"
    } else if wat.contains("#transform") {
        "transform-export"
    } else if wat.contains("#key") {
        "key-export"
    } else {
        "filter-export"
    }
}

pub(super) fn ops_out(b: &EventBatch) -> Vec<String> {
    b.output().map(|e| e.op.code().to_string()).collect()
}

/// The error building a chain from `toml_list` gives, as text.
pub(super) fn chain_error(generation: &PluginGeneration, toml_list: &str) -> String {
    match Chain::new(generation, &spec(toml_list)) {
        Ok(_) => panic!("the chain {toml_list} was accepted"),
        Err(e) => e.to_string(),
    }
}

/// The pipeline moves chains and batches between tasks and shares the
/// registry and generations between threads.
#[test]
fn plugin_types_are_send_and_sync_where_needed() {
    fn send<T: Send>() {}
    fn send_sync<T: Send + Sync>() {}
    send::<Chain>();
    send::<EventBatch>();
    send_sync::<PluginRegistry>();
    send_sync::<std::sync::Arc<PluginGeneration>>();
    send_sync::<crate::plugin::PluginError>();
}

/// Plugin log calls reach tracing, tagged with the plugin's name.
#[test]
fn plugin_log_goes_to_tracing_with_the_plugin_name() {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf(Arc::new(Mutex::new(Vec::new())));
    let writer = buf.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_writer(move || writer.clone())
        .with_ansi(false)
        .finish();
    let (_d, reg) = wat_registry(&[("chatty", wat::drop_deletes_logging())]);
    let mut c = chain(&reg.current(), r#"["chatty"]"#);
    tracing::subscriber::with_default(subscriber, || c.run(&mut batch_of(&["c"])).unwrap());
    let out = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
    assert!(
        out.contains("INFO") && out.contains("plugin=\"chatty\"") && out.contains("nope"),
        "{out}"
    );
}
