//! The checkpoint file: written to a temporary file, fsynced, renamed over
//! the old one, and the directory fsynced, so a crash at any moment leaves
//! either the old or the new checkpoint, never a torn one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use serde::{Deserialize, Serialize};

use crate::binlog::gtid::GtidState;
use crate::event::Position;
use crate::snapshot::Progress;

const FILE: &str = "checkpoint.json";
/// Version of the checkpoint file layout: 2 added `snapshot`, 3 `gtid`.
const VERSION: u32 = 3;
/// Versions still read: older files are newer ones without snapshot work
/// or GTID state, so an upgrade resumes where the old binary stopped.
const READABLE: [u32; 3] = [1, 2, 3];

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot create the state directory {dir}: {source}; check that the path is writable or set [state] dir / SLUICE_STATE_DIR")]
    CreateDir {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot write the checkpoint in {dir}: {source} (the previous checkpoint is still valid); free disk space or fix the directory's permissions")]
    Write {
        dir: PathBuf,
        source: std::io::Error,
    },
    #[error("cannot read the checkpoint {path}: {source}")]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("the checkpoint {path} is not valid: {reason}; move it away to start from `[source] start`, or fix it")]
    Invalid { path: PathBuf, reason: String },
}

/// What the checkpoint file holds.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    pub version: u32,
    /// Where to resume: the start of a transaction, or the end of the last one.
    pub file: String,
    pub pos: u64,
    /// `server_id` Sluice registered with, for humans reading the file.
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
    pub(crate) fn position(&self) -> Position {
        Position::new(self.file.clone(), self.pos)
    }
}

pub(crate) struct Store {
    dir: PathBuf,
    /// What was written (or loaded) last, to skip writing it again.
    last: Option<(Position, Option<Progress>, Option<GtidState>)>,
    saved: Arc<Mutex<Option<Saved>>>,
}

/// The checkpoint as last saved, for the status endpoint: the time of the
/// last save that succeeded, written or already current (an idle Sluice
/// does not rewrite an unchanged file, yet its checkpoint is not stale).
#[derive(Clone, Debug)]
pub(crate) struct Saved {
    pub position: Position,
    pub gtid: Option<String>,
    pub at: SystemTime,
    pub instant: Instant,
}

