//! The config file a test gives Sluice, built from typed parts rather than
//! TOML glued together with `format!`: values are quoted and escaped by the
//! `toml` crate, each setting lands in its section whatever order a test
//! sets them in, and every replica gets a server_id of its own.
//!
//! ```ignore
//! let config = SluiceConfig::from_now(db, &brokers)
//!     .plugins_dir(&plugins)
//!     .rule(
//!         Rule::tables(&[&format!("{name}.*")])
//!             .topic(&format!("{tag}.{{table}}"))
//!             .plugins([Step::new("pii-mask").set("columns", "email")]),
//!     );
//! let sluice = Sluice::run(dir.path(), &config);
//! ```
//!
//! Tests whose subject is the TOML text itself (a broken file, a reload
//! that edits the file) add it with [`SluiceConfig::raw`].

use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::OnceLock;

use toml::Value;

use super::{unique, MariaDb};

/// Ids one test process may hand out.
const IDS_PER_PROCESS: u32 = 1000;

/// A replica `server_id` that no other replica of this test process, nor of
/// another test process running at the same time, uses. Two replicas with
/// one id make the server disconnect one of them, which a test would see as
/// a fault it did not inject.
pub fn next_server_id() -> u32 {
    static NEXT: OnceLock<(u32, AtomicU32)> = OnceLock::new();
    let (first, next) = NEXT.get_or_init(|| {
        // A block of ids per process id: processes running at the same time
        // have different pids, so their blocks never overlap. The modulo
        // keeps the block inside u32 for any pid (Linux pids stay below
        // 2^22 anyway), and the `+ 1` keeps ids clear of the servers' own
        // server_id (1).
        let blocks = u32::MAX / IDS_PER_PROCESS - 1;
        let first = (std::process::id() % blocks + 1) * IDS_PER_PROCESS;
        (first, AtomicU32::new(first))
    });
    let id = next.fetch_add(1, Ordering::Relaxed);
    assert!(
        id < first + IDS_PER_PROCESS,
        "this test process used all {IDS_PER_PROCESS} replica server_ids of its block"
    );
    id
}

/// Key-value lines of one TOML section, in the order first set.
#[derive(Clone, Debug, Default)]
struct Section(Vec<(String, Value)>);

impl Section {
    fn set(&mut self, key: &str, value: impl Into<Value>) {
        let value = value.into();
        match self.0.iter_mut().find(|(k, _)| k == key) {
            Some(entry) => entry.1 = value,
            None => self.0.push((key.to_owned(), value)),
        }
    }

    fn remove(&mut self, key: &str) {
        self.0.retain(|(k, _)| k != key);
    }

    fn get(&self, key: &str) -> Option<&Value> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| v)
    }

    /// `[header]` and its lines; nothing for an empty section, whose
    /// defaults then apply.
    fn render(&self, header: &str, out: &mut String) {
        if self.0.is_empty() {
            return;
        }
        out.push_str(&format!("{header}\n"));
        for (k, v) in &self.0 {
            out.push_str(&format!("{} = {v}\n", key(k)));
        }
    }
}

/// A key as TOML wants it: bare when it can be, quoted otherwise
/// (`"queue.buffering.max.kbytes"`).
fn key(k: &str) -> String {
    let bare = !k.is_empty()
        && k.chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
    if bare {
        k.to_owned()
    } else {
        Value::from(k).to_string()
    }
}

fn strings(items: &[&str]) -> Value {
    Value::from(items.to_vec())
}

/// The whole config file. [`SluiceConfig::new`] has what every test needs;
/// the other methods add or replace one setting each.
#[derive(Clone, Debug)]
pub struct SluiceConfig {
    source: Section,
    state: Section,
    pipeline: Section,
    plugins: Section,
    snapshot: Section,
    http: Section,
    kafka: Section,
    producer: Section,
    rules: Vec<Rule>,
    raw: String,
}

