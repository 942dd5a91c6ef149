//! What the `types_*` tests share: a table of its own, the real sluice
//! binary streaming it, and a comparison of every streamed value with what
//! `SELECT` returns for the same row.
//!
//! Most tests are one call to [`check`]: the column definitions, the
//! statements that fill the table, how many events they make, and for each
//! column the SELECT expression giving the value it must arrive as:
//!
//! ```ignore
//! let events = check(
//!     "id INT PRIMARY KEY, f FLOAT, d DOUBLE",
//!     "INSERT INTO t VALUES (1, 1.5, 2.5), (2, NULL, NULL)",
//!     2,
//!     &[("f", "CONCAT('f32:', CAST(f AS DOUBLE))"), ("d", "CONCAT('f64:', d)")],
//! );
//! ```
//!
//! Several columns sharing one expression are one entry: their names,
//! separated by spaces, and the expression with `{c}` for the column
//! (`("ti si bi", "CONCAT('int:', {c} + 0)")`). [`TypeTable`] is there for
//! the rest (table options, keys, a server of its own).
//!
//! Values are compared as *tagged text*, so a test reads like the mapping
//! table of the event format (docs/TYPES.md):
//!
//! | MessagePack              | tagged text            | typical SELECT expression               |
//! |--------------------------|------------------------|-----------------------------------------|
//! | nil                      | `NULL`                 | the column itself (the client prints NULL) |
//! | int / uint               | `int:-5`               | `CONCAT('int:', c)`                     |
//! | float32                  | `f32:1.5`              | `CONCAT('f32:', CAST(c AS DOUBLE))`     |
//! | float64                  | `f64:1.5`              | `CONCAT('f64:', c)`                     |
//! | str                      | `str:text`             | `CONCAT('str:', c)`                     |
//! | bin                      | `bin:00FF`             | `CONCAT('bin:', HEX(c))`                |
//! | bool                     | `bool:true`            | `IF(c, 'bool:true', 'bool:false')`      |
//! | array                    | `[str:a,str:b]`        | built with CONCAT                       |
//!
//! Floats are compared by value (both sides parsed to f64, bit for bit),
//! because the server and Rust print the same double in different notations.
//!
//! Whatever a test checks by hand, collecting its events also checks the
//! snapshot reader against them ([`snapshot`]): every row left in the
//! table, read with `SELECT` in primary-key chunks, must be byte for byte
//! the streamed after image and key of its last event.

#![allow(dead_code)]

use std::time::Duration;

use rmpv::Value;

use crate::sluice::{unique, Sluice};
use crate::support::{self, MariaDb, Message, SluiceConfig};

mod snapshot;

/// The usual types test: creates `t` with `columns` (which must include
/// `id INT PRIMARY KEY`), runs `writes`, waits for `n` events, checks the
/// columns of `expect` against SELECT ([`TypeTable::assert_matches_select`])
/// and stops sluice, which must exit cleanly. Returns the events, for
/// checks spelled out by hand.
pub fn check(columns: &str, writes: &str, n: usize, expect: &[(&str, &str)]) -> Vec<Value> {
    check_with_options(columns, "", writes, n, expect)
}

/// [`check`] with table `options` after CREATE TABLE's closing parenthesis
/// (e.g. `DEFAULT CHARSET = cp1251`).
pub fn check_with_options(
    columns: &str,
    options: &str,
    writes: &str,
    n: usize,
    expect: &[(&str, &str)],
) -> Vec<Value> {
    let t = TypeTable::create(columns, options);
    t.write(writes);
    let events = t.events(n);
    t.assert_matches_select(&events, expect);
    t.stop();
    events
}

/// A database of its own holding table `t`, streamed by a sluice of its own.
pub struct TypeTable {
    pub db: String,
    brokers: String,
    pub sluice: Sluice,
    /// The server `t` is on, when not the shared one (dropped after sluice).
    own: Option<MariaDb>,
    _dir: tempfile::TempDir,
}

impl TypeTable {
    /// Creates `{db}.t` with `columns` (the body of CREATE TABLE, which must
    /// include `id INT PRIMARY KEY`) and starts sluice after it. `options`
    /// follow the closing parenthesis (e.g. `CHARACTER SET latin1`).
    pub fn create(columns: &str, options: &str) -> TypeTable {
        Self::start(None, columns, options, |c| c)
    }

    /// [`TypeTable::create`] on `server`, a server of the test's own (for
    /// settings the shared one must not have, or rows every sluice
    /// streaming the shared one would have to carry), with what `configure`
    /// adds to sluice's config.
    pub fn create_on(
        server: MariaDb,
        columns: &str,
        options: &str,
        configure: impl FnOnce(SluiceConfig) -> SluiceConfig,
    ) -> TypeTable {
        Self::start(Some(server), columns, options, configure)
    }