impl Store {
    pub(crate) fn open(dir: &Path) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            dir: dir.to_owned(),
            source,
        })?;
        Ok(Store {
            dir: dir.to_owned(),
            last: None,
            saved: Arc::default(),
        })
    }

    /// Where the last successful save is recorded.
    pub(crate) fn saved(&self) -> Arc<Mutex<Option<Saved>>> {
        self.saved.clone()
    }

    fn record(&self, pos: &Position, gtid: Option<&GtidState>) {
        *self.saved.lock().unwrap() = Some(Saved {
            position: pos.clone(),
            gtid: gtid.map(ToString::to_string),
            at: SystemTime::now(),
            instant: Instant::now(),
        });
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// The stored checkpoint, if any.
    pub(crate) fn load(&mut self) -> Result<Option<Checkpoint>, StoreError> {
        let path = self.path();
        let text = match fs::read_to_string(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        let cp: Checkpoint = serde_json::from_str(&text).map_err(|e| StoreError::Invalid {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        if !READABLE.contains(&cp.version) {
            return Err(StoreError::Invalid {
                path,
                reason: format!(
                    "version {} is not one this Sluice reads ({READABLE:?}); was it written by a newer Sluice?",
                    cp.version
                ),
            });
        }
        self.last = Some((cp.position(), cp.snapshot.clone(), cp.gtid.clone()));
        Ok(Some(cp))
    }

    /// Writes `pos`, `snapshot` and `gtid` unless all are what was written last.
    pub(crate) fn save(
        &mut self,
        pos: &Position,
        snapshot: Option<&Progress>,
        gtid: Option<&GtidState>,
        server_id: u32,
    ) -> Result<bool, StoreError> {
        if let Some((last_pos, last_snapshot, last_gtid)) = &self.last {
            if last_pos == pos && last_snapshot.as_ref() == snapshot && last_gtid.as_ref() == gtid {
                self.record(pos, gtid);
                return Ok(false);
            }
        }
        let cp = Checkpoint {
            version: VERSION,
            file: pos.file.clone(),
            pos: pos.pos,
            server_id,
            written_ms: crate::event::now_ms(),
            snapshot: snapshot.cloned(),
            gtid: gtid.cloned(),
        };
        let err = |source| StoreError::Write {
            dir: self.dir.clone(),
            source,
        };
        let tmp = self.dir.join(format!("{FILE}.tmp"));
        let mut f = fs::File::create(&tmp).map_err(err)?;
        let mut text = serde_json::to_vec_pretty(&cp).expect("checkpoint serialises");
        text.push(b'\n');
        f.write_all(&text).map_err(err)?;
        f.sync_all().map_err(err)?;
        drop(f);
        fs::rename(&tmp, self.path()).map_err(err)?;
        // The rename is durable only once the directory entry is.
        fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(err)?;
        self.record(pos, gtid);
        self.last = Some((pos.clone(), cp.snapshot, cp.gtid));
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::snapshot::{KeyValue, TableProgress};

    #[test]
    fn round_trips_and_skips_unchanged_writes() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        assert_eq!(s.load().unwrap(), None);
        let p = Position::new("mysql-bin.000002", 1234);
        assert!(s.save(&p, None, None, 7).unwrap());
        assert!(!s.save(&p, None, None, 7).unwrap());
        let mut again = Store::open(dir.path()).unwrap();
        let cp = again.load().unwrap().unwrap();
        assert_eq!(cp.position(), p);
        assert_eq!(cp.server_id, 7);
        assert_eq!(cp.snapshot, None);
        let text = fs::read_to_string(again.path()).unwrap();
        assert!(!text.contains("snapshot"), "omitted when none: {text}");
        // What was loaded counts as written.
        assert!(!again.save(&p, None, None, 7).unwrap());
    }

    fn progress(after: i64) -> Progress {
        Progress {
            tables: vec![TableProgress {
                db: "shop".into(),
                table: "orders".into(),
                condition: None,
                after: Some(vec![KeyValue::Int(after)]),
                rows: 3,
                estimate: 10,
                reason: "initial".into(),
            }],
            requests: vec![],
        }
    }

    #[test]
    fn snapshot_progress_round_trips_and_a_change_alone_is_written() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let p = Position::new("mysql-bin.000002", 1234);
        assert!(s.save(&p, Some(&progress(5)), None, 7).unwrap());
        assert!(!s.save(&p, Some(&progress(5)), None, 7).unwrap());
        assert!(
            s.save(&p, Some(&progress(9)), None, 7).unwrap(),
            "progress moved"
        );
        let cp = Store::open(dir.path()).unwrap().load().unwrap().unwrap();
        assert_eq!(cp.version, 3);
        assert_eq!((cp.position(), cp.snapshot), (p.clone(), Some(progress(9))));
        assert!(s.save(&p, None, None, 7).unwrap(), "snapshot finished");
        let cp = Store::open(dir.path()).unwrap().load().unwrap().unwrap();
        assert_eq!(cp.snapshot, None);
    }

    #[test]
    fn a_version_1_file_loads_without_snapshot_work() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(FILE),
            r#"{ "version": 1, "file": "mysql-bin.000003", "pos": 1234, "server_id": 4242, "written_ms": 1732170000000 }"#,
        )
        .unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        let cp = s.load().unwrap().unwrap();
        assert_eq!(cp.position(), Position::new("mysql-bin.000003", 1234));
        assert_eq!(cp.snapshot, None);
        // The next write upgrades the file.
        assert!(s
            .save(&Position::new("mysql-bin.000003", 2000), None, None, 1)
            .unwrap());
        let text = fs::read_to_string(s.path()).unwrap();
        assert!(text.contains("\"version\": 3"), "{text}");
    }

    #[test]
    fn an_unknown_version_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(FILE),
            r#"{ "version": 4, "file": "b.000001", "pos": 4, "server_id": 1, "written_ms": 0 }"#,
        )
        .unwrap();
        let err = Store::open(dir.path()).unwrap().load().unwrap_err();
        assert!(err.to_string().contains("version 4 is not one"), "{err}");
    }

    #[test]
    fn the_gtid_state_is_stored_with_its_flavour_and_a_version_2_file_has_none() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(
            dir.path().join(FILE),
            r#"{ "version": 2, "file": "mysql-bin.000003", "pos": 1234, "server_id": 4242, "written_ms": 1 }"#,
        )
        .unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        assert_eq!(s.load().unwrap().unwrap().gtid, None);
        let p = Position::new("mysql-bin.000003", 1234);
        let g = GtidState::parse_mariadb("0-1-42").unwrap();
        assert!(
            s.save(&p, None, Some(&g), 1).unwrap(),
            "only the GTID state is new"
        );
        let text = fs::read_to_string(s.path()).unwrap();
        assert!(text.contains(r#""mariadb": "0-1-42""#), "{text}");
        let cp = Store::open(dir.path()).unwrap().load().unwrap().unwrap();
        assert_eq!((cp.position(), cp.gtid), (p, Some(g)));
    }

    #[test]
    fn a_torn_file_is_reported_not_guessed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FILE), "{\"version\":1,\"file\":").unwrap();
        let err = Store::open(dir.path()).unwrap().load().unwrap_err();
        assert!(err.to_string().contains("not valid"), "{err}");
    }

    #[test]
    fn a_failed_write_keeps_the_previous_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        s.save(&Position::new("b.000001", 10), None, None, 1)
            .unwrap();
        // A directory where the temporary file goes makes the write fail
        // even for root, who ignores permission bits.
        fs::create_dir(dir.path().join(format!("{FILE}.tmp"))).unwrap();
        let err = s
            .save(&Position::new("b.000001", 20), None, None, 1)
            .unwrap_err();
        assert!(
            err.to_string()
                .contains("previous checkpoint is still valid"),
            "{err}"
        );
        let cp = Store::open(dir.path()).unwrap().load().unwrap().unwrap();
        assert_eq!(cp.pos, 10);
    }
}
