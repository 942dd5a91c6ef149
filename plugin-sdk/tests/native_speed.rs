// Native timing of the SDK's filter path (not a plugin build): compare with
// the per-row cost measured under wasmtime. `cargo test --release
// --features filter --test native_speed -- --ignored --nocapture`
#![cfg(feature = "filter")]

use sluice_plugin_sdk::rt::Batch;
use sluice_plugin_sdk::{Event, Filter, Op, Plugin, Settings};

struct F(Vec<u8>);
impl Plugin for F {
    fn init(_: &Settings) -> Result<Self, String> {
        Ok(F(Vec::new()))
    }
}
impl Filter for F {
    fn keep(&mut self, e: &Event) -> Result<bool, String> {
        self.0.clear();
        Ok(e.column("status")
            .is_some_and(|v| v.write_text(&mut self.0))
            && self.0 == b"active")
    }
}

#[test]
#[ignore]
fn native_filter_speed() {
    use sluice_plugin_sdk::rmpv::Value;
    let row = |i: u64| {
        Value::Map(vec![
            ("email".into(), format!("user{i}@example.com").into()),
            ("flags".into(), Value::Array(vec!["a".into(), "b".into()])),
            ("id".into(), i.into()),
            ("name".into(), "x".repeat(400).into()),
            ("score".into(), 1.5.into()),
            ("status".into(), "active".into()),
            ("tenant_id".into(), format!("t{}", i % 7).into()),
        ])
    };
    let mut data = Vec::new();
    let mut events = Vec::new();
    for i in 0..1000u64 {
        let ev = Value::Map(vec![
            ("v".into(), 1.into()),
            ("op".into(), "u".into()),
            ("before".into(), row(i)),
            ("after".into(), row(i)),
            ("ts_ms".into(), 0.into()),
        ]);
        let offset = data.len() as u32;
        sluice_plugin_sdk::rmpv::encode::write_value(&mut data, &ev).unwrap();
        events.push(
            sluice_plugin_sdk::bindings::base::sluice::plugin::types::EventMeta {
                table: 0,
                op: Op::Update,
                offset,
                len: data.len() as u32 - offset,
            },
        );
    }
    let tables = vec![
        sluice_plugin_sdk::bindings::base::sluice::plugin::types::TableName {
            db: "shop".into(),
            table: "users".into(),
        },
    ];
    sluice_plugin_sdk::rt::init::<F>(Vec::new()).unwrap();
    let t = std::time::Instant::now();
    for _ in 0..200 {
        let b = Batch {
            tables: tables.clone(),
            events: events.clone(),
            data: data.clone(),
        };
        assert_eq!(sluice_plugin_sdk::rt::filter::<F>(b).unwrap().len(), 1000);
    }
    eprintln!("native SDK filter: {:?} per row", t.elapsed() / 200_000);
}

#[test]
#[ignore]
fn native_parts_speed() {
    use sluice_plugin_sdk::rmpv::Value;
    let row = Value::Map(vec![
        ("email".into(), "user1@example.com".into()),
        ("flags".into(), Value::Array(vec!["a".into(), "b".into()])),
        ("id".into(), 5.into()),
        ("name".into(), "x".repeat(400).into()),
        ("score".into(), 1.5.into()),
        ("status".into(), "active".into()),
        ("tenant_id".into(), "t1".into()),
    ]);
    let ev = Value::Map(vec![
        ("v".into(), 1.into()),
        ("op".into(), "u".into()),
        ("before".into(), row.clone()),
        ("after".into(), row),
        ("ts_ms".into(), 0.into()),
    ]);
    let mut buf = Vec::new();
    sluice_plugin_sdk::rmpv::encode::write_value(&mut buf, &ev).unwrap();
    let n = 1_000_000;
    let t = std::time::Instant::now();
    let mut x = 0;
    for _ in 0..n {
        x += sluice_plugin_sdk::skip(std::hint::black_box(&buf)).unwrap();
    }
    eprintln!("skip whole event: {:?} ({x})", t.elapsed() / n);
    let t = std::time::Instant::now();
    for _ in 0..n {
        let e = Event::new("shop", "users", Op::Update, std::hint::black_box(&buf));
        x += e.column("status").unwrap().as_str().unwrap().len();
    }
    eprintln!("column(status): {:?} ({x})", t.elapsed() / n);
}
