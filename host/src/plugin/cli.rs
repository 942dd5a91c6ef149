//! `sluice plugin test`: run one plugin file over events given as JSON
//! lines and print what it decides, one JSON line per input line.
//!
//! Input lines are either a full event (`{"v":1,"op":..,"source":{..},..}`)
//! or a short form `{"db":..,"table":..,"op":..,"before":..,"after":..}`
//! that is expanded into one. Output per line:
//! `{"line":N,"kept":bool,"out":[{"topic":..,"key":..,"event":{..},"dead_letter":..}]}`
//! or `{"line":N,"error":".."}`. Values read and printed follow the JSON
//! rendering of [`crate::event::json`] (bin as `{"$bin": "<hex>"}`).
//!
//! Compiling a large plugin (Python, JavaScript) takes seconds, so the
//! command caches compiled plugins in a per-user directory
//! ([`user_cache_dir`]), keyed by content hash like `[plugins] cache_dir`,
//! never next to the plugin file.

use std::ffi::OsString;
use std::io::{BufRead, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use serde_json::{json, Map, Value as Json};

use super::batch::EventBatch;
use super::chain::Chain;
use super::config::{
    check_limit, ChainSpec, PluginHostConfig, PluginRef, DEFAULT_DEADLINE_MS, MAX_DEADLINE_MS,
    MAX_MEMORY_LIMIT_MIB,
};
use super::engine::Runtime;
use super::error::PluginError;
use super::loader::LoadedPlugin;
use super::registry::PluginGeneration;
use crate::event::json::{json_to_msgpack, msgpack_to_json};
use crate::event::layout::{self, field, RowFrame, SourceTxn};
use crate::event::msgpack::PreEncoded;
use crate::event::Op;

/// Totals over the input.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct TestSummary {
    pub lines: usize,
    pub kept: usize,
    pub dropped: usize,
    pub errors: usize,
    /// The memory limit the plugin ran with: `--memory-limit-mib`, or its
    /// language's default (config.rs, `default_memory_limit_mib`).
    pub memory_limit_mib: usize,
}

/// How [`plugin_test_with`] runs the plugin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TestOptions {
    /// As `[plugins] memory_limit_mib`, in `1..=MAX_MEMORY_LIMIT_MIB`;
    /// `None`: the plugin's language's default, as in `sluice run`.
    pub memory_limit_mib: Option<u64>,
    /// As `[plugins] deadline_ms`, in `1..=MAX_DEADLINE_MS`.
    pub deadline_ms: u64,
    /// Where compiled plugins are cached, keyed by content hash; `None`
    /// compiles on every run.
    pub cache_dir: Option<PathBuf>,
}

impl Default for TestOptions {
    /// The `[plugins]` defaults, no cache.
    fn default() -> Self {
        TestOptions {
            memory_limit_mib: None,
            deadline_ms: DEFAULT_DEADLINE_MS,
            cache_dir: None,
        }
    }
}

/// The per-user cache of `sluice plugin test`:
/// `$XDG_CACHE_HOME/sluice/plugin-cache`, else
/// `$HOME/.cache/sluice/plugin-cache`; `None` when neither is set (or
/// `XDG_CACHE_HOME` is relative, which the XDG specification says to
/// ignore, and `HOME` is not set). `var` reads the environment.
pub fn user_cache_dir(var: impl Fn(&str) -> Option<OsString>) -> Option<PathBuf> {
    let set = |name: &str| var(name).filter(|v| !v.is_empty()).map(PathBuf::from);
    let base = set("XDG_CACHE_HOME")
        .filter(|p| p.is_absolute())
        .or_else(|| set("HOME").map(|home| home.join(".cache")))?;
    Some(base.join("sluice").join("plugin-cache"))
}

/// [`user_cache_dir`] of this process, created. The error says why there
/// is none; the caller then compiles without a cache.
pub fn open_user_cache() -> Result<PathBuf, String> {
    let dir = user_cache_dir(|name| std::env::var_os(name))
        .ok_or("neither XDG_CACHE_HOME nor HOME is set")?;
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    Ok(dir)
}

