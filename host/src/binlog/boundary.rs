//! The transaction-boundary state machine: one binlog event in, one
//! [`Step`] out, saying where a transaction begins or ends and where the
//! resume position may move. The pipeline acts on steps; it no longer
//! tracks boundaries itself.
//!
//! The rules (see [`super::txn`] for the event kinds):
//! - a GTID event opens a transaction; one left open by an earlier GTID
//!   (the server crashed mid-write) ends where the new one begins;
//! - `BEGIN` opens one unless a GTID already did; rows outside any
//!   transaction open one too (old servers, hand-made streams);
//! - XID or `COMMIT` ends it after the event;
//! - a statement right after a GTID without `BEGIN` is a transaction alone
//!   (DDL) and ends after itself;
//! - outside a transaction, the resume position may move past the event.

use super::txn::{classify, EventKind, Positions};
use super::{BinlogError, Event};
use crate::event::Position;

/// What one event does to the transaction boundaries.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Step {
    /// Where the event starts and where the next one starts.
    pub start: Position,
    pub end: Position,
    /// A transaction left open by an earlier GTID never committed: it
    /// ends at `start`, before anything else this step says.
    pub ends_unfinished: bool,
    /// A transaction begins at `start`, with this GTID if one was logged.
    pub begins: Option<Begin>,
    /// What the event carries for the decoder or the DDL topic.
    pub carries: Carries,
    /// The open transaction ends after this event, at `end`.
    pub ends: bool,
    /// The event is outside any transaction: the resume position may move
    /// here once everything before it is settled.
    pub skip_to: Option<Position>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) struct Begin {
    pub gtid: Option<String>,
}

#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Carries {
    Nothing,
    TableMap,
    Rows,
    /// A statement that is not a transaction boundary: DDL, or anything
    /// else the server logs as a query. `in_transaction` is false when it
    /// came outside any transaction (old servers log DDL without a GTID).
    Statement {
        sql: String,
        schema: String,
        in_transaction: bool,
    },
}

/// The transaction open at the current event.
#[derive(Debug)]
struct Open {
    /// False between a GTID event and the statement after it, which is
    /// either `BEGIN` or a standalone statement (DDL).
    begun: bool,
}

/// Follows transaction boundaries through the stream.
#[derive(Debug)]
pub(crate) struct Boundaries {
    positions: Positions,
    open: Option<Open>,
}

impl Boundaries {
    /// Starting at `from`, which must be a transaction boundary.
    pub(crate) fn new(from: &Position) -> Self {
        Boundaries {
            positions: Positions::new(from),
            open: None,
        }
    }

    /// Whether a transaction is open after the events seen so far.
    #[cfg(test)]
    pub(crate) fn in_transaction(&self) -> bool {
        self.open.is_some()
    }

    /// The step for `ev`. Fails on a malformed event, and on row changes
    /// logged as a statement (which a row-based reader cannot decode).
    pub(crate) fn step(&mut self, ev: &Event) -> Result<Step, BinlogError> {
        let (start, end) = self.positions.of(ev);
        let kind = classify(ev).map_err(|what| BinlogError::Malformed {
            what,
            position: start.clone(),
        })?;
        self.step_kind(kind, start, end)
    }

    /// [`Boundaries::step`] for an event already classified, at `start..end`.
    pub(crate) fn step_kind(
        &mut self,
        kind: EventKind,
        start: Position,
        end: Position,
    ) -> Result<Step, BinlogError> {
        let mut step = Step {
            start,
            end,
            ends_unfinished: false,
            begins: None,
            carries: Carries::Nothing,
            ends: false,
            skip_to: None,
        };
        match kind {
            EventKind::Gtid { gtid, begun } => {
                step.ends_unfinished = self.open.is_some();
                self.open = Some(Open { begun });
                step.begins = Some(Begin { gtid });
            }
            EventKind::Begin => match &mut self.open {
                Some(o) => o.begun = true,
                None => self.begin(&mut step),
            },
            EventKind::Commit => self.end_or_skip(&mut step),
            EventKind::Statement { sql, schema } => self.statement(&mut step, sql, schema)?,
            EventKind::TableMap => step.carries = Carries::TableMap,
            EventKind::Rows => {
                match &mut self.open {
                    Some(o) => o.begun = true,
                    None => self.begin(&mut step),
                }
                step.carries = Carries::Rows;
            }
            EventKind::Rotate { next } => {
                self.positions.rotate(&next);
                if self.open.is_none() {
                    step.skip_to = Some(next);
                }
            }
            EventKind::Other => {
                // End 4 is the file header: no event ends there.
                if self.open.is_none() && step.end.pos > 4 {
                    step.skip_to = Some(step.end.clone());
                }
            }
        }
        Ok(step)
    }

    fn begin(&mut self, step: &mut Step) {
        self.open = Some(Open { begun: true });
        step.begins = Some(Begin { gtid: None });
    }

    /// The open transaction ends after this event; outside one, the event
    /// is passed over.
    fn end_or_skip(&mut self, step: &mut Step) {
        match self.open.take() {
            Some(_) => step.ends = true,
            None => step.skip_to = Some(step.end.clone()),
        }
    }

    fn statement(
        &mut self,
        step: &mut Step,
        sql: String,
        schema: String,
    ) -> Result<(), BinlogError> {
        if is_dml(&sql) && !super::is_system_schema(&schema) {
            return Err(BinlogError::StatementLogged {
                position: step.start.clone(),
                sql: sql.chars().take(120).collect(),
            });
        }
        let in_transaction = self.open.is_some();
        match &self.open {
            // A GTID without BEGIN: the statement is the whole transaction.
            Some(o) if !o.begun => self.end_or_skip(step),
            Some(_) => {}
            None => step.skip_to = Some(step.end.clone()),
        }
        step.carries = Carries::Statement {
            sql,
            schema,
            in_transaction,
        };
        Ok(())
    }
}

/// Row changes logged as a statement: what binlog_format=STATEMENT or MIXED
/// writes, and what a row-based reader cannot decode.
fn is_dml(sql: &str) -> bool {
    let head: String = sql
        .trim_start()
        .chars()
        .take(8)
        .collect::<String>()
        .to_ascii_uppercase();
    ["INSERT", "UPDATE", "DELETE", "REPLACE", "LOAD DAT"]
        .iter()
        .any(|k| head.starts_with(k))
}

#[cfg(test)]
#[path = "boundary_tests.rs"]
mod tests;