impl SluiceConfig {
    /// Streams `url` to `brokers` from the server's newest position, as a
    /// replica with an id of its own ([`next_server_id`]), into topics under
    /// a prefix of its own: every sluice of a test run streams the whole
    /// shared server, and the prefix keeps each one's topics apart.
    /// Checkpoints are written every 100 ms, so tests that read the
    /// checkpoint file see it move promptly. `[snapshot] mode = "never"`:
    /// a test of streaming sees only the changes it makes, not a snapshot
    /// of every table on the shared server; snapshot tests set the mode.
    pub fn new(url: &str, brokers: &str) -> SluiceConfig {
        let mut c = SluiceConfig {
            source: Section::default(),
            state: Section::default(),
            pipeline: Section::default(),
            plugins: Section::default(),
            snapshot: Section::default(),
            http: Section::default(),
            kafka: Section::default(),
            producer: Section::default(),
            rules: Vec::new(),
            raw: String::new(),
        };
        c.source.set("url", url);
        c.source.set("server_id", i64::from(next_server_id()));
        c.source.set("start", "latest");
        c.state.set("checkpoint_interval_ms", 100);
        c.snapshot.set("mode", "never");
        c.snapshot.set("new_tables", false);
        c.kafka.set("brokers", brokers);
        c.kafka.set("topic_prefix", unique("t"));
        c
    }

    /// [`SluiceConfig::new`] for `db`, starting at its current binlog
    /// position: only what is written from now on is streamed.
    pub fn from_now(db: &MariaDb, brokers: &str) -> SluiceConfig {
        SluiceConfig::new(&db.url(), brokers).start(&db.binlog_position())
    }

    /// `[source] start`: `latest`, `earliest` or `file:pos`.
    pub fn start(mut self, start: &str) -> Self {
        self.source.set("start", start);
        self
    }

    /// `[source] server_id`, when a test needs a particular one.
    pub fn server_id(mut self, id: u32) -> Self {
        self.source.set("server_id", i64::from(id));
        self
    }

    /// Any other `[source]` setting.
    pub fn source(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.source.set(key, value);
        self
    }

    /// `[state] dir`. Without it the directory comes from
    /// `SLUICE_STATE_DIR`, which the test runner sets.
    pub fn state_dir(mut self, dir: &Path) -> Self {
        self.state.set("dir", dir.display().to_string());
        self
    }

    /// Any other `[state]` setting.
    pub fn state(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.state.set(key, value);
        self
    }

    /// `[pipeline] sink`: `kafka` or `null`.
    pub fn sink(self, sink: &str) -> Self {
        self.pipeline("sink", sink)
    }

    /// Any `[pipeline]` setting.
    pub fn pipeline(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.pipeline.set(key, value);
        self
    }

    /// `[plugins] dir`.
    pub fn plugins_dir(self, dir: &Path) -> Self {
        self.plugins("dir", dir.display().to_string())
    }

    /// Any other `[plugins]` setting.
    pub fn plugins(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.plugins.set(key, value);
        self
    }

    /// Any `[snapshot]` setting (`mode` replaces the harness's "never").
    pub fn snapshot(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.snapshot.set(key, value);
        self
    }

    /// Any `[http]` setting (the harness runs every sluice with
    /// `SLUICE_HTTP_LISTEN=127.0.0.1:0`, which wins over `listen`).
    pub fn http(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.http.set(key, value);
        self
    }

    /// Any `[kafka]` setting.
    pub fn kafka(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.kafka.set(key, value);
        self
    }

    /// `[kafka] topic_prefix`; `None` leaves it out (topics are then
    /// `{db}.{table}`, which the shared broker sees from every test).
    pub fn topic_prefix(mut self, prefix: Option<&str>) -> Self {
        match prefix {
            Some(p) => self.kafka.set("topic_prefix", p),
            None => self.kafka.remove("topic_prefix"),
        }
        self
    }

    /// The `[kafka] topic_prefix` set, if any.
    pub fn prefix(&self) -> Option<&str> {
        self.kafka.get("topic_prefix").and_then(Value::as_str)
    }

    /// A `[kafka.producer]` (librdkafka) property.
    pub fn producer(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.producer.set(key, value);
        self
    }

    /// Adds a `[[rules]]` entry after those already added.
    pub fn rule(mut self, rule: Rule) -> Self {
        self.rules.push(rule);
        self
    }

    /// TOML text appended as it is, after everything else: for a test about
    /// the text itself (a broken file), or a setting the methods above do
    /// not cover. It starts in the last section rendered, so begin it with
    /// a section header.
    pub fn raw(mut self, text: &str) -> Self {
        self.raw.push_str(text);
        if !text.ends_with('\n') {
            self.raw.push('\n');
        }
        self
    }

