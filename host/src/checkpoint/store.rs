//! The checkpoint store: one face for the file and the Kafka topic, which
//! skips writing what is already stored and records the last save for the
//! status endpoint.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Instant, SystemTime};

use super::file::FileStore;
use super::kafka::{KafkaStore, KafkaStoreSettings};
use super::record::Checkpoint;
use crate::binlog::gtid::GtidState;
use crate::event::Position;
use crate::snapshot::Progress;

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
    #[error("cannot read the checkpoint of pipeline {name} from Kafka topic {topic} ({brokers}): {reason}. Sluice does not fall back to a checkpoint file: start Kafka or fix [kafka] brokers and its TLS/SASL settings")]
    KafkaRead {
        name: String,
        topic: String,
        brokers: String,
        reason: String,
    },
    #[error("cannot write the checkpoint of pipeline {name} to Kafka topic {topic}: {reason} (the previous checkpoint is still valid)")]
    KafkaWrite {
        name: String,
        topic: String,
        reason: String,
    },
    #[error("the checkpoint of pipeline {name} in Kafka topic {topic}, partition {partition}, offset {offset} is not valid: {reason}; fix the record, or delete it (produce a null value with key \"{name}\") to start from `[source] start`")]
    KafkaInvalid {
        name: String,
        topic: String,
        partition: i32,
        offset: i64,
        reason: String,
    },
    #[error("another Sluice with pipeline name {name} started (its transactional id fenced this one); this process stops and leaves the pipeline to it. Give each pipeline its own [pipeline] name; to run a standby, set [standby] enabled = true")]
    Fenced { name: String },
}

/// The checkpoint as last saved, for the status endpoint: the time of the
/// last save that succeeded, written or already current (an idle Sluice
/// does not rewrite an unchanged checkpoint, yet it is not stale).
#[derive(Clone, Debug)]
pub(crate) struct Saved {
    pub position: Position,
    pub gtid: Option<String>,
    pub at: SystemTime,
    pub instant: Instant,
}

enum Backend {
    File(FileStore),
    Kafka(Box<KafkaStore>),
}

pub(crate) struct Store {
    backend: Backend,
    /// What was written (or loaded) last, to skip writing it again.
    last: Option<(Position, Option<Progress>, Option<GtidState>)>,
    saved: Arc<Mutex<Option<Saved>>>,
}

impl Store {
    /// `{dir}/checkpoint.json`.
    pub(crate) fn open_file(dir: &Path) -> Result<Self, StoreError> {
        Ok(Store::with(Backend::File(FileStore::open(dir)?)))
    }

    /// A record in a compacted Kafka topic (see [`KafkaStore`]).
    pub(crate) fn open_kafka(settings: KafkaStoreSettings) -> Self {
        Store::with(Backend::Kafka(Box::new(KafkaStore::new(settings))))
    }

    fn with(backend: Backend) -> Self {
        Store {
            backend,
            last: None,
            saved: Arc::default(),
        }
    }

    /// Where the last successful save is recorded.
    pub(crate) fn saved(&self) -> Arc<Mutex<Option<Saved>>> {
        self.saved.clone()
    }

    /// Where the checkpoint is, for messages: a path, or topic and key.
    pub(crate) fn describe(&self) -> String {
        match &self.backend {
            Backend::File(f) => f.path().display().to_string(),
            Backend::Kafka(k) => k.describe(),
        }
    }

    /// The stored checkpoint, if any.
    pub(crate) fn load(&mut self) -> Result<Option<Checkpoint>, StoreError> {
        let cp = match &mut self.backend {
            Backend::File(f) => f.load()?,
            Backend::Kafka(k) => k.load()?,
        };
        if let Some(cp) = &cp {
            self.last = Some((cp.position(), cp.snapshot.clone(), cp.gtid.clone()));
        }
        Ok(cp)
    }

    /// Writes `pos`, `snapshot` and `gtid` unless all are what was written
    /// last. With exactly-once delivery nothing is written here: the
    /// checkpoint goes out in each Kafka transaction ([`Committed`]).
    pub(crate) fn save(
        &mut self,
        pos: &Position,
        snapshot: Option<&Progress>,
        gtid: Option<&GtidState>,
        server_id: u32,
    ) -> Result<bool, StoreError> {
        if let Backend::Kafka(k) = &self.backend {
            if k.transactional() {
                return Ok(false);
            }
        }
        if let Some((last_pos, last_snapshot, last_gtid)) = &self.last {
            if last_pos == pos && last_snapshot.as_ref() == snapshot && last_gtid.as_ref() == gtid {
                record(&self.saved, pos, gtid);
                return Ok(false);
            }
        }
        let cp = Checkpoint::new(pos, snapshot, gtid, server_id);
        match &mut self.backend {
            Backend::File(f) => f.write(&cp)?,
            Backend::Kafka(k) => k.write(&cp)?,
        }
        record(&self.saved, pos, gtid);
        self.last = Some((pos.clone(), cp.snapshot, cp.gtid));
        Ok(true)
    }

    /// With exactly-once delivery: whether another process started this
    /// pipeline since this one did (see [`KafkaStore::taken_over`]).
    pub(crate) fn taken_over(&mut self) -> Result<bool, StoreError> {
        match &mut self.backend {
            Backend::Kafka(k) if k.transactional() => k.taken_over(),
            _ => Ok(false),
        }
    }

    /// With exactly-once delivery, where the sink writes each checkpoint
    /// inside its Kafka transaction; `None` otherwise.
    pub(crate) fn committed_by_sink(&self, server_id: u32) -> Option<Committed> {
        match &self.backend {
            Backend::Kafka(k) if k.transactional() => Some(Committed {
                topic: k.topic().to_string(),
                key: k.name().to_string(),
                server_id,
                saved: self.saved.clone(),
            }),
            _ => None,
        }
    }
}

/// Where the exactly-once sink writes the checkpoint that ends each Kafka
/// transaction, and where it records that it did.
#[derive(Clone, Debug)]
pub(crate) struct Committed {
    pub topic: String,
    pub key: String,
    pub server_id: u32,
    saved: Arc<Mutex<Option<Saved>>>,
}

impl Committed {
    /// The record value for `cp`.
    pub(crate) fn value(
        &self,
        pos: &Position,
        snapshot: Option<&Progress>,
        gtid: Option<&GtidState>,
    ) -> Vec<u8> {
        Checkpoint::new(pos, snapshot, gtid, self.server_id).encode()
    }

    /// The transaction holding the checkpoint for `pos` committed.
    pub(crate) fn done(&self, pos: &Position, gtid: Option<&GtidState>) {
        record(&self.saved, pos, gtid);
    }
}

fn record(saved: &Mutex<Option<Saved>>, pos: &Position, gtid: Option<&GtidState>) {
    *saved.lock().unwrap() = Some(Saved {
        position: pos.clone(),
        gtid: gtid.map(ToString::to_string),
        at: SystemTime::now(),
        instant: Instant::now(),
    });
}
