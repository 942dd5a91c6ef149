//! The check of transform output (event_check): well-formed MessagePack,
//! the fields of a row event, images that fit the op.

use serde_json::json;

use super::event;
use crate::plugin::event_check::{check_event, Invalid};
use crate::plugin::Op;

fn check(bytes: &[u8], op: Op) -> Result<(), Invalid> {
    check_event(bytes, op)
}

#[test]
fn plugin_output_check_accepts_the_events_sluice_writes() {
    let row = json!({"id": 1, "doc": {"a": [1, 2.5, null, "x"]}, "b": -3});
    check(&event("c", json!(null), row.clone()), Op::Create).unwrap();
    check(&event("r", json!(null), row.clone()), Op::Read).unwrap();
    check(&event("u", row.clone(), row.clone()), Op::Update).unwrap();
    check(&event("d", row, json!(null)), Op::Delete).unwrap();
}

/// Every MessagePack type, in each of its widths, inside an image: the
/// event passes whole, and every cut of it short fails.
#[test]
fn plugin_output_check_walks_every_type_and_refuses_every_truncation() {
    use rmpv::Value as V;
    let mut cols = vec![
        V::Binary(vec![1; 3]),
        V::Binary(vec![2; 300]),
        V::Binary(vec![3; 70_000]),
        V::Ext(5, vec![1]),
        V::Ext(5, vec![1; 2]),
        V::Ext(5, vec![1; 3]),
        V::Ext(5, vec![1; 300]),
        V::F32(1.5),
        V::F64(-2.5),
        V::Boolean(true),
        V::Nil,
        V::String("s".repeat(40).into()),
        V::String("s".repeat(300).into()),
        V::String("s".repeat(70_000).into()),
        V::Array((0..20).map(V::from).collect()),
        V::Map((0..20).map(|i| (V::from(i), V::Nil)).collect()),
    ];
    for n in [
        1i64,
        -1,
        -100,
        200,
        -200,
        40_000,
        -40_000,
        1 << 33,
        -(1 << 33),
    ] {
        cols.push(V::from(n));
    }
    cols.push(V::from(u64::MAX));
    let image = V::Map(
        cols.into_iter()
            .enumerate()
            .map(|(i, v)| (V::from(format!("c{i}")), v))
            .collect(),
    );
    let event = V::Map(vec![
        ("v".into(), 1.into()),
        ("op".into(), "u".into()),
        ("after".into(), image.clone()),
        ("before".into(), image),
        ("source".into(), V::Map(vec![])),
        ("ts_ms".into(), 0.into()),
    ]);
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, &event).unwrap();
    check(&bytes, Op::Update).unwrap();
    for cut in 0..bytes.len() {
        assert!(check(&bytes[..cut], Op::Update).is_err(), "cut at {cut}");
    }
}

#[test]
fn plugin_output_check_refuses_malformed_messagepack() {
    let good = event("c", json!(null), json!({"id": 1}));
    let mut trailing = good.clone();
    trailing.push(0x00);
    let deep = [vec![0x91; 200], vec![0xc0]].concat();
    for (bytes, want) in [
        (&b"\x81\xc1\xc1"[..], Invalid::BadMarker(0xc1)),
        (b"\xdf\xff\xff\xff\xff", Invalid::Truncated),
        (&trailing, Invalid::Trailing(1)),
        (&good[..good.len() - 1], Invalid::Truncated),
        (b"", Invalid::NotAMap),
        (b"\x91\xc0", Invalid::NotAMap),
        (&[&[0x81, 0xa1, b'x'][..], &deep].concat(), Invalid::TooDeep),
    ] {
        assert_eq!(check(bytes, Op::Create), Err(want), "{bytes:02x?}");
    }
}

#[test]
fn plugin_output_check_needs_the_row_event_fields() {
    let row = json!({"id": 1});
    let m = |v: serde_json::Value| {
        let mut b = Vec::new();
        rmpv::encode::write_value(&mut b, &crate::event::json::from_json(&v)).unwrap();
        b
    };
    let full = json!({"v": 1, "op": "c", "after": row, "before": null, "source": {}, "ts_ms": 0});
    check(&m(full.clone()), Op::Create).unwrap();
    for field in ["v", "op", "source", "ts_ms"] {
        let mut e = full.clone();
        e.as_object_mut().unwrap().remove(field);
        assert_eq!(check(&m(e), Op::Create), Err(Invalid::Missing(field)));
    }
    // An absent `before` is as good as nil.
    let mut e = full.clone();
    e.as_object_mut().unwrap().remove("before");
    check(&m(e), Op::Create).unwrap();
    let with = |k: &str, v: serde_json::Value| {
        let mut e = full.clone();
        e[k] = v;
        check(&m(e), Op::Create)
    };
    assert_eq!(with("v", json!(2)), Err(Invalid::Version));
    assert_eq!(with("op", json!("x")), Err(Invalid::UnknownOp));
    assert_eq!(
        with("source", json!(null)),
        Err(Invalid::WrongType("source", "a map"))
    );
    assert_eq!(
        with("after", json!([1])),
        Err(Invalid::WrongType("after", "a map or nil"))
    );
    // Images that do not fit the op.
    assert_eq!(
        with("before", row.clone()),
        Err(Invalid::Images(Op::Create))
    );
    assert_eq!(with("after", json!(null)), Err(Invalid::Images(Op::Create)));
    let op = |code: &str, before: &serde_json::Value, after: &serde_json::Value| {
        let mut e = full.clone();
        e["op"] = json!(code);
        e["before"] = before.clone();
        e["after"] = after.clone();
        m(e)
    };
    let null = json!(null);
    assert_eq!(
        check(&op("u", &null, &row), Op::Update),
        Err(Invalid::Images(Op::Update))
    );
    assert_eq!(
        check(&op("d", &row, &row), Op::Delete),
        Err(Invalid::Images(Op::Delete))
    );
    assert_eq!(
        check(&op("r", &row, &row), Op::Read),
        Err(Invalid::Images(Op::Read))
    );
    // The op returned beside the event must be the event's.
    assert_eq!(
        check(&op("c", &null, &row), Op::Delete),
        Err(Invalid::OpMismatch {
            value: Op::Create,
            returned: Op::Delete
        })
    );
    // A field twice, e.g. a second `op` a consumer might read instead.
    let mut twice = m(full);
    twice[0] += 1;
    twice.extend_from_slice(b"\xa2op\xa1d");
    assert_eq!(check(&twice, Op::Create), Err(Invalid::Duplicate("op")));
}
