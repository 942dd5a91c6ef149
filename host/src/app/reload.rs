//! Hot reload of the config file: new rules take effect at the next
//! transaction; settings that need a restart are reported and ignored.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use tracing::{error, info, warn};

use crate::config::watch::{watch, ConfigWatch};
use crate::config::{needs_restart, Config};
use crate::route::LiveRules;

/// Watches `path` and applies changes to `live`. `current` is the config
/// in force, parsed from `text`.
///
/// The file is compared with `text` once more after the watch is set up:
/// an edit made between the first read and the watch would otherwise only
/// apply at the next edit.
pub fn start(
    path: &Path,
    text: String,
    current: Config,
    live: Arc<LiveRules>,
) -> notify::Result<ConfigWatch> {
    let path: PathBuf = path.to_owned();
    let last_text = Mutex::new(text);
    let current = Mutex::new(current);
    let p = path.clone();
    let check = Arc::new(move || {
        let text = match std::fs::read_to_string(&p) {
            Ok(t) => t,
            // Mid-swap, or deleted: wait for the next event.
            Err(_) => return,
        };
        let mut last = last_text.lock().unwrap();
        if *last == text {
            return;
        }
        *last = text.clone();
        let new = match Config::parse(&p, &text, &|k| std::env::var(k).ok()) {
            Ok(c) => c,
            Err(e) => {
                error!("config not reloaded, still running on the previous one: {e}");
                crate::metrics::get().reload(false);
                return;
            }
        };
        let mut cur = current.lock().unwrap();
        for setting in needs_restart(&cur, &new) {
            warn!(
                setting,
                "changed in the config file: needs restart; ignored until then"
            );
        }
        if new.rules != cur.rules || new.kafka.topic_prefix != cur.kafka.topic_prefix {
            live.replace(new.rules.clone(), new.kafka.topic_prefix.clone());
            info!(
                rules = new.rules.len(),
                "config reloaded: new rules take effect at the next transaction boundary"
            );
            cur.rules = new.rules;
            cur.kafka.topic_prefix = new.kafka.topic_prefix;
            crate::metrics::get().reload(true);
        } else {
            info!("config file changed; no reloadable setting changed");
        }
    });
    let on_event = check.clone();
    let watching = watch(&path, move || on_event())?;
    check();
    Ok(watching)
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASE: &str = "[source]\nurl = \"mysql://root@127.0.0.1:3306\"\nserver_id = 1\nstart = \"latest\"\n[kafka]\nbrokers = \"127.0.0.1:9092\"\n[state]\ndir = \"state\"\n";

    /// An edit between the first read and the watch (no file event after
    /// the watch starts) still applies.
    #[test]
    fn an_edit_made_before_the_watch_started_applies() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sluice.toml");
        let first = BASE.to_owned();
        let config = Config::parse(&path, &first, &|_| None).unwrap();
        let live = LiveRules::new(config.rules.clone(), None);
        std::fs::write(
            &path,
            format!("{BASE}[[rules]]\ntables = [\"shop.orders\"]\ntopic = \"orders\"\n"),
        )
        .unwrap();
        let _watch = start(&path, first, config, live.clone()).unwrap();
        assert_eq!(live.generation(), 1);
        let (_, rules) = live.load();
        assert!(rules.rule_for("shop", "orders").is_some());
    }
}