/// Loads `path`, initialises it with `config_pairs` (`key=value`), and runs
/// every line of `input` through it as a batch of one, with the default
/// limits and no cache.
pub fn plugin_test(
    path: &Path,
    config_pairs: &[String],
    input: impl BufRead,
    output: impl Write,
) -> Result<TestSummary, PluginError> {
    plugin_test_with(path, config_pairs, &TestOptions::default(), input, output)
}

/// [`plugin_test`] with the limits and cache of `options`.
pub fn plugin_test_with(
    path: &Path,
    config_pairs: &[String],
    options: &TestOptions,
    input: impl BufRead,
    mut output: impl Write,
) -> Result<TestSummary, PluginError> {
    let limit = |value, max, what: &str| {
        check_limit(value, max).map_err(|m| PluginError::Setup(format!("{what} {value}: {m}")))
    };
    let cfg = PluginHostConfig {
        max_instances: 4,
        memory_limit_mib: options
            .memory_limit_mib
            .map(|mib| limit(mib, MAX_MEMORY_LIMIT_MIB, "memory limit (MiB)"))
            .transpose()?,
        deadline_ms: limit(options.deadline_ms, MAX_DEADLINE_MS, "deadline (ms)")?,
        cache_dir: options.cache_dir.clone(),
        ..PluginHostConfig::default()
    };
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
    // Never the default cache (`plugins/.cache`, next to the file): only
    // the directory the caller names.
    let runtime = Runtime::new(&cfg, options.cache_dir.is_some())?;
    let bytes = std::fs::read(path)
        .map_err(|e| PluginError::io(format!("reading {}", path.display()), e))?;
    let plugin =
        LoadedPlugin::load(&runtime, &name, path, &bytes).map_err(|reason| PluginError::Load {
            name: name.clone(),
            path: path.to_path_buf(),
            reason,
        })?;
    let mut summary = TestSummary {
        memory_limit_mib: plugin.memory_limit >> 20,
        ..TestSummary::default()
    };
    let generation = PluginGeneration::single(Arc::new(plugin));
    let mut chain = Chain::new(&generation, &ChainSpec(vec![spec]))?;

    let mut batch = EventBatch::new();
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
    let event = msgpack_to_json(e.bytes);
    let mut o = Map::new();
    o.insert(
        "topic".into(),
        e.topic.map(Json::from).unwrap_or(Json::Null),
    );
    o.insert(
        "key".into(),
        e.key.map(msgpack_to_json).unwrap_or(Json::Null),
    );
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
    let source = obj.get(field::SOURCE).and_then(Json::as_object);
    let text = |k: &str| {
        obj.get(k)
            .or_else(|| source.and_then(|s| s.get(k)))
            .and_then(Json::as_str)
            .map(str::to_owned)
    };
    let db = text(field::DB).ok_or("missing \"db\"")?;
    let table = text(field::TABLE).ok_or("missing \"table\"")?;
    let op_code = obj
        .get(field::OP)
        .and_then(Json::as_str)
        .ok_or("missing \"op\"")?;
    let op = Op::from_code(op_code)
        .filter(|op| *op != Op::Ddl)
        .ok_or_else(|| format!("op {op_code:?} is not one of c, u, d, r"))?;
    let event = if obj.contains_key(field::SOURCE) || obj.contains_key(field::V) {
        json_to_msgpack(&j)
    } else {
        let image = |k: &str| json_to_msgpack(obj.get(k).unwrap_or(&Json::Null));
        short_event(op, &db, &table, &image(field::BEFORE), &image(field::AFTER))
    };
    Ok((db, table, op, event))
}

/// The short form expanded to the event the pipeline would write for it,
/// with a zero `source` position and zero timestamps.
fn short_event(op: Op, db: &str, table: &str, before: &[u8], after: &[u8]) -> Vec<u8> {
    let mut frame = RowFrame::default();
    let txn = SourceTxn::new(0, "", 0, None);
    let (db, table) = (PreEncoded::str(db), PreEncoded::str(table));
    frame.set(op, &txn, db.bytes(), table.bytes(), 0, 0);
    let mut out = Vec::new();
    frame.open(&mut out);
    out.extend_from_slice(after);
    layout::write_before_key(&mut out);
    out.extend_from_slice(before);
    frame.close(&mut out, 0);
    out
}
