//! The checkpoint record: what the checkpoint file and the Kafka
//! checkpoint record hold, as JSON, and which layouts are still read.

use serde::{Deserialize, Serialize};

use crate::binlog::gtid::GtidState;
use crate::event::Position;
use crate::snapshot::Progress;

/// Version of the layout: 2 added `snapshot`, 3 `gtid`.
pub(crate) const VERSION: u32 = 3;
/// Versions still read: older records are newer ones without snapshot work
/// or GTID state, so an upgrade resumes where the old binary stopped.
const READABLE: [u32; 3] = [1, 2, 3];

/// Where to resume, with what goes with it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    pub version: u32,
    /// Where to resume: the start of a transaction, or the end of the last one.
    pub file: String,
    pub pos: u64,
    /// `server_id` Sluice registered with, for humans reading it.
    pub server_id: u32,
    /// Milliseconds since the epoch when this was written.
    pub written_ms: u64,
    /// Snapshot work not yet acknowledged; absent when there is none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub snapshot: Option<Progress>,
    /// The GTID state at `file:pos`, when the server could say: what a
    /// restart resumes from, on this server or a promoted replica.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub gtid: Option<GtidState>,
}

impl Checkpoint {
    pub(crate) fn new(
        pos: &Position,
        snapshot: Option<&Progress>,
        gtid: Option<&GtidState>,
        server_id: u32,
    ) -> Self {
        Checkpoint {
            version: VERSION,
            file: pos.file.clone(),
            pos: pos.pos,
            server_id,
            written_ms: crate::event::now_ms(),
            snapshot: snapshot.cloned(),
            gtid: gtid.cloned(),
        }
    }

    pub(crate) fn position(&self) -> Position {
        Position::new(self.file.clone(), self.pos)
    }

    /// Pretty JSON with a final newline: the file is read by people too.
    pub(crate) fn encode(&self) -> Vec<u8> {
        let mut text = serde_json::to_vec_pretty(self).expect("checkpoint serialises");
        text.push(b'\n');
        text
    }

    /// A record as written by [`Checkpoint::encode`] of this or an older
    /// version; the error says what is wrong with it.
    pub(crate) fn decode(bytes: &[u8]) -> Result<Checkpoint, String> {
        let cp: Checkpoint = serde_json::from_slice(bytes).map_err(|e| e.to_string())?;
        if !READABLE.contains(&cp.version) {
            return Err(format!(
                "version {} is not one this Sluice reads ({READABLE:?}); was it written by a newer Sluice?",
                cp.version
            ));
        }
        Ok(cp)
    }
}
