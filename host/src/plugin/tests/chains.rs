//! Chains of plugins of every kind: kind detection, the order of the steps,
//! each instance's own settings, and `plugin test` over one plugin file.

use serde_json::json;

use super::*;
use crate::plugin::cli::{plugin_test, plugin_test_with, user_cache_dir, TestOptions};
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

/// `plugin test`'s limits reach the sandbox, and its cache is the
/// directory it is given.
#[test]
fn plugin_test_takes_limits_and_a_cache_dir() {
    let dir = tempfile::tempdir().unwrap();
    let write = |name: &str, wat: &str| {
        let path = dir.path().join(format!("{name}.wasm"));
        std::fs::write(&path, wat::component(wat, world_of(wat), "0.1.0")).unwrap();
        path
    };
    let input = r#"{"db":"shop","table":"users","op":"c","before":null,"after":{"id":1}}"#;
    let error = |path: &Path, options: &TestOptions| {
        let mut out = Vec::new();
        plugin_test_with(path, &[], options, input.as_bytes(), &mut out).unwrap();
        lines(out)[0]["error"]
            .as_str()
            .unwrap_or_default()
            .to_owned()
    };
    let with = |memory_limit_mib, deadline_ms| TestOptions {
        memory_limit_mib: Some(memory_limit_mib),
        deadline_ms,
        ..TestOptions::default()
    };
    // A loop that never ends is stopped at the deadline it is given.
    let spin = write("spin", &wat::endless_loop());
    let e = error(&spin, &with(64, 30));
    assert!(e.ends_with("deadline of 30 ms exceeded"), "{e}");
    // Memory that only grows is stopped at the limit it is given.
    let bomb = write("bomb", &wat::memory_bomb());
    let e = error(&bomb, &with(8, 1000));
    assert!(e.contains("memory limit of 8 MiB exceeded"), "{e}");

    // Limits out of range are refused before anything runs.
    for (options, message) in [
        (with(0, 100), "memory limit (MiB) 0: must be at least 1"),
        (
            with(4097, 100),
            "memory limit (MiB) 4097: must be at most 4096",
        ),
        (with(64, 0), "deadline (ms) 0: must be at least 1"),
        (with(64, u64::MAX), "must be at most 3600000"),
    ] {
        let err = plugin_test_with(&spin, &[], &options, input.as_bytes(), Vec::new())
            .unwrap_err()
            .to_string();
        assert!(err.ends_with(message), "{err}");
    }

    // The cache: one compiled file per content, none without a directory.
    let keep = write("keep", &wat::keep_all());
    let cache = dir.path().join("cache");
    let cached = TestOptions {
        cache_dir: Some(cache.clone()),
        ..TestOptions::default()
    };
    let listing = || {
        let mut v: Vec<_> = std::fs::read_dir(&cache)
            .map(|d| d.map(|e| e.unwrap().file_name()).collect())
            .unwrap_or_default();
        v.sort();
        v
    };
    plugin_test_with(
        &keep,
        &[],
        &TestOptions::default(),
        input.as_bytes(),
        Vec::new(),
    )
    .unwrap();
    assert!(!cache.exists());
    for _ in 0..2 {
        plugin_test_with(&keep, &[], &cached, input.as_bytes(), Vec::new()).unwrap();
        assert_eq!(listing().len(), 1, "{:?}", listing());
    }
    plugin_test_with(&spin, &[], &cached, input.as_bytes(), Vec::new()).unwrap();
    assert_eq!(listing().len(), 2, "{:?}", listing());
}

/// An environment holding only `vars`.
fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<std::ffi::OsString> {
    let vars: Vec<(String, String)> = vars
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.into())
}

#[test]
fn plugin_test_cache_is_per_user() {
    let dir = |s: &str| Some(std::path::PathBuf::from(s));
    assert_eq!(
        user_cache_dir(env(&[("XDG_CACHE_HOME", "/x"), ("HOME", "/h")])),
        dir("/x/sluice/plugin-cache")
    );
    assert_eq!(
        user_cache_dir(env(&[("HOME", "/h")])),
        dir("/h/.cache/sluice/plugin-cache")
    );
    // An empty or relative XDG_CACHE_HOME is ignored, as the XDG
    // specification says.
    for xdg in ["", "rel/cache"] {
        assert_eq!(
            user_cache_dir(env(&[("XDG_CACHE_HOME", xdg), ("HOME", "/h")])),
            dir("/h/.cache/sluice/plugin-cache"),
            "{xdg:?}"
        );
    }
    assert_eq!(user_cache_dir(env(&[])), None);
    assert_eq!(user_cache_dir(env(&[("HOME", "")])), None);
}
