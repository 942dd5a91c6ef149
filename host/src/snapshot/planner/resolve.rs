//! Turning a request (patterns, or "every captured table") into the
//! tables to read, against the server's list and the rules in force.

use tracing::{info, warn};

use super::Planner;
use crate::route::glob::TablePattern;
use crate::snapshot::catalog::TableInfo;
use crate::snapshot::TableProgress;

impl Planner {
    /// Turns the first request into the tables it names.
    pub(super) fn resolve(
        &mut self,
        tables: Vec<TableInfo>,
        captured: &dyn Fn(&str, &str) -> bool,
    ) {
        let req = self.progress.requests.remove(0);
        self.dirty = true;
        let patterns = parse_all(req.patterns.as_deref().unwrap_or(&[]));
        let except: Vec<(Vec<TablePattern>, Vec<TablePattern>)> = req
            .except_captured_by
            .iter()
            .flatten()
            .map(|(t, x)| (parse_all(t), parse_all(x)))
            .collect();
        let wanted = |t: &TableInfo| {
            let (db, table) = (t.db.as_str(), t.table.as_str());
            let is_signal = self
                .signal
                .as_ref()
                .is_some_and(|s| s.db == db && s.table == table);
            !is_signal
                && captured(db, table)
                && (req.patterns.is_none() || patterns.iter().any(|p| p.matches(db, table)))
                && !except
                    .iter()
                    .any(|(inc, exc)| matches_any(inc, db, table) && !matches_any(exc, db, table))
        };
        let mut added = 0;
        for t in tables.iter().filter(|t| wanted(t)) {
            let dup = self
                .progress
                .tables
                .iter()
                .any(|p| p.db == t.db && p.table == t.table && p.condition == req.condition);
            if !dup {
                self.progress.tables.push(TableProgress {
                    db: t.db.clone(),
                    table: t.table.clone(),
                    condition: req.condition.clone(),
                    after: None,
                    rows: 0,
                    estimate: t.rows_estimate,
                    reason: req.reason.clone(),
                });
                added += 1;
            }
        }
        if added == 0 && req.patterns.is_some() {
            warn!(reason = %req.reason, patterns = ?req.patterns, "the snapshot request names no existing table that the rules capture; ignored");
        } else {
            info!(reason = %req.reason, tables = added, "snapshot queued");
        }
    }
}

fn parse_all(patterns: &[String]) -> Vec<TablePattern> {
    patterns
        .iter()
        .filter_map(|p| TablePattern::parse(p).ok())
        .collect()
}

fn matches_any(patterns: &[TablePattern], db: &str, table: &str) -> bool {
    patterns.iter().any(|p| p.matches(db, table))
}
