//! The Python, JavaScript and C twins of the Rust example plugins
//! (`plugins/{python,js,c}/<name>`, built by scripts/build-plugins as
//! `py-<name>`, `js-<name>`, `c-<name>`) decide exactly as the Rust ones:
//! same kept events, topics, keys and rewritten events over a varied batch,
//! the same filter, route and key decisions over malformed events, and the
//! same messages for bad settings. The Rust plugin is the reference.

use std::sync::Mutex;

use rmpv::Value;

use super::*;
use crate::plugin::PluginError;

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

fn map(pairs: Vec<(&str, Value)>) -> Value {
    Value::Map(pairs.into_iter().map(|(k, v)| (k.into(), v)).collect())
}

/// An event as the decoder produces it, from MessagePack values (so binary,
/// float32 and extension values can be in it).
fn event_of(op: &str, before: Value, after: Value) -> Vec<u8> {
    let source = map(vec![
        ("server_id", 1.into()),
        ("file", "bin.000001".into()),
        ("pos", 4.into()),
        ("row", 0.into()),
        ("gtid", Value::Nil),
        ("db", "shop".into()),
        ("table", "users".into()),
        ("ts_ms", 0.into()),
    ]);
    encode(&map(vec![
        ("v", 1.into()),
        ("op", op.into()),
        ("before", before),
        ("after", after),
        ("source", source),
        ("ts_ms", 0.into()),
    ]))
}

fn encode(v: &Value) -> Vec<u8> {
    let mut buf = Vec::new();
    rmpv::encode::write_value(&mut buf, v).unwrap();
    buf
}

/// A row with a column of every type; `tenant` is left out if `None`.
fn row(id: i64, tenant: Option<Value>, status: &str) -> Value {
    let mut cols = vec![
        ("id", Value::from(id)),
        ("status", status.into()),
        ("email", format!("u{id}@example.com").into()),
        ("score", Value::F32(0.1)),
        ("ratio", Value::F64(1e21)),
        ("tiny", Value::F64(1.5e-7)),
        ("nan", Value::F64(f64::NAN)),
        ("neg", (-70000).into()),
        ("big", u64::MAX.into()),
        ("small", (-5).into()),
        ("flag", true.into()),
        ("bin", Value::Binary(b"\x00\xffab".to_vec())),
        ("name", "Zoë ☃ 😀".into()),
        (
            "doc",
            map(vec![
                (
                    "k",
                    Value::Array(vec![
                        1.into(),
                        Value::Nil,
                        "é\u{301}\"\\\n\u{7f}".into(),
                        Value::F64(1.5),
                        false.into(),
                        Value::Binary(vec![1, 2]),
                    ]),
                ),
                ("n", map(vec![("x", (-1).into()), ("f", Value::F32(0.3))])),
            ]),
        ),
        ("tags", Value::Array(vec!["a".into(), "b".into()])),
        ("ext", Value::Ext(5, vec![1, 2])),
        ("nothing", Value::Nil),
    ];
    if let Some(t) = tenant {
        cols.insert(1, ("tenant", t));
    }
    map(cols)
}

