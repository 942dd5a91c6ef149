//! What a transform returns reaches Kafka only when it is a whole row
//! event, and the `op` header always agrees with the value's `op`: through
//! the real pipeline, invalid output and an op the value contradicts go to
//! the dead-letter topic as the rows were, and a transform that changes the
//! op consistently is produced with the new op in both places.

use std::path::Path;
use std::time::Duration;

use serde_json::json;

use crate::sluice::{unique, Event, Sluice};
use crate::support::{self, Rule, SluiceConfig, Step};

/// A transform component that replaces every event with `bytes`, returned
/// with op `op` (create 0, update 1, delete 2, read 3). Written as WAT and
/// encoded here, like the unit tests' guests, so no toolchain is needed.
fn emit_for_each(bytes: &[u8], op: u8) -> Vec<u8> {
    let data: String = bytes.iter().map(|b| format!("\\{b:02x}")).collect();
    let len = bytes.len();
    let module = format!(
        r#"(module
  (memory (export "memory") 1)
  (global $heap (mut i32) (i32.const 4096))
  (func $alloc (param $size i32) (param $align i32) (result i32)
    (local $p i32)
    (local.set $p (i32.and
      (i32.add (global.get $heap) (i32.sub (local.get $align) (i32.const 1)))
      (i32.sub (i32.const 0) (local.get $align))))
    (global.set $heap (i32.add (local.get $p) (local.get $size)))
    (if (i32.gt_u (global.get $heap) (i32.mul (memory.size) (i32.const 65536)))
      (then (drop (memory.grow (i32.add (i32.const 1)
        (i32.shr_u (i32.sub (global.get $heap) (i32.mul (memory.size) (i32.const 65536))) (i32.const 16)))))))
    (local.get $p))
  (func (export "cabi_realloc") (param i32 i32 i32 i32) (result i32)
    (call $alloc (local.get 3) (local.get 2)))
  (data (i32.const 1024) "{data}")
  (func (export "sluice:plugin/transform@0.1.0#transform")
      (param $tp i32) (param $tn i32) (param $ep i32) (param $en i32) (param $dp i32) (param $dn i32) (result i32)
    (local $out i32) (local $i i32) (local $o i32)
    (local.set $out (call $alloc (i32.mul (local.get $en) (i32.const 16)) (i32.const 4)))
    (block $done (loop $next
      (br_if $done (i32.ge_u (local.get $i) (local.get $en)))
      (local.set $o (i32.add (local.get $out) (i32.mul (local.get $i) (i32.const 16))))
      (i32.store (local.get $o) (local.get $i))
      (i32.store8 (i32.add (local.get $o) (i32.const 4)) (i32.const {op}))
      (i32.store (i32.add (local.get $o) (i32.const 8)) (i32.const 0))
      (i32.store (i32.add (local.get $o) (i32.const 12)) (i32.const {len}))
      (local.set $i (i32.add (local.get $i) (i32.const 1)))
      (br $next)))
    (i32.store8 (i32.const 16) (i32.const 0))
    (i32.store (i32.const 20) (local.get $out))
    (i32.store (i32.const 24) (local.get $en))
    (i32.store (i32.const 28) (i32.const 1024))
    (i32.store (i32.const 32) (i32.const {len}))
    (i32.const 16))
  (func (export "cabi_post_sluice:plugin/transform@0.1.0#transform") (param i32)
    (global.set $heap (i32.const 4096)))
)"#
    );
    let mut module = wat::parse_str(&module).expect("the guest's WAT parses");
    let wit = include_str!("../../wit/plugin.wit");
    let mut resolve = wit_parser::Resolve::default();
    let pkg = resolve.push_str("plugin.wit", wit).unwrap();
    let world = resolve
        .select_world(&[pkg], Some("transform-export"))
        .unwrap();
    wit_component::embed_component_metadata(
        &mut module,
        &resolve,
        world,
        wit_component::StringEncoding::UTF8,
    )
    .unwrap();
    wit_component::ComponentEncoder::default()
        .module(&module)
        .unwrap()
        .validate(true)
        .encode()
        .unwrap()
}

/// A complete row event with op `op` and the images given.
fn row_event(op: &str, before: serde_json::Value, after: serde_json::Value) -> Vec<u8> {
    let source = json!({"server_id": 1, "file": "f", "pos": 4, "row": 0, "gtid": null,
                        "db": "x", "table": "y", "ts_ms": 0});
    let event = json!({"v": 1, "op": op, "after": after, "before": before,
                       "source": source, "ts_ms": 0});
    let mut buf = Vec::new();
    rmpv::encode::write_value(&mut buf, &rmpv::ext::to_value(&event).unwrap()).unwrap();
    buf
}

fn install(dir: &Path, name: &str, component: &[u8]) {
    std::fs::write(dir.join(format!("{name}.wasm")), component).unwrap();
}

