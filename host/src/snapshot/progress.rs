//! What the checkpoint keeps of snapshots: the tables still to read, and
//! for the one being read, the last primary key whose chunk Kafka
//! acknowledged. A restart resumes there, not from the table's first row.

use serde::{Deserialize, Serialize};

/// Snapshot work not yet acknowledged, oldest request first.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub(crate) struct Progress {
    pub tables: Vec<TableProgress>,
    /// Requests not yet turned into tables (that needs the server's list of
    /// tables), read after `tables`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub requests: Vec<Request>,
}

impl Progress {
    pub(crate) fn is_empty(&self) -> bool {
        self.tables.is_empty() && self.requests.is_empty()
    }
}

/// A request for the tables matching a scope, resolved against the
/// server's tables and the rules in force when its turn comes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Request {
    /// As [`TableProgress::reason`].
    pub reason: String,
    /// Tables matching any of these `db.table` glob patterns; `None`: every
    /// table the rules capture.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub patterns: Option<Vec<String>>,
    /// Leave out the tables these rules captured (each rule's `tables` and
    /// `exclude` patterns): after a reload, what the previous rules did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub except_captured_by: Option<Vec<(Vec<String>, Vec<String>)>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
}

/// One table to read, and how far it is.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct TableProgress {
    pub db: String,
    pub table: String,
    /// Only rows matching this SQL condition (an on-demand request's
    /// `WHERE`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub condition: Option<String>,
    /// The primary key of the last row of the last acknowledged chunk, in
    /// key-column order; `None`: from the first row.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub after: Option<Vec<KeyValue>>,
    /// Rows emitted so far (for progress reports).
    #[serde(default)]
    pub rows: u64,
    /// The server's estimate of the table's rows when it was queued.
    #[serde(default)]
    pub estimate: u64,
    /// Why it is read: `"initial"`, `"signal <id>"`, `"new rule"`,
    /// `"binlog purged"`.
    pub reason: String,
}

/// One primary-key value, as the chunk query takes it back as a parameter.
/// Text columns hold UTF-8 (converted from the column's charset, which the
/// server converts back when comparing); binary ones their bytes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub(crate) enum KeyValue {
    Null,
    Int(i64),
    UInt(u64),
    Float(f32),
    Double(f64),
    Text(String),
    /// Hex in the checkpoint file.
    Bytes(#[serde(with = "hex_bytes")] Vec<u8>),
    /// Dates and times as the server's text form (`2024-01-02 03:04:05.5`,
    /// `-838:59:59`): the server parses it back for the comparison.
    Temporal(String),
}

impl KeyValue {
    /// The value as a query parameter.
    pub(crate) fn to_param(&self) -> mysql_async::Value {
        use mysql_async::Value;
        match self {
            KeyValue::Null => Value::NULL,
            KeyValue::Int(i) => Value::Int(*i),
            KeyValue::UInt(u) => Value::UInt(*u),
            KeyValue::Float(f) => Value::Float(*f),
            KeyValue::Double(d) => Value::Double(*d),
            KeyValue::Text(s) | KeyValue::Temporal(s) => Value::Bytes(s.clone().into_bytes()),
            KeyValue::Bytes(b) => Value::Bytes(b.clone()),
        }
    }
}

mod hex_bytes {
    use serde::{Deserialize, Deserializer, Serializer};

    pub(super) fn serialize<S: Serializer>(b: &[u8], s: S) -> Result<S::Ok, S::Error> {
        let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
        s.serialize_str(&hex)
    }

    pub(super) fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        if !s.len().is_multiple_of(2) {
            return Err(serde::de::Error::custom("odd number of hex digits"));
        }
        (0..s.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&s[i..i + 2], 16).map_err(serde::de::Error::custom))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_round_trips_through_json() {
        let p = Progress {
            tables: vec![TableProgress {
                db: "shop".into(),
                table: "orders".into(),
                condition: Some("id > 5".into()),
                after: Some(vec![
                    KeyValue::Int(-3),
                    KeyValue::UInt(u64::MAX),
                    KeyValue::Text("é".into()),
                    KeyValue::Bytes(vec![0, 255]),
                    KeyValue::Temporal("2024-01-02 03:04:05".into()),
                ]),
                rows: 10,
                estimate: 20,
                reason: "initial".into(),
            }],
            requests: vec![Request {
                reason: "signal 3".into(),
                patterns: Some(vec!["shop.*".into()]),
                except_captured_by: None,
                condition: None,
            }],
        };
        let text = serde_json::to_string(&p).unwrap();
        assert!(text.contains("\"00ff\""), "{text}");
        assert_eq!(serde_json::from_str::<Progress>(&text).unwrap(), p);
    }
}