/// (db, table, op, event bytes)
type Input = (&'static str, &'static str, &'static str, Vec<u8>);

/// Inserts, updates, deletes and snapshot reads of several tenants, with
/// the tenant column of every type, missing, null, or not UTF-8; an update
/// whose after image lacks the column; a map with more than 15 columns and a
/// long string; an event whose keys come in another order; two tables.
fn varied() -> Vec<Input> {
    let t = |v: Value| Some(v);
    let mut ins: Vec<Input> = Vec::new();
    let mut c = |tenant: Option<Value>, id: i64| {
        ins.push((
            "shop",
            "users",
            "c",
            event_of("c", Value::Nil, row(id, tenant, "active")),
        ))
    };
    c(t("acme".into()), 1);
    c(t("Big Co".into()), 2);
    c(None, 7);
    c(t(Value::Nil), 8);
    c(t(42.into()), 9);
    c(t((-7).into()), 10);
    c(t(Value::F64(1.5)), 11);
    c(t(Value::F32(0.3)), 12);
    c(t(true.into()), 13);
    c(t(Value::Binary(b"t\xff\xfe\xf0\x9f\x98q".to_vec())), 14);
    c(t("ü-ä/x.y_z".into()), 15);
    c(t(u64::MAX.into()), 16);
    c(t(i64::MIN.into()), 17);
    c(t(map(vec![("k", 1.into())])), 18);
    c(t(Value::Binary(b"acme".to_vec())), 19);
    c(t(Value::F64(-0.0)), 21);
    c(t(Value::F64(1e-7)), 22);
    c(t("\u{feff}acme".into()), 23);
    c(t("x".repeat(40).into()), 24);
    c(t("".into()), 25);
    let mut v = ins;
    let u = |before: Value, after: Value| event_of("u", before, after);
    v.push((
        "shop",
        "users",
        "u",
        u(
            row(3, t("acme".into()), "closed"),
            row(3, t("zeta".into()), "active"),
        ),
    ));
    // The after image lacks tenant and status: filter and route read them
    // from the before image, key-columns does not.
    v.push((
        "shop",
        "users",
        "u",
        u(
            row(4, t("acme".into()), "active"),
            map(vec![("id", 4.into())]),
        ),
    ));
    v.push((
        "shop",
        "users",
        "d",
        event_of("d", row(5, t("zeta".into()), "active"), Value::Nil),
    ));
    v.push((
        "shop",
        "users",
        "r",
        event_of("r", Value::Nil, row(6, t("acme".into()), "trial")),
    ));
    v.push((
        "crm",
        "lead$s",
        "c",
        event_of("c", Value::Nil, row(30, t("acme".into()), "active")),
    ));
    v.push((
        "crm",
        "lead$s",
        "d",
        event_of("d", row(31, None, "active"), Value::Nil),
    ));
    // More than 15 columns: a map16.
    let mut wide = vec![];
    for i in 0..20 {
        wide.push((format!("c{i}"), Value::from(i)));
    }
    wide.push(("tenant".into(), "wide".into()));
    wide.push(("id".into(), 40.into()));
    wide.push(("status".into(), "active".into()));
    wide.push(("note".into(), "n".repeat(300).into()));
    let wide = Value::Map(wide.into_iter().map(|(k, v)| (Value::from(k), v)).collect());
    v.push(("shop", "users", "c", event_of("c", Value::Nil, wide)));
    // Keys in another order, and one that is not a string.
    v.push((
        "shop",
        "users",
        "c",
        encode(&Value::Map(vec![
            (1.into(), "int key".into()),
            ("after".into(), row(41, t("acme".into()), "active")),
            ("op".into(), "c".into()),
            ("before".into(), Value::Nil),
        ])),
    ));
    // Last, a tenant string that is not UTF-8: unreadable, so the after
    // image counts as not having it (insert: absent; update: the before
    // image's).
    // (rmpv writes such strings as binary: corrupt the encoded event.)
    let not_utf8 = |mut event: Vec<u8>| {
        let at = event.windows(11).position(|w| w == b"placeholder").unwrap();
        event[at + 2] = 0xff;
        event
    };
    let bad_row = map(vec![("id", 20.into()), ("tenant", "placeholder".into())]);
    v.push((
        "shop",
        "users",
        "c",
        not_utf8(event_of("c", Value::Nil, bad_row.clone())),
    ));
    v.push((
        "shop",
        "users",
        "u",
        not_utf8(event_of("u", row(20, t("acme".into()), "active"), bad_row)),
    ));
    // Every event again with `after` ahead of `before`, as Sluice writes
    // them now: the readers that stop at `after` and look for `before`
    // only when needed must decide the same either way. The not-UTF-8
    // events stay last (NOT_UTF8 of them).
    let not_utf8 = v.split_off(v.len() - 2);
    let again = |v: &[Input]| -> Vec<Input> {
        v.iter()
            .filter_map(|(db, table, op, bytes)| Some((*db, *table, *op, after_first(bytes)?)))
            .collect()
    };
    let (more, more_not_utf8) = (again(&v), again(&not_utf8));
    assert!(
        more.len() >= 25 && more_not_utf8.len() == 2,
        "both images in most events"
    );
    v.extend(more);
    v.extend(not_utf8);
    v.extend(more_not_utf8);
    v
}

/// How many events at the end of [`varied`] hold a string that is not
/// UTF-8: two, each in both key orders.
const NOT_UTF8: usize = 4;

/// The event with its top-level `after` key moved ahead of `before`, or
/// `None` if it has not both.
fn after_first(bytes: &[u8]) -> Option<Vec<u8>> {
    let Value::Map(mut pairs) = rmpv::decode::read_value(&mut &bytes[..]).ok()? else {
        return None;
    };
    let at = |k: &str, pairs: &[(Value, Value)]| {
        pairs.iter().position(|(key, _)| key.as_str() == Some(k))
    };
    let (b, a) = (at("before", &pairs)?, at("after", &pairs)?);
    if a < b {
        return None;
    }
    let after = pairs.remove(a);
    pairs.insert(b, after);
    Some(encode(&Value::Map(pairs)))
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
    let base = varied();
    let mut inputs: Vec<Input> = Vec::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for (i, (db, table, op, bytes)) in base.iter().enumerate().filter(|(i, _)| i % 3 == 0) {
        for cut in (0..bytes.len()).step_by(5 + i % 4) {
            inputs.push((db, table, op, bytes[..cut].to_vec()));
        }
        for _ in 0..40 {
            let mut b = bytes.clone();
            for _ in 0..1 + rnd() % 3 {
                let at = rnd() as usize % b.len();
                b[at] = rnd() as u8;
            }
            inputs.push((db, table, op, b));
        }
    }
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
    let rejected = |plugin: &str, config: &str| {
        let spec = spec(&format!(r#"[{{ name = "{plugin}", config = {config} }}]"#));
        match Chain::new(&g, &spec) {
            Err(PluginError::ConfigRejected { message, .. }) => message,
            Err(other) => panic!("{plugin} with {config}: {other}"),
            Ok(_) => panic!("{plugin} accepted {config}"),
        }
    };
    let mut checked = 0;
    for (rust, config) in cases {
        let twin = format!("{lang}-{rust}");
        if !twins.contains(&twin) {
            continue;
        }
        let want = rejected(rust, config);
        let got = rejected(&twin, config);
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
