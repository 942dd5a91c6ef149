//! The events the twins are compared over: every column type, missing and
//! null columns, both image orders, and strings that are not UTF-8.

use rmpv::Value;

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
pub type Input = (&'static str, &'static str, &'static str, Vec<u8>);

/// Inserts, updates, deletes and snapshot reads of several tenants, with
/// the tenant column of every type, missing, null, or not UTF-8; an update
/// whose after image lacks the column; a map with more than 15 columns and a
/// long string; an event whose keys come in another order; two tables.
pub fn varied() -> Vec<Input> {
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
    // Keys in another order, and one that is not a string (with the fields
    // every row event has, so a transform may pass it on).
    v.push((
        "shop",
        "users",
        "c",
        encode(&Value::Map(vec![
            (1.into(), "int key".into()),
            ("after".into(), row(41, t("acme".into()), "active")),
            ("ts_ms".into(), 0.into()),
            ("op".into(), "c".into()),
            ("source".into(), map(vec![("db", "shop".into())])),
            ("before".into(), Value::Nil),
            ("v".into(), 1.into()),
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
pub const NOT_UTF8: usize = 4;

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

/// Every third event of [`varied`] cut short every `step` bytes or so, and
/// 40 random corruptions of each (the same ones every run): events no
/// reader may fail on or read past.
pub fn malformed(step: usize) -> Vec<Input> {
    let mut inputs: Vec<Input> = Vec::new();
    let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut rnd = move || {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed
    };
    for (i, (db, table, op, bytes)) in varied().into_iter().enumerate().filter(|(i, _)| i % 3 == 0)
    {
        for cut in (0..bytes.len()).step_by(step + i % 4) {
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
    inputs
}
