//! `[snapshot]` -> [`SnapshotSettings`].

use std::time::Duration;

use super::input::Input;
use super::raw::RawSnapshot;
use super::{suggest, ConfigError};
use crate::snapshot::settings::{
    SignalTable, SnapshotMode, SnapshotSettings, DEFAULT_CHUNK_ROWS, DEFAULT_MODE,
    DEFAULT_NEW_TABLES, DEFAULT_PROGRESS_INTERVAL, DEFAULT_SIGNAL_TABLE, MIN_PROGRESS_INTERVAL,
};

const MODES: [&str; 3] = ["initial", "never", "when_needed"];

pub(super) fn settings(raw: RawSnapshot, input: &Input) -> Result<SnapshotSettings, ConfigError> {
    Ok(SnapshotSettings {
        mode: mode(raw.mode, input)?,
        chunk_rows: input.at_least_one(
            raw.chunk_rows,
            DEFAULT_CHUNK_ROWS,
            "snapshot.chunk_rows",
        )?,
        signal_table: signal_table(raw.signal_table, input)?,
        new_tables: raw.new_tables.unwrap_or(DEFAULT_NEW_TABLES),
        progress_interval: progress_interval(raw.progress_interval_ms, input)?,
    })
}

fn mode(name: Option<String>, input: &Input) -> Result<SnapshotMode, ConfigError> {
    let Some(name) = name else {
        return Ok(DEFAULT_MODE);
    };
    SnapshotMode::from_name(&name).ok_or_else(|| {
        let hint = suggest(&name, &MODES)
            .map(|s| format!("; did you mean \"{s}\"?"))
            .unwrap_or_default();
        input.in_file(
            "snapshot.mode",
            format!("`{name}` is not a snapshot mode: use \"initial\", \"never\" or \"when_needed\"{hint}"),
        )
    })
}

/// `""` turns on-demand requests off.
fn signal_table(value: Option<String>, input: &Input) -> Result<Option<SignalTable>, ConfigError> {
    let value = value.unwrap_or_else(|| DEFAULT_SIGNAL_TABLE.into());
    if value.is_empty() {
        return Ok(None);
    }
    SignalTable::parse(&value)
        .map(Some)
        .map_err(|e| input.in_file("snapshot.signal_table", e))
}

fn progress_interval(ms: Option<u64>, input: &Input) -> Result<Duration, ConfigError> {
    let Some(ms) = ms else {
        return Ok(DEFAULT_PROGRESS_INTERVAL);
    };
    let interval = Duration::from_millis(ms);
    if interval < MIN_PROGRESS_INTERVAL {
        return Err(input.in_file(
            "snapshot.progress_interval_ms",
            format!(
                "must be at least {} (progress lines more often than that flood the log)",
                MIN_PROGRESS_INTERVAL.as_millis()
            ),
        ));
    }
    Ok(interval)
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::config::Config;

    const BASE: &str = "[source]\nurl = \"mysql://root@h:3306\"\n[pipeline]\nsink = \"null\"\n";

    fn parse(section: &str) -> Result<SnapshotSettings, String> {
        let text = format!("{BASE}[snapshot]\n{section}\n");
        Config::parse(Path::new("sluice.toml"), &text, &|_| None)
            .map(|c| c.snapshot)
            .map_err(|e| e.to_string())
    }

    #[test]
    fn an_absent_section_gets_the_defaults() {
        let c = Config::parse(Path::new("s.toml"), BASE, &|_| None).unwrap();
        assert_eq!(c.snapshot, SnapshotSettings::default());
        assert_eq!(
            c.snapshot.signal_table,
            Some(SignalTable::parse(DEFAULT_SIGNAL_TABLE).unwrap())
        );
    }

    #[test]
    fn every_key_is_read() {
        let s = parse(
            "mode = \"when_needed\"\nchunk_rows = 5\nsignal_table = \"ops.signals\"\nnew_tables = false\nprogress_interval_ms = 100",
        )
        .unwrap();
        assert_eq!(s.mode, SnapshotMode::WhenNeeded);
        assert_eq!(s.chunk_rows, 5);
        assert_eq!(
            s.signal_table,
            Some(SignalTable {
                db: "ops".into(),
                table: "signals".into()
            })
        );
        assert!(!s.new_tables);
        assert_eq!(s.progress_interval, Duration::from_millis(100));
        assert_eq!(parse("mode = \"never\"").unwrap().mode, SnapshotMode::Never);
        assert_eq!(parse("signal_table = \"\"").unwrap().signal_table, None);
    }

    #[test]
    fn bad_values_say_what_to_write() {
        let err = parse("mode = \"inital\"").unwrap_err();
        assert_eq!(
            err,
            "sluice.toml:6:1: snapshot.mode: `inital` is not a snapshot mode: use \"initial\", \"never\" or \"when_needed\"; did you mean \"initial\"?"
        );
        assert!(parse("chunk_rows = 0")
            .unwrap_err()
            .ends_with("snapshot.chunk_rows: must be at least 1"));
        assert!(parse("progress_interval_ms = 99")
            .unwrap_err()
            .contains("snapshot.progress_interval_ms: must be at least 100"));
        for bad in ["signals", "a.b.c", ".t", "db.", "db.t*", "a`b.t"] {
            let err = parse(&format!("signal_table = \"{bad}\"")).unwrap_err();
            assert!(
                err.contains(&format!(
                    "snapshot.signal_table: `{bad}` is not a table: write it as \"db.table\""
                )),
                "{bad}: {err}"
            );
        }
        assert!(parse("chunk = 5")
            .unwrap_err()
            .contains("did you mean `chunk_rows`?"));
    }
}