    fn start(
        own: Option<MariaDb>,
        columns: &str,
        options: &str,
        configure: impl FnOnce(SluiceConfig) -> SluiceConfig,
    ) -> TypeTable {
        let server = own.as_ref().unwrap_or(&support::shared().mariadb);
        let db = unique("types");
        server
            .sql(&format!(
                "SET NAMES utf8mb4; CREATE DATABASE {db}; CREATE TABLE {db}.t ({columns}) {options}"
            ))
            .unwrap();
        let dir = tempfile::tempdir().unwrap();
        let brokers = support::shared().tansu.brokers();
        let sluice = Sluice::run(
            dir.path(),
            &configure(SluiceConfig::from_now(server, &brokers)),
        );
        TypeTable {
            db,
            brokers,
            sluice,
            own,
            _dir: dir,
        }
    }

    /// The server `t` is on.
    pub fn server(&self) -> &MariaDb {
        self.own.as_ref().unwrap_or(&support::shared().mariadb)
    }

    /// Runs `sql` in a writer session of its own: `SET NAMES utf8mb4`, the
    /// table's database as default, then `sql` (which may start with its
    /// own `SET sql_mode` or `SET time_zone`).
    pub fn write(&self, sql: &str) {
        self.server()
            .sql(&format!("SET NAMES utf8mb4; USE {}; {sql}", self.db))
            .unwrap();
    }

    /// Up to `n` messages of `t`, waiting at most `timeout` for them.
    pub fn messages(&self, n: usize, timeout: Duration) -> Vec<Message> {
        let topic = self.sluice.topic(&format!("{}.t", self.db));
        support::consume_all_blocking(&self.brokers, &topic, n, timeout)
    }

    /// Waits (up to 90 s) for `n` events of `t` and returns their values.
    pub fn events(&self, n: usize) -> Vec<Value> {
        self.events_within(n, Duration::from_secs(90))
    }

    /// [`TypeTable::events`], waiting up to `timeout`.
    pub fn events_within(&self, n: usize, timeout: Duration) -> Vec<Value> {
        self.keyed_events(n, timeout)
            .into_iter()
            .map(|(v, _)| v)
            .collect()
    }

    /// [`TypeTable::events`] with each message's key (nil-less: `None`
    /// when the message has none).
    pub fn events_with_keys(&self, n: usize) -> Vec<(Value, Option<Value>)> {
        self.keyed_events(n, Duration::from_secs(90))
    }

    /// The events, once all `n` are in: the table then holds what they
    /// leave, which the snapshot reader must read back identically.
    fn keyed_events(&self, n: usize, timeout: Duration) -> Vec<(Value, Option<Value>)> {
        let msgs = self.messages(n, timeout);
        assert_eq!(
            msgs.len(),
            n,
            "events of {}; sluice log:\n{}",
            self.sluice.topic(&format!("{}.t", self.db)),
            self.sluice.log()
        );
        snapshot::assert_snapshot_matches(self.server(), &self.db, &msgs);
        msgs.iter()
            .map(|m| {
                let v = rmpv::decode::read_value(&mut m.payload.as_deref().expect("payload"))
                    .expect("event is MessagePack");
                let k = m
                    .key
                    .as_deref()
                    .map(|mut k| rmpv::decode::read_value(&mut k).expect("key is MessagePack"));
                (v, k)
            })
            .collect()
    }

    /// `SELECT exprs FROM t ORDER BY id` in a utf8mb4 session, one
    /// `Vec` of cells per row (batch-mode escapes undone).
    pub fn select(&self, exprs: &[&str]) -> Vec<Vec<String>> {
        let out = self
            .server()
            .sql(&format!(
                "SET NAMES utf8mb4; SET time_zone = '+00:00'; SELECT {} FROM {}.t ORDER BY id",
                exprs.join(", "),
                self.db
            ))
            .unwrap();
        out.lines()
            .map(|l| l.split('\t').map(unescape).collect())
            .collect()
    }

