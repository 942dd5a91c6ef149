//! The Rust example plugins (through the SDK), run in-process: each kind,
//! chain order, per-plugin settings, the sandbox probe, `plugin test`.
//! scripts/test builds them before `cargo test` runs.

use serde_json::json;
use sluice::plugin::cli::plugin_test;
use sluice::plugin::{Chain, EventBatch, PluginError};

use crate::plugin_support::{
    chain, chain_error, decode, event, example_registry, op_of, spec, users,
};
use crate::plugins::built;

#[test]
fn plugin_examples_each_kind_in_one_chain() {
    let (_d, reg) = example_registry(&["row-filter", "tenant-router", "key-columns", "pii-mask"]);
    let g = reg.current();
    for p in g.plugins() {
        assert_eq!(
            p.kinds().to_string(),
            match p.name() {
                "row-filter" => "filter",
                "tenant-router" => "route",
                "key-columns" => "key",
                _ => "transform",
            }
        );
    }
    let mut chain = chain(
        &g,
        r#"[
            { name = "row-filter", config = { ops = "c,u,d", column = "status", equals = "active" } },
            { name = "pii-mask", config = { columns = "email", salt = "s" } },
            { name = "tenant-router", config = { column = "tenant", topic = "cdc.{value}.{table}" } },
            { name = "key-columns", config = { columns = "tenant,id" } },
        ]"#,
    );
    let mut b = users(&[
        (
            "c",
            json!({"id": 1, "tenant": "acme", "status": "active", "email": "a@x"}),
        ),
        (
            "c",
            json!({"id": 2, "tenant": "acme", "status": "closed", "email": "b@x"}),
        ),
        (
            "u",
            json!({"id": 3, "tenant": "Big Co", "status": "active", "email": null}),
        ),
        (
            "r",
            json!({"id": 4, "tenant": "acme", "status": "active", "email": "d@x"}),
        ),
        (
            "d",
            json!({"id": 5, "tenant": "zeta", "status": "active", "email": "e@x"}),
        ),
    ]);
    let stats = chain.run(&mut b).unwrap();
    assert_eq!(stats, Default::default());
    let out: Vec<_> = b.output().collect();
    assert_eq!(out.iter().map(|e| e.origin).collect::<Vec<_>>(), [0, 2, 4]);
    assert_eq!(
        out.iter().map(|e| e.topic.unwrap()).collect::<Vec<_>>(),
        ["cdc.acme.users", "cdc.Big_Co.users", "cdc.zeta.users"]
    );
    assert_eq!(
        out.iter().map(|e| e.key.unwrap()).collect::<Vec<_>>(),
        [&b"acme|1"[..], b"Big Co|3", b"zeta|5"]
    );
    let first = decode(out[0].bytes);
    let hashed = first["after"]["email"].as_str().unwrap();
    assert_eq!(hashed.len(), 64, "{first}");
    assert_ne!(hashed, "a@x");
    assert_eq!(first["after"]["id"], 1);
    assert_eq!(decode(out[1].bytes)["after"]["email"], json!(null));
    assert!(
        decode(out[2].bytes)["before"]["email"]
            .as_str()
            .unwrap()
            .len()
            == 64
    );
}

#[test]
fn plugin_chain_order_matters() {
    let (_d, reg) = example_registry(&["key-columns", "pii-mask"]);
    let g = reg.current();
    let row = json!({"id": 1, "email": "a@x"});
    let mut key_then_mask = chain(
        &g,
        r#"[{ name = "key-columns", config = { columns = "email" } }, { name = "pii-mask", config = { columns = "email", mode = "drop" } }]"#,
    );
    let mut b = users(&[("c", row.clone())]);
    key_then_mask.run(&mut b).unwrap();
    let e = b.output().next().unwrap();
    assert_eq!(e.key, Some(&b"a@x"[..]));
    assert_eq!(decode(e.bytes)["after"], json!({"id": 1}));

    let mut mask_then_key = chain(
        &g,
        r#"[{ name = "pii-mask", config = { columns = "email", mode = "drop" } }, { name = "key-columns", config = { columns = "email" } }]"#,
    );
    let mut b = users(&[("c", row)]);
    mask_then_key.run(&mut b).unwrap();
    assert_eq!(
        b.output().next().unwrap().key,
        None,
        "email was dropped before the key was chosen"
    );
}

