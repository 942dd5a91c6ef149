//! Sends each tenant's events to its own topic.
//!
//! Settings: `column = "tenant_id"` (required), `topic` template with
//! `{value}`, `{db}`, `{table}` (default `"{db}.{table}.{value}"`).
//! Events without the column keep the rule's topic. Characters Kafka does
//! not allow in topic names become `_`.

use sluice_plugin_sdk::{export_plugin, Event, Plugin, Route, Settings};

/// Template pieces: literal text or a placeholder.
enum Part {
    Text(String),
    Value,
    Db,
    Table,
}

struct TenantRouter {
    column: String,
    template: Vec<Part>,
    value: Vec<u8>,
    /// The template expanded for the table of the last event: the text
    /// around each `{value}`, already legal. Events come in runs of one
    /// table, so this is rebuilt rarely and a topic costs a copy of the
    /// pieces plus the value.
    expanded: Expanded,
}

#[derive(Default)]
struct Expanded {
    db: String,
    table: String,
    /// One more piece than `{value}` placeholders.
    pieces: Vec<String>,
}

impl Expanded {
    fn update(&mut self, template: &[Part], db: &str, table: &str) {
        if !self.pieces.is_empty() && same(&self.table, table) && same(&self.db, db) {
            return;
        }
        self.db = db.to_owned();
        self.table = table.to_owned();
        self.pieces.clear();
        self.pieces.push(String::new());
        for part in template {
            let last = self.pieces.last_mut().expect("one piece at least");
            match part {
                Part::Text(t) => push_legal(last, t),
                Part::Db => push_legal(last, db),
                Part::Table => push_legal(last, table),
                Part::Value => self.pieces.push(String::new()),
            }
        }
    }
}

fn parse_template(t: &str) -> Result<Vec<Part>, String> {
    let mut parts = Vec::new();
    let mut rest = t;
    while let Some(open) = rest.find('{') {
        if open > 0 {
            parts.push(Part::Text(rest[..open].to_owned()));
        }
        let close = rest[open..].find('}').ok_or("`topic`: unclosed {")? + open;
        parts.push(match &rest[open + 1..close] {
            "value" => Part::Value,
            "db" => Part::Db,
            "table" => Part::Table,
            other => return Err(format!("`topic`: unknown placeholder {{{other}}}")),
        });
        rest = &rest[close + 1..];
    }
    if !rest.is_empty() {
        parts.push(Part::Text(rest.to_owned()));
    }
    if !parts.iter().any(|p| matches!(p, Part::Value)) {
        return Err("`topic` must contain {value}".into());
    }
    Ok(parts)
}

impl Plugin for TenantRouter {
    fn init(s: &Settings) -> Result<Self, String> {
        s.only(&["column", "topic"])?;
        Ok(TenantRouter {
            column: s.require("column")?.to_owned(),
            template: parse_template(s.get("topic").unwrap_or("{db}.{table}.{value}"))?,
            value: Vec::new(),
            expanded: Expanded::default(),
        })
    }
}

/// `a == b` without a call to `memcmp`, which in wasm is a byte-by-byte
/// loop: this runs for every event.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len() && a.bytes().zip(b.bytes()).all(|(x, y)| x == y)
}

fn legal(c: char) -> char {
    if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
        c
    } else {
        '_'
    }
}

/// Appends `text` with characters Kafka refuses in topic names as `_`.
fn push_legal(topic: &mut String, text: &str) {
    topic.extend(text.chars().map(legal));
}

impl Route for TenantRouter {
    fn route(&mut self, e: &Event, topic: &mut String) -> Result<bool, String> {
        self.value.clear();
        if !e
            .column(&self.column)
            .is_some_and(|v| v.write_text(&mut self.value))
        {
            return Ok(false);
        }
        self.expanded.update(&self.template, e.db, e.table);
        let (first, rest) = self
            .expanded
            .pieces
            .split_first()
            .expect("one piece at least");
        topic.push_str(first);
        if self.value.is_ascii() {
            // Byte by byte: what push_legal does for ASCII text.
            for piece in rest {
                topic.extend(self.value.iter().map(|&b| legal(b as char)));
                topic.push_str(piece);
            }
        } else {
            let value = String::from_utf8_lossy(&self.value);
            for piece in rest {
                push_legal(topic, &value);
                topic.push_str(piece);
            }
        }
        Ok(true)
    }
}

export_plugin!(TenantRouter: route);
