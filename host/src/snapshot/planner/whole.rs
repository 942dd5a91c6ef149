//! Tables without a primary key, on the planner's side: the parts of a
//! whole-table read, and giving it up when the stream cannot stop at its
//! position (docs/SNAPSHOT.md, "Tables without a primary key").

use tracing::warn;

use super::{Pending, Planner, Window};
use crate::event::Position;
use crate::snapshot::job::PartOutcome;

impl Planner {
    /// A part of a table read whole.
    pub(super) fn part_read(&mut self, id: u64, discard: bool, outcome: PartOutcome) {
        if let PartOutcome::Rows { last: false, .. } = outcome {
            self.inflight = Some(Pending::Whole { id, discard });
        }
        if discard {
            return;
        }
        let front = &self.progress.tables[0];
        let (db, table) = (front.db.clone(), front.table.clone());
        match outcome {
            PartOutcome::Rows { chunk, .. } => {
                self.whole_at.get_or_insert_with(|| chunk.high.clone());
                self.arrived.push_back((
                    Window {
                        id,
                        ..Default::default()
                    },
                    chunk,
                ));
            }
            PartOutcome::Gone => self.gone(&db, &table),
            PartOutcome::NoConsistentPosition => {
                warn!(db, table, "the table has no primary key and this server does not report the binlog position of a consistent read (MySQL has no binlog_snapshot_position): it is not snapshotted; give it a primary key (docs/SNAPSHOT.md, \"Tables without a primary key\")");
                self.finish_front();
            }
        }
    }

    /// The stream went past a whole read's position without stopping
    /// there (it was not a transaction boundary the stream saw): its rows
    /// cannot be placed exactly, so the table is not snapshotted.
    pub(super) fn give_up_whole(&mut self, at: &Position) {
        let front = &self.progress.tables[0];
        warn!(db = %front.db, table = %front.table, read_at = ?self.whole_at, stream_at = %at, "the stream passed the consistent read's binlog position without stopping there; the table without a primary key is not snapshotted");
        if let Some(Pending::Whole { discard, .. }) = &mut self.inflight {
            *discard = true;
        }
        self.finish_front();
    }
}
