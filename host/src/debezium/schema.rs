//! Kafka Connect schemas as JsonConverter writes them with
//! `schemas.enable=true`: each field's `{"type", "optional", "name",
//! "version", "parameters", "field"}` in that order, the row's struct
//! (`<prefix>.<db>.<table>.Value`), the key's (`.Key`), `source`
//! (`io.debezium.connector.mysql.Source`) and the envelope around them.

use super::settings::{BinaryMode, DebeziumSettings, TimeMode};
use super::value::Conv;
use super::write;
use crate::event::columns::{ColumnType, SqlType};

/// The schema of one field named `name`, whose values `conv` writes.
/// `col` is the table's column (for nullability and parameters); `None`
/// for a field the table does not have, which is optional.
pub(super) fn field(
    out: &mut Vec<u8>,
    name: &[u8],
    conv: Conv,
    col: Option<&ColumnType>,
    s: &DebeziumSettings,
) {
    use Conv as C;
    let optional = col.is_none_or(|c| c.nullable);
    let connect = s.time == TimeMode::Connect;
    let (kind, logical): (&str, Option<&str>) = match conv {
        C::Int16 => ("int16", None),
        C::Int32 => ("int32", None),
        C::Int64 | C::UnsignedLong | C::AnyInt => ("int64", None),
        C::UnsignedPrecise | C::DecimalPrecise => {
            ("bytes", Some("org.apache.kafka.connect.data.Decimal"))
        }
        C::Float32 | C::AnyFloat32 => ("float", None),
        C::Float64 | C::DecimalDouble | C::AnyFloat64 => ("double", None),
        C::DecimalString | C::Text | C::AnyString | C::AnyNull => ("string", None),
        C::Year => ("int32", Some("io.debezium.time.Year")),
        C::Date if connect => ("int32", Some("org.apache.kafka.connect.data.Date")),
        C::Date => ("int32", Some("io.debezium.time.Date")),
        C::MicroTime => ("int64", Some("io.debezium.time.MicroTime")),
        C::MilliTime => ("int32", Some("org.apache.kafka.connect.data.Time")),
        C::MilliTimestamp if connect => ("int64", Some("org.apache.kafka.connect.data.Timestamp")),
        C::MilliTimestamp => ("int64", Some("io.debezium.time.Timestamp")),
        C::MicroTimestamp => ("int64", Some("io.debezium.time.MicroTimestamp")),
        C::Zoned => ("string", Some("io.debezium.time.ZonedTimestamp")),
        C::Binary | C::AnyBytes => ("bytes", None),
        C::Enum => ("string", Some("io.debezium.data.Enum")),
        C::Set => ("string", Some("io.debezium.data.EnumSet")),
        C::Boolean | C::AnyBool => ("boolean", None),
        C::Bits => ("bytes", Some("io.debezium.data.Bits")),
        C::Json | C::AnyTree => ("string", Some("io.debezium.data.Json")),
        C::Geometry => ("struct", Some("io.debezium.data.geometry.Geometry")),
        C::Vector => ("array", Some("io.debezium.data.FloatVector")),
    };
    // Binary columns are strings unless left as bytes (binary.handling.mode).
    let kind = if conv == C::Binary && s.binary != BinaryMode::Bytes {
        "string"
    } else {
        kind
    };
    out.extend_from_slice(b"{\"type\":\"");
    out.extend_from_slice(kind.as_bytes());
    out.push(b'"');
    match conv {
        C::Geometry => out.extend_from_slice(
            b",\"fields\":[{\"type\":\"bytes\",\"optional\":false,\"field\":\"wkb\"},{\"type\":\"int32\",\"optional\":true,\"field\":\"srid\"}]",
        ),
        C::Vector => out.extend_from_slice(b",\"items\":{\"type\":\"float\",\"optional\":false}"),
        _ => {}
    }
    out.extend_from_slice(b",\"optional\":");
    write::bool(out, optional);
    if let Some(logical) = logical {
        out.extend_from_slice(b",\"name\":\"");
        out.extend_from_slice(logical.as_bytes());
        out.extend_from_slice(b"\",\"version\":1");
        if conv == C::Geometry {
            out.extend_from_slice(b",\"doc\":\"Geometry\"");
        }
    }
    parameters(out, conv, col);
    out.extend_from_slice(b",\"field\":");
    write::string(out, name);
    out.push(b'}');
}

fn parameters(out: &mut Vec<u8>, conv: Conv, col: Option<&ColumnType>) {
    let sql = col.map(|c| &c.sql);
    let param = |out: &mut Vec<u8>, pairs: &[(&str, &str)]| {
        out.extend_from_slice(b",\"parameters\":{");
        for (i, (k, v)) in pairs.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write::str(out, k);
            out.push(b':');
            write::str(out, v);
        }
        out.push(b'}');
    };
    match (conv, sql) {
        (Conv::DecimalPrecise, Some(SqlType::Decimal { precision, scale })) => param(
            out,
            &[
                ("scale", &scale.to_string()),
                ("connect.decimal.precision", &precision.to_string()),
            ],
        ),
        (Conv::UnsignedPrecise, _) => {
            param(out, &[("scale", "0"), ("connect.decimal.precision", "20")])
        }
        (Conv::Enum, Some(SqlType::Enum(labels))) | (Conv::Set, Some(SqlType::Set(labels))) => {
            param(out, &[("allowed", &labels.join(","))])
        }
        (Conv::Bits, Some(SqlType::Bit { bits })) => param(out, &[("length", &bits.to_string())]),
        _ => {}
    }
}

