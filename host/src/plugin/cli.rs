//! `sluice plugin test`: run one plugin file over events given as JSON
//! lines and print what it decides, one JSON line per input line.
//!
//! Input lines are either a full event (`{"v":1,"op":..,"source":{..},..}`)
//! or a short form `{"db":..,"table":..,"op":..,"before":..,"after":..}`
//! that is expanded into one. Output per line:
//! `{"line":N,"kept":bool,"out":[{"topic":..,"key":..,"event":{..},"dead_letter":..}]}`
//! or `{"line":N,"error":".."}`.

use std::collections::BTreeMap;
use std::io::{BufRead, Write};
use std::path::Path;
use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use super::batch::EventBatch;
use super::bindings::Op;
use super::chain::Chain;
use super::config::{ChainSpec, PluginHostConfig, PluginRef};
use super::engine::Runtime;
use super::error::PluginError;
use super::json::{bytes_to_json, to_json, to_msgpack};
use super::loader::LoadedPlugin;
use super::registry::PluginGeneration;

/// Totals over the input.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TestSummary {
    pub lines: usize,
    pub kept: usize,
    pub dropped: usize,
    pub errors: usize,
}

/// Loads `path`, initialises it with `config_pairs` (`key=value`), and runs
/// every line of `input` through it as a batch of one.
pub fn plugin_test(
    path: &Path,
    config_pairs: &[String],
    input: impl BufRead,
    mut output: impl Write,
) -> Result<TestSummary, PluginError> {
    let name = path
        .file_stem()
        .and_then(|s| s.to_str())
        .unwrap_or("plugin")
        .to_owned();
    let mut spec = PluginRef::named(&name);
    for pair in config_pairs {
        let (k, v) = pair.split_once('=').ok_or_else(|| PluginError::Input {
            line: 0,
            reason: format!("--config {pair:?}: expected key=value"),
        })?;
        spec.config.insert(k.to_owned(), Json::from(v));
    }
    let cfg = PluginHostConfig {
        max_instances: 4,
        ..PluginHostConfig::default()
    };
    // No artifact cache: a one-off test must not write next to the file.
    let runtime = Runtime::new(&cfg, false)?;
    let bytes = std::fs::read(path)
        .map_err(|e| PluginError::io(format!("reading {}", path.display()), e))?;
    let plugin =
        LoadedPlugin::load(&runtime, &name, path, &bytes).map_err(|reason| PluginError::Load {
            name: name.clone(),
            path: path.to_path_buf(),
            reason,
        })?;
    let generation = PluginGeneration::single(Arc::new(plugin));
    let mut chain = Chain::new(&generation, &ChainSpec(vec![spec]))?;

    let mut batch = EventBatch::new();
    let mut summary = TestSummary::default();
    let write = |out: &mut dyn Write, v: Json| {
        writeln!(out, "{v}").map_err(|e| PluginError::io("writing output", e))
    };
    for (i, line) in input.lines().enumerate() {
        let line_no = i + 1;
        let line = line.map_err(|e| PluginError::io("reading input", e))?;
        if line.trim().is_empty() {
            continue;
        }
        summary.lines += 1;
        let (db, table, op, event) = parse_line(&line).map_err(|reason| PluginError::Input {
            line: line_no,
            reason,
        })?;
        batch.clear();
        batch.push(&db, &table, op, &event)?;
        let result = match chain.run(&mut batch) {
            Ok(_) => {
                let out: Vec<Json> = batch.output().map(|e| describe(&e)).collect();
                if out.is_empty() {
                    summary.dropped += 1;
                } else {
                    summary.kept += 1;
                }
                json!({"line": line_no, "kept": !out.is_empty(), "out": out})
            }
            Err(e) => {
                summary.errors += 1;
                json!({"line": line_no, "error": e.to_string()})
            }
        };
        write(&mut output, result)?;
    }
    Ok(summary)
}

fn describe(e: &super::OutputEvent<'_>) -> Json {
    let event = rmpv::decode::read_value(&mut &e.bytes[..])
        .map(|v| to_json(&v))
        .unwrap_or_else(|err| json!({"$invalid_msgpack": err.to_string()}));
    let mut o = Map::new();
    o.insert(
        "topic".into(),
        e.topic.map(Json::from).unwrap_or(Json::Null),
    );
    o.insert("key".into(), e.key.map(bytes_to_json).unwrap_or(Json::Null));
    o.insert("event".into(), event);
    if let Some(d) = e.dead_letter {
        o.insert(
            "dead_letter".into(),
            json!({"plugin": &*d.plugin, "error": d.error}),
        );
    }
    Json::Object(o)
}

/// Returns db, table, op and the MessagePack event.
fn parse_line(line: &str) -> Result<(String, String, Op, Vec<u8>), String> {
    let j: Json = serde_json::from_str(line).map_err(|e| format!("not JSON: {e}"))?;
    let obj = j.as_object().ok_or("expected a JSON object")?;
    let source = obj.get("source").and_then(Json::as_object);
    let field = |k: &str| {
        obj.get(k)
            .or_else(|| source.and_then(|s| s.get(k)))
            .and_then(Json::as_str)
            .map(str::to_owned)
    };
    let db = field("db").ok_or("missing \"db\"")?;
    let table = field("table").ok_or("missing \"table\"")?;
    let op_code = obj
        .get("op")
        .and_then(Json::as_str)
        .ok_or("missing \"op\"")?;
    let op =
        Op::from_code(op_code).ok_or_else(|| format!("op {op_code:?} is not one of c, u, d, r"))?;
    let event = if obj.contains_key("source") || obj.contains_key("v") {
        j.clone()
    } else {
        // The short form: expand to the event shape the pipeline produces.
        let mut src = BTreeMap::new();
        src.insert("server_id", json!(0));
        src.insert("file", json!(""));
        src.insert("pos", json!(0));
        src.insert("row", json!(0));
        src.insert("gtid", Json::Null);
        src.insert("db", json!(db));
        src.insert("table", json!(table));
        src.insert("ts_ms", json!(0));
        json!({
            "v": 1,
            "op": op_code,
            "before": obj.get("before").cloned().unwrap_or(Json::Null),
            "after": obj.get("after").cloned().unwrap_or(Json::Null),
            "source": src,
            "ts_ms": 0,
        })
    };
    let mut bytes = Vec::new();
    rmpv::encode::write_value(&mut bytes, &to_msgpack(&event)).map_err(|e| e.to_string())?;
    Ok((db, table, op, bytes))
}
