//! Plugin settings: the rule chain (read straight from a rule's `plugins`)
//! and the host-wide `[plugins]` settings with their defaults, the one place
//! each is written (docs/CONFIG.md is checked against these by a test in
//! `config`).

use std::collections::BTreeMap;
use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use serde::de::{self, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

/// What happens to events a plugin fails on (trap, deadline, memory limit,
/// invalid return, or an error returned by the plugin).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Deserialize, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum OnError {
    /// Return an error to the pipeline, which stops without moving its
    /// checkpoint. The safe default: nothing is lost silently.
    #[default]
    Fail,
    /// Drop the failing events, count and log them.
    Skip,
    /// Emit the failing events unchanged, flagged for the dead-letter topic.
    DeadLetter,
}

/// One step of a rule's chain. Accepts a bare string (`"pii-mask"`) or a
/// table (`{ name = "pii-mask", config = { column = "email" }, on_error = "skip" }`).
#[derive(Debug, Clone, PartialEq)]
pub struct PluginRef {
    /// Plugin name: the `.wasm` file's stem.
    pub name: String,
    /// Settings passed to the plugin's `init`. Strings are passed as they
    /// are, other values as JSON text (`42`, `true`, `["a","b"]`).
    pub config: BTreeMap<String, serde_json::Value>,
    pub on_error: OnError,
}

impl PluginRef {
    pub fn named(name: impl Into<String>) -> Self {
        PluginRef {
            name: name.into(),
            config: BTreeMap::new(),
            on_error: OnError::Fail,
        }
    }

    /// The settings as the key/value strings the plugin receives.
    pub fn settings(&self) -> Vec<(String, String)> {
        self.config
            .iter()
            .map(|(k, v)| {
                let v = match v {
                    serde_json::Value::String(s) => s.clone(),
                    other => other.to_string(),
                };
                (k.clone(), v)
            })
            .collect()
    }
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PluginRefTable {
    name: String,
    #[serde(default)]
    config: BTreeMap<String, serde_json::Value>,
    #[serde(default)]
    on_error: OnError,
}

// Hand-written rather than `#[serde(untagged)]` so that a typo in the table
// form reports the unknown field instead of "did not match any variant".
impl<'de> Deserialize<'de> for PluginRef {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = PluginRef;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a plugin name or a table with `name`, `config`, `on_error`")
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<PluginRef, E> {
                Ok(PluginRef::named(s))
            }
            fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<PluginRef, A::Error> {
                let t = PluginRefTable::deserialize(de::value::MapAccessDeserializer::new(map))?;
                Ok(PluginRef {
                    name: t.name,
                    config: t.config,
                    on_error: t.on_error,
                })
            }
        }
        d.deserialize_any(V)
    }
}

/// A rule's ordered plugin chain: `plugins = ["a", { name = "b", ... }]`.
#[derive(Debug, Clone, PartialEq, Default, Deserialize)]
#[serde(transparent)]
pub struct ChainSpec(pub Vec<PluginRef>);

/// Where plugins are loaded from, relative to where Sluice runs.
pub const DEFAULT_DIR: &str = "plugins";
/// Compiled plugins are cached in this directory under `dir` unless
/// `cache_dir` says otherwise.
pub const CACHE_DIR_NAME: &str = ".cache";
/// The memory limit of a plugin instance when `memory_limit_mib` is not set,
/// unless the component is JavaScript.
pub const DEFAULT_MEMORY_LIMIT_MIB: u64 = 64;
/// The memory limit of a JavaScript plugin instance (its producers section
/// says `JavaScript`) when `memory_limit_mib` is not set. componentize-js's
/// engine (StarlingMonkey) lets its heap grow to a level that depends on the
/// plugin, 70-125 MiB for the examples, before it collects steadily
/// (docs/PLUGINS.md, "Memory over time"), and never below that: under 64
/// MiB such instances were recycled every few thousand events. Under 256 MiB
/// they stay below the recycling point (three quarters) and flat.
pub const DEFAULT_JS_MEMORY_LIMIT_MIB: u64 = 256;
/// The most `memory_limit_mib` may be: a 32-bit linear memory holds at most
/// 4 GiB, and wasmtime refuses to start with a larger cap than the 4 GiB of
/// address space it reserves per memory.
pub const MAX_MEMORY_LIMIT_MIB: u64 = 4096;
pub const DEFAULT_DEADLINE_MS: u64 = 100;
/// The most `deadline_ms` may be: an hour. A call that may run longer has no
/// deadline worth the name, and a much larger one (near `u64::MAX` ms)
/// overflows wasmtime's epoch counter.
pub const MAX_DEADLINE_MS: u64 = 3_600_000;
/// 256 events of a plugin taking 100 us each (JavaScript) fit in 25 ms,
/// well inside the default deadline.
pub const DEFAULT_MAX_CALL_EVENTS: usize = 256;
pub const DEFAULT_MAX_CALL_BYTES: usize = 256 << 10;
pub const DEFAULT_MAX_INSTANCES: u32 = 128;
pub const DEFAULT_WATCH: bool = true;
pub const DEFAULT_DEBOUNCE_MS: u64 = 250;

/// The memory limit of a plugin written in `language` when
/// `memory_limit_mib` is not set: [`DEFAULT_JS_MEMORY_LIMIT_MIB`] for
/// JavaScript, [`DEFAULT_MEMORY_LIMIT_MIB`] for everything else (Rust, C and
/// Python components stay flat or, for Python plugins that return bytes,
/// grow steadily, for which a larger limit would only delay the recycling).
pub fn default_memory_limit_mib(language: Option<&str>) -> u64 {
    match language {
        Some(l) if l.eq_ignore_ascii_case("javascript") => DEFAULT_JS_MEMORY_LIMIT_MIB,
        _ => DEFAULT_MEMORY_LIMIT_MIB,
    }
}

