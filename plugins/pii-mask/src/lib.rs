//! Hashes or drops PII columns in both row images.
//!
//! Settings: `columns = "email,phone"` (required), `mode = "hash" | "drop"`
//! (default hash), `salt` (prepended before hashing). Hashes are hex SHA-256
//! of the value's text, so equal values stay joinable downstream.

use sha2::{Digest, Sha256};
use sluice_plugin_sdk::rmpv::Value;
use sluice_plugin_sdk::{export_plugin, log, Emitter, Event, Plugin, Settings, Transform};

struct PiiMask {
    columns: Vec<String>,
    drop: bool,
    salt: String,
}

impl Plugin for PiiMask {
    fn init(s: &Settings) -> Result<Self, String> {
        s.only(&["columns", "column", "mode", "salt"])?;
        let mut columns: Vec<String> = s.list("columns").iter().map(|c| c.to_string()).collect();
        columns.extend(s.get("column").map(str::to_owned));
        if columns.is_empty() {
            return Err("missing setting `columns`".into());
        }
        let drop = match s.get("mode").unwrap_or("hash") {
            "hash" => false,
            "drop" => true,
            other => return Err(format!("mode `{other}`: expected hash or drop")),
        };
        log::info(&format!(
            "masking {columns:?} ({})",
            if drop { "drop" } else { "hash" }
        ));
        Ok(PiiMask {
            columns,
            drop,
            salt: s.get("salt").unwrap_or("").to_owned(),
        })
    }
}

impl PiiMask {
    fn mask_image(&self, image: &mut Value) {
        let Value::Map(entries) = image else { return };
        if self.drop {
            entries.retain(|(k, _)| {
                !k.as_str()
                    .is_some_and(|k| self.columns.iter().any(|c| c == k))
            });
            return;
        }
        for (k, v) in entries.iter_mut() {
            if k.as_str()
                .is_some_and(|k| self.columns.iter().any(|c| c == k))
                && !v.is_nil()
            {
                let text = match &*v {
                    Value::String(s) => s.as_bytes().to_vec(),
                    Value::Binary(b) => b.clone(),
                    other => other.to_string().into_bytes(),
                };
                let mut h = Sha256::new();
                h.update(self.salt.as_bytes());
                h.update(&text);
                let hex: String = h.finalize().iter().map(|b| format!("{b:02x}")).collect();
                *v = Value::from(hex);
            }
        }
    }
}

impl Transform for PiiMask {
    fn transform(&mut self, e: &Event, out: &mut Emitter) -> Result<(), String> {
        let mut v = e.value()?;
        if let Value::Map(top) = &mut v {
            for (k, image) in top.iter_mut() {
                if matches!(k.as_str(), Some("before" | "after")) {
                    self.mask_image(image);
                }
            }
        }
        out.value(&v)
    }
}

export_plugin!(PiiMask: transform);
