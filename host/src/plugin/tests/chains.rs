//! Chains of plugins of every kind: kind detection, the order of the steps,
//! each instance's own settings, and `plugin test` over one plugin file.

use serde_json::json;

use super::*;
use crate::plugin::cli::plugin_test;
use crate::plugin::PluginError;

/// One plugin of each kind, each in its own component.
fn each_kind() -> (tempfile::TempDir, PluginRegistry) {
    wat_registry(&[
        ("drop", wat::drop_deletes()),
        ("mask", wat::mask_all()),
        ("route", wat::route_wat(64, 4)),
        ("key", wat::key_by_event()),
    ])
}

#[test]
fn plugin_each_kind_in_one_chain() {
    let (_d, reg) = each_kind();
    let g = reg.current();
    for (name, kinds) in [
        ("drop", "filter"),
        ("mask", "transform"),
        ("route", "route"),
        ("key", "key"),
    ] {
        assert_eq!(g.get(name).unwrap().kinds().to_string(), kinds, "{name}");
    }
    let mut c = chain(&g, r#"["drop", "mask", "route", "key"]"#);
    let mut b = batch_of(&["c", "d", "u", "r", "d"]);
    let stats = c.run(&mut b).unwrap();
    assert_eq!(stats, Default::default());
    let out: Vec<_> = b.output().collect();
    assert_eq!(out.iter().map(|e| e.origin).collect::<Vec<_>>(), [0, 2, 3]);
    assert_eq!(
        out.iter().map(|e| e.op).collect::<Vec<_>>(),
        [Op::Create, Op::Update, Op::Read]
    );
    for e in &out {
        assert_eq!((e.db, e.table), ("shop", "users"));
        assert_eq!(e.topic, Some("nope"));
        assert!(e.rewritten && e.dead_letter.is_none());
        assert_eq!(e.bytes, wat::masked(e.op));
        // The key step ran on the transform's output, not the input.
        assert_eq!(e.key, Some(&wat::masked(e.op)[..]));
    }
}

#[test]
fn plugin_chain_order_matters() {
    let (_d, reg) = each_kind();
    let g = reg.current();
    let input = batch_of(&["c"]);
    let original = input.output().next().unwrap().bytes.to_vec();

    let mut key_then_mask = chain(&g, r#"["key", "mask"]"#);
    let mut b = batch_of(&["c"]);
    key_then_mask.run(&mut b).unwrap();
    let e = b.output().next().unwrap();
    assert_eq!(e.key, Some(&original[..]));
    assert_eq!(e.bytes, wat::masked(Op::Create));

    let mut mask_then_key = chain(&g, r#"["mask", "key"]"#);
    let mut b = batch_of(&["c"]);
    mask_then_key.run(&mut b).unwrap();
    let e = b.output().next().unwrap();
    assert_eq!(
        e.key,
        Some(&wat::masked(Op::Create)[..]),
        "the event was masked before the key was chosen"
    );
}

#[test]
fn plugin_instances_get_their_own_settings() {
    let (_d, reg) = wat_registry(&[("dropper", wat::drop_op_from_settings())]);
    let g = reg.current();
    // The same plugin twice in one chain, with different settings.
    let mut c = chain(
        &g,
        r#"[{ name = "dropper", config = { drop = "d" } }, { name = "dropper", config = { drop = "u" } }]"#,
    );
    let mut b = batch_of(&["c", "d", "u", "r"]);
    c.run(&mut b).unwrap();
    assert_eq!(b.output().map(|e| e.origin).collect::<Vec<_>>(), [0, 3]);
    // And an instance without settings drops nothing.
    let mut plain = chain(&g, r#"["dropper"]"#);
    let mut b = batch_of(&["c", "d", "u", "r"]);
    plain.run(&mut b).unwrap();
    assert_eq!(ops_out(&b), ["c", "d", "u", "r"]);
}

/// `plugin test` output lines, parsed.
fn lines(out: Vec<u8>) -> Vec<serde_json::Value> {
    String::from_utf8(out)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn plugin_test_cli_function_prints_decisions() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, wat: &str| {
        let path = dir.path().join(format!("{name}.wasm"));
        std::fs::write(&path, wat::component(wat, world_of(wat), "0.1.0")).unwrap();
        path
    };
    // A short-form line (expanded into a full event), a blank line
    // (skipped, but counted in line numbers) and a full event.
    let input = r#"{"db":"shop","table":"users","op":"c","before":null,"after":{"id":1,"email":"a@x"}}

{"v":1,"op":"d","before":{"id":2,"email":"b@x"},"after":null,"source":{"db":"shop","table":"users"},"ts_ms":5}
"#;
    // What reaches the plugin, as an identity transform hands it back.
    let identity = write("identity", &wat::identity_transform());
    let mut out = Vec::new();
    let summary = plugin_test(&identity, &[], input.as_bytes(), &mut out).unwrap();
    assert_eq!((summary.lines, summary.kept, summary.errors), (2, 2, 0));
    let lines_out = lines(out);
    assert_eq!(lines_out[0]["line"], 1);
    assert_eq!(lines_out[0]["kept"], true);
    let first = &lines_out[0]["out"][0]["event"];
    assert_eq!(first["after"], json!({"id": 1, "email": "a@x"}));
    assert_eq!(first["source"]["table"], "users");
    assert_eq!(lines_out[1]["line"], 3);
    let second = &lines_out[1]["out"][0]["event"];
    assert_eq!(second["before"], json!({"id": 2, "email": "b@x"}));
    assert_eq!(second["ts_ms"], 5);

    // What the plugin returns is what is printed.
    let mask = write("mask", &wat::mask_all());
    let mut out = Vec::new();
    plugin_test(&mask, &[], input.as_bytes(), &mut out).unwrap();
    for (line, op) in lines(out).iter().zip([Op::Create, Op::Delete]) {
        let masked = rmpv::decode::read_value(&mut &wat::masked(op)[..]).unwrap();
        let masked = crate::event::json::to_json(&masked);
        assert_eq!(line["out"][0]["event"], masked, "{line}");
    }

    // Settings come from `key=value` pairs; the plugin may reject them.
    let dropper = write("dropper", &wat::drop_op_from_settings());
    let mut out = Vec::new();
    let s = plugin_test(&dropper, &["drop=d".into()], input.as_bytes(), &mut out).unwrap();
    assert_eq!((s.kept, s.dropped), (1, 1));
    assert_eq!(lines(out)[1]["kept"], false);
    let picky = write("picky", &wat::keep_all_with_init());
    let two = ["a=1".into(), "b=2".into()];
    let err = plugin_test(&picky, &two, input.as_bytes(), Vec::new()).unwrap_err();
    assert!(matches!(err, PluginError::ConfigRejected { .. }), "{err}");
}
