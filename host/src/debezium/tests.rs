//! The encoder against Debezium's documentation ("How the MySQL connector
//! maps data types", the change-event examples, JsonConverter's output):
//! a table of expected JSON per column type and mode, then inserts,
//! updates, deletes, primary-key changes, keyless tables and tombstones.
//! Events are made the way the decoder makes them (`event::layout`).

use std::sync::Arc;

use rmpv::Value as V;
use serde_json::{json, Value as Json};

use super::settings::*;
use super::{Encoder, RuleOutput};
use crate::event::batch::TableName;
use crate::event::columns::{ColumnType, SqlType, TableColumns};
use crate::event::layout::{write_before_key, RowFrame, SourceTxn};
use crate::event::msgpack::{write_map_header, write_str};
use crate::event::{Batch, Op, Record, TxnId};

type Row<'a> = &'a [(&'a str, V)];

fn col(name: &str, sql: SqlType, nullable: bool) -> ColumnType {
    ColumnType {
        name: name.into(),
        sql,
        nullable,
    }
}

fn int(bytes: u8, unsigned: bool) -> SqlType {
    SqlType::Int { bytes, unsigned }
}

fn map(out: &mut Vec<u8>, row: Option<Row<'_>>) {
    match row {
        None => rmpv::encode::write_value(out, &V::Nil).unwrap(),
        Some(row) => {
            write_map_header(out, row.len());
            for (k, v) in row {
                write_str(out, k);
                rmpv::encode::write_value(out, v).unwrap();
            }
        }
    }
}

/// One change as the decoder writes it, with its key (`None`: no key).
struct Change<'a> {
    op: Op,
    after: Option<Row<'a>>,
    before: Option<Row<'a>>,
    key: Option<Row<'a>>,
    /// A key a key plugin wrote (any bytes), instead of `key`.
    raw_key: Option<&'a [u8]>,
    /// A tombstone record follows (as the decoder adds after a delete).
    tombstone: bool,
}

fn change<'a>(op: Op, after: Option<Row<'a>>, before: Option<Row<'a>>) -> Change<'a> {
    Change {
        op,
        after,
        before,
        key: None,
        raw_key: None,
        tombstone: false,
    }
}

/// What came out: op, key and value of each record (`None` for null).
#[derive(Debug)]
struct Out {
    op: Op,
    key: Option<Json>,
    value: Option<Json>,
    /// A primary-key change's header: its name and value, parsed.
    header: Option<(&'static str, Json)>,
}

fn encode(
    cols: &[ColumnType],
    settings: DebeziumSettings,
    tombstones: bool,
    changes: &[Change<'_>],
) -> Vec<Out> {
    let columns = Arc::new(TableColumns {
        columns: cols.to_vec(),
    });
    let name = Arc::new(TableName {
        db: "inventory".into(),
        table: "customers".into(),
    });
    let mut batch = Batch::default();
    let table = batch.table_id(&name);
    batch.set_columns(table, &columns);
    let topic = batch.topic_id(&Arc::from("dbserver1.inventory.customers"));
    let txn = SourceTxn::new(223344, "mysql-bin.000003", 484, Some("0-1-9"));
    let mut frame = RowFrame::default();
    for (i, c) in changes.iter().enumerate() {
        let db = crate::event::msgpack::PreEncoded::str("inventory");
        let tb = crate::event::msgpack::PreEncoded::str("customers");
        frame.set(
            c.op,
            &txn,
            db.bytes(),
            tb.bytes(),
            1465581029000,
            1465581029523,
        );
        let at = batch.buf.len();
        frame.open(&mut batch.buf);
        map(&mut batch.buf, c.after);
        write_before_key(&mut batch.buf);
        map(&mut batch.buf, c.before);
        frame.close(&mut batch.buf, i as u64);
        let value = at..batch.buf.len();
        let key = c.key.map(|k| {
            let at = batch.buf.len();
            map(&mut batch.buf, Some(k));
            at..batch.buf.len()
        });
        let key = key.or_else(|| {
            c.raw_key.map(|k| {
                let at = batch.buf.len();
                batch.buf.extend_from_slice(k);
                at..batch.buf.len()
            })
        });
        let record = Record {
            value: value.clone(),
            key,
            op: c.op,
            table,
            txn: TxnId(1),
            topic: Some(topic),
            dead_letter: None,
            rule: Some(0),
            key_header: None,
        };
        batch.records.push(record.clone());
        if c.tombstone {
            batch.records.push(Record {
                value: value.end..value.end,
                ..record
            });
        }
    }
    let rules = [RuleOutput {
        format: Format::DebeziumJson,
        tombstones,
    }];
    Encoder::new(Format::MsgPack, settings)
        .encode(&mut batch, &rules, "dbserver1")
        .unwrap();
    let json = |b: &[u8]| serde_json::from_slice::<Json>(b).unwrap();
    batch
        .records
        .iter()
        .map(|r| Out {
            op: r.op,
            // Keys a plugin wrote are not JSON: shown as their text.
            key: batch.key(r).map(|k| {
                serde_json::from_slice(k)
                    .unwrap_or_else(|_| Json::String(String::from_utf8_lossy(k).into_owned()))
            }),
            value: batch.payload(r).map(json),
            header: r
                .key_header
                .as_ref()
                .map(|h| (h.name, json(&batch.buf[h.value.clone()]))),
        })
        .collect()
}

fn schemaless() -> DebeziumSettings {
    DebeziumSettings {
        schemas_enable: false,
        ..Default::default()
    }
}

/// The defaults with `{schema, payload}`.
fn with_schemas() -> DebeziumSettings {
    DebeziumSettings {
        schemas_enable: true,
        ..Default::default()
    }
}

/// The value and the field schema one column gets, inserted alone.
fn one(c: &ColumnType, v: V, settings: DebeziumSettings) -> (Json, Json) {
    let settings = DebeziumSettings {
        schemas_enable: true,
        ..settings
    };
    let row = [(&*c.name, v)];
    let out = encode(
        std::slice::from_ref(c),
        settings,
        false,
        &[change(Op::Create, Some(&row), None)],
    );
    let value = out[0].value.clone().unwrap();
    let field = value["schema"]["fields"][1]["fields"][0].clone();
    (value["payload"]["after"][&*c.name].clone(), field)
}

/// A field schema: `{"type", "optional", ["name", "version"],
/// ["parameters"], "field"}`.
fn schema(kind: &str, optional: bool, name: Option<&str>, params: Option<Json>) -> Json {
    let mut s = json!({"type": kind, "optional": optional, "field": "c"});
    if let Some(n) = name {
        s["name"] = json!(n);
        s["version"] = json!(1);
    }
    if let Some(p) = params {
        s["parameters"] = p;
    }
    s
}

fn with(f: impl FnOnce(&mut DebeziumSettings)) -> DebeziumSettings {
    let mut s = DebeziumSettings::default();
    f(&mut s);
    s
}

/// The table: column type, nullable, Sluice's value, settings, Debezium's
/// value and field schema. Each row cites the documentation's mapping.
#[test]
fn every_type_maps_as_debeziums_documentation_says() {
    use SqlType as S;
    let dflt = DebeziumSettings::default;
    let decimal = S::Decimal {
        precision: 10,
        scale: 2,
    };
    let decimal_schema = |optional| {
        schema(
            "bytes",
            optional,
            Some("org.apache.kafka.connect.data.Decimal"),
            Some(json!({"scale": "2", "connect.decimal.precision": "10"})),
        )
    };
    let labels: Arc<[Box<str>]> = ["a", "b", "c"].iter().map(|s| (*s).into()).collect();
    // 0x0101000000000000000000F03F0000000000000040: WKB POINT(1 2).
    let wkb: Vec<u8> = [
        &[1u8, 1, 0, 0, 0][..],
        &1f64.to_le_bytes(),
        &2f64.to_le_bytes(),
    ]
    .concat();
    let mut geometry = 4326u32.to_le_bytes().to_vec();
    geometry.extend_from_slice(&wkb);
    let wkb64 = "AQEAAAAAAAAAAADwPwAAAAAAAABA";
    #[rustfmt::skip]
    let table: Vec<(SqlType, bool, V, DebeziumSettings, Json, Json)> = vec![
        // Basic types: TINYINT and SMALLINT INT16, MEDIUMINT and INT INT32,
        // BIGINT INT64; unsigned ones one size up (INT UNSIGNED INT64).
        (int(1, false), false, V::from(-128), dflt(), json!(-128), schema("int16", false, None, None)),
        (int(1, true), false, V::from(255), dflt(), json!(255), schema("int16", false, None, None)),
        (int(2, false), true, V::from(-32768), dflt(), json!(-32768), schema("int16", true, None, None)),
        (int(2, true), false, V::from(65535), dflt(), json!(65535), schema("int32", false, None, None)),
        (int(3, false), false, V::from(-8388608), dflt(), json!(-8388608), schema("int32", false, None, None)),
        (int(3, true), false, V::from(16777215), dflt(), json!(16777215), schema("int32", false, None, None)),
        (int(4, false), false, V::from(i32::MIN), dflt(), json!(i32::MIN), schema("int32", false, None, None)),
        (int(4, true), false, V::from(u32::MAX), dflt(), json!(u32::MAX), schema("int64", false, None, None)),
        (int(8, false), false, V::from(i64::MIN), dflt(), json!(i64::MIN), schema("int64", false, None, None)),
        // bigint.unsigned.handling.mode=long: a Java long, so the top half
        // wraps; precise: Decimal with scale 0 (precision 20).
        (int(8, true), false, V::from(u64::MAX), dflt(), json!(-1), schema("int64", false, None, None)),
        (int(8, true), false, V::from(42u64), dflt(), json!(42), schema("int64", false, None, None)),
        (int(8, true), false, V::from(u64::MAX), with(|s| s.bigint_unsigned = BigIntUnsignedMode::Precise),
            json!("AP//////////"),
            schema("bytes", false, Some("org.apache.kafka.connect.data.Decimal"), Some(json!({"scale": "0", "connect.decimal.precision": "20"})))),
        // REAL/FLOAT(p<=23) FLOAT32, DOUBLE FLOAT64.
        (S::Float, true, V::F32(1.1), dflt(), json!(1.1), schema("float", true, None, None)),
        (S::Double, true, V::F64(-2.5e-300), dflt(), json!(-2.5e-300), schema("double", true, None, None)),
        // decimal.handling.mode: precise (the unscaled value's bytes), string, double.
        (decimal.clone(), true, V::from("-12.50"), dflt(), json!("+x4="), decimal_schema(true)),
        (decimal.clone(), false, V::from("0.00"), dflt(), json!("AA=="), decimal_schema(false)),
        (decimal.clone(), true, V::from("-12.50"), with(|s| s.decimal = DecimalMode::String), json!("-12.50"), schema("string", true, None, None)),
        (decimal.clone(), true, V::from("-12.50"), with(|s| s.decimal = DecimalMode::Double), json!(-12.5), schema("double", true, None, None)),
        // YEAR: INT32 io.debezium.time.Year; the zero year reads as 1900
        // from the binlog (1900 + the stored byte).
        (S::Year, true, V::from(2024), dflt(), json!(2024), schema("int32", true, Some("io.debezium.time.Year"), None)),
        (S::Year, true, V::from(0), dflt(), json!(1900), schema("int32", true, Some("io.debezium.time.Year"), None)),
        // DATE: days since the epoch; zero dates are null when the column
        // allows it, the epoch otherwise.
        (S::Date, true, V::from("2018-06-20"), dflt(), json!(17702), schema("int32", true, Some("io.debezium.time.Date"), None)),
        (S::Date, true, V::from("1000-01-01"), dflt(), json!(-354285), schema("int32", true, Some("io.debezium.time.Date"), None)),
        (S::Date, true, V::from("0000-00-00"), dflt(), json!(null), schema("int32", true, Some("io.debezium.time.Date"), None)),
        (S::Date, false, V::from("0000-00-00"), dflt(), json!(0), schema("int32", false, Some("io.debezium.time.Date"), None)),
        (S::Date, false, V::from("2024-00-15"), dflt(), json!(0), schema("int32", false, Some("io.debezium.time.Date"), None)),
        (S::Date, true, V::from("2018-06-20"), with(|s| s.time = TimeMode::Connect), json!(17702), schema("int32", true, Some("org.apache.kafka.connect.data.Date"), None)),
        // TIME: MicroTime microseconds (negative and past 24 h kept);
        // connect: Kafka Connect's Time, milliseconds.
        (S::Time { fsp: 0 }, true, V::from("12:34:56"), dflt(), json!(45296000000i64), schema("int64", true, Some("io.debezium.time.MicroTime"), None)),
        (S::Time { fsp: 6 }, true, V::from("-838:59:59.000000"), dflt(), json!(-3020399000000i64), schema("int64", true, Some("io.debezium.time.MicroTime"), None)),
        (S::Time { fsp: 3 }, true, V::from("12:34:56.789"), with(|s| s.time = TimeMode::Connect), json!(45296789), schema("int32", true, Some("org.apache.kafka.connect.data.Time"), None)),
        // ... which is a time of day: outside 00:00..24:00, null, as
        // Debezium writes (tests/integration/debezium_reference.rs).
        (S::Time { fsp: 0 }, true, V::from("24:00:00"), with(|s| s.time = TimeMode::Connect), json!(86400000), schema("int32", true, Some("org.apache.kafka.connect.data.Time"), None)),
        (S::Time { fsp: 0 }, true, V::from("100:00:00"), with(|s| s.time = TimeMode::Connect), json!(null), schema("int32", true, Some("org.apache.kafka.connect.data.Time"), None)),
        (S::Time { fsp: 6 }, true, V::from("-00:00:00.000001"), with(|s| s.time = TimeMode::Connect), json!(null), schema("int32", true, Some("org.apache.kafka.connect.data.Time"), None)),
        // DATETIME(0-3): Timestamp milliseconds; (4-6): MicroTimestamp.
        // The documentation's example: 2018-06-20 06:37:03 -> 1529476623000.
        (S::DateTime { fsp: 0 }, true, V::from("2018-06-20 06:37:03"), dflt(), json!(1529476623000i64), schema("int64", true, Some("io.debezium.time.Timestamp"), None)),
        (S::DateTime { fsp: 3 }, true, V::from("2018-06-20 06:37:03.120"), dflt(), json!(1529476623120i64), schema("int64", true, Some("io.debezium.time.Timestamp"), None)),
        (S::DateTime { fsp: 6 }, true, V::from("2018-06-20 06:37:03.123456"), dflt(), json!(1529476623123456i64), schema("int64", true, Some("io.debezium.time.MicroTimestamp"), None)),
        (S::DateTime { fsp: 6 }, true, V::from("2018-06-20 06:37:03.123456"), with(|s| s.time = TimeMode::Connect), json!(1529476623123i64), schema("int64", true, Some("org.apache.kafka.connect.data.Timestamp"), None)),
        (S::DateTime { fsp: 0 }, true, V::from("0000-00-00 00:00:00"), dflt(), json!(null), schema("int64", true, Some("io.debezium.time.Timestamp"), None)),
        (S::DateTime { fsp: 6 }, false, V::from("0000-00-00 23:59:59.999000"), dflt(), json!(0), schema("int64", false, Some("io.debezium.time.MicroTimestamp"), None)),
        (S::DateTime { fsp: 0 }, true, V::from("1969-12-31 23:59:59"), dflt(), json!(-1000), schema("int64", true, Some("io.debezium.time.Timestamp"), None)),
        // TIMESTAMP: ZonedTimestamp, ISO-8601 in UTC, the column's digits;
        // the zero TIMESTAMP is the epoch.
        (S::Timestamp { fsp: 0 }, true, V::from("2018-06-20T13:37:03Z"), dflt(), json!("2018-06-20T13:37:03Z"), schema("string", true, Some("io.debezium.time.ZonedTimestamp"), None)),
        (S::Timestamp { fsp: 3 }, true, V::from("2018-06-20T13:37:03.500Z"), dflt(), json!("2018-06-20T13:37:03.500Z"), schema("string", true, Some("io.debezium.time.ZonedTimestamp"), None)),
        (S::Timestamp { fsp: 0 }, false, V::from("0000-00-00T00:00:00Z"), dflt(), json!("1970-01-01T00:00:00Z"), schema("string", false, Some("io.debezium.time.ZonedTimestamp"), None)),
        (S::Timestamp { fsp: 2 }, true, V::from("0000-00-00T00:00:00Z"), dflt(), json!("1970-01-01T00:00:00.00Z"), schema("string", true, Some("io.debezium.time.ZonedTimestamp"), None)),
        (S::Timestamp { fsp: 0 }, true, V::from("2018-06-20T13:37:03Z"), with(|s| s.time = TimeMode::Connect), json!("2018-06-20T13:37:03Z"), schema("string", true, Some("io.debezium.time.ZonedTimestamp"), None)),
        // CHAR, VARCHAR, TEXT (and MariaDB's JSON, text to the binlog): STRING.
        (S::Text, true, V::from("Anne \"Marie\"\n€"), dflt(), json!("Anne \"Marie\"\n€"), schema("string", true, None, None)),
        // BINARY, VARBINARY, BLOB (and MariaDB's INET6, UUID): binary.handling.mode.
        (S::Binary, true, V::Binary(vec![0, 1, 2, 0xff]), dflt(), json!("AAEC/w=="), schema("bytes", true, None, None)),
        (S::Binary, true, V::Binary(vec![0, 1, 2, 0xff]), with(|s| s.binary = BinaryMode::Base64), json!("AAEC/w=="), schema("string", true, None, None)),
        (S::Binary, true, V::Binary(vec![0, 1, 2, 0xff]), with(|s| s.binary = BinaryMode::Base64UrlSafe), json!("AAEC_w=="), schema("string", true, None, None)),
        (S::Binary, true, V::Binary(vec![0, 1, 2, 0xff]), with(|s| s.binary = BinaryMode::Hex), json!("000102ff"), schema("string", true, None, None)),
        // ENUM: io.debezium.data.Enum, `allowed` the labels; SET: EnumSet,
        // the members comma-separated.
        (S::Enum(labels.clone()), true, V::from("b"), dflt(), json!("b"), schema("string", true, Some("io.debezium.data.Enum"), Some(json!({"allowed": "a,b,c"})))),
        (S::Set(labels.clone()), true, V::Array(vec!["a".into(), "c".into()]), dflt(), json!("a,c"), schema("string", true, Some("io.debezium.data.EnumSet"), Some(json!({"allowed": "a,b,c"})))),
        (S::Set(labels.clone()), true, V::Array(vec![]), dflt(), json!(""), schema("string", true, Some("io.debezium.data.EnumSet"), Some(json!({"allowed": "a,b,c"})))),
        // BIT(1) BOOLEAN; BIT(n>1) io.debezium.data.Bits, little-endian
        // bytes, n/8 rounded up of them.
        (S::Bit { bits: 1 }, true, V::Boolean(true), dflt(), json!(true), schema("boolean", true, None, None)),
        (S::Bit { bits: 10 }, true, V::from(0x201u64), dflt(), json!("AQI="), schema("bytes", true, Some("io.debezium.data.Bits"), Some(json!({"length": "10"})))),
        (S::Bit { bits: 64 }, true, V::from(u64::MAX), dflt(), json!("//////////8="), schema("bytes", true, Some("io.debezium.data.Bits"), Some(json!({"length": "64"})))),
        // JSON: io.debezium.data.Json, the document as text.
        (S::Json, true, V::Map(vec![("a".into(), V::from(1)), ("b".into(), V::Array(vec![V::Boolean(true), V::Nil, "x".into()]))]), dflt(),
            json!(r#"{"a":1,"b":[true,null,"x"]}"#), schema("string", true, Some("io.debezium.data.Json"), None)),
        (S::Json, true, V::from("text"), dflt(), json!(r#""text""#), schema("string", true, Some("io.debezium.data.Json"), None)),
        // MySQL 9 VECTOR: io.debezium.data.FloatVector.
        (S::Vector, true, V::Array(vec![V::F32(1.5), V::F32(-2.0)]), dflt(), json!([1.5, -2.0]),
            json!({"type": "array", "items": {"type": "float", "optional": false}, "optional": true, "name": "io.debezium.data.FloatVector", "version": 1, "field": "c"})),
        // NULL is null whatever the type.
        (S::Date, true, V::Nil, dflt(), json!(null), schema("int32", true, Some("io.debezium.time.Date"), None)),
        (decimal.clone(), true, V::Nil, dflt(), json!(null), decimal_schema(true)),
    ];
    for (i, (sql, nullable, v, settings, value, field)) in table.into_iter().enumerate() {
        let c = col("c", sql.clone(), nullable);
        let (got, got_field) = one(&c, v.clone(), settings.clone());
        assert_eq!(got, value, "row {i}: {sql:?} {v:?} {settings:?}");
        assert_eq!(got_field, field, "row {i}: {sql:?} {settings:?}");
    }
    // Spatial types: io.debezium.data.geometry.Geometry, {wkb, srid}.
    let c = col("c", S::Geometry, true);
    let (got, field) = one(&c, V::Binary(geometry), dflt());
    assert_eq!(got, json!({"wkb": wkb64, "srid": 4326}));
    assert_eq!(
        field,
        json!({"type": "struct", "fields": [
            {"type": "bytes", "optional": false, "field": "wkb"},
            {"type": "int32", "optional": true, "field": "srid"}],
            "optional": true, "name": "io.debezium.data.geometry.Geometry", "version": 1,
            "doc": "Geometry", "field": "c"})
    );
}

fn customers() -> Vec<ColumnType> {
    vec![
        col("id", int(4, false), false),
        col("first_name", SqlType::Text, false),
        col("email", SqlType::Text, true),
    ]
}

const ANNE: &[(&str, V)] = &[];

fn anne(id: i64, first: &str) -> Vec<(&'static str, V)> {
    vec![
        ("id", V::from(id)),
        ("first_name", V::from(first)),
        ("email", V::Nil),
    ]
}

fn id(n: i64) -> Vec<(&'static str, V)> {
    vec![("id", V::from(n))]
}

#[test]
fn an_insert_is_the_documented_envelope_and_key() {
    let row = anne(1004, "Anne");
    let key = id(1004);
    let out = encode(
        &customers(),
        schemaless(),
        false,
        &[Change {
            key: Some(&key),
            ..change(Op::Create, Some(&row), None)
        }],
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].op, Op::Create);
    assert_eq!(out[0].key, Some(json!({"id": 1004})));
    let version = concat!(env!("CARGO_PKG_VERSION"), "-sluice");
    assert_eq!(
        out[0].value,
        Some(json!({
            "before": null,
            "after": {"id": 1004, "first_name": "Anne", "email": null},
            "source": {
                "version": version, "connector": "mysql", "name": "dbserver1",
                "ts_ms": 1465581029000i64, "ts_us": 1465581029000000i64,
                "ts_ns": 1465581029000000000i64, "snapshot": "false", "db": "inventory",
                "sequence": null, "table": "customers", "server_id": 223344,
                "gtid": "0-1-9", "file": "mysql-bin.000003", "pos": 484, "row": 0,
                "thread": null, "query": null
            },
            "op": "c",
            "ts_ms": 1465581029523i64,
            "ts_us": 1465581029523000i64,
            "ts_ns": 1465581029523000000i64,
            "transaction": null
        }))
    );
    assert!(ANNE.is_empty());
}

#[test]
fn updates_carry_both_images_and_deletes_the_old_one_then_a_tombstone() {
    let (old, new) = (anne(1004, "Anne"), anne(1004, "Anne Marie"));
    let key = id(1004);
    let out = encode(
        &customers(),
        schemaless(),
        true,
        &[
            Change {
                key: Some(&key),
                ..change(Op::Update, Some(&new), Some(&old))
            },
            Change {
                key: Some(&key),
                tombstone: true,
                ..change(Op::Delete, None, Some(&new))
            },
        ],
    );
    let ops: Vec<Op> = out.iter().map(|o| o.op).collect();
    assert_eq!(ops, [Op::Update, Op::Delete, Op::Delete]);
    let update = out[0].value.as_ref().unwrap();
    assert_eq!(update["op"], "u");
    assert_eq!(update["before"]["first_name"], "Anne");
    assert_eq!(update["after"]["first_name"], "Anne Marie");
    let delete = out[1].value.as_ref().unwrap();
    assert_eq!(delete["op"], "d");
    assert_eq!(delete["after"], json!(null));
    assert_eq!(delete["before"]["first_name"], "Anne Marie");
    assert_eq!(delete["source"]["row"], 1);
    // The tombstone: the same key, a null value.
    assert_eq!(out[2].key, Some(json!({"id": 1004})));
    assert!(out[2].value.is_none());
}

#[test]
fn a_primary_key_change_is_a_delete_a_tombstone_and_a_create() {
    let (old, new) = (anne(1004, "Anne"), anne(2004, "Anne"));
    let key = id(2004);
    let run = |tombstones| {
        encode(
            &customers(),
            schemaless(),
            tombstones,
            &[Change {
                key: Some(&key),
                ..change(Op::Update, Some(&new), Some(&old))
            }],
        )
    };
    let out = run(true);
    let ops: Vec<Op> = out.iter().map(|o| o.op).collect();
    assert_eq!(ops, [Op::Delete, Op::Delete, Op::Create]);
    assert_eq!(out[0].key, Some(json!({"id": 1004})));
    let delete = out[0].value.as_ref().unwrap();
    assert_eq!(
        (
            delete["op"].clone(),
            delete["before"]["id"].clone(),
            delete["after"].clone()
        ),
        (json!("d"), json!(1004), json!(null))
    );
    assert_eq!(out[1].key, Some(json!({"id": 1004})));
    assert!(out[1].value.is_none(), "the old key's tombstone");
    assert_eq!(out[2].key, Some(json!({"id": 2004})));
    let create = out[2].value.as_ref().unwrap();
    assert_eq!(
        (
            create["op"].clone(),
            create["before"].clone(),
            create["after"]["id"].clone()
        ),
        (json!("c"), json!(null), json!(2004))
    );
    // Each half names the other's key, as its payload alone; the
    // tombstone too, as Debezium writes it.
    assert_eq!(
        out.iter().map(|o| o.header.clone()).collect::<Vec<_>>(),
        [
            Some(("__debezium.newkey", json!({"id": 2004}))),
            Some(("__debezium.newkey", json!({"id": 2004}))),
            Some(("__debezium.oldkey", json!({"id": 1004}))),
        ]
    );
    // Without tombstones: the delete and the create.
    let ops: Vec<Op> = run(false).iter().map(|o| o.op).collect();
    assert_eq!(ops, [Op::Delete, Op::Create]);
    // With schemas, the headers still hold the payload only.
    let with_schemas = encode(
        &customers(),
        with_schemas(),
        false,
        &[Change {
            key: Some(&key),
            ..change(Op::Update, Some(&new), Some(&old))
        }],
    );
    assert_eq!(
        with_schemas
            .iter()
            .map(|o| o.header.clone())
            .collect::<Vec<_>>(),
        [
            Some(("__debezium.newkey", json!({"id": 2004}))),
            Some(("__debezium.oldkey", json!({"id": 1004}))),
        ]
    );
    assert!(with_schemas[0].key.as_ref().unwrap()["schema"].is_object());
}

#[test]
fn a_table_without_a_key_gets_a_null_key() {
    let row = anne(1, "x");
    let out = encode(
        &customers(),
        schemaless(),
        true,
        &[change(Op::Update, Some(&row), Some(&row))],
    );
    assert_eq!(out.len(), 1);
    assert_eq!(out[0].key, None);
    assert_eq!(out[0].value.as_ref().unwrap()["op"], "u");
}

#[test]
fn with_schemas_key_and_value_are_schema_and_payload() {
    let row = anne(1004, "Anne");
    let key = id(1004);
    let settings = with_schemas();
    let changes = [
        Change {
            key: Some(&key),
            ..change(Op::Create, Some(&row), None)
        },
        Change {
            key: Some(&key),
            ..change(Op::Delete, None, Some(&row))
        },
    ];
    let out = encode(&customers(), settings, false, &changes);
    let key = out[0].key.as_ref().unwrap();
    assert_eq!(
        key,
        &json!({
            "schema": {"type": "struct", "fields": [{"type": "int32", "optional": false, "field": "id"}],
                       "optional": false, "name": "dbserver1.inventory.customers.Key"},
            "payload": {"id": 1004}
        })
    );
    let value = out[0].value.as_ref().unwrap();
    let s = &value["schema"];
    assert_eq!(s["name"], "dbserver1.inventory.customers.Envelope");
    let fields: Vec<&str> = s["fields"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| f["field"].as_str().unwrap())
        .collect();
    assert_eq!(
        fields,
        [
            "before",
            "after",
            "source",
            "transaction",
            "op",
            "ts_ms",
            "ts_us",
            "ts_ns"
        ]
    );
    // Version 2 with `transaction` before `op`, as Debezium 3.6.3.Final
    // writes (it was version 1 with `transaction` last, from its docs).
    assert_eq!(s["version"], 2);
    let row_schema = json!({"type": "struct", "fields": [
        {"type": "int32", "optional": false, "field": "id"},
        {"type": "string", "optional": false, "field": "first_name"},
        {"type": "string", "optional": true, "field": "email"}],
        "optional": true, "name": "dbserver1.inventory.customers.Value"});
    for (i, f) in ["before", "after"].iter().enumerate() {
        let mut expected = row_schema.clone();
        expected["field"] = json!(f);
        assert_eq!(s["fields"][i], expected);
    }
    assert_eq!(s["fields"][2]["name"], "io.debezium.connector.mysql.Source");
    assert_eq!(value["payload"]["after"]["id"], 1004);
    // The delete's schema is the same: it was written once and copied.
    let delete = out[1].value.as_ref().unwrap();
    assert_eq!(delete["schema"], value["schema"]);
    assert_eq!(delete["payload"]["op"], "d");
}

#[test]
fn each_message_gets_the_schema_of_its_own_fields_when_they_change_from_row_to_row() {
    // Rows of one table whose fields differ (what plugins added, as a
    // number or as text, under two names) and come back: the schema
    // written last is reused only when the fields are the same.
    let plain = anne(1, "Anne");
    let mut tenant = anne(2, "Bea");
    tenant.push(("tenant", V::from(7)));
    let mut tenant_text = anne(3, "Cy");
    tenant_text.push(("tenant", V::from("seven")));
    let mut region = anne(4, "Di");
    region.push(("region", V::from(7)));
    let rows = [
        &plain,
        &tenant,
        &tenant_text,
        &plain,
        &region,
        &tenant,
        &plain,
    ];
    let changes: Vec<_> = rows
        .iter()
        .map(|r| change(Op::Create, Some(r), None))
        .collect();
    let together = encode(&customers(), with_schemas(), false, &changes);
    for (i, c) in changes.iter().enumerate() {
        let alone = encode(&customers(), with_schemas(), false, std::slice::from_ref(c));
        let schema = |o: &Out| o.value.as_ref().unwrap()["schema"].clone();
        assert_eq!(schema(&together[i]), schema(&alone[0]), "row {i}");
    }
    let after_fields =
        |i: usize| together[i].value.as_ref().unwrap()["schema"]["fields"][1]["fields"].clone();
    assert_ne!(
        after_fields(1),
        after_fields(2),
        "tenant as a number, then as text"
    );
    assert_ne!(after_fields(1), after_fields(4), "tenant, then region");
    assert_eq!(after_fields(0), after_fields(6));
}

#[test]
fn what_a_plugin_added_or_changed_is_written_as_what_it_is() {
    // `id` became a string (a masking plugin), `tenant` is new.
    let row = vec![
        ("id", V::from("***")),
        ("first_name", V::from("Anne")),
        ("email", V::Nil),
        ("tenant", V::from(7)),
    ];
    let out = encode(
        &customers(),
        with_schemas(),
        false,
        &[change(Op::Create, Some(&row), None)],
    );
    let value = out[0].value.as_ref().unwrap();
    assert_eq!(value["payload"]["after"]["id"], "***");
    assert_eq!(value["payload"]["after"]["tenant"], 7);
    let fields = &value["schema"]["fields"][1]["fields"];
    assert_eq!(
        fields[0],
        json!({"type": "string", "optional": true, "field": "id"})
    );
    assert_eq!(
        fields[3],
        json!({"type": "int64", "optional": true, "field": "tenant"})
    );
}

#[test]
fn other_rules_schema_changes_and_dead_letters_stay_msgpack() {
    let row = anne(1, "x");
    let columns = Arc::new(TableColumns {
        columns: customers(),
    });
    let name = Arc::new(TableName {
        db: "inventory".into(),
        table: "customers".into(),
    });
    let mut batch = Batch::default();
    let table = batch.table_id(&name);
    batch.set_columns(table, &columns);
    let mut value = Vec::new();
    map(&mut value, Some(&row));
    let record = |rule, op, dead: bool| Record {
        value: 0..value.len(),
        key: None,
        op,
        table,
        txn: TxnId(1),
        topic: None,
        dead_letter: dead.then(|| {
            Arc::new(crate::event::batch::DeadLetterNote {
                plugin: "p".into(),
                error: "e".into(),
            })
        }),
        rule,
        key_header: None,
    };
    batch.buf = value.clone();
    batch.records = vec![
        record(Some(1), Op::Create, false),
        record(Some(0), Op::Ddl, false),
        record(Some(0), Op::Create, true),
    ];
    let rules = [
        RuleOutput {
            format: Format::DebeziumJson,
            tombstones: false,
        },
        RuleOutput {
            format: Format::MsgPack,
            tombstones: false,
        },
    ];
    Encoder::new(Format::MsgPack, DebeziumSettings::default())
        .encode(&mut batch, &rules, "p")
        .unwrap();
    for r in &batch.records {
        assert_eq!(batch.value(r), &value[..], "{:?}", r.op);
    }
}

#[test]
fn a_snapshot_row_is_a_read_of_an_incremental_snapshot() {
    let columns = Arc::new(TableColumns {
        columns: customers(),
    });
    let name = Arc::new(TableName {
        db: "inventory".into(),
        table: "customers".into(),
    });
    let mut batch = Batch::default();
    let table = batch.table_id(&name);
    batch.set_columns(table, &columns);
    let txn = SourceTxn::snapshot(9, "mysql-bin.000003", 99);
    let mut frame = RowFrame::default();
    let db = crate::event::msgpack::PreEncoded::str("inventory");
    let tb = crate::event::msgpack::PreEncoded::str("customers");
    frame.set(Op::Read, &txn, db.bytes(), tb.bytes(), 5, 6);
    frame.open(&mut batch.buf);
    map(&mut batch.buf, Some(&anne(1, "x")));
    write_before_key(&mut batch.buf);
    map(&mut batch.buf, None);
    frame.close(&mut batch.buf, 0);
    batch.records.push(Record {
        value: 0..batch.buf.len(),
        key: None,
        op: Op::Read,
        table,
        txn: TxnId(1),
        topic: None,
        dead_letter: None,
        rule: None,
        key_header: None,
    });
    // No rule: `[kafka] format` decides.
    Encoder::new(Format::DebeziumJson, schemaless())
        .encode(&mut batch, &[], "p")
        .unwrap();
    let v: Json = serde_json::from_slice(batch.value(&batch.records[0])).unwrap();
    assert_eq!(v["op"], "r");
    assert_eq!(v["source"]["snapshot"], "incremental");
    assert_eq!(v["source"]["gtid"], json!(null));
}

#[test]
fn a_key_a_plugin_wrote_goes_out_as_it_is() {
    let (old, new) = (anne(1004, "Anne"), anne(2004, "Anne"));
    // Text, and bytes that start like a MessagePack map but are not one.
    for raw in [&b"active|1004"[..], &[0x81, 0xa1, b'x']] {
        let out = encode(
            &customers(),
            schemaless(),
            true,
            &[
                Change {
                    raw_key: Some(raw),
                    ..change(Op::Update, Some(&new), Some(&old))
                },
                Change {
                    raw_key: Some(raw),
                    tombstone: true,
                    ..change(Op::Delete, None, Some(&new))
                },
            ],
        );
        // No delete + create: the key is the plugin's, not the columns'.
        let ops: Vec<Op> = out.iter().map(|o| o.op).collect();
        assert_eq!(ops, [Op::Update, Op::Delete, Op::Delete]);
        assert!(out[2].value.is_none());
        assert_eq!(out[0].value.as_ref().unwrap()["after"]["id"], 2004);
        let text = Json::String(String::from_utf8_lossy(raw).into_owned());
        assert!(out.iter().all(|o| o.key.as_ref() == Some(&text)));
    }
    // The bytes themselves, through a batch.
    let columns = Arc::new(TableColumns {
        columns: customers(),
    });
    let name = Arc::new(TableName {
        db: "inventory".into(),
        table: "customers".into(),
    });
    let mut batch = Batch::default();
    let table = batch.table_id(&name);
    batch.set_columns(table, &columns);
    batch.buf.extend_from_slice(b"active|1");
    batch.records.push(Record {
        value: 8..8,
        key: Some(0..8),
        op: Op::Delete,
        table,
        txn: TxnId(1),
        topic: None,
        dead_letter: None,
        rule: None,
        key_header: None,
    });
    Encoder::new(Format::DebeziumJson, DebeziumSettings::default())
        .encode(&mut batch, &[], "p")
        .unwrap();
    assert_eq!(batch.key(&batch.records[0]), Some(&b"active|1"[..]));
    assert_eq!(batch.payload(&batch.records[0]), None);
}
