//! Sends each tenant's events to its own topic.
//!
//! Settings: `column = "tenant_id"` (required), `topic` template with
//! `{value}`, `{db}`, `{table}` (default `"{db}.{table}.{value}"`).
//! Events without the column keep the rule's topic. Characters Kafka does
//! not allow in topic names become `_`.

use sluice_plugin_sdk::{export_plugin, Event, Plugin, Route, Settings};

struct TenantRouter {
    column: String,
    template: String,
}

impl Plugin for TenantRouter {
    fn init(s: &Settings) -> Result<Self, String> {
        s.only(&["column", "topic"])?;
        let template = s.get("topic").unwrap_or("{db}.{table}.{value}").to_owned();
        if !template.contains("{value}") {
            return Err("`topic` must contain {value}".into());
        }
        Ok(TenantRouter {
            column: s.require("column")?.to_owned(),
            template,
        })
    }
}

impl Route for TenantRouter {
    fn route(&mut self, e: &Event) -> Result<Option<String>, String> {
        let Some(value) = e.column(&self.column).and_then(|v| v.to_text()) else {
            return Ok(None);
        };
        let topic = self
            .template
            .replace("{value}", &value)
            .replace("{db}", e.db)
            .replace("{table}", e.table);
        let legal = |c: char| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-');
        Ok(Some(topic.chars().map(|c| if legal(c) { c } else { '_' }).collect()))
    }
}

export_plugin!(TenantRouter: route);
