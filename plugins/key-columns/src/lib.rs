//! Partition key from named columns, joined by a separator.
//!
//! Settings: `columns = "tenant_id,id"` (required), `separator` (default
//! `"|"`). If a column is missing or null the default key is kept.

use sluice_plugin_sdk::{export_plugin, Event, Key, Plugin, Settings};

struct KeyColumns {
    columns: Vec<String>,
    separator: String,
    /// Reused for every event: where each column's value is.
    found: Vec<Option<usize>>,
}

impl Plugin for KeyColumns {
    fn init(s: &Settings) -> Result<Self, String> {
        s.only(&["columns", "separator"])?;
        let columns: Vec<String> = s.list("columns").iter().map(|c| c.to_string()).collect();
        if columns.is_empty() {
            return Err("missing setting `columns`".into());
        }
        Ok(KeyColumns {
            columns,
            separator: s.get("separator").unwrap_or("|").to_owned(),
            found: Vec::new(),
        })
    }
}

impl Key for KeyColumns {
    fn key(&mut self, e: &Event, key: &mut Vec<u8>) -> Result<bool, String> {
        // One pass over the row for all columns.
        e.find_columns(&self.columns, &mut self.found);
        for (i, at) in self.found.iter().enumerate() {
            if i > 0 {
                key.extend_from_slice(self.separator.as_bytes());
            }
            if !at
                .and_then(|p| e.value_at(p))
                .is_some_and(|v| v.write_text(key))
            {
                return Ok(false);
            }
        }
        Ok(true)
    }
}

export_plugin!(KeyColumns: key);
