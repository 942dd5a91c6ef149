//! The checkpoint file: written to a temporary file, fsynced, renamed over
//! the old one, and the directory fsynced, so a crash at any moment leaves
//! either the old or the new checkpoint, never a torn one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::event::Position;

const FILE: &str = "checkpoint.json";
/// Version of the checkpoint file layout.
const VERSION: u32 = 1;

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
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Checkpoint {
    pub version: u32,
    /// Where to resume: the start of a transaction, or the end of the last one.
    pub file: String,
    pub pos: u64,
    /// `server_id` Sluice registered with, for humans reading the file.
    pub server_id: u32,
    /// Milliseconds since the epoch when this was written.
    pub written_ms: u64,
}

impl Checkpoint {
    pub(crate) fn position(&self) -> Position {
        Position::new(self.file.clone(), self.pos)
    }
}

pub(crate) struct Store {
    dir: PathBuf,
    last: Option<Position>,
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
        })
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
        if cp.version != VERSION {
            return Err(StoreError::Invalid {
                path,
                reason: format!("version {} is not {VERSION}", cp.version),
            });
        }
        self.last = Some(cp.position());
        Ok(Some(cp))
    }

    /// Writes `pos` unless it is what was written last.
    pub(crate) fn save(&mut self, pos: &Position, server_id: u32) -> Result<bool, StoreError> {
        if self.last.as_ref() == Some(pos) {
            return Ok(false);
        }
        let cp = Checkpoint {
            version: VERSION,
            file: pos.file.clone(),
            pos: pos.pos,
            server_id,
            written_ms: crate::event::now_ms(),
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
        self.last = Some(pos.clone());
        Ok(true)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_skips_unchanged_writes() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open(dir.path()).unwrap();
        assert_eq!(s.load().unwrap(), None);
        let p = Position::new("mysql-bin.000002", 1234);
        assert!(s.save(&p, 7).unwrap());
        assert!(!s.save(&p, 7).unwrap());
        let mut again = Store::open(dir.path()).unwrap();
        let cp = again.load().unwrap().unwrap();
        assert_eq!(cp.position(), p);
        assert_eq!(cp.server_id, 7);
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
        s.save(&Position::new("b.000001", 10), 1).unwrap();
        // A directory where the temporary file goes makes the write fail
        // even for root, who ignores permission bits.
        fs::create_dir(dir.path().join(format!("{FILE}.tmp"))).unwrap();
        let err = s.save(&Position::new("b.000001", 20), 1).unwrap_err();
        assert!(
            err.to_string()
                .contains("previous checkpoint is still valid"),
            "{err}"
        );
        let cp = Store::open(dir.path()).unwrap().load().unwrap().unwrap();
        assert_eq!(cp.pos, 10);
    }
}
