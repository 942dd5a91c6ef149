//! The Python, JavaScript and C examples that decide from metadata only,
//! and the JavaScript transform: run in-process like `plugin_examples`.

use serde_json::json;
use sluice::plugin::{EventBatch, Op, PluginRegistry};

use crate::plugin_support::{
    chain, chain_error, decode, event, example_config, example_registry, op_of, users,
};

#[test]
fn plugin_python_example_filters_by_table_and_op() {
    // Built by componentize-py: a CPython interpreter inside the component.
    let (dir, reg) = example_registry(&["py-table-filter"]);
    let g = reg.current();
    let mut c = chain(
        &g,
        r#"[{ name = "py-table-filter", config = { tables = "shop.audit", ops = "c,u" } }]"#,
    );
    let mut b = EventBatch::new();
    for (table, op) in [
        ("users", "c"),
        ("audit", "c"),
        ("users", "d"),
        ("users", "u"),
    ] {
        b.push(
            "shop",
            table,
            op_of(op),
            &event(op, json!(null), json!({"id": 1})),
        )
        .unwrap();
    }
    c.run(&mut b).unwrap();
    assert_eq!(b.output().map(|e| e.origin).collect::<Vec<_>>(), [0, 3]);

    let err = chain_error(
        &g,
        r#"[{ name = "py-table-filter", config = { ops = "x" } }]"#,
    );
    assert!(err.contains("ops: 'x' is not one of c, u, d, r"), "{err}");

    // The compiled artifact is cached: a second start skips the compile.
    // (The first load may also have come from the cache of an earlier run.)
    drop((c, g, reg));
    let t = std::time::Instant::now();
    let reg = PluginRegistry::start(&example_config(dir.path())).unwrap();
    assert!(reg.current().get("py-table-filter").is_some());
    eprintln!("python plugin reload from cache: {:?}", t.elapsed());
}

#[test]
fn plugin_javascript_example_routes_by_table() {
    // Built by componentize-js: the StarlingMonkey engine inside the component.
    let (_d, reg) = example_registry(&["js-table-router"]);
    let g = reg.current();
    let mut c = chain(
        &g,
        r#"[{ name = "js-table-router", config = { prefix = "cdc", keep = "shop.audit" } }]"#,
    );
    let mut b = EventBatch::new();
    for (db, table) in [("shop", "users"), ("shop", "audit"), ("crm", "lead$s")] {
        b.push(
            db,
            table,
            Op::Create,
            &event("c", json!(null), json!({"id": 1})),
        )
        .unwrap();
    }
    c.run(&mut b).unwrap();
    let topics: Vec<_> = b.output().map(|e| e.topic).collect();
    assert_eq!(
        topics,
        [Some("cdc.shop.users"), None, Some("cdc.crm.lead_s")]
    );

    let err = chain_error(
        &g,
        r#"[{ name = "js-table-router", config = { keep = "a.b" } }]"#,
    );
    assert!(err.contains("missing setting `prefix`"), "{err}");
}

#[test]
fn plugin_c_example_keys_by_table() {
    // Built from C with wit-bindgen's C bindings and wasi-libc.
    let (_d, reg) = example_registry(&["c-table-key"]);
    let g = reg.current();
    let mut c = chain(
        &g,
        r#"[{ name = "c-table-key", config = { prefix = "k:" } }]"#,
    );
    let mut b = EventBatch::new();
    for (db, table) in [("shop", "users"), ("crm", "leads"), ("shop", "users")] {
        b.push(
            db,
            table,
            Op::Create,
            &event("c", json!(null), json!({"id": 1})),
        )
        .unwrap();
    }
    c.run(&mut b).unwrap();
    let keys: Vec<_> = b.output().map(|e| e.key.unwrap()).collect();
    assert_eq!(
        keys,
        [&b"k:shop.users"[..], b"k:crm.leads", b"k:shop.users"]
    );

    let err = chain_error(
        &g,
        r#"[{ name = "c-table-key", config = { prefx = "x" } }]"#,
    );
    assert!(err.contains("unknown setting (known: prefix)"), "{err}");
}

#[test]
fn plugin_javascript_transform_drops_columns() {
    // A transform in JavaScript, with its own MessagePack codec.
    let (_d, reg) = example_registry(&["js-drop-columns"]);
    let g = reg.current();
    let mut c = chain(
        &g,
        r#"[{ name = "js-drop-columns", config = { columns = "email, phone" } }]"#,
    );
    let row = json!({"id": 1, "email": "a@x", "phone": "5", "score": 1.5, "neg": -5, "big": 5_000_000_000u64,
                     "tags": ["a", "b"], "doc": {"k": [1, null]}, "name": "é".repeat(40)});
    let mut b = users(&[("u", row.clone()), ("d", row.clone())]);
    c.run(&mut b).unwrap();
    let mut expected = row;
    expected
        .as_object_mut()
        .unwrap()
        .retain(|k, _| k != "email" && k != "phone");
    let out: Vec<_> = b.output().map(|e| (e.op, decode(e.bytes))).collect();
    assert_eq!(out.len(), 2);
    assert_eq!(out[0].0, Op::Update);
    assert_eq!(out[0].1["after"], expected);
    assert_eq!(out[1].1["before"], expected);
    assert_eq!(out[1].1["after"], json!(null));
    assert_eq!(out[1].1["source"]["table"], "users");
}
