//! The checkpoint file: written to a temporary file, fsynced, renamed over
//! the old one, and the directory fsynced, so a crash at any moment leaves
//! either the old or the new checkpoint, never a torn one.

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};

use super::record::Checkpoint;
use super::StoreError;

const FILE: &str = "checkpoint.json";

pub(crate) struct FileStore {
    dir: PathBuf,
}

impl FileStore {
    pub(crate) fn open(dir: &Path) -> Result<Self, StoreError> {
        fs::create_dir_all(dir).map_err(|source| StoreError::CreateDir {
            dir: dir.to_owned(),
            source,
        })?;
        Ok(FileStore {
            dir: dir.to_owned(),
        })
    }

    pub(crate) fn path(&self) -> PathBuf {
        self.dir.join(FILE)
    }

    /// The stored checkpoint, if any.
    pub(crate) fn load(&self) -> Result<Option<Checkpoint>, StoreError> {
        let path = self.path();
        let text = match fs::read(&path) {
            Ok(t) => t,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
            Err(source) => return Err(StoreError::Read { path, source }),
        };
        Checkpoint::decode(&text)
            .map(Some)
            .map_err(|reason| StoreError::Invalid { path, reason })
    }

    /// Replaces the file with `cp`, atomically and durably.
    pub(crate) fn write(&self, cp: &Checkpoint) -> Result<(), StoreError> {
        let err = |source| StoreError::Write {
            dir: self.dir.clone(),
            source,
        };
        let tmp = self.dir.join(format!("{FILE}.tmp"));
        let mut f = fs::File::create(&tmp).map_err(err)?;
        f.write_all(&cp.encode()).map_err(err)?;
        f.sync_all().map_err(err)?;
        drop(f);
        fs::rename(&tmp, self.path()).map_err(err)?;
        // The rename is durable only once the directory entry is.
        fs::File::open(&self.dir)
            .and_then(|d| d.sync_all())
            .map_err(err)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::binlog::gtid::GtidState;
    use crate::checkpoint::Store;
    use crate::event::Position;
    use crate::snapshot::Progress;
    use crate::snapshot::{KeyValue, TableProgress};

    #[test]
    fn round_trips_and_skips_unchanged_writes() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_file(dir.path()).unwrap();
        assert_eq!(s.load().unwrap(), None);
        let p = Position::new("mysql-bin.000002", 1234);
        assert!(s.save(&p, None, None, 7).unwrap());
        assert!(!s.save(&p, None, None, 7).unwrap());
        let mut again = Store::open_file(dir.path()).unwrap();
        let cp = again.load().unwrap().unwrap();
        assert_eq!(cp.position(), p);
        assert_eq!(cp.server_id, 7);
        assert_eq!(cp.snapshot, None);
        let text = fs::read_to_string(dir.path().join(FILE)).unwrap();
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
        let mut s = Store::open_file(dir.path()).unwrap();
        let p = Position::new("mysql-bin.000002", 1234);
        assert!(s.save(&p, Some(&progress(5)), None, 7).unwrap());
        assert!(!s.save(&p, Some(&progress(5)), None, 7).unwrap());
        assert!(
            s.save(&p, Some(&progress(9)), None, 7).unwrap(),
            "progress moved"
        );
        let cp = Store::open_file(dir.path())
            .unwrap()
            .load()
            .unwrap()
            .unwrap();
        assert_eq!(cp.version, 3);
        assert_eq!((cp.position(), cp.snapshot), (p.clone(), Some(progress(9))));
        assert!(s.save(&p, None, None, 7).unwrap(), "snapshot finished");
        let cp = Store::open_file(dir.path())
            .unwrap()
            .load()
            .unwrap()
            .unwrap();
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
        let mut s = Store::open_file(dir.path()).unwrap();
        let cp = s.load().unwrap().unwrap();
        assert_eq!(cp.position(), Position::new("mysql-bin.000003", 1234));
        assert_eq!(cp.snapshot, None);
        // The next write upgrades the file.
        assert!(s
            .save(&Position::new("mysql-bin.000003", 2000), None, None, 1)
            .unwrap());
        let text = fs::read_to_string(dir.path().join(FILE)).unwrap();
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
        let err = Store::open_file(dir.path()).unwrap().load().unwrap_err();
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
        let mut s = Store::open_file(dir.path()).unwrap();
        assert_eq!(s.load().unwrap().unwrap().gtid, None);
        let p = Position::new("mysql-bin.000003", 1234);
        let g = GtidState::parse_mariadb("0-1-42").unwrap();
        assert!(
            s.save(&p, None, Some(&g), 1).unwrap(),
            "only the GTID state is new"
        );
        let text = fs::read_to_string(dir.path().join(FILE)).unwrap();
        assert!(text.contains(r#""mariadb": "0-1-42""#), "{text}");
        let cp = Store::open_file(dir.path())
            .unwrap()
            .load()
            .unwrap()
            .unwrap();
        assert_eq!((cp.position(), cp.gtid), (p, Some(g)));
    }

    #[test]
    fn a_torn_file_is_reported_not_guessed() {
        let dir = tempfile::tempdir().unwrap();
        fs::write(dir.path().join(FILE), "{\"version\":1,\"file\":").unwrap();
        let err = Store::open_file(dir.path()).unwrap().load().unwrap_err();
        assert!(err.to_string().contains("not valid"), "{err}");
    }

    #[test]
    fn a_failed_write_keeps_the_previous_checkpoint() {
        let dir = tempfile::tempdir().unwrap();
        let mut s = Store::open_file(dir.path()).unwrap();
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
        let cp = Store::open_file(dir.path())
            .unwrap()
            .load()
            .unwrap()
            .unwrap();
        assert_eq!(cp.pos, 10);
    }
}