/// A struct of `fields` (already written, comma-separated) named `name`:
/// the row (`...Value`, optional: before and after may be null) or the key
/// (`...Key`, not optional), with `field` set for a struct inside another.
pub(super) fn structure(
    out: &mut Vec<u8>,
    fields: &[u8],
    optional: bool,
    name: &str,
    field: Option<&str>,
) {
    out.extend_from_slice(b"{\"type\":\"struct\",\"fields\":[");
    out.extend_from_slice(fields);
    out.extend_from_slice(b"],\"optional\":");
    write::bool(out, optional);
    out.extend_from_slice(b",\"name\":");
    write::str(out, name);
    if let Some(f) = field {
        out.extend_from_slice(b",\"field\":");
        write::str(out, f);
    }
    out.push(b'}');
}

/// The envelope's schema around the row's fields (the same struct for
/// `before` and `after`), for a table whose schemas are named `base`
/// (`<prefix>.<db>.<table>`).
pub(super) fn envelope(out: &mut Vec<u8>, row_fields: &[u8], base: &str) {
    let value = format!("{base}.Value");
    out.extend_from_slice(b"{\"type\":\"struct\",\"fields\":[");
    structure(out, row_fields, true, &value, Some("before"));
    out.push(b',');
    structure(out, row_fields, true, &value, Some("after"));
    out.push(b',');
    out.extend_from_slice(SOURCE.as_bytes());
    out.extend_from_slice(
        br#",{"type":"struct","fields":[{"type":"string","optional":false,"field":"id"},{"type":"int64","optional":false,"field":"total_order"},{"type":"int64","optional":false,"field":"data_collection_order"}],"optional":true,"name":"event.block","version":1,"field":"transaction"},{"type":"string","optional":false,"field":"op"},{"type":"int64","optional":true,"field":"ts_ms"},{"type":"int64","optional":true,"field":"ts_us"},{"type":"int64","optional":true,"field":"ts_ns"}],"optional":false,"name":"#,
    );
    write::str(out, &format!("{base}.Envelope"));
    // Version 2, `transaction` before `op`: as Debezium 3.6.3.Final writes
    // it (tests/integration/debezium_reference.rs compares).
    out.extend_from_slice(b",\"version\":2}");
}

/// `source`'s schema: the MySQL connector's fields, in its order.
const SOURCE: &str = concat!(
    r#"{"type":"struct","fields":["#,
    r#"{"type":"string","optional":false,"field":"version"},"#,
    r#"{"type":"string","optional":false,"field":"connector"},"#,
    r#"{"type":"string","optional":false,"field":"name"},"#,
    r#"{"type":"int64","optional":false,"field":"ts_ms"},"#,
    r#"{"type":"string","optional":true,"default":"false","name":"io.debezium.data.Enum","version":1,"parameters":{"allowed":"true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"},"field":"snapshot"},"#,
    r#"{"type":"string","optional":false,"field":"db"},"#,
    r#"{"type":"string","optional":true,"field":"sequence"},"#,
    r#"{"type":"int64","optional":true,"field":"ts_us"},"#,
    r#"{"type":"int64","optional":true,"field":"ts_ns"},"#,
    r#"{"type":"string","optional":true,"field":"table"},"#,
    r#"{"type":"int64","optional":false,"field":"server_id"},"#,
    r#"{"type":"string","optional":true,"field":"gtid"},"#,
    r#"{"type":"string","optional":false,"field":"file"},"#,
    r#"{"type":"int64","optional":false,"field":"pos"},"#,
    r#"{"type":"int32","optional":false,"field":"row"},"#,
    r#"{"type":"int64","optional":true,"field":"thread"},"#,
    r#"{"type":"string","optional":true,"field":"query"}"#,
    r#"],"optional":false,"name":"io.debezium.connector.mysql.Source","version":1,"field":"source"}"#,
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn source_schema_is_json_and_lists_the_enum_values() {
        let v: serde_json::Value = serde_json::from_str(SOURCE).unwrap();
        assert_eq!(
            v["fields"][4]["parameters"]["allowed"],
            "true,first,first_in_data_collection,last_in_data_collection,last,false,incremental"
        );
        let names: Vec<&str> = v["fields"]
            .as_array()
            .unwrap()
            .iter()
            .map(|f| f["field"].as_str().unwrap())
            .collect();
        assert_eq!(
            names,
            [
                "version",
                "connector",
                "name",
                "ts_ms",
                "snapshot",
                "db",
                "sequence",
                "ts_us",
                "ts_ns",
                "table",
                "server_id",
                "gtid",
                "file",
                "pos",
                "row",
                "thread",
                "query"
            ]
        );
    }
}
