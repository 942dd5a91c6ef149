//! The Python, JavaScript and C twins of the Rust example plugins
//! (`plugins/{python,js,c}/<name>`, built by scripts/build-plugins as
//! `py-<name>`, `js-<name>`, `c-<name>`) decide exactly as the Rust ones:
//! same kept events, topics, keys and rewritten events over a varied batch,
//! the same filter, route and key decisions over malformed events, and the
//! same messages for bad settings. The Rust plugin is the reference.
//!
//! The plugins are built by scripts/build-plugins (scripts/test runs it
//! before `cargo test`) and run in-process through the library's plugin host.

mod inputs;

use std::sync::Mutex;

use sluice::plugin::{Chain, EventBatch, Op, PluginError, PluginGeneration, PluginRegistry};

use crate::plugin_support::{example_registry, op_of, spec};
use inputs::{malformed, varied, Input, NOT_UTF8};

/// The message `plugin` rejects `config` with (the test fails when it
/// accepts it, or fails otherwise).
fn rejected(g: &PluginGeneration, plugin: &str, config: &str) -> String {
    let spec = spec(&format!(r#"[{{ name = "{plugin}", config = {config} }}]"#));
    match Chain::new(g, &spec) {
        Err(PluginError::ConfigRejected { message, .. }) => message,
        Err(other) => panic!("{plugin} with {config}: {other}"),
        Ok(_) => panic!("{plugin} accepted {config}"),
    }
}
/// Which Rust example each language has a twin of.
const TWINS: [(&str, &[&str]); 3] = [
    (
        "py",
        &["row-filter", "tenant-router", "key-columns", "pii-mask"],
    ),
    ("js", &["row-filter", "tenant-router", "key-columns"]),
    ("c", &["row-filter", "tenant-router", "key-columns"]),
];

fn twins_of(rust: &str) -> Vec<String> {
    TWINS
        .iter()
        .filter(|(_, kinds)| kinds.contains(&rust))
        .map(|(lang, _)| format!("{lang}-{rust}"))
        .collect()
}

/// A registry holding the named example plugins, which must all have been
/// built and must load.
fn registry(names: &[String]) -> (tempfile::TempDir, PluginRegistry) {
    // A Python or JavaScript component takes 20-25 s to compile the first
    // time: one test at a time starts its registry, so each is compiled
    // once and the other tests load it from the artifact cache.
    static LOADING: Mutex<()> = Mutex::new(());
    let _one = LOADING.lock().unwrap_or_else(|e| e.into_inner());
    let names: Vec<&str> = names.iter().map(String::as_str).collect();
    example_registry(&names)
}

fn batch(inputs: &[Input]) -> EventBatch {
    let mut b = EventBatch::new();
    for (db, table, op, bytes) in inputs {
        b.push(db, table, op_of(op), bytes).unwrap();
    }
    b
}

/// What a chain decided for one output event. The event is compared decoded
/// (as its Debug text, so NaN equals NaN; types stay apart: float32 vs
/// float64, binary vs string).
#[derive(Debug, PartialEq)]
struct Decision {
    origin: usize,
    op: Op,
    topic: Option<String>,
    key: Option<Vec<u8>>,
    event: String,
}

/// Runs one plugin with `config` (a TOML inline table) over `inputs`.
fn decide(
    g: &PluginGeneration,
    plugin: &str,
    config: &str,
    inputs: &[Input],
) -> Result<Vec<Decision>, String> {
    let spec = spec(&format!(r#"[{{ name = "{plugin}", config = {config} }}]"#));
    let mut chain = Chain::new(g, &spec).map_err(|e| e.to_string())?;
    let mut b = batch(inputs);
    chain.run(&mut b).map_err(|e| e.to_string())?;
    Ok(b.output()
        .map(|e| Decision {
            origin: e.origin,
            op: e.op,
            topic: e.topic.map(str::to_owned),
            key: e.key.map(<[u8]>::to_vec),
            event: match rmpv::decode::read_value(&mut &e.bytes[..]) {
                Ok(v) => format!("{v:?}"),
                Err(err) => format!("undecodable: {err}"),
            },
        })
        .collect())
}

/// Every twin of `rust` decides as `rust` does, for each config.
fn assert_twins_decide_alike(rust: &str, configs: &[&str], inputs: &[Input]) -> Vec<Vec<Decision>> {
    let twins = twins_of(rust);
    let mut names = vec![rust.to_owned()];
    names.extend(twins.iter().cloned());
    let (_d, reg) = registry(&names);
    let g = reg.current();
    let mut reference = Vec::new();
    for config in configs {
        let want = decide(&g, rust, config, inputs)
            .unwrap_or_else(|e| panic!("{rust} with {config}: {e}"));
        for twin in &twins {
            let got = decide(&g, twin, config, inputs)
                .unwrap_or_else(|e| panic!("{twin} with {config}: {e}"));
            assert_same(twin, rust, config, &got, &want);
        }
        reference.push(want);
    }
    reference
}

fn assert_same(twin: &str, rust: &str, config: &str, got: &[Decision], want: &[Decision]) {
    for (g, w) in got.iter().zip(want) {
        assert_eq!(
            g, w,
            "{twin} with {config} decided otherwise than {rust} (left: {twin}, right: {rust})"
        );
    }
    assert_eq!(
        got.len(),
        want.len(),
        "{twin} with {config} kept {} events, {rust} {}",
        got.len(),
        want.len()
    );
}

#[test]
fn polyglot_filters_decide_like_rust() {
    let inputs = varied();
    let out = assert_twins_decide_alike(
        "row-filter",
        &[
            r#"{ ops = "c,u,d", column = "status", equals = "active, trial" }"#,
            r#"{ column = "tenant", equals = "acme,Big Co,42,-7,1.5,0.3,true,18446744073709551615,-9223372036854775808,-0,0.0000001,wide,ü-ä/x.y_z" }"#,
            r#"{ ops = " d , ,r " }"#,
            r#"{ ops = "c", column = "score", equals = "0.1" }"#,
            r#"{ column = "ratio", equals = "1000000000000000000000" }"#,
            r#"{ column = "tiny", equals = "0.00000015" }"#,
            r#"{ column = "nan", equals = "NaN" }"#,
            r#"{ column = "big", equals = "18446744073709551615" }"#,
            r#"{ column = "flag", equals = "true" }"#,
            r#"{ column = "name", equals = "Zoë ☃ 😀" }"#,
            r#"{ column = "tenant", equals = "\u00a0acme\u3000,\ufeffacme" }"#,
            r#"{ column = "tenant", equals = "" }"#,
            r#"{ column = "doc", equals = "" }"#,
            r#"{ column = "nothing", equals = "nil" }"#,
        ],
        &inputs,
    );
    // Not vacuous: each of the first configs keeps some events and drops
    // others.
    for kept in &out[..11] {
        assert!(!kept.is_empty() && kept.len() < inputs.len(), "{kept:?}");
    }
    assert!(out[11].is_empty() && out[12].is_empty() && out[13].is_empty());
}

#[test]
fn polyglot_routers_decide_like_rust() {
    let inputs = varied();
    let out = assert_twins_decide_alike(
        "tenant-router",
        &[
            r#"{ column = "tenant" }"#,
            r#"{ column = "tenant", topic = "cdc.{value}-{table}" }"#,
            r#"{ column = "status", topic = "{db}{value}{table}" }"#,
            r#"{ column = "name", topic = "n.{value}" }"#,
            r#"{ column = "bin", topic = "b.{value}" }"#,
            r#"{ column = "score", topic = "s.{value}" }"#,
            r#"{ column = "id", topic = "x y!{value}" }"#,
            r#"{ column = "neg", topic = "{value}" }"#,
        ],
        &inputs,
    );
    let topics =
        |i: usize| -> Vec<Option<&str>> { out[i].iter().map(|d| d.topic.as_deref()).collect() };
    assert!(
        topics(0).contains(&Some("shop.users.acme")),
        "{:?}",
        topics(0)
    );
    assert!(
        topics(0).contains(&Some("crm.lead_s.acme")),
        "{:?}",
        topics(0)
    );
    assert!(topics(0).contains(&None), "{:?}", topics(0));
    assert!(topics(4).contains(&Some("b.__ab")), "{:?}", topics(4));
}

#[test]
fn polyglot_keys_decide_like_rust() {
    let inputs = varied();
    let out = assert_twins_decide_alike(
        "key-columns",
        &[
            r#"{ columns = "tenant,id" }"#,
            r#"{ columns = "id", separator = "::" }"#,
            r#"{ columns = "score, ratio, tiny, nan, neg, big, small, flag, bin, name" }"#,
            r#"{ columns = "tenant, missing" }"#,
            r#"{ columns = "doc" }"#,
            r#"{ columns = "id,id" }"#,
            r#"{ columns = "status,tenant", separator = "" }"#,
        ],
        &inputs,
    );
    let keys =
        |i: usize| -> Vec<Option<&[u8]>> { out[i].iter().map(|d| d.key.as_deref()).collect() };
    assert!(keys(0).contains(&Some(&b"acme|1"[..])), "{:?}", keys(0));
    assert!(keys(0).contains(&None));
    assert!(keys(3).iter().all(Option::is_none));
    assert!(keys(4).iter().all(Option::is_none));
}

#[test]
fn polyglot_python_transform_rewrites_like_rust() {
    let all = varied();
    // The last events hold a string that is not UTF-8: see below.
    let (inputs, not_utf8) = all.split_at(all.len() - NOT_UTF8);
    let hash_all = r#"{ columns = "email, tenant, score, ratio, nan, neg, big, flag, bin, name, doc, tags, ext, nothing", salt = "s" }"#;
    let out = assert_twins_decide_alike(
        "pii-mask",
        &[
            hash_all,
            r#"{ column = "email" }"#,
            r#"{ columns = "email,doc,status", mode = "drop" }"#,
            r#"{ columns = "c3", mode = "drop" }"#,
        ],
        inputs,
    );
    assert_eq!(out[0].len(), inputs.len());
    assert!(
        !out[0][0].event.contains("u1@example.com"),
        "{}",
        out[0][0].event
    );
    assert!(!out[2][0].event.contains("\"doc\""), "{}", out[2][0].event);
    // Masked, such a string is hashed from its bytes alike.
    assert_twins_decide_alike("pii-mask", &[hash_all], not_utf8);
    // Left alone, it differs: the Rust plugin decodes and re-encodes the
    // event with rmpv, which writes it as binary; the Python one copies
    // what it does not mask byte for byte, so it stays a string.
    let names = ["pii-mask".to_owned(), "py-pii-mask".to_owned()];
    let (_d, reg) = registry(&names);
    let g = reg.current();
    let email = r#"{ column = "email" }"#;
    let rust = decide(&g, "pii-mask", email, not_utf8).unwrap();
    let python = decide(&g, "py-pii-mask", email, not_utf8).unwrap();
    assert!(
        rust[0].event.contains("Binary([112, 108, 255,"),
        "{}",
        rust[0].event
    );
    assert!(
        python[0].event.contains("Err(([112, 108, 255,"),
        "{}",
        python[0].event
    );
}

/// Truncated and corrupted events: the reader of every language finds what
/// the Rust SDK's finds (or nothing), and never fails or reads past an event.
#[test]
fn polyglot_twins_read_malformed_events_like_rust() {
    let inputs = malformed(5);
    // Filters and keys: one batch.
    assert_twins_decide_alike(
        "row-filter",
        &[r#"{ column = "status", equals = "active,trial" }"#],
        &inputs,
    );
    assert_twins_decide_alike("key-columns", &[r#"{ columns = "tenant,id" }"#], &inputs);
    // Routes: a topic the host refuses (a corrupted length can make the
    // value long) fails the whole batch, so one event per batch, and a
    // sample.
    let sample: Vec<Input> = inputs.iter().step_by(7).cloned().collect();
    let twins = twins_of("tenant-router");
    let mut names = vec!["tenant-router".to_owned()];
    names.extend(twins.iter().cloned());
    let (_d, reg) = registry(&names);
    let g = reg.current();
    let config = r#"{ column = "tenant", topic = "t.{value}" }"#;
    for input in &sample {
        let one = std::slice::from_ref(input);
        let want = decide(&g, "tenant-router", config, one);
        for twin in &twins {
            match (decide(&g, twin, config, one), &want) {
                (Ok(got), Ok(want)) => assert_same(twin, "tenant-router", config, &got, want),
                (Err(got), Err(want)) => assert!(
                    got.contains("topic") && want.contains("topic"),
                    "{twin}: {got}; tenant-router: {want}"
                ),
                (got, want) => panic!("{twin}: {got:?}; tenant-router: {want:?}; event {input:?}"),
            }
        }
    }
}

/// Each bad setting is rejected by the twin with the Rust plugin's message.
fn assert_rejects_like_rust(lang: &str) {
    let cases: &[(&str, &str)] = &[
        ("row-filter", r#"{ ops = "c,x" }"#),
        ("row-filter", r#"{ column = "a" }"#),
        ("row-filter", r#"{ equals = "a" }"#),
        ("row-filter", r#"{ colum = "a", ops = "q" }"#),
        ("tenant-router", "{}"),
        ("tenant-router", r#"{ topic = "x.{db}" }"#),
        ("tenant-router", r#"{ column = "t", topic = "x.{db}" }"#),
        (
            "tenant-router",
            r#"{ column = "t", topic = "{value}.{tenant}" }"#,
        ),
        ("tenant-router", r#"{ column = "t", topic = "{value}.{" }"#),
        ("tenant-router", r#"{ column = "t", topic = "{{value}" }"#),
        ("tenant-router", r#"{ column = "t", route = "x" }"#),
        ("key-columns", "{}"),
        ("key-columns", r#"{ columns = " , " }"#),
        ("key-columns", r#"{ columns = "a", sep = "/" }"#),
        ("pii-mask", "{}"),
        ("pii-mask", r#"{ columns = "a", mode = "shred" }"#),
        ("pii-mask", r#"{ column = "a", extra = 1 }"#),
    ];
    let mut names: Vec<String> = Vec::new();
    for (rust, _) in cases {
        if !names.iter().any(|n| n == rust) {
            names.push(rust.to_string());
        }
    }
    let twins: Vec<String> = names
        .iter()
        .filter(|r| twins_of(r).contains(&format!("{lang}-{r}")))
        .map(|r| format!("{lang}-{r}"))
        .collect();
    names.extend(twins.iter().cloned());
    let (_d, reg) = registry(&names);
    let g = reg.current();
    let mut checked = 0;
    for (rust, config) in cases {
        let twin = format!("{lang}-{rust}");
        if !twins.contains(&twin) {
            continue;
        }
        let want = rejected(&g, rust, config);
        let got = rejected(&g, &twin, config);
        assert_eq!(got, want, "{twin} with {config}");
        eprintln!("{twin} with {config}: {got}");
        checked += 1;
    }
    assert!(checked >= 14, "{checked}");
}

#[test]
fn polyglot_python_rejects_bad_settings_like_rust() {
    assert_rejects_like_rust("py");
}

#[test]
fn polyglot_javascript_rejects_bad_settings_like_rust() {
    assert_rejects_like_rust("js");
}

#[test]
fn polyglot_c_rejects_bad_settings_like_rust() {
    assert_rejects_like_rust("c");
}

/// Settings of a Rust plugin and the same as its twin takes them.
type Configs = &'static [(&'static str, &'static str)];

/// The WIT 0.2 transforms and the Rust plugin they are twins of, with the
/// twin's settings for each of the Rust plugin's.
const TRANSFORMS_V2: [(&str, &str, Configs); 2] = [
    (
        "py-pii-mask-v2",
        "pii-mask",
        &[
            (
                r#"{ columns = "email, tenant, score, ratio, nan, neg, big, flag, bin, name, doc, tags, ext, nothing", salt = "s" }"#,
                r#"{ columns = "email, tenant, score, ratio, nan, neg, big, flag, bin, name, doc, tags, ext, nothing", salt = "s" }"#,
            ),
            (r#"{ column = "email" }"#, r#"{ column = "email" }"#),
            (
                r#"{ columns = "email,doc,status", mode = "drop" }"#,
                r#"{ columns = "email,doc,status", mode = "drop" }"#,
            ),
            (
                r#"{ columns = "c3", mode = "drop" }"#,
                r#"{ columns = "c3", mode = "drop" }"#,
            ),
            (r#"{ column = "" }"#, r#"{ column = "" }"#),
        ],
    ),
    (
        "js-drop-columns-v2",
        "pii-mask",
        &[
            (
                r#"{ columns = "email,doc,status", mode = "drop" }"#,
                r#"{ columns = "email,doc,status" }"#,
            ),
            (
                r#"{ columns = "c3", mode = "drop" }"#,
                r#"{ columns = " c3 " }"#,
            ),
            (
                r#"{ columns = "tenant, nothing, bin, nope", mode = "drop" }"#,
                r#"{ columns = "tenant,nothing,bin,nope" }"#,
            ),
            (
                r#"{ columns = "email", mode = "drop" }"#,
                r#"{ columns = "email" }"#,
            ),
        ],
    ),
];

/// Each WIT 0.2 transform rewrites like its Rust twin over the varied
/// batch; unchanged events (no dropped or masked column in them) are
/// passed on by their place in the input.
#[test]
fn polyglot_v2_transforms_rewrite_like_rust() {
    let all = varied();
    let (inputs, not_utf8) = all.split_at(all.len() - NOT_UTF8);
    for (twin, rust, configs) in TRANSFORMS_V2 {
        let names = [rust.to_owned(), twin.to_owned()];
        let (_d, reg) = registry(&names);
        let g = reg.current();
        let mut rewrote = 0;
        for (rust_config, twin_config) in configs {
            let want = decide(&g, rust, rust_config, inputs)
                .unwrap_or_else(|e| panic!("{rust} with {rust_config}: {e}"));
            let got = decide(&g, twin, twin_config, inputs)
                .unwrap_or_else(|e| panic!("{twin} with {twin_config}: {e}"));
            assert_same(twin, rust, twin_config, &got, &want);
            assert_eq!(want.len(), inputs.len());
            rewrote += want
                .iter()
                .zip(inputs)
                .filter(|(d, (_, _, _, bytes))| *d.event != decoded(bytes))
                .count();
        }
        // Not vacuous: events were rewritten, and others passed on.
        assert!(rewrote > inputs.len(), "{twin}: {rewrote}");
        // A string that is not UTF-8: dropped or hashed alike; left alone
        // it stays a string (the Rust plugin re-encodes it as binary, see
        // polyglot_python_transform_rewrites_like_rust).
        let (rust_config, twin_config) = configs[0];
        let want = decide(&g, rust, rust_config, not_utf8).unwrap();
        let got = decide(&g, twin, twin_config, not_utf8).unwrap();
        if twin.starts_with("py-") {
            assert_same(twin, rust, twin_config, &got, &want);
        } else {
            assert_eq!(got.len(), want.len());
            assert!(
                got[0].event.contains("Err(([112, 108, 255,"),
                "{}",
                got[0].event
            );
        }
    }
    // Bad settings: the Rust plugin's messages.
    let names = ["pii-mask".to_owned(), "py-pii-mask-v2".to_owned()];
    let (_d, reg) = registry(&names);
    let g = reg.current();
    for config in [
        "{}",
        r#"{ columns = "a", mode = "shred" }"#,
        r#"{ column = "a", extra = 1 }"#,
    ] {
        assert_eq!(
            rejected(&g, "py-pii-mask-v2", config),
            rejected(&g, "pii-mask", config),
            "{config}"
        );
    }
}

/// An event's bytes decoded, as `Decision::event` has them.
fn decoded(bytes: &[u8]) -> String {
    match rmpv::decode::read_value(&mut &bytes[..]) {
        Ok(v) => format!("{v:?}"),
        Err(err) => format!("undecodable: {err}"),
    }
}

/// Truncated and corrupted events, one per batch (the Rust plugin fails a
/// batch with an event it cannot decode): every WIT 0.2 transform fails
/// where its Rust twin does and rewrites the rest alike, except where the
/// Rust plugin reads bytes that are not MessagePack as rmpv does (`0xc1` as
/// nil, bytes after the event ignored) or re-encodes a string that is not
/// UTF-8 as binary. A twin copies what it does not rewrite, so there the
/// host refuses its answer or the string stays one; given the event as
/// rmpv writes it, the twin again decides as Rust.
#[test]
fn polyglot_v2_transforms_read_malformed_events_like_rust() {
    let inputs = malformed(17);
    for (twin, rust, configs) in TRANSFORMS_V2 {
        let names = [rust.to_owned(), twin.to_owned()];
        let (_d, reg) = registry(&names);
        let g = reg.current();
        let (rust_config, twin_config) = configs[0];
        let (mut same, mut failed, mut refused, mut as_rmpv) = (0, 0, 0, 0);
        for input in &inputs {
            let one = std::slice::from_ref(input);
            let want = decide(&g, rust, rust_config, one);
            match (decide(&g, twin, twin_config, one), &want) {
                (Ok(got), Ok(want)) if got == *want => same += 1,
                (Err(_), Err(_)) => failed += 1,
                (got, want) => {
                    refused += usize::from(got.is_err());
                    // What the Rust plugin read: the event as rmpv writes it.
                    let v = rmpv::decode::read_value(&mut &input.3[..]).unwrap_or_else(|e| {
                        panic!("{twin}: {got:?}; {rust}: {want:?}; undecodable ({e}) {input:?}")
                    });
                    let mut bytes = Vec::new();
                    rmpv::encode::write_value(&mut bytes, &v).unwrap();
                    let (db, table, op, _) = input;
                    let normal = [(*db, *table, *op, bytes)];
                    match (decide(&g, twin, twin_config, &normal), want) {
                        (Ok(got), Ok(want)) => assert_same(twin, rust, twin_config, &got, want),
                        (got, want) => panic!("{twin}: {got:?}; {rust}: {want:?}; event {input:?}"),
                    }
                    as_rmpv += 1;
                }
            }
        }
        eprintln!(
            "{twin}: {} malformed events: {same} rewritten alike, {failed} failed alike, \
             {as_rmpv} alike as rmpv reads them ({refused} of them refused by the host as given)",
            inputs.len()
        );
        assert!(same > 0 && failed > 0, "{same} {failed}");
    }
}