    /// The file's text. `[kafka]` comes after the other single sections and
    /// before the rules, so a config without producer settings ends inside
    /// `[kafka]` (see `crate::sluice::base_config`).
    pub fn render(&self) -> String {
        let mut out = String::new();
        self.source.render("[source]", &mut out);
        self.state.render("[state]", &mut out);
        self.pipeline.render("[pipeline]", &mut out);
        self.plugins.render("[plugins]", &mut out);
        self.snapshot.render("[snapshot]", &mut out);
        self.http.render("[http]", &mut out);
        self.kafka.render("[kafka]", &mut out);
        self.producer.render("[kafka.producer]", &mut out);
        for rule in &self.rules {
            rule.0.render("\n[[rules]]", &mut out);
        }
        out.push_str(&self.raw);
        out
    }

    /// Writes [`SluiceConfig::render`] to `path`.
    pub fn write(&self, path: &Path) {
        std::fs::write(path, self.render())
            .unwrap_or_else(|e| panic!("writing {}: {e}", path.display()));
    }
}

/// One `[[rules]]` entry.
#[derive(Clone, Debug)]
pub struct Rule(Section);

impl Rule {
    /// A rule for the tables matching `patterns` (`db.table` globs).
    pub fn tables(patterns: &[&str]) -> Rule {
        let mut s = Section::default();
        s.set("tables", strings(patterns));
        Rule(s)
    }

    fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.0.set(key, value);
        self
    }

    /// `exclude`: tables the rule does not match after all.
    pub fn exclude(self, patterns: &[&str]) -> Self {
        self.set("exclude", strings(patterns))
    }

    /// `topic`: the topic template (`{db}`, `{table}`).
    pub fn topic(self, template: &str) -> Self {
        self.set("topic", template)
    }

    /// `key`: key columns instead of the primary key.
    pub fn key(self, columns: &[&str]) -> Self {
        self.set("key", strings(columns))
    }

    /// `include_columns`: emit only these.
    pub fn include_columns(self, columns: &[&str]) -> Self {
        self.set("include_columns", strings(columns))
    }

    /// `exclude_columns`: emit all but these.
    pub fn exclude_columns(self, columns: &[&str]) -> Self {
        self.set("exclude_columns", strings(columns))
    }

    /// `ops`: `insert`, `update`, `delete`.
    pub fn ops(self, ops: &[&str]) -> Self {
        self.set("ops", strings(ops))
    }

    /// `tombstones`: a null value after each delete.
    pub fn tombstones(self, on: bool) -> Self {
        self.set("tombstones", on)
    }

    /// `format`: `msgpack` or `debezium-json` for this rule's tables.
    pub fn format(self, format: &str) -> Self {
        self.set("format", format)
    }

    /// `plugins`: the chain, in order.
    pub fn plugins(self, chain: impl IntoIterator<Item = Step>) -> Self {
        let steps: Vec<Value> = chain.into_iter().map(Step::into_value).collect();
        self.set("plugins", steps)
    }
}

/// One plugin of a rule's chain.
#[derive(Clone, Debug)]
pub struct Step {
    name: String,
    config: toml::Table,
    on_error: Option<String>,
}

impl Step {
    /// The plugin `name` (its file stem in the plugins directory).
    pub fn new(name: &str) -> Step {
        Step {
            name: name.to_owned(),
            config: toml::Table::new(),
            on_error: None,
        }
    }

    /// One setting of the plugin's `config` table.
    pub fn set(mut self, key: &str, value: impl Into<Value>) -> Self {
        self.config.insert(key.to_owned(), value.into());
        self
    }

    /// `on_error`: `fail`, `skip` or `dead-letter`.
    pub fn on_error(mut self, what: &str) -> Self {
        self.on_error = Some(what.to_owned());
        self
    }

    /// A bare name when there is nothing else, as users write it.
    fn into_value(self) -> Value {
        if self.config.is_empty() && self.on_error.is_none() {
            return Value::from(self.name);
        }
        let mut t = toml::Table::new();
        t.insert("name".into(), self.name.into());
        if !self.config.is_empty() {
            t.insert("config".into(), self.config.into());
        }
        if let Some(e) = self.on_error {
            t.insert("on_error".into(), e.into());
        }
        t.into()
    }
}
