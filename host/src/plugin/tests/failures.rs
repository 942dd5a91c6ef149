//! Misbehaving plugins never crash or stall the host; each failure policy.

use super::*;
use crate::plugin::{PluginError, RunStats};

#[test]
fn plugin_trap_with_fail_policy_stops_and_instance_is_rebuilt() {
    let (_d, reg) = wat_registry(&[("bomb", wat::trap_on_delete())]);
    let mut chain = chain(&reg.current(), r#"["bomb"]"#);
    let mut b = batch_of(&["c", "d"]);
    let err = chain.run(&mut b).unwrap_err();
    assert!(
        matches!(err, PluginError::Call { ref plugin, kind: "filter", .. } if plugin == "bomb"),
        "{err}"
    );
    assert!(err.to_string().contains("trap"), "{err}");
    // The next batch runs on a fresh instance.
    let mut b = batch_of(&["c", "u"]);
    chain.run(&mut b).unwrap();
    assert_eq!(ops_out(&b), ["c", "u"]);
    assert_eq!(chain.rebuilds(), 1);
}

#[test]
fn plugin_skip_policy_drops_only_the_failing_event() {
    let (_d, reg) = wat_registry(&[("bomb", wat::trap_on_delete())]);
    let mut chain = chain(&reg.current(), r#"[{ name = "bomb", on_error = "skip" }]"#);
    let mut b = batch_of(&["c", "d", "u", "d", "r"]);
    let stats = chain.run(&mut b).unwrap();
    assert_eq!(ops_out(&b), ["c", "u", "r"]);
    assert_eq!(stats.skipped, 2);
    let origins: Vec<usize> = b.output().map(|e| e.origin).collect();
    assert_eq!(origins, [0, 2, 4]);
}

#[test]
fn plugin_dead_letter_policy_flags_failing_events_in_order() {
    let (_d, reg) = wat_registry(&[("bomb", wat::trap_on_delete()), ("keep", wat::keep_all())]);
    let mut chain = chain(
        &reg.current(),
        r#"[{ name = "bomb", on_error = "dead-letter" }, "keep"]"#,
    );
    let mut input = batch_of(&["c", "d", "u"]);
    let original_delete = input.output().nth(1).unwrap().bytes.to_vec();
    let stats = chain.run(&mut input).unwrap();
    assert_eq!(stats.dead_lettered, 1);
    let out: Vec<_> = input.output().collect();
    assert_eq!(out.len(), 3);
    assert!(out[0].dead_letter.is_none() && out[2].dead_letter.is_none());
    let dl = out[1].dead_letter.unwrap();
    assert_eq!(&*dl.plugin, "bomb");
    assert!(
        dl.error.contains("filter") && dl.error.contains("trap"),
        "{}",
        dl.error
    );
    assert_eq!(out[1].bytes, &original_delete[..]);
    assert_eq!(
        (out[1].db, out[1].table, out[1].op),
        ("shop", "users", Op::Delete)
    );
}

#[test]
fn plugin_endless_loop_hits_the_deadline_without_stalling() {
    let (_d, reg) = wat_registry(&[("spin", wat::endless_loop())]);
    let mut fail = chain(&reg.current(), r#"["spin"]"#);
    // The loop never ends by itself: returning this error is the deadline
    // stopping it.
    let err = fail.run(&mut batch_of(&["c"])).unwrap_err();
    assert!(
        err.to_string().contains("deadline of 50 ms exceeded"),
        "{err}"
    );

    // Skip over a large batch: the per-event retry gives up after a few
    // failures instead of spending a deadline on every event. Each failed
    // call is one deadline spent, so counting them bounds the time without
    // measuring it.
    let mut skip = chain(&reg.current(), r#"[{ name = "spin", on_error = "skip" }]"#);
    let mut b = batch_of(&["c"; 200]);
    let stats = skip.run(&mut b).unwrap();
    assert_eq!(stats.skipped, 200);
    assert_eq!(b.output_len(), 0);
    assert!(
        (2..10).contains(&stats.failed_calls),
        "one whole-batch call, then a few single events, not 200: {stats:?}"
    );
}

#[test]
fn plugin_memory_bomb_is_stopped_at_the_limit() {
    let (_d, reg) = wat_registry(&[("bomb", wat::memory_bomb())]);
    let mut chain = chain(&reg.current(), r#"["bomb"]"#);
    let err = chain.run(&mut batch_of(&["c"])).unwrap_err();
    assert!(
        err.to_string().contains("memory limit of 64 MiB exceeded"),
        "{err}"
    );
}

/// Unset, the memory limit is the plugin's language's: JavaScript engines
/// keep more heap before they collect (config.rs,
/// `DEFAULT_JS_MEMORY_LIMIT_MIB`). Set, it holds for every language.
#[test]
fn a_javascript_plugin_gets_its_own_default_memory_limit() {
    let dir = tempfile::tempdir().unwrap();
    let bomb = wat::memory_bomb();
    let bomb = wat::component(&bomb, world_of(&bomb), "0.1.0");
    install(
        dir.path(),
        "js-bomb",
        &wat::written_in(bomb.clone(), "JavaScript"),
    );
    install(dir.path(), "py-bomb", &wat::written_in(bomb, "Python"));
    let limit_hit = |cfg: &PluginHostConfig, plugin: &str| {
        let reg = PluginRegistry::start(cfg).unwrap();
        let mut chain = chain(&reg.current(), &format!(r#"["{plugin}"]"#));
        chain.run(&mut batch_of(&["c"])).unwrap_err().to_string()
    };
    let defaults = config(dir.path());
    let e = limit_hit(&defaults, "js-bomb");
    assert!(e.contains("memory limit of 256 MiB exceeded"), "{e}");
    let e = limit_hit(&defaults, "py-bomb");
    assert!(e.contains("memory limit of 64 MiB exceeded"), "{e}");
    let set = PluginHostConfig {
        memory_limit_mib: Some(16),
        ..config(dir.path())
    };
    let e = limit_hit(&set, "js-bomb");
    assert!(e.contains("memory limit of 16 MiB exceeded"), "{e}");

    // A plugin that starts above its own limit, though within the pool's
    // (sized for the JavaScript default), is refused as it loads, in the
    // words of a call that outgrows it.
    let big = wat::keep_all().replacen(
        r#"(memory (export "memory") 1)"#,
        r#"(memory (export "memory") 1100)"#,
        1,
    );
    install(
        dir.path(),
        "big",
        &wat::component(&big, "filter-export", "0.1.0"),
    );
    let reg = PluginRegistry::start(&defaults).unwrap();
    let reason = reg.current().problem("big").unwrap().reason.clone();
    assert!(
        reason.contains("memory limit of 64 MiB exceeded: the plugin needs more to start"),
        "{reason}"
    );
}

/// 40 calls of 4 MiB each would pass the 64 MiB cap ten times over: the
/// instance is replaced between calls once past three quarters of it, so
/// every call succeeds and every event is kept exactly once.
#[test]
fn an_instance_whose_memory_only_grows_is_recycled_before_the_limit() {
    let (_d, reg) = wat_registry(&[("grower", wat::grows_each_call())]);
    let mut chain = chain(&reg.current(), r#"["grower"]"#);
    for call in 0..40 {
        let mut b = batch_of(&["c", "u"]);
        let stats = chain
            .run(&mut b)
            .unwrap_or_else(|e| panic!("call {call}: {e}"));
        assert_eq!(stats.failed_calls, 0, "call {call}: {stats:?}");
        assert_eq!(b.output_len(), 2, "call {call}");
    }
}

#[test]
fn plugin_invalid_returns_are_rejected() {
    let cases = [
        (
            "short",
            wat::wrong_length(),
            "invalid filter return: 3 decisions for 2 events",
        ),
        ("utf8", wat::route_wat(80, 2), "utf-8"),
        (
            "topic",
            wat::route_wat(96, 10),
            "not a valid Kafka topic name",
        ),
        ("range", wat::transform_out_of_range(), "outside a buffer"),
    ];
    for (name, src, expected) in cases {
        let (_d, reg) = wat_registry(&[(name, src)]);
        let mut chain = chain(&reg.current(), &format!(r#"["{name}"]"#));
        let err = chain
            .run(&mut batch_of(&["c", "u"]))
            .unwrap_err()
            .to_string();
        assert!(
            err.to_lowercase().contains(&expected.to_lowercase()),
            "{name}: {err}"
        );
        // Dead-letter: every event goes to the dead-letter topic, none lost.
        let mut dl = super::chain(
            &reg.current(),
            &format!(r#"[{{ name = "{name}", on_error = "dead-letter" }}]"#),
        );
        let mut b = batch_of(&["c", "u"]);
        dl.run(&mut b).unwrap();
        assert!(b.output().all(|e| e.dead_letter.is_some()), "{name}");
        assert_eq!(b.output_len(), 2);
    }
}

#[test]
fn plugin_error_result_fails_without_rebuild() {
    let (_d, reg) = wat_registry(&[("nope", wat::guest_error())]);
    let mut chain = chain(&reg.current(), r#"["nope"]"#);
    let err = chain.run(&mut batch_of(&["c"])).unwrap_err();
    assert!(
        err.to_string().contains("plugin returned an error: nope"),
        "{err}"
    );
    let _ = chain.run(&mut batch_of(&["c"]));
    assert_eq!(
        chain.rebuilds(),
        0,
        "a returned error leaves the instance usable"
    );
    assert_eq!(
        chain.totals(),
        RunStats {
            failed_calls: 2,
            ..RunStats::default()
        }
    );
}

#[test]
fn plugin_init_can_reject_its_settings() {
    let (_d, reg) = wat_registry(&[
        ("picky", wat::keep_all_with_init()),
        ("plain", wat::keep_all()),
    ]);
    let generation = reg.current();
    let err = Chain::new(
        &generation,
        &spec(r#"[{ name = "picky", config = { a = "1", b = 2 } }]"#),
    )
    .err()
    .unwrap();
    assert!(matches!(err, PluginError::ConfigRejected { .. }), "{err}");
    assert!(
        err.to_string()
            .contains("picky: configuration rejected: too many settings"),
        "{err}"
    );
    Chain::new(
        &generation,
        &spec(r#"[{ name = "picky", config = { a = "1" } }]"#),
    )
    .unwrap();
    let err = chain_error(&generation, r#"[{ name = "plain", config = { a = "1" } }]"#);
    assert!(err.contains("takes no settings"), "{err}");
    let err = Chain::new(&generation, &spec(r#"["missing"]"#))
        .err()
        .unwrap();
    assert!(matches!(err, PluginError::NotLoaded { .. }), "{err}");
}

#[test]
fn plugin_files_that_are_not_plugins_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    install(
        dir.path(),
        "sneaky",
        &wat::component(&wat::bad_import(), "t-bad-import", "0.1.0"),
    );
    install(
        dir.path(),
        "inert",
        &wat::component(&wat::nothing(), "t-nothing", "0.1.0"),
    );
    install(dir.path(), "garbage", b"not wasm at all");
    install(
        dir.path(),
        "good",
        &wat::component(&wat::keep_all(), "filter-export", "0.1.0"),
    );
    let reg = PluginRegistry::start(&config(dir.path())).unwrap();
    let g = reg.current();
    assert!(g.get("good").is_some());
    let reason = |n: &str| g.problem(n).unwrap().reason.clone();
    assert!(
        reason("sneaky").contains("sluice:plugin/secret"),
        "{}",
        reason("sneaky")
    );
    assert!(
        reason("inert").contains("not a Sluice plugin"),
        "{}",
        reason("inert")
    );
    assert!(!reason("garbage").is_empty());
    let err = chain_error(&g, r#"["sneaky"]"#);
    assert!(err.contains("sneaky is not loaded: cannot link"), "{err}");
}

#[test]
fn plugin_transform_failure_is_isolated_to_its_event() {
    let (_d, reg) = wat_registry(&[("ident", wat::identity_transform_trap_on_delete())]);
    let mut c = chain(
        &reg.current(),
        r#"[{ name = "ident", on_error = "dead-letter" }]"#,
    );
    let mut b = batch_of(&["c", "d", "u"]);
    let input: Vec<Vec<u8>> = b.output().map(|e| e.bytes.to_vec()).collect();
    let stats = c.run(&mut b).unwrap();
    assert_eq!(stats.dead_lettered, 1);
    let out: Vec<_> = b.output().collect();
    assert_eq!(out.iter().map(|e| e.origin).collect::<Vec<_>>(), [0, 1, 2]);
    assert!(out[1].dead_letter.is_some() && out[0].dead_letter.is_none());
    for (e, original) in out.iter().zip(&input) {
        assert_eq!(e.bytes, &original[..]);
    }
    // Without a delete the whole batch goes through in one call.
    let mut b = batch_of(&["c", "u"]);
    assert_eq!(c.run(&mut b).unwrap(), RunStats::default());
    assert_eq!(ops_out(&b), ["c", "u"]);
}
