//! What a plugin returns is checked before it can reach Kafka: transform
//! output must be whole row events whose op agrees with the op returned
//! beside them, and routers may not name Kafka's internal topics. Each
//! refusal is a plugin failure under the step's `on_error`.

use serde_json::json;

use super::*;
use crate::plugin::cli::plugin_test;
use crate::plugin::PluginError;

/// Outputs that passed the old first-byte check (each starts like a map)
/// and were produced to Kafka, and why each is refused now.
fn invalid_outputs() -> Vec<(&'static str, Vec<u8>, &'static str)> {
    let mut trailing = event("c", json!(null), json!({"id": 1}));
    trailing.extend_from_slice(b"\x00\x01");
    vec![
        (
            "truncated",
            b"\x81\xc1\xc1".to_vec(),
            "invalid MessagePack byte 0xc1",
        ),
        (
            "huge",
            b"\xdf\xff\xff\xff\xff".to_vec(),
            "truncated MessagePack",
        ),
        ("trailing", trailing, "2 bytes after the event"),
        ("fields", b"\x81\xa1x\xc0".to_vec(), "no \"op\" field"),
        (
            "images",
            event("c", json!({"id": 1}), json!({"id": 1})),
            "op \"c\" needs an \"after\" map",
        ),
    ]
}

#[test]
fn plugin_invalid_transform_output_is_a_failure_under_each_policy() {
    for (name, bytes, why) in invalid_outputs() {
        // Returned with op create (0), as the `c` event it replaces.
        let (_d, reg) = wat_registry(&[(name, wat::emit_for_each(&bytes, 0))]);
        let g = reg.current();
        let err = chain(&g, &format!(r#"["{name}"]"#))
            .run(&mut batch_of(&["c", "c"]))
            .unwrap_err();
        assert!(
            matches!(
                err,
                PluginError::Call {
                    kind: "transform",
                    ..
                }
            ),
            "{name}: {err}"
        );
        assert!(err.to_string().contains(why), "{name}: {err}");

        let mut skip = chain(
            &g,
            &format!(r#"[{{ name = "{name}", on_error = "skip" }}]"#),
        );
        let mut b = batch_of(&["c", "c"]);
        assert_eq!(skip.run(&mut b).unwrap().skipped, 2, "{name}");
        assert_eq!(b.output_len(), 0, "{name}: nothing invalid is left");

        // Dead letters carry the event as it was before the plugin.
        let mut dl = chain(
            &g,
            &format!(r#"[{{ name = "{name}", on_error = "dead-letter" }}]"#),
        );
        let mut b = batch_of(&["c", "c"]);
        let input: Vec<Vec<u8>> = b.output().map(|e| e.bytes.to_vec()).collect();
        dl.run(&mut b).unwrap();
        let out: Vec<_> = b.output().collect();
        assert_eq!(out.len(), 2, "{name}");
        for (e, original) in out.iter().zip(&input) {
            assert_eq!(e.bytes, &original[..], "{name}");
            assert!(e.dead_letter.unwrap().error.contains(why), "{name}");
        }
    }
}

#[test]
fn plugin_transform_op_must_agree_with_the_value() {
    // The value says create, the plugin says delete: the header would
    // contradict the value.
    let create = event("c", json!(null), json!({"id": 1}));
    let (_d, reg) = wat_registry(&[("liar", wat::emit_for_each(&create, 2))]);
    let err = chain(&reg.current(), r#"["liar"]"#)
        .run(&mut batch_of(&["d"]))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("the event's op is \"c\" but the plugin returned op \"d\""),
        "{err}"
    );

    // Changing the op is fine when value and returned op say the same.
    let delete = event("d", json!({"id": 1}), json!(null));
    let (_d, reg) = wat_registry(&[("to-delete", wat::emit_for_each(&delete, 2))]);
    let mut c = chain(&reg.current(), r#"["to-delete"]"#);
    let mut b = batch_of(&["c", "u"]);
    c.run(&mut b).unwrap();
    assert_eq!(ops_out(&b), ["d", "d"]);
}

#[test]
fn plugin_route_to_internal_or_invalid_topics_is_refused() {
    for (name, at, len, why) in [
        (
            "offsets",
            232,
            18,
            "\"__consumer_offsets\" is an internal topic",
        ),
        ("dlq", 256, 13, "\"__dead_letter\" is an internal topic"),
        ("empty", 96, 0, "\"\" is not a valid Kafka topic name"),
        ("dot", 272, 1, "\".\" is not a valid Kafka topic name"),
        ("dots", 272, 2, "\"..\" is not a valid Kafka topic name"),
    ] {
        let (_d, reg) = wat_registry(&[(name, wat::route_wat(at, len))]);
        let g = reg.current();
        let err = chain(&g, &format!(r#"["{name}"]"#))
            .run(&mut batch_of(&["c"]))
            .unwrap_err()
            .to_string();
        assert!(err.contains(why), "{name}: {err}");
        // The step's policy applies, as to any other failure.
        let mut dl = chain(
            &g,
            &format!(r#"[{{ name = "{name}", on_error = "dead-letter" }}]"#),
        );
        let mut b = batch_of(&["c", "u"]);
        assert_eq!(dl.run(&mut b).unwrap().dead_lettered, 2, "{name}");
        assert!(b.output().all(|e| e.topic.is_none()), "{name}");
    }
    // Sluice's own topics stay allowed when configured as its own.
    let (_d, reg) = wat_registry(&[("dlq", wat::route_wat(256, 13))]);
    let mut c = chain(&reg.current(), r#"["dlq"]"#).allow_own_topics(["__dead_letter", "__ddl"]);
    let mut b = batch_of(&["c"]);
    c.run(&mut b).unwrap();
    assert_eq!(b.output().next().unwrap().topic, Some("__dead_letter"));
}

#[test]
fn plugin_test_reports_invalid_output_as_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("truncated.wasm");
    let src = wat::emit_for_each(b"\x81\xc1\xc1", 0);
    std::fs::write(&path, wat::component(&src, world_of(&src), "0.1.0")).unwrap();
    let input = r#"{"db":"shop","table":"users","op":"c","after":{"id":1}}"#;
    let mut out = Vec::new();
    let summary = plugin_test(&path, &[], input.as_bytes(), &mut out).unwrap();
    assert_eq!((summary.kept, summary.errors), (0, 1));
    let line: serde_json::Value = serde_json::from_slice(&out).unwrap();
    assert!(line.get("kept").is_none(), "{line}");
    let err = line["error"].as_str().unwrap();
    assert!(err.contains("invalid MessagePack byte 0xc1"), "{line}");
}