#[test]
fn plugin_instances_get_their_own_settings() {
    let (_d, reg) = example_registry(&["row-filter"]);
    let g = reg.current();
    // The same plugin twice in one chain, with different settings.
    let mut c = chain(
        &g,
        r#"[{ name = "row-filter", config = { ops = "c,u" } }, { name = "row-filter", config = { column = "id", equals = "1,2" } }]"#,
    );
    let mut b = users(&[
        ("c", json!({"id": 1})),
        ("d", json!({"id": 2})),
        ("u", json!({"id": 2})),
        ("c", json!({"id": 3})),
    ]);
    c.run(&mut b).unwrap();
    assert_eq!(b.output().map(|e| e.origin).collect::<Vec<_>>(), [0, 2]);

    let err = Chain::new(
        &g,
        &spec(r#"[{ name = "row-filter", config = { ops = "x" } }]"#),
    )
    .err()
    .unwrap();
    assert!(matches!(err, PluginError::ConfigRejected { .. }));
    assert!(
        err.to_string()
            .contains("ops: `x` is not one of c, u, d, r"),
        "{err}"
    );
    let err = chain_error(
        &g,
        r#"[{ name = "row-filter", config = { colum = "id" } }]"#,
    );
    assert!(err.contains("unknown setting `colum`"), "{err}");
}

#[test]
fn plugin_sandbox_denies_files_network_clock_and_env() {
    let (_d, reg) = example_registry(&["sandbox-probe"]);
    let mut c = chain(&reg.current(), r#"["sandbox-probe"]"#);
    let mut b = users(&[("c", json!({"id": 1}))]);
    c.run(&mut b).unwrap();
    assert_eq!(
        b.output().next().unwrap().topic,
        Some("probe.fs-denied.net-denied.clock-0.env-0.map-1")
    );

    // Sleeping would block the host outside the deadline's reach: it traps
    // when the sleep starts (this error), instead of after 60 s or never.
    let mut c = chain(
        &reg.current(),
        r#"[{ name = "sandbox-probe", config = { sleep_ms = 60000 } }]"#,
    );
    let err = c.run(&mut users(&[("c", json!({"id": 1}))])).unwrap_err();
    assert!(
        err.to_string().contains("waiting for time is not granted"),
        "{err}"
    );
}

/// A Rust plugin's panic is reported by its message, on one line: no
/// backtrace in the error or in the dead-letter header.
#[test]
fn a_plugin_panic_is_reported_by_its_message_in_one_line() {
    let (_d, reg) = example_registry(&["sandbox-probe"]);
    let mut c = chain(
        &reg.current(),
        r#"[{ name = "sandbox-probe", config = { panic = "no column `tenant` in shop.users" } }]"#,
    );
    let err = c
        .run(&mut users(&[("c", json!({"id": 1}))]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("panicked at sandbox-probe/src/lib.rs:")
            && err.ends_with("no column `tenant` in shop.users"),
        "{err}"
    );
    assert!(!err.contains('\n') && !err.contains("backtrace"), "{err}");

    let mut dl = chain(
        &reg.current(),
        r#"[{ name = "sandbox-probe", config = { panic = "boom" }, on_error = "dead-letter" }]"#,
    );
    let mut b = users(&[("c", json!({"id": 1})), ("c", json!({"id": 2}))]);
    dl.run(&mut b).unwrap();
    for out in b.output() {
        let note = out.dead_letter.expect("dead-lettered");
        assert!(note.error.ends_with(": boom"), "{}", note.error);
        assert!(note.error.len() < 100, "{}", note.error);
    }
}

#[test]
fn plugin_test_cli_function_prints_decisions() {
    let path = built("pii-mask");
    let input = r#"{"db":"shop","table":"users","op":"c","before":null,"after":{"id":1,"email":"a@x"}}

{"v":1,"op":"d","before":{"id":2,"email":"b@x"},"after":null,"source":{"db":"shop","table":"users"},"ts_ms":5}
"#;
    let mut out = Vec::new();
    let summary = plugin_test(
        &path,
        &["columns=email".into(), "mode=drop".into()],
        input.as_bytes(),
        &mut out,
    )
    .unwrap();
    assert_eq!((summary.lines, summary.kept, summary.errors), (2, 2, 0));
    let lines: Vec<serde_json::Value> = String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(lines[0]["line"], 1);
    assert_eq!(lines[0]["kept"], true);
    assert_eq!(lines[0]["out"][0]["event"]["after"], json!({"id": 1}));
    assert_eq!(lines[0]["out"][0]["event"]["source"]["table"], "users");
    assert_eq!(lines[1]["line"], 3);
    assert_eq!(lines[1]["out"][0]["event"]["before"], json!({"id": 2}));
    assert_eq!(lines[1]["out"][0]["event"]["ts_ms"], 5);

    let filter = built("row-filter");
    let mut out = Vec::new();
    let s = plugin_test(&filter, &["ops=d".into()], input.as_bytes(), &mut out).unwrap();
    assert_eq!((s.kept, s.dropped), (1, 1));
    let err = plugin_test(&filter, &["ops=q".into()], input.as_bytes(), Vec::new()).unwrap_err();
    assert!(matches!(err, PluginError::ConfigRejected { .. }), "{err}");
}

/// Sluice writes `after` ahead of `before`; events with the other order
/// (written by older versions, by hand, or by a transform) get the same
/// decisions.
#[test]
fn plugin_examples_read_either_image_order() {
    let (_d, reg) = example_registry(&["row-filter", "tenant-router", "key-columns"]);
    let g = reg.current();
    let list = r#"[
        { name = "row-filter", config = { column = "status", equals = "active" } },
        { name = "tenant-router", config = { column = "tenant" } },
        { name = "key-columns", config = { columns = "tenant,id" } },
    ]"#;
    let row =
        |i: u64, status: &str| json!({"id": i, "tenant": format!("t{}", i % 3), "status": status});
    let rows = [
        ("c", json!(null), row(1, "active")),
        ("u", row(2, "closed"), row(2, "active")),
        ("u", row(3, "active"), row(3, "closed")),
        ("d", row(4, "active"), json!(null)),
        ("d", row(5, "closed"), json!(null)),
    ];
    let decide = |before_first: bool| {
        let mut b = EventBatch::new();
        for (op, before, after) in &rows {
            let mut bytes = event(op, before.clone(), after.clone());
            if before_first {
                let mut v = rmpv::decode::read_value(&mut &bytes[..]).unwrap();
                if let rmpv::Value::Map(m) = &mut v {
                    m.swap(2, 3);
                    assert_eq!(m[2].0.as_str(), Some("before"));
                }
                bytes.clear();
                rmpv::encode::write_value(&mut bytes, &v).unwrap();
            }
            b.push("shop", "users", op_of(op), &bytes).unwrap();
        }
        chain(&g, list).run(&mut b).unwrap();
        b.output()
            .map(|e| {
                (
                    e.origin,
                    e.topic.map(str::to_owned),
                    e.key.map(<[u8]>::to_vec),
                )
            })
            .collect::<Vec<_>>()
    };
    let after_first = decide(false);
    assert_eq!(
        after_first,
        [
            (0, Some("shop.users.t1".into()), Some(b"t1|1".to_vec())),
            (1, Some("shop.users.t2".into()), Some(b"t2|2".to_vec())),
            (3, Some("shop.users.t1".into()), Some(b"t1|4".to_vec())),
        ]
    );
    assert_eq!(decide(true), after_first);
}

/// An update that moves a row to another tenant's topic: with split-moves
/// ahead of the router, the old topic gets a delete of the old row and the
/// new topic an insert of the new one (docs/PLUGINS.md, "Routes and updates
/// that move a row"). Other events pass as they came.
#[test]
fn plugin_split_moves_tells_the_old_topic_that_a_row_left() {
    let (_d, reg) = example_registry(&["split-moves", "tenant-router"]);
    let g = reg.current();
    let mut c = chain(
        &g,
        r#"[
            { name = "split-moves", config = { columns = "tenant" } },
            { name = "tenant-router", config = { column = "tenant", topic = "t.{value}" } },
        ]"#,
    );
    let row = |id: u64, tenant: serde_json::Value| json!({"id": id, "tenant": tenant, "n": id});
    let moved = |id: u64, tenant: serde_json::Value| json!({"id": id, "tenant": tenant, "n": 0});
    let null = serde_json::Value::Null;
    let rows = [
        // Moves from a to b.
        ("u", row(1, json!("a")), moved(1, json!("b"))),
        // Changes, but stays in a.
        ("u", row(2, json!("a")), moved(2, json!("a"))),
        ("c", null.clone(), row(3, json!("b"))),
        ("d", row(4, json!("a")), null.clone()),
        // From no tenant (the rule's topic) to a, and from a number to the
        // same text: a router reads 7 as "7".
        ("u", row(5, null.clone()), moved(5, json!("a"))),
        ("u", row(6, json!(7)), moved(6, json!("7"))),
    ];
    let mut b = EventBatch::new();
    for (op, before, after) in &rows {
        b.push(
            "shop",
            "users",
            op_of(op),
            &event(op, before.clone(), after.clone()),
        )
        .unwrap();
    }
    let stats = c.run(&mut b).unwrap();
    assert_eq!(stats.failed_calls, 0, "{stats:?}");
    let out: Vec<_> = b
        .output()
        .map(|e| (e.origin, e.op.code(), e.topic, decode(e.bytes)))
        .collect();
    let shape: Vec<_> = out.iter().map(|(i, op, t, _)| (*i, *op, *t)).collect();
    assert_eq!(
        shape,
        [
            (0, "d", Some("t.a")),
            (0, "c", Some("t.b")),
            (1, "u", Some("t.a")),
            (2, "c", Some("t.b")),
            (3, "d", Some("t.a")),
            (4, "d", None),
            (4, "c", Some("t.a")),
            (5, "u", Some("t.7")),
        ]
    );
    // The halves are whole events: the op in the value, one image each,
    // everything else as the update had it.
    let (update_before, update_after) = (&rows[0].1, &rows[0].2);
    let delete = &out[0].3;
    assert_eq!(delete["op"], "d");
    assert_eq!(&delete["before"], update_before);
    assert_eq!(delete["after"], null);
    let insert = &out[1].3;
    assert_eq!(insert["op"], "c");
    assert_eq!(&insert["after"], update_after);
    assert_eq!(insert["before"], null);
    let original = decode(&event("u", update_before.clone(), update_after.clone()));
    for half in [delete, insert] {
        assert_eq!(half["source"], original["source"]);
        assert_eq!(half["ts_ms"], original["ts_ms"]);
        assert_eq!(half["v"], 1);
    }
    // What was not split is the input, untouched.
    assert_eq!(
        out[2].3,
        decode(&event("u", rows[1].1.clone(), rows[1].2.clone()))
    );

    let err = chain_error(&g, r#"["split-moves"]"#);
    assert!(err.contains("missing setting `columns`"), "{err}");
    let err = chain_error(
        &g,
        r#"[{ name = "split-moves", config = { column = "x" } }]"#,
    );
    assert!(err.contains("unknown setting `column`"), "{err}");
}