/// Three tables, one transaction, one topic: table `a`'s transform returns
/// broken MessagePack, `b`'s a create event with op delete, `c`'s a delete
/// event with op delete. Only `c`'s output reaches the topic, with header
/// and value both saying `d`; `a`'s and `b`'s rows go to the dead-letter
/// topic unchanged, their headers agreeing with their values.
#[test]
fn invalid_transform_output_and_contradicting_ops_never_reach_kafka() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("outs");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.a (id INT PRIMARY KEY); \
         CREATE TABLE {name}.b (id INT PRIMARY KEY); CREATE TABLE {name}.c (id INT PRIMARY KEY);"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = dir.path().join("plugins");
    std::fs::create_dir_all(&plugins).unwrap();
    install(&plugins, "garbage", &emit_for_each(b"\x81\xc1\xc1", 0));
    let create = row_event("c", json!(null), json!({"id": 99}));
    install(&plugins, "liar", &emit_for_each(&create, 2));
    let delete = row_event("d", json!({"id": 99}), json!(null));
    install(&plugins, "to-delete", &emit_for_each(&delete, 2));

    let tag = unique("po");
    let (out_topic, dlq) = (format!("{tag}.out"), format!("{tag}.dlq"));
    let mut config = SluiceConfig::from_now(db, &brokers)
        .kafka("dead_letter_topic", dlq.as_str())
        .plugins_dir(&plugins);
    for (table, plugin) in [("a", "garbage"), ("b", "liar"), ("c", "to-delete")] {
        config = config.rule(
            Rule::tables(&[&format!("{name}.{table}")])
                .topic(&out_topic)
                .plugins([Step::new(plugin).on_error("dead-letter")]),
        );
    }
    let mut sluice = Sluice::run(&dir.path().join("run"), &config);
    db.sql(&format!(
        "BEGIN; INSERT INTO {name}.a VALUES (1); INSERT INTO {name}.b VALUES (2); \
         INSERT INTO {name}.c VALUES (3); COMMIT;"
    ))
    .unwrap();

    let out = support::consume_all_blocking(&brokers, &out_topic, 1, Duration::from_secs(60));
    assert_eq!(out.len(), 1, "only c's output; log:\n{}", sluice.log());
    let e = Event::from_message(&out[0]);
    assert_eq!(
        e.value,
        sluice::tail::msgpack_to_json(&delete),
        "{}",
        sluice.log()
    );
    assert_eq!(e.header("op"), Some("d"));
    assert_eq!(e.header("table"), Some("c"));

    let dead: Vec<Event> = crate::sluice::events(&brokers, &dlq, 2);
    assert_eq!(dead.len(), 2, "{}", sluice.log());
    for (e, (table, id, why)) in dead.iter().zip([
        ("a", 1, "invalid MessagePack byte 0xc1"),
        (
            "b",
            2,
            "the event's op is \"c\" but the plugin returned op \"d\"",
        ),
    ]) {
        assert_eq!(e.header("table"), Some(table));
        assert_eq!(e.value["after"]["id"], id, "the row as it was: {}", e.value);
        assert_eq!(
            (e.header("op"), e.value["op"].as_str()),
            (Some("c"), Some("c"))
        );
        let error = e.header("sluice.dead_letter.error").unwrap_or_default();
        assert!(error.contains(why), "{table}: {error}");
    }
    sluice.stop();
}

/// A router may not write into Kafka's internal topics (`__` names), but
/// may name Sluice's own dead-letter topic even when that starts with
/// `__`: the row routed to `__consumer_offsets` goes to the dead-letter
/// topic with the refusal in its headers, the one routed to the dead-letter
/// topic's name lands there as a plain event.
#[test]
fn routes_to_internal_topics_are_refused_but_sluices_own_are_not() {
    let s = support::shared();
    let (db, brokers) = (&s.mariadb, s.tansu.brokers());
    let name = unique("intl");
    db.sql(&format!(
        "CREATE DATABASE {name}; CREATE TABLE {name}.t (id INT PRIMARY KEY, dest VARCHAR(60));"
    ))
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let plugins = crate::plugins::plugin_dir(dir.path(), &["tenant-router"]);
    let tag = unique("ri");
    let dlq = format!("__{tag}_dlq");
    let config = SluiceConfig::from_now(db, &brokers)
        .kafka("dead_letter_topic", dlq.as_str())
        .plugins_dir(&plugins)
        .rule(
            Rule::tables(&[&format!("{name}.t")])
                .topic(&format!("{tag}.t"))
                .plugins([Step::new("tenant-router")
                    .set("column", "dest")
                    .set("topic", "{value}")
                    .on_error("dead-letter")]),
        );
    let mut sluice = Sluice::run(&dir.path().join("run"), &config);
    db.sql(&format!(
        "BEGIN; INSERT INTO {name}.t VALUES (1, '{dlq}'); \
         INSERT INTO {name}.t VALUES (2, '__consumer_offsets'); COMMIT;"
    ))
    .unwrap();
    let dead = crate::sluice::events(&brokers, &dlq, 2);
    assert_eq!(dead.len(), 2, "{}", sluice.log());
    let ids: Vec<_> = dead
        .iter()
        .map(|e| e.value["after"]["id"].clone())
        .collect();
    assert_eq!(ids, [json!(1), json!(2)]);
    assert_eq!(dead[0].header("sluice.dead_letter.error"), None);
    let error = dead[1]
        .header("sluice.dead_letter.error")
        .unwrap_or_default();
    assert!(
        error.contains("\"__consumer_offsets\" is an internal topic"),
        "{error}"
    );
    sluice.stop();
}