    /// Replays `events` by `id` and checks that every column listed in
    /// `expect` has the value the server returns, row by row. Each entry is
    /// (column, SELECT expression giving the tagged text), or (several
    /// columns separated by spaces, the expression with `{c}` for each).
    pub fn assert_matches_select(&self, events: &[Value], expect: &[(&str, &str)]) {
        let cols: Vec<(&str, String)> = expect
            .iter()
            .flat_map(|&(names, expr)| {
                names
                    .split_whitespace()
                    .map(move |c| (c, expr.replace("{c}", c)))
            })
            .collect();
        let rows = replay(events);
        let mut exprs = vec!["id"];
        exprs.extend(cols.iter().map(|(_, e)| e.as_str()));
        let server = self.select(&exprs);
        let mut want = Vec::new();
        for r in &server {
            for (i, (name, _)) in cols.iter().enumerate() {
                want.push(format!("id={} {name} = {}", r[0], r[i + 1]));
            }
        }
        let mut got = Vec::new();
        for (id, row) in &rows {
            for (i, (name, _)) in cols.iter().enumerate() {
                let v = field(row, name)
                    .unwrap_or_else(|| panic!("row {id} has no column {name}: {row}"));
                let mut cell = tagged(v);
                // Floats: equal by value, whatever the notation.
                if let Some(sql) = server
                    .iter()
                    .find(|r| r[0] == id.to_string())
                    .map(|r| &r[i + 1])
                {
                    if same_float(&cell, sql) {
                        cell = sql.clone();
                    }
                }
                got.push(format!("id={id} {name} = {cell}"));
            }
        }
        if got != want {
            let short = |s: &String| -> String {
                if s.chars().count() > 200 {
                    format!(
                        "{}... ({} chars)",
                        s.chars().take(200).collect::<String>(),
                        s.chars().count()
                    )
                } else {
                    s.clone()
                }
            };
            let diff: Vec<String> = got
                .iter()
                .zip(want.iter())
                .filter(|(g, w)| g != w)
                .map(|(g, w)| format!("  streamed: {}\n  SELECT:   {}", short(g), short(w)))
                .collect();
            panic!(
                "{} of {} values differ from SELECT ({} rows streamed, {} selected):\n{}",
                diff.len(),
                want.len(),
                rows.len(),
                server.len(),
                diff.join("\n")
            );
        }
    }

    /// Stops sluice with SIGTERM; it must exit cleanly.
    pub fn stop(mut self) {
        self.sluice.stop();
    }
}

/// Applies create/update/delete events in order; the final after-image of
/// each `id`, ordered by id.
pub fn replay(events: &[Value]) -> std::collections::BTreeMap<i64, Value> {
    let mut rows = std::collections::BTreeMap::new();
    let id = |img: &Value| {
        field(img, "id")
            .and_then(Value::as_i64)
            .unwrap_or_else(|| panic!("image without an integer id: {img}"))
    };
    for e in events {
        let before = field(e, "before").expect("before");
        let after = field(e, "after").expect("after");
        if !before.is_nil() {
            rows.remove(&id(before));
        }
        if !after.is_nil() {
            rows.insert(id(after), after.clone());
        }
    }
    rows
}

/// A map's value by string key.
pub fn field<'a>(map: &'a Value, name: &str) -> Option<&'a Value> {
    map.as_map()?
        .iter()
        .find(|(k, _)| k.as_str() == Some(name))
        .map(|(_, v)| v)
}

/// The before-image column `name` of event `e`.
pub fn before<'a>(e: &'a Value, name: &str) -> &'a Value {
    field(field(e, "before").expect("before"), name)
        .unwrap_or_else(|| panic!("no column {name} in {e}"))
}

/// The after-image column `name` of event `e`.
pub fn after<'a>(e: &'a Value, name: &str) -> &'a Value {
    field(field(e, "after").expect("after"), name)
        .unwrap_or_else(|| panic!("no column {name} in {e}"))
}

/// A value as tagged text (see the module docs).
pub fn tagged(v: &Value) -> String {
    match v {
        Value::Nil => "NULL".into(),
        Value::Boolean(b) => format!("bool:{b}"),
        Value::Integer(i) => format!("int:{i}"),
        // Widened to f64 exactly, so it reads like the server's CAST(f AS DOUBLE).
        Value::F32(f) => format!("f32:{:?}", *f as f64),
        Value::F64(f) => format!("f64:{f:?}"),
        Value::String(s) => match s.as_str() {
            Some(s) => format!("str:{s}"),
            None => format!("str(invalid UTF-8):{}", hex(s.as_bytes())),
        },
        Value::Binary(b) => format!("bin:{}", hex(b)),
        Value::Array(a) => format!("[{}]", a.iter().map(tagged).collect::<Vec<_>>().join(",")),
        Value::Map(m) => format!(
            "{{{}}}",
            m.iter()
                .map(|(k, v)| format!("{}={}", tagged(k), tagged(v)))
                .collect::<Vec<_>>()
                .join(",")
        ),
        Value::Ext(t, b) => format!("ext{t}:{}", hex(b)),
    }
}

pub fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02X}")).collect()
}

/// Whether two tagged floats (`f32:` / `f64:`) of the same tag hold the
/// same value, bit for bit (so -0 and 0 differ).
fn same_float(a: &str, b: &str) -> bool {
    for tag in ["f32:", "f64:"] {
        if let (Some(x), Some(y)) = (a.strip_prefix(tag), b.strip_prefix(tag)) {
            if let (Ok(x), Ok(y)) = (x.parse::<f64>(), y.parse::<f64>()) {
                return x.to_bits() == y.to_bits();
            }
        }
    }
    false
}

/// Undoes the mariadb client's batch-mode escapes (\0 \t \n \\).
fn unescape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut it = s.chars();
    while let Some(c) = it.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match it.next() {
            Some('0') => out.push('\0'),
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('\\') => out.push('\\'),
            Some(o) => {
                out.push('\\');
                out.push(o);
            }
            None => out.push('\\'),
        }
    }
    out
}
