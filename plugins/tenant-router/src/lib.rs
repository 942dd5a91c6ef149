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
        })
    }
}

/// Appends `text` with characters Kafka refuses in topic names as `_`.
fn push_legal(topic: &mut String, text: &str) {
    topic.extend(text.chars().map(|c| {
        if c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-') {
            c
        } else {
            '_'
        }
    }));
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
        let value = String::from_utf8_lossy(&self.value);
        for part in &self.template {
            match part {
                Part::Text(t) => push_legal(topic, t),
                Part::Value => push_legal(topic, &value),
                Part::Db => push_legal(topic, e.db),
                Part::Table => push_legal(topic, e.table),
            }
        }
        Ok(true)
    }
}

export_plugin!(TenantRouter: route);
