//! `[snapshot]`: whether and how existing rows are read. Each default is a
//! constant here, the one place it is written (docs/CONFIG.md is checked
//! against these by a test in `config`).

use std::time::Duration;

/// When Sluice reads a table's existing rows on its own.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SnapshotMode {
    /// With no checkpoint: every captured table, then (interleaved) the stream.
    Initial,
    /// Never on its own (signals still work).
    Never,
    /// As `Initial`, and also when the checkpoint's binlog is gone: the
    /// stream restarts at the server's current position and every captured
    /// table is read again.
    WhenNeeded,
}

impl SnapshotMode {
    pub fn from_name(name: &str) -> Option<SnapshotMode> {
        Some(match name {
            "initial" => SnapshotMode::Initial,
            "never" => SnapshotMode::Never,
            "when_needed" => SnapshotMode::WhenNeeded,
            _ => return None,
        })
    }

    pub fn name(self) -> &'static str {
        match self {
            SnapshotMode::Initial => "initial",
            SnapshotMode::Never => "never",
            SnapshotMode::WhenNeeded => "when_needed",
        }
    }
}

/// The table on-demand snapshot requests are written to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignalTable {
    pub db: String,
    pub table: String,
}

impl SignalTable {
    /// `db.table`: exactly two non-empty names (no wildcards: it is one
    /// table, which `sluice snapshot` may create).
    pub fn parse(s: &str) -> Result<SignalTable, String> {
        let bad = || {
            format!("`{s}` is not a table: write it as \"db.table\" (e.g. \"{DEFAULT_SIGNAL_TABLE}\"), or \"\" to turn on-demand snapshots off")
        };
        let (db, table) = s.split_once('.').ok_or_else(bad)?;
        let name_ok = |n: &str| !n.is_empty() && !n.contains(['.', '*', '?', '`']);
        if !name_ok(db) || !name_ok(table) {
            return Err(bad());
        }
        Ok(SignalTable {
            db: db.into(),
            table: table.into(),
        })
    }
}

impl std::fmt::Display for SignalTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}.{}", self.db, self.table)
    }
}

pub(crate) const DEFAULT_MODE: SnapshotMode = SnapshotMode::Initial;
pub(crate) const DEFAULT_CHUNK_ROWS: usize = 8192;
pub(crate) const DEFAULT_SIGNAL_TABLE: &str = "sluice.snapshot_signals";
pub(crate) const DEFAULT_NEW_TABLES: bool = true;
pub(crate) const DEFAULT_PROGRESS_INTERVAL: Duration = Duration::from_secs(10);

#[derive(Clone, Debug, PartialEq)]
pub struct SnapshotSettings {
    pub mode: SnapshotMode,
    /// Rows per chunk `SELECT` (keyset pagination by primary key).
    pub chunk_rows: usize,
    /// Where on-demand requests are written; `None` turns them off.
    pub signal_table: Option<SignalTable>,
    /// A table that a reloaded rule starts to capture gets its rows too.
    pub new_tables: bool,
    /// How often a table's progress is logged.
    pub progress_interval: Duration,
}

impl Default for SnapshotSettings {
    fn default() -> Self {
        SnapshotSettings {
            mode: DEFAULT_MODE,
            chunk_rows: DEFAULT_CHUNK_ROWS,
            signal_table: Some(SignalTable {
                db: "sluice".into(),
                table: "snapshot_signals".into(),
            }),
            new_tables: DEFAULT_NEW_TABLES,
            progress_interval: DEFAULT_PROGRESS_INTERVAL,
        }
    }
}

/// Below this, progress lines would flood the log.
pub(crate) const MIN_PROGRESS_INTERVAL: Duration = Duration::from_millis(100);