/// The memory cap, in bytes, of an instance of a plugin written in
/// `language`: `set` (`memory_limit_mib`) when it is given, else the
/// language's default.
pub fn memory_limit_bytes(set: Option<u64>, language: Option<&str>) -> usize {
    let mib = set.unwrap_or_else(|| default_memory_limit_mib(language));
    (mib as usize).saturating_mul(1 << 20)
}

/// Checks a limit that must lie in `1..=max` (`memory_limit_mib`,
/// `deadline_ms`), for the config file and `sluice plugin test` alike; the
/// message says which end it is past.
pub fn check_limit(value: u64, max: u64) -> Result<u64, String> {
    match value {
        0 => Err("must be at least 1".into()),
        n if n > max => Err(format!("must be at most {max}")),
        n => Ok(n),
    }
}

/// Host-wide plugin settings (`[plugins]` section). The config layer
/// refuses 0 for the limits that must be at least 1 (`deadline_ms`,
/// `max_call_events`, `max_call_bytes`, `max_instances`).
#[derive(Debug, Clone, PartialEq)]
pub struct PluginHostConfig {
    /// Every `*.wasm` here is loaded; the file stem is the plugin name.
    pub dir: PathBuf,
    /// Where compiled artifacts are cached; default `<dir>/.cache`.
    pub cache_dir: Option<PathBuf>,
    /// Linear memory cap per plugin instance; `None`: the default for the
    /// plugin's language ([`default_memory_limit_mib`]).
    pub memory_limit_mib: Option<u64>,
    /// Wall-time budget of one call (one batch) into a plugin.
    pub deadline_ms: u64,
    /// Most events passed to a plugin in one call: the pipeline's batches
    /// (up to `[pipeline] batch_rows`) are cut into calls of at most this
    /// many, so a plugin that takes 100 us per event (JavaScript) stays
    /// inside `deadline_ms`.
    pub max_call_events: usize,
    /// Most event bytes passed in one call (a single larger event still
    /// goes alone): bounds what a plugin holds in its memory per call.
    pub max_call_bytes: usize,
    /// Upper bound of live plugin instances (sizes the pooling allocator).
    pub max_instances: u32,
    /// Pick up added, replaced and deleted files while running.
    pub watch: bool,
    /// Quiet time after the last file event before rescanning.
    pub debounce_ms: u64,
}

impl Default for PluginHostConfig {
    fn default() -> Self {
        PluginHostConfig {
            dir: PathBuf::from(DEFAULT_DIR),
            cache_dir: None,
            memory_limit_mib: None,
            deadline_ms: DEFAULT_DEADLINE_MS,
            max_call_events: DEFAULT_MAX_CALL_EVENTS,
            max_call_bytes: DEFAULT_MAX_CALL_BYTES,
            max_instances: DEFAULT_MAX_INSTANCES,
            watch: DEFAULT_WATCH,
            debounce_ms: DEFAULT_DEBOUNCE_MS,
        }
    }
}

impl PluginHostConfig {
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir
            .clone()
            .unwrap_or_else(|| self.dir.join(CACHE_DIR_NAME))
    }

    /// The memory cap of an instance of a plugin written in `language` (as
    /// its producers section says; `None` when it does not say).
    pub fn memory_limit_bytes(&self, language: Option<&str>) -> usize {
        memory_limit_bytes(self.memory_limit_mib, language)
    }

    /// The largest cap any plugin may get: what the engine's instance pool
    /// is sized for.
    pub fn max_memory_limit_bytes(&self) -> usize {
        // The one language with a default of its own, and all the others.
        self.memory_limit_bytes(Some("JavaScript"))
            .max(self.memory_limit_bytes(None))
    }

    pub fn deadline(&self) -> Duration {
        Duration::from_millis(self.deadline_ms.max(1))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    #[serde(deny_unknown_fields)]
    struct Rule {
        plugins: ChainSpec,
    }

    #[test]
    fn plugin_chain_spec_accepts_names_and_tables() {
        let r: Rule = toml::from_str(
            r#"plugins = ["tenant-router", { name = "pii-mask", config = { column = "email", n = 3 }, on_error = "dead-letter" }]"#,
        )
        .unwrap();
        assert_eq!(r.plugins.0[0], PluginRef::named("tenant-router"));
        let p = &r.plugins.0[1];
        assert_eq!(p.name, "pii-mask");
        assert_eq!(p.on_error, OnError::DeadLetter);
        assert_eq!(
            p.settings(),
            vec![("column".into(), "email".into()), ("n".into(), "3".into())]
        );
    }

    #[test]
    fn limits_are_checked_at_both_ends() {
        assert_eq!(check_limit(0, 10), Err("must be at least 1".into()));
        assert_eq!(check_limit(1, 10), Ok(1));
        assert_eq!(check_limit(10, 10), Ok(10));
        assert_eq!(check_limit(11, 10), Err("must be at most 10".into()));
        assert_eq!(
            check_limit(u64::MAX, MAX_DEADLINE_MS),
            Err("must be at most 3600000".into())
        );
    }

    #[test]
    fn plugin_chain_spec_rejects_unknown_fields() {
        let e = toml::from_str::<Rule>(r#"plugins = [{ name = "x", on_eror = "skip" }]"#)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("on_eror"), "{e}");
        let e = toml::from_str::<Rule>(r#"plugins = [{ name = "x", on_error = "ignore" }]"#)
            .err()
            .unwrap()
            .to_string();
        assert!(e.contains("ignore"), "{e}");
    }
}
